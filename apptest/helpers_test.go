package apptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"
)

// collectorPackage is the command the tests build and run.
const collectorPackage = "github.com/vpcflow/vpcflow/collector/cmd/vpcflow-collector"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binary collectorBinary built, with its folder,
// once the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// collectorBinary builds vpcflow-collector once per test run, into a
// temporary folder, and returns its path.
func collectorBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vpcflow-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vpcflow-collector")
		out, err := exec.Command("go", "build", "-o", binPath, collectorPackage).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build %s: %v: %s", collectorPackage, err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// collector is a vpcflow-collector process a test started: its standard
// error (its log) captured, killed when the test ends if it still runs.
type collector struct {
	t      testing.TB
	cmd    *exec.Cmd
	log    syncBuffer
	exited chan struct{} // closed once it exited, after err is set
	err    error         // its exit: cmd.Wait's result
}

// startCollector starts `bin args...` with env added to the environment
// (s3Env gives the secret of an S3 test server's sources).
func startCollector(t testing.TB, bin string, env []string, args ...string) *collector {
	t.Helper()
	c := &collector{t: t, cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stderr = &c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(c.kill)
	return c
}

// s3Env is the environment of a collector whose sources read s3's
// buckets (see s3Source).
func s3Env(s3 *testserver.S3Server) []string {
	return []string{"VPCFLOW_TEST_S3_SECRET=" + s3.SecretKey}
}

// Log returns what the collector logged so far.
func (c *collector) Log() string { return c.log.String() }

// signal sends sig to the collector.
func (c *collector) signal(sig syscall.Signal) { _ = c.cmd.Process.Signal(sig) }

// wait waits until the collector exits and returns its exit error.
func (c *collector) wait() error {
	<-c.exited
	return c.err
}

// stop stops the collector with SIGTERM, as a service manager does, and
// returns its exit error.
func (c *collector) stop() error {
	c.signal(syscall.SIGTERM)
	return c.wait()
}

// kill kills the collector with SIGKILL, as a crash would, and waits
// until it is gone. Killing an exited collector does nothing.
func (c *collector) kill() {
	c.signal(syscall.SIGKILL)
	<-c.exited
}

// exitedWith reports whether the collector has exited, and its exit
// error then.
func (c *collector) exitedWith() (bool, error) {
	select {
	case <-c.exited:
		return true, c.err
	default:
		return false, nil
	}
}

// statusAddrRe finds the status server's address in a JSON log.
var statusAddrRe = regexp.MustCompile(`"msg":"status server listening","address":"([^"]+)"`)

// statusAddr waits for the status server's address in the collector's
// JSON log (--log-format json).
func (c *collector) statusAddr() string {
	c.t.Helper()
	var addr string
	c.waitFor("the status server's address in the log", 5*time.Second, func() bool {
		if m := statusAddrRe.FindStringSubmatch(c.Log()); m != nil {
			addr = m[1]
			return true
		}
		return false
	})
	return addr
}

// waitFor waits until ok holds, checking every 10 ms. It fails the test
// with the collector's log after timeout, or if the collector exits first.
func (c *collector) waitFor(what string, timeout time.Duration, ok func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if exited, err := c.exitedWith(); exited {
			if ok() {
				return
			}
			c.t.Fatalf("waiting for %s: the collector exited first (%v):\n%s", what, err, c.Log())
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting for %s: not within %s:\n%s", what, timeout, c.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// statusReport is the part of the status server's /api/v1/sources that
// the tests wait on.
type statusReport struct {
	Storage struct {
		FailedAttempts int `json:"failed_attempts"`
	} `json:"storage"`
	Sources []struct {
		Downloaded int64 `json:"objects_downloaded"`
	} `json:"sources"`
}

// readStatus GETs /api/v1/sources from the status server at addr.
func readStatus(addr string) (statusReport, error) {
	var st statusReport
	body, err := httpGet("http://" + addr + "/api/v1/sources")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("decode /api/v1/sources %q: %w", body, err)
	}
	return st, nil
}

// statusMetric returns the value of a metric without labels on the
// status server's /metrics at addr.
func statusMetric(addr, name string) (float64, error) {
	body, err := httpGet("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no %s on /metrics", name)
}

// httpGet returns the body of a 200 answer to GET url.
func httpGet(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}

// exitCode returns the exit status of a process from its Wait error.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return 0
}

// syncBuffer is a bytes.Buffer safe to write from a process's output
// copier while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCmd runs the collector and returns its output and exit status.
func runCmd(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), 0
}

// runCLI runs the collector built by collectorBinary with args and returns
// its standard output and error, and its exit status.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(collectorBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// runToEnd runs `run --once` and waits for it.
func runToEnd(t *testing.T, bin, config string) time.Duration {
	t.Helper()
	began := time.Now()
	cmd := exec.Command(bin, "run", "--config", config, "--once", "--log-level", "warn")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	return time.Since(began)
}

// copyTree copies the files under src to dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// present returns the keys of the files under dir.
func present(t testing.TB, dir string) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			keys[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	return keys
}

// writeFile writes a file in a new folder and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := t.TempDir() + "/" + name
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
