package report

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// MaxIndexedTop is the largest top N that picks its rows from the rank
// index; a larger N reads the report's family whole.
const MaxIndexedTop = 100

// indexCandidates is how many candidate rows a top N query takes from the
// rank index before it reads their exact values: a margin over N, for the
// index ranks by hourly sums of the hours' largest rows only.
func indexCandidates(top int) int { return 2*top + 10 }

// rankView returns the rank index view the plan's top N can be picked
// from: the report has one, N is at most MaxIndexedTop, and every filter is
// on a label the view keeps. ok is false otherwise.
func (p *plan) rankView() (v schema.RankView, ok bool) {
	if p.rep.Rank == "" || p.top <= 0 || p.top > MaxIndexedTop {
		return v, false
	}
	for _, rv := range schema.RankViews() {
		if rv.ID == p.rep.Rank {
			v, ok = rv, true
		}
	}
	if !ok {
		return v, false
	}
	for _, f := range p.filters {
		if !slices.Contains(v.Labels, f.Label) {
			return v, false
		}
	}
	return v, true
}

// rankByIndex ranks a top N query of a high-cardinality family without
// reading the family whole. The rank index (written by the collector: per
// hour, the largest label sets of each VPC and action) names candidate
// rows; their values, and the total, are then read exactly from the
// storage. So every value shown is exact and the rows and Other add up to
// the total; what the index can get wrong is only which rows are shown,
// when a row that is never among an hour's largest adds up to more than
// the rows it names over the range.
//
// ok is false, and the caller reads the family whole, when the index does
// not hold more candidates than N over the range (it is off, lags, or the
// query selects few rows) or when the Nth and N+1th candidates tie: ties
// are broken by labels over every row, which only the whole family has.
func (x *exec) rankByIndex(ctx context.Context, p *plan, v schema.RankView, from, to time.Time) (r *ranked, ok bool, err error) {
	group := p.rep.GroupBy
	// Index samples sit at hour starts: the window starts at the hour of
	// from, so that the hour holding from counts.
	hour := from.UTC().Truncate(time.Hour)
	name := schema.RankName + "_" + string(p.metric)
	filters := append([]Filter{{Label: schema.LabelView, Op: OpEqual, Value: v.ID}}, p.filters...)
	expr := "topk(" + strconv.Itoa(indexCandidates(p.top)) + ", " + by("sum", group, rollup("sum_over_time", selector(name, filters), to.Sub(hour))) + ")"
	cands, err := x.instant(ctx, expr, to)
	if err != nil {
		return nil, false, err
	}
	if len(cands) <= p.top {
		return nil, false, nil
	}
	restrict := make([]Filter, 0, len(group))
	for _, l := range group {
		var values []string
		for _, s := range cands {
			if v := s.Labels[l]; !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		slices.Sort(values)
		restrict = append(restrict, oneOf(l, values))
	}
	wanted := make(map[string]bool, len(cands))
	for _, s := range cands {
		wanted[key(s.Labels, group)] = true
	}

	d := to.Sub(from)
	var exact []vmclient.VectorSample
	var total float64
	err = parallel(ctx,
		func(ctx context.Context) error {
			var err error
			exact, err = x.instant(ctx, p.grouped(d, restrict...), to)
			return err
		},
		func(ctx context.Context) error {
			s, err := x.instant(ctx, p.stepTotal(d), to)
			for _, s := range s {
				total += s.Value
			}
			return err
		})
	if err != nil {
		return nil, false, err
	}
	r = &ranked{total: total}
	for _, s := range exact {
		if wanted[key(s.Labels, group)] {
			r.rows = append(r.rows, Row{Labels: project(s.Labels, group), Value: s.Value})
		}
	}
	sortRows(r.rows, group)
	if len(r.rows) > p.top {
		if r.rows[p.top-1].Value == r.rows[p.top].Value {
			return nil, false, nil // a tie at the cut
		}
		r.rows = r.rows[:p.top]
	}
	r.other = total
	for _, row := range r.rows {
		r.other -= row.Value
	}
	// Data written between the two queries can make the rows outgrow the
	// total: Other is never negative.
	r.other = max(r.other, 0)
	r.total = r.other
	for _, row := range r.rows {
		r.total += row.Value
	}
	r.hasOther = r.other > 0
	return r, true, nil
}
