package plugin_test

import (
	"context"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
	"github.com/vpcflow/vpcflow/report"
)

// BenchmarkQueryData measures QueryData as a dashboard panel calls it, for
// every report as a time series and as a table (the frontend's defaults:
// rate, top 10 and Other, names on; a 24-hour panel's interval of a minute
// and 1000 points at most, so two-minute steps over one-minute data and
// five-minute steps over five-minute data), over the whole dataset (every
// entity named), and reports the median and 95th percentile of the
// iterations as p50-ms and p95-ms; for the reports with id columns also
// without names, in turn, as nonames-p50-ms and nonames-p95-ms. The target
// is a p95 under 300 ms per report on 24 hours of 2,000 interfaces.
//
// The dataset is reporttest.BenchDataset's, shared with report's
// BenchmarkReports (loaded by whichever runs first).
//
// Run it with enough iterations for a 95th percentile, e.g.
//
//	go test ./plugin/pkg/plugin -run '^$' -bench QueryData -benchtime 20x
//
// Without the VictoriaMetrics binary it is skipped; while another
// benchmark holds the dataset's VictoriaMetrics, too.
func BenchmarkQueryData(b *testing.B) {
	vm, from, to := reporttest.BenchDataset(b)
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
	// With names, the plugin's default (p50-ms, p95-ms), and for the
	// reports with id columns without ("names": false; nonames-p50-ms,
	// nonames-p95-ms), the two in turn, so that both see the same load.
	for _, format := range []report.Format{report.FormatTimeSeries, report.FormatTable} {
		for _, r := range report.Reports() {
			b.Run(string(format)+"/"+r.ID, func(b *testing.B) {
				var on, off reporttest.Latencies
				timed := func(names bool) {
					t0 := time.Now()
					run(b, map[string]any{"report": r.ID, "format": format, "names": names})
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
}
