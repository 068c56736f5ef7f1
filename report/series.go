package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// series answers a time series query in four steps: rank the top N label
// sets over the whole range (for every label set, top 0, the MaxSeries
// largest: a range with more fails), restrict the queries to them, run
// each step's sums (and, with a top N that leaves label sets out, each
// step's total, for Other) concurrently, then order the series and derive
// Other.
func (x *exec) series(ctx context.Context, p *plan, from, to time.Time, step time.Duration) (*Result, error) {
	ranking := *p
	if ranking.top == 0 {
		ranking.top = MaxSeries
	}
	r, err := x.rank(ctx, &ranking, from, to)
	if err != nil {
		return nil, err
	}
	if p.top == 0 && r.hasOther {
		return nil, fmt.Errorf("%w: a time series shows at most %d series; choose a top N of at most %d, or the table format for every row",
			ErrTooManySeries, MaxSeries, MaxSeries)
	}
	bs := buckets(from, to, step)
	acc := newSeriesAcc(p, r, bs, step)
	fns := x.seriesQueries(p, acc, bs, step)
	// The names of the ranked label sets' ids, with the steps' queries.
	var cols []string
	if p.names {
		cols = p.rep.IDColumns()
	}
	var names map[EntityType]map[string]string
	if ids := idsOf(cols, r.rows); len(ids) > 0 {
		fns = append(fns, func(ctx context.Context) error {
			var err error
			names, err = x.names(ctx, from, to, ids)
			return err
		})
	}
	if err := parallel(ctx, fns...); err != nil {
		return nil, err
	}
	res := acc.result(p, r, bs, from, to, step)
	for _, s := range res.Series {
		if !s.Other {
			s.Names = nameLabels(s.Labels, cols, names)
		}
	}
	return res, nil
}

// ErrTooManySeries is the error of a time series of every label set (top
// 0) over a range with more than MaxSeries of them: the query must change,
// to a top N or the table format.
var ErrTooManySeries = fmt.Errorf("more than %d label sets over the range", MaxSeries)

// maxRestricted bounds the length of a series query restricted to the top
// label sets. VictoriaMetrics refuses a query longer than
// -search.maxQueryLen (16 KiB by default), which a restriction to hundreds
// of addresses or interface IDs reaches; a longer one is not restricted:
// it asks for every label set, and the ones outside the top are dropped
// as they arrive.
const maxRestricted = 8 << 10

// seriesAcc gathers the samples of a time series query: per label set and
// step, and per step the total of every label set (for Other).
type seriesAcc struct {
	group    []string
	top      bool            // only the ranked label sets are kept; the steps' totals are asked for Other
	restrict []Filter        // keeps the top label sets (and maybe a few more) in the queries; nil: all
	topKeys  map[string]bool // the top label sets, by key
	index    map[int64]int   // bucket end (ms) → step

	mu     sync.Mutex
	values map[string]*Series
	other  []float64 // totals, then minus the top
}

// newSeriesAcc returns the accumulator of the steps bs; with a ranking
// that leaves label sets out (hasOther), only the ranked label sets are
// kept, and the queries are restricted to their values unless that makes
// a query of step longer than maxRestricted.
func newSeriesAcc(p *plan, r *ranked, bs []bucket, step time.Duration) *seriesAcc {
	group := p.rep.GroupBy
	a := &seriesAcc{group: group, topKeys: map[string]bool{}, index: map[int64]int{}, values: map[string]*Series{}, other: make([]float64, len(bs))}
	for i, b := range bs {
		a.index[b.end.UnixMilli()] = i
	}
	if r == nil || !r.hasOther {
		return a
	}
	a.top = true
	for _, row := range r.rows {
		a.topKeys[key(row.Labels, group)] = true
	}
	var restrict []Filter
	for _, l := range group {
		var values []string
		seen := map[string]bool{}
		for _, row := range r.rows {
			if v := row.Labels[l]; !seen[v] {
				seen[v] = true
				values = append(values, v)
			}
		}
		slices.Sort(values)
		restrict = append(restrict, oneOf(l, values))
	}
	if len(p.grouped(step, restrict...)) <= maxRestricted {
		a.restrict = restrict
	}
	return a
}

// add adds a label set's value of the step ending at end (ms).
func (a *seriesAcc) add(labels map[string]string, end int64, v float64) {
	i, ok := a.index[end]
	if !ok {
		return
	}
	k := key(labels, a.group)
	if a.top && !a.topKeys[k] {
		return // outside the top, or a combination of top values that is not a top label set
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.values[k]
	if s == nil {
		s = &Series{Labels: project(labels, a.group), Values: make([]float64, len(a.other))}
		a.values[k] = s
	}
	s.Values[i] += v
}

// addTotal adds to the total of the step ending at end (ms).
func (a *seriesAcc) addTotal(end int64, v float64) {
	if i, ok := a.index[end]; ok {
		a.mu.Lock()
		a.other[i] += v
		a.mu.Unlock()
	}
}

// seriesQueries returns the queries of the steps: one range query for the
// whole steps, one instant query for each clipped first or last step; and,
// when a top N leaves label sets out, the same for the steps' totals.
func (x *exec) seriesQueries(p *plan, a *seriesAcc, bs []bucket, step time.Duration) []func(context.Context) error {
	var fns []func(context.Context) error
	var full []bucket
	for _, b := range bs {
		if b.end.Sub(b.start) == step {
			full = append(full, b)
			continue
		}
		d := b.end.Sub(b.start)
		fns = append(fns, func(ctx context.Context) error {
			s, err := x.instant(ctx, p.grouped(d, a.restrict...), b.end)
			for _, s := range s {
				a.add(s.Labels, b.end.UnixMilli(), s.Value)
			}
			return err
		})
		if a.top {
			fns = append(fns, func(ctx context.Context) error {
				s, err := x.instant(ctx, p.stepTotal(d), b.end)
				for _, s := range s {
					a.addTotal(b.end.UnixMilli(), s.Value)
				}
				return err
			})
		}
	}
	if len(full) > 0 {
		start, end := full[0].start, full[len(full)-1].end
		fns = append(fns, func(ctx context.Context) error {
			rs, err := x.rangeQuery(ctx, p.grouped(step, a.restrict...), start, end, step)
			for _, s := range rs {
				for j, t := range s.Timestamps {
					a.add(s.Labels, t+1, s.Values[j])
				}
			}
			return err
		})
		if a.top {
			fns = append(fns, func(ctx context.Context) error {
				rs, err := x.rangeQuery(ctx, p.stepTotal(step), start, end, step)
				for _, s := range rs {
					for j, t := range s.Timestamps {
						a.addTotal(t+1, s.Values[j])
					}
				}
				return err
			})
		}
	}
	return fns
}

// result orders the series — in the ranking's order followed by Other
// (each step's total minus the top), or by their totals over the range —
// stamps them with the steps' starts, and divides by the steps' lengths in
// rate mode.
func (a *seriesAcc) result(p *plan, r *ranked, bs []bucket, from, to time.Time, step time.Duration) *Result {
	res := p.result(from, to)
	res.Step = step
	stamps := make([]time.Time, len(bs))
	for i, b := range bs {
		stamps[i] = b.start
	}
	sum := func(vs []float64) float64 {
		t := 0.0
		for _, v := range vs {
			t += v
		}
		return t
	}
	if r != nil && r.hasOther {
		// In the order of the ranking; a top label set without a sample in
		// any step (impossible unless data changed in between) stays zero.
		for _, row := range r.rows {
			s := a.values[key(row.Labels, a.group)]
			if s == nil {
				s = &Series{Labels: row.Labels, Values: make([]float64, len(bs))}
			}
			for i, v := range s.Values {
				a.other[i] -= v
			}
			res.Series = append(res.Series, s)
		}
		res.Series = append(res.Series, &Series{Labels: otherLabels(a.group), Other: true, Values: a.other})
	} else {
		totals := map[*Series]float64{}
		for _, s := range a.values {
			totals[s] = sum(s.Values)
			res.Series = append(res.Series, s)
		}
		slices.SortFunc(res.Series, func(x, y *Series) int {
			if c := cmp.Compare(totals[y], totals[x]); c != 0 {
				return c
			}
			return compareLabels(x.Labels, y.Labels, a.group)
		})
	}
	for _, s := range res.Series {
		s.Timestamps = stamps
		res.Total += sum(s.Values)
	}
	if p.mode == ModeRate {
		for _, s := range res.Series {
			for i, b := range bs {
				s.Values[i] /= b.end.Sub(b.start).Seconds()
			}
		}
		res.Total /= to.Sub(from).Seconds()
	}
	return res
}
