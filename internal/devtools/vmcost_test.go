package devtools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/tools"
)

func TestParseMetricsPage(t *testing.T) {
	f := func(page string, want metricsPage, wantErr string) {
		t.Helper()
		got, err := parseMetricsPage(strings.NewReader(page))
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%q: error %v, want one with %q", page, err, wantErr)
			}
			return
		}
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("%q: got %v, %v; want %v", page, got, err, want)
		}
	}
	f("", metricsPage{}, "")
	f("# HELP x y\n# TYPE x counter\nx 1\n\n", metricsPage{"x": 1}, "")
	f(`vm_rows_inserted_total{type="promremotewrite"} 5560248`+"\n"+`vm_rows_inserted_total{type="native"} 0`,
		metricsPage{`vm_rows_inserted_total{type="promremotewrite"}`: 5560248, `vm_rows_inserted_total{type="native"}`: 0}, "")
	f(`a{path="/x y",q="}"} 2.5e3 1700000000000`, metricsPage{`a{path="/x y",q="}"}`: 2500}, "")
	f("process_resident_memory_bytes 8.4362e+08", metricsPage{"process_resident_memory_bytes": 843620000}, "")
	f("x", nil, "no value")
	f(`x{a="b"}`, nil, "want a value")
	f("x one", nil, "line 1")
	f("ok 1\nx 1 2 3", nil, "line 2")
}

func TestMetricsPageSum(t *testing.T) {
	m := metricsPage{
		`vm_active_merges{type="storage/small"}`: 1, `vm_active_merges{type="indexdb/file"}`: 2,
		"vm_active_merges_x": 10, `vm_active_mergesx{a="b"}`: 20, "vm_active": 40, "vm_new_timeseries_created_total": 7,
	}
	f := func(name string, want float64) {
		t.Helper()
		if got := m.sum(name); got != want {
			t.Errorf("sum(%s) = %v, want %v", name, got, want)
		}
	}
	f("vm_active_merges", 3)
	f("vm_active", 40)
	f("vm_new_timeseries_created_total", 7)
	f("vm_missing", 0)
}

func TestVMIdle(t *testing.T) {
	idle := metricsPage{
		`vm_pending_rows{type="storage"}`: 0, `vm_pending_rows{type="indexdb"}`: 0,
		`vm_active_merges{type="storage/small"}`: 0, `vm_active_merges{type="indexdb/file"}`: 0, "vm_active_force_merges": 0,
		`vm_parts{type="storage/inmemory"}`: 0, `vm_parts{type="indexdb/inmemory"}`: 0, `vm_parts{type="storage/small"}`: 4,
	}
	if !vmIdle(idle) {
		t.Error("not idle at rest")
	}
	for _, busy := range []string{`vm_pending_rows{type="indexdb"}`, `vm_active_merges{type="indexdb/file"}`, "vm_active_force_merges",
		`vm_parts{type="storage/inmemory"}`, `vm_parts{type="indexdb/inmemory"}`} {
		m := maps.Clone(idle)
		m[busy] = 1
		if vmIdle(m) {
			t.Errorf("idle with %s = 1", busy)
		}
	}
}

func TestParseSeriesCount(t *testing.T) {
	f := func(body string, want int64, wantErr bool) {
		t.Helper()
		got, err := parseSeriesCount([]byte(body))
		if (err != nil) != wantErr || got != want {
			t.Errorf("%s: got %d, %v; want %d (error: %v)", body, got, err, want, wantErr)
		}
	}
	f(`{"status":"success","data":[499027]}`, 499027, false)
	f(`{"status":"success","data":[0]}`, 0, false)
	f(`{"status":"error","error":"x"}`, 0, true)
	f(`{"status":"success","data":[]}`, 0, true)
	f(`{"status":"success","data":[1,2]}`, 0, true)
	f(`<html>`, 0, true)
}

func TestParseSeriesList(t *testing.T) {
	f := func(body string, want int64, wantErr bool) {
		t.Helper()
		got, err := parseSeriesList([]byte(body))
		if (err != nil) != wantErr || got != want {
			t.Errorf("%s: got %d, %v; want %d (error: %v)", body, got, err, want, wantErr)
		}
	}
	f(`{"status":"success","data":[{"__name__":"vpcflow_collector_ledger","instance":"0/1","ledger":"b181ae17f01916ee","source":"bench"}]}`, 1, false)
	f(`{"status":"success","data":[{"__name__":"a"},{"__name__":"b"}]}`, 2, false)
	f(`{"status":"success","data":[]}`, 0, false)
	f(`{"status":"error"}`, 0, true)
	f(`[`, 0, true)
}

func TestParseTSDBNames(t *testing.T) {
	f := func(body string, want map[string]int64, wantErr string) {
		t.Helper()
		got, err := parseTSDBNames([]byte(body))
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%s: error %v, want one with %q", body, err, wantErr)
			}
			return
		}
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("%s: got %v, %v; want %v", body, got, err, want)
		}
	}
	f(`{"status":"success","data":{"totalSeries":7,"seriesCountByMetricName":[{"name":"vpcflow_src_bytes","value":5,"requestsCount":3},{"name":"vpcflow_total_flows","value":2}]}}`,
		map[string]int64{"vpcflow_src_bytes": 5, "vpcflow_total_flows": 2}, "")
	f(`{"status":"success","data":{"totalSeries":0,"seriesCountByMetricName":[]}}`, map[string]int64{}, "")
	f(`{"status":"success","data":{"totalSeries":8,"seriesCountByMetricName":[{"name":"a","value":5}]}}`, nil, "5 series by name of 8")
	f(`{"status":"error","error":"bad date"}`, nil, "read /api/v1/status/tsdb")
}

func TestFamilyOf(t *testing.T) {
	f := func(name, want string, wantOK bool) {
		t.Helper()
		got, ok := familyOf(name)
		if got != want || ok != wantOK {
			t.Errorf("familyOf(%s) = %q, %v; want %q, %v", name, got, ok, want, wantOK)
		}
	}
	f("vpcflow_src_bytes", "src", true)
	f("vpcflow_app_total_packets", "app_total", true)
	f("vpcflow_pair_total_flows", "pair_total", true)
	f("vpcflow_rank_bytes", "rank", true)
	f("vpcflow_status_records", "status_records", true)
	f("vpcflow_entity_info", "entity_info", true)
	f("vpcflow_collector_ledger", "", false)
	f("vm_rows", "", false)
	f("up", "", false)
}

func TestFamilyShares(t *testing.T) {
	f := func(families map[string]int64, want string) {
		t.Helper()
		if got := familyShares(families); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f(nil, "no series")
	f(map[string]int64{"src": 0}, "no series")
	f(map[string]int64{"total": 1, "src": 600, "dst": 299, "app": 100}, "src 60.0%, dst 29.9%, app 10.0%, total 0.1%")
	f(map[string]int64{"b": 1, "a": 1}, "a 50.0%, b 50.0%")
}

// writeTree writes files (path relative to root: size) under root.
func writeTree(t *testing.T, root string, files map[string]int) {
	t.Helper()
	for path, size := range files {
		p := filepath.Join(root, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStorageBytes(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]int{
		"flock.lock": 0, "metadata/minTimestampForCompositeIndex": 8,
		"data/small/2026_11/parts.json": 100, "data/small/2026_11/17F0/values.bin": 1000, "data/big/2026_11/parts.json": 10,
		"data/indexdb/2026_11/17F1/items.bin": 300, "data/indexdb/2026_11/parts.json": 20,
		"data/small/2026_11/indexdbx/x": 4, // not an index folder
	})
	total, index, err := storageBytes(root)
	if err != nil || total != 1442 || index != 320 {
		t.Errorf("got %d, %d, %v; want 1442, 320", total, index, err)
	}
	if _, _, err := storageBytes(filepath.Join(root, "missing")); err == nil {
		t.Error("no error for a missing folder")
	}
}

func TestPartitionsWithParts(t *testing.T) {
	f := func(files map[string]int, dirs []string, want int, wantErr bool) {
		t.Helper()
		root := t.TempDir()
		writeTree(t, root, files)
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(d)), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		got, err := partitionsWithParts(root)
		if got != want || (err != nil) != wantErr {
			t.Errorf("%v %v: got %d, %v; want %d (error: %v)", files, dirs, got, err, want, wantErr)
		}
	}
	f(nil, []string{"data/small", "data/big"}, 0, false)
	f(map[string]int{"data/small/2026_11/parts.json": 2, "data/big/2026_11/parts.json": 2},
		[]string{"data/small/snapshots/x", "data/big/snapshots"}, 0, false) // partitions without parts
	f(map[string]int{"data/small/2026_11/17F0/values.bin": 1, "data/big/2026_11/17F1/values.bin": 1, "data/small/2026_12/17F2/values.bin": 1},
		[]string{"data/big/2026_12"}, 2, false)
	f(map[string]int{"data/big/2026_01/17F0/values.bin": 1}, []string{"data/small"}, 1, false)
	f(nil, []string{"data/small"}, 0, true) // no big folder: not a VictoriaMetrics data folder
}

// requireVMBinary skips the test when the pinned VictoriaMetrics is not
// installed, or fails it when VPCFLOW_REQUIRE_SERVERS=1.
func requireVMBinary(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"victoria-metrics", "versitygw"} {
		bin, err := tools.ToolPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("VPCFLOW_REQUIRE_SERVERS") == "1" {
				t.Fatalf("%s is not installed at %s: run `go tool mage tools`", tool, bin)
			}
			t.Skipf("%s is not installed at %s: run `go tool mage tools`", tool, bin)
		}
	}
}

// TestMeasureCost measures a VictoriaMetrics holding known series: the
// families' series exactly (the collector's own left out), their shares,
// the size on disk after settling, and its memory.
func TestMeasureCost(t *testing.T) {
	requireVMBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	vm, err := startVM(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Stop()

	// 30 src, 20 dst and 5 rank series on 2026-01-01, over a few minutes;
	// 2 markers today (another partition), as the collector writes them.
	var lines bytes.Buffer
	add := func(labels map[string]string, ts ...int64) {
		values := make([]float64, len(ts))
		for i := range values {
			values[i] = float64(i + 1)
		}
		line, err := json.Marshal(map[string]any{"metric": labels, "values": values, "timestamps": ts})
		if err != nil {
			t.Fatal(err)
		}
		lines.Write(append(line, '\n'))
	}
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC).UnixMilli()
	for i := range 30 {
		add(map[string]string{"__name__": "vpcflow_src_bytes", "interface_id": "eni-1", "src_addr": fmt.Sprintf("10.0.0.%d", i)}, t0, t0+60_000, t0+120_000)
	}
	for i := range 20 {
		add(map[string]string{"__name__": "vpcflow_dst_packets", "interface_id": "eni-1", "dst_addr": fmt.Sprintf("10.0.1.%d", i)}, t0+60_000)
	}
	for i := range 5 {
		add(map[string]string{"__name__": "vpcflow_rank_bytes", "view": "src", "rank": fmt.Sprint(i)}, t0)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour).UnixMilli()
	for _, ledger := range []string{"a", "b"} {
		add(map[string]string{"__name__": "vpcflow_collector_ledger", "source": "bench", "ledger": ledger}, today)
	}
	importLines := func(data []byte) {
		t.Helper()
		resp, err := http.Post(vm.URL()+"/api/v1/import", "application/json", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("import: %s", resp.Status)
		}
	}
	// The same samples twice, flushed apart: once settled, the parts hold
	// them once (117 samples), as -dedup.minScrapeInterval=1ms keeps them.
	importLines(lines.Bytes())
	if _, err := vmGet(ctx, vm.URL()+"/internal/force_flush"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitVM(ctx, vm.URL(), "the flush", vmIdle); err != nil {
		t.Fatal(err)
	}
	importLines(lines.Bytes())

	merges := func(m metricsPage) float64 {
		return m[`vm_merges_total{type="storage/small"}`] + m[`vm_merges_total{type="storage/big"}`]
	}
	before, err := vmMetrics(ctx, vm.URL())
	if err != nil {
		t.Fatal(err)
	}
	storage := filepath.Join(dir, "data")
	c, err := measureCost(ctx, vm.URL(), storage, []string{"2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if c.series != 55 {
		t.Errorf("series %d, want 55", c.series)
	}
	if want := map[string]int64{"src": 30, "dst": 20, "rank": 5}; !maps.Equal(c.families, want) {
		t.Errorf("families %v, want %v", c.families, want)
	}
	total, index, err := storageBytes(storage)
	if err != nil {
		t.Fatal(err)
	}
	if c.dataBytes != total || c.indexBytes != index || index <= 0 || index >= total {
		t.Errorf("data %d bytes, index %d; on disk %d, %d", c.dataBytes, c.indexBytes, total, index)
	}
	// VictoriaMetrics reads its resident size and its peak at two moments
	// of one /metrics page: the peak may lag a growing RSS by a few pages.
	if c.rss < 1<<20 || c.peakRSS < c.rss-1<<20 {
		t.Errorf("RSS %d, peak %d", c.rss, c.peakRSS)
	}
	// Settled: at rest, every sample in files, each of the two partitions
	// merged into files by the forced merge.
	m, err := vmMetrics(ctx, vm.URL())
	if err != nil {
		t.Fatal(err)
	}
	if !vmIdle(m) {
		t.Errorf("not at rest after measuring: %v", m)
	}
	if n := merges(m) - merges(before); n < 2 {
		t.Errorf("%v merges into files while measuring, want at least 2 (a forced merge per partition)", n)
	}
	if parts := m[`vm_parts{type="storage/small"}`] + m[`vm_parts{type="storage/big"}`]; parts != 2 {
		t.Errorf("%v parts of samples, want 2 (one per partition)", parts)
	}
	if rows := m[`vm_rows{type="storage/small"}`] + m[`vm_rows{type="storage/big"}`]; rows != 117 {
		t.Errorf("%v samples in the parts, want 117 (deduplicated)", rows)
	}
}

// TestBenchEndToEnd runs the end to end part on a small data set: the
// collector into an empty VictoriaMetrics, what it costs, then again with
// a fresh ledger over the same storage and from S3 (which a collector
// refuses without --lost-state: the storage holds the first ledger's
// traces).
func TestBenchEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the collector")
	}
	requireVMBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	bin, err := BuildCollector(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	spec := genSpec{3000, 3, time.Date(2026, 1, 3, 23, 55, 0, 0, time.UTC), 30 * time.Minute} // over two days
	set := e2eSet{name: "test", short: "test", dir: filepath.Join(tmp, "data"), spec: spec, s3: true}
	digest, err := generatorDigest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := generated(ctx, bin, set.dir, spec.args("v5"), digest)
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "work")
	runs, err := benchEndToEnd(ctx, bin, work, set)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]e2eResult{"empty storage": runs.cold, "series existing": runs.warm, "from S3": runs.fromS3} {
		if r.records != 3000 || r.batches < 1 || r.samples() < r.records || r.seconds <= 0 || r.peakRSS <= 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	c := runs.cost
	// Two measures of the series agree: those VictoriaMetrics created
	// in the first run, less its marker, and those counted after it.
	if c.series <= 0 || c.series != runs.cold.series-1 {
		t.Errorf("%d series counted, %d created by the first run (one of them its marker)", c.series, runs.cold.series)
	}
	if c.samples != runs.cold.samples() {
		t.Errorf("cost samples %d, first run %d", c.samples, runs.cold.samples())
	}
	for _, family := range []string{"interface", "src", "dst", "pair", "app", "total"} {
		if c.families[family] <= 0 {
			t.Errorf("no %s series: %v", family, c.families)
		}
	}
	if c.dataBytes <= c.indexBytes || c.indexBytes <= 0 || c.rss <= 0 {
		t.Errorf("data %d bytes, index %d, RSS %d", c.dataBytes, c.indexBytes, c.rss)
	}
	if len(files) == 0 {
		t.Error("no files generated")
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("the work folder is left: %v", err)
	}
}
