package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/apptest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
)

// TestRunOnceWritesExporterStatus: `run --once` with limits.max_exporters
// 1 on the logs of two VPCs ends by writing the collector's status of
// each, which the exporters report shows: the first VPC enabled with its
// flows, the second (over the limit, its records dropped) listed with 0
// and disabled_limit.
func TestRunOnceWritesExporterStatus(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	logs := t.TempDir()
	at := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Minute)
	for i, vpc := range []string{"vpc-01", "vpc-02"} {
		var b strings.Builder
		b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id\n")
		for j := range 3 {
			fmt.Fprintf(&b, "5 123456789012 eni-0%d 10.0.0.%d 10.0.0.2 443 5000 6 10 1000 %d %d ACCEPT OK %s\n", i+1, j+1, at.Unix()-60, at.Unix(), vpc)
		}
		dir := filepath.Join(logs, "AWSLogs", "123456789012", "vpcflowlogs", "us-east-1", at.Format("2006/01/02"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("123456789012_vpcflowlogs_us-east-1_fl-0%d_%s_%d.log", i+1, at.Format("20060102T1504Z"), i)
		if err := os.WriteFile(filepath.Join(dir, key), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Exporters met in one batch are ranked by account, region and VPC:
	// vpc-01 is admitted.
	config := apptest.WriteConfig(t, vm.URL, logs, t.TempDir(), "limits:\n  max_exporters: 1\n")
	if _, stderr, code := runCLI(t, "run", "--config", config, "--once"); code != 0 {
		t.Fatalf("run --once: exit %d:\n%s", code, stderr)
	}
	vm.Flush()
	// The status is stamped at the end of the run: a range past it.
	from, to := at.Add(-time.Hour).Truncate(time.Hour), time.Now().Add(10*time.Minute)
	stdout, stderr, code := runCLI(t, "report", report.ReportExporters, "--vm-url", vm.URL, "--from", from.Format(time.RFC3339),
		"--to", to.Format(time.RFC3339), "--output", "json", "--names=false")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	var out apptest.ReportJSON
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	got := map[string]string{}
	for _, r := range out.Rows {
		got[r.Labels["vpc_id"]] = fmt.Sprintf("%s %s %s %s", r.Labels["region"], r.Labels[report.ColumnStatus], r.Labels[report.ColumnCollectorStatus], r.Value)
	}
	want := map[string]string{"vpc-01": "us-east-1 ok enabled 3", "vpc-02": "us-east-1 - disabled_limit 0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("exporters report: %v, want %v\n%s", got, want, stdout)
	}
}
