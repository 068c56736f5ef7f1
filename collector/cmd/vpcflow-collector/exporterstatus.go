package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/exporterstatus"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/vmclient"
)

// finalStatusTimeout bounds the exporter status write at the end of
// run --once.
const finalStatusTimeout = 10 * time.Second

// startExporterStatus writes the exporter status series (package
// collector/exporterstatus) of p's exporters every minute in the
// background, until ctx is done or the function returned is called, which
// waits for it to end and, with once, writes them one last time (not when
// ctx is done: a signal or the storage timeout ended the run, and the
// exit is not held up).
func startExporterStatus(ctx context.Context, cfg *config.Config, store *vmclient.Client, log *slog.Logger, p *pipeline.Pipeline, once bool) (stop func()) {
	r := exporterstatus.New(exporterstatus.Options{Sources: p.Sources, Exporters: p.Exporters, Store: store,
		Instance: cfg.Instance.Index, Logger: log})
	bg, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(bg)
	}()
	return func() {
		cancel()
		<-done
		if !once || ctx.Err() != nil {
			return
		}
		wctx, cancel := context.WithTimeout(ctx, finalStatusTimeout)
		defer cancel()
		if err := r.Write(wctx); err != nil {
			log.Warn("exporter status: "+err.Error(), "component", "exporter_status")
		}
	}
}
