package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/spool"
	"github.com/vpcflow/vpcflow/collector/status"
)

// runDownloader runs the downloader role: it copies new objects of the
// enabled sources into the spool folder for a collector-role process, and
// carries out their first runs. It keeps its own ledger
// (<state_dir>/downloader.db) of what it handed over.
func runDownloader(ctx context.Context, log *slog.Logger, cfg *config.Config, fl runFlags) error {
	led, err := cfg.OpenDownloaderLedger()
	if err != nil {
		return &exitError{1, err}
	}
	defer led.Close()
	origins := spool.Origins(ctx, cfg.Sources, log)
	if err := guardDownloaderFirstRuns(ctx, log, led, cfg, fl, origins); err != nil {
		return &exitError{1, err}
	}
	d := spool.NewDownloader(origins, led, spool.Options{Config: cfg.Spool, Interval: cfg.Batch.MaxWait, Logger: log})
	srv := status.New(d, roleDownloader, version)
	if err := srv.Start(ctx, cfg.Server, log); err != nil {
		return &exitError{1, fmt.Errorf("server.listen: %w", err)}
	}
	defer srv.SetStopped()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("downloader started", "sources", len(origins), "spool", cfg.Spool.Dir, "max_bytes", cfg.Spool.MaxBytes, "once", fl.once)
	err = d.Run(ctx, fl.once)
	st := d.Stats()
	log.Info("downloader stopped", "objects", st.Objects.Load(), "bytes", st.ReadBytes.Load())
	if err != nil && !errors.Is(err, context.Canceled) {
		return &exitError{1, err}
	}
	return nil
}

// guardDownloaderFirstRuns checks, before a source's first run in the
// downloader's ledger (a purge deletes unread logs), that the collector
// has no traces of it in the storage: if it has, downloader.db was lost or
// is new beside a collector that ran before (a switch from --role all),
// and a first run would purge or download again (pipeline.GuardLostState).
func guardDownloaderFirstRuns(ctx context.Context, log *slog.Logger, led *ledger.Ledger, cfg *config.Config, fl runFlags, origins []*spool.Origin) error {
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
	store, err := newStorage(cfg, log)
	if err != nil {
		return err
	}
	dur, err := store.WaitReadyTimeout(ctx, fl.storageBound())
	if err != nil {
		return fmt.Errorf("check the storage before the first run of %s: %w", strings.Join(fresh, ", "), err)
	}
	instance := fmt.Sprintf("%d/%d", cfg.Instance.Index, cfg.Instance.Count)
	override, err := pipeline.GuardLostState(ctx, log, led, store, instance, fresh, dur.Retention, fl.lostState)
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
