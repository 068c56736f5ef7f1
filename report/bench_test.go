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

// BenchmarkReports measures the latency of every report with names (as
// the report command and the plugin ask for them), as a table (top 10 and
// Other) and as time series (top 10 and Other, a one-minute step asked
// for: the data's step, one or five minutes, 1,440 or 288 points) over the
// whole dataset, and reports the median and 95th percentile of the
// iterations as p50-ms and p95-ms. For the reports with id columns each
// iteration also runs the query without names, the two in turn, reported
// as nonames-p50-ms and nonames-p95-ms: the cost of the join under the
// same load. For the reports of the bounded families (src, dst, app,
// pair) the table of every row (table-all: the label sets summed by
// VictoriaMetrics, sorted in Go, with names), the alternative to top N's
// topk_max; and the names query alone, for 10 interfaces and for all of
// them (names/N-interfaces); and the node graphs of the pair reports
// (node_graph/ID/top-N: top 50 and 0, with names, their edges and nodes).
// The dataset is reporttest.BenchDataset's: 24 hours of 2,000
// interfaces by default, every entity named by hourly entity info; the
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
		res, err := e.Table(ctx, report.Query{Report: r.ID, Top: 10, Names: true}, from, to)
		if err != nil {
			b.Fatal(err)
		}
		named := 0
		for _, row := range res.Rows {
			if len(row.Names) > 0 {
				named++
			}
		}
		if len(r.IDColumns()) > 0 && named == 0 {
			b.Fatalf("%s: no names in the dataset", r.ID)
		}
	}
	run := func(b *testing.B, r report.Report, format report.Format, names bool) {
		res, err := e.Run(ctx, report.Query{Report: r.ID, Top: 10, Format: format, Names: names}, report.TimeRange{From: from, To: to, Step: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Rows) == 0 && len(res.Series) == 0 {
			b.Fatalf("%s: no data", r.ID)
		}
	}
	// With names (p50-ms, p95-ms) and, for the reports with id columns,
	// without (nonames-p50-ms, nonames-p95-ms), the two in turn (which
	// first alternates), so that both see the same load of the machine.
	for _, format := range []report.Format{report.FormatTable, report.FormatTimeSeries} {
		for _, r := range report.Reports() {
			b.Run(string(format)+"/"+r.ID, func(b *testing.B) {
				var on, off reporttest.Latencies
				timed := func(names bool) {
					t0 := time.Now()
					run(b, r, format, names)
					if names {
						on = append(on, time.Since(t0))
					} else {
						off = append(off, time.Since(t0))
					}
				}
				ids := len(r.IDColumns()) > 0
				for i := 0; b.Loop(); i++ {
					if ids && i%2 == 1 {
						timed(false)
					}
					timed(true)
					if ids && i%2 == 0 {
						timed(false)
					}
				}
				on.Report(b)
				off.ReportAs(b, "nonames-")
			})
		}
	}
	// The node graphs of the pair reports, with names: the Network map
	// dashboard's (top 50) and every edge up to MaxEdges (top 0).
	for _, r := range report.Reports() {
		if _, _, ok := r.GraphEnds(); !ok {
			continue
		}
		for _, top := range []int{50, 0} {
			b.Run(fmt.Sprintf("node_graph/%s/top-%d", r.ID, top), func(b *testing.B) {
				var lat reporttest.Latencies
				for b.Loop() {
					t0 := time.Now()
					res, err := e.Run(ctx, report.Query{Report: r.ID, Top: top, Format: report.FormatNodeGraph, Names: true}, report.TimeRange{From: from, To: to})
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
					b.ReportMetric(float64(len(res.Graph.Edges)), "edges")
					b.ReportMetric(float64(len(res.Graph.Nodes)), "nodes")
				}
				lat.Report(b)
			})
		}
	}
	// The names query alone: for the ids of a top 10 (restricted to
	// them), and for every interface of the dataset (over 8 KiB of ids:
	// every interface fetched, the ids picked in Go).
	all, err := e.LabelValues(ctx, report.ReportInterface, "interface_id", nil, from, to)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{10, len(all)} {
		ids := map[report.EntityType][]string{report.EntityInterface: all[:n]}
		b.Run(fmt.Sprintf("names/%d-interfaces", n), func(b *testing.B) {
			var lat reporttest.Latencies
			for b.Loop() {
				t0 := time.Now()
				names, err := e.Names(ctx, from, to, ids)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				b.ReportMetric(float64(len(names[report.EntityInterface])), "names")
			}
			lat.Report(b)
		})
	}
	for _, r := range report.Reports() {
		if !r.FamilyDef().TopK {
			continue
		}
		b.Run("table-all/"+r.ID, func(b *testing.B) {
			var lat reporttest.Latencies
			for b.Loop() {
				t0 := time.Now()
				res, err := e.Table(ctx, report.Query{Report: r.ID, Names: true}, from, to)
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
