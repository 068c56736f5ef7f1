package apptest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"encoding/json"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
)

// scaleoutData generates flow logs of several VPCs (one flow log each) into
// a folder, with their ground truth.
func scaleoutData(t *testing.T, records, vpcs int) (string, *groundtruth.Truth) {
	t.Helper()
	logs := t.TempDir()
	tr := groundtruth.New()
	f, _ := flowlog.ParseFormat("v5")
	_, err := generate.Generate(generate.Config{
		Records: records, Seed: 23, Format: f, Start: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		Duration: 2 * time.Hour, ENIs: 60, VPCs: vpcs, Observe: func(_ string, r *flowlog.Record) { tr.Observe(r) },
	}, generate.Dir(logs))
	if err != nil {
		t.Fatal(err)
	}
	tr.Finish()
	return logs, tr
}

// instanceConfig writes the configuration of instance index of count on
// the folder logs, with its own state folder.
func instanceConfig(t *testing.T, vmURL, logs, state string, index, count int) string {
	t.Helper()
	return WriteConfig(t, vmURL, logs, state, fmt.Sprintf("aggregation:\n  top_k: 3\ninstance: {index: %d, count: %d}\n", index, count))
}

// sameFamilies fails the test unless every family of got equals want's,
// label set by label set; with byGroup, the top-K families are compared by
// their groups' totals only.
func sameFamilies(t *testing.T, got, want *testserver.VM, what string, byGroup bool) {
	t.Helper()
	got.Flush()
	want.Flush()
	for _, def := range schema.Families() {
		labels := def.Labels
		if byGroup && def.TopK {
			labels = def.Group
		}
		for _, name := range def.MetricNames() {
			if diff := groundtruth.Compare(got.Totals(t, name, labels...), want.Totals(t, name, labels...)); diff != "" {
				t.Errorf("%s: %s by %v differs from one collector's:\n%s", what, name, labels, diff)
			}
		}
	}
}

// TestTwoCollectorsSplitASource runs two collectors (instance 0 and 1 of 2,
// each with its own state folder) on one source at once, killing one of
// them with SIGKILL while it ingests and restarting it: every object is
// ingested by one of them and deleted, each flow log's objects by the same
// one, and every family equals one collector's run over the same objects,
// label set by label set (pair owners and folding included).
func TestTwoCollectorsSplitASource(t *testing.T) {
	bin := collectorBinary(t)
	logs, tr := scaleoutData(t, 60000, 6)
	split := t.TempDir()
	copyTree(t, logs, split)
	all := present(t, split)
	owners := map[int]int{}
	for key := range all {
		owners[source.Share{Count: 2}.Of(key)]++
	}
	if owners[0] == 0 || owners[1] == 0 {
		t.Fatalf("the flow logs all go to one instance (%v): choose another seed", owners)
	}

	ref := testserver.VictoriaMetrics(t)
	runToEnd(t, bin, WriteConfig(t, ref.URL, logs, t.TempDir(), "aggregation:\n  top_k: 3\n"))

	vm := testserver.VictoriaMetrics(t)
	states := []string{t.TempDir(), t.TempDir()}
	cfgs := []string{instanceConfig(t, vm.URL, split, states[0], 0, 2), instanceConfig(t, vm.URL, split, states[1], 1, 2)}
	first := startCollector(t, bin, nil, "run", "--config", cfgs[0], "--once", "--log-level", "warn")
	rng := rand.New(rand.NewPCG(5, uint64(time.Now().UnixNano())))
	for kill := range 3 {
		c := startCollector(t, bin, nil, "run", "--config", cfgs[1], "--once", "--log-level", "warn")
		select {
		case <-c.exited:
			if c.err != nil {
				t.Fatalf("instance 1: %v\n%s", c.err, c.Log())
			}
		case <-time.After(time.Duration(300+rng.IntN(1500)) * time.Millisecond):
			c.kill()
			t.Logf("instance 1 killed (%d)", kill+1)
		}
	}
	runToEnd(t, bin, cfgs[1])
	if err := first.wait(); err != nil {
		t.Fatalf("instance 0: %v\n%s", err, first.Log())
	}
	if left := present(t, split); len(left) != 0 {
		t.Fatalf("%d objects left", len(left))
	}
	sameFamilies(t, vm, ref, "two collectors", false)
	tr.Check(t, vm)
}

// TestCountChange follows docs/pipeline.md's procedure for adding
// collectors: a collector alone ingests a third of the objects; then it
// and a new one (count 2), then those and a third (count 3) ingest the
// next thirds, which fall in the same minutes (late objects), while a
// collector killed with work in flight refuses to start under another
// count until a run under its old count finished that work. Every family
// equals one collector's run over all the objects.
func TestCountChange(t *testing.T) {
	bin := collectorBinary(t)
	logs, tr := scaleoutData(t, 45000, 6)
	var keys []string
	for key := range present(t, logs) {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })

	ref := testserver.VictoriaMetrics(t)
	refLogs := t.TempDir()
	copyTree(t, logs, refLogs)
	runToEnd(t, bin, WriteConfig(t, ref.URL, refLogs, t.TempDir(), "aggregation:\n  top_k: 3\n"))

	vm := testserver.VictoriaMetrics(t)
	dir := t.TempDir()
	states := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	deliver := func(part []string) {
		t.Helper()
		for _, key := range part {
			data, err := os.ReadFile(filepath.Join(logs, key))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, key)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	third := len(keys) / 3

	// Alone.
	deliver(keys[:third])
	runToEnd(t, bin, instanceConfig(t, vm.URL, dir, states[0], 0, 1))

	// Count 2: the first keeps its state folder, the second is new. The
	// first is killed with a batch in flight: its batches' writes are
	// refused (a proxy in front of the storage answers them 503), so the
	// batch it began stays pending.
	deliver(keys[third : 2*third])
	var refused atomic.Int64
	target, _ := url.Parse(vm.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Batches only: the ping and the traces are small writes.
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "write") && r.ContentLength > 2000 {
			refused.Add(1)
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	c := startCollector(t, bin, nil, "run", "--config", instanceConfig(t, front.URL, dir, states[0], 0, 2), "--once", "--log-level", "warn")
	c.waitFor("a write refused", time.Minute, func() bool { return refused.Load() > 0 })
	c.kill()
	out, code := runCmd(t, bin, "run", "--config", instanceConfig(t, vm.URL, dir, states[0], 0, 3), "--once")
	if code != 1 || !strings.Contains(out, "instance count changed from 2 to 3") || !strings.Contains(out, "run this collector with count 2") {
		t.Fatalf("a collector with work in flight started under another count (exit %d):\n%s", code, out)
	}
	runToEnd(t, bin, instanceConfig(t, vm.URL, dir, states[0], 0, 2))
	runToEnd(t, bin, instanceConfig(t, vm.URL, dir, states[1], 1, 2))
	if left := present(t, dir); len(left) != 0 {
		t.Fatalf("count 2: %d objects left", len(left))
	}

	// Count 3.
	deliver(keys[2*third:])
	for i := range 3 {
		runToEnd(t, bin, instanceConfig(t, vm.URL, dir, states[i], i, 3))
	}
	if left := present(t, dir); len(left) != 0 {
		t.Fatalf("count 3: %d objects left", len(left))
	}
	// The keep sets of the top-K families are decided per group and hour
	// by the instance that owns the group: a group that moved to another
	// instance within an hour may keep other label sets for the rest of it
	// (docs/pipeline.md, Several collectors), so these compare by group.
	sameFamilies(t, vm, ref, "after the count changes", true)
	var exact []int
	for i, def := range schema.Families() {
		if !def.TopK {
			exact = append(exact, i)
		}
	}
	tr.Check(t, vm, exact...)
}

// TestTwoDownloaderPairs runs two pairs of processes on one source, each
// pair (a downloader and a collector, instance i of 2) with its own state
// folder and spool: the downloaders fetch every object once between them,
// each flow log by one of them, and the totals equal the ground truth.
func TestTwoDownloaderPairs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bin := collectorBinary(t)
	origin, tr := scaleoutData(t, 20000, 6)
	all := present(t, origin)
	vm := testserver.VictoriaMetrics(t)
	var downloaders, collectors []*collector
	for i := range 2 {
		state := t.TempDir()
		config := WriteConfig(t, vm.URL, origin, state, fmt.Sprintf("instance: {index: %d, count: 2}\n", i))
		collectors = append(collectors, startCollector(t, bin, nil, "run", "--config", config, "--role", "collector", "--log-level", "info", "--log-format", "json"))
		downloaders = append(downloaders, startCollector(t, bin, nil, "run", "--config", config, "--role", "downloader", "--once", "--log-level", "info", "--log-format", "json"))
	}
	fetched := 0
	for i, d := range downloaders {
		if err := d.wait(); err != nil {
			t.Fatalf("downloader %d: %v\n%s", i, err, d.Log())
		}
		n := stoppedCount(t, d.Log(), "downloader stopped")
		if n == 0 {
			t.Errorf("downloader %d fetched nothing", i)
		}
		fetched += n
	}
	if fetched != len(all) {
		t.Errorf("the downloaders fetched %d objects, want each of the %d once", fetched, len(all))
	}
	collectors[0].waitFor("the objects ingested", 2*time.Minute, func() bool { return len(present(t, origin)) == 0 })
	ingested := 0
	for i, c := range collectors {
		if err := c.stop(); err != nil {
			t.Fatalf("collector %d: %v\n%s", i, err, c.Log())
		}
		ingested += stoppedCount(t, c.Log(), "collector stopped")
	}
	if ingested != len(all) {
		t.Errorf("the collectors ingested %d objects, want %d", ingested, len(all))
	}
	tr.Check(t, vm)
}

// stoppedCount returns the objects a "... stopped" log line counts.
func stoppedCount(t *testing.T, log, msg string) int {
	t.Helper()
	for line := range strings.Lines(log) {
		if !strings.Contains(line, `"msg":"`+msg+`"`) {
			continue
		}
		var rec struct{ Objects int }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		return rec.Objects
	}
	t.Fatalf("no %q line in the log:\n%s", msg, log)
	return 0
}
