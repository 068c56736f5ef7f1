package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// LostStateStore is the storage GuardLostState checks (vmclient.Client
// is one).
type LostStateStore interface {
	MarkerReader
	// WriteURL names the storage.
	WriteURL() string
}

// GuardLostState checks, before the named sources are collected, that the
// ledger and the storage agree on what was collected from them
// (CheckLostState, with the storage's retention). When they do not, it
// refuses to go on, saying what it found and how to proceed, unless mode
// (run --lost-state: LostBackfill or LostSkip; "" when not given) says
// how: it then records that (ResolveLostState) and returns the first-run
// behaviours that replace the configured ones, by source name.
func GuardLostState(ctx context.Context, log *slog.Logger, l *ledger.Ledger, store LostStateStore, instance string,
	sources []string, retention time.Duration, mode string) (map[string]sourcestate.FirstRun, error) {
	lost, err := CheckLostState(ctx, l, store, instance, sources, retention, time.Now())
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

// GuardSources is GuardLostState over the enabled sources: the first-run
// behaviours it returns replace theirs.
func GuardSources(ctx context.Context, log *slog.Logger, l *ledger.Ledger, store LostStateStore, sources []*sourcestate.Source,
	retention time.Duration, mode string) error {
	var names []string
	for _, s := range sources {
		if !s.Disabled {
			names = append(names, s.Name())
		}
	}
	override, err := GuardLostState(ctx, log, l, store, l.Instance(), names, retention, mode)
	for _, s := range sources {
		if fr, ok := override[s.Name()]; ok {
			s.FirstRun = fr
		}
	}
	return err
}
