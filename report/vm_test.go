package report_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// parsingTransport parses every query sent with metricsql before passing
// the request on, and records the paths asked for.
type parsingTransport struct {
	t       testing.TB
	mu      sync.Mutex
	queries int
	paths   []string
}

func (p *parsingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, req.URL.Path)
	p.mu.Unlock()
	if req.Body != nil && req.Method == http.MethodPost {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(strings.NewReader(string(body)))
		form, err := url.ParseQuery(string(body))
		if err != nil {
			p.t.Errorf("request body %q: %v", body, err)
		}
		q := form.Get("query")
		if _, err := metricsql.Parse(q); err != nil {
			p.t.Errorf("query %s does not parse: %v", q, err)
		}
		if form.Get("nocache") != "1" {
			p.t.Errorf("query %s without nocache=1", q)
		}
		p.mu.Lock()
		p.queries++
		p.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func newEngine(t testing.TB, cfg vmclient.Config) (*report.Engine, *parsingTransport) {
	t.Helper()
	tr := &parsingTransport{t: t}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	e, err := report.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, tr
}

// rowsOf keys a table's rows by their columns' values.
func rowsOf(t *testing.T, res *report.Result) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, r := range res.Rows {
		k := reporttest.Key(r.Labels, res.Columns)
		if _, dup := out[k]; dup {
			t.Errorf("%s: row %s twice", res.Report.ID, k)
		}
		out[k] = r.Value
	}
	return out
}

// checkSorted checks that rows are by value descending, ties by labels,
// with exact integer values in total mode.
func checkSorted(t *testing.T, res *report.Result) {
	t.Helper()
	for i, r := range res.Rows {
		if res.Mode == report.ModeTotal && (r.Value != math.Trunc(r.Value) || r.Value < 0) {
			t.Errorf("%s: row %v: value %v is not a whole number", res.Report.ID, r.Labels, r.Value)
		}
		if i == 0 {
			continue
		}
		p := res.Rows[i-1]
		// Ties by labels, column by column (joined strings would order
		// "aws:EC2|x" after "aws:EC2_INSTANCE_CONNECT|y").
		if p.Value < r.Value || (p.Value == r.Value && !p.Other && !r.Other && slices.Compare(valuesIn(p.Labels, res.Columns), valuesIn(r.Labels, res.Columns)) > 0) {
			t.Errorf("%s: rows %d and %d out of order: %v %v, %v %v", res.Report.ID, i-1, i, p.Labels, p.Value, r.Labels, r.Value)
		}
	}
}

// filtersFor returns filters worth trying on a report: on the VPC, a
// negated action, a regular expression on an interface, and one on the
// report's own first label.
func filtersFor(rep report.Report, ds *reporttest.Dataset) [][]report.Filter {
	vpcs := slices.Sorted(maps.Keys(ds.Seen)) // account|region|vpc
	vpc := strings.Split(vpcs[0], "|")[2]
	out := [][]report.Filter{{{Label: schema.LabelVPC, Op: report.OpEqual, Value: vpc}}}
	labels := rep.Filterable()
	if slices.Contains(labels, "action") {
		out = append(out, []report.Filter{{Label: "action", Op: report.OpNotEqual, Value: "ACCEPT"}})
	}
	if slices.Contains(labels, "interface_id") {
		out = append(out, []report.Filter{{Label: "interface_id", Op: report.OpMatch, Value: "eni-0.*|eni-[a-c].*"}, {Label: schema.LabelVPC, Op: report.OpNotEqual, Value: vpc}})
	}
	if g := rep.GroupBy[0]; slices.Contains(labels, g) {
		out = append(out, []report.Filter{{Label: g, Op: report.OpNotMatch, Value: "-|1.*"}})
	}
	return out
}

// TestReports loads an hour of generated flow logs (written in batches at
// slots 0, 59999, 1, 59998, … of each minute) and checks every report
// against the totals computed from the generated records.
func TestReports(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	opts := reporttest.Hour(t, 11)
	opts.PerMinute = true
	ds := reporttest.Load(t, vm, opts)
	if ds.Batches < 5 {
		t.Fatalf("%d batches, want at least 5 to use every test slot", ds.Batches)
	}
	e, tr := newEngine(t, vmclient.Config{URL: vm.URL})
	checkReports(t, e, tr, ds)
}

// checkReports checks every report of the engine e against the ground
// truth of ds (loaded with Options.PerMinute): tables of every metric, top
// N, filters, sub-ranges, time series, rates and label values; tr is e's
// transport.
func checkReports(t *testing.T, e *report.Engine, tr *parsingTransport, ds *reporttest.Dataset) {
	t.Helper()
	ctx := context.Background()

	t.Run("golden", func(t *testing.T) {
		for _, rep := range report.Reports() {
			for _, m := range rep.Metrics {
				want, err := ds.Expected(rep, m, nil)
				if err != nil {
					t.Fatal(err)
				}
				res, err := e.Table(ctx, report.Query{Report: rep.ID, Metric: m}, ds.From, ds.To)
				if err != nil {
					t.Fatalf("%s %s: %v", rep.ID, m, err)
				}
				if len(want) == 0 {
					t.Errorf("%s %s: nothing expected: a useless check", rep.ID, m)
				}
				if d := reporttest.Diff(rowsOf(t, res), want); d != "" {
					t.Errorf("%s %s differs from the ground truth (%d rows, %d expected):\n%s", rep.ID, m, len(res.Rows), len(want), d)
				}
				if res.Total != reporttest.Sum(want) {
					t.Errorf("%s %s: total %v, want %v", rep.ID, m, res.Total, reporttest.Sum(want))
				}
				checkSorted(t, res)
			}
		}
	})

	t.Run("top", func(t *testing.T) {
		for _, rep := range report.Reports() {
			m := rep.DefaultMetric()
			want, err := ds.Expected(rep, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 3, 10, 1000} {
				res, err := e.Table(ctx, report.Query{Report: rep.ID, Metric: m, Top: n}, ds.From, ds.To)
				if err != nil {
					t.Fatalf("%s top %d: %v", rep.ID, n, err)
				}
				top, rest := reporttest.TopOf(want, n)
				got := map[string]float64{}
				other := -1.0
				for _, r := range res.Rows {
					if r.Other {
						other = r.Value
						for _, c := range rep.GroupBy {
							if r.Labels[c] != report.OtherValue {
								t.Errorf("%s top %d: Other row labels %v", rep.ID, n, r.Labels)
							}
						}
						continue
					}
					if rep.ID == report.ReportExporters {
						got[reporttest.Key(r.Labels, res.Columns)] = r.Value
					} else {
						got[reporttest.Key(r.Labels, rep.GroupBy)] = r.Value
					}
				}
				if d := reporttest.Diff(got, top); d != "" {
					t.Errorf("%s top %d: rows differ:\n%s", rep.ID, n, d)
				}
				switch {
				case len(want) > n && other != rest:
					t.Errorf("%s top %d: Other %v, want %v", rep.ID, n, other, rest)
				case len(want) <= n && other != -1:
					t.Errorf("%s top %d: an Other row though %d rows fit", rep.ID, n, len(want))
				}
				if total := reporttest.Sum(rowsOf(t, res)); total != reporttest.Sum(want) || res.Total != reporttest.Sum(want) {
					t.Errorf("%s top %d: rows add up to %v (total %v), want %v", rep.ID, n, total, res.Total, reporttest.Sum(want))
				}
				checkSorted(t, res)
			}
		}
	})

	t.Run("filters", func(t *testing.T) {
		for _, rep := range report.Reports() {
			if rep.ID == report.ReportExporters {
				continue // first and last seen are not filtered in the truth
			}
			m := rep.DefaultMetric()
			if slices.Contains(rep.Metrics, report.MetricFlows) {
				m = report.MetricFlows
			}
			for _, filters := range filtersFor(rep, ds) {
				want, err := ds.Expected(rep, m, filters)
				if err != nil {
					t.Fatal(err)
				}
				res, err := e.Table(ctx, report.Query{Report: rep.ID, Metric: m, Filters: filters}, ds.From, ds.To)
				if err != nil {
					t.Fatalf("%s %v: %v", rep.ID, filters, err)
				}
				if d := reporttest.Diff(rowsOf(t, res), want); d != "" {
					t.Errorf("%s %v differs (%d rows, %d expected):\n%s", rep.ID, filters, len(res.Rows), len(want), d)
				}
				if len(want) == 0 && len(filters) == 1 {
					t.Errorf("%s %v: nothing expected: a useless check", rep.ID, filters)
				}
			}
		}
	})

	// Sub-ranges count exactly their whole steps (minutes, or five minutes
	// for the five-minute families: both ends rounded down): checked
	// against the flows and records of each minute.
	t.Run("steps", func(t *testing.T) {
		reps := []string{report.ReportAction, report.ReportLogStatus, report.ReportTopSources, report.ReportApplications, report.ReportSrcServiceDstService, report.ReportInterface}
		spans := [][2]int{{0, 1}, {0, 2}, {1, 2}, {5, 6}, {5, 17}, {13, 14}, {17, 60}, {30, 31}, {59, 60}, {0, 61}, {3, 9}, {4, 5}, {2, 12}}
		for _, id := range reps {
			rep, _ := report.Lookup(id)
			m := report.MetricFlows
			if rep.Family == schema.Status {
				m = report.MetricRecords
			}
			q := report.Query{Report: id, Metric: m}
			step, err := q.Step()
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range spans {
				from, to := ds.From.Add(time.Duration(s[0])*time.Minute), ds.From.Add(time.Duration(s[1])*time.Minute)
				res, err := e.Table(ctx, q, from, to)
				af, at, aerr := report.Align(from, to, step)
				if aerr != nil {
					if err == nil || !strings.Contains(err.Error(), "holds no whole") {
						t.Errorf("%s over minutes %d–%d (step %s): %v, want an error", id, s[0], s[1], step, err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				want, err := ds.ExpectedMinutes(rep, m, nil, af, at)
				if err != nil {
					t.Fatal(err)
				}
				if d := reporttest.Diff(rowsOf(t, res), want); d != "" || !res.From.Equal(af) || !res.To.Equal(at) {
					t.Errorf("%s over minutes %d–%d (step %s, read as %s–%s) differs:\n%s", id, s[0], s[1], step, res.From.Format("15:04"), res.To.Format("15:04"), d)
				}
			}
		}
	})

	t.Run("series", func(t *testing.T) {
		from, to := ds.From.Add(3*time.Minute), ds.To.Add(-2*time.Minute)
		for _, rep := range report.Reports() {
			for _, step := range []time.Duration{time.Minute, 7 * time.Minute, time.Hour} {
				for _, top := range []int{0, 3} {
					checkSeries(t, e, ds, rep, top, nil, from, to, step)
				}
			}
		}
		// Filters on the report's own labels: Other per step from the
		// report's own family.
		for _, id := range []string{report.ReportTopSources, report.ReportApplications, report.ReportActionInterfaceDst} {
			rep, _ := report.Lookup(id)
			for _, filters := range filtersFor(rep, ds) {
				checkSeries(t, e, ds, rep, 3, filters, from, to, 7*time.Minute)
			}
		}
	})

	t.Run("rate", func(t *testing.T) {
		for _, id := range []string{report.ReportAction, report.ReportLogStatus, report.ReportExporters} {
			total, err := e.Table(ctx, report.Query{Report: id, Top: 2}, ds.From, ds.To)
			if err != nil {
				t.Fatal(err)
			}
			rate, err := e.Table(ctx, report.Query{Report: id, Top: 2, Mode: report.ModeRate}, ds.From, ds.To)
			if err != nil {
				t.Fatal(err)
			}
			secs := ds.To.Sub(ds.From).Seconds()
			if len(rate.Rows) != len(total.Rows) || rate.Total != total.Total/secs {
				t.Fatalf("%s rate: %d rows, total %v; want %d rows, %v", id, len(rate.Rows), rate.Total, len(total.Rows), total.Total/secs)
			}
			for i, r := range rate.Rows {
				if r.Value != total.Rows[i].Value/secs || !maps.Equal(r.Labels, total.Rows[i].Labels) {
					t.Errorf("%s rate row %v %v, want %v %v", id, r.Labels, r.Value, total.Rows[i].Labels, total.Rows[i].Value/secs)
				}
			}
			ts, _ := e.TimeSeries(ctx, report.Query{Report: id, Top: 2}, ds.From, ds.To, 7*time.Minute)
			rs, err := e.TimeSeries(ctx, report.Query{Report: id, Top: 2, Mode: report.ModeRate}, ds.From, ds.To, 7*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range rs.Series {
				for j, v := range s.Values {
					secs := rs.Step.Seconds()
					if j == 0 || j == len(s.Values)-1 {
						continue // clipped steps
					}
					if w := ts.Series[i].Values[j] / secs; v != w {
						t.Errorf("%s rate series %v step %d: %v, want %v", id, s.Labels, j, v, w)
					}
				}
			}
		}
	})

	t.Run("labelValues", func(t *testing.T) {
		for _, c := range []struct {
			report, label string
			filters       []report.Filter
		}{
			{report.ReportInterface, schema.LabelVPC, nil},
			{report.ReportInterface, "interface_id", []report.Filter{{Label: "action", Op: report.OpEqual, Value: "REJECT"}}},
			{report.ReportRejectReasons, "interface_id", nil},
			{report.ReportTrafficPath, "traffic_path", nil},
			{report.ReportTopSources, "src_addr", []report.Filter{{Label: "src_addr", Op: report.OpMatch, Value: `10\..*`}}},
			{report.ReportLogStatus, "log_status", nil},
			{report.ReportExporters, schema.LabelVPC, nil},
		} {
			rep, _ := report.Lookup(c.report)
			idx := slices.Index(rep.FamilyDef().Labels, c.label)
			want := map[string]bool{}
			for _, m := range rep.FamilyDef().MetricNames() {
				for k := range ds.Truth.Sums[m] {
					vs := strings.Split(k, "|")
					ok, err := reporttest.Matches(rep.FamilyDef().Labels, vs, append(slices.Clone(rep.Filters), c.filters...))
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						want[vs[idx]] = true
					}
				}
			}
			got, err := e.LabelValues(ctx, c.report, c.label, c.filters, ds.From, ds.To)
			if err != nil {
				t.Fatal(err)
			}
			if w := slices.Sorted(maps.Keys(want)); !slices.Equal(got, w) || len(w) == 0 {
				t.Errorf("LabelValues(%s, %s, %v) = %q, want %q", c.report, c.label, c.filters, got, w)
			}
		}
		if got, err := e.LabelValues(ctx, report.ReportInterface, schema.LabelVPC, nil, ds.From.Add(-time.Hour), ds.From); err != nil || len(got) != 0 {
			t.Errorf("LabelValues before the data = %q, %v", got, err)
		}
		if _, err := e.LabelValues(ctx, report.ReportInterface, "src_addr", nil, ds.From, ds.To); err == nil || !strings.Contains(err.Error(), "valid labels") {
			t.Errorf("LabelValues of another family's label: %v", err)
		}
	})

	if tr.queries < 500 {
		t.Errorf("only %d queries parsed", tr.queries)
	}
}

// checkSeries checks a report's time series over [from, to): each step
// adds up (over the series) to the table of that step's range, which for
// flows and records also matches the per-minute ground truth; the series
// add up over the steps to the table of the whole range; with top N the
// series are the table's top rows and Other. Top 0 of a report with more
// label sets than MaxSeries is an error; its top MaxSeries are checked
// instead.
func checkSeries(t *testing.T, e *report.Engine, ds *reporttest.Dataset, rep report.Report, top int, filters []report.Filter, from, to time.Time, step time.Duration) {
	t.Helper()
	ctx := context.Background()
	m := rep.Metrics[len(rep.Metrics)-1] // flows (records for log-status, packets for exporters)
	if slices.Contains(rep.Metrics, report.MetricFlows) {
		m = report.MetricFlows
	}
	q := report.Query{Report: rep.ID, Metric: m, Top: top, Filters: filters}
	if top == 0 {
		// More label sets than a time series shows: an error, and the
		// top MaxSeries instead.
		all, err := e.Table(ctx, q, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Rows) > report.MaxSeries {
			if _, err := e.TimeSeries(ctx, q, from, to, step); err == nil || !strings.Contains(err.Error(), "more than 1000 label sets over the range") {
				t.Errorf("%s series of %d label sets, top 0: error %v", rep.ID, len(all.Rows), err)
			}
			q.Top = report.MaxSeries
		}
	}
	res, err := e.TimeSeries(ctx, q, from, to, step)
	if err != nil {
		t.Fatalf("%s series: %v", rep.ID, err)
	}
	table, err := e.Table(ctx, q, from, to)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s top %d %v step %s", rep.ID, q.Top, filters, step)
	// The range rounded down to the data's step, the step a multiple of it.
	base, err := q.Step()
	if err != nil {
		t.Fatal(err)
	}
	from, to, err = report.Align(from, to, base)
	if err != nil {
		t.Fatal(err)
	}
	want := report.StepFor(from, to, step, base)
	if res.Step != want || res.Step%base != 0 || res.Step < step || res.Total != table.Total || !res.From.Equal(from) || !res.To.Equal(to) {
		t.Errorf("%s: step %s over %v–%v, total %v; want %s (a multiple of %s) over %v–%v, %v", name, res.Step, res.From, res.To, res.Total, want, base, from, to, table.Total)
	}
	step = res.Step
	// Over the steps: the table (its group-by columns only).
	overSteps := map[string]float64{}
	for i, s := range res.Series {
		k := reporttest.Key(s.Labels, rep.GroupBy)
		if s.Other {
			k = "Other"
			if i != len(res.Series)-1 {
				t.Errorf("%s: Other series is not last", name)
			}
		}
		for _, v := range s.Values {
			overSteps[k] += v
		}
		if len(s.Values) != len(s.Timestamps) || !s.Timestamps[0].Equal(from) {
			t.Errorf("%s: %d values, %d timestamps from %v", name, len(s.Values), len(s.Timestamps), s.Timestamps[0])
		}
	}
	wantRows := map[string]float64{}
	for _, r := range table.Rows {
		k := reporttest.Key(r.Labels, rep.GroupBy)
		if r.Other {
			k = "Other"
		}
		wantRows[k] += r.Value
	}
	if d := reporttest.Diff(overSteps, wantRows); d != "" {
		t.Errorf("%s: series summed over the steps differ from the table:\n%s", name, d)
	}
	if len(res.Series) == 0 {
		return
	}
	// Per step: the ground truth of its minutes.
	if rep.Family == schema.Pair || rep.ID == report.ReportExporters {
		return
	}
	for j, start := range res.Series[0].Timestamps {
		end := to
		if j+1 < len(res.Series[0].Timestamps) {
			end = res.Series[0].Timestamps[j+1]
		}
		if j > 0 && start.UnixMilli()%step.Milliseconds() != 0 {
			t.Errorf("%s: step %d starts at %v, not a multiple of the step", name, j, start)
		}
		truth, err := ds.ExpectedMinutes(rep, m, filters, start, end)
		if err != nil {
			t.Fatal(err)
		}
		got := 0.0
		for _, s := range res.Series {
			got += s.Values[j]
			if !s.Other {
				if w := truth[reporttest.Key(s.Labels, rep.GroupBy)]; s.Values[j] != w {
					t.Errorf("%s: %v at %v: %v, want %v", name, s.Labels, start, s.Values[j], w)
				}
			}
		}
		if w := reporttest.Sum(truth); got != w {
			t.Errorf("%s: step at %v adds up to %v, want %v", name, start, got, w)
		}
	}
}

// TestStepBoundaries writes, for each of ten intervals of a family's step,
// a sample at its first millisecond (slot 0), one at the last slot of its
// first minute (59999, where the collector writes) and, for a step over a
// minute, one at its last millisecond (where a minute's sample of data
// written before the families had steps may sit), valued distinct powers
// of two: every sum then says exactly which samples were counted. Every
// range of whole steps, as a table and as time series of steps that are
// multiples of the family's, must count exactly the samples of its
// intervals; ends inside an interval are rounded down. It runs for a
// five-minute family (log-status) and a one-minute one (src-service),
// against VictoriaMetrics as the tests start it (no cache, no latency
// offset) and as it runs by default (cache on, latency offset), and with
// recent data.
func TestStepBoundaries(t *testing.T) {
	type family struct {
		report string
		id     int
		set    map[string]string
	}
	families := []family{
		{report.ReportLogStatus, schema.Status, map[string]string{"log_status": "OK"}},
		{report.ReportSrcService, schema.Service, map[string]string{"src_service": "S3"}},
	}
	// offsets are where the samples of an interval sit.
	offsets := func(step time.Duration) []time.Duration {
		if step == time.Minute {
			return []time.Duration{0, 59999 * time.Millisecond}
		}
		return []time.Duration{0, 59999 * time.Millisecond, step - time.Millisecond}
	}
	// Every family's ten intervals end at end.
	check := func(t *testing.T, e *report.Engine, f family, end time.Time) {
		ctx := context.Background()
		step := schema.Families()[f.id].Step
		base := end.Add(-10 * step)
		n := len(offsets(step))
		expect := func(a, b int) float64 {
			v := 0.0
			for i := a * n; i < b*n; i++ {
				v += math.Exp2(float64(i))
			}
			return v
		}
		at := func(i int) time.Time { return base.Add(time.Duration(i) * step) }
		q := report.Query{Report: f.report}
		for a := 0; a < 10; a++ {
			for b := a + 1; b <= 10; b++ {
				res, err := e.Table(ctx, q, at(a), at(b))
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Rows) != 1 || res.Rows[0].Value != expect(a, b) {
					t.Errorf("%s: intervals [%d, %d): %+v, want %v", f.report, a, b, res.Rows, expect(a, b))
				}
				// Ends inside an interval are rounded down.
				res, err = e.Table(ctx, q, at(a).Add(step-time.Millisecond), at(b).Add(step/2))
				if err != nil || len(res.Rows) != 1 || res.Rows[0].Value != expect(a, b) {
					t.Errorf("%s: intervals [%d, %d) with ends inside intervals: %+v, %v", f.report, a, b, res, err)
				}
			}
		}
		for _, k := range []int{1, 2, 3, 7} {
			for a := 0; a < 4; a++ {
				res, err := e.TimeSeries(ctx, q, at(a), at(10), time.Duration(k)*step)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Series) != 1 || res.Step != time.Duration(k)*step {
					t.Fatalf("%s: step %d×%s: %d series of step %s", f.report, k, step, len(res.Series), res.Step)
				}
				s := res.Series[0]
				for j, ts := range s.Timestamps {
					end := at(10)
					if j+1 < len(s.Timestamps) {
						end = s.Timestamps[j+1]
					}
					i0, i1 := int(ts.Sub(base)/step), int(end.Sub(base)/step)
					if s.Values[j] != expect(i0, i1) {
						t.Errorf("%s: step %d×%s from interval %d: step at interval %d: %v, want intervals %d–%d = %v", f.report, k, step, a, i0, s.Values[j], i0, i1, expect(i0, i1))
					}
				}
			}
		}
		// A step below the family's is raised to it.
		res, err := e.TimeSeries(ctx, q, at(0), at(10), time.Minute)
		if err != nil || res.Step != step || len(res.Series) != 1 || len(res.Series[0].Values) != 10 {
			t.Errorf("%s: a one-minute step over %s data: %+v, %v", f.report, step, res, err)
		}
	}
	load := func(t *testing.T, url string, end time.Time) {
		var series []vmclient.Series
		for _, f := range families {
			step := schema.Families()[f.id].Step
			base := end.Add(-10 * step)
			var samples []vmclient.Sample
			bit := 0
			for i := range 10 {
				for _, o := range offsets(step) {
					samples = append(samples, vmclient.Sample{Timestamp: base.Add(time.Duration(i)*step + o).UnixMilli(), Value: math.Exp2(float64(bit))})
					bit++
				}
			}
			// Neighbours just outside: the last millisecond before, the first after.
			samples = append([]vmclient.Sample{{Timestamp: base.UnixMilli() - 1, Value: 1 << 40}}, samples...)
			samples = append(samples, vmclient.Sample{Timestamp: base.Add(10 * step).UnixMilli(), Value: 1 << 41})
			series = append(series, reporttest.Series(schema.Families()[f.id].MetricNames()[0], f.id, f.set, samples...))
		}
		reporttest.Write(t, url, series...)
	}

	t.Run("test flags", func(t *testing.T) {
		vm := testserver.VictoriaMetrics(t)
		end := time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)
		load(t, vm.URL, end)
		vm.Flush()
		e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
		for _, f := range families {
			check(t, e, f, end)
		}
	})
	t.Run("default flags", func(t *testing.T) {
		// Cache on; a latency offset longer than the recent data's age.
		vm := testserver.VictoriaMetrics(t, "-search.disableCache=false", "-search.latencyOffset=15m")
		end := time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)
		load(t, vm.URL, end)
		// Recent data, ending at the start of the current interval.
		recent := time.Now().UTC().Truncate(5 * time.Minute)
		load(t, vm.URL, recent)
		vm.Flush()
		e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
		for _, f := range families {
			check(t, e, f, end)
			check(t, e, f, end) // again, from the cache if it were used
			check(t, e, f, recent)
		}

		// A control: the same query without nocache=1 is moved by the
		// latency offset and misses recent samples.
		q := url.Values{"query": {`sum(sum_over_time(vpcflow_status_records[3000s]))`}, "time": {fmt.Sprintf("%.3f", float64(recent.UnixMilli()-1)/1000)}}
		resp, err := http.PostForm(vm.URL+"/api/v1/query", q)
		if err == nil {
			var body struct {
				Data struct {
					Result []struct {
						Value [2]any `json:"value"`
					} `json:"result"`
				} `json:"data"`
			}
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			t.Logf("control without nocache=1: %+v (with it: %v)", body.Data.Result, math.Exp2(30)-1)
		}

		// Data written after a query is seen by the next one.
		base := end.Add(-50 * time.Minute)
		before, err := e.Table(context.Background(), report.Query{Report: report.ReportLogStatus}, base, base.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		reporttest.Write(t, vm.URL, reporttest.Series("vpcflow_status_records", schema.Status, map[string]string{"log_status": "OK"},
			vmclient.Sample{Timestamp: base.Add(2*time.Minute).UnixMilli() + 7, Value: 1 << 45}))
		vm.Flush()
		after, err := e.Table(context.Background(), report.Query{Report: report.ReportLogStatus}, base, base.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if after.Total-before.Total != 1<<45 {
			t.Errorf("a sample written between two queries: totals %v then %v", before.Total, after.Total)
		}
	})
}

// TestEscapingInVictoriaMetrics stores label values that would break a
// query built without escaping and filters on each: every one finds
// exactly its own series, and `"} or vector(1)` finds nothing more.
func TestEscapingInVictoriaMetrics(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	values := []string{
		`"} or vector(1)`, `"} or vector(1) or {"`, `a"b`, `a\"b`, `\`, `\\`, `a\nb`, "new\nline", "tab\tand\rreturn",
		`{}`, `}`, `{`, `'single'`, "`back`", `a,b=c`, `x") by (y`, " ", "ünïcødé ✓", `.*`, `a|b`, "eni-plain",
	}
	var series []vmclient.Series
	for i, v := range values {
		series = append(series, reporttest.Series("vpcflow_interface_bytes", schema.Interface, map[string]string{"interface_id": v, "action": "ACCEPT"},
			vmclient.Sample{Timestamp: base.UnixMilli() + int64(i), Value: float64(100 + i)}))
	}
	reporttest.Write(t, vm.URL, series...)
	vm.Flush()
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	all := 0.0
	for i := range values {
		all += float64(100 + i)
	}
	for i, v := range values {
		res, err := e.Table(ctx, report.Query{Report: report.ReportInterface, Filters: []report.Filter{{Label: "interface_id", Op: report.OpEqual, Value: v}}}, base, base.Add(5*time.Minute))
		if err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		if len(res.Rows) != 1 || res.Rows[0].Labels["interface_id"] != v || res.Rows[0].Value != float64(100+i) {
			t.Errorf("filter interface_id=%q: rows %+v, want only its own, %d", v, res.Rows, 100+i)
		}
		res, err = e.Table(ctx, report.Query{Report: report.ReportInterface, Filters: []report.Filter{{Label: "interface_id", Op: report.OpNotEqual, Value: v}}}, base, base.Add(5*time.Minute))
		if err != nil || len(res.Rows) != len(values)-1 || res.Total != all-float64(100+i) {
			t.Errorf("filter interface_id!=%q: %d rows, total %v, %v", v, len(res.Rows), res.Total, err)
		}
		// As a time series with top 2: the restriction to the top label
		// sets escapes them too.
		ts, err := e.TimeSeries(ctx, report.Query{Report: report.ReportInterface, Top: 2, Filters: []report.Filter{{Label: "interface_id", Op: report.OpNotEqual, Value: v}}}, base, base.Add(5*time.Minute), time.Minute)
		if err != nil || len(ts.Series) != 3 || ts.Total != all-float64(100+i) {
			t.Errorf("series without %q: %+v, %v", v, ts, err)
		}
	}
	got, err := e.LabelValues(ctx, report.ReportInterface, "interface_id", nil, base, base.Add(5*time.Minute))
	if w := slices.Sorted(slices.Values(values)); err != nil || !slices.Equal(got, w) {
		t.Errorf("LabelValues = %q, %v; want %q", got, err, w)
	}
	// A regular expression is one, not a way out of the string.
	res, err := e.Table(ctx, report.Query{Report: report.ReportInterface, Filters: []report.Filter{{Label: "interface_id", Op: report.OpMatch, Value: `a\|b|\.\*`}}}, base, base.Add(5*time.Minute))
	if err != nil || len(res.Rows) != 2 {
		t.Errorf("regexp filter: %+v, %v", res, err)
	}

	// Names: entity info whose ids are the same values, and hostile names
	// (the values again, reversed): each row gets its own id's name, as a
	// table and as time series, of every row or the top 3.
	var info []vmclient.Series
	nameOf := func(i int) string { return values[len(values)-1-i] + " name" }
	for i, v := range values {
		info = append(info, vmclient.Series{Labels: []vmclient.Label{{Name: "__name__", Value: report.EntityInfoMetric},
			{Name: report.EntityTypeLabel, Value: string(report.EntityInterface)}, {Name: report.EntityIDLabel, Value: v}, {Name: report.EntityNameLabel, Value: nameOf(i)}},
			Samples: []vmclient.Sample{{Timestamp: base.UnixMilli(), Value: 1}}})
	}
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, info); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
	for _, q := range []report.Query{{Top: 0}, {Top: 3}, {Top: 3, Format: report.FormatTimeSeries}, {Top: 100, Format: report.FormatTimeSeries}} {
		q.Report, q.Names = report.ReportInterface, true
		res, err := e.Run(ctx, q, report.TimeRange{From: base, To: base.Add(5 * time.Minute)})
		if err != nil {
			t.Fatalf("names, top %d %s: %v", q.Top, q.Format, err)
		}
		named := 0
		check := func(labels, names map[string]string, other bool) {
			i := slices.Index(values, labels["interface_id"])
			switch {
			case other && names != nil:
				t.Errorf("names, top %d %s: Other has names %v", q.Top, q.Format, names)
			case !other && (i < 0 || len(names) != 1 || names["interface_id"] != nameOf(i)):
				t.Errorf("names, top %d %s: %q has names %q, want %q", q.Top, q.Format, labels["interface_id"], names, nameOf(max(i, 0)))
			case !other:
				named++
			}
		}
		for _, r := range res.Rows {
			check(r.Labels, r.Names, r.Other)
		}
		for _, s := range res.Series {
			check(s.Labels, s.Names, s.Other)
		}
		want := len(values)
		if q.Top > 0 {
			want = min(q.Top, len(values))
		}
		if named != want {
			t.Errorf("names, top %d %s: %d named rows, want %d", q.Top, q.Format, named, want)
		}
	}
}

// TestTies shows that rows of equal value are cut by labels, every time.
func TestTies(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var series []vmclient.Series
	for i, iface := range []string{"eni-e", "eni-c", "eni-a", "eni-d", "eni-b", "eni-big"} {
		v := 10.0
		if iface == "eni-big" {
			v = 50
		}
		series = append(series, reporttest.Series("vpcflow_interface_bytes", schema.Interface, map[string]string{"interface_id": iface},
			vmclient.Sample{Timestamp: base.UnixMilli() + int64(i), Value: v}))
	}
	reporttest.Write(t, vm.URL, series...)
	vm.Flush()
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	for range 5 {
		res, err := e.Table(context.Background(), report.Query{Report: report.ReportInterface, Top: 3}, base, base.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res.Rows {
			got = append(got, fmt.Sprintf("%s=%v", r.Labels["interface_id"], r.Value))
		}
		// Rows by value: Other among them.
		if want := []string{"eni-big=50", "Other=30", "eni-a=10", "eni-b=10"}; !slices.Equal(got, want) {
			t.Fatalf("top 3 = %q, want %q", got, want)
		}
		ts, err := e.TimeSeries(context.Background(), report.Query{Report: report.ReportInterface, Top: 3}, base, base.Add(5*time.Minute), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, s := range ts.Series {
			got = append(got, fmt.Sprintf("%s=%v", s.Labels["interface_id"], s.Values[0]))
		}
		if want := []string{"eni-big=50", "eni-a=10", "eni-b=10", "Other=30"}; !slices.Equal(got, want) {
			t.Fatalf("top 3 series = %q, want %q", got, want)
		}
	}
}

// TestManyRows loads 10,050 label sets of the pair family, each of its own
// value, and shows that a table keeps any number of rows (every one with
// top 0; top 10,001 and Other), and that a time series keeps up to
// MaxSeries: the top 1,000 and Other, exact per step, although their
// interface IDs make a query restricted to them longer than
// VictoriaMetrics takes (-search.maxQueryLen, 16 KiB); every label set
// with top 0 when a filter leaves at most MaxSeries; and an error saying
// what to do when top 0 would give more.
func TestManyRows(t *testing.T) {
	const n = 10_050
	vm, from, to := reporttest.LoadPairs(t, n)
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	rep, err := report.Lookup(report.ReportPairInterface)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for i := range n {
		want[reporttest.PairSrc(i)+"|"+reporttest.PairDst(i)] = float64(300 * (i + 1))
	}
	q := func(top int, filters ...report.Filter) report.Query {
		return report.Query{Report: rep.ID, Top: top, Filters: filters}
	}

	t.Run("table", func(t *testing.T) {
		for _, top := range []int{0, n, 10_001, 1_000_000} {
			res, err := e.Table(ctx, q(top), from, to)
			if err != nil {
				t.Fatalf("top %d: %v", top, err)
			}
			wantRows, rest := want, 0.0
			if top > 0 && top < n {
				wantRows, rest = reporttest.TopOf(want, top)
			}
			got, other := map[string]float64{}, 0.0
			for _, r := range res.Rows {
				if r.Other {
					other = r.Value
					continue
				}
				got[reporttest.Key(r.Labels, rep.GroupBy)] = r.Value
			}
			if d := reporttest.Diff(got, wantRows); d != "" || other != rest {
				t.Errorf("top %d: %d rows, Other %v (want %d rows, Other %v):\n%s", top, len(res.Rows), other, len(wantRows), rest, d)
			}
			checkSorted(t, res)
		}
	})

	// values sums each series over the steps, and checks that the first
	// step holds a third of it (the samples hold v and 2v).
	values := func(t *testing.T, res *report.Result) (map[string]float64, float64) {
		t.Helper()
		got, other := map[string]float64{}, 0.0
		for _, s := range res.Series {
			if len(s.Values) != 2 || 3*s.Values[0] != s.Values[0]+s.Values[1] {
				t.Errorf("series %v: values %v, want two steps, the second twice the first", s.Labels, s.Values)
			}
			if s.Other {
				other = s.Values[0] + s.Values[1]
				continue
			}
			got[reporttest.Key(s.Labels, rep.GroupBy)] = s.Values[0] + s.Values[1]
		}
		return got, other
	}

	t.Run("series top 1000", func(t *testing.T) {
		res, err := e.TimeSeries(ctx, q(report.MaxSeries), from, to, reporttest.PairStep)
		if err != nil {
			t.Fatal(err)
		}
		top, rest := reporttest.TopOf(want, report.MaxSeries)
		got, other := values(t, res)
		if d := reporttest.Diff(got, top); d != "" || other != rest || len(res.Series) != report.MaxSeries+1 || !res.Series[report.MaxSeries].Other {
			t.Errorf("%d series, Other %v (want %d and Other %v last):\n%s", len(res.Series), other, report.MaxSeries+1, rest, d)
		}
		for _, expr := range res.Queries {
			if len(expr) > 16<<10 {
				t.Errorf("a query of %d bytes, more than VictoriaMetrics takes", len(expr))
			}
		}
	})

	t.Run("series top 0", func(t *testing.T) {
		// A hundred label sets: every one.
		few := report.Filter{Label: "src_interface", Op: report.OpMatch, Value: "eni-0{15}[0-9]{2}"}
		res, err := e.TimeSeries(ctx, q(0, few), from, to, reporttest.PairStep)
		if err != nil {
			t.Fatal(err)
		}
		wantFew := map[string]float64{}
		for i := range 100 {
			wantFew[reporttest.PairSrc(i)+"|"+reporttest.PairDst(i)] = float64(300 * (i + 1))
		}
		got, other := values(t, res)
		if d := reporttest.Diff(got, wantFew); d != "" || other != 0 {
			t.Errorf("filtered to 100 label sets: %d series, Other %v:\n%s", len(res.Series), other, d)
		}
		// More than MaxSeries: an error.
		_, err = e.TimeSeries(ctx, q(0), from, to, reporttest.PairStep)
		if !errors.Is(err, report.ErrTooManySeries) || !strings.Contains(err.Error(), "report pair-interface: more than 1000 label sets over the range: a time series shows at most 1000 series; choose a top N of at most 1000, or the table format for every row") {
			t.Errorf("top 0 of %d label sets: error %v", n, err)
		}
	})
}

// TestHealth checks the health of a good VictoriaMetrics with recent data,
// of one that does not deduplicate, and of a cluster's vmselect asking for
// basic auth (the engine asking only for vmselect's tenant paths and
// /flags).
func TestHealth(t *testing.T) {
	ctx := context.Background()
	t.Run("good", func(t *testing.T) {
		vm := testserver.VictoriaMetrics(t)
		e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
		h := e.Health(ctx)
		if !h.OK || h.Dedup != "1ms" || !h.Newest.IsZero() || len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "no flow log data") {
			t.Errorf("empty: %+v", h)
		}
		minute := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Minute)
		reporttest.Write(t, vm.URL, reporttest.Series("vpcflow_status_records", schema.Status, map[string]string{"log_status": "OK"},
			vmclient.Sample{Timestamp: minute.UnixMilli() + 59999, Value: 1}))
		vm.Flush()
		h = e.Health(ctx)
		if !h.OK || !h.Newest.Equal(minute) || h.Age < 3*time.Minute || h.Age > 5*time.Minute || len(h.Warnings) != 0 || len(h.Problems) != 0 {
			t.Errorf("with data: %+v", h)
		}
		t.Log(h.Message())
	})
	t.Run("no dedup", func(t *testing.T) {
		vm := testserver.VictoriaMetricsNoDedup(t)
		e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
		h := e.Health(ctx)
		if h.OK || !h.Reachable || h.Dedup != "wrong" || !strings.Contains(h.Message(), "-dedup.minScrapeInterval is 0 (off)") {
			t.Errorf("no dedup: %+v", h)
		}
	})
	t.Run("cluster paths and auth", func(t *testing.T) {
		c := testserver.VictoriaMetricsClusterWith(t, testserver.ClusterOptions{SelectFlags: []string{"-httpAuth.username=grafana", "-httpAuth.password=s3cr3t-pass"}})
		e, tr := newEngine(t, vmclient.Config{URL: c.SelectURL(), Username: "grafana", Password: "s3cr3t-pass"})
		paths := func() []string {
			tr.mu.Lock()
			defer tr.mu.Unlock()
			return slices.Clone(tr.paths)
		}
		h := e.Health(ctx)
		if !h.OK || h.Dedup != "1ms" {
			t.Errorf("cluster: %+v", h)
		}
		if _, err := e.Table(ctx, report.Query{Report: report.ReportAction, Top: 2}, time.Now().Add(-time.Hour), time.Now()); err != nil {
			t.Errorf("cluster table: %v", err)
		}
		if _, err := e.TimeSeries(ctx, report.Query{Report: report.ReportAction}, time.Now().Add(-time.Hour), time.Now(), 5*time.Minute); err != nil {
			t.Errorf("cluster series: %v", err)
		}
		for _, p := range paths() {
			if p != "/flags" && p != "/select/0/prometheus/api/v1/query" && p != "/select/0/prometheus/api/v1/query_range" {
				t.Errorf("asked for %s", p)
			}
		}
		if ps := paths(); len(ps) < 4 || !slices.Contains(ps, "/flags") || !slices.Contains(ps, "/select/0/prometheus/api/v1/query_range") {
			t.Errorf("paths %q", ps)
		}
		bad, _ := newEngine(t, vmclient.Config{URL: c.SelectURL(), Username: "grafana", Password: "wr0ng-pass"})
		_, err := bad.Table(ctx, report.Query{Report: report.ReportAction}, time.Now().Add(-time.Hour), time.Now())
		if err == nil || !strings.Contains(err.Error(), "refused the credentials") || strings.Contains(err.Error(), "wr0ng-pass") {
			t.Errorf("wrong password: %v", err)
		}
		if h := bad.Health(ctx); h.OK || strings.Contains(h.Message(), "wr0ng-pass") {
			t.Errorf("health with a wrong password: %+v", h)
		}
	})
}

// TestTopKFolded loads data with a small collector top-K, so that the src,
// dst, app and pair families fold most label sets into "other": reports
// still add up to the exact totals, and the Other series of the src, dst
// and app reports (whose per-step total is read from vpcflow_total, a
// one-minute family, at the reports' five-minute step) adds up per step to
// the traffic's total.
func TestTopKFolded(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ds := reporttest.Load(t, vm, reporttest.Options{
		Generate:  generate.Config{Records: 10000, Seed: 13, Duration: 30 * time.Minute, ENIs: 12, VPCs: 2},
		TopK:      2,
		PerMinute: true,
	})
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	action, _ := report.Lookup(report.ReportAction)
	from, to := ds.From.Add(2*time.Minute), ds.To.Add(-3*time.Minute)
	for _, id := range []string{report.ReportTopSources, report.ReportTopDestinations, report.ReportApplications,
		report.ReportActionInterfaceSrc, report.ReportActionInterfaceDst, report.ReportPairInterface} {
		rep, _ := report.Lookup(id)
		for _, m := range rep.Metrics {
			want, err := ds.Expected(action, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Family == schema.Pair {
				want = ds.Truth.Sums["vpcflow_pair_"+string(m)]
			}
			res, err := e.Table(ctx, report.Query{Report: id, Metric: m, Top: 5}, ds.From, ds.To)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != reporttest.Sum(want) || reporttest.Sum(rowsOf(t, res)) != reporttest.Sum(want) {
				t.Errorf("%s %s: total %v, rows %v; want %v", id, m, res.Total, reporttest.Sum(rowsOf(t, res)), reporttest.Sum(want))
			}
			// Two label sets kept per VPC, action and hour (and whatever
			// a first batch adds): at most 5 rows and Other, Other among
			// them.
			if n := len(res.Rows); n < 2 || n > 6 || !hasOther(res) {
				t.Errorf("%s %s: %d rows, want up to 5 and Other", id, m, n)
			}
		}
		if rep.Family == schema.Pair {
			continue
		}
		for _, filters := range [][]report.Filter{nil, {{Label: "action", Op: report.OpEqual, Value: "ACCEPT"}}} {
			res, err := e.TimeSeries(ctx, report.Query{Report: id, Metric: report.MetricFlows, Top: 3, Filters: filters}, from, to, 4*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if res.Step != 5*time.Minute {
				t.Errorf("%s: step %s, want 4 minutes raised to the data's 5", id, res.Step)
			}
			for j, start := range res.Series[0].Timestamps {
				end := res.To
				if j+1 < len(res.Series[0].Timestamps) {
					end = res.Series[0].Timestamps[j+1]
				}
				truth, err := ds.ExpectedMinutes(action, report.MetricFlows, filters, start, end)
				if err != nil {
					t.Fatal(err)
				}
				got := 0.0
				for _, s := range res.Series {
					got += s.Values[j]
					if s.Values[j] < 0 {
						t.Errorf("%s: %v negative at %v", id, s.Labels, start)
					}
				}
				if got != reporttest.Sum(truth) {
					t.Errorf("%s %v: step at %v adds up to %v, want %v", id, filters, start, got, reporttest.Sum(truth))
				}
			}
		}
	}
}

// TestOldAndNewSteps writes what a collector upgraded over an existing
// VictoriaMetrics leaves behind: one-minute samples in every family (as
// written before the families had steps) up to 10:30, then five-minute
// samples in the five-minute families (two batches' slots in each
// interval, which add up) while the one-minute families go on by the
// minute. Every report, as a table (all rows, top 2 and Other) and as time
// series (top 0 and 2; steps of 1, 5 and 15 minutes asked for), over ranges
// before, across and after the switch, some not on a five-minute boundary,
// equals the sums of the samples written in its range rounded down to its
// step.
func TestOldAndNewSteps(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	base := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	switchAt := base.Add(30 * time.Minute)
	rng := rand.New(rand.NewPCG(13, 5))
	type handMade struct {
		fam     int
		name    string
		values  []string
		samples []vmclient.Sample
	}
	var made []handMade
	var series []vmclient.Series
	for id, fam := range schema.Families() {
		if fam.Derived {
			continue
		}
		for i := range 5 {
			set := map[string]string{}
			var values []string
			for j, l := range fam.Labels {
				v := fmt.Sprintf("%s-%d", l, i%3)
				switch {
				case j == 3: // the first of the family's own: label sets differ
					v = fmt.Sprintf("%s-%d", l, i)
				case l == "action":
					v = []string{"ACCEPT", "REJECT"}[i%2]
				case l == "flow_direction":
					v = []string{"egress", "ingress"}[i/2%2]
				}
				set[l] = v
				values = append(values, v)
			}
			for _, name := range fam.MetricNames() {
				var samples []vmclient.Sample
				add := func(at time.Time) {
					samples = append(samples, vmclient.Sample{Timestamp: at.UnixMilli(), Value: float64(1 + rng.IntN(1000))})
				}
				add(base.Add(-time.Millisecond)) // outside every range
				for m := range 60 {
					minute := base.Add(time.Duration(m) * time.Minute)
					switch {
					case minute.Before(switchAt) || fam.Step == time.Minute:
						add(minute.Add(time.Duration(rng.IntN(60000)) * time.Millisecond))
					case minute.Sub(base)%fam.Step == 0:
						add(minute)                               // slot 0
						add(minute.Add(59999 * time.Millisecond)) // another batch, slot 59999
					}
				}
				add(base.Add(time.Hour)) // outside every range
				made = append(made, handMade{id, name, values, samples})
				series = append(series, reporttest.Series(name, id, set, samples...))
			}
		}
	}
	reporttest.Write(t, vm.URL, series...)
	vm.Flush()
	// truth sums the samples of the report's family in [from, to), per
	// group-by label set.
	truth := func(rep report.Report, m report.Metric, from, to time.Time) map[string]float64 {
		labels := rep.FamilyDef().Labels
		out := map[string]float64{}
		for _, h := range made {
			if h.fam != rep.Family || h.name != rep.MetricName(m) {
				continue
			}
			if ok, err := reporttest.Matches(labels, h.values, rep.Filters); err != nil || !ok {
				continue
			}
			key := map[string]string{}
			for i, l := range labels {
				key[l] = h.values[i]
			}
			for _, s := range h.samples {
				if s.Timestamp >= from.UnixMilli() && s.Timestamp < to.UnixMilli() {
					out[reporttest.Key(key, rep.GroupBy)] += s.Value
				}
			}
		}
		return out
	}
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	at := func(h, m int) time.Time { return time.Date(2026, 7, 1, h, m, 0, 0, time.UTC) }
	ranges := [][2]time.Time{{at(10, 0), at(11, 0)}, {at(10, 15), at(10, 45)}, {at(10, 27), at(10, 52)}, {at(10, 29), at(10, 31)}, {at(9, 58), at(10, 33)}, {at(10, 40), at(10, 59)}}
	for _, rep := range report.Reports() {
		m := rep.DefaultMetric()
		for _, r := range ranges {
			q := report.Query{Report: rep.ID, Metric: m}
			step, err := q.Step()
			if err != nil {
				t.Fatal(err)
			}
			from, to, err := report.Align(r[0], r[1], step)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%s over %s–%s (read as %s–%s)", rep.ID, r[0].Format("15:04"), r[1].Format("15:04"), from.Format("15:04"), to.Format("15:04"))
			want := truth(rep, m, from, to)
			res, err := e.Table(ctx, q, r[0], r[1])
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, row := range res.Rows {
				got[reporttest.Key(row.Labels, rep.GroupBy)] += row.Value
			}
			if d := reporttest.Diff(got, want); d != "" || res.Total != reporttest.Sum(want) || !res.From.Equal(from) || !res.To.Equal(to) {
				t.Errorf("%s: total %v, want %v; rows differ:\n%s", name, res.Total, reporttest.Sum(want), d)
			}
			q.Top = 2
			res, err = e.Table(ctx, q, r[0], r[1])
			if err != nil {
				t.Fatal(err)
			}
			top, rest := reporttest.TopOf(want, 2)
			got = map[string]float64{}
			for _, row := range res.Rows {
				if row.Other {
					got["Other"] = row.Value
					continue
				}
				got[reporttest.Key(row.Labels, rep.GroupBy)] = row.Value
			}
			if len(want) > 2 {
				top["Other"] = rest
			}
			if d := reporttest.Diff(got, top); d != "" {
				t.Errorf("%s top 2 differs:\n%s", name, d)
			}
			for _, top := range []int{0, 2} {
				if top > 0 && (rep.Family == schema.Src || rep.Family == schema.Dst || rep.Family == schema.App) {
					// The Other of their time series comes from
					// vpcflow_total, which sums the interface family: the
					// hand-made families do not add up to the same (see
					// TestReports and TestTopKFolded for collected data).
					continue
				}
				q.Top = top
				for _, ask := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute} {
					ts, err := e.TimeSeries(ctx, q, r[0], r[1], ask)
					if err != nil {
						t.Fatal(err)
					}
					if ts.Step%step != 0 || ts.Step < ask {
						t.Errorf("%s: step %s asked, %s given: not a multiple of %s", name, ask, ts.Step, step)
					}
					if len(ts.Series) == 0 {
						t.Fatalf("%s: no series", name)
					}
					for j, start := range ts.Series[0].Timestamps {
						end := ts.To
						if j+1 < len(ts.Series[0].Timestamps) {
							end = ts.Series[0].Timestamps[j+1]
						}
						want := truth(rep, m, start, end)
						sum := 0.0
						for _, s := range ts.Series {
							sum += s.Values[j]
							if k := reporttest.Key(s.Labels, rep.GroupBy); top == 0 && s.Values[j] != want[k] {
								t.Errorf("%s top %d step %s: %s at %s: %v, want %v", name, top, ts.Step, k, start.Format("15:04"), s.Values[j], want[k])
							}
						}
						if sum != reporttest.Sum(want) {
							t.Errorf("%s top %d step %s: the step at %s adds up to %v, want %v", name, top, ts.Step, start.Format("15:04"), sum, reporttest.Sum(want))
						}
					}
				}
			}
		}
	}
}

// hasOther reports whether a table has a row of folded label sets.
func hasOther(res *report.Result) bool {
	for _, r := range res.Rows {
		for _, v := range r.Labels {
			if v == schema.Other {
				return true
			}
		}
	}
	return false
}

// valuesIn returns the values of ls in the order of columns.
func valuesIn(ls map[string]string, columns []string) []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = ls[c]
	}
	return out
}
