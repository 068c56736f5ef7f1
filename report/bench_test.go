package report_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// BenchmarkReports measures the latency of every report, as a table (top
// 10 and Other) and as time series (top 10 and Other, a one-minute step
// asked for: the data's step, one or five minutes, 1,440 or 288 points)
// over the whole dataset, and reports the median and 95th percentile of
// the iterations as p50-ms and p95-ms. For the reports of the bounded
// families (src, dst, app, pair) it also times the table of every row
// (table-all: the label sets summed by VictoriaMetrics, sorted in Go),
// the alternative to top N's topk_max. The dataset is
// reporttest.BenchDataset's: 24 hours of 2,000 interfaces by default; the
// series of each family over it are logged.
//
// Run it with enough iterations for a 95th percentile, e.g.
//
//	go test ./report -run '^$' -bench Reports -benchtime 20x -v
//
// Without the VictoriaMetrics binary it is skipped.
func BenchmarkReports(b *testing.B) {
	vm, from, to := reporttest.BenchDataset(b)
	e, err := report.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, f := range schema.Families() {
		s, err := e.Client().Instant(ctx, fmt.Sprintf("count(count_over_time(%s[%ds]))", f.MetricNames()[0], int(to.Sub(from).Seconds())), to.Add(-time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		if len(s) == 1 {
			b.Logf("%s: %.0f series (per metric) over the dataset", f.Name, s[0].Value)
		}
	}
	// Warm VictoriaMetrics' index caches once, as a running one would be.
	for _, r := range report.Reports() {
		if _, err := e.Table(ctx, report.Query{Report: r.ID, Top: 10}, from, to); err != nil {
			b.Fatal(err)
		}
	}
	reporttest.EachReport(b, []report.Format{report.FormatTable, report.FormatTimeSeries}, func(b *testing.B, r report.Report, format report.Format) {
		res, err := e.Run(ctx, report.Query{Report: r.ID, Top: 10, Format: format}, report.TimeRange{From: from, To: to, Step: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Rows) == 0 && len(res.Series) == 0 {
			b.Fatalf("%s: no data", r.ID)
		}
	})
	for _, r := range report.Reports() {
		if !r.FamilyDef().TopK {
			continue
		}
		b.Run("table-all/"+r.ID, func(b *testing.B) {
			var lat reporttest.Latencies
			for b.Loop() {
				t0 := time.Now()
				res, err := e.Table(ctx, report.Query{Report: r.ID}, from, to)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				b.ReportMetric(float64(len(res.Rows)), "rows")
			}
			lat.Report(b)
		})
	}
}
