package pipeline

import (
	"context"
	"log/slog"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// GuardSources is GuardLostState over the enabled sources: the first-run
// behaviours it returns replace theirs.
func GuardSources(ctx context.Context, log *slog.Logger, l *ledger.Ledger, store sourcestate.LostStateStore, sources []*sourcestate.Source,
	retention time.Duration, mode string) error {
	var names []string
	for _, s := range sources {
		if !s.Disabled {
			names = append(names, s.Name())
		}
	}
	override, err := sourcestate.GuardLostState(ctx, log, l, store, l.Instance(), names, retention, mode)
	for _, s := range sources {
		if fr, ok := override[s.Name()]; ok {
			s.FirstRun = fr
		}
	}
	return err
}
