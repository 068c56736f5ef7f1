package apptest

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
)

// TestKillNine kills the collector with SIGKILL at 20 and more random
// moments while it ingests, restarting it each time, then lets it finish.
// It runs with a small top_k (3), so that folding is replayed too. After
// every kill, every object it deleted must already be stored, VPC by VPC; at
// the end every family equals an undisturbed run over the same objects
// exactly, series by series (the keep sets decided alike), and the ground
// truth (the top-K families per group and hour, and in every label set
// kept in an hour).
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("long fault test")
	}
	bin := collectorBinary(t)
	logs := t.TempDir()
	tr := groundtruth.New()
	objectBytes := map[string]float64{} // per object key: bytes of its traffic records
	objectVPC := map[string]string{}
	f, _ := flowlog.ParseFormat("v5")
	_, err := generate.Generate(generate.Config{
		Records: 80000, Seed: 11, Format: f, Start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		Duration: 2 * time.Hour, ENIs: 40, VPCs: 3,
		Observe: func(key string, r *flowlog.Record) {
			tr.Observe(r)
			if r.LogStatus == flowlog.StatusOK {
				objectBytes[key] += float64(r.Bytes)
			}
			if v, ok := r.Get(flowlog.VPCID); ok {
				objectVPC[key] = string(v)
			}
		},
	}, generate.Dir(logs))
	if err != nil {
		t.Fatal(err)
	}
	tr.Finish()
	chaos := t.TempDir()
	copyTree(t, logs, chaos)
	all := present(t, chaos)

	// The undisturbed reference run.
	ref := testserver.VictoriaMetrics(t)
	const topK = "aggregation:\n  top_k: 3\n"
	// Without the rank index, whose ranking at the end (after waiting for
	// the last samples to be searchable) would stretch the run, and with
	// it the delays before the kills below, which are meant to land while
	// it ingests. The runs killed do rank.
	took := runToEnd(t, bin, WriteConfig(t, ref.URL, logs, t.TempDir(), topK+"rank:\n  top_k: 0\n"))
	t.Logf("undisturbed run: %v", took)

	vm := testserver.VictoriaMetrics(t)
	config := WriteConfig(t, vm.URL, chaos, t.TempDir(), topK)
	rng := rand.New(rand.NewPCG(11, uint64(time.Now().UnixNano())))
	kills := 0
	for kills < 60 {
		c := startCollector(t, bin, nil, "run", "--config", config, "--once", "--log-level", "error")
		delay := time.Duration(float64(took) * (0.01 + 0.06*rng.Float64()))
		select {
		case <-c.exited:
			if c.err != nil {
				t.Fatalf("run ended with %v:\n%s", c.err, c.Log())
			}
		case <-time.After(delay):
			c.kill()
			kills++
			// Whatever is gone must already be stored, VPC by VPC (a
			// pending batch may have stored more; never less).
			gone := map[string]float64{}
			now := present(t, chaos)
			for key := range all {
				if !now[key] {
					gone[objectVPC[key]] += objectBytes[key]
				}
			}
			vm.Flush()
			stored := vm.Totals(t, "vpcflow_interface_bytes", "vpc_id")
			for vpc, g := range gone {
				if stored[vpc] < g {
					t.Fatalf("after kill %d: %s: %.0f bytes of deleted objects, only %.0f stored", kills, vpc, g, stored[vpc])
				}
			}
			continue
		}
		break // finished undisturbed
	}
	if kills < 20 {
		t.Fatalf("only %d kills before the run finished: use more data", kills)
	}
	t.Logf("%d kills", kills)
	runToEnd(t, bin, config) // nothing left to do, or the last pending batch
	if left := present(t, chaos); len(left) != 0 {
		t.Fatalf("%d objects left", len(left))
	}
	tr.Check(t, vm) // the top-K families: per group and hour, and what they keep
	ref.Flush()
	for _, def := range schema.Families() {
		for _, name := range def.MetricNames() {
			if diff := groundtruth.Compare(vm.Totals(t, name, def.Labels...), ref.Totals(t, name, def.Labels...)); diff != "" {
				t.Errorf("%s differs from the undisturbed run:\n%s", name, diff)
			}
		}
	}
}

// TestRunRefusesWrongDedup starts against a VictoriaMetrics without 1 ms
// deduplication: the collector refuses, saying what to set, and touches
// nothing.
func TestRunRefusesWrongDedup(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetricsNoDedup(t)
	logs := t.TempDir()
	f, _ := flowlog.ParseFormat("v5")
	if _, err := generate.Generate(generate.Config{Records: 100, Seed: 1, Format: f, Start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}, generate.Dir(logs)); err != nil {
		t.Fatal(err)
	}
	before := len(present(t, logs))
	cmd := exec.Command(bin, "run", "--config", WriteConfig(t, vm.URL, logs, t.TempDir(), ""), "--once")
	out, err := cmd.CombinedOutput()
	if err == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("run against a VictoriaMetrics without dedup: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "-dedup.minScrapeInterval=1ms") {
		t.Errorf("the error should say what to set:\n%s", out)
	}
	if after := len(present(t, logs)); after != before {
		t.Errorf("%d objects deleted", before-after)
	}
}

// TestStopSignalDrains sends SIGTERM to a running collector: it finishes the
// batch in flight, exits 0, and leaves no pending batch (the next run
// replays nothing and stores the rest).
func TestStopSignalDrains(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs := t.TempDir()
	tr := groundtruth.New()
	f, _ := flowlog.ParseFormat("v5")
	_, err := generate.Generate(generate.Config{Records: 40000, Seed: 12, Format: f, Start: time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC),
		Duration: time.Hour, ENIs: 30, VPCs: 3, Observe: func(_ string, r *flowlog.Record) { tr.Observe(r) }}, generate.Dir(logs))
	if err != nil {
		t.Fatal(err)
	}
	tr.Finish()
	all := len(present(t, logs))
	config := WriteConfig(t, vm.URL, logs, t.TempDir(), "")
	c := startCollector(t, bin, nil, "run", "--config", config, "--log-format", "json")
	deadline := time.Now().Add(30 * time.Second)
	for len(present(t, logs)) == all { // wait for the first deletions
		if time.Now().After(deadline) {
			t.Fatalf("nothing stored within 30s:\n%s", c.Log())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.stop(); err != nil {
		t.Fatalf("collector after SIGTERM: %v\n%s", err, c.Log())
	}
	if !strings.Contains(c.Log(), "stopping after the batch in flight") || !strings.Contains(c.Log(), "collector stopped") {
		t.Errorf("log should tell of the drain:\n%s", c.Log())
	}
	if left := len(present(t, logs)); left == 0 || left == all {
		t.Logf("%d of %d objects left after the stop (the test wants some of each)", left, all)
	}
	// Finish the job: no replay needed, totals exact.
	out, err := exec.Command(bin, "run", "--config", config, "--once", "--log-format", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "replaying pending batch") {
		t.Errorf("the stopped run left a pending batch:\n%s", out)
	}
	tr.Check(t, vm, schema.Interface, schema.Service, schema.Src, schema.Dst, schema.App, schema.Status, schema.Total)
}

func TestQuarantineCommands(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs := t.TempDir()
	bad := filepath.Join(logs, "x", "broken.log.gz")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("\x1f\x8b\x08\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	config := WriteConfig(t, vm.URL, logs, t.TempDir(), "")
	if out, err := exec.Command(bin, "run", "--config", config, "--once").CombinedOutput(); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "quarantine", "list", "--config", config).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "local\tx/broken.log.gz") || !strings.Contains(string(out), "1 quarantined") {
		t.Fatalf("quarantine list: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "quarantine", "retry", "--config", config, "x/other.log.gz").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not quarantined") {
		t.Errorf("retrying an unknown key: %v\n%s", err, out)
	}
	if out, err = exec.Command(bin, "quarantine", "retry", "--config", config, "--all").CombinedOutput(); err != nil || !strings.Contains(string(out), "1 released") {
		t.Fatalf("quarantine retry --all: %v\n%s", err, out)
	}
	if out, err = exec.Command(bin, "quarantine", "list", "--config", config).CombinedOutput(); err != nil || !strings.Contains(string(out), "0 quarantined") {
		t.Fatalf("after retry: %v\n%s", err, out)
	}
	// Released, it is tried again by the next run, and quarantined again.
	if out, err := exec.Command(bin, "run", "--config", config, "--once").CombinedOutput(); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if out, _ = exec.Command(bin, "quarantine", "list", "--config", config, "--json").CombinedOutput(); !strings.Contains(string(out), `"reason":"local:x/broken.log.gz: truncated`) {
		t.Errorf("quarantined again with its reason:\n%s", out)
	}
}
