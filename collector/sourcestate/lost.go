package sourcestate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/vmclient"
	"regexp"
)

// A lost state folder must not count data twice, nor a lost storage drop it
// silently. Every batch therefore leaves a trace in the storage, written
// and saved with its samples: the series
//
//	vpcflow_collector_ledger{source, instance, ledger} = batch begun (Unix milliseconds)
//
// at the start of the UTC day the batch was begun (one sample a day per
// source; deduplication keeps the largest value, the latest batch). The
// ledger remembers the latest day whose trace was saved (MarkedDay). At
// start CheckLostState compares the two: a ledger that does not know a
// source the storage has traces of from another ledger was lost or
// replaced (its objects would be ingested, or purged, again); a ledger
// that saved traces the storage no longer has, within its retention, talks
// to a storage that lost its data or is another one.

// MarkerName is the series of the batches' traces.
const MarkerName = "vpcflow_collector_ledger"

// Day is the period of the traces: one sample a day per source.
const Day = 24 * time.Hour

// UnixDay returns the Unix day (UTC) of t.
func UnixDay(t time.Time) int64 { return t.Unix() / int64(Day/time.Second) }

// Lost-state kinds.
const (
	// LostLedger: the ledger does not know a source that another ledger
	// of this collector instance wrote traces for.
	LostLedger = "ledger"
	// LostStorage: the storage holds none of the traces this ledger saved
	// of a source, though they are within its retention.
	LostStorage = "storage"
)

// LostState is a source whose ledger and storage disagree.
type LostState struct {
	Source string
	// Kind is LostLedger or LostStorage.
	Kind string
	// Last is when the latest batch of another ledger (LostLedger) was
	// begun; for LostStorage, the day of the latest trace the ledger
	// saved.
	Last time.Time
	// Ledgers are the other ledgers' ids (LostLedger).
	Ledgers []string
}

// String says what was found and what it means.
func (s LostState) String() string {
	if s.Kind == LostLedger {
		return fmt.Sprintf("source %s: the ledger has no record of it, but the storage holds traces of ledger %s of this collector instance, "+
			"the latest of a batch begun %s: the state folder was lost, emptied or replaced; starting as if new would ingest its objects "+
			"again (counted twice) or purge them again", s.Source, strings.Join(s.Ledgers, ", "), s.Last.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("source %s: the ledger saved traces of its batches in the storage up to %s, and the storage has none of them: "+
		"its data was lost, or it is another storage; what the collector stored of this source before is gone",
		s.Source, s.Last.UTC().Format(time.DateOnly))
}

// MarkerReader reads the traces (vmclient.Client is one).
type MarkerReader interface {
	Export(ctx context.Context, match string, start, end time.Time) ([]vmclient.ExportedSeries, error)
}

// instanceIndex returns the index of an "index/count" instance, as a
// regular expression matching it alone.
func instanceIndex(instance string) string {
	i, _, _ := strings.Cut(instance, "/")
	return regexp.QuoteMeta(i)
}

// CheckLostState compares, for each named source, what the ledger knows
// with the traces the storage holds for the collector instance ("i/n",
// see MarkerName; the index i under any count n). retention is the storage's (0: unknown, taken as
// unlimited): traces older than it are gone by design, and a ledger whose
// latest saved trace is that old is not taken as talking to a lost
// storage. The downloader role checks its own ledger the same way: it
// never writes traces, so only a lost ledger can be found for it.
func CheckLostState(ctx context.Context, l *ledger.Ledger, r MarkerReader, instance string, sources []string, retention time.Duration, now time.Time) ([]LostState, error) {
	var lost []LostState
	for _, name := range sources {
		st, known, err := l.SourceState(name)
		if err != nil {
			return nil, err
		}
		// VictoriaMetrics caches which series a filter selects, and may
		// keep an answer up to 10 s after new series appeared: a filter
		// on a value no series has makes this lookup one of its own.
		// The traces of this index under any count: a count changed
		// (instance "0/2" now "0/3") is the same instance.
		match := fmt.Sprintf(`%s{source=%s,instance=~%s,ledger!="check-%d"}`, MarkerName, strconv.Quote(name), strconv.Quote(instanceIndex(instance)+"/[0-9]+"), now.UnixNano())
		start := time.Unix(0, 0)
		if retention > 0 && now.Add(-retention).After(start) {
			start = now.Add(-retention)
		}
		series, err := r.Export(ctx, match, start, now.Add(Day))
		if err != nil {
			return nil, fmt.Errorf("source %s: read the traces of earlier batches: %w", name, err)
		}
		ours := false
		var others []string
		var last float64
		for _, s := range series {
			id := s.Labels["ledger"]
			if id == l.ID() {
				ours = true
				continue
			}
			others = append(others, id)
			for _, v := range s.Values {
				last = max(last, v)
			}
		}
		slices.Sort(others)
		switch {
		case !known && len(others) > 0:
			lost = append(lost, LostState{Source: name, Kind: LostLedger, Last: traceTime(last), Ledgers: others})
		case known && st.MarkedDay > 0 && !ours:
			markedAt := time.Unix(st.MarkedDay*int64(Day/time.Second), 0).UTC()
			if retention > 0 && now.Sub(markedAt) > retention-Day {
				continue // gone by design, or soon
			}
			lost = append(lost, LostState{Source: name, Kind: LostStorage, Last: markedAt})
		}
	}
	return lost, nil
}

// Ways to go on after CheckLostState found something (run --lost-state).
const (
	// LostBackfill ingests what the source holds now: after a lost ledger,
	// the source's first run is a backfill (right for a source that
	// deletes what it ingests: what is still there was not ingested); after
	// a lost storage, the ledger forgets what it ingested of the source and
	// runs its first run again as a backfill (right for a shared source:
	// its history is still there).
	LostBackfill = "backfill"
	// LostSkip goes on from where the traces end: after a lost ledger, the
	// source's first run skips the objects older than the latest batch of
	// the lost ledger (right for a shared source: they were ingested);
	// after a lost storage, it goes on, the loss accepted.
	LostSkip = "skip"
)

// traceTime reads a trace's value: Unix milliseconds, or Unix seconds as
// collectors before 2026-12 wrote them (below 1e11: before 1973 in
// milliseconds). A second cut the time short: objects modified within
// the second the latest batch began were taken for newer (TestLostLedgerRefused
// under the race detector).
func traceTime(v float64) time.Time {
	if v < 1e11 {
		return time.Unix(int64(v), 0).UTC()
	}
	return time.UnixMilli(int64(v)).UTC()
}

// ResolveLostState records in the ledger the way to go on (LostBackfill or
// LostSkip) for each lost state, and returns the first-run behaviours the
// sources must take instead of their configured ones (by source name).
func ResolveLostState(l *ledger.Ledger, lost []LostState, mode string, now time.Time) (map[string]FirstRun, error) {
	if mode != LostBackfill && mode != LostSkip {
		return nil, fmt.Errorf("--lost-state %q: want %s or %s", mode, LostBackfill, LostSkip)
	}
	override := map[string]FirstRun{}
	for _, s := range lost {
		switch {
		case mode == LostBackfill && s.Kind == LostLedger:
			override[s.Source] = FirstRun{Mode: FirstRunBackfill}
		case mode == LostBackfill && s.Kind == LostStorage:
			if _, err := l.PruneIngested(s.Source, now.Add(100*365*Day)); err != nil {
				return nil, err
			}
			if err := l.DeleteSourceState(s.Source); err != nil {
				return nil, err
			}
			override[s.Source] = FirstRun{Mode: FirstRunBackfill}
		case mode == LostSkip && s.Kind == LostLedger:
			st := ledger.SourceState{FirstRun: now, Mode: FirstRunSkip, Cutoff: s.Last, Done: true}
			if err := l.SetSourceState(s.Source, st); err != nil {
				return nil, err
			}
		case mode == LostSkip && s.Kind == LostStorage:
			st, _, err := l.SourceState(s.Source)
			if err != nil {
				return nil, err
			}
			st.MarkedDay = 0 // traces start again with the next batch
			if err := l.SetSourceState(s.Source, st); err != nil {
				return nil, err
			}
		}
	}
	return override, nil
}

// LostStateStore is the storage GuardLostState checks (vmclient.Client
// is one).
type LostStateStore interface {
	MarkerReader
	// WriteURL names the storage.
	WriteURL() string
}

// SearchLatency is how long after a write the storage's traces are surely
// searchable: GuardLostState looks again after it before it calls a
// storage lost.
const SearchLatency = 3 * time.Second

// GuardLostState checks, before the named sources are collected, that the
// ledger and the storage agree on what was collected from them
// (CheckLostState, with the storage's retention). When they do not, it
// refuses to go on, saying what it found and how to proceed, unless mode
// (run --lost-state: LostBackfill or LostSkip; "" when not given) says
// how: it then records that (ResolveLostState) and returns the first-run
// behaviours that replace the configured ones, by source name.
func GuardLostState(ctx context.Context, log *slog.Logger, l *ledger.Ledger, store LostStateStore, instance string,
	sources []string, retention time.Duration, mode string) (map[string]FirstRun, error) {
	lost, err := CheckLostState(ctx, l, store, instance, sources, retention, time.Now())
	if err == nil && slices.ContainsFunc(lost, func(s LostState) bool { return s.Kind == LostStorage }) {
		// The latest traces may not be searchable yet (VictoriaMetrics
		// makes new samples searchable within a second or two, and a run
		// with a short storage.durable_after may have ended sooner): look
		// again once that has passed before calling the storage lost.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(SearchLatency):
		}
		lost, err = CheckLostState(ctx, l, store, instance, sources, retention, time.Now())
	}
	if err != nil {
		return nil, err
	}
	if len(lost) == 0 {
		if mode != "" {
			log.Info("--lost-state given, but the ledger and the storage agree: nothing to do", "ledger", l.Path())
		}
		return nil, nil
	}
	if mode == "" {
		var b strings.Builder
		fmt.Fprintf(&b, "the ledger %s and the storage %s disagree:", l.Path(), store.WriteURL())
		for _, s := range lost {
			b.WriteString("\n  " + s.String())
		}
		b.WriteString("\nRestore the state folder, or point storage at the VictoriaMetrics that holds the data; or, to go on deliberately, " +
			"start once with --lost-state=backfill (ingest what the sources hold now: right for a source that deletes what it ingests, " +
			"and, after a lost storage, for a shared one) or --lost-state=skip (after a lost ledger, leave alone the objects older than " +
			"its latest batch: right for a shared source; after a lost storage, accept the loss)")
		return nil, errors.New(b.String())
	}
	override, err := ResolveLostState(l, lost, mode, time.Now())
	if err != nil {
		return nil, err
	}
	for _, s := range lost {
		log.Warn("going on after a lost state, as --lost-state says", "lost_state", mode, "problem", s.String())
	}
	return override, nil
}
