// Package testserver starts real servers for tests: a single-node
// VictoriaMetrics, a VictoriaMetrics cluster (vmstorage nodes, vminsert,
// vmselect) and a versitygw S3 gateway on 127.0.0.1, in temporary
// folders, stopped when the test ends. The processes are run by package
// internal/launch; the binaries come from the cache filled by
// `go tool mage tools` (see tools.EnsureTools), the cluster's from a
// folder of built binaries (see VictoriaMetricsCluster). Two are
// in-process instead: CredentialEcho, a stand-in for a server or proxy
// that echoes a request's credentials in its error answers, and EC2, a
// stand-in for the Amazon EC2 API (no EC2 server can be installed): an
// httptest server on 127.0.0.1 speaking the EC2 Query protocol as
// aws-sdk-go-v2's ec2 client does, describing the VPCs, subnets, network
// interfaces, instances and availability zones a test loads, with
// pagination, DryRun, throttling, denied actions and request counts.
package testserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/launch"
	"github.com/vpcflow/vpcflow/internal/tools"
)

// RequireServersEnv names the environment variable that turns a missing
// server binary from a skipped test into a failed one (`go tool mage test`
// sets it to 1).
const RequireServersEnv = "VPCFLOW_REQUIRE_SERVERS"

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

	t testing.TB
	p *launch.Process
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
	bin := requireTool(t, "victoria-metrics", "VictoriaMetrics")
	// The data folder (which holds the log) first: cleanups run last in,
	// first out, so it is removed only after the log tail is read.
	dir := t.TempDir()
	vm := &VM{t: t}
	t.Cleanup(func() {
		if vm.p == nil {
			return
		}
		vm.Stop()
		if t.Failed() {
			t.Logf("VictoriaMetrics log tail (%s):\n%s", vm.p.LogPath(), vm.LogTail())
		}
	})
	p, err := launch.StartVictoriaMetrics(context.Background(), bin, dir, flags)
	vm.p = p
	if err != nil {
		t.Fatalf("start VictoriaMetrics: %v\n%s", err, launch.LogNote(p))
	}
	vm.URL = p.URL()
	return vm
}

// requireTool returns the path of the pinned tool's binary (see
// tools.ToolPath). When it is not installed, the test is skipped, or fails
// if VPCFLOW_REQUIRE_SERVERS=1.
func requireTool(t testing.TB, tool, what string) string {
	t.Helper()
	bin, err := tools.ToolPath(tool)
	if err != nil {
		t.Fatalf("find %s: %v", what, err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(RequireServersEnv) == "1" {
			t.Fatalf("%s is not installed at %s (%s=1): run `go tool mage tools`", what, bin, RequireServersEnv)
		}
		t.Skipf("%s is not installed at %s: run `go tool mage tools` to install %s", what, bin, what)
	}
	return bin
}

// Start starts VictoriaMetrics again after Stop, on the same port and data
// folder. Call it from the test's goroutine: it fails the test on error.
func (vm *VM) Start() {
	vm.t.Helper()
	if err := vm.p.Start(context.Background()); err != nil {
		vm.t.Fatalf("restart VictoriaMetrics: %v\n%s", err, launch.LogNote(vm.p))
	}
}

// Stop stops VictoriaMetrics gracefully (SIGTERM, then SIGKILL after 5 s),
// keeping its data for Start. Stopping a stopped VM does nothing.
func (vm *VM) Stop() { vm.p.Stop() }

// Kill kills VictoriaMetrics with SIGKILL, as a crash would: the samples
// it acknowledged but had not yet saved to disk are lost. Start starts it
// again on the same data folder. Killing a stopped VM does nothing.
func (vm *VM) Kill() { vm.p.Kill() }

// LogTail returns the last lines of VictoriaMetrics' log (all runs of it).
func (vm *VM) LogTail() string {
	if vm.p == nil {
		return "(not started)"
	}
	return vm.p.LogTail()
}

// Flush makes every sample written so far queryable
// (GET /internal/force_flush). It fails the test on error.
func (vm *VM) Flush() {
	vm.t.Helper()
	if _, err := httpGet(vm.URL+"/internal/force_flush", nil); err != nil {
		vm.t.Fatalf("flush VictoriaMetrics: %v", err)
	}
}

// httpGet GETs u with params and returns the body of a 2xx answer.
func httpGet(u string, params url.Values) ([]byte, error) {
	return httpGetAs(u, params, "", "")
}

// httpGetAs is httpGet with HTTP basic auth when user is not empty.
func httpGetAs(u string, params url.Values, user, password string) ([]byte, error) {
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
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
	body, err := exportBody(vm.URL+"/api/v1/export", match)
	if err != nil {
		t.Fatal(err)
	}
	return parseExport(t, match, body)
}

// exportBody GETs an /api/v1/export URL for the series matching match,
// over all time. VictoriaMetrics caches which series a selector selects
// and may give the same answer for up to 10 s after new series appeared:
// each export adds a matcher of its own (uncached) so that a test sees the
// series written just before.
func exportBody(exportURL, match string) ([]byte, error) {
	return exportBodyAs(exportURL, match, "", "")
}

// exportBodyAs is exportBody with HTTP basic auth when user is not empty.
func exportBodyAs(exportURL, match, user, password string) ([]byte, error) {
	body, err := httpGetAs(exportURL, url.Values{"match[]": {uncached(match)}, "start": {"0"}}, user, password)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", match, err)
	}
	return body, nil
}

// exports numbers the exports, for uncached.
var exports atomic.Int64

// uncached adds to a series selector a matcher no series fails and no
// earlier selector had: `m` becomes `m{vpcflow_testserver_export!="N"}`,
// `{a="b"}` becomes `{a="b",vpcflow_testserver_export!="N"}`.
func uncached(match string) string {
	m := fmt.Sprintf(`vpcflow_testserver_export!="%d-%d"`, time.Now().UnixNano(), exports.Add(1))
	if i := strings.LastIndexByte(match, '}'); i >= 0 {
		if strings.TrimSpace(match[strings.LastIndexByte(match[:i], '{')+1:i]) == "" {
			return match[:i] + m + match[i:]
		}
		return match[:i] + "," + m + match[i:]
	}
	return match + "{" + m + "}"
}

// parseExport decodes the JSON lines of /api/v1/export.
func parseExport(t testing.TB, match string, body []byte) []ExportedSeries {
	t.Helper()
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
	return totals(vm.Export(t, match), groupBy)
}

// totals sums the values of series grouped by the groupBy labels.
func totals(series []ExportedSeries, groupBy []string) map[string]float64 {
	out := map[string]float64{}
	key := make([]string, len(groupBy))
	for _, s := range series {
		for i, l := range groupBy {
			key[i] = s.Metric[l]
		}
		k := strings.Join(key, "|")
		for _, v := range s.Values {
			out[k] += v
		}
	}
	return out
}

// Running reports whether the VictoriaMetrics process is running.
func (vm *VM) Running() bool { return vm.p.Running() }
