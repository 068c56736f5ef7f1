package report

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/VictoriaMetrics/metricsql"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestRegistry checks the registry against its table in docs/reports.md
// (Registry) and the schema: every report ID with its title, labels of the
// report's family, known metrics.
func TestRegistry(t *testing.T) {
	want := map[string]string{
		"action": "Action", "action-interface": "Action with Interface", "action-interface-dst": "Action with Interface and Dst",
		"action-interface-src": "Action with Interface and Src", "availability-zones": "Availability Zones", "dst-service": "Dst Service",
		"interface": "Interface", "pair-interface": "Pair Interface", "pair-interface-action": "Pair Interface Action",
		"src-service": "Src Service", "src-service-dst-service": "Src Service-Dst Service", "traffic-path": "Traffic Path", "vpcs": "VPCs",
		"applications": "Applications", "top-sources": "Top Sources", "top-destinations": "Top Destinations", "reject-reasons": "Reject Reasons",
		"subnets": "Subnets", "instances": "Instances", "log-status": "Log Status", "exporters": "Exporters",
	}
	seen := map[string]bool{}
	for _, r := range Reports() {
		if seen[r.ID] {
			t.Errorf("report %s listed twice", r.ID)
		}
		seen[r.ID] = true
		if want[r.ID] != r.Title {
			t.Errorf("report %s: title %q, want %q", r.ID, r.Title, want[r.ID])
		}
		if r.Description == "" || len(r.GroupBy) == 0 || len(r.Metrics) == 0 {
			t.Errorf("report %s lacks a description, group-by labels or metrics", r.ID)
		}
		fam := r.FamilyDef()
		for _, l := range append(r.Columns()[:len(r.GroupBy)], r.Filterable()...) {
			if !slices.Contains(fam.Labels, l) {
				t.Errorf("report %s: label %s is not one of %s's", r.ID, l, fam.Name)
			}
		}
		for _, f := range r.Filters {
			if err := checkFilter(r, f); err != nil {
				t.Errorf("report %s: fixed filter: %v", r.ID, err)
			}
		}
		for _, m := range r.Metrics {
			if fam.Traffic == (m == MetricRecords) {
				t.Errorf("report %s: metric %s does not fit family %s", r.ID, m, fam.Name)
			}
		}
		got, err := Lookup(r.ID)
		if err != nil || got.ID != r.ID {
			t.Errorf("Lookup(%s) = %v, %v", r.ID, got.ID, err)
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("report %s missing", id)
		}
	}
	tp, _ := Lookup(ReportTrafficPath)
	if !slices.Equal(tp.Filters, []Filter{{"flow_direction", OpEqual, "egress"}}) {
		t.Errorf("traffic-path filters %v, want egress only", tp.Filters)
	}
	_, err := Lookup("nope")
	if err == nil || !strings.Contains(err.Error(), "action-interface-dst") || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Lookup(nope) = %v, want an error listing the IDs", err)
	}
	// A copy: changing it does not change the registry.
	r, _ := Lookup(ReportAction)
	r.GroupBy[0] = "x"
	if r2, _ := Lookup(ReportAction); r2.GroupBy[0] != "action" {
		t.Error("Lookup returned the registry's own slice")
	}
}

// TestQueryCheck shows defaults and the errors of bad queries.
func TestQueryCheck(t *testing.T) {
	p, err := Query{Report: "action"}.check()
	if err != nil || p.metric != MetricBytes || p.mode != ModeTotal || p.format != FormatTable || p.top != 0 {
		t.Fatalf("defaults: %+v, %v", p, err)
	}
	if p, err := (Query{Report: "log-status"}).check(); err != nil || p.metric != MetricRecords {
		t.Errorf("log-status default metric: %+v, %v", p, err)
	}
	if p, err := (Query{Report: "exporters"}).check(); err != nil || p.metric != MetricFlows {
		t.Errorf("exporters default metric: %+v, %v", p, err)
	}
	f := func(q Query, want ...string) {
		t.Helper()
		err := q.Validate()
		if err == nil {
			t.Errorf("%+v: no error, want %q", q, want)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q lacks %q", q, err, w)
			}
		}
	}
	f(Query{Report: "nope"}, `unknown report "nope"`, "action, action-interface")
	f(Query{Report: "action", Metric: "records"}, `unknown metric "records"`, "bytes, packets, flows")
	f(Query{Report: "log-status", Metric: "bytes"}, `unknown metric "bytes"`, "records")
	f(Query{Report: "action", Mode: "avg"}, `unknown mode "avg"`)
	f(Query{Report: "action", Format: "heatmap"}, `unknown format "heatmap"`)
	f(Query{Report: "action", Top: -1}, "top -1")
	f(Query{Report: "action", Filters: []Filter{{"src_addr", OpEqual, "x"}}}, `cannot filter on label "src_addr"`,
		"account_id, region, vpc_id, subnet_id, az_id, interface_id, instance_id, action, flow_direction, traffic_path, reject_reason")
	f(Query{Report: "action", Filters: []Filter{{"action", "==", "x"}}}, `unknown operator "=="`)
	f(Query{Report: "action", Filters: []Filter{{"action", OpMatch, "(unclosed"}}}, "bad regular expression")
	f(Query{Report: "exporters", Filters: []Filter{{"action", OpEqual, "ACCEPT"}}}, "account_id, region, vpc_id, interface_id")
	if err := (Query{Report: "top-sources", Filters: []Filter{{"src_addr", OpMatch, `10\..*`}, {"vpc_id", OpNotEqual, "-"}}}).Validate(); err != nil {
		t.Errorf("good filters: %v", err)
	}
}

// TestQueryTop shows the bounds of top by format: a table takes any top (0
// for every row), a time series at most MaxSeries.
func TestQueryTop(t *testing.T) {
	f := func(format Format, top int, want string) {
		t.Helper()
		err := Query{Report: ReportActionInterfaceDst, Top: top, Format: format}.Validate()
		switch {
		case want == "" && err != nil:
			t.Errorf("%s top %d: %v, want no error", format, top, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s top %d: error %v, want one saying %q", format, top, err, want)
		}
	}
	for _, top := range []int{0, 1, 1000, 10_000, 10_001, 250_000, math.MaxInt} {
		f(FormatTable, top, "")
	}
	for _, top := range []int{0, 1, 999, 1000} {
		f(FormatTimeSeries, top, "")
	}
	f(FormatTimeSeries, 1001, "top 1001: a time series shows at most 1000 series (top 1 to 1000, or 0 for all of them); the table format takes any top")
	f(FormatTimeSeries, 10_000, "top 10000: a time series shows at most 1000 series")
	f(FormatTable, -1, "top -1: want 0 (all rows) or more")
	f(FormatTimeSeries, -1, "top -1: want 0 (all rows) or more")
}

// TestQueryJSON shows the query model's JSON, shared with the plugin's
// query editor.
func TestQueryJSON(t *testing.T) {
	const in = `{"report":"action","metric":"bytes","mode":"rate","top":10,"filters":[{"label":"vpc_id","op":"=~","value":"vpc-1"}],"format":"time_series"}`
	var q Query
	if err := json.Unmarshal([]byte(in), &q); err != nil {
		t.Fatal(err)
	}
	want := Query{Report: "action", Metric: MetricBytes, Mode: ModeRate, Top: 10, Filters: []Filter{{"vpc_id", OpMatch, "vpc-1"}}, Format: FormatTimeSeries}
	if q.Report != want.Report || q.Metric != want.Metric || q.Mode != want.Mode || q.Top != want.Top || q.Format != want.Format || !slices.Equal(q.Filters, want.Filters) {
		t.Errorf("decoded %+v, want %+v", q, want)
	}
	out, _ := json.Marshal(q)
	if string(out) != in {
		t.Errorf("encoded %s\nwant    %s", out, in)
	}
}

func TestParseFilter(t *testing.T) {
	f := func(in string, want Filter, wantErr bool) {
		t.Helper()
		got, err := ParseFilter(in)
		if (err != nil) != wantErr || got != want {
			t.Errorf("ParseFilter(%q) = %+v, %v; want %+v, error %v", in, got, err, want, wantErr)
		}
	}
	f("vpc_id=vpc-1", Filter{"vpc_id", OpEqual, "vpc-1"}, false)
	f("vpc_id!=vpc-1", Filter{"vpc_id", OpNotEqual, "vpc-1"}, false)
	f("src_addr=~10\\..*", Filter{"src_addr", OpMatch, `10\..*`}, false)
	f("src_addr!~10\\..*", Filter{"src_addr", OpNotMatch, `10\..*`}, false)
	f("action=", Filter{"action", OpEqual, ""}, false)
	f(`x="a=b"`, Filter{"x", OpEqual, `"a=b"`}, false)
	f("x==y", Filter{"x", OpEqual, "=y"}, false)
	f("=v", Filter{}, true)
	f("vpc id=v", Filter{}, true)
	f("vpc_id", Filter{}, true)
	f("vpc_id<3", Filter{}, true)
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 34, 56, 0, time.UTC)
	f := func(in string, want time.Time) {
		t.Helper()
		got, err := ParseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	f("now", now)
	f("now-6h", now.Add(-6*time.Hour))
	f("now-30m", now.Add(-30*time.Minute))
	f("now-1h30m", now.Add(-90*time.Minute))
	f("now-2d", now.Add(-48*time.Hour))
	f("now-1w", now.Add(-7*24*time.Hour))
	f("now-1d12h", now.Add(-36*time.Hour))
	f("2026-03-01T10:00:00Z", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	f("2026-03-01T11:00:00+01:00", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	f("1772359200", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	f("1772359200.5", time.Date(2026, 3, 1, 10, 0, 0, 5e8, time.UTC))
	for _, bad := range []string{"", "yesterday", "now-", "now-6", "now-x", "now+1h", "2026-03-01", "-5", "now-0s"} {
		if got, err := ParseTime(bad, now); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", bad, got)
		}
	}
}

// TestAlign rounds ranges down to whole steps of the data: minutes, and
// five minutes (10:02–11:02 reads 10:00–11:00).
func TestAlign(t *testing.T) {
	m := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	f := func(from, to string, step time.Duration, wantFrom, wantTo string) {
		t.Helper()
		gf, gt, err := Align(m(from), m(to), step)
		if err != nil || !gf.Equal(m(wantFrom)) || !gt.Equal(m(wantTo)) {
			t.Errorf("Align(%s, %s, %s) = %v, %v, %v; want %s, %s", from, to, step, gf, gt, err, wantFrom, wantTo)
		}
	}
	f("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", time.Minute, "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")
	f("2026-03-01T10:00:59.999Z", "2026-03-01T10:05:30Z", time.Minute, "2026-03-01T10:00:00Z", "2026-03-01T10:05:00Z")
	f("2026-03-01T11:00:30+01:00", "2026-03-01T10:02:00Z", time.Minute, "2026-03-01T10:00:00Z", "2026-03-01T10:02:00Z")
	f("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", 0, "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z") // 0: a minute
	f("2026-03-01T10:02:00Z", "2026-03-01T11:02:00Z", 5*time.Minute, "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z")
	f("2026-03-01T10:04:59.999Z", "2026-03-01T10:09:59.999Z", 5*time.Minute, "2026-03-01T10:00:00Z", "2026-03-01T10:05:00Z")
	f("2026-03-01T10:05:00Z", "2026-03-01T10:10:00Z", 5*time.Minute, "2026-03-01T10:05:00Z", "2026-03-01T10:10:00Z")
	f("2026-03-01T11:03:00+01:00", "2026-03-01T10:07:00+00:00", 5*time.Minute, "2026-03-01T10:00:00Z", "2026-03-01T10:05:00Z")
	for _, c := range []struct {
		from, to string
		step     time.Duration
		want     string
	}{
		{"2026-03-01T10:00:10Z", "2026-03-01T10:00:50Z", time.Minute, "holds no whole minute (both ends are rounded down to the minute"},
		{"2026-03-01T11:00:00Z", "2026-03-01T10:00:00Z", time.Minute, "holds no whole minute"},
		{"2026-03-01T10:01:00Z", "2026-03-01T10:04:00Z", 5 * time.Minute, "holds no whole 5-minute step (both ends are rounded down to a multiple of 5 minutes"},
		{"2026-03-01T10:04:00Z", "2026-03-01T10:06:00Z", 5 * time.Minute, ""},
	} {
		_, _, err := Align(m(c.from), m(c.to), c.step)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Align(%s, %s, %s): %v, want %q", c.from, c.to, c.step, err, c.want)
		}
	}
}

func TestStepFor(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f := func(span, step, base, want time.Duration) {
		t.Helper()
		if got := StepFor(from, from.Add(span), step, base); got != want {
			t.Errorf("StepFor(%s, %s, %s) = %s, want %s", span, step, base, got, want)
		}
	}
	f(time.Hour, 0, time.Minute, time.Minute)
	f(time.Hour, 0, 0, time.Minute)
	f(time.Hour, 15*time.Second, time.Minute, time.Minute)
	f(time.Hour, 90*time.Second, time.Minute, 2*time.Minute)
	f(time.Hour, 5*time.Minute, time.Minute, 5*time.Minute)
	f(24*time.Hour, time.Minute, time.Minute, time.Minute)
	f(30*24*time.Hour, time.Minute, time.Minute, 5*time.Minute) // 43200 minutes > MaxPoints
	f(365*24*time.Hour, 0, time.Minute, 53*time.Minute)
	// Five-minute data: multiples of five minutes, never less.
	f(time.Hour, 0, 5*time.Minute, 5*time.Minute)
	f(time.Hour, time.Minute, 5*time.Minute, 5*time.Minute)
	f(time.Hour, 7*time.Minute, 5*time.Minute, 10*time.Minute)
	f(time.Hour, 10*time.Minute, 5*time.Minute, 10*time.Minute)
	f(time.Hour, time.Hour, 5*time.Minute, time.Hour)
	f(365*24*time.Hour, 0, 5*time.Minute, 55*time.Minute)
}

func TestBuckets(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }
	f := func(from, to time.Time, step time.Duration, want ...time.Time) {
		t.Helper()
		bs := buckets(from, to, step)
		var got []time.Time
		for i, b := range bs {
			got = append(got, b.start)
			if i > 0 && !bs[i-1].end.Equal(b.start) {
				t.Errorf("gap before %v", b)
			}
		}
		if len(got) > len(want) && step%(15*time.Minute) != 0 {
			got = got[:len(want)] // compare the first steps only
		}
		if !slices.EqualFunc(got, want, time.Time.Equal) || !bs[len(bs)-1].end.Equal(to) {
			t.Errorf("buckets(%v, %v, %s) = %v, want starts %v", from, to, step, bs, want)
		}
	}
	f(at(10, 0), at(11, 0), 15*time.Minute, at(10, 0), at(10, 15), at(10, 30), at(10, 45))
	f(at(10, 7), at(10, 50), 15*time.Minute, at(10, 7), at(10, 15), at(10, 30), at(10, 45))
	f(at(10, 7), at(10, 9), 15*time.Minute, at(10, 7))
	f(at(10, 7), at(10, 10), time.Minute, at(10, 7), at(10, 8), at(10, 9))
	f(at(10, 0), at(12, 0), 7*time.Minute, at(10, 0), at(10, 1), at(10, 8), at(10, 15)) // multiples of 7 minutes since 1970
}

// TestEscaping feeds hostile values through filters: each stays one label
// filter value, as metricsql (VictoriaMetrics' own parser) reads it.
func TestEscaping(t *testing.T) {
	for _, v := range hostile {
		for _, op := range []Op{OpEqual, OpNotEqual} {
			p, err := Query{Report: "interface", Filters: []Filter{{"interface_id", op, v}}}.check()
			if err != nil {
				t.Fatal(err)
			}
			expr := p.grouped(time.Hour)
			e, err := metricsql.Parse(expr)
			if err != nil {
				t.Errorf("%q: %s does not parse: %v", v, expr, err)
				continue
			}
			var filters []metricsql.LabelFilter
			metricsql.VisitAll(e, func(e metricsql.Expr) {
				if me, ok := e.(*metricsql.MetricExpr); ok {
					for _, lfs := range me.LabelFilterss {
						filters = append(filters, lfs...)
					}
				}
			})
			want := []metricsql.LabelFilter{{Label: "__name__", Value: "vpcflow_interface_bytes"}, {Label: "interface_id", Value: v, IsNegative: op == OpNotEqual}}
			if !slices.Equal(filters, want) {
				t.Errorf("%q: %s parses to filters %+v, want %+v", v, expr, filters, want)
			}
		}
	}
}

// TestNamesQueryEscaping: the names query restricted to hostile ids parses
// into one filter on the entity type and one on the id, whose regular
// expression matches exactly those ids; values that are not valid UTF-8
// (no entity has such an id) and those that stand for no entity are left
// out.
func TestNamesQueryEscaping(t *testing.T) {
	e, rec := recordingEngine(t)
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if _, err := e.Names(context.Background(), from, from.Add(time.Hour), map[EntityType][]string{EntityInterface: hostile, EntityVPC: {"-", "other", "Other"}}); err != nil {
		t.Fatal(err)
	}
	if len(rec.sent) != 1 {
		t.Fatalf("%d queries sent, want 1", len(rec.sent))
	}
	expr := rec.sent[0].expr
	if rec.sent[0].time != from.Add(time.Hour).UnixMilli()-1 {
		t.Errorf("%s at %d, want the range's last millisecond", expr, rec.sent[0].time)
	}
	if !strings.Contains(expr, "[7200s]") {
		t.Errorf("%s: want a window of the range and the hour before it", expr)
	}
	e2, err := metricsql.Parse(expr)
	if err != nil {
		t.Fatalf("%s does not parse: %v", expr, err)
	}
	var filters []metricsql.LabelFilter
	metricsql.VisitAll(e2, func(e metricsql.Expr) {
		if me, ok := e.(*metricsql.MetricExpr); ok {
			for _, lfs := range me.LabelFilterss {
				filters = append(filters, lfs...)
			}
		}
	})
	if len(filters) != 3 || filters[0] != (metricsql.LabelFilter{Label: "__name__", Value: EntityInfoMetric}) ||
		filters[1] != (metricsql.LabelFilter{Label: EntityTypeLabel, Value: "interface", IsRegexp: true}) || filters[2].Label != EntityIDLabel || !filters[2].IsRegexp {
		t.Fatalf("%s parses to filters %+v", expr, filters)
	}
	re := regexp.MustCompile("^(?:" + filters[2].Value + ")$")
	for _, v := range hostile {
		if want := v != "" && utf8.ValidString(v); re.MatchString(v) != want {
			t.Errorf("%q: matched %v, want %v by %s", v, !want, want, re)
		}
		if v != "" && re.MatchString(v+"x") {
			t.Errorf("%q: %s matches %q", v, re, v+"x")
		}
	}
	for _, v := range []string{"-", "other", "Other", "ab", "x"} {
		if re.MatchString(v) {
			t.Errorf("%s matches %q", re, v)
		}
	}
}

// hostile are label values that would break a query built without
// escaping.
var hostile = []string{
	`"} or vector(1)`,
	`"} or vector(1) or {"`,
	`a"b`, `a\"b`, `\`, `\\`, `a\nb`, "new\nline", "tab\tand\rreturn",
	`{}`, `}`, `{`, `'single'`, "`back`", `a,b=c`, `x") by (y`,
	"", " ", "ünïcødé ✓", "\x00nul", "bad utf8 \xff\xfe",
	`.*`, `a|b`,
}

// queryRecorder is a fake Prometheus query API: it parses every query with
// metricsql, checks that it bypasses the cache, records it with its times
// recordingEngine returns an engine whose queries go to a queryRecorder,
// closed when the test ends.
func recordingEngine(t *testing.T) (*Engine, *queryRecorder) {
	t.Helper()
	rec := &queryRecorder{t: t}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	e, err := New(vmclient.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return e, rec
}

// and answers with an empty result.
type queryRecorder struct {
	t    *testing.T
	mu   sync.Mutex
	sent []sentQuery
}

// sentQuery is a query as VictoriaMetrics received it.
type sentQuery struct {
	expr                   string
	ranged                 bool
	time, start, end, step int64 // ms; step of a range query
}

func (r *queryRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
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
	if _, err := metricsql.Parse(q.expr); err != nil {
		r.t.Errorf("query %s does not parse: %v", q.expr, err)
	}
	if req.Form.Get("nocache") != "1" {
		r.t.Errorf("query %s without nocache=1", q.expr)
	}
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

// TestEveryQueryParses runs every report, metric, mode and format, with
// filters and top N, against a fake API that parses each query with
// metricsql.
func TestEveryQueryParses(t *testing.T) {
	e, rec := recordingEngine(t)
	from := time.Date(2026, 3, 1, 10, 7, 0, 0, time.UTC)
	ctx := context.Background()
	for _, r := range Reports() {
		for _, m := range r.Metrics {
			formats := []Format{FormatTable, FormatTimeSeries}
			if _, _, ok := r.GraphEnds(); ok {
				formats = append(formats, FormatNodeGraph)
			}
			for _, format := range formats {
				for _, top := range []int{0, 5} {
					q := Query{Report: r.ID, Metric: m, Top: top, Format: format, Mode: ModeRate,
						Filters: []Filter{{schema.LabelVPC, OpNotMatch, hostile[1]}, {schema.LabelRegion, OpEqual, hostile[0]}}}
					if _, err := e.Run(ctx, q, TimeRange{From: from, To: from.Add(2 * time.Hour), Step: 15 * time.Minute}); err != nil {
						t.Errorf("%+v: %v", q, err)
					}
				}
			}
		}
		if _, err := e.LabelValues(ctx, r.ID, schema.LabelVPC, []Filter{{schema.LabelRegion, OpEqual, hostile[0]}}, from, from.Add(time.Hour)); err != nil {
			t.Errorf("LabelValues(%s): %v", r.ID, err)
		}
	}
	if h := e.Health(ctx); !h.Reachable {
		t.Errorf("health: %+v", h)
	}
	if len(rec.sent) < 100 {
		t.Errorf("only %d queries", len(rec.sent))
	}
}

// TestEngineUnreachable: a report and the health of a storage that is not
// there say where and what failed, without credentials.
func TestEngineUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	// Unreachable: the URL and what failed.
	u := srv.URL
	srv.Close()
	e, _ := New(vmclient.Config{URL: u, Username: "u", Password: "hunter2"})
	_, err := e.Table(context.Background(), Query{Report: "action"}, time.Now().Add(-time.Hour), time.Now())
	if err == nil || !strings.Contains(err.Error(), "cannot reach VictoriaMetrics at "+u) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unreachable: %v", err)
	}
	if h := e.Health(context.Background()); h.OK || h.Reachable || !strings.Contains(h.Message(), "cannot reach VictoriaMetrics at "+u) {
		t.Errorf("health when unreachable: %+v", h)
	}
}

// TestQueryStep: a query's step is the longest step of the families its
// rows and totals come from.
func TestQueryStep(t *testing.T) {
	const m, five = time.Minute, 5 * time.Minute
	iface := []Filter{{"interface_id", OpEqual, "eni-1"}}
	vpc := []Filter{{schema.LabelVPC, OpEqual, "vpc-1"}}
	for _, c := range []struct {
		report  string
		filters []Filter
		want    time.Duration
	}{
		{ReportAction, nil, m}, // vpcflow_total
		{ReportAction, vpc, m}, // vpcflow_total
		{ReportAction, []Filter{{"flow_direction", OpEqual, "egress"}}, m}, // vpcflow_total
		{ReportAction, iface, five},                                        // vpcflow_interface
		{ReportAction, []Filter{{"subnet_id", OpEqual, "s"}}, five},        // vpcflow_interface
		{ReportVPCs, []Filter{{"action", OpEqual, "REJECT"}}, m},           // vpcflow_total
		{ReportVPCs, []Filter{RejectedOnly()}, m},                          // the alert rules' query
		{ReportInterface, nil, five},                                       // rows from the interface family, totals from vpcflow_total
		{ReportTrafficPath, nil, five},                                     // traffic_path: not in vpcflow_total
		{ReportSrcService, nil, m},
		{ReportSrcServiceDstService, vpc, m},
		{ReportTopSources, nil, five}, // vpcflow_src and vpcflow_total: the coarser
		{ReportTopSources, iface, five},
		{ReportPairInterface, nil, five}, // vpcflow_pair and vpcflow_pair_total
		{ReportApplications, nil, five},  // vpcflow_app_total
		{ReportApplications, iface, five},
		{ReportLogStatus, nil, five},
		{ReportExporters, nil, five}, // vpcflow_total and the status family
		{ReportExporters, iface, five},
	} {
		got, err := Query{Report: c.report, Filters: c.filters}.Step()
		if err != nil || got != c.want {
			t.Errorf("%s %v: step %s, %v; want %s", c.report, c.filters, got, err, c.want)
		}
	}
	if _, err := (Query{Report: "nope"}).Step(); err == nil {
		t.Error("Step of an unknown report: no error")
	}
}
