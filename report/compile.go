package report

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/schema"
)

// quote returns s as a MetricsQL string literal. MetricsQL reads double
// quoted strings with Go's strconv.Unquote, so strconv.Quote's escapes
// (\", \\, \n, \xNN for bytes that are not UTF-8, …) read back as s, and
// nothing in s can end the literal.
func quote(s string) string { return strconv.Quote(s) }

// selector returns the series selector name{filters}. Label names come
// from the schema (checked by checkFilter); values are quoted.
func selector(name string, filters []Filter) string {
	if len(filters) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, f := range filters {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.Label)
		b.WriteString(string(f.Op))
		b.WriteString(quote(f.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// namesFilter returns a filter on __name__ matching exactly the given
// metric names.
func namesFilter(names []string) Filter {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return Filter{Label: "__name__", Op: OpMatch, Value: strings.Join(quoted, "|")}
}

// oneOf returns a filter matching label values exactly equal to one of
// values (a regular expression of the quoted values).
func oneOf(label string, values []string) Filter {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return Filter{Label: label, Op: OpMatch, Value: strings.Join(quoted, "|")}
}

// window returns a lookbehind window of d (whole seconds) in MetricsQL.
func window(d time.Duration) string {
	return "[" + strconv.FormatInt(int64(d/time.Second), 10) + "s]"
}

// rollup returns fn(sel[d]).
func rollup(fn, sel string, d time.Duration) string {
	return fn + "(" + sel + window(d) + ")"
}

// by returns aggr by (labels) (expr); no labels aggregates everything.
func by(aggr string, labels []string, expr string) string {
	if len(labels) == 0 {
		return aggr + "(" + expr + ")"
	}
	return aggr + " by (" + strings.Join(labels, ", ") + ") (" + expr + ")"
}

// grouped is the sum of the plan's metric over each window of length d,
// per group-by label set.
func (p *plan) grouped(d time.Duration, extra ...Filter) string {
	return by("sum", p.rep.GroupBy, rollup("sum_over_time", p.selector(extra...), d))
}

// total is the sum of the plan's metric over each window of length d.
func (p *plan) total(d time.Duration) string {
	return by("sum", nil, rollup("sum_over_time", p.selector(), d))
}

// sharedLabels are the labels on which the src, dst and app families hold
// the same totals as the interface family: every traffic record counts in
// each of them with the same account, region, VPC, interface and action,
// and their top-K folding keeps the totals of exactly these groups.
var sharedLabels = []string{schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, labelInterface, labelAction}

// vpcAction are the labels per which the src, dst and app families hold
// the total family's totals.
var vpcAction = []string{schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, labelAction}

// filtersOn reports whether every filter of the plan is on one of labels.
func (p *plan) filtersOn(labels []string) bool {
	for _, f := range p.filters {
		if !slices.Contains(labels, f.Label) {
			return false
		}
	}
	return true
}

// totalOf returns the derived family (schema.Total, PairTotal or
// AppTotal) holding the totals of the plan's family for labels (the plan's
// filters and maybe its group-by), or -1. The total family holds the interface
// family's totals per VPC, action and direction, which are also the src,
// dst and app families' totals per VPC and action (their top-K folding
// turns the direction of folded label sets to other, so not per
// direction); the pair total family holds the pair family's per VPC and
// action; the app total family the app family's per VPC, protocol, port,
// action and direction (summed before folding).
func (p *plan) totalOf(labels []string) int {
	defs := schema.Families()
	within := func(keep []string) bool {
		for _, l := range labels {
			if !slices.Contains(keep, l) {
				return false
			}
		}
		return true
	}
	switch p.rep.Family {
	case schema.Interface:
		if within(defs[schema.Total].Labels) {
			return schema.Total
		}
	case schema.Src, schema.Dst:
		if within(vpcAction) {
			return schema.Total
		}
	case schema.App:
		if within(vpcAction) {
			return schema.Total
		}
		if within(defs[schema.AppTotal].Labels) {
			return schema.AppTotal
		}
	case schema.Pair:
		if within(defs[schema.PairTotal].Labels) {
			return schema.PairTotal
		}
	}
	return -1
}

// filterLabels returns the labels the plan filters on.
func (p *plan) filterLabels() []string {
	out := make([]string, len(p.filters))
	for i, f := range p.filters {
		out[i] = f.Label
	}
	return out
}

// metricName returns the series the plan reads for its rows: the report's
// family, or its derived total family when the group-by labels and the
// filters are all labels of that (the action and VPCs reports, unless
// filtered by interface: a hundred series instead of thousands; the
// applications report, unless filtered by interface: a few series per
// port instead of one per interface).
func (p *plan) metricName() string {
	if fam := p.totalOf(append(slices.Clone(p.rep.GroupBy), p.filterLabels()...)); fam >= 0 {
		return schema.Families()[fam].Name + "_" + string(p.metric)
	}
	return p.rep.MetricName(p.metric)
}

// stepTotal is the sum of the plan's metric over each window of length d,
// read from the fewest series that hold it exactly for the plan's filters:
// a derived total family, else the interface family for the src, dst and
// app families (an order of magnitude fewer series), else the plan's own.
func (p *plan) stepTotal(d time.Duration) string {
	if fam := p.totalOf(p.filterLabels()); fam >= 0 {
		name := schema.Families()[fam].Name + "_" + string(p.metric)
		return by("sum", nil, rollup("sum_over_time", selector(name, p.filters), d))
	}
	switch p.rep.Family {
	case schema.Src, schema.Dst, schema.App:
		if p.filtersOn(sharedLabels) {
			name := schema.Families()[schema.Interface].Name + "_" + string(p.metric)
			return by("sum", nil, rollup("sum_over_time", selector(name, p.filters), d))
		}
	}
	return p.total(d)
}

// topkRest keeps the k largest label sets of expr and adds one series,
// labelled restLabel="true", summing the others (MetricsQL's topk_max with
// its remaining-sum argument; for an instant query the max is the value).
func topkRest(k int, expr string) string {
	return fmt.Sprintf("topk_max(%d, %s, %s)", k, expr, quote(restLabel+"=true"))
}

// selector selects the series of the plan's metric, with its filters and
// extra ones.
func (p *plan) selector(extra ...Filter) string {
	return selector(p.metricName(), append(p.filters[:len(p.filters):len(p.filters)], extra...))
}
