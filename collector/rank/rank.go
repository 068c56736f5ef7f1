// Package rank maintains the rank index (schema.RankName): per hour, per
// VPC and action, the largest label sets of the high-cardinality families
// (src, dst, app, pair), which reports use to pick their top rows without
// reading every series of a day. The index is an index, never a value
// source: reports read the values of the rows it names from the families
// themselves, so it may lag behind the data or miss a row without a report
// ever showing a wrong number.
//
// A Ranker computes the index from what VictoriaMetrics already stores. For
// hour H (UTC, starting at Hms milliseconds), each view v of
// schema.RankViews and each traffic metric m (bytes, packets, flows), it
// sends one instant query at Hms+3600000-1 with nocache=1:
//
//	topk(K, sum by (<v.Labels>) (sum_over_time(<family>_<m>[1h]))) by (<v.Group>)
//
// Samples sit at minute_start+slot (slot < 60000 ms), so the window
// (Hms-1, Hms+3600000-1] holds exactly the hour's minutes. Each row of the
// answer is written back as one sample of vpcflow_rank_<m> at timestamp Hms
// exactly, labelled view=<v.ID> and the row's v.Labels ("-" for a label the
// answer lacks). Rows valued 0 are not written: they name nothing.
//
// Late data and recomputation: an hour is ranked again whenever a batch
// writes to it (Touch). The new sample has the same timestamp as the old
// one, and VictoriaMetrics' deduplication (-dedup.minScrapeInterval=1ms,
// which the collector requires anyway) keeps the larger of two samples with
// one timestamp; since an hour's sums only grow as late data arrives,
// ranking again converges to the hour's final sums. A label set that was
// among the K largest earlier and is overtaken later keeps its earlier
// (smaller) sample: an hour may list a few more than K label sets per
// group, which only widens the candidates a report considers.
//
// Freshness: Touch marks the hours a committed batch wrote to; Run ranks
// them every Config.Interval, once their touches are Config.Settle old
// (VictoriaMetrics makes new samples searchable a few seconds after it
// acknowledged them), so the index trails the data by up to Interval plus
// Settle. Flush, at the end of `run --once`, waits out Settle and ranks
// every hour marked. The marks live in memory: at start Run marks the last
// Config.Lookback hours; older hours a stopped collector had not ranked
// yet are ranked again when data for them arrives.
//
// Cost: an hour takes 18 queries (6 views × 3 metrics), sent one after the
// other to keep VictoriaMetrics' load low, and one write. VictoriaMetrics
// selects series through a per-day index, so each query visits the
// family's series of the whole day and reads their samples in the hour. On
// the report benchmark's data (24 h, 2,000 interfaces, 20 VPCs, 3,000,000
// records: about 300,000 src and 200,000 dst series a day) an hour took
// 2.9–4.8 s, median 3.8 s (src queries about 0.4 s each, dst 0.24 s, app
// and pair 0.15 s, the write of about 19,000 rows 0.14 s), on a shared
// 2-core machine; see docs/pipeline.md.
package rank

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// Defaults of Config.
const (
	DefaultTopK     = 30
	DefaultInterval = 5 * time.Minute
	DefaultLookback = 2 * time.Hour
	DefaultSettle   = 5 * time.Second
)

// hourTimeout bounds the ranking of one hour (its queries and its write),
// so that a storage that hangs does not stall the ranker: the hour stays
// dirty and is tried again.
const hourTimeout = 5 * time.Minute

// Config configures a Ranker. With its yaml tags it is the collector
// configuration's rank section.
type Config struct {
	// TopK is how many label sets per view, hour and group (VPC and
	// action) the index keeps, for each of bytes, packets and flows.
	// Default 30 (DefaultConfig); 0 turns the index off.
	TopK int `yaml:"top_k"`
	// Interval is how often Run ranks the hours written to since its last
	// round: the index trails the data by up to Interval (plus Settle).
	// Zero or less takes the default, 5m.
	Interval time.Duration `yaml:"interval"`
	// Lookback is how far back Run, when it starts, marks hours to rank
	// again (every hour overlapping the last Lookback), covering what a
	// previous run wrote but had not ranked when it stopped. Zero takes
	// the default, 2h; it must not be negative.
	Lookback time.Duration `yaml:"lookback"`
	// Settle is the least time between a batch's commit (Touch) and the
	// ranking of its hours: VictoriaMetrics makes new samples searchable
	// only after it flushes its buffers (every 2 s on a single node, so up
	// to about 4 s after the write), and an hour ranked before would miss
	// them until it is touched again. Zero takes the default, 5s.
	Settle time.Duration `yaml:"-"`
}

// DefaultConfig returns the default configuration: top 30, ranked every five
// minutes, the last two hours ranked again at start.
func DefaultConfig() Config {
	return Config{TopK: DefaultTopK, Interval: DefaultInterval, Lookback: DefaultLookback, Settle: DefaultSettle}
}

// Store is the storage the ranker reads from and writes to;
// *vmclient.Client is one (it handles single nodes and clusters,
// authentication, TLS and keeps secrets out of errors).
type Store interface {
	// Get sends a GET to the Prometheus query API (path such as
	// "/api/v1/query") and returns the answer's body.
	Get(ctx context.Context, path string, params url.Values) ([]byte, error)
	// Write stores series, returning nil once they are acknowledged.
	Write(ctx context.Context, series []vmclient.Series) error
}

// Stats counts a Ranker's work since New.
type Stats struct {
	// HoursRanked is the number of hours ranked (an hour ranked again
	// counts again).
	HoursRanked uint64
	// Errors is the number of hour rankings that failed.
	Errors uint64
	// RowsWritten is the number of index rows (samples) written.
	RowsWritten uint64
	// DirtyHours is the number of hours waiting to be ranked.
	DirtyHours int
	// LastHourDuration is how long the last hour ranked took.
	LastHourDuration time.Duration
}

// mark is what is known of a dirty hour's touches (all times zero for an
// hour marked by Run's lookback).
type mark struct {
	gen   uint64    // generation of the last touch: unchanged means untouched since
	first time.Time // the earliest touch no ranking covered yet (a lower bound)
	last  time.Time // the latest touch
}

// Ranker maintains the rank index. Its methods are safe for concurrent
// use.
type Ranker struct {
	store Store
	cfg   Config
	log   *slog.Logger
	now   func() time.Time
	// queries are the per-hour queries: view × metric.
	queries []query

	mu    sync.Mutex
	dirty map[int64]mark // Unix hour (seconds / 3600) → its touches
	gen   uint64

	rounds sync.Mutex // one ranking pass at a time

	hours, errs, rows atomic.Uint64
	last              atomic.Int64 // nanoseconds
}

// query is one view's ranking of one metric.
type query struct {
	view   schema.RankView
	metric string // the family's series name
	name   string // the index series name
	expr   string // the MetricsQL expression
}

// New returns a Ranker reading from and writing to store; log receives its
// errors (nil: slog.Default()). A Ranker with Config.TopK 0 does nothing.
func New(store Store, cfg Config, log *slog.Logger) (*Ranker, error) {
	switch {
	case cfg.TopK < 0:
		return nil, fmt.Errorf("rank: top K %d: want 0 (off) or more", cfg.TopK)
	case cfg.Lookback < 0:
		return nil, fmt.Errorf("rank: lookback %v: want a positive duration", cfg.Lookback)
	case cfg.Settle < 0:
		return nil, fmt.Errorf("rank: settle %v: want a positive duration", cfg.Settle)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Lookback == 0 {
		cfg.Lookback = DefaultLookback
	}
	if cfg.Settle == 0 {
		cfg.Settle = DefaultSettle
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Ranker{store: store, cfg: cfg, log: log, now: time.Now, dirty: map[int64]mark{}}
	families := schema.Families()
	for _, v := range schema.RankViews() {
		for i, metric := range families[v.Family].MetricNames() {
			r.queries = append(r.queries, query{
				view:   v,
				metric: metric,
				name:   schema.RankMetricNames()[i],
				expr: fmt.Sprintf("topk(%d, sum by (%s) (sum_over_time(%s[1h]))) by (%s)",
					cfg.TopK, strings.Join(v.Labels, ", "), metric, strings.Join(v.Group, ", ")),
			})
		}
	}
	return r, nil
}

// Enabled reports whether the index is on (Config.TopK above 0).
func (r *Ranker) Enabled() bool { return r.cfg.TopK > 0 }

// Config returns the configuration in effect, defaults filled in.
func (r *Ranker) Config() Config { return r.cfg }

// Stats returns the counters.
func (r *Ranker) Stats() Stats {
	r.mu.Lock()
	dirty := len(r.dirty)
	r.mu.Unlock()
	return Stats{
		HoursRanked:      r.hours.Load(),
		Errors:           r.errs.Load(),
		RowsWritten:      r.rows.Load(),
		DirtyHours:       dirty,
		LastHourDuration: time.Duration(r.last.Load()),
	}
}

// Touch marks the hours of minutes (Unix minutes: Unix seconds / 60, the
// minutes a committed batch wrote samples to) to be ranked again. It only
// takes a lock and updates a map: cheap enough for the write path.
func (r *Ranker) Touch(minutes []int64) {
	if !r.Enabled() || len(minutes) == 0 {
		return
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	last := int64(math.MinInt64)
	for _, m := range minutes {
		h := floorDiv(m, 60)
		if h == last {
			continue // minutes come sorted: skip the map for the same hour
		}
		last = h
		mk, ok := r.dirty[h]
		if !ok {
			mk.first = now
		}
		mk.gen, mk.last = r.gen, now
		r.dirty[h] = mk
	}
}

// Dirty returns the start of every hour waiting to be ranked, newest first.
func (r *Ranker) Dirty() []time.Time {
	r.mu.Lock()
	hours := slices.Collect(maps.Keys(r.dirty))
	r.mu.Unlock()
	slices.SortFunc(hours, func(a, b int64) int { return cmp.Compare(b, a) })
	out := make([]time.Time, len(hours))
	for i, h := range hours {
		out[i] = hourTime(h)
	}
	return out
}

// Run ranks the dirty hours every Config.Interval, newest first, until ctx
// is done. When it starts it marks every hour overlapping the last
// Config.Lookback dirty, covering what a previous run may have written and
// not ranked. An hour whose ranking fails (the storage is down, say) is
// logged and stays dirty for the next round; an hour touched while it was
// being ranked stays dirty too. A Ranker that is off returns at once.
func (r *Ranker) Run(ctx context.Context) {
	if !r.Enabled() {
		return
	}
	r.markLookback()
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := r.rankDirty(ctx, r.cfg.Settle)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("rank index: hours not ranked, will try again", "dirty_hours", r.Stats().DirtyHours, "err", err)
		}
	}
}

// Start runs Run in the background, unless once: a run that processes
// what is there and exits ranks what it wrote at its end instead
// (FlushAndLog). stop ends Run and returns once it has returned.
func (r *Ranker) Start(ctx context.Context, once bool) (stop func()) {
	if once {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// markLookback marks the hours overlapping the last Config.Lookback dirty.
func (r *Ranker) markLookback() {
	now := r.now()
	from, to := floorDiv(now.Add(-r.cfg.Lookback).Unix(), 3600), floorDiv(now.Unix(), 3600)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	for h := from; h <= to; h++ {
		if _, ok := r.dirty[h]; !ok {
			r.dirty[h] = mark{gen: r.gen}
		}
	}
}

// Flush ranks every dirty hour now, newest first (at the end of `run
// --once`, and when the collector stops). It first waits until
// Config.Settle has passed since the latest Touch, so that the last
// batch's samples are searchable. Hours that fail stay dirty; the error
// says why.
func (r *Ranker) Flush(ctx context.Context) error {
	if !r.Enabled() {
		return nil
	}
	r.mu.Lock()
	var latest time.Time
	for _, m := range r.dirty {
		if m.last.After(latest) {
			latest = m.last
		}
	}
	r.mu.Unlock()
	if wait := latest.Add(r.cfg.Settle).Sub(r.now()); !latest.IsZero() && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("rank index: %w", ctx.Err())
		case <-t.C:
		}
	}
	return r.rankDirty(ctx, r.cfg.Settle)
}

// FlushAndLog is Flush at the end of a run, bounded by timeout: it ranks
// the hours written to and not yet ranked, unless ctx is done (the
// collector was stopped at once), and logs what it did. A failure is
// logged, not returned: the data is stored, and the index only guides
// which rows reports show.
func (r *Ranker) FlushAndLog(ctx context.Context, timeout time.Duration) {
	hours := len(r.Dirty())
	if !r.Enabled() || hours == 0 || ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	began := time.Now()
	if err := r.Flush(ctx); err != nil {
		r.log.Error("rank index not brought up to date: reports may choose their top rows less well over these hours",
			"hours_left", len(r.Dirty()), "err", err)
		return
	}
	r.log.Info("rank index up to date", "hours", hours, "took", time.Since(began).Round(time.Millisecond).String())
}

// Hours ranks the hours holding the given times now, whether dirty or not
// (for tests and benchmark loaders, which flush the storage first). Each
// hour that was dirty and was not touched meanwhile is no longer dirty.
// It goes on past an hour that fails and returns every failure.
func (r *Ranker) Hours(ctx context.Context, hours []time.Time) error {
	if !r.Enabled() {
		return nil
	}
	r.rounds.Lock()
	defer r.rounds.Unlock()
	var errs []error
	asOf := r.now()
	for _, t := range hours {
		h := floorDiv(t.Unix(), 3600)
		if err := r.rankHour(ctx, h, r.genOf(h), asOf); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// genOf returns the generation of the hour's last touch (0 if clean).
func (r *Ranker) genOf(h int64) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dirty[h].gen
}

// rankDirty ranks the dirty hours, newest first. A ranking covers the
// touches at least settle old (the samples of younger ones may not be
// searchable yet): an hour is ranked once its earliest uncovered touch is
// that old, and stays dirty while it has younger ones. rankDirty stops at
// the first failure that says the storage is unwell (unreachable, 5xx,
// timeout), leaving the rest dirty, and goes on past a query the storage
// refuses (HTTP 4xx), so that one hour it cannot rank does not hold up the
// others.
func (r *Ranker) rankDirty(ctx context.Context, settle time.Duration) error {
	r.rounds.Lock()
	defer r.rounds.Unlock()
	type todo struct {
		hour int64
		gen  uint64
	}
	asOf := r.now().Add(-settle)
	var hours []todo
	r.mu.Lock()
	for h, m := range r.dirty {
		if !m.first.After(asOf) {
			hours = append(hours, todo{h, m.gen})
		}
	}
	r.mu.Unlock()
	slices.SortFunc(hours, func(a, b todo) int { return cmp.Compare(b.hour, a.hour) })
	var errs []error
	for _, h := range hours {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("rank index: %w", err))...)
		}
		err := r.rankHour(ctx, h.hour, h.gen, asOf)
		if err == nil {
			continue
		}
		errs = append(errs, err)
		var re *vmclient.RequestError
		if !errors.As(err, &re) || re.Temporary() {
			break
		}
	}
	return errors.Join(errs...)
}

// rankHour ranks hour h (Unix hours) and writes its rows, covering the
// touches up to asOf. On success the hour is no longer dirty, unless it was
// touched after asOf or since generation gen; then its earliest uncovered
// touch is after asOf.
func (r *Ranker) rankHour(ctx context.Context, h int64, gen uint64, asOf time.Time) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, hourTimeout)
	defer cancel()
	series, err := r.compute(ctx, h)
	if err == nil && len(series) > 0 {
		if err = r.store.Write(ctx, series); err != nil {
			err = fmt.Errorf("rank hour %s: write: %w", hourTime(h).Format(time.RFC3339), err)
		}
	}
	if err != nil {
		r.errs.Add(1)
		return err
	}
	took := time.Since(began)
	r.hours.Add(1)
	r.rows.Add(uint64(len(series)))
	r.last.Store(int64(took))
	r.mu.Lock()
	if m, ok := r.dirty[h]; ok {
		if m.gen == gen && !m.last.After(asOf) {
			delete(r.dirty, h)
		} else if !m.first.After(asOf) {
			m.first = asOf.Add(time.Nanosecond)
			r.dirty[h] = m
		}
	}
	r.mu.Unlock()
	r.log.Debug("rank index: hour ranked", "hour", hourTime(h).Format(time.RFC3339), "rows", len(series), "took", took.String())
	return nil
}

// compute runs the hour's queries and returns the index series to write.
func (r *Ranker) compute(ctx context.Context, h int64) ([]vmclient.Series, error) {
	startMs := h * 3600 * 1000
	evalMs := startMs + 3600*1000 - 1
	at := strconv.FormatInt(evalMs/1000, 10) + "." + fmt.Sprintf("%03d", evalMs%1000)
	var out []vmclient.Series
	for _, q := range r.queries {
		rows, err := r.instant(ctx, q.expr, at)
		if err != nil {
			return nil, fmt.Errorf("rank hour %s: view %s, %s: %w", hourTime(h).Format(time.RFC3339), q.view.ID, q.metric, err)
		}
		for _, row := range rows {
			if !(row.Value > 0) || math.IsInf(row.Value, 0) {
				continue
			}
			labels := make([]vmclient.Label, 0, len(q.view.Labels)+2)
			labels = append(labels, vmclient.Label{Name: "__name__", Value: q.name}, vmclient.Label{Name: schema.LabelView, Value: q.view.ID})
			for _, l := range q.view.Labels {
				v := row.Labels[l]
				if v == "" {
					v = schema.Absent
				}
				labels = append(labels, vmclient.Label{Name: l, Value: v})
			}
			out = append(out, vmclient.Series{Labels: labels, Samples: []vmclient.Sample{{Timestamp: startMs, Value: row.Value}}})
		}
	}
	return out, nil
}

// instant sends an instant query at time at (Unix seconds, 3 decimals).
func (r *Ranker) instant(ctx context.Context, expr, at string) ([]vmclient.VectorSample, error) {
	body, err := r.store.Get(ctx, "/api/v1/query", url.Values{"query": {expr}, "time": {at}, "nocache": {"1"}})
	if err != nil {
		return nil, err
	}
	return vmclient.DecodeVector(body)
}

// floorDiv divides rounding towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// hourTime returns the start of Unix hour h.
func hourTime(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }
