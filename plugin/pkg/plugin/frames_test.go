package plugin_test

import (
	"flag"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
	"github.com/vpcflow/vpcflow/report"
)

// update rewrites the golden files under testdata with what the tests
// get: go test ./plugin/pkg/plugin -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestStep: the step of a panel's time series, for one-minute and
// five-minute data (never below the data's step, always a multiple of it).
func TestStep(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f := func(fromMin, toMin int, interval time.Duration, maxPoints int64, data, want time.Duration) {
		t.Helper()
		from, to := base.Add(time.Duration(fromMin)*time.Minute), base.Add(time.Duration(toMin)*time.Minute)
		got := plugin.Step(from, to, interval, maxPoints, data)
		if got != want {
			t.Errorf("Step(%d–%d min, %s, %d, data %s) = %s, want %s", fromMin, toMin, interval, maxPoints, data, got, want)
		}
		limit := int64(report.MaxPoints)
		if maxPoints > 0 {
			limit = max(maxPoints, 2)
		}
		if n := plugin.Steps(from, to, got); n > limit {
			t.Errorf("Step(%d–%d min, %s, %d, data %s) = %s gives %d steps, more than %d", fromMin, toMin, interval, maxPoints, data, got, n, limit)
		}
		if data > 0 && got%data != 0 {
			t.Errorf("Step(%d–%d min, %s, %d, data %s) = %s: not a multiple of the data's step", fromMin, toMin, interval, maxPoints, data, got)
		}
	}
	m, five := time.Minute, 5*time.Minute
	f(0, 60, 0, 0, m, time.Minute)                   // no interval: a minute
	f(0, 60, 0, 0, 0, time.Minute)                   // no data step: a minute
	f(0, 60, 15*time.Second, 1000, m, time.Minute)   // rounded up to a minute
	f(0, 60, 61*time.Second, 1000, m, 2*time.Minute) // to whole minutes
	f(0, 60, 5*time.Minute, 1000, m, 5*time.Minute)
	f(0, 24*60, time.Minute, 1000, m, 2*time.Minute) // 1440 minutes in at most 1000 points
	f(0, 24*60, time.Minute, 100, m, 15*time.Minute) // 96 steps
	f(0, 60, time.Minute, 60, m, time.Minute)        // exactly 60
	f(0, 60, time.Minute, 59, m, 2*time.Minute)      // one fewer point: two minutes
	f(1, 61, 5*time.Minute, 12, m, 6*time.Minute)    // 5m steps from :01 touch 13 multiples of 5m: 6m touch 11
	f(7, 8, 0, 1, m, time.Minute)                    // a limit below 2 counts as 2
	f(0, 30*24*60, 0, 0, m, 5*time.Minute)           // 30 days in at most report.MaxPoints
	f(0, 7*24*60, 30*time.Second, 1500, m, 7*time.Minute)
	// Five-minute data: multiples of five minutes.
	f(0, 60, 0, 0, five, five)
	f(0, 60, 15*time.Second, 1000, five, five) // Grafana's interval is below the data's
	f(0, 60, time.Minute, 1000, five, five)
	f(0, 60, 6*time.Minute, 1000, five, 10*time.Minute)
	f(0, 24*60, time.Minute, 1000, five, five)          // 288 points
	f(0, 24*60, time.Minute, 100, five, 15*time.Minute) // 96 steps
	f(0, 60, time.Minute, 11, five, 10*time.Minute)     // 12 steps of 5m is one too many
	f(0, 7*24*60, 30*time.Second, 1500, five, 10*time.Minute)
	f(0, 30*24*60, 0, 0, five, five)            // 8640 steps
	f(0, 365*24*60, 0, 0, five, 55*time.Minute) // at most report.MaxPoints
	// Steps against a count of the multiples of the step each minute of
	// the range falls in.
	for from := 0; from < 20; from += 3 {
		for to := from + 1; to < 130; to += 7 {
			for step := 1; step <= 61; step += 4 {
				seen := map[int64]bool{}
				for m := from; m < to; m++ {
					seen[base.Add(time.Duration(m)*time.Minute).Unix()/int64(step*60)] = true
				}
				a, b := base.Add(time.Duration(from)*time.Minute), base.Add(time.Duration(to)*time.Minute)
				if got := plugin.Steps(a, b, time.Duration(step)*time.Minute); got != int64(len(seen)) {
					t.Errorf("Steps(%d–%d, %dm) = %d, want %d", from, to, step, got, len(seen))
				}
			}
		}
	}
}

func TestDisplayName(t *testing.T) {
	var names map[string]string // the names of the case
	f := func(labels map[string]string, keys []string, other bool, want string) {
		t.Helper()
		if got := plugin.DisplayName(labels, names, keys, other); got != want {
			t.Errorf("DisplayName(%v, %v, %v, %v) = %q, want %q", labels, names, keys, other, got, want)
		}
	}
	f(map[string]string{"action": "REJECT"}, []string{"action"}, false, "REJECT")
	f(map[string]string{"interface_id": "eni-0a1", "action": "ACCEPT"}, []string{"interface_id", "action"}, false, "eni-0a1 · ACCEPT")
	f(map[string]string{"src_interface": "eni-1", "dst_interface": "-", "action": "ACCEPT"}, []string{"src_interface", "dst_interface", "action"}, false, "eni-1 → - · ACCEPT")
	f(map[string]string{"src_service": "S3", "dst_service": "-"}, []string{"src_service", "dst_service"}, false, "S3 → -")
	f(map[string]string{"protocol": "6", "port": "443"}, []string{"protocol", "port"}, false, "TCP/443")
	f(map[string]string{"protocol": "99", "port": "0"}, []string{"protocol", "port"}, false, "99/0")
	f(map[string]string{"traffic_path": "8"}, []string{"traffic_path"}, false, "Internet gateway (Nitro)")
	f(map[string]string{"traffic_path": "-"}, []string{"traffic_path"}, false, "-")
	// Names only describe the values of labels that are not coded.
	f(map[string]string{"flow_direction": "egress", "reject_reason": "BPA"}, []string{"flow_direction", "reject_reason"}, false, "egress · BPA")
	f(map[string]string{"protocol": "other", "port": "other"}, []string{"protocol", "port"}, false, "other/other")
	f(map[string]string{"account_id": "1", "region": "us-east-1", "vpc_id": "vpc-1"}, []string{"account_id", "region", "vpc_id"}, false, "1 · us-east-1 · vpc-1")
	f(map[string]string{"account_id": "Other", "region": "Other"}, []string{"account_id", "region"}, true, "Other")
	f(map[string]string{}, []string{"src_addr"}, false, "-")

	// Ids with names: "name (id)"; ids without keep their id.
	names = map[string]string{"interface_id": "web-1"}
	f(map[string]string{"interface_id": "eni-0a1", "action": "ACCEPT"}, []string{"interface_id", "action"}, false, "web-1 (eni-0a1) · ACCEPT")
	names = map[string]string{"dst_interface": "db"}
	f(map[string]string{"src_interface": "eni-1", "dst_interface": "eni-2", "action": "REJECT"}, []string{"src_interface", "dst_interface", "action"}, false, "eni-1 → db (eni-2) · REJECT")
	names = map[string]string{"src_interface": "web", "dst_interface": "db"}
	f(map[string]string{"src_interface": "eni-1", "dst_interface": "eni-2"}, []string{"src_interface", "dst_interface"}, false, "web (eni-1) → db (eni-2)")
	names = map[string]string{"vpc_id": "prod", "subnet_id": "private-a"}
	f(map[string]string{"vpc_id": "vpc-1", "subnet_id": "subnet-1"}, []string{"vpc_id", "subnet_id"}, false, "prod (vpc-1) · private-a (subnet-1)")
	names = map[string]string{"az_id": "us-east-1a"}
	f(map[string]string{"az_id": "use1-az1"}, []string{"az_id"}, false, "us-east-1a (use1-az1)")
	f(map[string]string{"az_id": "Other"}, []string{"az_id"}, true, "Other")
}

func TestFromAlert(t *testing.T) {
	f := func(headers map[string]string, want bool) {
		t.Helper()
		if got := plugin.FromAlert(&backend.QueryDataRequest{Headers: headers}); got != want {
			t.Errorf("FromAlert(%v) = %v, want %v", headers, got, want)
		}
	}
	f(nil, false)
	f(map[string]string{"FromAlert": "true"}, true)
	f(map[string]string{"fromalert": "TRUE"}, true)
	f(map[string]string{"http_FromAlert": "true"}, true)
	f(map[string]string{"FromAlert": "false"}, false)
	f(map[string]string{"FromAlert": ""}, false)
	f(map[string]string{"X-Rule-Uid": "abc"}, false)
}

func TestUnit(t *testing.T) {
	for _, c := range []struct {
		m    report.Metric
		mode report.Mode
		want string
	}{
		{report.MetricBytes, report.ModeRate, "Bps"}, {report.MetricBytes, report.ModeTotal, "decbytes"},
		{report.MetricPackets, report.ModeRate, "pps"}, {report.MetricPackets, report.ModeTotal, "short"},
		{report.MetricFlows, report.ModeRate, "cps"}, {report.MetricRecords, report.ModeTotal, "short"},
	} {
		if got := plugin.Unit(c.m, c.mode); got != c.want {
			t.Errorf("Unit(%s, %s) = %q, want %q", c.m, c.mode, got, c.want)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	f := func(v float64, m report.Metric, mode report.Mode, want string) {
		t.Helper()
		if got := plugin.FormatAmount(v, m, mode); got != want {
			t.Errorf("FormatAmount(%v, %s, %s) = %q, want %q", v, m, mode, got, want)
		}
	}
	f(0, report.MetricBytes, report.ModeTotal, "0 B")
	f(512, report.MetricBytes, report.ModeTotal, "512 B")
	f(999, report.MetricBytes, report.ModeTotal, "999 B")
	f(999.6, report.MetricBytes, report.ModeRate, "1 kB/s")
	f(1234, report.MetricBytes, report.ModeTotal, "1.23 kB")
	f(12345, report.MetricBytes, report.ModeTotal, "12.3 kB")
	f(123456, report.MetricBytes, report.ModeTotal, "123 kB")
	f(1_000_000, report.MetricBytes, report.ModeTotal, "1 MB")
	f(4.56e9, report.MetricBytes, report.ModeRate, "4.56 GB/s")
	f(2.5e18, report.MetricBytes, report.ModeTotal, "2.5 EB")
	f(3e21, report.MetricBytes, report.ModeTotal, "3000 EB")
	f(0.5, report.MetricBytes, report.ModeRate, "0.5 B/s")
	f(0.00123, report.MetricBytes, report.ModeRate, "0.00123 B/s")
	f(1234, report.MetricPackets, report.ModeTotal, "1.23k packets")
	f(12, report.MetricFlows, report.ModeRate, "12 flows/s")
	f(7, report.MetricRecords, report.ModeTotal, "7 records")
}

func TestFormatShare(t *testing.T) {
	f := func(s float64, want string) {
		t.Helper()
		if got := plugin.FormatShare(s); got != want {
			t.Errorf("FormatShare(%v) = %q, want %q", s, got, want)
		}
	}
	f(0, "0%")
	f(0.0004, "<0.1%")
	f(0.001, "0.1%")
	f(0.125, "12.5%")
	f(1.0/3, "33.3%")
	f(0.5, "50%")
	f(0.9994, ">99.9%")
	f(1, "100%")
	g := func(s float64, want string) {
		t.Helper()
		if got := plugin.EdgeColor(s); got != want {
			t.Errorf("EdgeColor(%v) = %q, want %q", s, got, want)
		}
	}
	g(0, "#73BF69")
	g(0.0099, "#73BF69")
	g(0.01, "#FF9830")
	g(0.4999, "#FF9830")
	g(0.5, "#F2495C")
	g(1, "#F2495C")
}

// results are report results made by hand, to pin the shape of the frames.
func results(t *testing.T) map[string]*report.Result {
	t.Helper()
	lookup := func(id string) report.Report {
		r, err := report.Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	to := from.Add(15 * time.Minute)
	stamps := []time.Time{from, from.Add(5 * time.Minute), from.Add(10 * time.Minute)}
	ai := lookup(report.ReportActionInterface)
	pia := lookup(report.ReportPairInterfaceAction)
	ex := lookup(report.ReportExporters)
	app := lookup(report.ReportApplications)
	pair := lookup(report.ReportPairInterface)
	return map[string]*report.Result{
		"series-names": {Report: ai, Metric: report.MetricBytes, Mode: report.ModeRate, Format: report.FormatTimeSeries, From: from, To: to,
			Step: 5 * time.Minute, Columns: ai.GroupBy, Total: 10, Names: true, Queries: []string{"q"},
			Series: []*report.Series{
				{Labels: map[string]string{"interface_id": "eni-0a1", "action": "ACCEPT"}, Names: map[string]string{"interface_id": "web-1"}, Timestamps: stamps, Values: []float64{1.5, 2, 0}},
				{Labels: map[string]string{"interface_id": "eni-0b2", "action": "REJECT"}, Timestamps: stamps, Values: []float64{0.25, 0, 1}},
				{Labels: map[string]string{"interface_id": "Other", "action": "Other"}, Other: true, Timestamps: stamps, Values: []float64{3, 1, 1.25}},
			}},
		"table-names": {Report: pair, Metric: report.MetricBytes, Mode: report.ModeTotal, Format: report.FormatTable, From: from, To: to,
			Columns: pair.Columns(), Total: 1111, Names: true, Queries: []string{"q"},
			Rows: []report.Row{
				{Labels: map[string]string{"src_interface": "eni-0a1", "dst_interface": "eni-0b2"}, Names: map[string]string{"src_interface": "web-1", "dst_interface": "db"}, Value: 1000},
				{Labels: map[string]string{"src_interface": "Other", "dst_interface": "Other"}, Value: 100, Other: true},
				{Labels: map[string]string{"src_interface": "eni-0c3", "dst_interface": "-"}, Value: 10},
				{Labels: map[string]string{"src_interface": "eni-0b2", "dst_interface": "eni-0d4"}, Names: map[string]string{"src_interface": "db", "dst_interface": "db"}, Value: 1},
			}},
		"series": {Report: ai, Metric: report.MetricBytes, Mode: report.ModeRate, Format: report.FormatTimeSeries, From: from, To: to,
			Step: 5 * time.Minute, Columns: ai.GroupBy, Total: 10,
			Queries: []string{`topk_max(3, sum by (interface_id, action) (sum_over_time(vpcflow_interface_bytes[900s])), "vpcflow_rest=true")`, `sum(sum_over_time(vpcflow_interface_bytes[300s]))`},
			Series: []*report.Series{
				{Labels: map[string]string{"interface_id": "eni-0a1", "action": "ACCEPT"}, Timestamps: stamps, Values: []float64{1.5, 2, 0}},
				{Labels: map[string]string{"interface_id": "eni-0b2", "action": "REJECT"}, Timestamps: stamps, Values: []float64{0.25, 0, 1}},
				{Labels: map[string]string{"interface_id": "Other", "action": "Other"}, Other: true, Timestamps: stamps, Values: []float64{3, 1, 1.25}},
			}},
		"node-graph": {Report: pia, Metric: report.MetricBytes, Mode: report.ModeTotal, Format: report.FormatNodeGraph, From: from, To: to,
			Columns: []string{"src_interface", "dst_interface"}, Total: 1120, Names: true, Queries: []string{"q"},
			Graph: &report.Graph{Source: "src_interface", Target: "dst_interface",
				Nodes: []report.GraphNode{
					{ID: "eni-0a1", Kind: report.NodeKindInterface, Value: 1010, Rejected: 10, RejectedShare: 10.0 / 1010, Name: "web-1",
						VPC: "vpc-1", VPCName: "prod", Subnet: "subnet-1", Type: "interface"},
					{ID: "-", Kind: report.NodeKindOutside, Value: 1000, Rejected: 0},
					{ID: "eni-0b2", Kind: report.NodeKindInterface, Value: 10, Rejected: 10, RejectedShare: 1},
					{ID: report.NodeOtherSources, Kind: report.NodeKindOther, Value: 100, Rejected: 60, RejectedShare: 0.6},
					{ID: report.NodeOtherDestinations, Kind: report.NodeKindOther, Value: 10, Rejected: 0},
				},
				Edges: []report.GraphEdge{
					{Source: "-", Target: "eni-0a1", Value: 1000},
					{Source: "eni-0a1", Target: "eni-0b2", Value: 10, Rejected: 10, RejectedShare: 1},
					{Source: report.NodeOtherSources, Target: "-", Value: 100, Rejected: 60, RejectedShare: 0.6, Other: true},
					{Source: "eni-0b2", Target: report.NodeOtherDestinations, Value: 10, Other: true},
				}}},
		"series-empty": {Report: ai, Metric: report.MetricFlows, Mode: report.ModeTotal, Format: report.FormatTimeSeries, From: from, To: to,
			Step: 5 * time.Minute, Columns: ai.GroupBy, Queries: []string{`sum by (interface_id, action) (sum_over_time(vpcflow_interface_flows[300s]))`}},
		"table": {Report: app, Metric: report.MetricPackets, Mode: report.ModeTotal, Format: report.FormatTable, From: from, To: to,
			Columns: app.Columns(), Total: 1111, Queries: []string{"q"},
			Rows: []report.Row{
				{Labels: map[string]string{"protocol": "6", "port": "443"}, Value: 1000},
				{Labels: map[string]string{"protocol": "Other", "port": "Other"}, Value: 100, Other: true},
				{Labels: map[string]string{"protocol": "17", "port": "53"}, Value: 11},
			}},
		"exporters": {Report: ex, Metric: report.MetricFlows, Mode: report.ModeTotal, Format: report.FormatTable, From: from, To: to,
			Columns: ex.Columns(), Total: 7, Queries: []string{"q"},
			Rows: []report.Row{
				{Labels: map[string]string{"account_id": "111", "region": "us-east-1", "vpc_id": "vpc-1", "first_seen": "2026-03-01T10:00:00Z", "last_seen": "2026-03-01T10:14:00Z", "status": "ok", "collector_status": "enabled"}, Value: 5},
				{Labels: map[string]string{"account_id": "Other", "region": "Other", "vpc_id": "Other", "first_seen": "-", "last_seen": "-", "status": "-", "collector_status": "-"}, Value: 2, Other: true},
				{Labels: map[string]string{"account_id": "222", "region": "eu-west-1", "vpc_id": "vpc-2", "first_seen": "2026-03-01T10:03:00Z", "last_seen": "2026-03-01T10:03:00Z", "status": "nodata", "collector_status": "unresourced"}, Value: 0},
				{Labels: map[string]string{"account_id": "222", "region": "eu-west-1", "vpc_id": "vpc-3", "first_seen": "-", "last_seen": "-", "status": "-", "collector_status": "disabled_limit"}, Value: 0},
			}},
	}
}

// TestFrameShapes pins the frames of each kind (time series, table,
// alerting) in golden files.
func TestFrameShapes(t *testing.T) {
	res := results(t)
	check := func(name string, frames data.Frames) {
		t.Helper()
		for _, f := range frames {
			if _, err := f.MarshalArrow(); err != nil {
				t.Errorf("%s: frame %q does not encode as Arrow: %v", name, f.Name, err)
			}
		}
		dr := backend.DataResponse{Frames: frames}
		experimental.CheckGoldenJSONResponse(t, "testdata", "frames-"+name, &dr, *update)
	}
	check("series", plugin.TimeSeriesFrames(res["series"]))
	check("series-empty", plugin.TimeSeriesFrames(res["series-empty"]))
	check("table", plugin.TableFrames(res["table"]))
	check("exporters-table", plugin.TableFrames(res["exporters"]))
	check("alert", plugin.NumericFrames(res["table"]))
	check("exporters-alert", plugin.NumericFrames(res["exporters"]))
	empty := *res["table"]
	empty.Rows = nil
	check("alert-empty", plugin.NumericFrames(&empty))
	check("series-names", plugin.TimeSeriesFrames(res["series-names"]))
	check("table-names", plugin.TableFrames(res["table-names"]))
	check("alert-names", plugin.NumericFrames(res["table-names"]))
	check("node-graph", plugin.NodeGraphFrames(res["node-graph"]))
	rate := *res["node-graph"]
	rate.Mode = report.ModeRate
	check("node-graph-empty", plugin.NodeGraphFrames(&report.Result{Report: rate.Report, Metric: report.MetricFlows, Mode: report.ModeRate,
		Format: report.FormatNodeGraph, Graph: &report.Graph{}}))

	// The node graph: two frames for the node graph panel, the edges
	// first; every edge's ends are nodes (the panel fails otherwise), the
	// rings add up to 1.
	ng := plugin.NodeGraphFrames(res["node-graph"])
	if len(ng) != 2 || ng[0].Name != plugin.EdgesFrame || ng[1].Name != plugin.NodesFrame {
		t.Fatalf("node graph frames %v", ng)
	}
	nodes := map[string]bool{}
	for i := range ng[1].Rows() {
		nodes[ng[1].Fields[0].At(i).(string)] = true
		acc, _ := ng[1].FieldByName("arc__accepted")
		rej, _ := ng[1].FieldByName("arc__rejected")
		if s := acc.At(i).(float64) + rej.At(i).(float64); s != 1 {
			t.Errorf("node %d: arcs add up to %v", i, s)
		}
	}
	for _, f := range ng {
		if f.Meta.PreferredVisualization != data.VisTypeNodeGraph {
			t.Errorf("frame %s: preferred visualisation %q", f.Name, f.Meta.PreferredVisualization)
		}
	}
	src, _ := ng[0].FieldByName("source")
	dst, _ := ng[0].FieldByName("target")
	for i := range ng[0].Rows() {
		if !nodes[src.At(i).(string)] || !nodes[dst.At(i).(string)] {
			t.Errorf("edge %d: %s -> %s: an end is not a node", i, src.At(i), dst.At(i))
		}
	}

	// Each time series frame: a time and a number field with labels.
	for _, f := range plugin.TimeSeriesFrames(res["series"]) {
		if f.Meta.Type != data.FrameTypeTimeSeriesMulti || len(f.Fields) != 2 || f.Fields[0].Type() != data.FieldTypeTime ||
			f.Fields[1].Type() != data.FieldTypeFloat64 || len(f.Fields[1].Labels) != 2 || f.Fields[1].Config.DisplayNameFromDS == "" {
			t.Errorf("time series frame %q: %+v", f.Name, f)
		}
	}
}

// BenchmarkFrames measures the plugin's own share of a query: turning a
// day of 2-minute steps of the top 10 and Other into time series frames,
// and a 1,001-row table into a table frame.
func BenchmarkFrames(b *testing.B) {
	rep, err := report.Lookup(report.ReportActionInterface)
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	series := &report.Result{Report: rep, Metric: report.MetricBytes, Mode: report.ModeRate, Format: report.FormatTimeSeries, Step: 2 * time.Minute, Columns: rep.GroupBy}
	stamps := make([]time.Time, 720)
	for i := range stamps {
		stamps[i] = from.Add(time.Duration(i) * 2 * time.Minute)
	}
	for i := range 11 {
		s := &report.Series{Labels: map[string]string{"interface_id": "eni-" + strconv.Itoa(i), "action": "ACCEPT"}, Other: i == 10, Timestamps: stamps, Values: make([]float64, len(stamps))}
		series.Series = append(series.Series, s)
	}
	table := &report.Result{Report: rep, Metric: report.MetricBytes, Mode: report.ModeTotal, Format: report.FormatTable, Columns: rep.Columns()}
	for i := range 1001 {
		table.Rows = append(table.Rows, report.Row{Labels: map[string]string{"interface_id": "eni-" + strconv.Itoa(i), "action": "REJECT"}, Value: float64(i)})
	}
	b.Run("time_series", func(b *testing.B) {
		for b.Loop() {
			plugin.TimeSeriesFrames(series)
		}
	})
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			plugin.TableFrames(table)
		}
	})
	b.Run("alert", func(b *testing.B) {
		for b.Loop() {
			plugin.NumericFrames(table)
		}
	})
}
