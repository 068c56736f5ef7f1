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
	// The rank index picks the rows of the large families' reports: count
	// the rows of their top 10 that are not the exact top 10 (the family
	// read whole, as for N over MaxIndexedTop).
	missed := 0
	for _, r := range report.Reports() {
		if r.Rank == "" {
			continue
		}
		for _, m := range r.Metrics {
			idx, err := e.Table(ctx, report.Query{Report: r.ID, Metric: m, Top: 10}, from, to)
			if err != nil {
				b.Fatal(err)
			}
			all, err := e.Table(ctx, report.Query{Report: r.ID, Metric: m, Top: report.MaxIndexedTop + 1}, from, to)
			if err != nil {
				b.Fatal(err)
			}
			exact := map[string]float64{}
			for _, row := range all.Rows {
				if !row.Other && len(exact) < 10 {
					exact[reporttest.Key(row.Labels, r.GroupBy)] = row.Value
				}
			}
			for _, row := range idx.Rows {
				if k := reporttest.Key(row.Labels, r.GroupBy); !row.Other && exact[k] != row.Value {
					missed++
					b.Logf("%s %s: row %s (%v) is not in the exact top 10", r.ID, m, k, row.Value)
				}
			}
		}
	}
	b.Logf("rank index: %d rows of the large families' top 10s differ from the exact top 10s", missed)
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
