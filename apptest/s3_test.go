package apptest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// genS3 generates flow logs and returns them keyed under prefix, as AWS
// delivers them; hive uses the Hive-compatible layout. tr observes the
// records (the caller finishes it).
func genS3(t *testing.T, tr *groundtruth.Truth, seed int64, start time.Time, prefix string, hive bool) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	f, _ := flowlog.ParseFormat("v5")
	_, err := generate.Generate(generate.Config{Records: 8000, Seed: seed, Format: f, Start: start, Duration: 40 * time.Minute,
		ENIs: 16, VPCs: 2, Hive: hive, Observe: func(_ string, r *flowlog.Record) { tr.Observe(r) }}, generate.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{}
	for key := range present(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, key))
		if err != nil {
			t.Fatal(err)
		}
		objects[prefix+key] = b
	}
	return objects
}

// s3Config writes a collector configuration whose sources are the given
// YAML list items (each "- name: …" block, indented by four spaces), with
// a short storage.durable_after (these tests do not crash the storage).
func s3Config(t *testing.T, vmURL, state string, sources ...string) string {
	t.Helper()
	cfg := fmt.Sprintf("state_dir: %s\nstorage: {url: %s, durable_after: 300ms}\nserver: {listen: 127.0.0.1:0}\nbatch: {max_objects: 4, max_wait: 100ms}\nsources:\n%s",
		state, vmURL, strings.Join(sources, ""))
	path := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// purge is the first-run setting of a source that deletes and purges on
// its first run, as the configuration must say.
const purge = "    on_first_run: purge\n"

// s3Source is a source entry for the test server's bucket; extra is more
// fields (each line indented by four spaces).
func s3Source(s3 *testserver.S3Server, name, bucket, prefix, extra string) string {
	return fmt.Sprintf(`  - name: %s
    type: s3
    bucket: %s
    prefix: %q
    region: %s
    endpoint: %s
    path_style: true
    credentials: {access_key_id: %s, secret_access_key_env: VPCFLOW_TEST_S3_SECRET}
%s`, name, bucket, prefix, s3.Region, s3.Endpoint(), s3.AccessKey, extra)
}

// runOnce runs `run --once` with s3's secret and returns its JSON log.
func runOnce(t *testing.T, bin, config string, s3 *testserver.S3Server) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", config, "--once", "--log-format", "json")
	cmd.Env = append(os.Environ(), s3Env(s3)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// flowLogKeys returns the flow log keys left in a bucket.
func flowLogKeys(t *testing.T, s3 *testserver.S3Server, bucket string) []string {
	t.Helper()
	var out []string
	for _, k := range s3.Keys(t, bucket, "") {
		if source.IsFlowLog(k) {
			out = append(out, k)
		}
	}
	return out
}

// TestS3Collect collects two buckets, one in the AWS layout under a prefix
// and one in the Hive-compatible layout, deleting what is stored and
// leaving other objects alone; totals equal the ground truth.
func TestS3Collect(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "flow-aws", "flow-hive")
	tr := groundtruth.New()
	s3.PutAll(t, "flow-aws", genS3(t, tr, 41, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "vpc/", false))
	s3.PutAll(t, "flow-hive", genS3(t, tr, 42, time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), "", true))
	tr.Finish()
	s3.Put(t, "flow-aws", "vpc/README.txt", []byte("not a flow log"))
	config := s3Config(t, vm.URL, t.TempDir(),
		s3Source(s3, "aws", "flow-aws", "vpc/", purge), s3Source(s3, "hive", "flow-hive", "", purge))
	if log, err := runOnce(t, bin, config, s3); err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	tr.Check(t, vm)
	if left := flowLogKeys(t, s3, "flow-aws"); len(left) != 0 {
		t.Errorf("flow logs left in flow-aws: %v", left)
	}
	if left := flowLogKeys(t, s3, "flow-hive"); len(left) != 0 {
		t.Errorf("flow logs left in flow-hive: %v", left)
	}
	if keys := s3.Keys(t, "flow-aws", ""); len(keys) != 1 || keys[0] != "vpc/README.txt" {
		t.Errorf("flow-aws holds %v, want only the README", keys)
	}
}

// age sets the modification time, and so the S3 LastModified, of objects in
// the test server's posix folder.
func age(t *testing.T, s3 *testserver.S3Server, bucket string, keys []string, d time.Duration) {
	t.Helper()
	at := time.Now().Add(-d)
	for _, k := range keys {
		if err := os.Chtimes(filepath.Join(s3.Dir, bucket, filepath.FromSlash(k)), at, at); err != nil {
			t.Fatal(err)
		}
	}
}

// stopLine returns the fields of the collector's "collector stopped" line.
func stopLine(t *testing.T, log string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "collector stopped" {
			return m
		}
	}
	t.Fatalf("no stop line in:\n%s", log)
	return nil
}

// TestS3FirstRunPurge: the first run deletes, unread, the flow logs older
// than purge_older_than and collects the others; a second run purges
// nothing more.
func TestS3FirstRunPurge(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	old, fresh := groundtruth.New(), groundtruth.New()
	oldObjs := genS3(t, old, 43, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "", false)
	s3.PutAll(t, "logs", oldObjs)
	s3.PutAll(t, "logs", genS3(t, fresh, 44, time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC), "", false))
	old.Finish()
	fresh.Finish()
	var oldKeys []string
	for k := range oldObjs {
		oldKeys = append(oldKeys, k)
	}
	age(t, s3, "logs", oldKeys, 2*time.Hour)
	config := s3Config(t, vm.URL, t.TempDir(), s3Source(s3, "prod", "logs", "", purge+"    purge_older_than: 1h\n"))
	log, err := runOnce(t, bin, config, s3)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	if !regexp.MustCompile(fmt.Sprintf(`"msg":"purged flow logs older than the first run".*"objects":%d\b`, len(oldKeys))).MatchString(log) {
		t.Errorf("no purge of %d objects in the log:\n%s", len(oldKeys), log)
	}
	fresh.Check(t, vm)
	if left := flowLogKeys(t, s3, "logs"); len(left) != 0 {
		t.Errorf("left: %v", left)
	}
	// New objects, even old-looking ones, are not purged by later runs.
	later := groundtruth.New()
	s3.PutAll(t, "logs", genS3(t, later, 45, time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC), "", false))
	later.Finish()
	if log, err = runOnce(t, bin, config, s3); err != nil {
		t.Fatalf("second run: %v\n%s", err, log)
	}
	if strings.Contains(log, "purged flow logs") {
		t.Errorf("second run purged:\n%s", log)
	}
	if n := stopLine(t, log)["objects"].(float64); n == 0 {
		t.Errorf("second run collected nothing:\n%s", log)
	}
}

// TestS3SharedBucket: with delete_after_ingest false nothing is deleted,
// the ledger remembers what was collected (a second run writes nothing),
// and new objects are collected.
func TestS3SharedBucket(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "shared")
	tr := groundtruth.New()
	first := genS3(t, tr, 46, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "AWSLogs-prefix/", false)
	s3.PutAll(t, "shared", first)
	config := s3Config(t, vm.URL, t.TempDir(), s3Source(s3, "shared", "shared", "AWSLogs-prefix/", "    delete_after_ingest: false\n    on_first_run: backfill\n"))
	log, err := runOnce(t, bin, config, s3)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	if n := len(flowLogKeys(t, s3, "shared")); n != len(first) {
		t.Errorf("%d objects left of %d: a shared bucket must keep them", n, len(first))
	}
	log, err = runOnce(t, bin, config, s3)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, log)
	}
	if st := stopLine(t, log); st["objects"].(float64) != 0 || st["samples_written"].(float64) != 0 {
		t.Errorf("second run wrote again: %v", st)
	}
	// Past the first run, a shared bucket is listed by recent date
	// prefixes only: new logs are of today, as AWS delivers them.
	s3.PutAll(t, "shared", genS3(t, tr, 47, time.Now().UTC().Add(-time.Hour).Truncate(5*time.Minute), "AWSLogs-prefix/", false))
	tr.Finish()
	if log, err = runOnce(t, bin, config, s3); err != nil {
		t.Fatalf("third run: %v\n%s", err, log)
	}
	tr.Check(t, vm)
}

// TestS3Quarantine: a corrupt object is quarantined, left in the bucket,
// and named with its reason in the source log; the rest is collected.
func TestS3Quarantine(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	tr := groundtruth.New()
	objs := genS3(t, tr, 48, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "", false)
	tr.Finish()
	s3.PutAll(t, "logs", objs)
	var some string
	for k := range objs {
		some = k
		break
	}
	bad := strings.Replace(some, ".log.gz", "-broken.log.gz", 1)
	s3.Put(t, "logs", bad, objs[some][:len(objs[some])/2])
	state := t.TempDir()
	config := s3Config(t, vm.URL, state, s3Source(s3, "prod", "logs", "", purge))
	if log, err := runOnce(t, bin, config, s3); err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	tr.Check(t, vm)
	if left := flowLogKeys(t, s3, "logs"); len(left) != 1 || left[0] != bad {
		t.Errorf("left %v, want only %s", left, bad)
	}
	srcLog, err := os.ReadFile(filepath.Join(state, "source-logs", "prod.jsonl"))
	if err != nil || !strings.Contains(string(srcLog), "object quarantined") || !strings.Contains(string(srcLog), bad) || !strings.Contains(string(srcLog), "truncated") {
		t.Errorf("source log: %v\n%s", err, srcLog)
	}
}

// TestS3ServerRestart kills the S3 server in the middle of a run, once
// the collector has begun to download and while objects are left to read,
// store and delete, and starts it again once the collector has tried it
// while it was down: the collector retries, ends, and the totals are
// exact. The SDK retries a request silently (10 attempts, up to 20 s
// apart): the proof that the collector met the dead server is a request
// reaching its address, where the test listens meanwhile.
func TestS3ServerRestart(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	tr := groundtruth.New()
	s3.PutAll(t, "logs", genS3(t, tr, 49, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "", false))
	tr.Finish()
	config := s3Config(t, vm.URL, t.TempDir(), s3Source(s3, "prod", "logs", "", purge))
	c := startCollector(t, bin, s3Env(s3), "run", "--config", config, "--once", "--log-format", "json")
	addr := c.statusAddr()
	c.waitFor("the first object downloaded", 30*time.Second, func() bool {
		st, err := readStatus(addr)
		return err == nil && len(st.Sources) == 1 && st.Sources[0].Downloaded > 0
	})
	s3.Kill()
	var left []string
	for key := range present(t, filepath.Join(s3.Dir, "logs")) { // read from the dead server's folder
		if source.IsFlowLog(key) {
			left = append(left, key)
		}
	}
	if len(left) == 0 {
		t.Fatalf("the server was killed after the run had deleted every object: nothing tests a restart\n%s", c.Log())
	}
	requests, closeDead := listenDead(t, s3.Endpoint())
	select {
	case line := <-requests:
		if !strings.Contains(line, " /logs") {
			t.Errorf("the request to the dead server is not one for the bucket: %q", line)
		}
		t.Logf("killed with %d flow logs left; the collector then sent the dead server %q", len(left), line)
	case <-c.exited:
		t.Fatalf("the run ended (%v) without trying the dead server, with %d flow logs left:\n%s", c.err, len(left), c.Log())
	case <-time.After(time.Minute):
		t.Fatalf("the collector did not try the dead server within a minute:\n%s", c.Log())
	}
	closeDead()
	s3.Start()
	if err := c.wait(); err != nil {
		// A round may give up on the server; the next run finishes the work.
		t.Logf("first run: %v", err)
		if log, err := runOnce(t, bin, config, s3); err != nil {
			t.Fatalf("second run: %v\n%s", err, log)
		}
	}
	tr.Check(t, vm)
	if left := flowLogKeys(t, s3, "logs"); len(left) != 0 {
		t.Errorf("left: %v", left)
	}
}

// listenDead listens on the address of a server the test killed, which
// nothing else may take while it is down, and sends the first line of each
// request that reaches it (a client trying the dead server) on requests;
// each connection is then reset, as a dying server's are. closeDead stops
// listening, before the server starts again on the address; the test's
// end does too.
func listenDead(t *testing.T, endpoint string) (requests <-chan string, closeDead func()) {
	t.Helper()
	l, err := net.Listen("tcp", strings.TrimPrefix(endpoint, "http://"))
	if err != nil {
		t.Fatalf("listen on the dead server's address: %v", err)
	}
	lines := make(chan string, 100)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // reset, not a graceful close
			}
			conn.Close()
			select {
			case lines <- strings.TrimSpace(line):
			default:
			}
		}
	})
	var once sync.Once
	closeDead = func() {
		once.Do(func() {
			l.Close()
			wg.Wait()
		})
	}
	t.Cleanup(closeDead)
	return lines, closeDead
}

// TestS3AccessErrors: a wrong secret and a missing bucket show as errors
// of their sources, with a message saying what to fix, while the good
// source is collected; --once then exits non-zero.
func TestS3AccessErrors(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "good")
	tr := groundtruth.New()
	s3.PutAll(t, "good", genS3(t, tr, 50, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "", false))
	tr.Finish()
	wrong := strings.Replace(s3Source(s3, "wrong-secret", "good", "", purge), "secret_access_key_env: VPCFLOW_TEST_S3_SECRET", "secret_access_key: not-the-secret", 1)
	unset := strings.Replace(s3Source(s3, "unset", "good", "", purge), "VPCFLOW_TEST_S3_SECRET", "VPCFLOW_TEST_UNSET_VARIABLE", 1)
	config := s3Config(t, vm.URL, t.TempDir(), s3Source(s3, "good", "good", "", purge), wrong, s3Source(s3, "missing", "no-such-bucket", "", purge), unset)

	c := startCollector(t, bin, s3Env(s3), "run", "--config", config, "--log-format", "json")
	addr := c.statusAddr()
	var body struct {
		Sources []struct {
			Name, Status, Error string
			Ingested            int64 `json:"objects_ingested"`
			Backlog             int64
		} `json:"sources"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/api/v1/sources")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		done := len(body.Sources) == 4 && body.Sources[0].Ingested > 0 && len(flowLogKeys(t, s3, "good")) == 0 &&
			body.Sources[1].Status == "error" && body.Sources[2].Status == "error" && body.Sources[3].Status == "credentials"
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sources never settled: %s\n%s", b, c.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := body.Sources[0]; s.Status != "enabled" {
		t.Errorf("good source: %+v", s)
	}
	for i, want := range []string{"secret", "bucket", "vpcflow_test_unset_variable"} {
		s := body.Sources[i+1]
		if !strings.Contains(strings.ToLower(s.Error), want) || strings.Contains(s.Error, "not-the-secret") {
			t.Errorf("%s: error %q should say what is wrong (%s) and never the secret", s.Name, s.Error, want)
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`vpcflow_source_status{source="missing",status="error"} 1`, `vpcflow_source_status{source="good",status="enabled"} 1`,
		`vpcflow_exporter_last_seen_timestamp_seconds{vpc_id="vpc-`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(metrics), "not-the-secret") || strings.Contains(c.Log(), "not-the-secret") || strings.Contains(c.Log(), s3.SecretKey) {
		t.Error("a secret reached the metrics or the log")
	}
	_ = c.stop()
	tr.Check(t, vm)

	// --once ends with an error naming the failed sources.
	out, err := runOnce(t, bin, config, s3)
	if err == nil || !strings.Contains(out, "wrong-secret") || !strings.Contains(out, "missing") {
		t.Errorf("--once with failing sources: %v\n%s", err, out)
	}
}

// TestS3DownloaderAndCollector runs the two roles as two processes over an
// S3 bucket: the collector deletes the S3 objects once stored.
func TestS3DownloaderAndCollector(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	tr := groundtruth.New()
	s3.PutAll(t, "logs", genS3(t, tr, 51, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "", false))
	tr.Finish()
	spoolDir := t.TempDir()
	config := s3Config(t, vm.URL, t.TempDir(), s3Source(s3, "prod", "logs", "", "    on_first_run: backfill\n"))
	cfg, _ := os.ReadFile(config)
	if err := os.WriteFile(config, append(cfg, fmt.Sprintf("spool: {dir: %s, max_bytes: 200000}\n", spoolDir)...), 0o644); err != nil {
		t.Fatal(err)
	}
	collector := startCollector(t, bin, s3Env(s3), "run", "--config", config, "--role", "collector")
	downloader := exec.Command(bin, "run", "--config", config, "--role", "downloader", "--once")
	downloader.Env = append(os.Environ(), s3Env(s3)...)
	if out, err := downloader.CombinedOutput(); err != nil {
		t.Fatalf("downloader: %v\n%s", err, out)
	}
	deadline := time.Now().Add(time.Minute)
	for len(flowLogKeys(t, s3, "logs")) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("objects left: %v\n%s", flowLogKeys(t, s3, "logs"), collector.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := collector.stop(); err != nil {
		t.Fatalf("collector: %v\n%s", err, collector.Log())
	}
	tr.Check(t, vm)
}

// TestTestCommand runs `vpcflow-collector test` on a good bucket (every
// check passes), on a versioned one holding v2 logs and a foreign object
// (FAIL and WARNs, exit status 1) and on a missing one.
func TestTestCommand(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t, testserver.S3Versioning())
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "good", "versioned")
	s3.EnableVersioning(t, "versioned")
	s3.PutAll(t, "good", genS3(t, groundtruth.New(), 52, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "", false))
	dir := t.TempDir()
	if _, err := generate.Generate(generate.Config{Records: 500, Seed: 53, Start: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}, generate.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	v2 := map[string][]byte{"notes/readme.txt": []byte("hello")}
	for key := range present(t, dir) {
		v2[key], _ = os.ReadFile(filepath.Join(dir, key))
	}
	s3.PutAll(t, "versioned", v2)
	config := s3Config(t, vm.URL, t.TempDir(), s3Source(s3, "good", "good", "", purge), s3Source(s3, "versioned", "versioned", "", purge),
		s3Source(s3, "missing", "no-such-bucket", "", purge))
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, append([]string{"test", "--config", config}, args...)...)
		cmd.Env = append(os.Environ(), s3Env(s3)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := run("--source", "good")
	if code != 0 || strings.Count(out, "PASS") != 9 || strings.Contains(out, "FAIL") || strings.Contains(out, "WARN") {
		t.Errorf("good bucket: exit %d\n%s", code, out)
	}
	out, code = run("--source", "versioned")
	for _, want := range []string{"FAIL  versioned  versioning", "WARN  versioned  header", "vpc-id", "flow-direction", "WARN  versioned  other-writers", "notes/readme.txt"} {
		if !strings.Contains(out, want) {
			t.Errorf("versioned bucket: no %q in:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("versioned bucket: exit %d, want 1", code)
	}
	out, code = run()
	if code != 1 || !strings.Contains(out, "FAIL  missing") || !strings.Contains(out, "PASS  storage") {
		t.Errorf("all sources: exit %d\n%s", code, out)
	}
	if strings.Contains(out, s3.SecretKey) {
		t.Error("the secret is in the output")
	}
	if keys := s3.Keys(t, "good", ""); slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, "access-check") }) {
		t.Errorf("the marker object was left behind: %v", keys)
	}
}

// fakeS3 serves an in-memory S3 bucket (gofakes3) on a loopback port, for
// keys the versitygw posix backend cannot hold: it cleans `a//x` and `./`
// into one file name, and refuses `..` parts and parts over 255 bytes, all
// of which real S3 keeps as given.
func fakeS3(t *testing.T, bucket string) (endpoint string, client *s3.Client) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithoutVersioning()).Server())
	t.Cleanup(srv.Close)
	client = s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("fake", "fake-secret", ""),
	})
	return srv.URL, client
}

// TestS3DownloaderOddKeys runs the two roles over a bucket whose keys S3
// accepts but a file system does not take as they are: `..` parts that
// climb out of the spool, keys that clean to one path (`a//x`, `a/x`,
// `./x`), a leading `/`, a path part over 255 bytes, control characters
// and a backslash. Every object is spooled inside the spool folder, ingested
// once and deleted; nothing is quarantined; totals are exact.
func TestS3DownloaderOddKeys(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	endpoint, client := fakeS3(t, "logs")
	tr := groundtruth.New()
	gen := genS3(t, tr, 54, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "", false)
	tr.Finish()
	var keys []string
	for k := range gen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	odd := []func(k string) string{
		func(k string) string { return "../../" + k },
		func(k string) string { return "../../../" + k },
		func(k string) string { return "dup//" + keys[2] },
		func(k string) string { return "dup/" + keys[2] },
		func(k string) string { return "dup/./" + keys[2] },
		func(k string) string { return "/" + k },
		func(k string) string { return strings.Repeat("y", 300) + "/" + k },
		func(k string) string { return path.Dir(k) + "/" + strings.Repeat("z", 400) + "_" + path.Base(k) },
		func(k string) string { return "ctl\t\x7f \\/" + k }, // XML 1.0 has no \x01: S3 lists such keys only URL-encoded
		func(k string) string { return "…/über/" + k },
	}
	if len(keys) < len(odd)+5 {
		t.Fatalf("only %d objects generated", len(keys))
	}
	put := map[string][]byte{}
	for i, k := range keys {
		key := k
		if i < len(odd) {
			key = odd[i](k)
		}
		if len(key) > 1024 {
			t.Fatalf("key %q: over S3's 1,024 bytes", key)
		}
		put[key] = gen[k]
	}
	for key, data := range put {
		if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("logs"), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatalf("put %q: %v", key, err)
		}
	}
	listed := func() []string {
		var out []string
		p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String("logs")})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				out = append(out, aws.ToString(o.Key))
			}
		}
		return out
	}
	if n := len(listed()); n != len(put) {
		t.Fatalf("the bucket holds %d objects, %d put: the server changed some keys", n, len(put))
	}

	// The spool sits two folders down a folder of its own: the old layout
	// (<spool>/<source>/<key>) put the keys climbing out of it in base
	// (never further up: the test must not write outside its folders).
	base := t.TempDir()
	spoolDir := filepath.Join(base, "a", "spool")
	cfg := fmt.Sprintf(`state_dir: %s
storage: {url: %s, durable_after: 300ms}
server: {listen: 127.0.0.1:0}
batch: {max_objects: 4, max_wait: 100ms}
spool: {dir: %s}
sources:
  - name: prod
    type: s3
    bucket: logs
    region: us-east-1
    endpoint: %s
    path_style: true
    on_first_run: backfill
    credentials: {access_key_id: fake, secret_access_key: fake-secret}
`, t.TempDir(), vm.URL, spoolDir, endpoint)
	config := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	collector := startCollector(t, bin, nil, "run", "--config", config, "--role", "collector", "--log-format", "json")
	downloader := exec.Command(bin, "run", "--config", config, "--role", "downloader", "--once")
	if out, err := downloader.CombinedOutput(); err != nil {
		t.Errorf("downloader: %v\n%s", err, out)
	}
	// Everything is spooled: wait for the collector to take it (a copy it
	// cannot take stays; the checks below say which).
	for deadline := time.Now().Add(30 * time.Second); len(present(t, spoolDir)) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if err := collector.stop(); err != nil {
		t.Fatalf("collector: %v\n%s", err, collector.Log())
	}
	if left := listed(); len(left) > 0 {
		t.Errorf("objects left in the bucket: %q", left)
	}
	if n := stopLine(t, collector.Log())["objects"].(float64); int(n) != len(put) {
		t.Errorf("the collector took %v objects, %d were put", n, len(put))
	}
	if strings.Contains(collector.Log(), `"msg":"object quarantined"`) {
		t.Errorf("an intact object was quarantined:\n%s", collector.Log())
	}
	for f := range present(t, base) {
		if !strings.HasPrefix(f, "a/spool/") {
			t.Errorf("%s was written outside the spool folder", f)
		}
	}
	for f := range present(t, spoolDir) {
		t.Errorf("%s left in the spool", f)
	}
	vm.Flush()
	tr.Check(t, vm)
}

// TestTestCommandFirstRun: `test` says what each source's first run will do
// — how many objects (and bytes) a purge deletes and a backfill collects,
// counted as the run then purges them — without creating the ledger; says
// when the ledger is in use; and, once the first runs are done, says so.
func TestTestCommandFirstRun(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs", "backlog")
	count := func(objs map[string][]byte) sourcestate.ObjectCount {
		var c sourcestate.ObjectCount
		for _, b := range objs {
			c.Add(source.Object{Size: int64(len(b))})
		}
		return c
	}
	oldObjs := genS3(t, groundtruth.New(), 60, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), "", false)
	freshObjs := genS3(t, groundtruth.New(), 61, time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC), "", false)
	backlog := genS3(t, groundtruth.New(), 62, time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), "", false)
	s3.PutAll(t, "logs", oldObjs)
	s3.PutAll(t, "logs", freshObjs)
	s3.PutAll(t, "backlog", backlog)
	var oldKeys []string
	for k := range oldObjs {
		oldKeys = append(oldKeys, k)
	}
	age(t, s3, "logs", oldKeys, 2*time.Hour)
	// A folder whose files of the first day are old.
	dir := t.TempDir()
	if _, err := generate.Generate(generate.Config{Records: 2000, Seed: 63, Start: time.Date(2026, 5, 1, 23, 0, 0, 0, time.UTC), Duration: 2 * time.Hour}, generate.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	var dirOld, dirFresh sourcestate.ObjectCount
	for key := range present(t, dir) {
		path := filepath.Join(dir, filepath.FromSlash(key))
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(key, "/2026/05/01/") {
			at := time.Now().Add(-3 * time.Hour)
			if err := os.Chtimes(path, at, at); err != nil {
				t.Fatal(err)
			}
			dirOld.Add(source.Object{Size: info.Size()})
		} else {
			dirFresh.Add(source.Object{Size: info.Size()})
		}
	}
	if dirOld.N == 0 || dirFresh.N == 0 {
		t.Fatalf("folder: %d old and %d fresh files, want some of each", dirOld.N, dirFresh.N)
	}
	state := t.TempDir()
	config := s3Config(t, vm.URL, state,
		s3Source(s3, "prod", "logs", "", purge+"    purge_older_than: 1h\n"),
		s3Source(s3, "backlog", "backlog", "", "    on_first_run: backfill\n"),
		s3Source(s3, "shared", "backlog", "", "    delete_after_ingest: false\n    enabled: false\n"),
		fmt.Sprintf("  - name: local\n    type: dir\n    path: %s\n    on_first_run: purge\n    purge_older_than: 1h\n", dir))
	test := func() string {
		t.Helper()
		cmd := exec.Command(bin, "test", "--config", config, "--skip-storage")
		cmd.Env = append(os.Environ(), s3Env(s3)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("test: %v\n%s", err, out)
		}
		return string(out)
	}
	has := func(out, result, src, detail string) {
		t.Helper()
		re := regexp.MustCompile(`(?m)^` + result + ` +` + src + ` +first-run +` + regexp.QuoteMeta(detail))
		if !re.MatchString(out) {
			t.Errorf("no line %s %s first-run %q in:\n%s", result, src, detail, out)
		}
	}
	old, fresh := count(oldObjs), count(freshObjs)
	out := test()
	has(out, "WARN", "prod", fmt.Sprintf("first run will purge %s older than 1h, unread, and collect the %s\n", old.Objects(""), fresh.Objects("newer ")))
	has(out, "PASS", "backlog", fmt.Sprintf("first run will collect the %s there, oldest first\n", count(backlog).Objects("")))
	has(out, "PASS", "shared", "first run will leave the flow logs there now alone for good, and collect those that arrive later\n")
	has(out, "WARN", "local", fmt.Sprintf("first run will purge %s older than 1h, unread, and collect the %s\n", dirOld.Objects(""), dirFresh.Objects("newer ")))
	if _, err := os.Stat(filepath.Join(state, "ledger.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("test created the ledger: %v", err)
	}

	// A running collector holds the ledger: the counts come with a caveat.
	led, err := ledger.Open(filepath.Join(state, "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out = test()
	led.Close()
	has(out, "WARN", "prod", fmt.Sprintf("first run will purge %s older than 1h, unread, and collect the %s if it is not done yet (its state is unknown: ledger %s is in use by another collector",
		old.Objects(""), fresh.Objects("newer "), filepath.Join(state, "ledger.db")))

	// The run purges what test counted.
	log, err := runOnce(t, bin, config, s3)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	for _, want := range []struct {
		src string
		c   sourcestate.ObjectCount
	}{{"prod", old}, {"local", dirOld}} {
		re := regexp.MustCompile(fmt.Sprintf(`"msg":"purged flow logs older than the first run","source":"%s","objects":%d,"bytes":%d,`, want.src, want.c.N, want.c.Bytes))
		if !re.MatchString(log) {
			t.Errorf("%s: no purge of %d objects (%d bytes) in the log:\n%s", want.src, want.c.N, want.c.Bytes, log)
		}
	}

	// Once done, test says so.
	out = test()
	for _, want := range []struct{ src, mode string }{{"prod", "purge"}, {"backlog", "backfill"}, {"local", "purge"}} {
		has(out, "PASS", want.src, "first run done ("+want.mode+", begun ")
	}
	if strings.Contains(out, "will purge") {
		t.Errorf("purge announced after the first run:\n%s", out)
	}
}
