package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

type exporterKey struct{ source, account, region, vpc string }

// statsOf returns the counters of the named source, creating them.
func (p *Pipeline) statsOf(name string) *sourcestate.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.srcStats[name]
	if !ok {
		s = sourcestate.NewStats()
		p.srcStats[name] = s
	}
	return s
}

// Sources returns the state of every configured source, in configuration
// order.
func (p *Pipeline) Sources() []sourcestate.Report {
	var out []sourcestate.Report
	for _, src := range p.currentSources() {
		r := src.stats.Report(src.Name())
		switch reason, paused := p.pausedReason(src.Name()); {
		case src.Disabled:
			r.Status = sourcestate.StatusDisabled
		case src.limited:
			r.Status = sourcestate.StatusDisabledLimit
			r.Error = p.limitReason()
		case paused:
			r.Status, r.Error = sourcestate.StatusUnresourced, reason
		}
		r.Deletes, r.FirstRun = src.Delete, src.FirstRun.Mode
		r.SetMode(src.Source.Source)
		out = append(out, r)
	}
	return out
}

// Exporters returns every VPC seen so far, by source, account, region and
// VPC.
func (p *Pipeline) Exporters() []sourcestate.ExporterReport {
	p.mu.Lock()
	out := make([]sourcestate.ExporterReport, 0, len(p.exporters))
	for k, end := range p.exporters {
		st, dropped := p.exporterStatus(k.account, k.region, k.vpc)
		out = append(out, sourcestate.ExporterReport{Source: k.source, Account: k.account, Region: k.region, VPC: k.vpc, LastSeen: time.Unix(end, 0).UTC(),
			Status: st, Dropped: dropped})
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b sourcestate.ExporterReport) int {
		return strings.Compare(a.Source+"\x00"+a.Account+"\x00"+a.Region+"\x00"+a.VPC, b.Source+"\x00"+b.Account+"\x00"+b.Region+"\x00"+b.VPC)
	})
	return out
}

// sawExporters records the VPCs of a stored batch.
func (p *Pipeline) sawExporters(src string, exps []aggregate.Exporter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range exps {
		k := exporterKey{src, e.Account, e.Region, e.VPC}
		p.exporters[k] = max(p.exporters[k], e.LastSeen)
	}
}

// SetSources replaces the configured sources (a configuration reload). The
// batch in flight finishes with the old ones; the next round uses the new.
// Counters of a source that stays (by name) carry on.
func (p *Pipeline) SetSources(sources []*sourcestate.Source) {
	runs := make([]*sourceRun, len(sources))
	enabled := 0
	for i, s := range sources {
		runs[i] = &sourceRun{Source: s, stats: p.statsOf(s.Name())}
		if s.Disabled {
			continue
		}
		// Over limits.max_sources: the last enabled sources of the
		// configuration, the most recently added, are left out.
		if enabled++; p.opts.MaxSources > 0 && enabled > p.opts.MaxSources {
			runs[i].limited = true
			p.log.Warn("source disabled (limit): not collected", "source", s.Name(), "status", string(sourcestate.StatusDisabledLimit),
				"limit", "limits.max_sources", "max_sources", p.opts.MaxSources)
			runs[i].log().Warn("source disabled (limit): not collected", "source", s.Name(), "reason", p.limitReason())
		}
	}
	p.mu.Lock()
	p.sources = runs
	p.mu.Unlock()
}

// limitReason says why a source over limits.max_sources is not collected.
func (p *Pipeline) limitReason() string {
	return fmt.Sprintf("%s: limits.max_sources is %d; the enabled sources after the first %d of the configuration are not collected",
		sourcestate.StatusDisabledLimit.Display(), p.opts.MaxSources, p.opts.MaxSources)
}

func (p *Pipeline) currentSources() []*sourceRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sources)
}

// Releaser is a source whose objects, once stored, are released even when
// they are not deleted (the spool: its copy goes, the original stays).
type Releaser interface {
	Release(ctx context.Context, o source.Object) error
}

// discard is a logger that drops everything: the source log of a source
// without one.
var discard = slog.New(slog.DiscardHandler)
