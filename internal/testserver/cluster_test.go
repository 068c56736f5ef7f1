package testserver

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/internal/tools"
)

// importInto posts JSON lines to vminsert's /api/v1/import of ClusterTenant.
func importInto(t *testing.T, c *Cluster, lines ...string) {
	t.Helper()
	resp, err := http.Post(c.WriteURL+"/insert/"+ClusterTenant+"/prometheus/api/v1/import", "application/json", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("import: %s", resp.Status)
	}
}

// nodeFlag returns the value of a flag on a node's /metrics.
func nodeFlag(t *testing.T, n *StorageNode, name string) string {
	t.Helper()
	body, err := httpGet(n.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	prefix := `flag{name="` + name + `", value="`
	for l := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			v, _, _ := strings.Cut(v, `"`)
			return v
		}
	}
	t.Fatalf("%s: no flag %s on /metrics", n.URL, name)
	return ""
}

// TestVictoriaMetricsCluster writes through vminsert and reads through
// vmselect, deduplicated; each vmstorage runs with its own flags, and
// is killed, stopped and started again on the same address and data.
func TestVictoriaMetricsCluster(t *testing.T) {
	c := VictoriaMetricsClusterWith(t, ClusterOptions{
		Nodes:        2,
		StorageFlags: []string{"-inmemoryDataFlushInterval=3s"},
		NodeFlags:    map[int][]string{1: {"-inmemoryDataFlushInterval=4s"}},
	})
	if len(c.Storage) != 2 || len(c.StorageNodes()) != 2 || c.StorageNodes()[0] == c.StorageNodes()[1] {
		t.Fatalf("storage nodes %q", c.StorageNodes())
	}
	for i, want := range []string{"3s", "4s"} {
		n := c.Storage[i]
		if n.URL != c.StorageNodes()[i] || !n.Running() {
			t.Errorf("node %d: URL %s, running %v; StorageNodes %q", i, n.URL, n.Running(), c.StorageNodes())
		}
		if got := nodeFlag(t, n, "inmemoryDataFlushInterval"); got != want {
			t.Errorf("node %d: -inmemoryDataFlushInterval=%s, want %s", i, got, want)
		}
		if got := nodeFlag(t, n, "dedup.minScrapeInterval"); got != "1ms" {
			t.Errorf("node %d: -dedup.minScrapeInterval=%s, want 1ms", i, got)
		}
	}
	if c.InsertURL() != c.WriteURL+"/insert/0/prometheus/api/v1/write" || c.SelectURL() != c.QueryURL+"/select/0/prometheus" {
		t.Errorf("InsertURL %s, SelectURL %s", c.InsertURL(), c.SelectURL())
	}

	importInto(t, c, lineA, lineB, lineA) // lineA twice: deduplicated
	c.Flush()
	if got := c.Export(t, `{__name__="m"}`); len(got) != 2 {
		t.Fatalf("export: %d series, want 2: %+v", len(got), got)
	}
	want := map[string]float64{"a|1": 3, "b|": 5}
	if got := c.Totals(t, `{__name__="m"}`, "k", "z"); !maps.Equal(got, want) {
		t.Errorf("totals = %v, want %v", got, want)
	}

	// Stopped gracefully, a node saves what it holds; vmselect answers
	// whole again once Start returns. Killed, it restarts all the same (what
	// it loses is for the storage tests to say: /internal/force_flush makes
	// samples searchable, not saved).
	for _, step := range []struct {
		node    int
		restart func(*StorageNode)
	}{{0, (*StorageNode).Stop}, {1, (*StorageNode).Stop}, {0, (*StorageNode).Kill}} {
		n := c.Storage[step.node]
		url := n.URL
		step.restart(n)
		if n.Running() {
			t.Fatalf("node %d running after it was stopped", step.node)
		}
		if _, err := http.Get(url + "/health"); err == nil {
			t.Fatalf("node %d: /health answers after it was stopped", step.node)
		}
		n.Kill() // no-op
		n.Start()
		if n.URL != url || c.StorageNodes()[step.node] != url || !n.Running() {
			t.Errorf("node %d: URL after restart %s, want %s; running %v", step.node, n.URL, url, n.Running())
		}
		if got := c.Totals(t, `{__name__="m"}`); !maps.Equal(got, map[string]float64{"": 8}) {
			t.Errorf("grand total after node %d restarted = %v, want 8", step.node, got)
		}
	}
	log, err := os.ReadFile(c.Storage[0].p.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "vpcflow launch: starting on "+strings.TrimPrefix(c.Storage[0].URL, "http://")); n != 3 {
		t.Errorf("node 0's log has our marker %d times, want once per run (3)", n)
	}
	if tail := c.Storage[0].LogTail(); !strings.Contains(tail, "vmstorage") {
		t.Errorf("node 0's log tail:\n%s", tail)
	}
}

// skipRecorder records a test's Skipf instead of skipping it.
type skipRecorder struct {
	testing.TB
	skipped string
}

func (r *skipRecorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestClusterSkipsWithoutBinaries: without the binaries' folder (and none
// unpacked before), a cluster test is skipped naming the folder, even when
// VPCFLOW_REQUIRE_SERVERS=1 turns other missing servers into failures.
func TestClusterSkipsWithoutBinaries(t *testing.T) {
	absent := t.TempDir() + "/vm-cluster"
	t.Setenv(tools.VMClusterDirEnv, absent)
	t.Setenv("VPCFLOW_CACHE", t.TempDir())
	t.Setenv(RequireServersEnv, "1")
	r := &skipRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		VictoriaMetricsCluster(r, 2)
		t.Error("VictoriaMetricsCluster returned without the binaries")
	}()
	<-done
	for _, want := range []string{"cluster binaries not found in " + absent, tools.VMClusterDirEnv, "even with " + RequireServersEnv + "=1"} {
		if !strings.Contains(r.skipped, want) {
			t.Errorf("skip message %q lacks %q", r.skipped, want)
		}
	}
}
