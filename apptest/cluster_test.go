package apptest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"
)

// clusterConfig writes a collector configuration for one dir source that
// deletes what it stores, into a VictoriaMetrics cluster: vminsert's and
// vmselect's base URLs and the vmstorage nodes, without durable_after (the
// save delay is read from the nodes), and without the rank index (whose
// queries are not what these tests are about).
func clusterConfig(t *testing.T, c *testserver.Cluster, logs, extra string) string {
	t.Helper()
	return writeFile(t, "collector.yaml", fmt.Sprintf(`state_dir: %s
storage:
  write_url: %s
  query_url: %s
  storage_nodes: [%s]
%saggregation:
  top_k: 1000000
rank:
  top_k: 0
server:
  listen: 127.0.0.1:0
batch:
  max_objects: 2
  max_wait: 100ms
sources:
  - name: local
    type: dir
    path: %s
`, t.TempDir(), c.WriteURL, c.QueryURL, strings.Join(c.StorageNodes(), ", "), extra, logs))
}

// TestClusterStorageKilled is TestRunOnceThenStorageKilled against a real
// VictoriaMetrics cluster of two vmstorage nodes (no replication: each
// holds part of the series). `run --once` deletes what it ingests; a
// vmstorage is killed with SIGKILL at random moments while it runs and
// once more the moment it exits, and started again each time. Each node
// acknowledged samples it had not saved yet: a collector that deletes on
// vminsert's acknowledgement loses them; this one waits until the nodes
// saved them (their delay, read from their /metrics) with no restart seen
// meanwhile, and writes again what a restart may have lost: the totals
// read through vmselect stay exact, and every object is gone.
func TestClusterStorageKilled(t *testing.T) {
	bin := collectorBinary(t)
	c := testserver.VictoriaMetricsCluster(t, 2, "-inmemoryDataFlushInterval=2s")
	logs, tr, objects := genDir(t, 20000, 81)
	config := clusterConfig(t, c, logs, "")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d objects", seed, objects)
	rng := rand.New(rand.NewPCG(seed, 81))
	// kill kills a random vmstorage and starts it again after a moment.
	kill := func(what string) {
		t.Helper()
		n := rng.IntN(len(c.Storage))
		left := len(present(t, logs))
		c.Storage[n].Kill()
		t.Logf("%s: vmstorage %d killed, %d of %d objects left", what, n, left, objects)
		time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
		c.Storage[n].Start()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--config", config, "--once", "--log-format", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var runErr error
	kills := 0
	// The first kill within the writes (about a second), the others while
	// the written batches wait to be saved.
	delay := 100*time.Millisecond + time.Duration(rng.Int64N(int64(time.Second)))
loop:
	for kills < 3 {
		if kills > 0 {
			delay = time.Second + time.Duration(rng.Int64N(int64(3*time.Second)))
		}
		select {
		case runErr = <-exited:
			break loop
		case <-time.After(delay):
		}
		kills++
		kill(fmt.Sprintf("kill %d after %v", kills, time.Since(began).Round(time.Millisecond)))
	}
	if kills == 3 {
		runErr = <-exited
	}
	out := stderr.String()
	if ctx.Err() != nil {
		t.Fatalf("run did not end within 2 minutes:\n%s", out)
	}
	if runErr != nil {
		t.Fatalf("run: %v\n%s", runErr, out)
	}
	t.Logf("run --once took %v", time.Since(began).Round(time.Millisecond))
	// The run is over and every object deleted: a crash now must not lose
	// anything either.
	kill("right after the run")

	tr.Check(t, c)
	if n := len(present(t, logs)); n != 0 {
		t.Errorf("%d of %d objects left", n, objects)
	}
	if kills == 0 {
		t.Error("the run ended before the first kill: the data set is too small to test crashes during a run")
	} else if !strings.Contains(out, `"msg":"storage restarted: the batches it acknowledged but may not have saved are written again"`) {
		t.Errorf("%d vmstorage kills during the run, and no restart seen:\n%s", kills, out)
	}
	for _, want := range []string{`"storage_nodes":"` + strings.Join(c.StorageNodes(), " ") + `"`, `"saved_after":"12s"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log should say %s:\n%s", want, out)
		}
	}
}
