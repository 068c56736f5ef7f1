package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// seriesOf sums each time series frame over its steps, keyed by its
// labels' values in keys ("Other" for the Other series), and checks the
// frames' shape: one time and one number field, labels, a display name,
// the same timestamps in every frame, starting at from, at most maxPoints.
func seriesOf(t *testing.T, name string, frames data.Frames, keys []string, from time.Time, maxPoints int) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	var stamps []time.Time
	names := map[string]bool{}
	for i, f := range frames {
		if f.Meta == nil || f.Meta.Type != data.FrameTypeTimeSeriesMulti {
			t.Fatalf("%s: frame %d: meta %+v, want a timeseries-multi frame", name, i, f.Meta)
		}
		if len(f.Fields) == 0 && len(frames) == 1 {
			return out // no data
		}
		if len(f.Fields) != 2 || f.Fields[0].Type() != data.FieldTypeTime || f.Fields[1].Type() != data.FieldTypeFloat64 {
			t.Fatalf("%s: frame %d: fields %v, want time and float64", name, i, f.Fields)
		}
		vf := f.Fields[1]
		display := vf.Config.DisplayNameFromDS
		if display == "" || names[display] {
			t.Errorf("%s: frame %d: display name %q empty or repeated", name, i, display)
		}
		names[display] = true
		k := reporttest.Key(vf.Labels, keys)
		if display == plugin.OtherName {
			k = plugin.OtherName
			if i != len(frames)-1 {
				t.Errorf("%s: Other is frame %d of %d, want it last", name, i, len(frames))
			}
		}
		var ts []time.Time
		for j := range f.Fields[0].Len() {
			ts = append(ts, f.Fields[0].At(j).(time.Time))
			out[k] += vf.At(j).(float64)
		}
		if stamps == nil {
			stamps = ts
			if len(ts) == 0 || !ts[0].Equal(from) || len(ts) > maxPoints {
				t.Errorf("%s: %d steps from %v, want at most %d from %v", name, len(ts), ts, maxPoints, from)
			}
		} else if !slices.EqualFunc(ts, stamps, time.Time.Equal) {
			t.Errorf("%s: frame %d has other timestamps", name, i)
		}
	}
	return out
}

// TestQueryDataGroundTruth loads an hour of generated flow logs and checks
// the QueryData frames of every report, as Grafana gets them over gRPC,
// against totals computed from the generated records themselves: tables
// of every metric (top 0: every row), top 3 with Other adding up, time
// series (top report.MaxSeries) summed over their steps (with the step
// raised to respect MaxDataPoints), alert queries, a filter, and rate
// mode. Each report's queries go in one
// request, which runs them concurrently.
func TestQueryDataGroundTruth(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ds := reporttest.Load(t, vm, reporttest.Hour(t, 7))
	h := serve(t)
	checkQueryData(t, h, h.dataSource(map[string]any{"url": vm.URL}, nil), ds)
}

// checkQueryData is TestQueryDataGroundTruth's check of every report's
// frames, through the data source pc, against the ground truth of ds.
func checkQueryData(t *testing.T, h *harness, pc backend.PluginContext, ds *reporttest.Dataset) {
	t.Helper()
	from, to := ds.From, ds.To
	secs := to.Sub(from).Seconds()
	vpc := strings.Split(slices.Sorted(maps.Keys(ds.Seen))[0], "|")[2]
	vpcFilter := []report.Filter{{Label: schema.LabelVPC, Op: report.OpEqual, Value: vpc}}

	for _, rep := range report.Reports() {
		t.Run(rep.ID, func(t *testing.T) {
			m := rep.DefaultMetric()
			exporters := rep.ID == report.ReportExporters
			// Alert frames: the group-by labels (exporters: and status).
			alertKeys := slices.Clone(rep.GroupBy)
			if exporters {
				alertKeys = append(alertKeys, report.ColumnStatus)
			}
			model := func(metric report.Metric, mode report.Mode, top int, format report.Format) map[string]any {
				return map[string]any{"report": rep.ID, "metric": metric, "mode": mode, "top": top, "format": format}
			}
			var queries []backend.DataQuery
			for _, metric := range rep.Metrics {
				queries = append(queries, dq("table-"+string(metric), from, to, time.Minute, 1000, model(metric, report.ModeTotal, 0, report.FormatTable)))
			}
			queries = append(queries,
				dq("table-top3", from, to, time.Minute, 1000, model(m, report.ModeTotal, 3, report.FormatTable)),
				dq("series", from, to, 7*time.Minute, 1000, model(m, report.ModeTotal, report.MaxSeries, report.FormatTimeSeries)),
				dq("series-top3", from, to, time.Minute, 25, model(m, report.ModeTotal, 3, report.FormatTimeSeries)),
				dq("rate", from, to, time.Minute, 1000, model(m, report.ModeRate, 0, report.FormatTable)),
			)
			filtered := model(m, report.ModeTotal, 0, report.FormatTable)
			filtered["filters"] = vpcFilter
			if !exporters { // first and last seen are not filtered in the truth
				queries = append(queries, dq("filtered", from, to, time.Minute, 1000, filtered))
			}
			resp := h.query(pc, nil, queries...)
			alerts := h.query(pc, map[string]string{backend.FromAlertHeaderName: "true"},
				dq("alert", from, to, time.Minute, 43200, model(m, report.ModeTotal, 0, report.FormatTimeSeries)),
				dq("alert-top3", from, to, time.Minute, 43200, model(m, report.ModeTotal, 3, report.FormatTable)),
			)
			frames := func(r *backend.QueryDataResponse, ref string) data.Frames {
				t.Helper()
				dr := r.Responses[ref]
				if dr.Error != nil {
					t.Fatalf("%s: %v", ref, dr.Error)
				}
				return dr.Frames
			}
			table := func(ref string) map[string]float64 {
				t.Helper()
				fs := frames(resp, ref)
				if len(fs) != 1 || fs[0].Name != rep.Title {
					t.Fatalf("%s: %d frames (%v), want one named %q", ref, len(fs), fs, rep.Title)
				}
				return tableOf(t, fs[0])
			}
			want := map[report.Metric]map[string]float64{}
			for _, metric := range rep.Metrics {
				w, err := ds.Expected(rep, metric, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(w) == 0 {
					t.Fatalf("%s: nothing expected: a useless check", metric)
				}
				want[metric] = w
				if d := reporttest.Diff(table("table-"+string(metric)), w); d != "" {
					t.Errorf("table of %s differs from the ground truth:\n%s", metric, d)
				}
			}
			w := want[m]

			// Top 3 and Other, adding up to the total.
			got := table("table-top3")
			top, rest := reporttest.TopOf(w, 3)
			otherKey := strings.Repeat(report.OtherValue+"|", len(rep.GroupBy)-1) + report.OtherValue
			if exporters {
				otherKey += "|-|-|-|-"
			}
			other, hasOther := got[otherKey]
			delete(got, otherKey)
			if d := reporttest.Diff(got, top); d != "" {
				t.Errorf("top 3 differs:\n%s", d)
			}
			if len(w) > 3 && (!hasOther || other != rest) || len(w) <= 3 && hasOther {
				t.Errorf("Other %v (%v), want %v of %d rows", other, hasOther, rest, len(w))
			}
			if s := reporttest.Sum(got) + other; s != reporttest.Sum(w) {
				t.Errorf("top 3 and Other add up to %v, want %v", s, reporttest.Sum(w))
			}

			// Time series: summed over the steps, the table (its top
			// MaxSeries and Other when it has more rows).
			wg := groundtruth.Project(w, rep.Columns(), rep.GroupBy)
			wantSeries := wg
			if len(wg) > report.MaxSeries {
				var rest float64
				wantSeries, rest = reporttest.TopOf(wg, report.MaxSeries)
				wantSeries[plugin.OtherName] = rest
			}
			if d := reporttest.Diff(seriesOf(t, "series", frames(resp, "series"), rep.GroupBy, from, 1000), wantSeries); d != "" {
				t.Errorf("series summed over the steps differ from the ground truth:\n%s", d)
			}
			topG, restG := reporttest.TopOf(wg, 3)
			if len(wg) > 3 {
				topG[plugin.OtherName] = restG
			}
			if d := reporttest.Diff(seriesOf(t, "series-top3", frames(resp, "series-top3"), rep.GroupBy, from, 25), topG); d != "" {
				t.Errorf("top 3 series summed over the steps differ:\n%s", d)
			}

			// Rate: per second of the range.
			rate := map[string]float64{}
			for k, v := range w {
				rate[k] = v / secs
			}
			if d := reporttest.Diff(table("rate"), rate); d != "" {
				t.Errorf("rate differs:\n%s", d)
			}
			if !exporters {
				wf, err := ds.Expected(rep, m, vpcFilter)
				if err != nil {
					t.Fatal(err)
				}
				if d := reporttest.Diff(table("filtered"), wf); d != "" || len(wf) == 0 {
					t.Errorf("filtered on %s (%d rows expected) differs:\n%s", vpc, len(wf), d)
				}
			}

			// Alerting: one numeric-wide frame, a field per label set.
			numeric := func(ref string) map[string]float64 {
				t.Helper()
				fs := frames(alerts, ref)
				if len(fs) != 1 || fs[0].Meta == nil || fs[0].Meta.Type != data.FrameTypeNumericWide {
					t.Fatalf("%s: frames %v, want one numeric-wide frame", ref, fs)
				}
				out := map[string]float64{}
				for _, f := range fs[0].Fields {
					if f.Len() != 1 || f.Type() != data.FieldTypeFloat64 {
						t.Fatalf("%s: field %s of %d %s values", ref, f.Name, f.Len(), f.Type())
					}
					k := reporttest.Key(f.Labels, alertKeys)
					if f.Config.DisplayNameFromDS == plugin.OtherName {
						k = plugin.OtherName
					}
					out[k] = f.At(0).(float64)
				}
				return out
			}
			wa := groundtruth.Project(w, rep.Columns(), alertKeys)
			if d := reporttest.Diff(numeric("alert"), wa); d != "" {
				t.Errorf("alert values differ:\n%s", d)
			}
			topA, restA := reporttest.TopOf(wa, 3)
			if len(wa) > 3 {
				topA[plugin.OtherName] = restA
			}
			if d := reporttest.Diff(numeric("alert-top3"), topA); d != "" {
				t.Errorf("alert top 3 differs:\n%s", d)
			}
		})
	}
}

// TestQueryDataManyRows loads 10,050 label sets of the pair family
// (reporttest.Pairs) and checks what a panel or Explore gets of a report
// with more rows than a time series may show: a table with top 0 has
// every row, as many as the engine's full table; top 10,001 its rows and
// Other; a time series its top report.MaxSeries and Other, and a top 0 or
// a top over report.MaxSeries fails with status 400 saying what to do.
func TestQueryDataManyRows(t *testing.T) {
	const n = 10_050
	vm, from, to := reporttest.LoadPairs(t, n)
	e, err := report.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	full, err := e.Table(context.Background(), report.Query{Report: report.ReportPairInterface}, from, to)
	if err != nil || len(full.Rows) != n {
		t.Fatalf("the engine's full table: %v, %d rows, want %d", err, len(full.Rows), n)
	}
	want := map[string]float64{}
	for _, r := range full.Rows {
		want[reporttest.Key(r.Labels, full.Columns)] = r.Value
	}

	h := serve(t)
	pc := h.dataSource(map[string]any{"url": vm.URL}, nil)
	model := func(top int, format report.Format) map[string]any {
		return map[string]any{"report": report.ReportPairInterface, "metric": "bytes", "mode": "total", "top": top, "format": format}
	}
	resp := h.query(pc, nil,
		dq("all", from, to, time.Minute, 1000, model(0, report.FormatTable)),
		dq("top", from, to, time.Minute, 1000, model(10_001, report.FormatTable)),
		dq("series", from, to, time.Minute, 1000, model(report.MaxSeries, report.FormatTimeSeries)),
		dq("series-all", from, to, time.Minute, 1000, model(0, report.FormatTimeSeries)),
		dq("series-over", from, to, time.Minute, 1000, model(report.MaxSeries+1, report.FormatTimeSeries)))
	table := func(ref string) map[string]float64 {
		t.Helper()
		r := resp.Responses[ref]
		if r.Error != nil || len(r.Frames) != 1 {
			t.Fatalf("%s: %v, %d frames", ref, r.Error, len(r.Frames))
		}
		return tableOf(t, r.Frames[0])
	}
	if d := reporttest.Diff(table("all"), want); d != "" {
		t.Errorf("top 0 table differs from the engine's full table of %d rows:\n%s", n, d)
	}
	top, rest := reporttest.TopOf(want, 10_001)
	top[plugin.OtherName+"|"+plugin.OtherName] = rest
	if d := reporttest.Diff(table("top"), top); d != "" {
		t.Errorf("top 10001 table differs:\n%s", d)
	}
	if r := resp.Responses["series"]; r.Error != nil {
		t.Errorf("series top %d: %v", report.MaxSeries, r.Error)
	} else {
		top, rest := reporttest.TopOf(want, report.MaxSeries)
		top[plugin.OtherName] = rest
		if d := reporttest.Diff(seriesOf(t, "series", r.Frames, []string{"src_interface", "dst_interface"}, from, 1000), top); d != "" {
			t.Errorf("series top %d differ:\n%s", report.MaxSeries, d)
		}
	}
	for ref, msg := range map[string]string{
		"series-all":  "more than 1000 label sets over the range: a time series shows at most 1000 series; choose a top N of at most 1000, or the table format for every row",
		"series-over": "top 1001: a time series shows at most 1000 series (top 1 to 1000, or 0 for all of them); the table format takes any top",
	} {
		r := resp.Responses[ref]
		if r.Error == nil || r.Status != backend.StatusBadRequest || !strings.Contains(r.Error.Error(), msg) {
			t.Errorf("%s: status %d, error %v; want %d saying %q", ref, r.Status, r.Error, backend.StatusBadRequest, msg)
		}
	}
}

// golden is a small hand-made dataset: six label sets per family, ten
// minutes of samples, values that rank the sets.
var goldenBase = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

var goldenValues = map[string][]string{
	schema.LabelAccount: {"111111111111", "222222222222"},
	schema.LabelRegion:  {"us-east-1", "eu-west-1"},
	schema.LabelVPC:     {"vpc-0a1", "vpc-0b2", "vpc-0c3"},
	"subnet_id":         {"subnet-01", "subnet-02"},
	"az_id":             {"use1-az1", "euw1-az2"},
	"interface_id":      {"eni-0a1", "eni-0b2", "eni-0c3"},
	"instance_id":       {"i-0a1", "-"},
	"action":            {"ACCEPT", "REJECT"},
	"flow_direction":    {"egress", "ingress"},
	"traffic_path":      {"8", "1", "-"},
	"reject_reason":     {"-", "BPA"},
	"src_service":       {"S3", "-"},
	"dst_service":       {"-", "DYNAMODB", "EC2"},
	"src_interface":     {"eni-0a1", "-", "eni-0b2"},
	"dst_interface":     {"eni-0b2", "eni-0c3", "-"},
	"src_addr":          {"10.0.0.1", "10.0.0.2", "other"},
	"dst_addr":          {"203.0.113.9", "10.0.0.1", "other"},
	"protocol":          {"6", "17"},
	"port":              {"443", "53", "22"},
	"log_status":        {"OK", "OK", "NODATA", "SKIPDATA"},
}

// goldenNames are the names of the golden dataset's ids, by entity type,
// as the entity sync writes them (vpcflow_entity_info, ten minutes before
// the data): two interfaces of one name, an interface and a VPC without a
// name (eni-0c3 has no entity info, vpc-0b2 has one without a name), a
// zone id with its zone's name.
var goldenNames = map[report.EntityType]map[string]string{
	report.EntityVPC:       {"vpc-0a1": "prod", "vpc-0b2": ""},
	report.EntitySubnet:    {"subnet-01": "private a", "subnet-02": "public b"},
	report.EntityInterface: {"eni-0a1": "web", "eni-0b2": "web"},
	report.EntityInstance:  {"i-0a1": "web host"},
	report.EntityAZ:        {"use1-az1": "us-east-1a"},
}

// entityInfo returns the entity info series of names, each with one sample
// at at, as the entity sync writes them (an entity without a name has no
// name label).
func entityInfo(names map[report.EntityType]map[string]string, at time.Time) []vmclient.Series {
	var out []vmclient.Series
	for _, typ := range slices.Sorted(maps.Keys(names)) {
		for _, id := range slices.Sorted(maps.Keys(names[typ])) {
			labels := []vmclient.Label{{Name: "__name__", Value: report.EntityInfoMetric},
				{Name: schema.LabelAccount, Value: "111111111111"}, {Name: schema.LabelRegion, Value: "us-east-1"},
				{Name: report.EntityTypeLabel, Value: string(typ)}, {Name: report.EntityIDLabel, Value: id}}
			if n := names[typ][id]; n != "" {
				labels = append(labels, vmclient.Label{Name: report.EntityNameLabel, Value: n})
			}
			out = append(out, vmclient.Series{Labels: labels, Samples: []vmclient.Sample{{Timestamp: at.UnixMilli(), Value: 1}}})
		}
	}
	return out
}

// loadGolden writes the golden dataset and the entity info of its ids
// (goldenNames). The derived families sum their families' label sets, as
// the collector writes them.
func loadGolden(t *testing.T, vm *testserver.VM) {
	t.Helper()
	var series []vmclient.Series
	for id, fam := range schema.Families() {
		if fam.Derived {
			continue
		}
		for i := range 6 {
			set := map[string]string{}
			for _, l := range fam.Labels {
				vs := goldenValues[l]
				set[l] = vs[i%len(vs)]
			}
			for j, name := range fam.MetricNames() {
				var samples []vmclient.Sample
				for minute := range 10 {
					v := float64((i + 1) * (minute%4 + 1) * []int{1000, 10, 1}[j%3])
					samples = append(samples, vmclient.Sample{Timestamp: goldenBase.Add(time.Duration(minute)*time.Minute).UnixMilli() + int64(7*i), Value: v})
				}
				series = append(series, reporttest.Series(name, id, set, samples...))
			}
		}
	}
	reporttest.Write(t, vm.URL, series...)
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), entityInfo(goldenNames, goldenBase.Add(-10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
}

// TestQueryDataNames checks, over the golden dataset, that every report
// with id columns shows the names of its ids (goldenNames) as Grafana
// renders them: a table keeps the raw ids in its fields, with value
// mappings that show each named id as "name (id)"; a time series keeps the
// ids in its labels and has "name (id)" in its display name (the legend);
// an alert frame likewise. A query saying "names": false gets raw ids
// only. Names never merge rows: the two interfaces named web are two rows.
func TestQueryDataNames(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	loadGolden(t, vm)
	h := serve(t)
	pc := h.dataSource(map[string]any{"url": vm.URL}, nil)
	from, to := goldenBase, goldenBase.Add(10*time.Minute)
	nameOf := func(c, id string) string { return goldenNames[report.EntityTypeOf(c)][id] }
	checked := 0
	for _, rep := range report.Reports() {
		cols := rep.IDColumns()
		if len(cols) == 0 {
			continue
		}
		for _, names := range []bool{true, false} {
			what := fmt.Sprintf("%s names %v", rep.ID, names)
			model := func(format report.Format) map[string]any {
				return map[string]any{"report": rep.ID, "top": 0, "mode": "total", "format": format, "names": names}
			}
			resp := h.query(pc, nil, dq("table", from, to, time.Minute, 1000, model(report.FormatTable)),
				dq("series", from, to, time.Minute, 1000, model(report.FormatTimeSeries)))
			alert := h.query(pc, map[string]string{backend.FromAlertHeaderName: "true"}, dq("alert", from, to, time.Minute, 1000, model(report.FormatTable)))
			for _, r := range []backend.DataResponse{resp.Responses["table"], resp.Responses["series"], alert.Responses["alert"]} {
				if r.Error != nil {
					t.Fatalf("%s: %v", what, r.Error)
				}
			}
			// The table: raw ids, and value mappings for the named ones.
			table := resp.Responses["table"].Frames[0]
			for _, c := range cols {
				fld, _ := table.FieldByName(c)
				if fld == nil {
					t.Fatalf("%s: no field %s", what, c)
				}
				var mapped data.ValueMapper
				if fld.Config != nil && len(fld.Config.Mappings) > 0 {
					mapped = fld.Config.Mappings[0].(data.ValueMapper)
				}
				wantMapped := data.ValueMapper{}
				for i := range fld.Len() {
					id := fld.At(i).(string)
					if id != report.OtherValue && !slices.Contains(goldenValues[c], id) {
						t.Errorf("%s: %s value %q is not a raw id", what, c, id)
					}
					if n := nameOf(c, id); n != "" && names {
						wantMapped[id] = data.ValueMappingResult{Text: n + " (" + id + ")"}
					}
				}
				if len(wantMapped) == 0 {
					wantMapped = nil
				}
				if !maps.Equal(mapped, wantMapped) {
					t.Errorf("%s: %s mappings %v, want %v", what, c, mapped, wantMapped)
				}
				checked += len(wantMapped)
			}
			// Time series and alerts: raw ids in the labels, names in the
			// display name.
			var fields []*data.Field
			for _, f := range resp.Responses["series"].Frames {
				fields = append(fields, f.Fields[1])
			}
			fields = append(fields, alert.Responses["alert"].Frames[0].Fields...)
			for _, fld := range fields {
				display := fld.Config.DisplayNameFromDS
				if display == plugin.OtherName {
					continue
				}
				for _, c := range cols {
					id := fld.Labels[c]
					if !slices.Contains(goldenValues[c], id) {
						t.Errorf("%s: label %s=%q is not a raw id", what, c, id)
					}
					n := nameOf(c, id)
					switch {
					case n != "" && names && !strings.Contains(display, n+" ("+id+")"):
						t.Errorf("%s: %q, want %q in it", what, display, n+" ("+id+")")
					case (n == "" || !names) && strings.Contains(display, "("+id+")"):
						t.Errorf("%s: %q names %s", what, display, id)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no named id checked")
	}
	// Two interfaces of one name stay two rows.
	resp := h.query(pc, nil, dq("A", from, to, time.Minute, 1000, map[string]any{"report": report.ReportInterface, "top": 0, "format": "table"}))
	if r := resp.Responses["A"]; r.Error != nil || len(r.Frames) != 1 {
		t.Fatalf("interface table: %v", r.Error)
	} else if got := tableOf(t, r.Frames[0]); len(got) != 3 || got["eni-0a1"] == 0 || got["eni-0b2"] == 0 {
		t.Errorf("interface table %v: want eni-0a1 and eni-0b2 (both named web) and eni-0c3", got)
	}
}

// TestQueryDataGolden pins, for every report, the frames of a time series
// (rate, top 2 and Other, 3-minute steps), a table (total, top 2), an
// alert query and, for the pair reports, a node graph (total, top 2) over
// a hand-made dataset in golden files
// (testdata/report-ID.jsonc; rewrite them with -update).
func TestQueryDataGolden(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	loadGolden(t, vm)
	h := serve(t)
	pc := h.dataSource(map[string]any{"url": vm.URL}, nil)
	from, to := goldenBase, goldenBase.Add(10*time.Minute)
	for _, rep := range report.Reports() {
		t.Run(rep.ID, func(t *testing.T) {
			resp := h.query(pc, nil,
				dq("A", from, to, 3*time.Minute, 1000, map[string]any{"report": rep.ID, "top": 2}),
				dq("B", from, to, time.Minute, 1000, map[string]any{"report": rep.ID, "top": 2, "mode": "total", "format": "table"}))
			alert := h.query(pc, map[string]string{backend.FromAlertHeaderName: "true"},
				dq("C", from, to, time.Minute, 43200, map[string]any{"report": rep.ID, "top": 2, "mode": "total"}))
			responses := []backend.DataResponse{resp.Responses["A"], resp.Responses["B"], alert.Responses["C"]}
			if _, _, ok := rep.GraphEnds(); ok {
				graph := h.query(pc, nil, dq("D", from, to, time.Minute, 1000, map[string]any{"report": rep.ID, "top": 2, "mode": "total", "format": "node_graph"}))
				responses = append(responses, graph.Responses["D"])
			}
			var all data.Frames
			for _, r := range responses {
				if r.Error != nil {
					t.Fatal(r.Error)
				}
				all = append(all, r.Frames...)
			}
			dr := backend.DataResponse{Frames: all}
			experimental.CheckGoldenJSONResponse(t, "testdata", "report-"+rep.ID, &dr, *update)
		})
	}
}

// countingProxy forwards to VictoriaMetrics and records the most requests
// in flight at once.
type countingProxy struct {
	mu       sync.Mutex
	inFlight int
	max      int
	total    int
}

func (c *countingProxy) serve(t *testing.T, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.inFlight++
		c.total++
		c.max = max(c.max, c.inFlight)
		c.mu.Unlock()
		time.Sleep(2 * time.Millisecond) // let requests overlap
		proxy.ServeHTTP(w, r)
		c.mu.Lock()
		c.inFlight--
		c.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestQueryDataConcurrent sends every report as a time series and as a
// table in one request: each answer equals the one the query gets alone,
// the requests to VictoriaMetrics overlap but never more than the
// engine's limit, and an error in one query leaves the others alone.
func TestQueryDataConcurrent(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	loadGolden(t, vm)
	var proxy countingProxy
	h := serve(t)
	pc := h.dataSource(map[string]any{"url": proxy.serve(t, vm.URL)}, nil)
	from, to := goldenBase, goldenBase.Add(10*time.Minute)
	var queries []backend.DataQuery
	for _, rep := range report.Reports() {
		for _, format := range []report.Format{report.FormatTimeSeries, report.FormatTable} {
			queries = append(queries, dq(rep.ID+"/"+string(format), from, to, 2*time.Minute, 1000, map[string]any{"report": rep.ID, "top": 3, "format": format}))
		}
	}
	queries = append(queries, dq("bad", from, to, time.Minute, 1000, map[string]any{"report": "no-such-report"}))
	together := h.query(pc, nil, queries...)
	if proxy.max < 2 || proxy.max > vmclient.DefaultConcurrency {
		t.Errorf("%d requests to VictoriaMetrics at most at once, want 2 to %d", proxy.max, vmclient.DefaultConcurrency)
	}
	t.Logf("%d queries: %d requests to VictoriaMetrics, at most %d at once", len(queries), proxy.total, proxy.max)
	if r := together.Responses["bad"]; r.Error == nil || r.Status != backend.StatusBadRequest {
		t.Errorf("bad query: %+v", r)
	}
	for _, q := range queries[:len(queries)-1] {
		alone := h.query(pc, nil, q).Responses[q.RefID]
		got := together.Responses[q.RefID]
		if got.Error != nil || alone.Error != nil {
			t.Fatalf("%s: %v / %v", q.RefID, got.Error, alone.Error)
		}
		a, _ := json.Marshal(alone)
		b, _ := json.Marshal(got)
		if string(a) != string(b) {
			t.Errorf("%s: answer in a request of %d queries differs from its answer alone:\n%s\n%s", q.RefID, len(queries), b, a)
		}
	}
}

// TestQueryErrors checks that a query the user must change fails with a
// plugin error and status 400, a failure of VictoriaMetrics with a
// downstream error, each with a message saying what to do.
func TestQueryErrors(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	loadGolden(t, vm)
	auth := testserver.VictoriaMetrics(t, "-httpAuth.username=grafana", "-httpAuth.password=right-pass")
	h := serve(t)
	good := h.dataSource(map[string]any{"url": vm.URL}, nil)
	from, to := goldenBase, goldenBase.Add(10*time.Minute)
	q := func(model map[string]any) backend.DataQuery { return dq("A", from, to, time.Minute, 1000, model) }
	check := func(name string, pc backend.PluginContext, query backend.DataQuery, status backend.Status, source backend.ErrorSource, want string) {
		t.Helper()
		r := h.query(pc, nil, query).Responses["A"]
		if r.Error == nil || r.Status != status || r.ErrorSource != source || !strings.Contains(r.Error.Error(), want) {
			t.Errorf("%s: status %d, source %q, error %v; want %d, %q, an error saying %q", name, r.Status, r.ErrorSource, r.Error, status, source, want)
		}
		if len(r.Frames) != 0 {
			t.Errorf("%s: frames with the error", name)
		}
	}
	bad, downstream := backend.ErrorSourcePlugin, backend.ErrorSourceDownstream
	check("unknown report", good, q(map[string]any{"report": "actions"}), backend.StatusBadRequest, bad, `unknown report "actions"; valid reports: action, action-interface`)
	check("label of another family", good, q(map[string]any{"report": "action", "filters": []report.Filter{{Label: "src_addr", Op: "=", Value: "10.0.0.1"}}}),
		backend.StatusBadRequest, bad, `report action: cannot filter on label "src_addr"; valid labels: account_id, region, vpc_id, subnet_id`)
	check("bad regexp", good, q(map[string]any{"report": "interface", "filters": []report.Filter{{Label: "interface_id", Op: "=~", Value: "eni-(0a1"}}}),
		backend.StatusBadRequest, bad, "bad regular expression")
	check("wrong metric", good, q(map[string]any{"report": "log-status", "metric": "bytes"}), backend.StatusBadRequest, bad, "valid metrics: records")
	check("bad top", good, q(map[string]any{"top": -3}), backend.StatusBadRequest, bad, "top -3")
	check("not JSON", good, backend.DataQuery{RefID: "A", TimeRange: backend.TimeRange{From: from, To: to}, JSON: []byte(`{"report":`)},
		backend.StatusBadRequest, bad, "not the JSON the query editor saves")
	check("range under a minute", good, dq("A", from.Add(10*time.Second), from.Add(50*time.Second), time.Minute, 100, map[string]any{}),
		backend.StatusBadRequest, bad, "holds no whole minute")
	check("range under the data's five minutes", good, dq("A", from.Add(time.Minute), from.Add(4*time.Minute), time.Minute, 100, map[string]any{"report": "interface"}),
		backend.StatusBadRequest, bad, "holds no whole 5-minute step")
	check("bad settings", h.dataSource(map[string]any{"url": "victoria:8428"}, nil), q(map[string]any{}),
		backend.StatusBadRequest, bad, "want an http:// or https:// URL")

	down := testserver.VictoriaMetrics(t)
	down.Stop()
	check("storage down", h.dataSource(map[string]any{"url": down.URL}, nil), q(map[string]any{}),
		backend.StatusBadGateway, downstream, "cannot reach VictoriaMetrics at "+down.URL)
	check("wrong password", h.dataSource(map[string]any{"url": auth.URL, "authType": "basic", "basicAuthUser": "grafana"}, map[string]string{"basicAuthPassword": "wrong-pass"}),
		q(map[string]any{}), backend.StatusBadGateway, downstream, "refused the credentials")
	r := h.query(h.dataSource(map[string]any{"url": auth.URL, "authType": "basic", "basicAuthUser": "grafana"}, map[string]string{"basicAuthPassword": "right-pass"}), nil,
		q(map[string]any{})).Responses["A"]
	if r.Error != nil || len(r.Frames) != 1 {
		t.Errorf("right password: %v, %d frames (want the no-data frame)", r.Error, len(r.Frames))
	}
}

// TestNoData checks the frames of a range without data: one time series
// frame without fields, a table without rows, an alert frame without
// fields (Grafana's "no data").
func TestNoData(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	h := serve(t)
	pc := h.dataSource(map[string]any{"url": vm.URL}, nil)
	from, to := goldenBase, goldenBase.Add(time.Hour)
	resp := h.query(pc, nil, dq("A", from, to, time.Minute, 100, map[string]any{}), dq("B", from, to, time.Minute, 100, map[string]any{"format": "table"}))
	alert := h.query(pc, map[string]string{backend.FromAlertHeaderName: "true"}, dq("C", from, to, time.Minute, 100, map[string]any{}))
	for ref, r := range map[string]backend.DataResponse{"A": resp.Responses["A"], "B": resp.Responses["B"], "C": alert.Responses["C"]} {
		if r.Error != nil || len(r.Frames) != 1 {
			t.Fatalf("%s: %v, %d frames", ref, r.Error, len(r.Frames))
		}
		f := r.Frames[0]
		rows, _ := f.RowLen()
		want := map[string]string{"A": "timeseries-multi/0 fields", "B": "numeric-long/2 fields", "C": "numeric-wide/0 fields"}[ref]
		if got := fmt.Sprintf("%s/%d fields", f.Meta.Type, len(f.Fields)); got != want || rows != 0 {
			t.Errorf("%s: %s with %d rows, want %s and none", ref, got, rows, want)
		}
	}
}
