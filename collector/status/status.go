// Package status serves the collector's own health over HTTP: Prometheus
// metrics at /metrics (per source counters, status and lag, one last-seen
// series per VPC, each VPC being an exporter of flow records, and the rank
// index's counters),
// liveness at /healthz and the sources' state as JSON at /api/v1/sources.
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
	"strings"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/rank"
)

// DefaultListen is where the status server listens unless configured: the
// loopback interface only.
const DefaultListen = "127.0.0.1:9477"

// Provider is what the server reports on (a *pipeline.Pipeline).
type Provider interface {
	Sources() []pipeline.SourceReport
	Exporters() []pipeline.ExporterReport
	Stats() *pipeline.Stats
}

// Ranker is the rank index's maintainer the server reports on (a
// *rank.Ranker).
type Ranker interface {
	Stats() rank.Stats
}

// Server serves the collector's status.
type Server struct {
	p       Provider
	rank    Ranker
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

// SetRanker adds the rank index's counters (vpcflow_collector_rank_*) to
// /metrics. Call it before serving.
func (s *Server) SetRanker(r Ranker) { s.rank = r }

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
	fmt.Fprintln(w, "ok")
}

// sourcesBody is the JSON of /api/v1/sources.
type sourcesBody struct {
	Sources   []pipeline.SourceReport   `json:"sources"`
	Exporters []pipeline.ExporterReport `json:"exporters"`
}

func (s *Server) sources(w http.ResponseWriter, _ *http.Request) {
	body := sourcesBody{Sources: s.p.Sources(), Exporters: s.p.Exporters()}
	if body.Sources == nil {
		body.Sources = []pipeline.SourceReport{}
	}
	if body.Exporters == nil {
		body.Exporters = []pipeline.ExporterReport{}
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
	metrics.WriteCounterUint64(w, "vpcflow_collector_series_written_total", uint64(st.Series.Load()))
	metrics.WriteCounterUint64(w, "vpcflow_collector_samples_written_total", uint64(st.Samples.Load()))
	if s.rank != nil {
		rs := s.rank.Stats()
		metrics.WriteCounterUint64(w, "vpcflow_collector_rank_hours_total", rs.HoursRanked)
		metrics.WriteCounterUint64(w, "vpcflow_collector_rank_errors_total", rs.Errors)
		metrics.WriteCounterUint64(w, "vpcflow_collector_rank_rows_written_total", rs.RowsWritten)
		metrics.WriteGaugeUint64(w, "vpcflow_collector_rank_dirty_hours", uint64(rs.DirtyHours))
		metrics.WriteGaugeFloat64(w, "vpcflow_collector_rank_last_hour_duration_seconds", rs.LastHourDuration.Seconds())
	}

	for _, src := range s.p.Sources() {
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
		if !src.NewestEnd.IsZero() {
			metrics.WriteGaugeFloat64(w, `vpcflow_source_lag_seconds{`+l+`}`, src.Lag)
			metrics.WriteGaugeFloat64(w, `vpcflow_source_newest_record_timestamp_seconds{`+l+`}`, float64(src.NewestEnd.Unix()))
		}
		for _, status := range pipeline.Statuses {
			v := uint64(0)
			if status == src.Status {
				v = 1
			}
			metrics.WriteGaugeUint64(w, fmt.Sprintf(`vpcflow_source_status{%s,status="%s"}`, l, status), v)
		}
	}
	for _, e := range s.p.Exporters() {
		metrics.WriteGaugeFloat64(w, fmt.Sprintf(`vpcflow_exporter_last_seen_timestamp_seconds{vpc_id=%s,account_id=%s,region=%s,source=%s}`,
			quote(e.VPC), quote(e.Account), quote(e.Region), quote(e.Source)), float64(e.LastSeen.Unix()))
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
