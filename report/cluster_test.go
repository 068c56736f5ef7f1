package report_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/vmclient"
)

// These tests run the report engine against a real VictoriaMetrics cluster
// (2 vmstorage, vminsert, vmselect), skipped when its binaries are absent
// (see testserver.VictoriaMetricsCluster): the datasets of the single-node
// ground-truth tests are written through vminsert, and read through
// vmselect, which merges the series the two nodes hold.

// clusterWriter is the client configuration that writes into the
// cluster's tenant testserver.ClusterTenant through vminsert.
func clusterWriter(c *testserver.Cluster) vmclient.Config {
	return vmclient.Config{WriteURL: c.InsertURL(), QueryURL: c.SelectURL(), StorageNodes: c.StorageNodes()}
}

// rowsAdded returns the rows a vmstorage node stored
// (vm_rows_added_to_storage_total in its /metrics).
func rowsAdded(t *testing.T, node string) int {
	t.Helper()
	resp, err := http.Get(node + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "vm_rows_added_to_storage_total "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s/metrics: %q: %v", node, l, err)
			}
			return n
		}
	}
	t.Fatalf("%s/metrics: no vm_rows_added_to_storage_total", node)
	return 0
}

// TestClusterReports is TestReports against a cluster: the hour of flow
// logs written through vminsert (each vmstorage holding part of it),
// every report read through vmselect's Prometheus API of the tenant
// equals the ground truth, as against a single node (checkReports). The
// engine asks vmselect only for its tenant's /select/0/prometheus/api/v1
// paths and its /flags; its health is good; an engine on another tenant
// (7:1) finds none of the data.
func TestClusterReports(t *testing.T) {
	c := testserver.VictoriaMetricsCluster(t, 2)
	opts := reporttest.Hour(t, 11)
	opts.PerMinute = true
	ds := reporttest.LoadCluster(t, c, opts)
	for _, n := range c.StorageNodes() {
		if rows := rowsAdded(t, n); rows == 0 {
			t.Fatalf("vmstorage %s stored no rows: the data is not spread over the nodes", n)
		}
	}
	e, tr := newEngine(t, vmclient.Config{URL: c.SelectURL()})
	ctx := context.Background()
	if h := e.Health(ctx); !h.OK || h.Dedup != "1ms" {
		t.Errorf("health through vmselect: %+v", h)
	}
	checkReports(t, e, tr, ds)
	tr.mu.Lock()
	paths := tr.paths
	tr.mu.Unlock()
	for _, p := range paths {
		if p != "/flags" && !strings.HasPrefix(p, "/select/"+testserver.ClusterTenant+"/prometheus/api/v1/") {
			t.Errorf("asked vmselect for %s", p)
		}
	}

	other, _ := newEngine(t, vmclient.Config{URL: c.QueryURL + "/select/7:1/prometheus"})
	for _, id := range []string{report.ReportAction, report.ReportInterface} {
		res, err := other.Table(ctx, report.Query{Report: id}, ds.From, ds.To)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 0 || res.Total != 0 {
			t.Errorf("%s in tenant 7:1: %d rows, total %v; want nothing", id, len(res.Rows), res.Total)
		}
	}
}

// TestClusterNames is TestNamesGroundTruth against a cluster: the flow
// logs and the entity syncs (vpcflow_entity_info) written through
// vminsert, the names joined through vmselect.
func TestClusterNames(t *testing.T) {
	c := testserver.VictoriaMetricsCluster(t, 2)
	ds := reporttest.LoadCluster(t, c, reporttest.Hour(t, 23))
	e, _ := newEngine(t, vmclient.Config{URL: c.SelectURL()})
	checkNamesGroundTruth(t, e, ds, func(syncs ...entitySync) { writeSyncsTo(t, clusterWriter(c), c.Flush, syncs...) })
}

// TestClusterFilterByName is TestFilterByNameGroundTruth against a
// cluster: filters by name resolved from the entity info written through
// vminsert and read through vmselect.
func TestClusterFilterByName(t *testing.T) {
	c := testserver.VictoriaMetricsCluster(t, 2)
	ds := reporttest.LoadCluster(t, c, reporttest.Hour(t, 37))
	e, _ := newEngine(t, vmclient.Config{URL: c.SelectURL()})
	checkFilterByName(t, e, ds, func(syncs ...entitySync) { writeSyncsTo(t, clusterWriter(c), c.Flush, syncs...) })
}
