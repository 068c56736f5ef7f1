package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/vmclient"
)

// BenchmarkReports measures the latency of every report, as a table (top
// 10 and Other) and as time series (top 10 and Other, one-minute steps)
// over the whole dataset, and reports the median and 95th percentile of
// the iterations as p50-ms and p95-ms. The dataset is
// reporttest.BenchDataset's: 24 hours of 2,000 interfaces by default.
//
// Run it with enough iterations for a 95th percentile, e.g.
//
//	go test ./report -run '^$' -bench Reports -benchtime 20x
//
// Without the VictoriaMetrics binary it is skipped.
func BenchmarkReports(b *testing.B) {
	vm, from, to := reporttest.BenchDataset(b)
	e, err := report.New(vmclient.Config{URL: vm.URL})
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
	reporttest.EachReport(b, []report.Format{report.FormatTable, report.FormatTimeSeries}, func(b *testing.B, r report.Report, format report.Format) {
		res, err := e.Run(ctx, report.Query{Report: r.ID, Top: 10, Format: format}, report.TimeRange{From: from, To: to, Step: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Rows) == 0 && len(res.Series) == 0 {
			b.Fatalf("%s: no data", r.ID)
		}
	})
}
