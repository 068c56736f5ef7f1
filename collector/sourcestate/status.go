package sourcestate

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpcflow/vpcflow/collector/source"
)

// Status is the state of a source, as /metrics and /api/v1/sources show it.
type Status string

// Source states.
const (
	// StatusEnabled: the source is collected; its latest listing worked.
	StatusEnabled Status = "enabled"
	// StatusCredentials: the source could not be set up (its credentials
	// or its client could not be resolved), so there is nothing to collect
	// with; it is retried at every round.
	StatusCredentials Status = "credentials"
	// StatusUnresourced: the collector cannot keep up (a source's oldest
	// waiting object is older than overload.max_lag), and this source,
	// the most recently added one still collected, is paused so that the
	// older ones stay fresh; it is resumed once they caught up.
	StatusUnresourced Status = "unresourced"
	// StatusDisabled: the configuration turns the source off.
	StatusDisabled Status = "disabled"
	// StatusDisabledLimit: the source is over limits.max_sources, which
	// leaves out the last enabled sources of the configuration; shown
	// "disabled (limit)" (Status.Display).
	StatusDisabledLimit Status = "disabled_limit"
	// StatusError: the latest listing failed (access denied, no such
	// bucket, storage unreachable…); the error says which.
	StatusError Status = "error"
)

// Statuses lists every Status, in the order above.
var Statuses = []Status{StatusEnabled, StatusCredentials, StatusUnresourced, StatusDisabled, StatusDisabledLimit, StatusError}

// Display returns the status as people read it: "disabled (limit)" for
// StatusDisabledLimit, else the status itself (the value of the status
// label of /metrics, and of /api/v1/sources).
func (s Status) Display() string {
	if s == StatusDisabledLimit {
		return "disabled (limit)"
	}
	return string(s)
}

// Stats counts one source's work since the collector started.
type Stats struct {
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
	// OldestWaiting is the time (Unix seconds) of the oldest object
	// listed and not yet ingested: the time its key names
	// (source.KeyTime), else its modification time; 0 when none waits.
	OldestWaiting atomic.Int64

	mu         sync.Mutex
	status     Status
	err        string
	errAt      time.Time
	lastListed time.Time
}

// NewStats returns counters in the enabled state.
func NewStats() *Stats { return &Stats{status: StatusEnabled} }

// SetStatus records the source's state, and the error that caused it
// (nil when it works).
func (s *Stats) SetStatus(st Status, err error) {
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

// Report returns the counters as the Report of the named source.
func (s *Stats) Report(name string) Report {
	s.mu.Lock()
	r := Report{Name: name, Status: s.status, Error: s.err, ErrorAt: s.errAt, LastListed: s.lastListed}
	s.mu.Unlock()
	r.Listed, r.Downloaded, r.Ingested = s.Listed.Load(), s.Downloaded.Load(), s.Ingested.Load()
	r.Deleted, r.Quarantined, r.Purged = s.Deleted.Load(), s.Quarantined.Load(), s.Purged.Load()
	r.Bytes, r.Records, r.BadLines, r.Backlog = s.Bytes.Load(), s.Records.Load(), s.BadLines.Load(), s.Backlog.Load()
	if end := s.NewestEnd.Load(); end > 0 {
		r.NewestEnd = time.Unix(end, 0).UTC()
		r.Lag = max(0, time.Since(r.NewestEnd).Seconds())
	}
	if oldest := s.OldestWaiting.Load(); oldest > 0 {
		r.BacklogAge = max(0, time.Since(time.Unix(oldest, 0)).Seconds())
	}
	return r
}

// Report is a source's state at one moment (the JSON of
// /api/v1/sources).
type Report struct {
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
	// BacklogAge is how old the oldest object listed and not yet ingested
	// is, in seconds (0 when none waits): what overload.max_lag bounds.
	BacklogAge float64 `json:"backlog_age_seconds"`
	// Mode is how the source learns of its objects: ModeList (listing
	// them) or ModeNotify (S3 event notifications through SQS), with
	// Notify then counting the queue's messages.
	Mode   string              `json:"mode,omitempty"`
	Notify *source.NotifyStats `json:"notify,omitempty"`
}

// Modes of Report.Mode.
const (
	ModeList   = "list"
	ModeNotify = "notify"
)

// SetMode sets the report's Mode, and its Notify counters for a source
// fed by notifications (source.Notify).
func (r *Report) SetMode(src source.Source) {
	r.Mode = ModeList
	if n, ok := src.(*source.Notify); ok {
		st := n.Stats()
		r.Mode, r.Notify = ModeNotify, &st
	}
}

// ExporterReport is a VPC seen in the flow logs of a source, with the
// latest end of its stored records.
type ExporterReport struct {
	Source   string    `json:"source"`
	Account  string    `json:"account_id"`
	Region   string    `json:"region"`
	VPC      string    `json:"vpc_id"`
	LastSeen time.Time `json:"last_seen"`
	// Status is StatusEnabled, or StatusDisabledLimit for a VPC over
	// limits.max_exporters, whose records are dropped.
	Status Status `json:"status"`
	// Dropped counts the records dropped by limits.max_exporters since
	// the collector started.
	Dropped int64 `json:"records_dropped,omitempty"`
}

// Totals counts a role's work over all its sources since it started: the
// pipeline's, or the downloader's (which counts only Objects and
// ReadBytes).
type Totals struct {
	Batches     atomic.Int64
	Objects     atomic.Int64 // objects stored
	Records     atomic.Int64 // records of stored objects
	BadLines    atomic.Int64
	Quarantined atomic.Int64
	Deleted     atomic.Int64
	Series      atomic.Int64 // series written (each batch counts its own)
	Samples     atomic.Int64
	ReadBytes   atomic.Int64 // bytes of stored objects, as stored
	Backlog     atomic.Int64 // objects listed and waiting
	// NewestEnd is the latest record end (Unix seconds) stored so far.
	NewestEnd atomic.Int64
	// Written counts the batches the storage acknowledged (replays
	// included); Batches those committed once saved.
	Written atomic.Int64
	// LastWritten is when the storage last acknowledged a batch (Unix
	// nanoseconds; 0: never).
	LastWritten atomic.Int64
	// Unsettled counts the batches acknowledged by the storage and waiting
	// to be saved to disk before their objects are deleted.
	Unsettled atomic.Int64
	// Restarts counts the storage restarts that sent batches back for
	// replay.
	Restarts atomic.Int64
	// Flushes counts the times the storage was asked to save the waiting
	// batches at once (pipeline.Flusher) instead of waiting its save delay.
	Flushes atomic.Int64
	// Dropped counts the records left out because their VPC is over
	// limits.max_exporters.
	Dropped atomic.Int64
}
