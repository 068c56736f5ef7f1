package vmclient_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// These tests run against a real VictoriaMetrics cluster (vminsert,
// vmselect, vmstorage nodes), skipped when its binaries are absent (see
// testserver.VictoriaMetricsCluster).

// clusterClient returns a client writing through the cluster's vminsert,
// querying through its vmselect, and reading its vmstorage nodes.
func clusterClient(t *testing.T, c *testserver.Cluster) *vmclient.Client {
	t.Helper()
	return newClient(t, vmclient.Config{WriteURL: c.InsertURL(), QueryURL: c.SelectURL(), StorageNodes: c.StorageNodes()})
}

// TestClusterCheckDurability reads the /metrics of real vmstorage nodes:
// the save delay is the slowest node's; the generation stays while no node
// restarts (writes included), a node that is down fails the check naming
// it without changing the generation, and the generation rises once each
// time a node was killed or stopped and started again. vminsert is not a
// storage node.
func TestClusterCheckDurability(t *testing.T) {
	c := testserver.VictoriaMetricsClusterWith(t, testserver.ClusterOptions{
		Nodes:     2,
		NodeFlags: map[int][]string{1: {"-inmemoryDataFlushInterval=10s"}},
	})
	client := clusterClient(t, c)
	ctx := context.Background()
	check := func(what string, want uint64) {
		t.Helper()
		d, err := client.CheckDurability(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if d.Generation != want || client.Generation() != want {
			t.Fatalf("%s: generation %d (Generation() %d), want %d", what, d.Generation, client.Generation(), want)
		}
		// 2·2s + 2·10s + 4s: node 1's interval, the longer.
		if d.After != 28*time.Second {
			t.Errorf("%s: saved after %v, want 28s (the slowest node's delay)", what, d.After)
		}
	}
	check("first check", 0)
	check("no restart", 0)
	for i := range 3 {
		if err := client.Write(ctx, []vmclient.Series{series("m", map[string]string{"i": strconv.Itoa(i)}, vmclient.Sample{Timestamp: minute0, Value: 1})}); err != nil {
			t.Fatal(err)
		}
	}
	check("writes are no restart", 0)

	for i, step := range []struct {
		node int
		stop func(*testserver.StorageNode)
		what string
	}{{1, (*testserver.StorageNode).Kill, "killed"}, {0, (*testserver.StorageNode).Stop, "stopped"}, {1, (*testserver.StorageNode).Stop, "stopped"}} {
		time.Sleep(1100 * time.Millisecond) // a start time of its own
		n := c.Storage[step.node]
		step.stop(n)
		_, err := client.CheckDurability(ctx)
		if err == nil || !strings.Contains(err.Error(), "storage node "+n.URL) || !vmclient.Unreachable(err) {
			t.Errorf("node %d down: CheckDurability = %v, want an unreachable error naming %s", step.node, err, n.URL)
		}
		if g := client.Generation(); g != uint64(i) {
			t.Errorf("node %d down: generation %d, want %d (unchanged)", step.node, g, i)
		}
		n.Start()
		check(fmt.Sprintf("node %d %s and started", step.node, step.what), uint64(i+1))
		check("no restart", uint64(i+1))
	}
	if h := client.Health(); h.Restarts != 3 || !h.Up {
		t.Errorf("health %+v, want up with 3 restarts", h)
	}

	vminsert := newClient(t, vmclient.Config{WriteURL: c.InsertURL(), QueryURL: c.SelectURL(), StorageNodes: []string{c.WriteURL}})
	if _, err := vminsert.CheckDurability(ctx); err == nil || !strings.Contains(err.Error(), "not a VictoriaMetrics single node or vmstorage") {
		t.Errorf("vminsert as a storage node: CheckDurability = %v, want a refusal", err)
	}
}

// TestClusterCheckDedup checks the dedup setting of vmselect and of every
// vmstorage: one node without -dedup.minScrapeInterval=1ms is refused,
// naming that node.
func TestClusterCheckDedup(t *testing.T) {
	f := func(o testserver.ClusterOptions, want func(c *testserver.Cluster) []string) {
		t.Helper()
		c := testserver.VictoriaMetricsClusterWith(t, o)
		err := clusterClient(t, c).CheckDedup(context.Background())
		var unknown *vmclient.DedupUnknownError
		if errors.As(err, &unknown) {
			t.Errorf("CheckDedup: %v: the setting was not read", err)
		}
		if want == nil {
			if err != nil {
				t.Errorf("CheckDedup: %v", err)
			}
			return
		}
		for _, w := range want(c) {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("CheckDedup = %v, want it to say %q", err, w)
			}
		}
	}
	f(testserver.ClusterOptions{Nodes: 2}, nil)
	f(testserver.ClusterOptions{Nodes: 2, NodeFlags: map[int][]string{1: {"-dedup.minScrapeInterval=0s"}}}, func(c *testserver.Cluster) []string {
		return []string{"VictoriaMetrics at vmstorage " + c.Storage[1].URL + ": -dedup.minScrapeInterval is 0 (off): replayed batches would be counted twice"}
	})
	f(testserver.ClusterOptions{Nodes: 3, NodeFlags: map[int][]string{0: {"-dedup.minScrapeInterval=1s"}}}, func(c *testserver.Cluster) []string {
		return []string{"vmstorage " + c.Storage[0].URL + ": -dedup.minScrapeInterval is 1s: it merges samples less than 1s apart"}
	})
	f(testserver.ClusterOptions{Nodes: 2, SelectFlags: []string{"-dedup.minScrapeInterval=0s"}}, func(c *testserver.Cluster) []string {
		return []string{"vmselect " + c.QueryURL + ": -dedup.minScrapeInterval is 0 (off)"}
	})
}

// TestClusterReplayRerouted replays a batch while the vmstorage that holds
// part of it is down: vminsert sends that part to the other node, so those
// samples are stored on two nodes. vmselect's deduplication at 1 ms counts
// them once; without it they count twice (and the samples stored twice on
// one node too, until a merge deduplicates them there), which is why
// CheckDedup reads vmselect's setting too, and shows this test can fail.
func TestClusterReplayRerouted(t *testing.T) {
	const n = 200
	f := func(selectDedup string, wantDoubled bool) {
		t.Helper()
		c := testserver.VictoriaMetricsClusterWith(t, testserver.ClusterOptions{Nodes: 2, SelectFlags: []string{"-dedup.minScrapeInterval=" + selectDedup}})
		client := clusterClient(t, c)
		ctx := context.Background()
		var batch []vmclient.Series
		for i := range n {
			batch = append(batch, series("m", map[string]string{"i": strconv.Itoa(i)}, vmclient.Sample{Timestamp: minute0, Value: 1}))
		}
		if err := client.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		first := waitRows(t, c, func(rows []float64) bool { return sum(rows) == n })
		if first[0] == 0 {
			t.Fatalf("node 0 read none of the %d rows (%v): it holds no part of the batch", n, first)
		}
		c.Flush()
		c.Storage[0].Stop() // gracefully: it keeps its part
		if err := client.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		// The whole replay goes to node 1, node 0's part included.
		waitRows(t, c, func(rows []float64) bool { return rows[1] == first[1]+n })
		c.Flush()
		c.Storage[0].Start()
		got := c.Totals(t, "m")[""]
		switch {
		case !wantDoubled && got != n:
			t.Errorf("vmselect -dedup.minScrapeInterval=%s: total %v, want %d (the replay counted once)", selectDedup, got, n)
		case wantDoubled && (got < n+first[0] || got > 2*n):
			t.Errorf("vmselect -dedup.minScrapeInterval=%s: total %v, want %v to %d (node 0's part counted twice, at least)", selectDedup, got, n+first[0], 2*n)
		}
	}
	f("1ms", false)
	f("0s", true)
}

// waitRows waits up to 3 s (vminsert forwards within 200 ms, /metrics lags
// up to a second) until the rows each running vmstorage has read from
// vminsert satisfy ok, and returns them.
func waitRows(t *testing.T, c *testserver.Cluster, ok func(rows []float64) bool) []float64 {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		rows := vminsertRows(t, c)
		if ok(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nodes read %v rows from vminsert", rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// vminsertRows returns how many rows each vmstorage has read from vminsert
// since it started (its /metrics, which VictoriaMetrics renders at most
// once a second); 0 for a node that is down.
func vminsertRows(t *testing.T, c *testserver.Cluster) []float64 {
	t.Helper()
	ctx := context.Background()
	rows := make([]float64, len(c.Storage))
	for i, n := range c.Storage {
		if !n.Running() {
			continue
		}
		node := newClient(t, vmclient.Config{URL: n.URL})
		body, err := node.Get(ctx, "/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.Lines(string(body)) {
			if v, ok := strings.CutPrefix(l, "vm_vminsert_metrics_read_total "); ok {
				if rows[i], err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
					t.Fatalf("%s/metrics: %q: %v", n.URL, l, err)
				}
			}
		}
	}
	return rows
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// TestClusterSavedAfterHolds checks the save delay against a real cluster
// of two vmstorage nodes (no replication: each holds part of the series).
// A node killed with SIGKILL within a second of receiving its part from
// vminsert loses all of it, and the other node's part survives: the
// premise, which fails if vmstorage ever saves on acknowledgement. Killed
// once the delay CheckDurability gives has passed since vminsert's
// acknowledgement, at random phases of the nodes' flush timers, a node
// loses nothing.
func TestClusterSavedAfterHolds(t *testing.T) {
	c := testserver.VictoriaMetricsCluster(t, 2, "-inmemoryDataFlushInterval=2s")
	client := clusterClient(t, c)
	ctx := context.Background()
	d, err := client.CheckDurability(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.After != 12*time.Second {
		t.Fatalf("saved after %v, want 12s with -inmemoryDataFlushInterval=2s", d.After)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	const n = 500
	write := func(name string) {
		t.Helper()
		var ss []vmclient.Series
		for i := range n {
			ss = append(ss, series(name, map[string]string{"i": fmt.Sprint(i)}, vmclient.Sample{Timestamp: minute0, Value: 1}))
		}
		if err := client.Write(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	count := func(name string) float64 {
		t.Helper()
		c.Flush()
		return c.Totals(t, name)[""]
	}
	// largest returns the node that read the most rows since before.
	largest := func(before, after []float64) int {
		k := 0
		for i := range after {
			if after[i]-before[i] > after[k]-before[k] {
				k = i
			}
		}
		return k
	}

	// The premise. The nodes have read nothing yet: wait until they read
	// the n rows (vminsert forwards within 200 ms, /metrics lags up to a
	// second), then kill the one holding more, well within the 2 s a
	// sample spends in memory at the least.
	zero := make([]float64, len(c.Storage))
	write("lost")
	acked := time.Now()
	rows := vminsertRows(t, c)
	for sum(rows) < n {
		if time.Since(acked) > 1500*time.Millisecond {
			t.Fatalf("the nodes read %v of %d rows 1.5 s after vminsert acknowledged them", rows, n)
		}
		time.Sleep(20 * time.Millisecond)
		rows = vminsertRows(t, c)
	}
	k := largest(zero, rows)
	c.Storage[k].Kill()
	t.Logf("killed node %d %v after the acknowledgement; the nodes had read %v rows", k, time.Since(acked).Round(time.Millisecond), rows)
	c.Storage[k].Start()
	if got, want := count("lost"), n-rows[k]; got != want {
		t.Errorf("%v of %d series survived node %d killed right after it read its %v: want %v (its part lost, the other's kept): "+
			"vmstorage now saves on acknowledgement?", got, n, k, rows[k], want)
	}

	for i := range 2 {
		time.Sleep(time.Duration(rng.Int64N(int64(2 * time.Second)))) // another phase of the flush timers
		// A fresh reading of the counters: /metrics may lag a second.
		time.Sleep(1100 * time.Millisecond)
		before := vminsertRows(t, c)
		name := fmt.Sprintf("kept_%d", i)
		write(name)
		time.Sleep(d.After)
		after := vminsertRows(t, c)
		k := largest(before, after)
		c.Storage[k].Kill()
		c.Storage[k].Start()
		if got := count(name); got != n {
			t.Errorf("node %d killed %v after the acknowledgement, holding %v of the rows: %v of %d series survived", k, d.After, after[k]-before[k], got, n)
		}
	}
}

// TestClusterInsertRestartSeen: vminsert acknowledges a write once the rows
// are in its own memory and sends them on within 200 ms, so a vminsert
// killed at once loses them (the premise: if this part fails, vminsert
// has changed); with InsertNodes, CheckDurability sees its restart, so the
// batches it acknowledged are written again.
func TestClusterInsertRestartSeen(t *testing.T) {
	c := testserver.VictoriaMetricsCluster(t, 2)
	ctx := context.Background()
	client := newClient(t, vmclient.Config{WriteURL: c.InsertURL(), QueryURL: c.SelectURL(), StorageNodes: c.StorageNodes(),
		InsertNodes: []string{c.WriteURL}})
	if d, err := client.CheckDurability(ctx); err != nil || d.Generation != 0 {
		t.Fatalf("first check: %+v, %v", d, err)
	}
	var ss []vmclient.Series
	for i := range 500 {
		ss = append(ss, series("lost_in_vminsert", map[string]string{"i": strconv.Itoa(i)}, vmclient.Sample{Timestamp: minute0, Value: 1}))
	}
	time.Sleep(1100 * time.Millisecond) // a start time of its own for the next vminsert
	if err := client.Write(ctx, ss); err != nil {
		t.Fatal(err)
	}
	c.KillInsert()
	c.StartInsert()
	c.Flush()
	if n := c.Totals(t, "lost_in_vminsert")[""]; n == 500 {
		t.Error("every row survived a vminsert killed right after its acknowledgement: does vminsert forward before it answers now?")
	}
	if d, err := client.CheckDurability(ctx); err != nil || d.Generation != 1 {
		t.Errorf("after vminsert restarted: %+v, %v; want generation 1", d, err)
	}
	if _, err := vmclient.New(vmclient.Config{URL: c.WriteURL, InsertNodes: []string{c.WriteURL}}); err == nil {
		t.Error("InsertNodes accepted without a cluster")
	}
}
