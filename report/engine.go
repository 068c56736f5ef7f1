package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpcflow/vpcflow/vmclient"
)

// OtherValue is the value of every group-by label of the row or series that
// sums the label sets beyond the top N (Row.Other, Series.Other). It is
// capitalised to tell it from the collector's own folded remainder, whose
// labels are "other" (schema.Other).
const OtherValue = "Other"

// MaxPoints bounds the steps of a time series: a smaller step is raised to
// the smallest multiple of the data's step (Query.Step) that gives at most
// MaxPoints steps.
const MaxPoints = 10_000

// Row is one row of a table: a label set and its value over the range.
type Row struct {
	// Labels are the report's columns (Report.Columns): its group-by
	// labels, then its extra columns.
	Labels map[string]string `json:"labels"`
	// Value is the sum over the range (an exact integer), or per second in
	// rate mode.
	Value float64 `json:"value"`
	// Names are the names of the entities whose ids the row's id columns
	// hold (Report.IDColumns), by column: {"interface_id": "web-1"}. A
	// column whose id has no known name has no entry; nil when none has
	// one, or when the query did not ask for names (Query.Names).
	Names map[string]string `json:"names,omitempty"`
	// Other marks the row summing the label sets beyond the top N.
	Other bool `json:"-"`
}

// Series is one time series: a label set and its value per step.
type Series struct {
	// Labels are the report's group-by labels.
	Labels map[string]string
	// Names are the names of the ids of the series' id columns, as
	// Row.Names.
	Names map[string]string
	// Other marks the series summing the label sets beyond the top N.
	Other bool
	// Timestamps are the steps' starts (the first one is the range's start
	// when the range does not start on a step boundary).
	Timestamps []time.Time
	// Values are the sums over each step (exact integers), or per second
	// of the step in rate mode.
	Values []float64
}

// Result is a report's answer.
type Result struct {
	// Report is the report's registry entry.
	Report Report
	// Metric, Mode and Format are the query's, defaults filled in.
	Metric Metric
	Mode   Mode
	Format Format
	// From and To are the range, rounded down to whole steps of the data
	// (see Align and Query.Step).
	From, To time.Time
	// Step is the time series' step (0 for a table).
	Step time.Duration
	// Columns are the label keys of Rows (Report.Columns) or, for time
	// series, the group-by labels; for a node graph its two ends
	// (Report.GraphEnds).
	Columns []string
	// Rows is the table, by value descending (ties by labels), the Other
	// row included.
	Rows []Row
	// Series are the time series: by value over the range descending, the
	// Other series last.
	Series []*Series
	// Graph is the node graph (FormatNodeGraph); nil for the other
	// formats, whose Rows and Series a node graph leaves empty.
	Graph *Graph
	// Total is the sum over the whole range (per second in rate mode).
	Total float64
	// Names is Query.Names: the rows and series carry the names of their
	// ids (Row.Names, Series.Names).
	Names bool
	// Queries are the MetricsQL expressions that were run.
	Queries []string
}

// TimeRange is a query's time range and, for time series, its step.
type TimeRange struct {
	From, To time.Time
	// Step is rounded up to a multiple of the data's step (Query.Step: a
	// minute or five); 0 picks that step, or more when the range would
	// have more than MaxPoints steps (see StepFor).
	Step time.Duration
}

// Engine runs report queries against one VictoriaMetrics.
type Engine struct {
	client        *vmclient.Client
	now           func() time.Time
	namesLookback time.Duration
}

// New returns an Engine querying the VictoriaMetrics cfg describes, with
// the given options.
func New(cfg vmclient.Config, opts ...Option) (*Engine, error) {
	c, err := vmclient.New(cfg)
	if err != nil {
		return nil, err
	}
	return NewEngine(c, opts...), nil
}

// NewEngine returns an Engine running its queries with c, with the given
// options.
func NewEngine(c *vmclient.Client, opts ...Option) *Engine {
	e := &Engine{client: c, now: time.Now, namesLookback: DefaultNamesLookback}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Client returns the engine's client.
func (e *Engine) Client() *vmclient.Client { return e.client }

// Align rounds a range to whole steps of step, the step of the data a
// query reads (Query.Step: a minute or five): both ends down to a multiple
// of step since the Unix epoch, in UTC. The range [from, to) then counts the
// steps from the one from falls in up to, not including, the one to falls
// in (a range ending now leaves out the current, incomplete step): with a
// five-minute step, 10:02–11:02 reads the intervals 10:00–11:00. It fails
// when no whole step is left. A step of 0 is a minute.
func Align(from, to time.Time, step time.Duration) (time.Time, time.Time, error) {
	if step <= 0 {
		step = time.Minute
	}
	f, t := floorTime(from, step), floorTime(to, step)
	if !t.After(f) {
		return f, t, fmt.Errorf("time range %s to %s holds no whole %s (both ends are rounded down to %s, the step of the data it reads)",
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), stepName(step), stepMultiple(step))
	}
	return f, t, nil
}

// floorTime rounds t down to a multiple of step since the Unix epoch, in
// UTC.
func floorTime(t time.Time, step time.Duration) time.Time {
	ms, s := t.UnixMilli(), step.Milliseconds()
	q := ms / s
	if ms%s < 0 {
		q--
	}
	return time.UnixMilli(q * s).UTC()
}

// stepName names a step in errors: "minute", "5-minute step".
func stepName(step time.Duration) string {
	if step == time.Minute {
		return "minute"
	}
	return stepShort(step) + " step"
}

// stepMultiple says what ends are rounded to: "the minute", "a multiple of
// 5 minutes".
func stepMultiple(step time.Duration) string {
	if step == time.Minute {
		return "the minute"
	}
	return "a multiple of " + strings.TrimSuffix(stepShort(step), "-minute") + " minutes"
}

// stepShort writes a step of whole minutes as "5-minute", others as Go
// does.
func stepShort(step time.Duration) string {
	if step%time.Minute == 0 {
		return strconv.FormatInt(int64(step/time.Minute), 10) + "-minute"
	}
	return step.String()
}

// StepFor returns the step a time series of [from, to) uses when asked for
// step, over data of step base (Query.Step; 0 is a minute): rounded up to a
// whole multiple of base, at least base, and large enough that the range
// has at most MaxPoints steps.
func StepFor(from, to time.Time, step, base time.Duration) time.Duration {
	if base <= 0 {
		base = time.Minute
	}
	minStep := (to.Sub(from) + MaxPoints - 1) / MaxPoints
	step = max(step, minStep, base)
	return (step + base - 1) / base * base
}

// Run answers q over tr: a table, time series or node graph as q.Format
// says. Its filters by name (Query.Filters) are resolved to ids first,
// with one query each; one matching more ids than a query can list fails
// with ErrTooManyIDs.
func (e *Engine) Run(ctx context.Context, q Query, tr TimeRange) (*Result, error) {
	p, err := q.check()
	if err != nil {
		return nil, err
	}
	base := p.step()
	from, to, err := Align(tr.From, tr.To, base)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", p.rep.ID, err)
	}
	x := &exec{e: e}
	if err := x.resolveNames(ctx, p, from, to); err != nil {
		return nil, fmt.Errorf("report %s: %w", p.rep.ID, err)
	}
	var res *Result
	switch p.format {
	case FormatTimeSeries:
		res, err = x.series(ctx, p, from, to, StepFor(from, to, tr.Step, base))
	case FormatNodeGraph:
		res, err = x.graph(ctx, p, from, to)
	default:
		res, err = x.table(ctx, p, from, to)
	}
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", p.rep.ID, err)
	}
	res.Queries = x.queries
	return res, nil
}

// Table answers q over [from, to) as a table, whatever q.Format says.
func (e *Engine) Table(ctx context.Context, q Query, from, to time.Time) (*Result, error) {
	q.Format = FormatTable
	return e.Run(ctx, q, TimeRange{From: from, To: to})
}

// TimeSeries answers q over [from, to) as time series of the given step
// (see TimeRange.Step), whatever q.Format says.
func (e *Engine) TimeSeries(ctx context.Context, q Query, from, to time.Time, step time.Duration) (*Result, error) {
	q.Format = FormatTimeSeries
	return e.Run(ctx, q, TimeRange{From: from, To: to, Step: step})
}

// exec runs the queries of one request and records them.
type exec struct {
	e       *Engine
	mu      sync.Mutex
	queries []string
}

func (x *exec) record(expr string) {
	x.mu.Lock()
	x.queries = append(x.queries, expr)
	x.mu.Unlock()
}

// instant evaluates expr at the last millisecond of [.., end): the window
// (end-d-1ms, end-1ms] of VictoriaMetrics is [end-d, end) of ours.
func (x *exec) instant(ctx context.Context, expr string, end time.Time) ([]vmclient.VectorSample, error) {
	x.record(expr)
	return x.e.client.Instant(ctx, expr, end.Add(-time.Millisecond))
}

// rangeQuery evaluates expr at the last millisecond of each step of
// [start, end).
func (x *exec) rangeQuery(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]vmclient.RangeSeries, error) {
	x.record(expr)
	return x.e.client.Range(ctx, expr, start.Add(step-time.Millisecond), end.Add(-time.Millisecond), step)
}

// parallel runs fns concurrently and returns the first error.
func parallel(ctx context.Context, fns ...func(context.Context) error) error {
	if len(fns) == 1 {
		return fns[0](ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, f := range fns {
		wg.Go(func() {
			if errs[i] = f(ctx); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	// The first error that is not the cancellation the others caused.
	var first error
	for _, err := range errs {
		if err != nil && first == nil {
			first = err
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return first
}

// key returns a map key for the values of labels in ls.
func key(ls map[string]string, labels []string) string {
	var b strings.Builder
	for _, l := range labels {
		b.WriteString(strconv.Quote(ls[l]))
		b.WriteByte(',')
	}
	return b.String()
}

// project keeps the labels of ls named in labels (a missing one is "").
func project(ls map[string]string, labels []string) map[string]string {
	out := make(map[string]string, len(labels))
	for _, l := range labels {
		out[l] = ls[l]
	}
	return out
}

// otherLabels returns the labels of the Other row or series.
func otherLabels(labels []string) map[string]string {
	out := make(map[string]string, len(labels))
	for _, l := range labels {
		out[l] = OtherValue
	}
	return out
}

// compareLabels orders label sets by the values of labels.
func compareLabels(a, b map[string]string, labels []string) int {
	for _, l := range labels {
		if c := strings.Compare(a[l], b[l]); c != 0 {
			return c
		}
	}
	return 0
}

// sortRows orders rows by value descending, then by labels; the Other row
// goes after rows of the same value.
func sortRows(rows []Row, labels []string) {
	slices.SortFunc(rows, func(a, b Row) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		if a.Other != b.Other {
			if a.Other {
				return 1
			}
			return -1
		}
		return compareLabels(a.Labels, b.Labels, labels)
	})
}

// ranked is a table before rate mode: the top rows (or all), the sum of
// the others, and the total.
type ranked struct {
	rows     []Row // sorted, without Other
	other    float64
	hasOther bool
	total    float64
}

// maxTopK is the largest top N asked of topk_max. A larger one (tables
// take any) keeps more label sets than VictoriaMetrics aggregates in one
// query (-search.maxSeriesPerAggrFunc, a million by default), so it is the
// same as every label set, and N+1 cannot overflow.
const maxTopK = 1 << 30

// restLabel names the series topk_max adds for the sum of the label sets
// beyond the top (no report label has this name).
const restLabel = "vpcflow_rest"

// rank returns the plan's label sets over [from, to), the top N (all when
// p.top is 0) sorted by value, and the rest summed. With top N it asks
// VictoriaMetrics for the N+1 largest and the sum of the others in one
// query (MetricsQL's topk_max with its remaining-sum series), which reads
// the series once; only when the Nth and N+1th tie does it fetch every
// label set, so that ties are broken by labels, the same way every time.
func (x *exec) rank(ctx context.Context, p *plan, from, to time.Time) (*ranked, error) {
	d := to.Sub(from)
	group := p.rep.GroupBy
	all := func(ctx context.Context) (*ranked, error) {
		samples, err := x.instant(ctx, p.grouped(d), to)
		if err != nil {
			return nil, err
		}
		r := &ranked{rows: make([]Row, len(samples))}
		for i, s := range samples {
			r.rows[i] = Row{Labels: project(s.Labels, group), Value: s.Value}
			r.total += s.Value
		}
		sortRows(r.rows, group)
		if p.top > 0 && len(r.rows) > p.top {
			for _, row := range r.rows[p.top:] {
				r.other += row.Value
			}
			r.rows, r.hasOther = r.rows[:p.top], true
		}
		return r, nil
	}
	if p.top == 0 || p.top > maxTopK {
		return all(ctx)
	}
	samples, err := x.instant(ctx, topkRest(p.top+1, p.grouped(d)), to)
	if err != nil {
		return nil, err
	}
	r := &ranked{}
	rest := 0.0
	for _, s := range samples {
		if s.Labels[restLabel] != "" {
			rest += s.Value
			continue
		}
		r.rows = append(r.rows, Row{Labels: project(s.Labels, group), Value: s.Value})
	}
	sortRows(r.rows, group)
	for _, row := range r.rows {
		r.total += row.Value
	}
	r.total += rest
	if len(r.rows) <= p.top {
		return r, nil
	}
	if r.rows[p.top-1].Value == r.rows[p.top].Value {
		return all(ctx) // a tie at the cut
	}
	r.other = rest
	for _, row := range r.rows[p.top:] {
		r.other += row.Value
	}
	r.rows, r.hasOther = r.rows[:p.top], true
	return r, nil
}

// table answers a table query.
func (x *exec) table(ctx context.Context, p *plan, from, to time.Time) (*Result, error) {
	var res *Result
	if p.rep.exporters() {
		var err error
		if res, err = x.exporters(ctx, p, from, to); err != nil {
			return nil, err
		}
	} else {
		r, err := x.rank(ctx, p, from, to)
		if err != nil {
			return nil, err
		}
		res = p.result(from, to)
		res.Rows, res.Total = r.rows, r.total
		if r.hasOther {
			res.Rows = append(res.Rows, Row{Labels: otherLabels(p.rep.GroupBy), Value: r.other, Other: true})
			sortRows(res.Rows, p.rep.GroupBy)
		}
		p.rate(res)
	}
	if p.names {
		if err := x.nameRows(ctx, p, res.Rows, from, to); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// result returns an empty result for the plan.
func (p *plan) result(from, to time.Time) *Result {
	res := &Result{Report: p.rep, Metric: p.metric, Mode: p.mode, Format: p.format, From: from, To: to, Columns: p.rep.Columns(), Names: p.names}
	if p.format == FormatTimeSeries {
		res.Columns = slices.Clone(p.rep.GroupBy)
	}
	return res
}

// rate divides a table's values by the range's seconds in rate mode.
func (p *plan) rate(res *Result) {
	if p.mode != ModeRate {
		return
	}
	secs := res.To.Sub(res.From).Seconds()
	for i := range res.Rows {
		res.Rows[i].Value /= secs
	}
	res.Total /= secs
}

// bucket is one step of a time series: [start, end).
type bucket struct{ start, end time.Time }

// buckets cuts [from, to) at the multiples of step since the Unix epoch.
func buckets(from, to time.Time, step time.Duration) []bucket {
	ms := step.Milliseconds()
	var out []bucket
	for s := from; s.Before(to); {
		e := time.UnixMilli((s.UnixMilli()/ms + 1) * ms).UTC()
		if e.After(to) {
			e = to
		}
		out = append(out, bucket{s, e})
		s = e
	}
	return out
}
