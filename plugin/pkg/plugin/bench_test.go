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
// rate, top 10 and Other; a 24-hour panel's interval of a minute and 1000
// points at most, so two-minute steps over one-minute data and five-minute
// steps over five-minute data), over the whole dataset, and reports
// the median and 95th percentile of the iterations as p50-ms and p95-ms.
// The target is a p95 under 300 ms per report on 24 hours of 2,000
// interfaces.
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
	reporttest.EachReport(b, []report.Format{report.FormatTimeSeries, report.FormatTable}, func(b *testing.B, r report.Report, format report.Format) {
		run(b, map[string]any{"report": r.ID, "format": format})
	})
}
