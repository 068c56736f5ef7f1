package plugin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// These tests point the data source at a real VictoriaMetrics cluster (2
// vmstorage, vminsert, vmselect), skipped when its binaries are absent
// (see testserver.VictoriaMetricsCluster): its url is vmselect's, with the
// tenant in its own setting or in the url.

// TestClusterQueryData is TestQueryDataGroundTruth against a cluster: the
// hour of flow logs written through vminsert into tenant
// testserver.ClusterTenant, every report's frames read through vmselect
// (url vmselect's base URL, tenant set) equal the ground truth.
func TestClusterQueryData(t *testing.T) {
	c := testserver.VictoriaMetricsCluster(t, 2)
	ds := reporttest.LoadCluster(t, c, reporttest.Hour(t, 7))
	h := serve(t)
	checkQueryData(t, h, h.dataSource(map[string]any{"url": c.QueryURL, "tenant": testserver.ClusterTenant}, nil), ds)
}

// TestClusterCheckHealth checks "Save & test" against a cluster's vmselect
// with recent data in tenant 12:34 only: good with the tenant set, or
// with the url naming the tenant's Prometheus API; no data in another
// tenant; and, against a cluster whose vmselect does not deduplicate, the
// deduplication error.
func TestClusterCheckHealth(t *testing.T) {
	h := serve(t)
	c := testserver.VictoriaMetricsCluster(t, 2)
	newest := writeRecentTo(t, vmclient.Config{WriteURL: c.WriteURL, QueryURL: c.QueryURL, Tenant: "12:34", StorageNodes: c.StorageNodes()}, c.Flush, 3)
	noDedup := testserver.VictoriaMetricsClusterWith(t, testserver.ClusterOptions{SelectFlags: []string{"-dedup.minScrapeInterval=0s"}})
	writeRecentTo(t, vmclient.Config{WriteURL: noDedup.InsertURL(), QueryURL: noDedup.SelectURL(), StorageNodes: noDedup.StorageNodes()}, noDedup.Flush, 3)

	for _, tc := range []struct {
		name     string
		jsonData map[string]any
		status   backend.HealthStatus
		want     string
	}{
		{"tenant set", map[string]any{"url": c.QueryURL, "tenant": "12:34"}, backend.HealthStatusOk,
			"VictoriaMetrics at " + c.QueryURL + "/select/12:34/prometheus answers queries, deduplicates at 1ms, newest flow log data at " + newest.Format(time.RFC3339)},
		{"tenant in the url", map[string]any{"url": c.QueryURL + "/select/12:34/prometheus/"}, backend.HealthStatusOk,
			"/select/12:34/prometheus answers queries, deduplicates at 1ms, newest flow log data at " + newest.Format(time.RFC3339)},
		{"another tenant", map[string]any{"url": c.QueryURL, "tenant": "7:1"}, backend.HealthStatusError,
			"/select/7:1/prometheus answers queries, deduplicates at 1ms; warning: no flow log data in the last 24h"},
		{"vmselect without dedup", map[string]any{"url": noDedup.QueryURL, "tenant": testserver.ClusterTenant}, backend.HealthStatusError,
			"-dedup.minScrapeInterval is 0 (off)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.health(h.dataSource(tc.jsonData, nil))
			if res.Status != tc.status || !strings.Contains(res.Message, tc.want) {
				t.Errorf("status %s, message %q; want %s saying %q", res.Status, res.Message, tc.status, tc.want)
			}
		})
	}
}
