package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// column returns a frame's field by name, failing the test without it.
func column(t *testing.T, f *data.Frame, name string) *data.Field {
	t.Helper()
	fld, _ := f.FieldByName(name)
	if fld == nil {
		t.Fatalf("frame %s has no field %s", f.Name, name)
	}
	return fld
}

// TestQueryDataNodeGraph asks QueryData for node graphs of the pair
// reports over an hour of generated flow logs with entity info for half
// of its interfaces, and checks the frames value by value against the
// ground truth (reporttest.GraphOf): the edges frame (each top and
// summary edge, its value, its rejected share exactly, dashed summary
// edges, its ends' names) and the nodes frame (each node's traffic,
// rejected share and ring, title, subtitle and details: the name, VPC and
// subnet of the entity sync, the flow logs' VPC and subnet for interfaces
// without entity info); the edges add up to the pair report's exact
// total. A report without two ends answers status 400; an alert query in
// the node graph format gets the alert frames.
func TestQueryDataNodeGraph(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ds := reporttest.Load(t, vm, reporttest.Hour(t, 41))
	places := ds.InterfacePlaces()
	pairRep, err := report.Lookup(report.ReportPairInterface)
	if err != nil {
		t.Fatal(err)
	}
	all, err := ds.GraphPairs(pairRep, report.MetricBytes, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ifaces []string
	for k := range all {
		for _, id := range strings.Split(k, "|") {
			if strings.HasPrefix(id, "eni-") && !slices.Contains(ifaces, id) {
				ifaces = append(ifaces, id)
			}
		}
	}
	slices.Sort(ifaces)
	// Every other interface named, in a named VPC; the others without
	// entity info. The series as the entity sync writes them
	// (docs/names.md).
	names := map[string]string{}
	vpcNames := map[string]string{}
	at := ds.From.Add(-10 * time.Minute).UnixMilli()
	info := func(typ report.EntityType, id, name string, relations ...vmclient.Label) vmclient.Series {
		return vmclient.Series{Labels: append([]vmclient.Label{{Name: "__name__", Value: report.EntityInfoMetric},
			{Name: schema.LabelAccount, Value: "111111111111"}, {Name: schema.LabelRegion, Value: "us-east-1"},
			{Name: report.EntityTypeLabel, Value: string(typ)}, {Name: report.EntityIDLabel, Value: id},
			{Name: report.EntityNameLabel, Value: name}}, relations...), Samples: []vmclient.Sample{{Timestamp: at, Value: 1}}}
	}
	var entities []vmclient.Series
	for i, id := range ifaces {
		if i%2 == 1 {
			continue
		}
		pl := places[id]
		names[id] = fmt.Sprintf("web %d", i)
		vpcNames[pl[0]] = "prod " + pl[0][len(pl[0])-2:]
		entities = append(entities, info(report.EntityInterface, id, names[id], vmclient.Label{Name: report.EntityVPCLabel, Value: pl[0]},
			vmclient.Label{Name: report.EntitySubnetLabel, Value: pl[1]}, vmclient.Label{Name: report.EntityInterfaceTypeLabel, Value: "lambda"}))
	}
	for _, vpc := range slices.Sorted(maps.Keys(vpcNames)) {
		entities = append(entities, info(report.EntityVPC, vpc, vpcNames[vpc]))
	}
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), entities); err != nil {
		t.Fatal(err)
	}
	vm.Flush()

	h := serve(t)
	pc := h.dataSource(map[string]any{"url": vm.URL}, nil)
	from, to := ds.From, ds.To
	secs := to.Sub(from).Seconds()
	summaries := 0
	for _, id := range []string{report.ReportPairInterface, report.ReportPairInterfaceAction} {
		rep, _ := report.Lookup(id)
		for _, c := range []struct {
			metric report.Metric
			mode   report.Mode
			top    int
		}{{report.MetricBytes, report.ModeTotal, 10}, {report.MetricFlows, report.ModeTotal, 4}, {report.MetricPackets, report.ModeRate, 0}} {
			what := fmt.Sprintf("%s %s %s top %d", id, c.metric, c.mode, c.top)
			resp := h.query(pc, nil, dq("A", from, to, time.Minute, 1000,
				map[string]any{"report": id, "metric": c.metric, "mode": c.mode, "top": c.top, "format": report.FormatNodeGraph}))
			r := resp.Responses["A"]
			if r.Error != nil {
				t.Fatalf("%s: %v", what, r.Error)
			}
			if len(r.Frames) != 2 || r.Frames[0].Name != plugin.EdgesFrame || r.Frames[1].Name != plugin.NodesFrame {
				t.Fatalf("%s: frames %v, want edges and nodes", what, r.Frames)
			}
			pairs, err := ds.GraphPairs(rep, c.metric, nil)
			if err != nil {
				t.Fatal(err)
			}
			top := c.top
			if top == 0 {
				top = report.MaxEdges
			}
			want := reporttest.GraphOf(pairs, top)
			div := 1.0
			if c.mode == report.ModeRate {
				div = secs
			}
			summaries += len(want.Summary)

			edges, nodes := r.Frames[0], r.Frames[1]
			src, dst := column(t, edges, "source"), column(t, edges, "target")
			value, share := column(t, edges, string(c.metric)), column(t, edges, plugin.RejectedField)
			dash, srcName := column(t, edges, "strokedasharray"), column(t, edges, "detail__source")
			seen := map[string]bool{}
			total := 0.0
			for i := range edges.Rows() {
				k := src.At(i).(string) + "|" + dst.At(i).(string)
				w, ok := want.Edges[k]
				seen[k] = true
				v, s := value.At(i).(float64), share.At(i).(float64)
				total += v * div
				switch {
				case !ok:
					t.Errorf("%s: edge %s not expected", what, k)
				case v != w.Value/div || w.Value > 0 && s != w.Rejected/w.Value || w.Value == 0 && s != 0:
					t.Errorf("%s: edge %s = %v (rejected share %v), want %v", what, k, v, s, w)
				case (dash.At(i).(string) != "") != want.Summary[k]:
					t.Errorf("%s: edge %s dashed %q, summary %v", what, k, dash.At(i), want.Summary[k])
				}
				if n := names[src.At(i).(string)]; n != "" && srcName.At(i).(string) != n+" ("+src.At(i).(string)+")" {
					t.Errorf("%s: edge %s source named %q, want %q", what, k, srcName.At(i), n)
				}
			}
			if len(seen) != len(want.Edges) {
				t.Errorf("%s: %d edges, want %d", what, len(seen), len(want.Edges))
			}
			if c.mode == report.ModeTotal && total != want.Total {
				t.Errorf("%s: edges add up to %v, want the pair report's total %v", what, total, want.Total)
			}

			ids, titles, subtitles := column(t, nodes, "id"), column(t, nodes, "title"), column(t, nodes, "subtitle")
			nvalue, nshare := column(t, nodes, string(c.metric)), column(t, nodes, plugin.RejectedField)
			accepted, rejected := column(t, nodes, "arc__accepted"), column(t, nodes, "arc__rejected")
			vpc, subnet := column(t, nodes, "detail__vpc"), column(t, nodes, "detail__subnet")
			if nodes.Rows() != len(want.Nodes) {
				t.Errorf("%s: %d nodes, want %d", what, nodes.Rows(), len(want.Nodes))
			}
			for i := range nodes.Rows() {
				nid := ids.At(i).(string)
				w, ok := want.Nodes[nid]
				v, s := nvalue.At(i).(float64), nshare.At(i).(float64)
				if !ok || v != w.Value/div || w.Value > 0 && s != w.Rejected/w.Value {
					t.Errorf("%s: node %s = %v (rejected share %v), want %v", what, nid, v, s, w)
				}
				if w.Value > 0 && (accepted.At(i).(float64) != 1-s || rejected.At(i).(float64) != s) {
					t.Errorf("%s: node %s ring %v/%v, share %v", what, nid, accepted.At(i), rejected.At(i), s)
				}
				wantTitle, wantSub, wantVPC, wantSubnet := nid, "", "", ""
				switch {
				case nid == report.NodeOutside:
					wantTitle, wantSub = plugin.OutsideTitle, plugin.OutsideSubtitle
				case nid == report.NodeOtherSources:
					wantTitle, wantSub = plugin.OtherSourcesTitle, plugin.OtherSubtitle
				case nid == report.NodeOtherDestinations:
					wantTitle, wantSub = plugin.OtherDestinationsTitle, plugin.OtherSubtitle
				case strings.HasPrefix(nid, schema.PairServicePrefix): // aws:S3 is "S3", an AWS service
					wantTitle, wantSub = strings.TrimPrefix(nid, schema.PairServicePrefix), plugin.ServiceSubtitle
				default:
					// The VPC named (by the sync of another interface in it,
					// maybe), the subnet not.
					pl := places[nid]
					wantVPC, wantSubnet, wantSub = pl[0], pl[1], pl[0]+" / "+pl[1]
					if n := vpcNames[pl[0]]; n != "" {
						wantVPC, wantSub = n+" ("+pl[0]+")", n+" / "+pl[1]
					}
					if n := names[nid]; n != "" {
						wantTitle = n
					}
				}
				if titles.At(i) != wantTitle || subtitles.At(i) != wantSub || vpc.At(i) != wantVPC || subnet.At(i) != wantSubnet {
					t.Errorf("%s: node %s: title %q, subtitle %q, VPC %q, subnet %q; want %q, %q, %q, %q", what, nid,
						titles.At(i), subtitles.At(i), vpc.At(i), subnet.At(i), wantTitle, wantSub, wantVPC, wantSubnet)
				}
			}
		}
	}
	if summaries == 0 {
		t.Error("no summary edge: the case is not tried")
	}

	// Other reports have no node graph; alert queries get numbers.
	r := h.query(pc, nil, dq("A", from, to, time.Minute, 1000, map[string]any{"report": report.ReportInterface, "format": report.FormatNodeGraph})).Responses["A"]
	if r.Error == nil || r.Status != backend.StatusBadRequest || !strings.Contains(r.Error.Error(), "node_graph format is for the reports of traffic between two ends") {
		t.Errorf("node graph of the interface report: status %d, %v", r.Status, r.Error)
	}
	alert := h.query(pc, map[string]string{backend.FromAlertHeaderName: "true"},
		dq("A", from, to, time.Minute, 1000, map[string]any{"report": report.ReportPairInterface, "format": report.FormatNodeGraph, "top": 3})).Responses["A"]
	if alert.Error != nil || len(alert.Frames) != 1 || alert.Frames[0].Meta.Type != data.FrameTypeNumericWide || len(alert.Frames[0].Fields) != 4 {
		t.Errorf("alert query in the node graph format: %v, %v", alert.Error, alert.Frames)
	}
}

// TestNetworkMapPanels runs the queries of the Network map dashboard
// (dashboards/network-map.json) as Grafana sends them once the variables
// are All (.*), over the hand-made golden dataset with entity info: the
// node graph panel gets the nodes and edges frames Grafana's node graph
// panel reads, and the field its links are on; the table panel's first
// frame (frameIndex 0) is the edges, holding every field its organize
// transformation and overrides name.
func TestNetworkMapPanels(t *testing.T) {
	js, err := os.ReadFile(filepath.Join("..", "..", "..", "dashboards", "network-map.json"))
	if err != nil {
		t.Fatal(err)
	}
	// What the test reads of the dashboard.
	type panel struct {
		Type, Title string
		Panels      []panel
		Targets     []report.Query
		FieldConfig struct {
			Overrides []struct {
				Matcher struct {
					ID      string
					Options any
				}
			}
		}
		Transformations []struct {
			ID      string
			Options map[string]any
		}
	}
	var board struct{ Panels []panel }
	if err := json.Unmarshal(js, &board); err != nil {
		t.Fatal(err)
	}
	var panels []panel
	for _, p := range board.Panels {
		panels = append(append(panels, p), p.Panels...)
	}
	variable := regexp.MustCompile(`\$\{?\w+\}?`)
	vm := testserver.VictoriaMetrics(t)
	loadGolden(t, vm)
	h := serve(t)
	pc := h.dataSource(map[string]any{"url": vm.URL}, nil)
	from, to := goldenBase, goldenBase.Add(10*time.Minute)
	checked := map[string]int{}
	for _, p := range panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) != 1 {
			t.Fatalf("panel %s: %d queries", p.Title, len(p.Targets))
		}
		q := p.Targets[0]
		for i, f := range q.Filters {
			if variable.MatchString(f.Value) {
				q.Filters[i].Value = ".*" // All
			}
		}
		js, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		var model map[string]any
		if err := json.Unmarshal(js, &model); err != nil {
			t.Fatal(err)
		}
		r := h.query(pc, nil, dq("A", from, to, time.Minute, 1000, model)).Responses["A"]
		if r.Error != nil {
			t.Fatalf("panel %s: %v", p.Title, r.Error)
		}
		if len(r.Frames) != 2 || r.Frames[0].Name != plugin.EdgesFrame || r.Frames[1].Name != plugin.NodesFrame || r.Frames[0].Rows() == 0 {
			t.Fatalf("panel %s: frames %v, want edges (with rows) and nodes", p.Title, r.Frames)
		}
		has := func(f *data.Frame, name string) bool { fld, _ := f.FieldByName(name); return fld != nil }
		var names []string
		for _, o := range p.FieldConfig.Overrides {
			if o.Matcher.ID == "byName" {
				names = append(names, o.Matcher.Options.(string))
			}
		}
		switch p.Type {
		case "nodeGraph":
			for _, f := range r.Frames {
				if f.Meta == nil || f.Meta.PreferredVisualization != data.VisTypeNodeGraph {
					t.Errorf("panel %s: frame %s is not for the node graph", p.Title, f.Name)
				}
			}
			for _, n := range names {
				if !has(r.Frames[1], n) {
					t.Errorf("panel %s: override of %s, which the nodes frame lacks", p.Title, n)
				}
			}
		case "table":
			for _, tr := range p.Transformations {
				for _, key := range []string{"excludeByName", "indexByName", "renameByName"} {
					opts, _ := tr.Options[key].(map[string]any)
					for n := range opts {
						names = append(names, n)
					}
				}
			}
			for _, n := range names {
				if !has(r.Frames[0], n) {
					t.Errorf("panel %s: %s, which the edges frame lacks", p.Title, n)
				}
			}
		default:
			t.Errorf("panel %s of type %s", p.Title, p.Type)
		}
		checked[p.Type] += len(names)
	}
	if checked["nodeGraph"] == 0 || checked["table"] == 0 {
		t.Errorf("checked %v: want a node graph and a table with fields named", checked)
	}
}
