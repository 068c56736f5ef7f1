package reporttest

import (
	"maps"
	"slices"
	"strings"

	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
)

// Pair is the traffic of one pair of ends: all of it, and its rejected
// part (report.RejectedActions).
type Pair struct {
	Value, Rejected float64
}

// GraphPairs returns, from the ground truth, the traffic of every pair of
// ends of a report with ends (report.Report.GraphEnds) for metric m with
// the given filters: keyed "source|target", all actions, and the rejected
// part.
func (ds *Dataset) GraphPairs(rep report.Report, m report.Metric, filters []report.Filter) (map[string]Pair, error) {
	src, dst, ok := rep.GraphEnds()
	if !ok {
		return nil, nil
	}
	byAction, err := ds.Expected(report.Report{ID: rep.ID, Family: rep.Family, GroupBy: []string{src, dst, "action"}, Filters: rep.Filters}, m, filters)
	if err != nil {
		return nil, err
	}
	rejected := strings.Split(report.RejectedActions, "|")
	out := map[string]Pair{}
	for k, v := range byAction {
		i := strings.LastIndexByte(k, '|')
		p := out[k[:i]]
		p.Value += v
		if slices.Contains(rejected, k[i+1:]) {
			p.Rejected += v
		}
		out[k[:i]] = p
	}
	return out, nil
}

// ExpectedGraph is what a node graph of pairs must show (report.Graph):
// edges keyed "source|target" (summary edges by the ids of the Other
// nodes), nodes by id.
type ExpectedGraph struct {
	// Edges are the top edges and the summary edges.
	Edges map[string]Pair
	// Summary holds the keys of the summary edges.
	Summary map[string]bool
	// Nodes are the nodes' traffic: through them over every pair, or, for
	// the Other nodes, over their summary edges.
	Nodes map[string]Pair
	// Total is the sum of every pair.
	Total float64
}

// GraphOf works out the node graph of pairs (keyed "source|target") with
// top edges, as docs/reports.md says: the top largest pairs between
// known ends (not "other": the collector's folded label sets), ties by
// source then target (TopOf); each other pair summarised by its source if
// shown (source → Other destinations), else by its target if shown (Other
// sources → target), else Other sources → Other destinations.
func GraphOf(pairs map[string]Pair, top int) ExpectedGraph {
	g := ExpectedGraph{Edges: map[string]Pair{}, Summary: map[string]bool{}, Nodes: map[string]Pair{}}
	known := map[string]float64{}
	for k, p := range pairs {
		g.Total += p.Value
		s, d, _ := strings.Cut(k, "|")
		if s != schema.Other && d != schema.Other {
			known[k] = p.Value
		}
	}
	kept, _ := TopOf(known, top)
	shown := map[string]bool{}
	for k := range kept {
		g.Edges[k] = pairs[k]
		s, d, _ := strings.Cut(k, "|")
		shown[s], shown[d] = true, true
	}
	add := func(m map[string]Pair, k string, p Pair) {
		q := m[k]
		q.Value += p.Value
		q.Rejected += p.Rejected
		m[k] = q
	}
	for _, k := range slices.Sorted(maps.Keys(pairs)) {
		p := pairs[k]
		s, d, _ := strings.Cut(k, "|")
		if shown[s] {
			add(g.Nodes, s, p)
		}
		if shown[d] && d != s {
			add(g.Nodes, d, p)
		}
		if _, ok := kept[k]; ok {
			continue
		}
		var summary string
		switch {
		case shown[s]:
			summary = s + "|" + report.NodeOtherDestinations
		case shown[d]:
			summary = report.NodeOtherSources + "|" + d
		default:
			summary = report.NodeOtherSources + "|" + report.NodeOtherDestinations
		}
		add(g.Edges, summary, p)
		g.Summary[summary] = true
		os, od, _ := strings.Cut(summary, "|")
		for _, end := range []string{os, od} {
			if end == report.NodeOtherSources || end == report.NodeOtherDestinations {
				add(g.Nodes, end, p)
			}
		}
	}
	return g
}

// InterfacePlaces returns the VPC and subnet of every interface as the
// generated flow logs give them (the interface family's labels; the
// smallest value other than "-" where there are several), as the report
// engine reads them for a node graph's interfaces without entity info.
func (ds *Dataset) InterfacePlaces() map[string][2]string {
	fam := schema.Families()[schema.Interface]
	iface, vpc, subnet := slices.Index(fam.Labels, "interface_id"), slices.Index(fam.Labels, schema.LabelVPC), slices.Index(fam.Labels, "subnet_id")
	pick := func(old, v string) string {
		if v == schema.Absent || v == "" || (old != "" && old < v) {
			return old
		}
		return v
	}
	out := map[string][2]string{}
	for k := range ds.Truth.Sums[fam.Name+"_"+string(report.MetricFlows)] {
		vs := strings.Split(k, "|")
		old := out[vs[iface]]
		out[vs[iface]] = [2]string{pick(old[0], vs[vpc]), pick(old[1], vs[subnet])}
	}
	return out
}
