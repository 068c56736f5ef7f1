package report_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// checkGraph compares a node graph with what the pairs make of it
// (reporttest.GraphOf), value by value: every edge (top and summary, its
// value and rejected part, and its rejected share exactly), the edges'
// order, every node's traffic and kind, and the total. secs divides the
// expectation in rate mode (1 in total mode). It returns the graph's
// nodes by id.
func checkGraph(t *testing.T, what string, res *report.Result, want reporttest.ExpectedGraph, secs float64) map[string]report.GraphNode {
	t.Helper()
	g := res.Graph
	if g == nil {
		t.Fatalf("%s: no graph", what)
	}
	if res.Format != report.FormatNodeGraph || len(res.Rows) != 0 || len(res.Series) != 0 {
		t.Errorf("%s: format %s, %d rows, %d series", what, res.Format, len(res.Rows), len(res.Series))
	}
	if g.Source != "src_interface" || g.Target != "dst_interface" {
		t.Errorf("%s: ends %s and %s", what, g.Source, g.Target)
	}
	if len(want.Edges) == 0 {
		t.Fatalf("%s: no edges expected: a useless check", what)
	}
	got := map[string]report.GraphEdge{}
	total := 0.0
	for i, e := range g.Edges {
		k := e.Source + "|" + e.Target
		if _, dup := got[k]; dup {
			t.Errorf("%s: edge %s twice", what, k)
		}
		got[k] = e
		total += e.Value
		if i > 0 {
			prev := g.Edges[i-1]
			if prev.Other && !e.Other || prev.Other == e.Other && (prev.Value < e.Value ||
				prev.Value == e.Value && slices.Compare([]string{prev.Source, prev.Target}, []string{e.Source, e.Target}) > 0) {
				t.Errorf("%s: edges %d and %d out of order: %+v, %+v", what, i-1, i, prev, e)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want.Edges)) {
		w, e := want.Edges[k], got[k]
		switch {
		case e == report.GraphEdge{}:
			t.Errorf("%s: no edge %s (want %v)", what, k, w)
		case e.Value != w.Value/secs || e.Rejected != w.Rejected/secs || e.Other != want.Summary[k]:
			t.Errorf("%s: edge %s = %g (rejected %g, summary %v), want %g (rejected %g, summary %v)", what, k, e.Value, e.Rejected, e.Other,
				w.Value/secs, w.Rejected/secs, want.Summary[k])
		case w.Value > 0 && e.RejectedShare != w.Rejected/w.Value || w.Value == 0 && e.RejectedShare != 0:
			t.Errorf("%s: edge %s rejected share %v, want %v/%v", what, k, e.RejectedShare, w.Rejected, w.Value)
		}
	}
	for k := range got {
		if _, ok := want.Edges[k]; !ok {
			t.Errorf("%s: edge %s not expected", what, k)
		}
	}
	// In rate mode each value is divided on its own: their sum may differ
	// from the total divided in its last bits.
	if res.Total != want.Total/secs || secs == 1 && total != res.Total || math.Abs(total-res.Total) > 1e-9*res.Total {
		t.Errorf("%s: edges add up to %g, total %g, want %g", what, total, res.Total, want.Total/secs)
	}
	nodes := map[string]report.GraphNode{}
	for _, n := range g.Nodes {
		nodes[n.ID] = n
		kind := report.NodeKindInterface
		switch {
		case n.ID == report.NodeOutside:
			kind = report.NodeKindOutside
		case n.ID == report.NodeOtherSources, n.ID == report.NodeOtherDestinations:
			kind = report.NodeKindOther
		case strings.HasPrefix(n.ID, schema.PairServicePrefix):
			kind = report.NodeKindService
		}
		w, ok := want.Nodes[n.ID]
		if !ok || n.Value != w.Value/secs || n.Rejected != w.Rejected/secs || n.Kind != kind {
			t.Errorf("%s: node %s %s = %g (rejected %g), want %v %s", what, n.ID, n.Kind, n.Value, n.Rejected, w, kind)
		}
		if w.Value > 0 && n.RejectedShare != w.Rejected/w.Value || w.Value == 0 && n.RejectedShare != 0 {
			t.Errorf("%s: node %s rejected share %v, want %v/%v", what, n.ID, n.RejectedShare, w.Rejected, w.Value)
		}
	}
	if len(nodes) != len(want.Nodes) || len(nodes) != len(g.Nodes) {
		t.Errorf("%s: %d nodes (%d distinct), want %d", what, len(g.Nodes), len(nodes), len(want.Nodes))
	}
	return nodes
}

// syncInterfaces writes entity info as the entity sync does
// (awssync.Series) in account 111111111111, region us-east-1, at at.
func syncInterfaces(t *testing.T, vm *testserver.VM, at time.Time, res awssync.Result) {
	t.Helper()
	res.Region = "us-east-1"
	series := awssync.Series(res, "111111111111", at)
	if len(series) != len(res.All()) {
		t.Fatalf("awssync.Series wrote %d series of %d entities", len(series), len(res.All()))
	}
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), series); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
}

// TestNodeGraphGroundTruth loads an hour of generated flow logs and entity
// info for some of its interfaces, and checks node graphs of both pair
// reports against the ground truth, value by value (checkGraph): every
// metric, total and rate, top 0 (every edge), 10 and 3, filtered by VPC
// and by action; and the nodes' descriptions: the name, VPC, subnet and
// type of the entity sync's newest sample (renamed between two syncs: the
// newer name), the VPC and subnet of the flow logs for an interface
// without entity info, the names of VPCs and subnets, and no names at all
// without Names.
func TestNodeGraphGroundTruth(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ds := reporttest.Load(t, vm, reporttest.Hour(t, 37))
	e, tr := newEngine(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	pairRep, err := report.Lookup(report.ReportPairInterface)
	if err != nil {
		t.Fatal(err)
	}
	places := ds.InterfacePlaces()

	// Entity info: of every four interfaces, one named (its subnet, as
	// the sync says it, not the logs'), one without a name, one without
	// entity info, one renamed between two syncs; the VPCs named, one
	// subnet named.
	all, err := ds.GraphPairs(pairRep, report.MetricBytes, nil)
	if err != nil {
		t.Fatal(err)
	}
	ifaceSet := map[string]bool{}
	for k := range all {
		for _, id := range strings.Split(k, "|") {
			if strings.HasPrefix(id, "eni-") {
				ifaceSet[id] = true
			}
		}
	}
	ifaces := slices.Sorted(maps.Keys(ifaceSet))
	if len(ifaces) < 8 {
		t.Fatalf("%d interfaces in the pairs: too few to try the cases", len(ifaces))
	}
	type desc struct{ name, vpc, subnet, typ string }
	want := map[string]desc{}
	var first, second awssync.Result
	vpcNames := map[string]string{}
	const syncSubnet = "subnet-0123456789abcdef0"
	for i, id := range ifaces {
		pl := places[id]
		vpcNames[pl[0]] = "vpc " + pl[0][len(pl[0])-3:]
		ent := awssync.Entity{Kind: awssync.KindInterface, ID: id, VPCID: pl[0], SubnetID: pl[1], InterfaceType: "interface"}
		switch i % 4 {
		case 0: // named; the sync's subnet wins over the logs'
			ent.Name, ent.SubnetID, ent.InterfaceType = fmt.Sprintf("web %d", i), syncSubnet, "nat_gateway"
			first.Interfaces, second.Interfaces = append(first.Interfaces, ent), append(second.Interfaces, ent)
			want[id] = desc{ent.Name, pl[0], syncSubnet, "nat_gateway"}
		case 1: // no name
			second.Interfaces = append(second.Interfaces, ent)
			want[id] = desc{"", pl[0], pl[1], "interface"}
		case 2: // no entity info: the logs' VPC and subnet
			want[id] = desc{"", pl[0], pl[1], ""}
		case 3: // renamed
			old := ent
			old.Name = "old name"
			ent.Name = fmt.Sprintf("db %d", i)
			first.Interfaces, second.Interfaces = append(first.Interfaces, old), append(second.Interfaces, ent)
			want[id] = desc{ent.Name, pl[0], pl[1], "interface"}
		}
	}
	for _, vpc := range slices.Sorted(maps.Keys(vpcNames)) {
		second.VPCs = append(second.VPCs, awssync.Entity{Kind: awssync.KindVPC, ID: vpc, Name: vpcNames[vpc]})
	}
	second.Subnets = append(second.Subnets, awssync.Entity{Kind: awssync.KindSubnet, ID: syncSubnet, Name: "private a"})
	syncInterfaces(t, vm, ds.From.Add(-30*time.Minute), first)
	syncInterfaces(t, vm, ds.From.Add(20*time.Minute), second)

	vpcs := slices.Sorted(maps.Keys(ds.Seen)) // account|region|vpc
	vpc := strings.Split(vpcs[0], "|")[2]
	secs := ds.To.Sub(ds.From).Seconds()
	summarised, described := 0, 0
	for _, id := range []string{report.ReportPairInterface, report.ReportPairInterfaceAction} {
		rep, _ := report.Lookup(id)
		for _, m := range rep.Metrics {
			for _, filters := range [][]report.Filter{nil, {{Label: schema.LabelVPC, Op: report.OpEqual, Value: vpc}}, {report.RejectedOnly()}} {
				pairs, err := ds.GraphPairs(rep, m, filters)
				if err != nil {
					t.Fatal(err)
				}
				for _, top := range []int{0, 10, 3} {
					for _, mode := range []report.Mode{report.ModeTotal, report.ModeRate} {
						for _, names := range []bool{true, false} {
							if (mode == report.ModeRate || !names) && (top != 10 || filters != nil) {
								continue // rate and names off: one case each
							}
							what := fmt.Sprintf("%s %s top %d %v %s names %v", id, m, top, filters, mode, names)
							q := report.Query{Report: id, Metric: m, Mode: mode, Top: top, Filters: filters, Format: report.FormatNodeGraph, Names: names}
							res, err := e.Run(ctx, q, report.TimeRange{From: ds.From, To: ds.To})
							if err != nil {
								t.Fatalf("%s: %v", what, err)
							}
							n := top
							if n == 0 {
								n = report.MaxEdges
							}
							expect := reporttest.GraphOf(pairs, n)
							s := 1.0
							if mode == report.ModeRate {
								s = secs
							}
							nodes := checkGraph(t, what, res, expect, s)
							summarised += len(expect.Summary)
							if len(res.Graph.Edges) > n+len(expect.Summary) {
								t.Errorf("%s: %d edges", what, len(res.Graph.Edges))
							}
							for nid, node := range nodes {
								d, ok := want[nid]
								if node.Kind != report.NodeKindInterface {
									if node.Name != "" || node.VPC != "" || node.Subnet != "" || node.Type != "" {
										t.Errorf("%s: node %s described: %+v", what, nid, node)
									}
									continue
								}
								if !ok {
									t.Fatalf("%s: node %s is no interface of the data", what, nid)
								}
								wantVPCName, wantSubnetName := vpcNames[d.vpc], ""
								if d.subnet == syncSubnet {
									wantSubnetName = "private a"
								}
								if !names {
									d.name, wantVPCName, wantSubnetName = "", "", ""
								}
								if node.Name != d.name || node.VPC != d.vpc || node.Subnet != d.subnet || node.Type != d.typ ||
									node.VPCName != wantVPCName || node.SubnetName != wantSubnetName {
									t.Errorf("%s: node %s is %+v, want %+v, VPC name %q, subnet name %q", what, nid, node, d, wantVPCName, wantSubnetName)
								}
								described++
							}
						}
					}
				}
			}
		}
	}
	if summarised == 0 || described == 0 {
		t.Errorf("%d summary edges, %d interfaces described: the cases are not tried", summarised, described)
	}
	// The pairs, the interfaces' entity info and their VPCs and subnets in
	// the flow logs, and with names the names of the VPCs and subnets.
	res, err := e.Run(ctx, report.Query{Report: report.ReportPairInterface, Top: 5, Format: report.FormatNodeGraph, Names: true}, report.TimeRange{From: ds.From, To: ds.To})
	if err != nil {
		t.Fatal(err)
	}
	if n := entityQueries(res); n != 2 || len(res.Queries) != 4 {
		t.Errorf("%d queries, %d of entity info, want 4 and 2: %q", len(res.Queries), n, res.Queries)
	}
	res, err = e.Run(ctx, report.Query{Report: report.ReportPairInterface, Top: 5, Format: report.FormatNodeGraph}, report.TimeRange{From: ds.From, To: ds.To})
	if err != nil {
		t.Fatal(err)
	}
	if n := entityQueries(res); n != 1 || len(res.Queries) != 3 {
		t.Errorf("without names: %d queries, %d of entity info, want 3 and 1: %q", len(res.Queries), n, res.Queries)
	}
	if tr.queries == 0 {
		t.Error("no query parsed")
	}
}

// TestNodeGraphFolded: with the collector's top-K folding (K 2), the pair
// family holds "other" label sets; a node graph's edges are the pair
// report's own rows (the table of pair-interface-action with every row)
// made into a graph, the folded ones between the Other nodes, and add up
// to the exact total of the records.
func TestNodeGraphFolded(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ds := reporttest.Load(t, vm, reporttest.Options{
		Generate: generate.Config{Records: 10000, Seed: 17, Duration: 30 * time.Minute, ENIs: 12, VPCs: 2},
		TopK:     2,
	})
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	for _, m := range []report.Metric{report.MetricBytes, report.MetricFlows} {
		table, err := e.Table(ctx, report.Query{Report: report.ReportPairInterfaceAction, Metric: m}, ds.From, ds.To)
		if err != nil {
			t.Fatal(err)
		}
		pairs := map[string]reporttest.Pair{}
		folded := false
		for _, r := range table.Rows {
			k := r.Labels["src_interface"] + "|" + r.Labels["dst_interface"]
			folded = folded || r.Labels["src_interface"] == schema.Other
			p := pairs[k]
			p.Value += r.Value
			if r.Labels["action"] == "REJECT" || r.Labels["action"] == "DROP" {
				p.Rejected += r.Value
			}
			pairs[k] = p
		}
		if !folded {
			t.Fatalf("%s: no folded label set: the case is not tried", m)
		}
		truth := reporttest.Sum(ds.Truth.Sums["vpcflow_pair_"+string(m)])
		for _, top := range []int{3, 0} {
			res, err := e.Run(ctx, report.Query{Report: report.ReportPairInterface, Metric: m, Top: top, Format: report.FormatNodeGraph},
				report.TimeRange{From: ds.From, To: ds.To})
			if err != nil {
				t.Fatal(err)
			}
			n := cmpOr(top, report.MaxEdges)
			want := reporttest.GraphOf(pairs, n)
			if want.Total != truth || math.IsNaN(truth) {
				t.Fatalf("%s: the pair report adds up to %g, the records to %g", m, want.Total, truth)
			}
			checkGraph(t, fmt.Sprintf("folded %s top %d", m, top), res, want, 1)
			if !want.Summary[report.NodeOtherSources+"|"+report.NodeOtherDestinations] {
				t.Errorf("%s top %d: the folded label sets are not between the Other nodes", m, top)
			}
		}
	}
}

// cmpOr returns v, or def when v is 0.
func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// TestNodeGraphActions: an edge's rejected part is its REJECT and DROP
// traffic (report.RejectedActions); ACCEPT and an action AWS may add are
// not rejected. Hand-made pair series, every action between two
// interfaces; without entity info, an interface's VPC and subnet are its
// flow logs' values other than "-", none when they have none.
func TestNodeGraphActions(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var series []vmclient.Series
	add := func(src, dst, action string, bytes float64) {
		set := map[string]string{schema.LabelAccount: "111111111111", schema.LabelRegion: "us-east-1", schema.LabelVPC: "vpc-0a1",
			"src_interface": src, "dst_interface": dst, "action": action}
		series = append(series, reporttest.Series("vpcflow_pair_bytes", schema.Pair, set, vmclient.Sample{Timestamp: from.UnixMilli() + 3, Value: bytes}))
	}
	const a, b = "eni-0000000000000000a", "eni-0000000000000000b"
	add(a, b, "ACCEPT", 100)
	add(a, b, "REJECT", 10)
	add(a, b, "DROP", 5)
	add(a, b, "SOMETHING-NEW", 1)
	add(schema.Absent, a, "DROP", 7)
	// Where the flow logs place the interfaces: a known value wins over
	// "-" (a record whose subnet was not known), whatever their order.
	place := func(iface, vpc, subnet string) {
		set := map[string]string{"interface_id": iface, schema.LabelVPC: vpc, "subnet_id": subnet, "action": "ACCEPT"}
		series = append(series, reporttest.Series("vpcflow_interface_flows", schema.Interface, set, vmclient.Sample{Timestamp: from.UnixMilli() + 3, Value: 1}))
	}
	place(a, "vpc-0a1", schema.Absent)
	place(a, "vpc-0a1", "subnet-0a1")
	place(a, schema.Absent, "subnet-0a1")
	place(b, schema.Absent, schema.Absent)
	reporttest.Write(t, vm.URL, series...)
	vm.Flush()
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	res, err := e.Run(context.Background(), report.Query{Report: report.ReportPairInterfaceAction, Format: report.FormatNodeGraph},
		report.TimeRange{From: from, To: from.Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	want := reporttest.GraphOf(map[string]reporttest.Pair{a + "|" + b: {Value: 116, Rejected: 15}, "-|" + a: {Value: 7, Rejected: 7}}, report.MaxEdges)
	checkGraph(t, "actions", res, want, 1)
	if g := res.Graph; len(g.Edges) != 2 || g.Edges[0].RejectedShare != 15.0/116 || g.Edges[1].RejectedShare != 1 {
		t.Errorf("edges %+v: want the rejected shares 15/116 and 1", g.Edges)
	}
	for _, n := range res.Graph.Nodes {
		want := map[string][2]string{a: {"vpc-0a1", "subnet-0a1"}}[n.ID]
		if n.VPC != want[0] || n.Subnet != want[1] {
			t.Errorf("node %s in %q / %q, want %q", n.ID, n.VPC, n.Subnet, want)
		}
	}
}

// TestNodeGraphManyEdges: a node graph of 1,200 pairs (reporttest.Pairs,
// each between two interfaces of its own) with top 0 shows the 1,000
// largest (report.MaxEdges) and sums the other 200 between the Other
// nodes; the names of its 2,000 interfaces take a query of the entity
// info of every interface (one restricted to them would be over 16 KiB,
// which VictoriaMetrics refuses), and those with entity info get their
// names, VPC and subnet.
func TestNodeGraphManyEdges(t *testing.T) {
	const n = 1200
	vm, from, to := reporttest.LoadPairs(t, n)
	var ents awssync.Result
	names := map[string]string{}
	for i := 0; i < n; i += 7 {
		id := reporttest.PairSrc(i)
		names[id] = fmt.Sprintf("src %d", i)
		ents.Interfaces = append(ents.Interfaces, awssync.Entity{Kind: awssync.KindInterface, ID: id, Name: names[id],
			VPCID: "vpc-0a1", SubnetID: "subnet-0a1", InterfaceType: "interface"})
	}
	syncInterfaces(t, vm, from, ents)
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	res, err := e.Run(context.Background(), report.Query{Report: report.ReportPairInterface, Format: report.FormatNodeGraph, Names: true},
		report.TimeRange{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	pairs := map[string]reporttest.Pair{}
	for i := range n {
		pairs[reporttest.PairSrc(i)+"|"+reporttest.PairDst(i)] = reporttest.Pair{Value: float64(300 * (i + 1))}
	}
	want := reporttest.GraphOf(pairs, report.MaxEdges)
	if len(want.Edges) != report.MaxEdges+1 || want.Edges[report.NodeOtherSources+"|"+report.NodeOtherDestinations].Value != 300*200*201/2 {
		t.Fatalf("expected %d edges: the case is not the one meant", len(want.Edges))
	}
	nodes := checkGraph(t, "1,200 pairs", res, want, 1)
	named := 0
	for id, node := range nodes {
		if node.Kind != report.NodeKindInterface {
			continue
		}
		w := names[id]
		if node.Name != w || (w != "") != (node.VPC == "vpc-0a1" && node.Subnet == "subnet-0a1" && node.Type == "interface") {
			t.Errorf("node %s: %+v, want name %q", id, node, w)
		}
		if w != "" {
			named++
		}
	}
	if named < 100 {
		t.Errorf("%d named nodes: the case is not tried", named)
	}
	for _, q := range res.Queries {
		if len(q) > 8<<10 {
			t.Errorf("a query of %d bytes: %.200s…", len(q), q)
		}
	}
}
