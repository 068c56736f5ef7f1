package rank

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/vmclient"
)

// fake is a Store that answers every query with rows and records what it
// was asked.
type fake struct {
	mu      sync.Mutex
	rows    string // the JSON result array of every answer
	err     error  // returned by Get when set
	onGet   func(params url.Values)
	queries []url.Values
	written []vmclient.Series
}

func (f *fake) Get(_ context.Context, path string, params url.Values) ([]byte, error) {
	f.mu.Lock()
	f.queries = append(f.queries, params)
	hook, err, rows := f.onGet, f.err, f.rows
	f.mu.Unlock()
	if hook != nil {
		hook(params)
	}
	if path != "/api/v1/query" {
		return nil, fmt.Errorf("unexpected path %s", path)
	}
	if err != nil {
		return nil, err
	}
	if rows == "" {
		rows = "[]"
	}
	return []byte(`{"status":"success","data":{"resultType":"vector","result":` + rows + `}}`), nil
}

func (f *fake) Write(_ context.Context, series []vmclient.Series) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written = append(f.written, series...)
	return nil
}

// times returns the evaluation times of the queries, in order.
func (f *fake) times() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, q := range f.queries {
		out = append(out, q.Get("time"))
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRanker(t *testing.T, s Store, cfg Config) *Ranker {
	t.Helper()
	r, err := New(s, cfg, quiet())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// at is 2026-03-01 plus the given hours and minutes, UTC.
func at(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }

func minutes(ts ...time.Time) []int64 {
	var out []int64
	for _, t := range ts {
		out = append(out, t.Unix()/60)
	}
	return out
}

func TestTouch(t *testing.T) {
	f := func(topK int, mins []int64, want ...time.Time) {
		t.Helper()
		r := newRanker(t, &fake{}, Config{TopK: topK})
		r.Touch(mins)
		if got := r.Dirty(); !slices.Equal(got, want) {
			t.Errorf("Touch(%v) with top K %d: dirty %v, want %v", mins, topK, got, want)
		}
		if got := r.Stats().DirtyHours; got != len(want) {
			t.Errorf("Stats().DirtyHours %d, want %d", got, len(want))
		}
	}
	f(30, nil)
	f(30, minutes(at(10, 0)), at(10, 0))
	f(30, minutes(at(10, 0), at(10, 59), at(11, 0), at(13, 30)), at(13, 0), at(11, 0), at(10, 0))
	f(30, minutes(at(9, 59), at(9, 0)), at(9, 0)) // unsorted, same hour
	f(30, []int64{-1}, time.Unix(-3600, 0).UTC()) // before 1970: floor, not truncation
	f(0, minutes(at(10, 0)))                      // off: nothing to do
}

func TestNewChecks(t *testing.T) {
	for _, cfg := range []Config{{TopK: -1}, {TopK: 3, Lookback: -time.Hour}, {TopK: 3, Settle: -time.Second}} {
		if _, err := New(&fake{}, cfg, nil); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
	r := newRanker(t, &fake{}, Config{TopK: 3})
	if got, want := r.Config(), (Config{TopK: 3, Interval: DefaultInterval, Lookback: DefaultLookback, Settle: DefaultSettle}); got != want {
		t.Errorf("defaults: %+v, want %+v", got, want)
	}
	if d := DefaultConfig(); d.TopK != 30 || d.Interval != 5*time.Minute || d.Lookback != 2*time.Hour {
		t.Errorf("DefaultConfig() = %+v", d)
	}
}

// TestQueriesAndRows checks what an hour's ranking sends and writes: 18
// queries (6 views × 3 metrics) at the hour's last millisecond with
// nocache=1, and each answered row as one sample at the hour's start,
// missing labels as "-", rows of 0 left out.
func TestQueriesAndRows(t *testing.T) {
	s := &fake{rows: `[
		{"metric":{"account_id":"1","region":"r","vpc_id":"vpc-1","action":"ACCEPT","interface_id":"eni-1","src_addr":"10.0.0.1","dst_addr":"10.0.0.2","protocol":"6","port":"443","src_interface":"eni-1","dst_interface":"eni-2"},"value":[1772362799.999,"1234"]},
		{"metric":{"account_id":"1","region":"r","vpc_id":"vpc-1","action":"REJECT"},"value":[1772362799.999,"5"]},
		{"metric":{"account_id":"1","region":"r","vpc_id":"vpc-1","action":"ACCEPT","interface_id":"eni-9"},"value":[1772362799.999,"0"]}]`}
	r := newRanker(t, s, Config{TopK: 7})
	if err := r.Hours(context.Background(), []time.Time{at(10, 42)}); err != nil {
		t.Fatal(err)
	}
	if len(s.queries) != 18 {
		t.Fatalf("%d queries, want 18", len(s.queries))
	}
	for _, q := range s.queries {
		if q.Get("time") != "1772362799.999" || q.Get("nocache") != "1" {
			t.Errorf("query params %v: want time=1772362799.999 (10:59:59.999) and nocache=1", q)
		}
	}
	want := "topk(7, sum by (account_id, region, vpc_id, action, interface_id, src_addr) (sum_over_time(vpcflow_src_bytes[1h]))) by (account_id, region, vpc_id, action)"
	if got := s.queries[0].Get("query"); got != want {
		t.Errorf("first query\n%s\nwant\n%s", got, want)
	}
	if got := s.queries[17].Get("query"); !strings.Contains(got, "sum_over_time(vpcflow_pair_flows[1h])") || !strings.Contains(got, "src_interface, dst_interface") {
		t.Errorf("last query %s: want the pair view of flows", got)
	}
	if len(s.written) != 36 {
		t.Fatalf("%d series written, want 2 per query", len(s.written))
	}
	first := s.written[0]
	if got := fmt.Sprint(first.Labels); got != "[{__name__ vpcflow_rank_bytes} {view interface-src} {account_id 1} {region r} {vpc_id vpc-1} {action ACCEPT} {interface_id eni-1} {src_addr 10.0.0.1}]" {
		t.Errorf("labels %s", got)
	}
	if len(first.Samples) != 1 || first.Samples[0] != (vmclient.Sample{Timestamp: at(10, 0).UnixMilli(), Value: 1234}) {
		t.Errorf("samples %v: want 1234 at 10:00", first.Samples)
	}
	if got := fmt.Sprint(s.written[1].Labels); !strings.Contains(got, "{interface_id -} {src_addr -}") {
		t.Errorf("labels %s: want - for the missing labels", got)
	}
	if st := r.Stats(); st.HoursRanked != 1 || st.RowsWritten != 36 || st.Errors != 0 || st.LastHourDuration <= 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestTouchedWhileRanking touches an hour while it is being ranked: it
// stays dirty, and the next flush ranks it again.
func TestTouchedWhileRanking(t *testing.T) {
	s := &fake{}
	r := newRanker(t, s, Config{TopK: 3, Settle: time.Nanosecond})
	var once sync.Once
	s.onGet = func(url.Values) { once.Do(func() { r.Touch(minutes(at(10, 5))) }) }
	r.Touch(minutes(at(10, 0), at(11, 0)))
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 11:00 went first (newest): its first query touched 10:00 again.
	if got := r.Dirty(); !slices.Equal(got, []time.Time{at(10, 0)}) {
		t.Errorf("dirty %v after a touch during ranking, want 10:00", got)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.Dirty(); len(got) != 0 {
		t.Errorf("dirty %v after a second flush", got)
	}
}

// TestNewestFirst ranks dirty hours newest first.
func TestNewestFirst(t *testing.T) {
	s := &fake{}
	r := newRanker(t, s, Config{TopK: 3, Settle: time.Nanosecond})
	r.Touch(minutes(at(8, 0)))
	r.Touch(minutes(at(10, 0)))
	r.Touch(minutes(at(9, 0)))
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	times := slices.Compact(s.times())
	want := []string{"1772362799.999", "1772359199.999", "1772355599.999"}
	if !slices.Equal(times, want) {
		t.Errorf("evaluation times %v, want %v (10, 9, 8 o'clock)", times, want)
	}
}

// TestSettleAndLookback checks what a round of Run takes: the lookback
// hours are dirty from the start; an hour touched within Settle waits; an
// hour touched all the time is ranked every round and stays dirty until
// its touches are Settle old.
func TestSettleAndLookback(t *testing.T) {
	s := &fake{}
	r := newRanker(t, s, Config{TopK: 3, Settle: 5 * time.Second, Lookback: 2 * time.Hour})
	now := at(10, 30)
	r.now = func() time.Time { return now }
	round := func(after time.Duration, want ...time.Time) {
		t.Helper()
		now = now.Add(after)
		if err := r.rankDirty(context.Background(), r.cfg.Settle); err != nil {
			t.Fatal(err)
		}
		if got := r.Dirty(); !slices.Equal(got, want) {
			t.Errorf("%s: dirty %v, want %v", now.Format(time.TimeOnly), got, want)
		}
	}
	r.markLookback()
	if got, want := r.Dirty(), []time.Time{at(10, 0), at(9, 0), at(8, 0)}; !slices.Equal(got, want) {
		t.Errorf("lookback at 10:30: dirty %v, want %v", got, want)
	}
	r.Touch(minutes(at(7, 0)))
	round(time.Second, at(7, 0)) // the lookback hours are ranked; 07:00 was touched a second ago
	ranked := r.Stats().HoursRanked
	round(5 * time.Second) // now it is 5 s old
	if n := r.Stats().HoursRanked - ranked; n != 1 {
		t.Errorf("%d hours ranked, want 07:00 only", n)
	}

	// 10:00 touched every 3 s: each round ranks it and keeps it dirty,
	// until a round finds its last touch settled.
	for range 20 {
		r.Touch(minutes(at(10, 29)))
		now = now.Add(3 * time.Second)
	}
	ranked = r.Stats().HoursRanked
	round(0, at(10, 0))
	r.Touch(minutes(at(10, 29)))
	round(time.Minute) // the touch is settled
	if n := r.Stats().HoursRanked - ranked; n != 2 {
		t.Errorf("%d rankings of an hour touched all the time, want one per round", n)
	}
	// A touch within Settle of a round that ranks an hour keeps it dirty.
	r.Touch(minutes(at(10, 29)))
	now = now.Add(10 * time.Second)
	r.Touch(minutes(at(10, 29)))
	round(time.Second, at(10, 0))
	round(5 * time.Second)
}

// TestErrorsKeepHoursDirty: a storage that cannot be reached stops the
// pass at the first hour, which stays dirty with the others; a refused
// query (HTTP 4xx) fails its hour only.
func TestErrorsKeepHoursDirty(t *testing.T) {
	f := func(err error, wantQueries int, wantDirty []time.Time) {
		t.Helper()
		s := &fake{err: err}
		r := newRanker(t, s, Config{TopK: 3, Settle: time.Nanosecond})
		r.Touch(minutes(at(9, 0), at(10, 0)))
		got := r.Flush(context.Background())
		if !errors.Is(got, err) || !strings.Contains(got.Error(), "rank hour 2026-03-01T10:00:00Z") {
			t.Errorf("Flush: %v, want %v naming the hour", got, err)
		}
		if n := len(s.queries); n != wantQueries {
			t.Errorf("%d queries, want %d", n, wantQueries)
		}
		if d := r.Dirty(); !slices.Equal(d, wantDirty) {
			t.Errorf("dirty %v, want %v", d, wantDirty)
		}
		if st := r.Stats(); st.Errors != uint64(wantQueries) || st.HoursRanked != 0 || st.DirtyHours != len(wantDirty) {
			t.Errorf("stats %+v", st)
		}
		// The storage is back: the next flush ranks what is dirty.
		s.mu.Lock()
		s.err = nil
		s.mu.Unlock()
		if err := r.Flush(context.Background()); err != nil || len(r.Dirty()) != 0 {
			t.Errorf("second flush: %v, dirty %v", err, r.Dirty())
		}
	}
	down := errors.New("connect: connection refused")
	f(down, 1, []time.Time{at(10, 0), at(9, 0)})
	f(&vmclient.RequestError{URL: "http://vm/api/v1/query", Status: 503}, 1, []time.Time{at(10, 0), at(9, 0)})
	refused := &vmclient.RequestError{URL: "http://vm/api/v1/query", Status: 422, Body: "too many series"}
	f(refused, 2, []time.Time{at(10, 0), at(9, 0)})
}

// TestBadAnswers: answers that are not a full vector fail the hour.
func TestBadAnswers(t *testing.T) {
	for _, body := range []string{
		`not json`,
		`{"status":"error","error":"boom"}`,
		`{"status":"success","isPartial":true,"data":{"resultType":"vector","result":[]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}`,
	} {
		r := newRanker(t, &fixedBody{body}, Config{TopK: 3})
		if err := r.Hours(context.Background(), []time.Time{at(10, 0)}); err == nil {
			t.Errorf("answer %s: no error", body)
		}
	}
}

type fixedBody struct{ body string }

func (f *fixedBody) Get(context.Context, string, url.Values) ([]byte, error) {
	return []byte(f.body), nil
}
func (f *fixedBody) Write(context.Context, []vmclient.Series) error { return nil }

// TestRun ranks touched hours in the background and stops with ctx.
func TestRun(t *testing.T) {
	s := &fake{}
	r := newRanker(t, s, Config{TopK: 3, Interval: 5 * time.Millisecond, Settle: time.Nanosecond, Lookback: time.Nanosecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	r.Touch(minutes(at(10, 0)))
	deadline := time.Now().Add(10 * time.Second)
	for len(r.Dirty()) > 0 || r.Stats().HoursRanked < 2 { // the touched hour and the current one
		if time.Now().After(deadline) {
			t.Fatalf("not ranked: dirty %v, stats %+v", r.Dirty(), r.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	// Off: Run returns at once, nothing is ever dirty.
	off := newRanker(t, s, Config{})
	off.Run(context.Background())
	off.Touch(minutes(at(10, 0)))
	if err := off.Flush(context.Background()); err != nil || len(off.Dirty()) != 0 || off.Enabled() {
		t.Errorf("a ranker that is off: %v, dirty %v", err, off.Dirty())
	}
}

// TestStart: Run in the background until stopped, or not at all for a
// run that ranks at its end.
func TestStart(t *testing.T) {
	for _, tt := range []struct {
		name string
		once bool
	}{{"run", false}, {"once", true}} {
		t.Run(tt.name, func(t *testing.T) {
			s := &fake{}
			r := newRanker(t, s, Config{TopK: 3, Interval: 5 * time.Millisecond, Settle: time.Nanosecond, Lookback: time.Nanosecond})
			stop := r.Start(context.Background(), tt.once)
			r.Touch(minutes(at(10, 0)))
			deadline := time.Now().Add(10 * time.Second)
			for !tt.once && r.Stats().HoursRanked < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if tt.once {
				time.Sleep(50 * time.Millisecond) // several intervals
			}
			stop()
			asked := len(s.times())
			if ranked := r.Stats().HoursRanked; tt.once && (ranked != 0 || asked != 0) || !tt.once && ranked < 2 {
				t.Fatalf("%d hours ranked, %d queries", ranked, asked)
			}
			r.Touch(minutes(at(11, 0)))
			time.Sleep(50 * time.Millisecond)
			if n := len(s.times()); n != asked {
				t.Errorf("%d queries after stop, want none", n-asked)
			}
		})
	}
}

// TestFlushAndLog: at the end of a run the dirty hours are ranked and
// logged; a failure is logged with the hours left; a collector stopped at
// once (its context done) ranks nothing.
func TestFlushAndLog(t *testing.T) {
	f := func(err error, cancelled bool, wantLog string, wantDirty int) {
		t.Helper()
		var log strings.Builder
		s := &fake{err: err}
		r, nerr := New(s, Config{TopK: 3, Settle: time.Nanosecond}, slog.New(slog.NewTextHandler(&log, nil)))
		if nerr != nil {
			t.Fatal(nerr)
		}
		r.Touch(minutes(at(9, 0), at(10, 0)))
		ctx, cancel := context.WithCancel(context.Background())
		if cancelled {
			cancel()
		}
		defer cancel()
		r.FlushAndLog(ctx, time.Minute)
		if got := log.String(); !strings.Contains(got, wantLog) || (wantLog == "" && got != "") {
			t.Errorf("log %q, want %q", got, wantLog)
		}
		if d := len(r.Dirty()); d != wantDirty {
			t.Errorf("%d hours dirty, want %d", d, wantDirty)
		}
	}
	f(nil, false, `msg="rank index up to date" hours=2`, 0)
	f(errors.New("connect: connection refused"), false, `msg="rank index not brought up to date: reports may choose their top rows less well over these hours" hours_left=2`, 2)
	f(nil, true, "", 2)
}
