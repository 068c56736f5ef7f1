// Package lifecycle handles the signals the collector's process answers
// while it runs: SIGINT and SIGTERM stop it after the batch in flight
// (StopOnSignals), SIGHUP reloads its configuration (OnReload).
package lifecycle

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/vpcflow/vpcflow/collector/config"
)

// StopOnSignals makes SIGINT or SIGTERM call drain (stop after the batch
// in flight), and a second signal, or timeout later, stopNow. It listens
// until ctx is done or stop is called.
func StopOnSignals(ctx context.Context, log *slog.Logger, timeout time.Duration, drain, stopNow func()) (stop func()) {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			log.Info("stopping after the batch in flight", "signal", sig.String())
			drain()
		}
		select {
		case <-ctx.Done():
		case <-signals:
			log.Warn("stopping now; the batch in flight will be replayed by the next run")
			stopNow()
		case <-time.After(timeout):
			log.Warn("the batch in flight did not finish in time; it will be replayed by the next run")
			stopNow()
		}
	}()
	return func() { signal.Stop(signals) }
}

// OnReload calls apply with the configuration of the file at path on
// every SIGHUP, once it is loaded and checked (config.Load); a bad file is
// logged and the running configuration, cur at first, kept. Changes
// outside sources (config.Compare) are logged as needing a restart. It
// listens until ctx is done or stop is called.
func OnReload(ctx context.Context, log *slog.Logger, path string, cur *config.Config, apply func(*config.Config)) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-hup:
			}
			next, err := config.Load(path)
			if err != nil {
				log.Error("configuration not reloaded: the running one is kept", "err", err)
				continue
			}
			d := config.Compare(cur, next)
			if len(d.Restart) > 0 {
				log.Warn("configuration changes that take effect only after a restart", "fields", strings.Join(d.Restart, ", "))
			}
			apply(next)
			log.Info("configuration reloaded", "sources", len(next.Sources), "added", d.Added, "removed", d.Removed, "changed", d.Changed)
			cur = next
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
