package entitysync

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/vpcflow/vpcflow/collector/awssync"
)

// Kinds are the kinds of entities a sync counts, in the order of the
// vpcflow_sync_entities series.
var Kinds = []awssync.Kind{awssync.KindVPC, awssync.KindSubnet, awssync.KindInterface, awssync.KindInstance, awssync.KindAZ}

// TargetStatus is what the syncs of one account·region did so far.
type TargetStatus struct {
	Account, Region string
	// Up is true when the latest sync succeeded; Since is when the
	// latest change between success and failure (or the first sync)
	// ended.
	Up    bool
	Since time.Time
	// LastSuccess and LastAttempt are when the latest successful sync and
	// the latest sync ended (LastSuccess zero before the first success);
	// Duration is how long the latest took.
	LastSuccess, LastAttempt time.Time
	Duration                 time.Duration
	// Entities counts the entities of each kind the latest sync that wrote
	// found.
	Entities map[awssync.Kind]int
	// Runs counts the syncs; Errors the failed ones by reason (Reasons).
	Runs   uint64
	Errors map[string]uint64
	// LastError is the latest failure's message, "" while up.
	LastError string
}

// Status keeps the outcome of every account·region's syncs. It is safe
// for concurrent use.
type Status struct {
	mu      sync.Mutex
	targets map[[2]string]*TargetStatus
}

// NewStatus returns an empty Status.
func NewStatus() *Status { return &Status{targets: map[[2]string]*TargetStatus{}} }

// Record adds a sync's outcome.
func (s *Status) Record(o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{o.Target.Account, o.Target.Region}
	st, ok := s.targets[k]
	end := o.Start.Add(o.Duration)
	switch {
	case !ok:
		st = &TargetStatus{Account: k[0], Region: k[1], Up: o.OK(), Since: end, Entities: map[awssync.Kind]int{}, Errors: map[string]uint64{}}
		s.targets[k] = st
	case st.Up != o.OK():
		st.Up, st.Since = o.OK(), end
	}
	st.LastAttempt, st.Duration = end, o.Duration
	st.Runs++
	if o.OK() {
		st.LastSuccess, st.LastError = end, ""
	} else {
		st.Errors[o.Reason()]++
		st.LastError = o.Err.Error()
	}
	if o.OK() || o.Series > 0 {
		st.Entities = map[awssync.Kind]int{awssync.KindVPC: len(o.Result.VPCs), awssync.KindSubnet: len(o.Result.Subnets),
			awssync.KindInterface: len(o.Result.Interfaces), awssync.KindInstance: len(o.Result.Instances), awssync.KindAZ: len(o.Result.AZs)}
	}
}

// target returns a copy of an account·region's status.
func (s *Status) target(account, region string) (TargetStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.targets[[2]string{account, region}]
	if !ok {
		return TargetStatus{}, false
	}
	return st.clone(), true
}

func (st *TargetStatus) clone() TargetStatus {
	c := *st
	c.Entities = make(map[awssync.Kind]int, len(st.Entities))
	for k, v := range st.Entities {
		c.Entities[k] = v
	}
	c.Errors = make(map[string]uint64, len(st.Errors))
	for k, v := range st.Errors {
		c.Errors[k] = v
	}
	return c
}

// Targets returns the status of every account·region synced so far,
// sorted by account and region.
func (s *Status) Targets() []TargetStatus {
	s.mu.Lock()
	out := make([]TargetStatus, 0, len(s.targets))
	for _, st := range s.targets {
		out = append(out, st.clone())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b TargetStatus) int {
		return strings.Compare(a.Account+"/"+a.Region, b.Account+"/"+b.Region)
	})
	return out
}

// The metrics WriteMetrics writes, each labelled with account_id and
// region.
const (
	MetricUp          = "vpcflow_sync_up"
	MetricStateSince  = "vpcflow_sync_state_since_timestamp_seconds"
	MetricLastSuccess = "vpcflow_sync_last_success_timestamp_seconds"
	MetricLastAttempt = "vpcflow_sync_last_attempt_timestamp_seconds"
	MetricDuration    = "vpcflow_sync_last_duration_seconds"
	MetricEntities    = "vpcflow_sync_entities"     // and entity_type
	MetricRuns        = "vpcflow_sync_runs_total"   //
	MetricErrors      = "vpcflow_sync_errors_total" // and reason
)

// WriteMetrics writes, in the Prometheus text format, per account·region
// synced so far: vpcflow_sync_up (1 when its latest sync succeeded, 0
// when it failed), vpcflow_sync_state_since_timestamp_seconds (when it
// last went up or down), vpcflow_sync_last_success_timestamp_seconds
// (after a success), vpcflow_sync_last_attempt_timestamp_seconds,
// vpcflow_sync_last_duration_seconds, vpcflow_sync_entities{entity_type}
// (what its latest written sync found), vpcflow_sync_runs_total and
// vpcflow_sync_errors_total{reason} (every reason of Reasons, 0 included).
func (s *Status) WriteMetrics(w io.Writer) {
	for _, st := range s.Targets() {
		l := fmt.Sprintf(`account_id=%q,region=%q`, st.Account, st.Region) // both checked shapes: no quoting needed
		up := uint64(0)
		if st.Up {
			up = 1
		}
		metrics.WriteGaugeUint64(w, MetricUp+"{"+l+"}", up)
		metrics.WriteGaugeFloat64(w, MetricStateSince+"{"+l+"}", unix(st.Since))
		if !st.LastSuccess.IsZero() {
			metrics.WriteGaugeFloat64(w, MetricLastSuccess+"{"+l+"}", unix(st.LastSuccess))
		}
		metrics.WriteGaugeFloat64(w, MetricLastAttempt+"{"+l+"}", unix(st.LastAttempt))
		metrics.WriteGaugeFloat64(w, MetricDuration+"{"+l+"}", st.Duration.Seconds())
		for _, k := range Kinds {
			metrics.WriteGaugeUint64(w, fmt.Sprintf(`%s{%s,entity_type=%q}`, MetricEntities, l, k), uint64(st.Entities[k]))
		}
		metrics.WriteCounterUint64(w, MetricRuns+"{"+l+"}", st.Runs)
		for _, reason := range Reasons {
			metrics.WriteCounterUint64(w, fmt.Sprintf(`%s{%s,reason=%q}`, MetricErrors, l, reason), st.Errors[reason])
		}
	}
}

// unix returns t in seconds since the epoch, milliseconds kept.
func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
