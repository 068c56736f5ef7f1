package plugin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// writeRecent writes one status sample in the minute ago minutes back, so
// that the health check finds recent data.
func writeRecent(t *testing.T, vm *testserver.VM, ago int) time.Time {
	t.Helper()
	return writeRecentTo(t, vmclient.Config{URL: vm.URL}, vm.Flush, ago)
}

// writeRecentTo is writeRecent through a client of cfg (a cluster's
// vminsert), flushing with flush.
func writeRecentTo(t *testing.T, cfg vmclient.Config, flush func(), ago int) time.Time {
	t.Helper()
	minute := time.Now().UTC().Truncate(time.Minute).Add(-time.Duration(ago) * time.Minute)
	reporttest.WriteTo(t, cfg, reporttest.Series("vpcflow_status_records", schema.Status, map[string]string{"log_status": "OK"},
		vmclient.Sample{Timestamp: minute.UnixMilli() + 59999, Value: 1}))
	flush()
	return minute
}

// authProxy forwards the requests ok accepts to VictoriaMetrics and
// answers the others 401.
func authProxy(t *testing.T, vmURL string, ok func(*http.Request) bool) string {
	t.Helper()
	target, err := url.Parse(vmURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ok(r) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCheckHealth checks "Save & test" against a good VictoriaMetrics with
// recent data, with basic auth, and its failures: no data, stale data (a
// warning), no deduplication, storage down, wrong credentials, invalid
// settings. TestClusterCheckHealth checks it against a cluster's vmselect.
func TestCheckHealth(t *testing.T) {
	h := serve(t)
	good := testserver.VictoriaMetrics(t)
	newest := writeRecent(t, good, 3)
	stale := testserver.VictoriaMetrics(t)
	writeRecent(t, stale, 90)
	empty := testserver.VictoriaMetrics(t)
	noDedup := testserver.VictoriaMetricsNoDedup(t)
	writeRecent(t, noDedup, 3)
	// VictoriaMetrics' own basic auth (which also guards the flush the
	// test would need to write to it), and a proxy checking it in front of
	// the good one.
	auth := testserver.VictoriaMetrics(t, "-httpAuth.username=grafana", "-httpAuth.password=right-pass")
	basic := authProxy(t, good.URL, func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "grafana" && p == "right-pass"
	})
	down := testserver.VictoriaMetrics(t)
	down.Stop()

	for _, c := range []struct {
		name     string
		jsonData map[string]any
		secure   map[string]string
		status   backend.HealthStatus
		want     []string
	}{
		{"good", map[string]any{"url": good.URL}, nil, backend.HealthStatusOk,
			[]string{"VictoriaMetrics at " + good.URL + " answers queries, deduplicates at 1ms, newest flow log data at " + newest.Format(time.RFC3339)}},
		{"basic auth", map[string]any{"url": basic, "authType": "basic", "basicAuthUser": "grafana"}, map[string]string{"basicAuthPassword": "right-pass"},
			backend.HealthStatusOk, []string{"answers queries, deduplicates at 1ms, newest flow log data"}},
		{"stale data", map[string]any{"url": stale.URL}, nil, backend.HealthStatusOk,
			[]string{"answers queries", "warning: the newest flow log data is 1h3", "is the collector running?"}},
		{"no data", map[string]any{"url": empty.URL}, nil, backend.HealthStatusError,
			[]string{"VictoriaMetrics at " + empty.URL + " answers queries, deduplicates at 1ms; warning: no flow log data in the last 24h: is the collector running and writing here?"}},
		{"no dedup", map[string]any{"url": noDedup.URL}, nil, backend.HealthStatusError,
			[]string{"-dedup.minScrapeInterval is 0 (off)"}},
		{"storage down", map[string]any{"url": down.URL}, nil, backend.HealthStatusError,
			[]string{"cannot reach VictoriaMetrics at " + down.URL, "connection refused"}},
		{"wrong password", map[string]any{"url": auth.URL, "authType": "basic", "basicAuthUser": "grafana"}, map[string]string{"basicAuthPassword": "wrong-pass"},
			backend.HealthStatusError, []string{"VictoriaMetrics at " + auth.URL + " refused the credentials", "HTTP 401"}},
		{"no password", map[string]any{"url": auth.URL}, nil, backend.HealthStatusError, []string{"refused the credentials"}},
		{"invalid settings", map[string]any{"url": "http://vm:8428", "authType": "bearer"}, nil, backend.HealthStatusError,
			[]string{"data source settings: bearer token authentication needs a token"}},
		{"no URL", map[string]any{}, nil, backend.HealthStatusError, []string{"the VictoriaMetrics URL is empty"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := h.health(h.dataSource(c.jsonData, c.secure))
			if res.Status != c.status {
				t.Errorf("status %s, want %s: %s", res.Status, c.status, res.Message)
			}
			for _, w := range c.want {
				if !strings.Contains(res.Message, w) {
					t.Errorf("message %q does not say %q", res.Message, w)
				}
			}
			var det plugin.HealthDetails
			if err := json.Unmarshal(res.JSONDetails, &det); err != nil {
				t.Fatalf("details %s: %v", res.JSONDetails, err)
			}
			if res.Status == backend.HealthStatusOk && (!det.Reachable || det.Dedup != "1ms" || det.Newest == nil || det.AgeSeconds < 60) {
				t.Errorf("details of a good check: %s", res.JSONDetails)
			}
			if res.Status == backend.HealthStatusError && det.VerboseMessage == "" {
				t.Errorf("details of a failed check say nothing: %s", res.JSONDetails)
			}
			for _, secret := range []string{"right-pass", "wrong-pass"} {
				if strings.Contains(res.Message, secret) || strings.Contains(string(res.JSONDetails), secret) {
					t.Errorf("the result shows a password: %s %s", res.Message, res.JSONDetails)
				}
			}
		})
	}
}
