// Package status serves the collector's own health over HTTP: Prometheus
// metrics at /metrics (per source counters, status and lag, one last-seen
// series per VPC, each VPC being an exporter of flow records), liveness
// at /healthz and the sources' state as JSON at /api/v1/sources.
package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// DefaultListen is where the status server listens unless configured: the
// loopback interface only.
const DefaultListen = "127.0.0.1:9477"

// Off, as Config.Listen, turns the status server off.
const Off = "off"

// Config is the collector configuration's server section.
type Config struct {
	// Listen is the address to serve on; default DefaultListen (loopback
	// only). Off turns the server off.
	Listen string `yaml:"listen"`
}

// DefaultConfig returns the defaults of Config.
func DefaultConfig() Config { return Config{Listen: DefaultListen} }

// Provider is what the server reports on (a *pipeline.Pipeline, or the
// downloader role's *spool.Downloader).
type Provider interface {
	Sources() []sourcestate.Report
	Exporters() []sourcestate.ExporterReport
	Stats() *sourcestate.Totals
}

// Storage is the storage client the server reports on (a
// *vmclient.Client).
type Storage interface {
	Health() vmclient.Health
	WriteURL() string
}

// StorageReport is the storage's state in /api/v1/sources.
type StorageReport struct {
	URL    string    `json:"url"`
	Status string    `json:"status"` // "ok" or "failing"
	Since  time.Time `json:"since"`
	// Error is the latest failure, while failing.
	Error          string    `json:"error,omitempty"`
	FailedAttempts uint64    `json:"failed_attempts"`
	LastSuccess    time.Time `json:"last_success,omitzero"`
	// Restarts counts the storage restarts seen; each sends the batches
	// it may have lost back to be written again.
	Restarts uint64 `json:"restarts"`
	// Unsaved counts the batches the storage acknowledged and has not yet
	// saved to disk: their objects are deleted once it has.
	Unsaved int64 `json:"batches_unsaved"`
}

// Server serves the collector's status.
type Server struct {
	p       Provider
	store   Storage
	extra   []MetricsWriter
	role    string
	version string
	began   time.Time
	stopped atomic.Bool
}

// New returns a server reporting on p; role and version label
// vpcflow_collector_info.
func New(p Provider, role, version string) *Server {
	return &Server{p: p, role: role, version: version, began: time.Now()}
}

// SetStorage adds the storage's state to /metrics, /healthz (which fails
// while the storage fails) and /api/v1/sources. Call it before serving.
func (s *Server) SetStorage(st Storage) { s.store = st }

// MetricsWriter writes more metrics for /metrics in the Prometheus text
// format (the entity sync's *entitysync.Status).
type MetricsWriter interface {
	WriteMetrics(w io.Writer)
}

// AddMetrics adds m's metrics to /metrics, after the collector's own.
// Call it before serving.
func (s *Server) AddMetrics(m MetricsWriter) { s.extra = append(s.extra, m) }

// storageReport returns the storage's state, or nil without a storage.
func (s *Server) storageReport() *StorageReport {
	if s.store == nil {
		return nil
	}
	h := s.store.Health()
	r := &StorageReport{URL: s.store.WriteURL(), Status: "ok", Since: h.Since.UTC(), FailedAttempts: h.FailedAttempts,
		LastSuccess: h.LastSuccess.UTC(), Restarts: h.Restarts, Unsaved: s.p.Stats().Unsettled.Load()}
	if !h.Up {
		r.Status, r.Error = "failing", h.LastError
	}
	return r
}

// SetStopped marks the collector's main job as ended: /healthz fails from
// then on.
func (s *Server) SetStopped() { s.stopped.Store(true) }

// Handler returns the HTTP handler of the status endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /api/v1/sources", s.sources)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "vpcflow collector: /metrics /healthz /api/v1/sources")
	})
	return mux
}

// Start serves the status endpoints as cfg says until ctx is done, and
// logs where; with Listen Off it does nothing. It returns once the
// listener is bound (or failed to bind).
func (s *Server) Start(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.Listen == Off {
		return nil
	}
	addr, err := s.ListenAndServe(ctx, cfg.Listen, log)
	if err != nil {
		return err
	}
	log.Info("status server listening", "address", addr, "endpoints", "/metrics /healthz /api/v1/sources")
	return nil
}

// ListenAndServe serves the handler on addr until ctx is done. It returns
// once the listener is bound (or failed to bind); serving goes on in the
// background. The bound address is returned (addr may have port 0).
func (s *Server) ListenAndServe(ctx context.Context, addr string, log *slog.Logger) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("status server: %w", err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status server stopped", "err", err)
		}
	}()
	return l.Addr().String(), nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	if s.stopped.Load() {
		http.Error(w, "stopped", http.StatusServiceUnavailable)
		return
	}
	if st := s.storageReport(); st != nil && st.Status != "ok" {
		http.Error(w, fmt.Sprintf("storage %s failing since %s (%d failed attempts): %s",
			st.URL, st.Since.Format(time.RFC3339), st.FailedAttempts, st.Error), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// sourcesBody is the JSON of /api/v1/sources.
type sourcesBody struct {
	Storage   *StorageReport               `json:"storage,omitempty"`
	Sources   []sourcestate.Report         `json:"sources"`
	Exporters []sourcestate.ExporterReport `json:"exporters"`
}

// sourceReports returns the sources' reports; while the storage fails, a
// source that works on its side is shown in error, with the storage's
// error: its data cannot be stored.
func (s *Server) sourceReports(st *StorageReport) []sourcestate.Report {
	out := s.p.Sources()
	if st == nil || st.Status == "ok" {
		return out
	}
	out = slices.Clone(out)
	for i := range out {
		if out[i].Status == sourcestate.StatusEnabled {
			out[i].Status = sourcestate.StatusError
			out[i].Error = fmt.Sprintf("storage %s failing: %s", st.URL, st.Error)
			out[i].ErrorAt = st.Since
		}
	}
	return out
}

func (s *Server) sources(w http.ResponseWriter, _ *http.Request) {
	st := s.storageReport()
	body := sourcesBody{Storage: st, Sources: s.sourceReports(st), Exporters: s.p.Exporters()}
	if body.Sources == nil {
		body.Sources = []sourcestate.Report{}
	}
	if body.Exporters == nil {
		body.Exporters = []sourcestate.ExporterReport{}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(body)
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	var b bytes.Buffer
	s.WriteMetrics(&b)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// WriteMetrics writes the collector's metrics in the Prometheus text format.
func (s *Server) WriteMetrics(w io.Writer) {
	metrics.WriteGaugeUint64(w, fmt.Sprintf(`vpcflow_collector_info{role=%s,version=%s}`, quote(s.role), quote(s.version)), 1)
	metrics.WriteGaugeFloat64(w, "vpcflow_collector_start_timestamp_seconds", float64(s.began.Unix()))
	st := s.p.Stats()
	metrics.WriteCounterUint64(w, "vpcflow_collector_batches_total", uint64(st.Batches.Load()))
	metrics.WriteCounterUint64(w, "vpcflow_collector_batches_written_total", uint64(st.Written.Load()))
	metrics.WriteGaugeUint64(w, "vpcflow_collector_batches_unsaved", uint64(st.Unsettled.Load()))
	storageSt := s.storageReport()
	if storageSt != nil {
		up := uint64(0)
		if storageSt.Status == "ok" {
			up = 1
		}
		metrics.WriteGaugeUint64(w, "vpcflow_collector_storage_up", up)
		metrics.WriteGaugeUint64(w, "vpcflow_collector_storage_failed_attempts", storageSt.FailedAttempts)
		metrics.WriteGaugeFloat64(w, "vpcflow_collector_storage_state_since_timestamp_seconds", float64(storageSt.Since.Unix()))
		if !storageSt.LastSuccess.IsZero() {
			metrics.WriteGaugeFloat64(w, "vpcflow_collector_storage_last_success_timestamp_seconds", float64(storageSt.LastSuccess.Unix()))
		}
		metrics.WriteCounterUint64(w, "vpcflow_collector_storage_restarts_total", storageSt.Restarts)
	}
	metrics.WriteCounterUint64(w, "vpcflow_collector_series_written_total", uint64(st.Series.Load()))
	metrics.WriteCounterUint64(w, "vpcflow_collector_samples_written_total", uint64(st.Samples.Load()))
	metrics.WriteCounterUint64(w, `vpcflow_collector_records_dropped_total{limit="max_exporters"}`, uint64(st.Dropped.Load()))

	for _, src := range s.sourceReports(storageSt) {
		l := "source=" + quote(src.Name)
		for _, c := range []struct {
			stage string
			n     int64
		}{{"listed", src.Listed}, {"downloaded", src.Downloaded}, {"ingested", src.Ingested}, {"deleted", src.Deleted},
			{"quarantined", src.Quarantined}, {"purged", src.Purged}} {
			metrics.WriteCounterUint64(w, fmt.Sprintf(`vpcflow_source_objects_total{%s,stage="%s"}`, l, c.stage), uint64(c.n))
		}
		metrics.WriteCounterUint64(w, `vpcflow_source_bytes_total{`+l+`}`, uint64(src.Bytes))
		metrics.WriteCounterUint64(w, `vpcflow_source_records_total{`+l+`}`, uint64(src.Records))
		metrics.WriteCounterUint64(w, `vpcflow_source_bad_lines_total{`+l+`}`, uint64(src.BadLines))
		metrics.WriteGaugeUint64(w, `vpcflow_source_backlog_objects{`+l+`}`, uint64(src.Backlog))
		metrics.WriteGaugeFloat64(w, `vpcflow_source_backlog_age_seconds{`+l+`}`, src.BacklogAge)
		if !src.NewestEnd.IsZero() {
			metrics.WriteGaugeFloat64(w, `vpcflow_source_lag_seconds{`+l+`}`, src.Lag)
			metrics.WriteGaugeFloat64(w, `vpcflow_source_newest_record_timestamp_seconds{`+l+`}`, float64(src.NewestEnd.Unix()))
		}
		if n := src.Notify; n != nil {
			for _, c := range []struct {
				outcome string
				n       int64
			}{{"received", n.Received}, {"deleted", n.Deleted}, {"ignored", n.Ignored}, {"poison", n.Poison}} {
				metrics.WriteCounterUint64(w, fmt.Sprintf(`vpcflow_source_notify_messages_total{%s,outcome="%s"}`, l, c.outcome), uint64(c.n))
			}
			metrics.WriteGaugeUint64(w, `vpcflow_source_notify_held_messages{`+l+`}`, uint64(n.Held))
			if n.Lag >= 0 {
				metrics.WriteGaugeUint64(w, `vpcflow_source_notify_queue_messages{`+l+`}`, uint64(n.Lag))
			}
		}
		if src.Mode != "" {
			metrics.WriteGaugeUint64(w, fmt.Sprintf(`vpcflow_source_mode{%s,mode="%s"}`, l, src.Mode), 1)
		}
		for _, status := range sourcestate.Statuses {
			v := uint64(0)
			if status == src.Status {
				v = 1
			}
			metrics.WriteGaugeUint64(w, fmt.Sprintf(`vpcflow_source_status{%s,status="%s"}`, l, status), v)
		}
	}
	for _, e := range s.p.Exporters() {
		l := fmt.Sprintf(`vpc_id=%s,account_id=%s,region=%s,source=%s`, quote(e.VPC), quote(e.Account), quote(e.Region), quote(e.Source))
		metrics.WriteGaugeFloat64(w, `vpcflow_exporter_last_seen_timestamp_seconds{`+l+`}`, float64(e.LastSeen.Unix()))
		if e.Status != "" { // the downloader role does not say
			for _, status := range []sourcestate.Status{sourcestate.StatusEnabled, sourcestate.StatusDisabledLimit} {
				v := uint64(0)
				if status == e.Status {
					v = 1
				}
				metrics.WriteGaugeUint64(w, fmt.Sprintf(`vpcflow_exporter_status{%s,status="%s"}`, l, status), v)
			}
		}
	}
	for _, m := range s.extra {
		m.WriteMetrics(w)
	}
	metrics.WriteProcessMetrics(w)
}

// quote returns a label value in the Prometheus text format's quotes.
func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
