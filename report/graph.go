package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/schema"
)

// MaxEdges bounds the edges a node graph shows besides its summary edges:
// its Top is at most MaxEdges, and Top 0 keeps the MaxEdges largest edges.
// What is left out is summarised (see Graph), so the bound costs no
// traffic; it keeps the answer to what a browser lays out and draws
// (Grafana's node graph hides nodes beyond 1,500).
const MaxEdges = 1_000

// Node ids of a graph's nodes that stand for no interface (Graph). The
// Other nodes' hold a space, which no id AWS writes does.
const (
	// NodeOutside is the node of the addresses owned by no known
	// interface and named by no AWS service (the families' absent value,
	// "-"): the internet, peered VPCs and networks without flow logs,
	// on-premises networks. An AWS service the records name is a node of
	// its own (NodeKindService).
	NodeOutside = schema.Absent
	// NodeOtherSources is the source of the summary edges towards shown
	// nodes: the sources of the edges beyond the top N, and the
	// collector's folded label sets (whose ends are "other").
	NodeOtherSources = "Other sources"
	// NodeOtherDestinations is the destination of the summary edges from
	// shown nodes, and of the summary edge from NodeOtherSources.
	NodeOtherDestinations = "Other destinations"
)

// NodeKind says what a graph's node stands for.
type NodeKind string

// Node kinds.
const (
	// NodeKindInterface is a network interface (its id, eni-…).
	NodeKindInterface NodeKind = "interface"
	// NodeKindOutside is NodeOutside.
	NodeKindOutside NodeKind = "outside"
	// NodeKindService is an AWS service the flow logs name for peers no
	// interface owns (schema.PairServicePrefix + the service: "aws:S3").
	NodeKindService NodeKind = "service"
	// NodeKindOther is NodeOtherSources or NodeOtherDestinations.
	NodeKindOther NodeKind = "other"
)

// Graph is a node graph of a report between two ends (Report.GraphEnds:
// the pair reports, whose rows are traffic from src_interface to
// dst_interface): a node per end, an edge per pair of ends, over the
// range.
//
// Edges are the Top pairs with the largest values (ties by source, then
// target), each the exact sum of the report's rows for the pair, every
// action; the nodes are their ends. The rest is summarised so that the
// edges add up to the total exactly: an edge beyond the top goes into
// one summary edge per shown node, from its source to NodeOtherDestinations
// when its source is shown, else from NodeOtherSources to its target when
// that is shown, else into the one edge NodeOtherSources →
// NodeOtherDestinations, which also holds the collector's folded label
// sets (ends "other": docs/pipeline.md, Bounded families).
type Graph struct {
	// Source and Target are the report's labels of the two ends.
	Source, Target string
	// Nodes are the ends of the edges: interfaces and NodeOutside by value
	// descending (ties by id), then NodeOtherSources and
	// NodeOtherDestinations when an edge has them.
	Nodes []GraphNode
	// Edges are the top edges by value descending (ties by source, then
	// target), then the summary edges (Other) likewise.
	Edges []GraphEdge
}

// GraphNode is a node of a Graph.
type GraphNode struct {
	// ID is the end's value (an interface id, NodeOutside) or
	// NodeOtherSources or NodeOtherDestinations.
	ID   string
	Kind NodeKind
	// Value is the traffic through the node over the range (sent plus
	// received; once for traffic to itself), over every edge of the
	// report, shown or summarised; the Other nodes' is their summary
	// edges'. Per second in rate mode.
	Value float64
	// Rejected is the part of Value whose action is rejected
	// (RejectedActions: REJECT or DROP).
	Rejected float64
	// RejectedShare is Rejected / Value, 0 to 1 (0 without traffic),
	// computed from the exact totals (in rate mode too).
	RejectedShare float64
	// Name is an interface's name (the entity sync's Name tag), when the
	// query asked for names and it has one: as Row.Names gives it.
	Name string
	// VPC and Subnet are an interface's VPC and subnet ids: from the
	// entity sync (its newest entity info in the range or up to the names
	// lookback before it), else from the flow logs (the interface family's
	// labels over the range); "" when neither knows.
	VPC, Subnet string
	// VPCName and SubnetName are their names, when the query asked for
	// names and they have one.
	VPCName, SubnetName string
	// Type is an interface's type as EC2 says (interface, nat_gateway,
	// lambda, vpc_endpoint, …), from the entity sync; "" when unknown.
	Type string
}

// GraphEdge is an edge of a Graph: traffic from Source to Target (node
// ids).
type GraphEdge struct {
	Source, Target string
	// Value is the traffic over the range, per second in rate mode.
	Value float64
	// Rejected is the part of Value whose action is rejected
	// (RejectedActions: REJECT or DROP).
	Rejected float64
	// RejectedShare is Rejected / Value, 0 to 1 (0 without traffic),
	// computed from the exact totals (in rate mode too).
	RejectedShare float64
	// Other marks a summary edge: traffic beyond the top N edges, or
	// folded by the collector.
	Other bool
}

// share returns part / whole, 0 when whole is not positive.
func share(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return part / whole
}

// GraphEnds returns the labels of the two ends of the traffic a report's
// rows count, for the reports a node graph (FormatNodeGraph) can show:
// src_interface and dst_interface for the pair reports (pair-interface,
// pair-interface-action). ok is false for the other reports.
func (r Report) GraphEnds() (source, target string, ok bool) {
	if r.Family == schema.Pair {
		return "src_interface", "dst_interface", true
	}
	return "", "", false
}

// graphReports lists the reports with GraphEnds, for errors.
func graphReports() string {
	var ids []string
	for _, r := range registry {
		if _, _, ok := r.GraphEnds(); ok {
			ids = append(ids, r.ID)
		}
	}
	return strings.Join(ids, ", ")
}

// rejectedAction reports whether an action is one of RejectedActions.
func rejectedAction(action string) bool {
	return slices.Contains(strings.Split(RejectedActions, "|"), action)
}

// graph answers a node graph query: the plan's metric per pair of ends
// and action over [from, to) in one query (every pair: the summary needs
// them all), the graph built from it, then the shown interfaces' VPC,
// subnet, type and names.
func (x *exec) graph(ctx context.Context, p *plan, from, to time.Time) (*Result, error) {
	src, dst, _ := p.rep.GraphEnds()
	d := to.Sub(from)
	expr := by("sum", []string{src, dst, labelAction}, rollup("sum_over_time", selector(p.rep.MetricName(p.metric), p.filters), d))
	samples, err := x.instant(ctx, expr, to)
	if err != nil {
		return nil, err
	}
	pairs := map[[2]string]*GraphEdge{}
	for _, s := range samples {
		k := [2]string{s.Labels[src], s.Labels[dst]}
		e := pairs[k]
		if e == nil {
			e = &GraphEdge{Source: k[0], Target: k[1]}
			pairs[k] = e
		}
		e.Value += s.Value
		if rejectedAction(s.Labels[labelAction]) {
			e.Rejected += s.Value
		}
	}
	raw := make([]GraphEdge, 0, len(pairs))
	for _, e := range pairs {
		raw = append(raw, *e)
	}
	top := p.top
	if top == 0 {
		top = MaxEdges
	}
	g := buildGraph(raw, top)
	g.Source, g.Target = src, dst
	if err := x.describeNodes(ctx, p, g, from, to); err != nil {
		return nil, err
	}
	res := p.result(from, to)
	res.Columns = []string{src, dst}
	res.Graph = g
	for i := range g.Edges {
		e := &g.Edges[i]
		e.RejectedShare = share(e.Rejected, e.Value)
		res.Total += e.Value
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		n.RejectedShare = share(n.Rejected, n.Value)
	}
	if p.mode == ModeRate {
		secs := d.Seconds()
		res.Total /= secs
		for i := range g.Edges {
			g.Edges[i].Value /= secs
			g.Edges[i].Rejected /= secs
		}
		for i := range g.Nodes {
			g.Nodes[i].Value /= secs
			g.Nodes[i].Rejected /= secs
		}
	}
	return res, nil
}

// buildGraph makes the graph of the pairs' edges (one per pair of ends,
// in any order): the top largest edges between known ends (not the
// collector's folded "other"), the rest summarised as Graph says, and the
// nodes with their traffic.
func buildGraph(raw []GraphEdge, top int) *Graph {
	byValue := func(a, b GraphEdge) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		return strings.Compare(a.Target, b.Target)
	}
	folded := func(e GraphEdge) bool { return e.Source == schema.Other || e.Target == schema.Other }
	var ranked, rest []GraphEdge
	for _, e := range raw {
		if folded(e) {
			rest = append(rest, e)
		} else {
			ranked = append(ranked, e)
		}
	}
	slices.SortFunc(ranked, byValue)
	if len(ranked) > top {
		ranked, rest = ranked[:top], append(rest, ranked[top:]...)
	}
	g := &Graph{Edges: ranked}
	shown := map[string]*GraphNode{}
	for _, e := range ranked {
		for _, id := range []string{e.Source, e.Target} {
			if shown[id] == nil {
				kind := NodeKindInterface
				switch {
				case id == NodeOutside:
					kind = NodeKindOutside
				case strings.HasPrefix(id, schema.PairServicePrefix):
					kind = NodeKindService
				}
				shown[id] = &GraphNode{ID: id, Kind: kind}
			}
		}
	}
	// Every edge's traffic goes through its shown ends.
	for _, e := range raw {
		for i, id := range []string{e.Source, e.Target} {
			if n := shown[id]; n != nil && (i == 0 || e.Target != e.Source) {
				n.Value += e.Value
				n.Rejected += e.Rejected
			}
		}
	}
	// The rest, summarised.
	summary := map[[2]string]*GraphEdge{}
	for _, e := range rest {
		k := [2]string{NodeOtherSources, NodeOtherDestinations}
		switch {
		case shown[e.Source] != nil:
			k[0] = e.Source
		case shown[e.Target] != nil:
			k[1] = e.Target
		}
		s := summary[k]
		if s == nil {
			s = &GraphEdge{Source: k[0], Target: k[1], Other: true}
			summary[k] = s
		}
		s.Value += e.Value
		s.Rejected += e.Rejected
	}
	var others []GraphEdge
	for _, s := range summary {
		others = append(others, *s)
	}
	slices.SortFunc(others, byValue)
	g.Edges = append(g.Edges, others...)
	for _, n := range shown {
		g.Nodes = append(g.Nodes, *n)
	}
	slices.SortFunc(g.Nodes, func(a, b GraphNode) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, id := range []string{NodeOtherSources, NodeOtherDestinations} {
		n := GraphNode{ID: id, Kind: NodeKindOther}
		for _, e := range others {
			if e.Source == id || e.Target == id {
				n.Value += e.Value
				n.Rejected += e.Rejected
			}
		}
		if slices.ContainsFunc(others, func(e GraphEdge) bool { return e.Source == id || e.Target == id }) {
			g.Nodes = append(g.Nodes, n)
		}
	}
	return g
}

// describeNodes fills in the interfaces' VPC, subnet and type and, when
// the plan asks for names, their names and those of their VPCs and
// subnets. The VPC, subnet, type and name come from the entity sync's
// newest entity info of each interface in the range or up to the names
// lookback before it (one query, like the names'), a VPC or subnet the
// sync does not give from the interface family's labels over the range
// (a second query, at the same time); then the VPCs' and subnets' names
// (Names).
func (x *exec) describeNodes(ctx context.Context, p *plan, g *Graph, from, to time.Time) error {
	var ids []string
	for _, n := range g.Nodes {
		if n.Kind == NodeKindInterface && named(n.ID) {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	var synced map[string]interfaceInfo
	var logged map[string][2]string
	err := parallel(ctx,
		func(ctx context.Context) error {
			var err error
			synced, err = x.interfaceInfo(ctx, from, to, ids)
			return err
		},
		func(ctx context.Context) error {
			var err error
			logged, err = x.interfacePlaces(ctx, from, to, ids)
			return err
		})
	if err != nil {
		return err
	}
	places := map[EntityType][]string{}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Kind != NodeKindInterface {
			continue
		}
		info := synced[n.ID]
		n.VPC, n.Subnet, n.Type = info.vpc, info.subnet, info.typ
		if p.names {
			n.Name = info.name
		}
		// What the sync does not say, the flow logs may.
		l := logged[n.ID]
		n.VPC, n.Subnet = cmp.Or(n.VPC, l[0]), cmp.Or(n.Subnet, l[1])
		if n.VPC != "" {
			places[EntityVPC] = append(places[EntityVPC], n.VPC)
		}
		if n.Subnet != "" {
			places[EntitySubnet] = append(places[EntitySubnet], n.Subnet)
		}
	}
	if !p.names || len(places) == 0 {
		return nil
	}
	for t, vs := range places {
		slices.Sort(vs)
		places[t] = slices.Compact(vs)
	}
	names, err := x.names(ctx, from, to, places)
	if err != nil {
		return err
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		n.VPCName, n.SubnetName = names[EntityVPC][n.VPC], names[EntitySubnet][n.Subnet]
	}
	return nil
}

// Labels of the entity info series that place an interface
// (docs/names.md): the entity sync's relations.
const (
	// EntityVPCLabel holds the VPC id of a subnet, interface or instance.
	EntityVPCLabel = "vpc_id"
	// EntitySubnetLabel holds the subnet id of an interface or instance.
	EntitySubnetLabel = "subnet_id"
	// EntityInterfaceTypeLabel holds an interface's type (interface,
	// nat_gateway, lambda, …).
	EntityInterfaceTypeLabel = "interface_type"
)

// interfaceInfo is what the entity sync says of an interface.
type interfaceInfo struct {
	name, vpc, subnet, typ string
}

// interfaceInfo returns the entity info of the interfaces over [from,
// to): for each that has some, its newest sample's name, VPC, subnet and
// type (ties by those values, the largest). As Names, it looks a names
// lookback before from and restricts the query to the ids unless that
// makes it longer than maxRestricted.
func (x *exec) interfaceInfo(ctx context.Context, from, to time.Time, ids []string) (map[string]interfaceInfo, error) {
	d := to.Sub(from) + max(x.e.namesLookback, 0)
	group := []string{schema.LabelAccount, schema.LabelRegion, EntityIDLabel, EntityNameLabel, EntityVPCLabel, EntitySubnetLabel, EntityInterfaceTypeLabel}
	typ := Filter{Label: EntityTypeLabel, Op: OpEqual, Value: string(EntityInterface)}
	query := func(filters ...Filter) string {
		return by("max", group, rollup("tlast_over_time", selector(EntityInfoMetric, filters), d))
	}
	expr := query(typ, oneOf(EntityIDLabel, ids))
	if len(expr) > maxRestricted {
		expr = query(typ)
	}
	samples, err := x.instant(ctx, expr, to)
	if err != nil {
		return nil, fmt.Errorf("entity info of %d interfaces: %w", len(ids), err)
	}
	type seen struct {
		at   float64
		info interfaceInfo
	}
	newer := func(a, b seen) bool {
		if a.at != b.at {
			return a.at > b.at
		}
		return cmp.Or(strings.Compare(a.info.name, b.info.name), strings.Compare(a.info.vpc, b.info.vpc),
			strings.Compare(a.info.subnet, b.info.subnet), strings.Compare(a.info.typ, b.info.typ)) > 0
	}
	newest := map[string]seen{}
	for _, s := range samples {
		id := s.Labels[EntityIDLabel]
		if _, ok := slices.BinarySearch(ids, id); !ok {
			continue
		}
		n := seen{s.Value, interfaceInfo{s.Labels[EntityNameLabel], s.Labels[EntityVPCLabel], s.Labels[EntitySubnetLabel], s.Labels[EntityInterfaceTypeLabel]}}
		if old, ok := newest[id]; !ok || newer(n, old) {
			newest[id] = n
		}
	}
	out := make(map[string]interfaceInfo, len(newest))
	for id, n := range newest {
		out[id] = n.info
	}
	return out, nil
}

// labelSubnet is the interface family's subnet label.
const labelSubnet = "subnet_id"

// interfacePlaces returns the VPC and subnet of the interfaces as the
// flow logs give them: the interface family's labels over [from, to),
// the smallest of the values other than "-" where there are several
// (restricted to the ids unless that makes the query longer than
// maxRestricted).
func (x *exec) interfacePlaces(ctx context.Context, from, to time.Time, ids []string) (map[string][2]string, error) {
	fam := schema.Families()[schema.Interface]
	name := fam.Name + "_" + string(MetricFlows)
	group := []string{labelInterface, schema.LabelVPC, labelSubnet}
	query := func(filters ...Filter) string {
		return by("count", group, rollup("count_over_time", selector(name, filters), to.Sub(from)))
	}
	expr := query(oneOf(labelInterface, ids))
	if len(expr) > maxRestricted {
		expr = query()
	}
	samples, err := x.instant(ctx, expr, to)
	if err != nil {
		return nil, fmt.Errorf("VPCs and subnets of %d interfaces: %w", len(ids), err)
	}
	out := map[string][2]string{}
	pick := func(old, v string) string {
		if v == schema.Absent || v == "" || (old != "" && old < v) {
			return old
		}
		return v
	}
	for _, s := range samples {
		id := s.Labels[labelInterface]
		if _, ok := slices.BinarySearch(ids, id); !ok {
			continue
		}
		old := out[id]
		out[id] = [2]string{pick(old[0], s.Labels[schema.LabelVPC]), pick(old[1], s.Labels[labelSubnet])}
	}
	return out, nil
}
