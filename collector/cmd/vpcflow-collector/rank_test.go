package main

import (
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/apptest"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// TestRunIgnoresRank runs `run --once` with the rank section of the removed
// rank index in its configuration (as files written for earlier versions
// have it): the run loads it, warns once that it is ignored, stores the
// flow logs and writes no index.
func TestRunIgnoresRank(t *testing.T) {
	f, _ := flowlog.ParseFormat("v5")
	gen := generate.Config{Records: 2000, Seed: 21, Format: f, Start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Duration: 20 * time.Minute, ENIs: 6, VPCs: 2}
	logs := t.TempDir()
	if _, err := generate.Generate(gen, generate.Dir(logs)); err != nil {
		t.Fatal(err)
	}
	vm := testserver.VictoriaMetrics(t)
	config := apptest.WriteConfig(t, vm.URL, logs, t.TempDir(), "rank:\n  top_k: 2\n  interval: 1m\n  lookback: 2h\n")
	_, stderr, code := runCLI(t, "run", "--config", config, "--once", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("run --once: exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stderr, "rank section is ignored"); n != 1 {
		t.Errorf("the warning about the rank section %d times, want once:\n%s", n, stderr)
	}
	vm.Flush()
	if index := vm.Export(t, `{__name__=~"vpcflow_rank_.*"}`); len(index) != 0 {
		t.Errorf("%d rank index series written", len(index))
	}
	if got := vm.Totals(t, "vpcflow_status_records"); got[""] != 2000 {
		t.Errorf("%v records stored, want 2000", got)
	}
}
