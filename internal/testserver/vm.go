// Package testserver starts real servers for tests: a single-node
// VictoriaMetrics and a versitygw S3 gateway on 127.0.0.1, in temporary
// folders, stopped when the test ends. Binaries come from the cache filled
// by `go tool mage tools` (see devtools.EnsureTools). CredentialEcho is the
// exception: an in-process stand-in for a server or proxy that echoes a
// request's credentials in its error answers.
package testserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/devtools"
)

// RequireServersEnv names the environment variable that turns a missing
// server binary from a skipped test into a failed one (`go tool mage test`
// sets it to 1).
const RequireServersEnv = "VPCFLOW_REQUIRE_SERVERS"

const (
	healthTimeout = 10 * time.Second
	stopTimeout   = 5 * time.Second
	logTailLines  = 40
)

// defaultVMFlags are the flags VictoriaMetrics starts with besides its data
// folder and listen address: deduplication at 1 ms (the exactly-once scheme
// relies on it), no retention limit for historical timestamps, and no
// caching or latency offset, so that just-written samples are queryable at
// once.
var defaultVMFlags = []string{
	"-dedup.minScrapeInterval=1ms",
	"-retentionPeriod=100y",
	"-search.disableCache",
	"-search.latencyOffset=0s",
}

// VM is a VictoriaMetrics single node run by a test.
type VM struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string

	t       testing.TB
	bin     string
	flags   []string // every flag except -httpListenAddr
	addr    string
	logPath string

	mu  sync.Mutex
	run *run // nil when stopped
}

// run is one run of the VictoriaMetrics process.
type run struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited, after err is set
	err    error         // cmd.Wait's result
}

// VictoriaMetrics starts a VictoriaMetrics single node with the default flags
// (-dedup.minScrapeInterval=1ms, -retentionPeriod=100y,
// -search.disableCache, -search.latencyOffset=0s) and a fresh data folder,
// and stops it when the test ends. extraFlags ("-name=value") are added;
// one naming a default flag replaces it. When the binary is missing, the test
// is skipped, or fails if VPCFLOW_REQUIRE_SERVERS=1.
func VictoriaMetrics(t testing.TB, extraFlags ...string) *VM {
	t.Helper()
	return start(t, mergeFlags(defaultVMFlags, extraFlags))
}

// VictoriaMetricsNoDedup is VictoriaMetrics without -dedup.minScrapeInterval
// (deduplication off, VictoriaMetrics' default), for tests showing what
// happens without it.
func VictoriaMetricsNoDedup(t testing.TB, extraFlags ...string) *VM {
	t.Helper()
	var flags []string
	for _, f := range mergeFlags(defaultVMFlags, extraFlags) {
		if flagName(f) != "dedup.minScrapeInterval" {
			flags = append(flags, f)
		}
	}
	return start(t, flags)
}

// mergeFlags returns base with each of extra appended, or replacing the
// base flag of the same name.
func mergeFlags(base, extra []string) []string {
	out := append([]string{}, base...)
	for _, e := range extra {
		replaced := false
		for i, b := range out {
			if flagName(b) == flagName(e) {
				out[i], replaced = e, true
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}

// flagName returns the name of a "-name=value" or "--name" flag.
func flagName(f string) string {
	f = strings.TrimLeft(f, "-")
	name, _, _ := strings.Cut(f, "=")
	return name
}

func start(t testing.TB, flags []string) *VM {
	t.Helper()
	bin, err := devtools.ToolPath("victoria-metrics")
	if err != nil {
		t.Fatalf("find VictoriaMetrics: %v", err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(RequireServersEnv) == "1" {
			t.Fatalf("VictoriaMetrics is not installed at %s (%s=1): run `go tool mage tools`", bin, RequireServersEnv)
		}
		t.Skipf("VictoriaMetrics is not installed at %s: run `go tool mage tools` to install VictoriaMetrics", bin)
	}
	dir := t.TempDir()
	vm := &VM{
		t:       t,
		bin:     bin,
		flags:   append([]string{"-storageDataPath=" + filepath.Join(dir, "data")}, flags...),
		logPath: filepath.Join(dir, "victoria-metrics.log"),
	}
	t.Cleanup(func() {
		vm.Stop()
		if t.Failed() {
			t.Logf("VictoriaMetrics log tail (%s):\n%s", vm.logPath, vm.LogTail())
		}
	})
	// A free port may be taken between our probe and VictoriaMetrics'
	// listen: try a second one before giving up.
	for attempt := 1; ; attempt++ {
		port, err := devtools.FreePort()
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		vm.addr = "127.0.0.1:" + strconv.Itoa(port)
		vm.URL = "http://" + vm.addr
		err = vm.start()
		if err == nil {
			return vm
		}
		if attempt == 2 || !vm.bindFailed() {
			t.Fatalf("start VictoriaMetrics: %v\nlog tail (%s):\n%s", err, vm.logPath, vm.LogTail())
		}
	}
}

// Start starts VictoriaMetrics again after Stop, on the same port and data
// folder. Call it from the test's goroutine: it fails the test on error.
func (vm *VM) Start() {
	vm.t.Helper()
	if err := vm.start(); err != nil {
		vm.t.Fatalf("restart VictoriaMetrics: %v\nlog tail (%s):\n%s", err, vm.logPath, vm.LogTail())
	}
}

func (vm *VM) start() error {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if vm.run != nil {
		return fmt.Errorf("VictoriaMetrics at %s is already running", vm.URL)
	}
	logFile, err := os.OpenFile(vm.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fmt.Fprintf(logFile, "=== vpcflow testserver: starting on %s\n", vm.addr)
	cmd := exec.Command(vm.bin, append([]string{"-httpListenAddr=" + vm.addr}, vm.flags...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("run %s: %w", vm.bin, err)
	}
	r := &run{cmd: cmd, exited: make(chan struct{})}
	vm.run = r
	go func() {
		r.err = cmd.Wait()
		logFile.Close()
		close(r.exited)
	}()
	if err := vm.waitHealthy(r); err != nil {
		vm.stopLocked()
		return err
	}
	return nil
}

// waitHealthy polls /health until it answers OK, the process exits, or
// healthTimeout passes.
func (vm *VM) waitHealthy(r *run) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(healthTimeout)
	for {
		resp, err := client.Get(vm.URL + "/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "OK" {
				return nil
			}
			err = fmt.Errorf("status %s: %q", resp.Status, body)
		}
		select {
		case <-r.exited:
			return fmt.Errorf("VictoriaMetrics on %s exited before it was healthy: %v", vm.addr, r.err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("VictoriaMetrics on %s not healthy after %s: GET /health: %v", vm.addr, healthTimeout, err)
		}
	}
}

// bindFailed reports whether the log says the listen address was taken.
func (vm *VM) bindFailed() bool {
	tail := vm.LogTail()
	return strings.Contains(tail, "address already in use") || strings.Contains(tail, "cannot start http server")
}

// Stop stops VictoriaMetrics gracefully (SIGTERM, then SIGKILL after 5 s),
// keeping its data for Start. Stopping a stopped VM does nothing.
func (vm *VM) Stop() {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	vm.stopLocked()
}

func (vm *VM) stopLocked() {
	r := vm.run
	if r == nil {
		return
	}
	vm.run = nil
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(stopTimeout):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// Kill kills VictoriaMetrics with SIGKILL, as a crash would: the samples
// it acknowledged but had not yet saved to disk are lost. Start starts it
// again on the same data folder. Killing a stopped VM does nothing.
func (vm *VM) Kill() {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	r := vm.run
	if r == nil {
		return
	}
	vm.run = nil
	_ = r.cmd.Process.Kill()
	<-r.exited
}

// LogTail returns the last lines of VictoriaMetrics' log (all runs of it).
func (vm *VM) LogTail() string {
	data, err := os.ReadFile(vm.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// Flush makes every sample written so far queryable
// (GET /internal/force_flush). It fails the test on error.
func (vm *VM) Flush() {
	vm.t.Helper()
	if _, err := vm.get("/internal/force_flush", nil); err != nil {
		vm.t.Fatalf("flush VictoriaMetrics: %v", err)
	}
}

func (vm *VM) get(path string, params url.Values) ([]byte, error) {
	u := vm.URL + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	resp, err := http.Get(u)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("get %s: %s: %s", u, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// ExportedSeries is one series of /api/v1/export: its labels (with
// __name__) and raw samples, deduplicated by VictoriaMetrics when it runs
// with -dedup.minScrapeInterval.
type ExportedSeries struct {
	Metric     map[string]string `json:"metric"`
	Values     []float64         `json:"values"`
	Timestamps []int64           `json:"timestamps"`
}

// Export returns every series matching the series selector match (for
// example `{__name__=~"vpcflow_.*"}`) over all time. It does not flush:
// call Flush first for fresh samples.
func (vm *VM) Export(t testing.TB, match string) []ExportedSeries {
	t.Helper()
	body, err := vm.get("/api/v1/export", url.Values{"match[]": {match}, "start": {"0"}})
	if err != nil {
		t.Fatalf("export %s: %v", match, err)
	}
	var out []ExportedSeries
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var s ExportedSeries
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("export %s: decode %q: %v", match, sc.Bytes(), err)
		}
		if len(s.Values) != len(s.Timestamps) {
			t.Fatalf("export %s: %d values but %d timestamps in %v", match, len(s.Values), len(s.Timestamps), s.Metric)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("export %s: %v", match, err)
	}
	return out
}

// Totals sums every exported sample value of the series matching match,
// grouped by the values of the groupBy labels joined with "|" (a missing
// label counts as ""). Without groupBy, the single key is "".
func (vm *VM) Totals(t testing.TB, match string, groupBy ...string) map[string]float64 {
	t.Helper()
	totals := map[string]float64{}
	key := make([]string, len(groupBy))
	for _, s := range vm.Export(t, match) {
		for i, l := range groupBy {
			key[i] = s.Metric[l]
		}
		k := strings.Join(key, "|")
		for _, v := range s.Values {
			totals[k] += v
		}
	}
	return totals
}

// Running reports whether the VictoriaMetrics process is running.
func (vm *VM) Running() bool {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.run != nil
}
