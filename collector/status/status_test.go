package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/entitysync"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/collector/status"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// fixed is a Provider with given reports.
type fixed struct {
	sources   []sourcestate.Report
	exporters []sourcestate.ExporterReport
	stats     sourcestate.Totals
}

func (f *fixed) Sources() []sourcestate.Report           { return f.sources }
func (f *fixed) Exporters() []sourcestate.ExporterReport { return f.exporters }
func (f *fixed) Stats() *sourcestate.Totals              { return &f.stats }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func provider() *fixed {
	seen := time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)
	p := &fixed{
		sources: []sourcestate.Report{
			{Name: "prod", Status: sourcestate.StatusEnabled, Listed: 10, Downloaded: 9, Ingested: 8, Deleted: 7, Quarantined: 1, Purged: 3,
				Bytes: 1000, Records: 500, BadLines: 2, Backlog: 1, NewestEnd: seen, Lag: 42, BacklogAge: 600},
			{Name: `odd "name" \ here`, Status: sourcestate.StatusError, Error: "access denied"},
			{Name: "new", Status: sourcestate.StatusUnresourced, Error: "collector overloaded", BacklogAge: 7200},
			{Name: "newest", Status: sourcestate.StatusDisabledLimit, Error: "disabled (limit)"},
		},
		exporters: []sourcestate.ExporterReport{
			{Source: "prod", Account: "123456789012", Region: "us-east-1", VPC: "vpc-1", LastSeen: seen, Status: sourcestate.StatusEnabled},
			{Source: "prod", Account: "123456789012", Region: "us-east-1", VPC: "vpc-2", LastSeen: seen.Add(-time.Hour), Status: sourcestate.StatusDisabledLimit, Dropped: 17},
		},
	}
	p.stats.Batches.Store(4)
	p.stats.Dropped.Store(17)
	return p
}

// TestMetricsIntoVictoriaMetrics serves /metrics and imports the page into a
// real VictoriaMetrics (its Prometheus text parser), then reads the values
// back: the format is right, label values are escaped, and every counter
// says what the provider said.
func TestMetricsIntoVictoriaMetrics(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	srv := status.New(provider(), "all", "test")
	h := srv.Handler()
	code, page := get(t, h, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, page)
	}
	// An explicit timestamp: samples stamped "now" may fall outside what
	// the export reads a moment later.
	resp, err := http.Post(vm.URL+"/api/v1/import/prometheus?timestamp=1772359500000", "text/plain", strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("import: %s %s", resp.Status, body)
	}
	vm.Flush()
	tests := []struct {
		match, group string
		want         map[string]float64
	}{
		{`vpcflow_source_objects_total{source="prod"}`, "stage", map[string]float64{"listed": 10, "downloaded": 9, "ingested": 8, "deleted": 7, "quarantined": 1, "purged": 3}},
		{`vpcflow_source_records_total`, "source", map[string]float64{"prod": 500, `odd "name" \ here`: 0, "new": 0, "newest": 0}},
		{`vpcflow_source_bad_lines_total`, "source", map[string]float64{"prod": 2, `odd "name" \ here`: 0, "new": 0, "newest": 0}},
		{`vpcflow_source_backlog_objects`, "source", map[string]float64{"prod": 1, `odd "name" \ here`: 0, "new": 0, "newest": 0}},
		{`vpcflow_source_backlog_age_seconds`, "source", map[string]float64{"prod": 600, `odd "name" \ here`: 0, "new": 7200, "newest": 0}},
		{`vpcflow_source_lag_seconds`, "source", map[string]float64{"prod": 42}},
		{`vpcflow_source_status{status="error"}`, "source", map[string]float64{"prod": 0, `odd "name" \ here`: 1, "new": 0, "newest": 0}},
		{`vpcflow_source_status{source="prod"}`, "status", map[string]float64{"enabled": 1, "credentials": 0, "unresourced": 0, "disabled": 0, "disabled_limit": 0, "error": 0}},
		{`vpcflow_source_status{status="unresourced"}`, "source", map[string]float64{"prod": 0, `odd "name" \ here`: 0, "new": 1, "newest": 0}},
		{`vpcflow_source_status{status="disabled_limit"}`, "source", map[string]float64{"prod": 0, `odd "name" \ here`: 0, "new": 0, "newest": 1}},
		{`vpcflow_exporter_status{status="disabled_limit"}`, "vpc_id", map[string]float64{"vpc-1": 0, "vpc-2": 1}},
		{`vpcflow_collector_records_dropped_total`, "limit", map[string]float64{"max_exporters": 17}},
		{`vpcflow_exporter_last_seen_timestamp_seconds`, "vpc_id", map[string]float64{"vpc-1": 1772359500, "vpc-2": 1772355900}},
		{`vpcflow_collector_batches_total`, "", map[string]float64{"": 4}},
		{`vpcflow_collector_info`, "role", map[string]float64{"all": 1}},
	}
	for _, tt := range tests {
		got := vm.Totals(t, tt.match, tt.group)
		if len(got) != len(tt.want) {
			t.Errorf("%s by %s: %v, want %v", tt.match, tt.group, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s by %s: %v, want %v", tt.match, tt.group, got, tt.want)
				break
			}
		}
	}
	if !strings.Contains(page, "process_resident_memory_bytes") {
		t.Error("no process metrics")
	}
}

func TestSourcesJSONAndHealth(t *testing.T) {
	srv := status.New(provider(), "collector", "test")
	h := srv.Handler()
	code, body := get(t, h, "/api/v1/sources")
	if code != http.StatusOK {
		t.Fatalf("/api/v1/sources: %d", code)
	}
	var got struct {
		Sources   []map[string]any `json:"sources"`
		Exporters []map[string]any `json:"exporters"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if len(got.Sources) != 4 || got.Sources[0]["status"] != "enabled" || got.Sources[0]["objects_ingested"] != 8.0 ||
		got.Sources[0]["backlog_age_seconds"] != 600.0 || got.Sources[1]["error"] != "access denied" ||
		got.Sources[2]["status"] != "unresourced" || got.Sources[2]["error"] != "collector overloaded" || got.Sources[3]["status"] != "disabled_limit" ||
		len(got.Exporters) != 2 || got.Exporters[0]["vpc_id"] != "vpc-1" || got.Exporters[0]["status"] != "enabled" ||
		got.Exporters[1]["status"] != "disabled_limit" || got.Exporters[1]["records_dropped"] != 17.0 {
		t.Errorf("sources JSON: %s", body)
	}
	if code, body := get(t, h, "/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	srv.SetStopped()
	if code, _ := get(t, h, "/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz after stop: %d, want 503", code)
	}
	if _, page := get(t, h, "/metrics"); strings.Contains(page, "vpcflow_collector_rank_") {
		t.Error("rank index metrics: the index is gone (issue 13)")
	}
	if code, _ := get(t, h, "/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing: %d, want 404", code)
	}
}

// fakeStorage is a status.Storage in a given state.
type fakeStorage struct{ h vmclient.Health }

func (f *fakeStorage) Health() vmclient.Health { return f.h }
func (f *fakeStorage) WriteURL() string        { return "http://vm:8428/api/v1/write" }

// TestStorageFailing: while the storage fails, /healthz fails naming it,
// /metrics says it is down, and /api/v1/sources shows it failing and the
// sources that work on their side in error because of it; once it works,
// all is well again.
func TestStorageFailing(t *testing.T) {
	since := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	st := &fakeStorage{h: vmclient.Health{Up: false, Since: since, LastError: "connection refused", FailedAttempts: 7, Restarts: 2}}
	p := provider()
	p.stats.Unsettled.Store(3)
	srv := status.New(p, "all", "test")
	srv.SetStorage(st)
	h := srv.Handler()

	code, body := get(t, h, "/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "storage http://vm:8428/api/v1/write failing since 2026-03-01T10:00:00Z (7 failed attempts): connection refused") {
		t.Errorf("/healthz while the storage fails: %d %q", code, body)
	}
	_, page := get(t, h, "/metrics")
	for _, want := range []string{"vpcflow_collector_storage_up 0\n", "vpcflow_collector_storage_failed_attempts 7\n",
		"vpcflow_collector_storage_restarts_total 2\n", "vpcflow_collector_batches_unsaved 3\n",
		`vpcflow_source_status{source="prod",status="error"} 1`, `vpcflow_source_status{source="prod",status="enabled"} 0`} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	_, body = get(t, h, "/api/v1/sources")
	var got struct {
		Storage struct {
			Status, Error  string
			FailedAttempts int `json:"failed_attempts"`
			Unsaved        int `json:"batches_unsaved"`
		} `json:"storage"`
		Sources []map[string]any `json:"sources"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if got.Storage.Status != "failing" || got.Storage.Error != "connection refused" || got.Storage.FailedAttempts != 7 || got.Storage.Unsaved != 3 {
		t.Errorf("storage in /api/v1/sources: %+v", got.Storage)
	}
	if got.Sources[0]["status"] != "error" || !strings.Contains(got.Sources[0]["error"].(string), "storage http://vm:8428/api/v1/write failing: connection refused") {
		t.Errorf("a working source while the storage fails: %v", got.Sources[0])
	}
	if got.Sources[1]["error"] != "access denied" {
		t.Errorf("a source failing on its side keeps its own error: %v", got.Sources[1])
	}

	st.h = vmclient.Health{Up: true, Since: since.Add(time.Hour), LastSuccess: since.Add(time.Hour)}
	if code, body := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz once the storage works: %d %q", code, body)
	}
	if _, page := get(t, h, "/metrics"); !strings.Contains(page, "vpcflow_collector_storage_up 1\n") ||
		!strings.Contains(page, `vpcflow_source_status{source="prod",status="enabled"} 1`) {
		t.Errorf("/metrics once the storage works:\n%s", page)
	}
}

// TestStart: the server listens where the configuration says and logs
// the address it bound; "off" starts nothing; an address in use fails.
func TestStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log strings.Builder
	logger := slog.New(slog.NewTextHandler(&log, nil))
	srv := status.New(provider(), "all", "test")
	if err := srv.Start(ctx, status.Config{Listen: status.Off}, logger); err != nil || log.Len() != 0 {
		t.Fatalf("off: %v, log %q", err, log.String())
	}
	if err := srv.Start(ctx, status.Config{Listen: "127.0.0.1:0"}, logger); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`msg="status server listening" address=(127\.0\.0\.1:\d+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no address in the log %q", log.String())
	}
	resp, err := http.Get("http://" + m[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}
	if err := srv.Start(ctx, status.Config{Listen: m[1]}, logger); err == nil {
		t.Errorf("%s is in use, yet Start did not fail", m[1])
	}
	if status.DefaultConfig().Listen != "127.0.0.1:9477" {
		t.Errorf("default %+v, want the loopback interface only", status.DefaultConfig())
	}
}

// TestAddMetrics: a component's metrics added to the server (the entity
// sync's) are on /metrics, after the collector's own.
func TestAddMetrics(t *testing.T) {
	srv := status.New(provider(), "all", "test")
	st := entitysync.NewStatus()
	st.Record(entitysync.Outcome{Target: entitysync.Target{Account: "123456789012", Region: "us-east-1"},
		Start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Err: errors.New("boom")})
	srv.AddMetrics(st)
	_, page := get(t, srv.Handler(), "/metrics")
	i := strings.Index(page, `vpcflow_sync_up{account_id="123456789012",region="us-east-1"} 0`+"\n")
	j := strings.Index(page, `vpcflow_sync_errors_total{account_id="123456789012",region="us-east-1",reason="other"} 1`+"\n")
	if i < 0 || j < 0 || i < strings.Index(page, "vpcflow_exporter_last_seen_timestamp_seconds") {
		t.Errorf("/metrics lacks the sync's metrics after the collector's:\n%s", page)
	}
}
