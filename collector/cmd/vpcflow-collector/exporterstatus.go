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

// startExporterStatus writes the exporter status series (package
// collector/exporterstatus) of p's exporters every minute in the
// background, until ctx is done or the function returned is called, which
// waits for it to end and, with once, writes them one last time.
func startExporterStatus(ctx context.Context, cfg *config.Config, store *vmclient.Client, log *slog.Logger, p *pipeline.Pipeline, once bool) (stop func()) {
	r := exporterstatus.New(exporterstatus.Options{Sources: p.Sources, Exporters: p.Exporters, Store: store,
		Instance: cfg.Instance.Index, Logger: log})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
		if !once {
			return
		}
		// The end of run --once: the states it leaves, even when a signal
		// ended it, within a bound.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := r.Write(ctx); err != nil {
			log.Warn("exporter status: "+err.Error(), "component", "exporter_status")
		}
	}
}
