package apptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/spool"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// TestDownloaderAndCollectorProcesses runs the two roles as two processes
// sharing a small spool: the downloader waits while the spool is full, the
// collector deletes the originals once stored, and the totals are exact.
func TestDownloaderAndCollectorProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bin := collectorBinary(t)
	origin := t.TempDir()
	tr := groundtruth.New()
	f, _ := flowlog.ParseFormat("v5")
	var largest int64
	_, err := generate.Generate(generate.Config{Records: 30000, Seed: 31, Format: f, Start: time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC),
		Duration: time.Hour, ENIs: 20, VPCs: 2, Observe: func(_ string, r *flowlog.Record) { tr.Observe(r) }}, generate.Dir(origin))
	if err != nil {
		t.Fatal(err)
	}
	tr.Finish()
	var total int64
	for key := range present(t, origin) {
		info, err := os.Stat(filepath.Join(origin, key))
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, info.Size())
		total += info.Size()
	}
	maxBytes := 3 * largest
	if total <= 2*maxBytes {
		t.Fatalf("the data (%d bytes) does not fill the spool (%d) often enough", total, maxBytes)
	}
	vm := testserver.VictoriaMetrics(t)
	spoolDir := t.TempDir()
	config := WriteConfig(t, vm.URL, origin, t.TempDir(), fmt.Sprintf("spool:\n  dir: %s\n  max_bytes: %d\n", spoolDir, maxBytes))

	collector := startCollector(t, bin, nil, "run", "--config", config, "--role", "collector", "--log-level", "warn")
	downloader := startCollector(t, bin, nil, "run", "--config", config, "--role", "downloader", "--once")
	var peak int64
	deadline := time.After(2 * time.Minute)
	exited := downloader.exited
	for downloading := true; downloading || len(present(t, origin)) > 0; {
		select {
		case <-exited:
			if downloader.err != nil {
				t.Fatalf("downloader: %v\n%s", downloader.err, downloader.Log())
			}
			downloading, exited = false, nil
		case <-deadline:
			t.Fatalf("not done in time; %d objects left\ndownloader:\n%s\ncollector:\n%s", len(present(t, origin)), downloader.Log(), collector.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if n, err := spool.Size(spoolDir); err == nil {
			peak = max(peak, n)
		}
	}
	if err := collector.stop(); err != nil {
		t.Fatalf("collector: %v\n%s", err, collector.Log())
	}
	if peak > maxBytes {
		t.Errorf("the spool reached %d bytes, more than its bound %d", peak, maxBytes)
	}
	if !strings.Contains(downloader.Log(), "spool full, waiting for the collector") {
		t.Errorf("the downloader never waited for room:\n%s", downloader.Log())
	}
	left := 0
	for key := range present(t, spoolDir) {
		if !strings.HasSuffix(key, ".db") {
			left++
		}
	}
	if left != 0 {
		t.Errorf("%d files left in the spool: %v", left, present(t, spoolDir))
	}
	vm.Flush()
	tr.Check(t, vm)
}

// TestReloadOnSIGHUP adds a source to the configuration of a running
// collector and sends SIGHUP: the new source is collected. A broken
// configuration on a later SIGHUP is refused and the collector goes on.
func TestReloadOnSIGHUP(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	a, b := t.TempDir(), t.TempDir()
	tr := groundtruth.New()
	f, _ := flowlog.ParseFormat("v5")
	for i, dir := range []string{a, b} {
		_, err := generate.Generate(generate.Config{Records: 3000, Seed: int64(60 + i), Format: f, Start: time.Date(2026, 4, 3+i, 0, 0, 0, 0, time.UTC),
			Duration: 20 * time.Minute, ENIs: 8, VPCs: 1, Observe: func(_ string, r *flowlog.Record) { tr.Observe(r) }}, generate.Dir(dir))
		if err != nil {
			t.Fatal(err)
		}
	}
	tr.Finish()
	config := WriteConfig(t, vm.URL, a, t.TempDir(), "")
	c := startCollector(t, bin, nil, "run", "--config", config, "--log-format", "json")
	waitEmpty := func(dir string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for len(present(t, dir)) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s not collected:\n%s", dir, c.Log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitEmpty(a)
	if len(present(t, b)) == 0 {
		t.Fatal("b is empty before the reload")
	}
	cfg, _ := os.ReadFile(config)
	grown := append(cfg, fmt.Sprintf("  - name: second\n    type: dir\n    path: %s\n", b)...)
	if err := os.WriteFile(config, grown, 0o644); err != nil {
		t.Fatal(err)
	}
	c.signal(syscall.SIGHUP)
	waitEmpty(b)
	if !strings.Contains(c.Log(), `"msg":"configuration reloaded"`) || !strings.Contains(c.Log(), `"added":["second"]`) {
		t.Errorf("no reload in the log:\n%s", c.Log())
	}
	if err := os.WriteFile(config, append(grown, "bogus: 1\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	c.signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.Log(), "configuration not reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("a broken configuration was not refused:\n%s", c.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.stop(); err != nil {
		t.Fatalf("collector: %v\n%s", err, c.Log())
	}
	tr.Check(t, vm)
}
