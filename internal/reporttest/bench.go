package reporttest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/internal/tools"
	"github.com/vpcflow/vpcflow/report"
)

// benchVersion names what a cached benchmark dataset holds; it changes
// when the collector writes something new (v3: the derived total families
// and the rank index; v4: the families' steps and the hourly bound, no rank
// index).
const benchVersion = "v4"

// BenchDataset returns the VictoriaMetrics of the report benchmarks
// (report's BenchmarkReports, the plugin's BenchmarkQueryData)
// and the range of its data. The dataset is generated v5 flow logs,
// written as the collector writes them since issue 13 (samples on their
// family's step (as the aggregator writes them); the top-K families bounded to the collector's
// default top K, pipeline.DefaultTopK, label sets per VPC, action and hour,
// the rest folded: foldingSink), into a VictoriaMetrics whose data folder
// is kept in the cache (VPCFLOW_CACHE, default ~/.cache/vpcflow) for the
// next run with the same settings:
//
//	VPCFLOW_BENCH_REPORT_HOURS    span of the data; default 24
//	VPCFLOW_BENCH_REPORT_ENIS     network interfaces; default 2000
//	VPCFLOW_BENCH_REPORT_RECORDS  flow log records; default 3000000
//	VPCFLOW_BENCH_REPORT_TOPK     label sets kept per VPC, action and hour;
//	                              default the collector's, pipeline.DefaultTopK
//
// Loading logs (go test -v) how long the load took. Without the
// VictoriaMetrics binary the benchmark is skipped; while another
// benchmark holds the dataset's VictoriaMetrics, too.
func BenchDataset(b *testing.B) (vm *testserver.VM, from, to time.Time) {
	b.Helper()
	hours := benchEnv(b, "VPCFLOW_BENCH_REPORT_HOURS", 24)
	enis := benchEnv(b, "VPCFLOW_BENCH_REPORT_ENIS", 2000)
	records := benchEnv(b, "VPCFLOW_BENCH_REPORT_RECORDS", 3_000_000)
	topK := benchEnv(b, "VPCFLOW_BENCH_REPORT_TOPK", pipeline.DefaultTopK)
	name := fmt.Sprintf("reports-%dh-%denis-%drecords-top%d-%s", hours, enis, records, topK, benchVersion)
	dir, err := tools.CacheDir("bench", name)
	if err != nil {
		b.Fatal(err)
	}
	if err := probeLock(filepath.Join(dir, "vm", "flock.lock")); err != nil {
		b.Skipf("the dataset's VictoriaMetrics is in use (%v): run one benchmark on %s at a time", err, dir)
	}
	vm = testserver.VictoriaMetrics(b, "-storageDataPath="+filepath.Join(dir, "vm"))
	marker := filepath.Join(dir, "loaded")
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	from, to = start, start.Add(time.Duration(hours)*time.Hour)
	if _, err := os.Stat(marker); err == nil {
		return vm, from, to
	}
	began := time.Now()
	ds, err := LoadURL(vm.URL, Options{
		Generate:        generate.Config{Records: records, Seed: 42, Start: start, Duration: time.Duration(hours) * time.Hour, ENIs: enis, VPCs: max(3, enis/100), Accounts: 3},
		ObjectsPerBatch: 64,
		TopK:            topK,
		NoTruth:         true,
	})
	if err != nil {
		b.Fatal(err)
	}
	vm.Flush()
	b.Logf("loaded %d records in %d batches in %s into %s", ds.Records, ds.Batches, time.Since(began).Round(time.Second), dir)
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return vm, from, to
}

// benchEnv reads a positive integer setting of a benchmark.
func benchEnv(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// probeLock fails when another process holds the flock VictoriaMetrics
// takes on its data folder.
func probeLock(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return err
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// Latencies collects the latency of each iteration of a benchmark and
// reports their median and 95th percentile as p50-ms and p95-ms.
type Latencies []time.Duration

// Report reports the median and the 95th percentile to b.
func (l Latencies) Report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	s := slices.Sorted(slices.Values(l))
	pct := func(p float64) float64 {
		i := min(len(s)-1, int(p*float64(len(s))))
		return float64(s[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
}

// EachReport runs run as one sub-benchmark per format and report (named
// format/ID, in that order), timing each iteration, and reports the
// median and 95th percentile of each (Latencies).
func EachReport(b *testing.B, formats []report.Format, run func(b *testing.B, rep report.Report, format report.Format)) {
	b.Helper()
	for _, format := range formats {
		for _, rep := range report.Reports() {
			b.Run(string(format)+"/"+rep.ID, func(b *testing.B) {
				var lat Latencies
				for b.Loop() {
					t0 := time.Now()
					run(b, rep, format)
					lat = append(lat, time.Since(t0))
				}
				lat.Report(b)
			})
		}
	}
}
