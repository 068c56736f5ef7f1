package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestBuildGraph pins the top N edges and the summary of the rest on small
// graphs: which edge goes where, the nodes' traffic (through every edge,
// shown or not), the Other nodes, ties, the collector's folded label sets
// and a self-loop.
func TestBuildGraph(t *testing.T) {
	e := func(src, dst string, value, rejected float64) GraphEdge {
		return GraphEdge{Source: src, Target: dst, Value: value, Rejected: rejected}
	}
	show := func(g *Graph) string {
		var b strings.Builder
		for _, e := range g.Edges {
			o := ""
			if e.Other {
				o = "*"
			}
			fmt.Fprintf(&b, "%s→%s=%g/%g%s ", e.Source, e.Target, e.Value, e.Rejected, o)
		}
		b.WriteString("|")
		for _, n := range g.Nodes {
			fmt.Fprintf(&b, " %s:%s=%g/%g", n.ID, n.Kind, n.Value, n.Rejected)
		}
		return b.String()
	}
	f := func(top int, raw []GraphEdge, want string) {
		t.Helper()
		in := slices.Clone(raw)
		g := buildGraph(in, top)
		if got := show(g); got != want {
			t.Errorf("top %d of %v:\n got %s\nwant %s", top, raw, got, want)
		}
		// The edges add up to the total, and so do their rejected parts.
		var total, rejected, gotTotal, gotRejected float64
		for _, e := range raw {
			total, rejected = total+e.Value, rejected+e.Rejected
		}
		for _, e := range g.Edges {
			gotTotal, gotRejected = gotTotal+e.Value, gotRejected+e.Rejected
		}
		if gotTotal != total || gotRejected != rejected {
			t.Errorf("top %d of %v: edges add up to %g/%g, want %g/%g", top, raw, gotTotal, gotRejected, total, rejected)
		}
		// Every edge's ends are nodes, once each.
		ids := map[string]bool{}
		for _, n := range g.Nodes {
			if ids[n.ID] {
				t.Errorf("node %s twice", n.ID)
			}
			ids[n.ID] = true
		}
		for _, e := range g.Edges {
			if !ids[e.Source] || !ids[e.Target] {
				t.Errorf("edge %s→%s: an end is not a node", e.Source, e.Target)
			}
		}
	}
	f(10, nil, "|")
	// Everything fits.
	f(10, []GraphEdge{e("a", "b", 5, 1), e("b", "-", 3, 0)},
		"a→b=5/1 b→-=3/0 | b:interface=8/1 a:interface=5/1 -:outside=3/0")
	// Top 1: the rest by source when it is shown, else by target, else
	// between the Other nodes.
	f(1, []GraphEdge{e("a", "b", 50, 5), e("a", "c", 7, 7), e("c", "b", 6, 0), e("c", "d", 2, 1), e("b", "a", 1, 0)},
		"a→b=50/5 a→Other destinations=7/7* Other sources→b=6/0* Other sources→Other destinations=2/1* b→Other destinations=1/0* | "+
			"a:interface=58/12 b:interface=57/5 Other sources:other=8/1 Other destinations:other=10/8")
	// Ties at the cut go by source, then target.
	f(2, []GraphEdge{e("c", "a", 4, 0), e("b", "z", 4, 0), e("b", "a", 4, 0)},
		"b→a=4/0 b→z=4/0 Other sources→a=4/0* | a:interface=8/0 b:interface=8/0 z:interface=4/0 Other sources:other=4/0")
	// The collector's folded label sets are never ranked: between the
	// Other nodes, with the rest.
	f(5, []GraphEdge{e("other", "other", 100, 10), e("a", "-", 3, 3)},
		"a→-=3/3 Other sources→Other destinations=100/10* | -:outside=3/3 a:interface=3/3 Other sources:other=100/10 Other destinations:other=100/10")
	// Traffic to itself counts once in its node.
	f(5, []GraphEdge{e("a", "a", 2, 0), e("a", "b", 1, 1)},
		"a→a=2/0 a→b=1/1 | a:interface=3/1 b:interface=1/1")
	// Zero-valued pairs are edges too, ranked last.
	f(1, []GraphEdge{e("a", "b", 0, 0), e("c", "d", 1, 0)},
		"c→d=1/0 Other sources→Other destinations=0/0* | c:interface=1/0 d:interface=1/0 Other sources:other=0/0 Other destinations:other=0/0")
}

// TestGraphQuery: the node graph format is for the pair reports only, its
// top at most MaxEdges; its step is the pair family's.
func TestGraphQuery(t *testing.T) {
	for _, r := range Reports() {
		_, _, ok := r.GraphEnds()
		err := Query{Report: r.ID, Format: FormatNodeGraph}.Validate()
		switch {
		case ok != (r.ID == ReportPairInterface || r.ID == ReportPairInterfaceAction):
			t.Errorf("%s: GraphEnds ok %v", r.ID, ok)
		case ok && err != nil:
			t.Errorf("%s: %v", r.ID, err)
		case !ok && (err == nil || !strings.Contains(err.Error(), "node_graph format is for the reports of traffic between two ends (pair-interface, pair-interface-action)")):
			t.Errorf("%s: node_graph: %v", r.ID, err)
		}
	}
	if err := (Query{Report: ReportPairInterface, Format: FormatNodeGraph, Top: MaxEdges}).Validate(); err != nil {
		t.Errorf("top %d: %v", MaxEdges, err)
	}
	if err := (Query{Report: ReportPairInterface, Format: FormatNodeGraph, Top: MaxEdges + 1}).Validate(); err == nil || !strings.Contains(err.Error(), "at most 1000 edges") {
		t.Errorf("top %d: %v", MaxEdges+1, err)
	}
	if err := (Query{Report: ReportAction, Format: "graph"}).Validate(); err == nil || !strings.Contains(err.Error(), "node_graph (pair-interface, pair-interface-action only)") {
		t.Errorf("unknown format: %v", err)
	}
}
