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

// vpcAction are the labels per which the src, dst and app families hold
// the total family's totals.
var vpcAction = []string{schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, labelAction}

// totalOf returns the derived family (schema.Total, PairTotal or
// AppTotal) holding the totals of the plan's family for labels (the plan's
// filters and maybe its group-by), or -1. The total family holds the interface
// family's totals per VPC, action and direction, which are also the src,
// dst and app families' totals per VPC and action (their top-K folding
// turns the direction of folded label sets to other, so not per
// direction); the pair total family holds the pair family's per VPC and
// action; the app total family the app family's per VPC, protocol, port,
// action and direction, summed before the app family's folding and then
// folded itself per VPC and action (so it holds its groups' totals exactly,
// and its kept label sets; a report reading rows and totals from it agrees
// with itself).
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

// rowsFamily returns the family the plan reads its rows from: the
// report's family, or its derived total family when the group-by labels
// and the filters are all labels of that (the action and VPCs reports,
// unless filtered by interface: a hundred series instead of thousands; the
// applications report, unless filtered by interface: a few series per
// port instead of one per interface).
func (p *plan) rowsFamily() int {
	if fam := p.totalOf(append(slices.Clone(p.rep.GroupBy), p.filterLabels()...)); fam >= 0 {
		return fam
	}
	return p.rep.Family
}

// totalFamily returns the family the plan reads its totals from (the
// Other of a top N, the per-step total of time series): the fewest series
// that hold them exactly for the plan's filters, a derived total family,
// else the report's own. (The src, dst and app families hold the totals
// of their groups only, VPC and action: their folding turns the
// interface of folded label sets to other, so the interface family's
// totals per interface are not theirs.)
func (p *plan) totalFamily() int {
	if fam := p.totalOf(p.filterLabels()); fam >= 0 {
		return fam
	}
	return p.rep.Family
}

// step returns the step of the data the plan reads: the longest
// schema.Family.Step of its rows' family and its totals' family (and, for
// the exporters report, of the status family). Ranges are aligned to it
// and time series steps are multiples of it, so that every window holds
// whole intervals of every family read and a report's rows and totals
// agree.
func (p *plan) step() time.Duration {
	defs := schema.Families()
	s := max(defs[p.rowsFamily()].Step, defs[p.totalFamily()].Step)
	if p.rep.exporters() {
		s = max(s, defs[schema.Status].Step)
	}
	return s
}

// metricName returns the series the plan reads for its rows (rowsFamily).
func (p *plan) metricName() string {
	if fam := p.rowsFamily(); fam != p.rep.Family {
		return schema.Families()[fam].Name + "_" + string(p.metric)
	}
	return p.rep.MetricName(p.metric)
}

// stepTotal is the sum of the plan's metric over each window of length d,
// read from the plan's totals family (totalFamily).
func (p *plan) stepTotal(d time.Duration) string {
	if fam := p.totalFamily(); fam != p.rep.Family {
		name := schema.Families()[fam].Name + "_" + string(p.metric)
		return by("sum", nil, rollup("sum_over_time", selector(name, p.filters), d))
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
