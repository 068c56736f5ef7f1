package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
)

// exactFamilies are the families whose totals do not depend on how the
// objects were cut into batches (the pair family learns owners batch by
// batch).
var exactFamilies = []int{schema.Interface, schema.Service, schema.Src, schema.Dst, schema.App, schema.Status, schema.Total}

// genInto writes generated flow logs of an hour from start under dir,
// observed by tr, and returns how many objects it wrote.
func genInto(t *testing.T, dir string, tr *groundtruth.Truth, records int, seed int64, start time.Time) int {
	t.Helper()
	f, _ := flowlog.ParseFormat("v5")
	_, err := generate.Generate(generate.Config{Records: records, Seed: seed, Format: f, Start: start,
		Duration: time.Hour, ENIs: 30, VPCs: 3, Observe: func(_ string, r *flowlog.Record) { tr.Observe(r) }}, generate.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	return len(present(t, dir))
}

// genDir writes generated flow logs under a new folder and returns it with
// their ground truth and the number of objects.
func genDir(t *testing.T, records int, seed int64) (string, *groundtruth.Truth, int) {
	t.Helper()
	dir := t.TempDir()
	tr := groundtruth.New()
	n := genInto(t, dir, tr, records, seed, time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC))
	tr.Finish()
	return dir, tr, n
}

// TestRunOnceThenStorageKilled is the report of issue 11: `run --once`
// deletes what it ingests, VictoriaMetrics is killed with SIGKILL the
// moment it exits and started again. VictoriaMetrics had acknowledged
// samples it had not saved yet, so a collector that deletes on the
// acknowledgement loses the whole run; this one waits until the storage
// saved them, and the totals stay exact.
func TestRunOnceThenStorageKilled(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	tr := groundtruth.New()
	s3.PutAll(t, "logs", genS3(t, tr, 61, time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC), "", false))
	tr.Finish()
	// The storage's own save delay: no durable_after.
	config := writeFile(t, "collector.yaml", "state_dir: "+t.TempDir()+"\nstorage: {url: "+vm.URL+"}\nserver: {listen: 'off'}\n"+
		"batch: {max_objects: 4, max_wait: 100ms}\nsources:\n"+s3Source(s3, "prod", "logs", "", purge))
	began := time.Now()
	out, err := runOnce(t, bin, config, s3)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	took := time.Since(began)
	vm.Kill()
	vm.Start()
	t.Logf("run --once took %v (the storage saves within 18s of its last acknowledgement)", took.Round(time.Millisecond))
	tr.Check(t, vm)
	if left := flowLogKeys(t, s3, "logs"); len(left) != 0 {
		t.Errorf("%d flow logs left", len(left))
	}
	if !strings.Contains(out, `"msg":"storage ready: objects are deleted once their samples are saved to disk"`) || !strings.Contains(out, `"saved_after":"18s"`) {
		t.Errorf("the log should say when objects are deleted:\n%s", out)
	}
}

// TestRunOnceStorageTimeout: with the storage down, `run --once` gives up
// after --storage-timeout and exits with status 1 naming the storage,
// whether the storage is down from the start or goes down while the run
// waits for it to save what it wrote; nothing is deleted meanwhile, and
// a later run stores everything exactly.
func TestRunOnceStorageTimeout(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs, tr, objects := genDir(t, 20000, 71)
	config := WriteConfig(t, vm.URL, logs, t.TempDir(), "")
	run := func(args ...string) (string, int, time.Duration) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"run", "--config", config, "--once", "--log-format", "json"}, args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		began := time.Now()
		err := cmd.Run()
		if ctx.Err() != nil {
			t.Fatalf("run %v did not end within 2 minutes:\n%s", args, stderr.String())
		}
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stderr.String(), code, time.Since(began)
	}

	vm.Kill()
	out, code, took := run("--storage-timeout", "3s")
	if code != 1 || !strings.Contains(out, vm.URL) || !strings.Contains(out, "--storage-timeout 3s") {
		t.Errorf("storage down at start: exit %d after %v, want 1 naming the storage and the flag:\n%s", code, took, out)
	}
	if n := len(present(t, logs)); n != objects {
		t.Fatalf("%d of %d objects deleted with the storage down", objects-n, objects)
	}

	// Down while the written batches wait to be saved (durable_after 1m:
	// the run is still waiting when the storage goes).
	vm.Start()
	state := t.TempDir()
	withWait := WriteConfig(t, vm.URL, logs, state, "")
	withWait = strings.Replace(readFile(t, withWait), "durable_after: 300ms", "durable_after: 1m", 1)
	config = writeFile(t, "collector.yaml", withWait)
	began := time.Now()
	c := startCollector(t, bin, nil, "run", "--config", config, "--once", "--log-format", "json", "--storage-timeout", "3s")
	addr := c.statusAddr()
	// The first run's backfill is finished once every batch of it is
	// written; then they all wait to be saved.
	c.waitFor("every batch written, waiting to be saved", time.Minute, func() bool {
		if !strings.Contains(c.Log(), `"msg":"backfill finished","source":"local"`) {
			return false
		}
		written, err := statusMetric(addr, "vpcflow_collector_batches_written_total")
		if err != nil || written == 0 {
			return false
		}
		unsaved, err := statusMetric(addr, "vpcflow_collector_batches_unsaved")
		return err == nil && unsaved == written
	})
	vm.Kill()
	select {
	case <-c.exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("run did not end within 2 minutes:\n%s", c.Log())
	}
	out, code, took = c.Log(), exitCode(t, c.err), time.Since(began)
	if code != 1 || !strings.Contains(out, "storage "+vm.URL+"/api/v1/write failing for") {
		t.Errorf("storage down mid-run: exit %d after %v, want 1 naming the storage:\n%s", code, took, out)
	}
	if !strings.Contains(out, `"msg":"storage failing; its data waits in the source (nothing is deleted before it is stored)"`) {
		t.Errorf("no warning when the storage started failing:\n%s", out)
	}
	if n := len(present(t, logs)); n != objects {
		t.Fatalf("%d of %d objects deleted although the storage went down before saving them", objects-n, objects)
	}

	// The same state folder: VictoriaMetrics may have saved the traces of
	// the batches written more than its flush interval before it was
	// killed, and a new ledger would then be refused as a lost one.
	vm.Start()
	config = WriteConfig(t, vm.URL, logs, state, "")
	if out, code, _ := run(); code != 0 {
		t.Fatalf("run with the storage back: exit %d\n%s", code, out)
	}
	tr.Check(t, vm, exactFamilies...)
}

// TestStorageOutageVisible: while the storage is down, the collector says
// so: /healthz fails naming it, /metrics and /api/v1/sources show it
// failing (and the sources in error because of it), and the log warns once
// then at most every 30 s however many attempts fail; once it is back, all
// is well again and the log says so.
func TestStorageOutageVisible(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs, more, tr := t.TempDir(), t.TempDir(), groundtruth.New()
	genInto(t, logs, tr, 20000, 72, time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC))
	genInto(t, more, tr, 2000, 73, time.Date(2026, 4, 3, 2, 0, 0, 0, time.UTC))
	tr.Finish()
	config := WriteConfig(t, vm.URL, logs, t.TempDir(), "")
	c := startCollector(t, bin, nil, "run", "--config", config, "--log-format", "json")
	addr := c.statusAddr()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within a minute\n%s", what, c.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("everything ingested", func() bool { return len(present(t, logs)) == 0 })
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz with the storage up: %d %s", code, body)
	}

	vm.Stop() // gracefully: the short durable_after of writeConfig is safe then
	// New objects make the collector write, and fail.
	copyTree(t, more, logs)
	waitFor("/healthz failing", func() bool {
		code, body := get("/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "storage "+vm.URL+"/api/v1/write failing since")
	})
	waitFor("more failed attempts", func() bool {
		st, err := readStatus(addr)
		return err == nil && st.Storage.FailedAttempts >= 2
	})
	_, page := get("/metrics")
	if !strings.Contains(page, "vpcflow_collector_storage_up 0\n") {
		t.Errorf("/metrics while the storage is down:\n%s", page)
	}
	_, body := get("/api/v1/sources")
	var got struct {
		Storage struct {
			Status         string `json:"status"`
			FailedAttempts int    `json:"failed_attempts"`
		} `json:"storage"`
		Sources []struct{ Status, Error string } `json:"sources"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Storage.Status != "failing" || got.Storage.FailedAttempts < 2 || got.Sources[0].Status != "error" || !strings.Contains(got.Sources[0].Error, "storage") {
		t.Errorf("/api/v1/sources while the storage is down: %s", body)
	}
	if n := strings.Count(c.Log(), `"msg":"storage failing;`); n != 1 || strings.Contains(c.Log(), `"msg":"storage still failing"`) {
		t.Errorf("%d first warnings, and a repeat within 30 s; want one warning for %d failed attempts:\n%s", n, got.Storage.FailedAttempts, c.Log())
	}
	if n := len(present(t, logs)); n == 0 {
		t.Error("objects deleted while the storage is down")
	}

	vm.Start()
	waitFor("/healthz ok again", func() bool { code, _ := get("/healthz"); return code == http.StatusOK })
	waitFor("the new objects ingested", func() bool { return len(present(t, logs)) == 0 })
	if !strings.Contains(c.Log(), `"msg":"storage works again"`) {
		t.Errorf("no line when the storage came back:\n%s", c.Log())
	}
	tr.Check(t, vm, exactFamilies...)
}
