package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/report"
	"github.com/vpcflow/vpcflow/collector/report/reporttest"
	"github.com/vpcflow/vpcflow/internal/devtools"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
)

// benchEnv reads a positive integer setting of the benchmark.
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

// BenchmarkQueryData measures QueryData as a dashboard panel calls it, for
// every report as a time series and as a table (the frontend's defaults:
// rate, top 10 and Other; a 24-hour panel's interval of a minute and 1000
// points at most, so two-minute steps), over the whole dataset, and reports
// the median and 95th percentile of the iterations as p50-ms and p95-ms.
// The target is a p95 under 300 ms per report on 24 hours of 2,000
// interfaces.
//
// The dataset is the one collector/report's BenchmarkReports uses (the
// same generator settings and cache folder, loaded by whichever runs
// first): generated v5 flow logs collected with top-K 1000 into a
// VictoriaMetrics whose data folder is kept in the cache (VPCFLOW_CACHE,
// default ~/.cache/vpcflow):
//
//	VPCFLOW_BENCH_REPORT_HOURS    span of the data; default 24
//	VPCFLOW_BENCH_REPORT_ENIS     network interfaces; default 2000
//	VPCFLOW_BENCH_REPORT_RECORDS  flow log records; default 3000000
//
// Run it with enough iterations for a 95th percentile, e.g.
//
//	go test ./plugin/pkg/plugin -run '^$' -bench QueryData -benchtime 20x
//
// Without the VictoriaMetrics binary it is skipped; while another
// benchmark holds the dataset's VictoriaMetrics, too.
func BenchmarkQueryData(b *testing.B) {
	hours := benchEnv(b, "VPCFLOW_BENCH_REPORT_HOURS", 24)
	enis := benchEnv(b, "VPCFLOW_BENCH_REPORT_ENIS", 2000)
	records := benchEnv(b, "VPCFLOW_BENCH_REPORT_RECORDS", 3_000_000)
	name := fmt.Sprintf("reports-%dh-%denis-%drecords", hours, enis, records)
	dir, err := devtools.CacheDir("bench", name)
	if err != nil {
		b.Fatal(err)
	}
	if err := probeLock(filepath.Join(dir, "vm", "flock.lock")); err != nil {
		b.Skipf("the dataset's VictoriaMetrics is in use (%v): run one benchmark on %s at a time", err, dir)
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
	ctx := context.Background()
	inst, err := plugin.NewDatasource(ctx, backend.DataSourceInstanceSettings{ID: 1, UID: "bench", JSONData: []byte(`{"url":"` + vm.URL + `"}`)})
	if err != nil {
		b.Fatal(err)
	}
	d := inst.(*plugin.Datasource)
	defer d.Dispose()
	run := func(b *testing.B, model map[string]any) {
		req := &backend.QueryDataRequest{Queries: []backend.DataQuery{dq("A", from, to, time.Minute, 1000, model)}}
		resp, err := d.QueryData(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		r := resp.Responses["A"]
		if r.Error != nil {
			b.Fatalf("%v: %v", model, r.Error)
		}
		if len(r.Frames) == 0 || len(r.Frames[0].Fields) == 0 {
			b.Fatalf("%v: no data", model)
		}
	}
	// Warm VictoriaMetrics' index caches once, as a running one would be.
	for _, r := range report.Reports() {
		run(b, map[string]any{"report": r.ID, "format": "table"})
	}
	for _, format := range []report.Format{report.FormatTimeSeries, report.FormatTable} {
		for _, r := range report.Reports() {
			b.Run(string(format)+"/"+r.ID, func(b *testing.B) {
				model := map[string]any{"report": r.ID, "format": format}
				var lat []time.Duration
				for b.Loop() {
					t0 := time.Now()
					run(b, model)
					lat = append(lat, time.Since(t0))
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
