package report_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/report"
	"github.com/vpcflow/vpcflow/collector/report/reporttest"
	"github.com/vpcflow/vpcflow/internal/devtools"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// benchEnv reads an integer setting of the benchmark.
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

// BenchmarkReports measures the latency of every report, as a table (top
// 10 and Other) and as time series (top 10 and Other, one-minute steps)
// over the whole dataset, and reports the median and 95th percentile of
// the iterations as p50-ms and p95-ms. The dataset is generated flow logs
// (v5) collected with top-K 1000 into a VictoriaMetrics whose data folder
// is kept in the cache (VPCFLOW_CACHE, default ~/.cache/vpcflow) for the
// next run with the same settings:
//
//	VPCFLOW_BENCH_REPORT_HOURS    span of the data; default 24
//	VPCFLOW_BENCH_REPORT_ENIS     network interfaces; default 2000
//	VPCFLOW_BENCH_REPORT_RECORDS  flow log records; default 3000000
//
// Run it with enough iterations for a 95th percentile, e.g.
//
//	go test ./collector/report -run '^$' -bench Reports -benchtime 20x
//
// Without the VictoriaMetrics binary it is skipped.
func BenchmarkReports(b *testing.B) {
	hours := benchEnv(b, "VPCFLOW_BENCH_REPORT_HOURS", 24)
	enis := benchEnv(b, "VPCFLOW_BENCH_REPORT_ENIS", 2000)
	records := benchEnv(b, "VPCFLOW_BENCH_REPORT_RECORDS", 3_000_000)
	name := fmt.Sprintf("reports-%dh-%denis-%drecords", hours, enis, records)
	dir, err := devtools.CacheDir("bench", name)
	if err != nil {
		b.Fatal(err)
	}
	vm := testserver.VictoriaMetrics(b, "-storageDataPath="+filepath.Join(dir, "vm"))
	marker := filepath.Join(dir, "loaded")
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	from, to := start, start.Add(time.Duration(hours)*time.Hour)
	if _, err := os.Stat(marker); err != nil {
		began := time.Now()
		ds, err := reporttest.LoadURL(vm.URL, reporttest.Options{
			Generate:        generate.Config{Records: records, Seed: 42, Start: start, Duration: time.Duration(hours) * time.Hour, ENIs: enis, VPCs: max(3, enis/100), Accounts: 3},
			ObjectsPerBatch: 64,
			TopK:            1000,
			NoTruth:         true,
		})
		if err != nil {
			b.Fatal(err)
		}
		vm.Flush()
		if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d records in %d batches in %s into %s", ds.Records, ds.Batches, time.Since(began).Round(time.Second), dir)
	}
	e, err := report.New(report.Config{URL: vm.URL})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// Warm VictoriaMetrics' index caches once, as a running one would be.
	for _, r := range report.Reports() {
		if _, err := e.Table(ctx, report.Query{Report: r.ID, Top: 10}, from, to); err != nil {
			b.Fatal(err)
		}
	}
	for _, format := range []report.Format{report.FormatTable, report.FormatTimeSeries} {
		for _, r := range report.Reports() {
			b.Run(string(format)+"/"+r.ID, func(b *testing.B) {
				q := report.Query{Report: r.ID, Top: 10, Format: format}
				var lat []time.Duration
				for b.Loop() {
					t0 := time.Now()
					res, err := e.Run(ctx, q, report.TimeRange{From: from, To: to, Step: time.Minute})
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
					if len(res.Rows) == 0 && len(res.Series) == 0 {
						b.Fatalf("%s: no data", r.ID)
					}
				}
				slices.Sort(lat)
				pct := func(p float64) float64 {
					i := min(len(lat)-1, int(p*float64(len(lat))))
					return float64(lat[i].Microseconds()) / 1000
				}
				b.ReportMetric(pct(0.5), "p50-ms")
				b.ReportMetric(pct(0.95), "p95-ms")
			})
		}
	}
}
