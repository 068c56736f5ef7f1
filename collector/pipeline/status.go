package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/source"
)

// Status is the state of a source, as /metrics and /api/v1/sources show it.
type Status string

// Source states.
const (
	// StatusEnabled: the source is collected; its latest listing worked.
	StatusEnabled Status = "enabled"
	// StatusUnresourced: the source could not be set up (its credentials
	// or its client could not be resolved), so there is nothing to collect
	// with; it is retried at every round.
	StatusUnresourced Status = "unresourced"
	// StatusDisabled: the configuration turns the source off.
	StatusDisabled Status = "disabled"
	// StatusError: the latest listing failed (access denied, no such
	// bucket, storage unreachable…); the error says which.
	StatusError Status = "error"
)

// Statuses lists every Status, in the order above.
var Statuses = []Status{StatusEnabled, StatusUnresourced, StatusDisabled, StatusError}

// SourceStats counts one source's work since the collector started.
type SourceStats struct {
	Listed      atomic.Int64 // objects seen by listings that were new
	Downloaded  atomic.Int64 // objects read to their end
	Ingested    atomic.Int64 // objects whose data is stored
	Deleted     atomic.Int64 // objects deleted after ingest
	Quarantined atomic.Int64
	Purged      atomic.Int64 // objects deleted unread by the first run's purge
	Bytes       atomic.Int64 // stored size of the ingested objects
	Records     atomic.Int64 // records of the ingested objects
	BadLines    atomic.Int64
	Backlog     atomic.Int64 // objects listed and not yet ingested
	NewestEnd   atomic.Int64 // latest record end stored (Unix seconds)

	mu         sync.Mutex
	status     Status
	err        string
	errAt      time.Time
	lastListed time.Time
}

// SetStatus records the source's state, and the error that caused it
// (nil when it works).
func (s *SourceStats) SetStatus(st Status, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = st
	if err != nil {
		s.err, s.errAt = err.Error(), time.Now()
	} else if st == StatusEnabled {
		s.err = ""
		s.lastListed = time.Now()
	}
}

// SourceReport is a source's state at one moment (the JSON of
// /api/v1/sources).
type SourceReport struct {
	Name        string    `json:"name"`
	Status      Status    `json:"status"`
	Error       string    `json:"error,omitempty"`
	ErrorAt     time.Time `json:"error_at,omitzero"`
	LastListed  time.Time `json:"last_listed,omitzero"`
	Deletes     bool      `json:"delete_after_ingest"`
	FirstRun    string    `json:"on_first_run,omitempty"`
	Listed      int64     `json:"objects_listed"`
	Downloaded  int64     `json:"objects_downloaded"`
	Ingested    int64     `json:"objects_ingested"`
	Deleted     int64     `json:"objects_deleted"`
	Quarantined int64     `json:"objects_quarantined"`
	Purged      int64     `json:"objects_purged"`
	Bytes       int64     `json:"bytes"`
	Records     int64     `json:"records"`
	BadLines    int64     `json:"bad_lines"`
	Backlog     int64     `json:"backlog"`
	// NewestEnd is the latest record end stored; Lag is now minus it, in
	// seconds (0 before anything was stored).
	NewestEnd time.Time `json:"newest_record_end,omitzero"`
	Lag       float64   `json:"lag_seconds"`
}

// ExporterReport is a VPC seen in the flow logs of a source, with the
// latest end of its stored records.
type ExporterReport struct {
	Source   string    `json:"source"`
	Account  string    `json:"account_id"`
	Region   string    `json:"region"`
	VPC      string    `json:"vpc_id"`
	LastSeen time.Time `json:"last_seen"`
}

type exporterKey struct{ source, account, region, vpc string }

// statsOf returns the counters of the named source, creating them.
func (p *Pipeline) statsOf(name string) *SourceStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.srcStats[name]
	if !ok {
		s = NewSourceStats()
		p.srcStats[name] = s
	}
	return s
}

// Report returns the counters as a SourceReport of the named source.
func (s *SourceStats) Report(name string) SourceReport {
	s.mu.Lock()
	r := SourceReport{Name: name, Status: s.status, Error: s.err, ErrorAt: s.errAt, LastListed: s.lastListed}
	s.mu.Unlock()
	r.Listed, r.Downloaded, r.Ingested = s.Listed.Load(), s.Downloaded.Load(), s.Ingested.Load()
	r.Deleted, r.Quarantined, r.Purged = s.Deleted.Load(), s.Quarantined.Load(), s.Purged.Load()
	r.Bytes, r.Records, r.BadLines, r.Backlog = s.Bytes.Load(), s.Records.Load(), s.BadLines.Load(), s.Backlog.Load()
	if end := s.NewestEnd.Load(); end > 0 {
		r.NewestEnd = time.Unix(end, 0).UTC()
		r.Lag = max(0, time.Since(r.NewestEnd).Seconds())
	}
	return r
}

// NewSourceStats returns counters in the enabled state.
func NewSourceStats() *SourceStats { return &SourceStats{status: StatusEnabled} }

// Sources returns the state of every configured source, in configuration
// order.
func (p *Pipeline) Sources() []SourceReport {
	var out []SourceReport
	for _, src := range p.currentSources() {
		r := src.stats.Report(src.Name())
		if src.Disabled {
			r.Status = StatusDisabled
		}
		r.Deletes, r.FirstRun = src.Delete, src.FirstRun.Mode
		out = append(out, r)
	}
	return out
}

// Exporters returns every VPC seen so far, by source, account, region and
// VPC.
func (p *Pipeline) Exporters() []ExporterReport {
	p.mu.Lock()
	out := make([]ExporterReport, 0, len(p.exporters))
	for k, end := range p.exporters {
		out = append(out, ExporterReport{Source: k.source, Account: k.account, Region: k.region, VPC: k.vpc, LastSeen: time.Unix(end, 0).UTC()})
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b ExporterReport) int {
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
func (p *Pipeline) SetSources(sources []*Source) {
	for _, s := range sources {
		s.stats = p.statsOf(s.Name())
	}
	p.mu.Lock()
	p.sources = sources
	p.mu.Unlock()
}

func (p *Pipeline) currentSources() []*Source {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sources)
}

// Releaser is a source whose objects, once stored, are released even when
// they are not deleted (the spool: its copy goes, the original stays).
type Releaser interface {
	Release(ctx context.Context, o source.Object) error
}

// ErrUnresourced marks the error of a source that could not be set up.
var ErrUnresourced = errors.New("source not set up")

// Unresourced returns a source standing for one that could not be set up
// because of err (credentials that do not resolve, say): its listings fail
// with err, and its status is StatusUnresourced.
func Unresourced(name string, err error) source.Source { return unresourced{name, err} }

type unresourced struct {
	name string
	err  error
}

func (u unresourced) Name() string { return u.name }
func (u unresourced) List(context.Context) ([]source.Object, error) {
	return nil, fmt.Errorf("%w: %w", ErrUnresourced, u.err)
}
func (u unresourced) Open(context.Context, source.Object) (io.ReadCloser, error) {
	return nil, fmt.Errorf("%w: %w", ErrUnresourced, u.err)
}
func (u unresourced) Delete(context.Context, source.Object) error {
	return fmt.Errorf("%w: %w", ErrUnresourced, u.err)
}

// discard is a logger that drops everything: the source log of a source
// without one.
var discard = slog.New(slog.DiscardHandler)
