package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/vpcflow/vpcflow/schema"
)

// familyOf returns the family of a series name, or -1.
func familyOf(name string) int {
	for id, f := range schema.Families() {
		if slices.Contains(f.MetricNames(), name) {
			return id
		}
	}
	return -1
}

// windowsOf returns, for each rollup of expr over a family's series, the
// family and the window in milliseconds (the exporter status series, no
// family, left out).
func windowsOf(t *testing.T, expr string) (fams []int, windows []int64) {
	t.Helper()
	e, err := metricsql.Parse(expr)
	if err != nil {
		t.Fatalf("%s does not parse: %v", expr, err)
	}
	status := false
	metricsql.VisitAll(e, func(e metricsql.Expr) {
		re, ok := e.(*metricsql.RollupExpr)
		if !ok || re.Window == nil {
			return
		}
		me, ok := re.Expr.(*metricsql.MetricExpr)
		if !ok {
			return
		}
		w := re.Window.Duration(0)
		for _, lfs := range me.LabelFilterss {
			for _, lf := range lfs {
				if lf.Label != "__name__" {
					continue
				}
				names := []string{lf.Value}
				if lf.IsRegexp {
					names = strings.Split(lf.Value, "|")
				}
				for _, n := range names {
					if n == schema.ExporterStatusMetric {
						// Not a family: its newest sample is read, whatever
						// the step (the exporters report's collector_status).
						status = true
						continue
					}
					fam := familyOf(n)
					if fam < 0 {
						t.Errorf("%s: series %s of no family", expr, n)
						continue
					}
					fams, windows = append(fams, fam), append(windows, w)
				}
			}
		}
	})
	if len(fams) == 0 && !status {
		t.Errorf("%s: no rollup over a family's series", expr)
	}
	return fams, windows
}

// TestEveryQueryAlignsToItsFamilies runs every report, metric, format and
// top, with filters that change the families read, over ranges that do not
// start or end on a step and asked-for steps of 0, 1, 2, 7 and 60
// minutes: every query the engine sends must read each family in whole
// intervals of its step (schema.Family.Step): its window a multiple of the
// step, evaluated at the last millisecond of a step (instant queries at
// time, range queries at start, end and every step between). So a report
// over a five-minute family never uses a step or window below five
// minutes, nor one that cuts an interval, and a report reading a family
// and its totals uses the coarser step of the two. LabelValues likewise.
func TestEveryQueryAlignsToItsFamilies(t *testing.T) {
	e, rec := recordingEngine(t)
	ctx := context.Background()
	from := time.Date(2026, 3, 1, 10, 2, 30, 0, time.UTC)
	to := from.Add(2*time.Hour + 6*time.Minute)
	check := func(what string) {
		t.Helper()
		rec.mu.Lock()
		sent := rec.sent
		rec.sent = nil
		rec.mu.Unlock()
		if len(sent) == 0 {
			t.Errorf("%s: no query sent", what)
		}
		for _, q := range sent {
			fams, windows := windowsOf(t, q.expr)
			for i, fam := range fams {
				f := schema.Families()[fam]
				step := f.Step.Milliseconds()
				bad := func(field string, v int64) {
					t.Errorf("%s: %s reads %s (step %s) with %s %d ms, not a multiple of its step", what, q.expr, f.Name, f.Step, field, v)
				}
				if windows[i]%step != 0 {
					bad("window", windows[i])
				}
				if q.ranged {
					if (q.start+1)%step != 0 {
						bad("start+1ms", q.start+1)
					}
					if (q.end+1)%step != 0 {
						bad("end+1ms", q.end+1)
					}
					if q.step%step != 0 {
						bad("range step", q.step)
					}
				} else if (q.time+1)%step != 0 {
					bad("time+1ms", q.time+1)
				}
			}
		}
	}
	filterSets := [][]Filter{nil,
		{{Label: "interface_id", Op: OpEqual, Value: "eni-1"}},
		{{Label: schema.LabelVPC, Op: OpEqual, Value: "vpc-1"}},
		{{Label: "protocol", Op: OpEqual, Value: "6"}},
		{{Label: "action", Op: OpEqual, Value: "REJECT"}, {Label: "flow_direction", Op: OpEqual, Value: "ingress"}},
	}
	for _, r := range Reports() {
		for _, filters := range filterSets {
			if Query.Validate(Query{Report: r.ID, Filters: filters}) != nil {
				continue // a label the report lacks
			}
			for _, m := range r.Metrics {
				for _, top := range []int{0, 5} {
					q := Query{Report: r.ID, Metric: m, Top: top, Filters: filters}
					if _, err := e.Run(ctx, q, TimeRange{From: from, To: to}); err != nil {
						t.Fatalf("%+v: %v", q, err)
					}
					check(fmt.Sprintf("%s %s top %d %v table", r.ID, m, top, filters))
					if _, _, ok := r.GraphEnds(); ok {
						q.Format = FormatNodeGraph
						if _, err := e.Run(ctx, q, TimeRange{From: from, To: to}); err != nil {
							t.Fatalf("%+v: %v", q, err)
						}
						check(fmt.Sprintf("%s %s top %d %v node graph", r.ID, m, top, filters))
					}
					q.Format = FormatTimeSeries
					for _, step := range []time.Duration{0, time.Minute, 2 * time.Minute, 7 * time.Minute, time.Hour} {
						if _, err := e.Run(ctx, q, TimeRange{From: from, To: to, Step: step}); err != nil {
							t.Fatalf("%+v step %s: %v", q, step, err)
						}
						check(fmt.Sprintf("%s %s top %d %v series step %s", r.ID, m, top, filters, step))
					}
				}
			}
			for _, label := range r.Filterable()[:2] {
				if _, err := e.LabelValues(ctx, r.ID, label, filters, from, to); err != nil {
					t.Fatal(err)
				}
				check(fmt.Sprintf("%s label values of %s %v", r.ID, label, filters))
			}
		}
	}
}
