package report

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/collector/schema"
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

// stepTotal is the sum of the plan's metric over each window of length d,
// read from the interface family when the plan's family holds the same
// totals for its filters (src, dst and app: an order of magnitude fewer
// series to read), else from the plan's own family.
func (p *plan) stepTotal(d time.Duration) string {
	switch p.rep.Family {
	case schema.Src, schema.Dst, schema.App:
		shared := true
		for _, f := range p.filters {
			shared = shared && slices.Contains(sharedLabels, f.Label)
		}
		if shared {
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
	return selector(p.rep.MetricName(p.metric), append(p.filters[:len(p.filters):len(p.filters)], extra...))
}
