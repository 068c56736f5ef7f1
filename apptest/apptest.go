// Package apptest holds the binary-level tests of vpcflow-collector, as
// VictoriaMetrics keeps its own in apptest/: each builds the command
// once per test run (into a temporary folder removed at the end), runs it
// as a process against real servers (VictoriaMetrics, its cluster,
// versitygw, started by internal/testserver) and checks what it stored,
// deleted, logged and served, against the ground truth of generated
// flow logs. Crashes, restarts and outages of the collector and of the
// servers are tested here.
//
// The package's only non-test code is what the command's in-process
// tests (collector/cmd/vpcflow-collector) share with it: the collector
// configuration of a folder source (WriteConfig) and the report
// command's JSON output (ReportJSON).
package apptest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteConfig writes a collector configuration for one dir source (named
// local, reading logs) storing into the VictoriaMetrics at vmURL, with its
// state in state, and returns its path. Its aggregation.top_k is 1000000
// (nothing folded) unless extra sets aggregation; its status server
// listens on a free loopback port unless extra sets server. Its
// storage.durable_after is short (the storage is not crashed: the tests
// that crash it use the save delay VictoriaMetrics needs) unless extra
// gives it. extra is appended: more fields of the source (indented by
// four spaces) or sections of the configuration.
func WriteConfig(t testing.TB, vmURL, logs, state string, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "collector.yaml")
	agg := "aggregation:\n  top_k: 1000000\n"
	if strings.Contains(extra, "aggregation:") {
		agg = ""
	}
	if !strings.Contains(extra, "server:") {
		agg += "server:\n  listen: 127.0.0.1:0\n"
	}
	durable := "  durable_after: 300ms\n"
	if strings.Contains(extra, "durable_after") {
		durable = ""
	}
	cfg := fmt.Sprintf(`state_dir: %s
storage:
  url: %s
%s%sbatch:
  max_objects: 2
  max_wait: 100ms
sources:
  - name: local
    type: dir
    path: %s
%s`, state, vmURL, durable, agg, logs, extra)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ReportJSON is the report command's JSON output (--output json), read
// with its values as written.
type ReportJSON struct {
	Report string `json:"report"`
	Metric string `json:"metric"`
	From   string `json:"from"`
	To     string `json:"to"`
	Rows   []struct {
		Labels map[string]string `json:"labels"`
		Names  map[string]string `json:"names"`
		Value  json.Number       `json:"value"`
	} `json:"rows"`
}
