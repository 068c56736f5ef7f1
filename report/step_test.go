package report

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// sentQuery is a query as VictoriaMetrics received it.
type sentQuery struct {
	expr                   string
	ranged                 bool
	time, start, end, step int64 // ms; step of a range query
}

// stepRecorder is a fake Prometheus query API that records every query
// with its times and answers with an empty result.
type stepRecorder struct {
	t    *testing.T
	mu   sync.Mutex
	sent []sentQuery
}

func (r *stepRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/flags" {
		io.WriteString(w, "-dedup.minScrapeInterval=\"1ms\"\n")
		return
	}
	if err := req.ParseForm(); err != nil {
		r.t.Errorf("parse form: %v", err)
	}
	ms := func(name string) int64 {
		v := req.Form.Get(name)
		if v == "" {
			return 0
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			r.t.Errorf("%s=%q: %v", name, v, err)
		}
		return int64(f*1000 + 0.5)
	}
	q := sentQuery{expr: req.Form.Get("query"), ranged: strings.HasSuffix(req.URL.Path, "/query_range")}
	typ := "vector"
	if q.ranged {
		typ = "matrix"
		q.start, q.end = ms("start"), ms("end")
		s, err := time.ParseDuration(req.Form.Get("step"))
		if err != nil {
			r.t.Errorf("step %q: %v", req.Form.Get("step"), err)
		}
		q.step = s.Milliseconds()
	} else {
		q.time = ms("time")
	}
	r.mu.Lock()
	r.sent = append(r.sent, q)
	r.mu.Unlock()
	io.WriteString(w, `{"status":"success","data":{"resultType":"`+typ+`","result":[]}}`)
}

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
// family and the window in milliseconds.
func windowsOf(t *testing.T, expr string) (fams []int, windows []int64) {
	t.Helper()
	e, err := metricsql.Parse(expr)
	if err != nil {
		t.Fatalf("%s does not parse: %v", expr, err)
	}
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
	if len(fams) == 0 {
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
	rec := &stepRecorder{t: t}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	e, err := New(vmclient.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
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
