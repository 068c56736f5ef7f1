// Package exporterstatus writes the collector's status of each exporter
// (VPC) it knows to the storage: the series schema.ExporterStatusMetric,
// which the exporters report joins to its rows, so that it shows a VPC
// whose source is paused (unresourced) or that is over
// limits.max_exporters (disabled_limit; its records are dropped, so no
// family has it).
//
// Like the entity sync's series (docs/names.md), the status series is not
// a delta and does not go through the ledger: every sample is 1, a sample
// written twice is the same sample, and one lost leaves a gap the next
// write fills (readers look back schema.ExporterStatusLookback).
package exporterstatus

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// DefaultMaxLimited bounds how many exporters over limits.max_exporters
// (disabled_limit) one write holds: the pipeline remembers every VPC its
// sources' records named, and records come from a bucket the collector
// does not control, so the VPCs beyond the limit are not bounded. The
// exporters within the limit are (limits.max_exporters per source); so
// is, without a limit, nothing: those VPCs' records are stored, in series
// of their own, anyway.
const DefaultMaxLimited = 100

// DefaultTimeout bounds one write.
const DefaultTimeout = 30 * time.Second

// Writer writes series to the storage (a *vmclient.Client).
type Writer interface {
	Write(ctx context.Context, series []vmclient.Series) error
}

// Options configure a Runner.
type Options struct {
	// Sources returns the state of the configured sources
	// (pipeline.Pipeline.Sources).
	Sources func() []sourcestate.Report
	// Exporters returns the exporters the collector knows
	// (pipeline.Pipeline.Exporters).
	Exporters func() []sourcestate.ExporterReport
	// Store receives the series.
	Store Writer
	// Instance is the collector's instance index (instance.index).
	Instance int
	// MaxLimited bounds the exporters over limits.max_exporters written
	// at once; default DefaultMaxLimited.
	MaxLimited int
	// Every is the time between writes; default
	// schema.ExporterStatusEvery.
	Every time.Duration
	// Timeout bounds one write; default DefaultTimeout.
	Timeout time.Duration
	// Now stamps the samples; default time.Now.
	Now func() time.Time
	// Logger logs failed writes; default none.
	Logger *slog.Logger
}

// Runner writes the exporter status series.
type Runner struct {
	opts Options
}

// New returns a Runner. It writes nothing.
func New(opts Options) *Runner {
	if opts.MaxLimited <= 0 {
		opts.MaxLimited = DefaultMaxLimited
	}
	if opts.Every <= 0 {
		opts.Every = schema.ExporterStatusEvery
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{opts: opts}
}

// Run writes the series every Every until ctx is done, the first time
// after one interval (the pipeline knows no exporter at its start). A
// failed write is logged, never fatal: the next one fills the gap.
func (r *Runner) Run(ctx context.Context) {
	t := time.NewTicker(r.opts.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Write(ctx); err != nil && ctx.Err() == nil {
				r.opts.Logger.Warn("exporter status: "+err.Error(), "component", "exporter_status")
			}
		}
	}
}

// Write writes the status of every exporter the collector knows now
// (Series), within Timeout.
func (r *Runner) Write(ctx context.Context) error {
	series := Series(r.opts.Sources(), r.opts.Exporters(), r.opts.Instance, r.opts.MaxLimited, r.opts.Now())
	if len(series) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	if err := r.opts.Store.Write(ctx, series); err != nil {
		return fmt.Errorf("write %d series %s: %w", len(series), schema.ExporterStatusMetric, err)
	}
	return nil
}

// Series returns the status series of the exporters at time at: one
// series per exporter and source, value 1, labelled with the exporter's
// account, region and VPC, its source, the collector's instance and its
// status (Status). An exporter of a source no longer configured is left
// out (the collector no longer collects it). At most maxLimited exporters
// over limits.max_exporters are kept, the most recently seen first (then
// by key); every other exporter is.
func Series(sources []sourcestate.Report, exporters []sourcestate.ExporterReport, instance, maxLimited int, at time.Time) []vmclient.Series {
	bySource := make(map[string]sourcestate.Status, len(sources))
	for _, s := range sources {
		bySource[s.Name] = s.Status
	}
	type row struct {
		e  sourcestate.ExporterReport
		st sourcestate.Status
	}
	var kept, limited []row
	for _, e := range exporters {
		src, ok := bySource[e.Source]
		if !ok {
			continue
		}
		st := Status(src, e.Status)
		if e.Status == sourcestate.StatusDisabledLimit {
			limited = append(limited, row{e, st})
			continue
		}
		kept = append(kept, row{e, st})
	}
	if len(limited) > maxLimited {
		slices.SortFunc(limited, func(a, b row) int {
			return cmp.Or(b.e.LastSeen.Compare(a.e.LastSeen), cmp.Compare(a.e.Account, b.e.Account), cmp.Compare(a.e.Region, b.e.Region),
				cmp.Compare(a.e.VPC, b.e.VPC), cmp.Compare(a.e.Source, b.e.Source))
		})
		limited = limited[:maxLimited]
	}
	ts := at.UnixMilli()
	inst := fmt.Sprint(instance)
	out := make([]vmclient.Series, 0, len(kept)+len(limited))
	for _, x := range append(kept, limited...) {
		out = append(out, vmclient.Series{Labels: []vmclient.Label{
			{Name: "__name__", Value: schema.ExporterStatusMetric},
			{Name: schema.LabelAccount, Value: x.e.Account},
			{Name: schema.LabelRegion, Value: x.e.Region},
			{Name: schema.LabelVPC, Value: x.e.VPC},
			{Name: schema.LabelSource, Value: x.e.Source},
			{Name: schema.LabelInstance, Value: inst},
			{Name: schema.LabelExporterStatus, Value: string(x.st)},
		}, Samples: []vmclient.Sample{{Timestamp: ts, Value: 1}}})
	}
	return out
}

// Status returns the collector's status of an exporter: disabled_limit
// when the exporter is over limits.max_exporters (exporter, the status
// pipeline.Pipeline.Exporters gives it), else its source's status (an
// unset one is enabled).
func Status(source, exporter sourcestate.Status) sourcestate.Status {
	switch {
	case exporter == sourcestate.StatusDisabledLimit:
		return sourcestate.StatusDisabledLimit
	case source == "":
		return sourcestate.StatusEnabled
	}
	return source
}
