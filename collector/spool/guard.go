package spool

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// GuardFirstRuns checks, before an origin's first run in the downloader's
// ledger led (a purge deletes unread logs), that the collector has no
// traces of it in the storage: if it has, the downloader's ledger was
// lost or is new beside a collector that ran before (a switch from --role
// all), and a first run would purge or download again
// (sourcestate.GuardLostState, for the collector instance "i/n", with mode
// the run's --lost-state). It reaches the storage, described by storage
// and waited for at most timeout (vmclient.Client.WaitReadyTimeout), only
// when some origin has no first run in led yet. The first-run behaviours
// the guard decides replace the origins'.
func GuardFirstRuns(ctx context.Context, log *slog.Logger, led *ledger.Ledger, origins []*Origin, storage vmclient.Config,
	timeout time.Duration, instance, mode string) error {
	var fresh []string
	for _, o := range origins {
		if _, known, err := led.SourceState(o.Source.Name()); err != nil {
			return err
		} else if !known {
			fresh = append(fresh, o.Source.Name())
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	storage.Logger = log
	store, err := vmclient.New(storage)
	if err != nil {
		return err
	}
	dur, err := store.WaitReadyTimeout(ctx, timeout)
	if err != nil {
		return fmt.Errorf("check the storage before the first run of %s: %w", strings.Join(fresh, ", "), err)
	}
	override, err := sourcestate.GuardLostState(ctx, log, led, store, instance, fresh, dur.Retention, mode)
	if err != nil {
		return err
	}
	for _, o := range origins {
		if fr, ok := override[o.Source.Name()]; ok {
			o.FirstRun = fr
		}
	}
	return nil
}
