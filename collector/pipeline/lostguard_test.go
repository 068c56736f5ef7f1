package pipeline_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// traces is a LostStateStore holding given traces of earlier batches.
type traces []vmclient.ExportedSeries

func (tr traces) Export(_ context.Context, match string, _, _ time.Time) ([]vmclient.ExportedSeries, error) {
	var out []vmclient.ExportedSeries
	for _, s := range tr {
		if strings.Contains(match, "source="+strconv.Quote(s.Labels["source"])) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (traces) WriteURL() string { return "http://vm:8428/api/v1/write" }

// TestGuardLostState: a ledger that does not know a source the storage
// has traces of stops the start, saying what was found and how to go on;
// --lost-state says how (here: skip, recorded in the ledger); a ledger
// and a storage that agree let it start, whatever the mode.
func TestGuardLostState(t *testing.T) {
	ctx := context.Background()
	open := func() *ledger.Ledger {
		t.Helper()
		l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	var log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, nil))
	began := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	other := traces{{Labels: map[string]string{"__name__": sourcestate.MarkerName, "source": "prod", "instance": "0/1", "ledger": "lost-one"},
		Values: []float64{float64(began.Unix())}, Timestamps: []int64{began.UnixMilli()}}}

	l := open()
	_, err := sourcestate.GuardLostState(ctx, logger, l, other, "0/1", []string{"prod"}, 0, "")
	for _, want := range []string{"the ledger " + l.Path() + " and the storage http://vm:8428/api/v1/write disagree:",
		"source prod: the ledger has no record of it, but the storage holds traces of ledger lost-one", "--lost-state=backfill", "--lost-state=skip"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}

	override, err := sourcestate.GuardLostState(ctx, logger, l, other, "0/1", []string{"prod"}, 0, sourcestate.LostSkip)
	if err != nil || len(override) != 0 {
		t.Fatalf("--lost-state=skip: %v, %v", override, err)
	}
	if st, found, err := l.SourceState("prod"); err != nil || !found || st.Mode != sourcestate.FirstRunSkip || !st.Cutoff.Equal(began) || !st.Done {
		t.Errorf("state after skip: %+v %v %v", st, found, err)
	}
	if !strings.Contains(log.String(), `msg="going on after a lost state, as --lost-state says" lost_state=skip`) {
		t.Errorf("log: %s", log.String())
	}

	override, err = sourcestate.GuardLostState(ctx, logger, open(), other, "0/1", []string{"prod"}, 0, sourcestate.LostBackfill)
	if err != nil || override["prod"] != (sourcestate.FirstRun{Mode: sourcestate.FirstRunBackfill}) {
		t.Errorf("--lost-state=backfill: %v, %v", override, err)
	}

	log.Reset()
	if override, err := sourcestate.GuardLostState(ctx, logger, open(), traces{}, "0/1", []string{"prod"}, 0, sourcestate.LostBackfill); err != nil || override != nil {
		t.Errorf("agreeing: %v, %v", override, err)
	}
	if !strings.Contains(log.String(), "the ledger and the storage agree: nothing to do") {
		t.Errorf("log: %s", log.String())
	}
}

// TestGuardSources: the guard looks at the enabled sources only, and
// their first runs take what --lost-state says.
func TestGuardSources(t *testing.T) {
	l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	trace := func(src string) vmclient.ExportedSeries {
		return vmclient.ExportedSeries{Labels: map[string]string{"__name__": sourcestate.MarkerName, "source": src, "instance": l.Instance(), "ledger": "lost-one"},
			Values: []float64{1.7e9}, Timestamps: []int64{1.7e12}}
	}
	purge := sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge}
	sources := []*sourcestate.Source{{Source: source.NewDir("prod", t.TempDir()), FirstRun: purge},
		{Source: source.NewDir("off", t.TempDir()), FirstRun: purge, Disabled: true}}
	log := slog.New(slog.DiscardHandler)
	if err := pipeline.GuardSources(context.Background(), log, l, traces{trace("off")}, sources, 0, ""); err != nil {
		t.Errorf("a disabled source's traces stopped the start: %v", err)
	}
	if err := pipeline.GuardSources(context.Background(), log, l, traces{trace("prod")}, sources, 0, sourcestate.LostBackfill); err != nil {
		t.Fatal(err)
	}
	if sources[0].FirstRun.Mode != sourcestate.FirstRunBackfill || sources[1].FirstRun != purge {
		t.Errorf("first runs %+v and %+v, want backfill for prod only", sources[0].FirstRun, sources[1].FirstRun)
	}
}

// lagging is a LostStateStore whose traces become searchable only from its
// nth export on, as VictoriaMetrics makes new samples searchable a second
// or two after they were written.
type lagging struct {
	traces
	n, calls int
}

func (l *lagging) Export(ctx context.Context, match string, start, end time.Time) ([]vmclient.ExportedSeries, error) {
	l.calls++
	if l.calls < l.n {
		return nil, nil
	}
	return l.traces.Export(ctx, match, start, end)
}

// TestGuardWaitsForSearchableTraces: a run that starts right after another
// ended may not see the latest traces yet; the guard looks again after
// sourcestate.SearchLatency before it calls the storage lost, and does
// when they stay missing.
func TestGuardWaitsForSearchableTraces(t *testing.T) {
	ctx := context.Background()
	l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	today := time.Now().UTC()
	if err := l.SetSourceState("prod", ledger.SourceState{FirstRun: today, Mode: sourcestate.FirstRunBackfill, Done: true,
		MarkedDay: sourcestate.UnixDay(today)}); err != nil {
		t.Fatal(err)
	}
	ours := traces{{Labels: map[string]string{"__name__": sourcestate.MarkerName, "source": "prod", "instance": l.Instance(), "ledger": l.ID()},
		Values: []float64{float64(today.UnixMilli())}, Timestamps: []int64{sourcestate.UnixDay(today) * 86_400_000}}}
	log := slog.New(slog.DiscardHandler)
	late := &lagging{traces: ours, n: 2}
	began := time.Now()
	if _, err := sourcestate.GuardLostState(ctx, log, l, late, "0/1", []string{"prod"}, 0, ""); err != nil {
		t.Fatalf("traces searchable at the second look: %v", err)
	}
	if waited := time.Since(began); late.calls != 2 || waited < sourcestate.SearchLatency {
		t.Errorf("%d looks in %v, want 2 at least %v apart", late.calls, waited, sourcestate.SearchLatency)
	}
	gone := &lagging{traces: ours, n: 3}
	if _, err := sourcestate.GuardLostState(ctx, log, l, gone, "0/1", []string{"prod"}, 0, ""); err == nil ||
		!strings.Contains(err.Error(), "the storage has none of them") {
		t.Errorf("traces missing twice: %v, want the storage called lost", err)
	}
}
