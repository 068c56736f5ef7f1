package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/vpcflow/vpcflow/collector/config"
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
	instance := fmt.Sprintf("%d/%d", cfg.Instance.Index, cfg.Instance.Count)
	if err := spool.GuardFirstRuns(ctx, log, led, origins, cfg.Storage, fl.storageBound(), instance, fl.lostState); err != nil {
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
