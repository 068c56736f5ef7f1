package plugin

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
)

// Field names of the frames.
const (
	// TimeField names the time field of a time series frame.
	TimeField = "Time"
)

// dataplane is the dataplane contract version the frames follow
// (https://grafana.github.io/dataplane/contract/).
var dataplane = data.FrameTypeVersion{0, 1}

// TimeSeriesFrames returns a time series result as one frame per series
// (FrameTypeTimeSeriesMulti, in the result's order: by value over the range,
// Other last): a time field "Time" (the steps' starts, its config's
// interval the step) and a number field named after the metric ("bytes",
// "packets", "flows", "records") with the series' group-by labels (the raw
// ids), its display name from DisplayName (an id with a known name as
// "name (id)": the legend) and its unit from Unit. No series gives one
// frame without fields, the dataplane's "no data". The first frame carries
// the MetricsQL queries run (ExecutedQueryString).
func TimeSeriesFrames(res *report.Result) data.Frames {
	meta := func() *data.FrameMeta {
		return &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: dataplane}
	}
	if len(res.Series) == 0 {
		f := data.NewFrame("").SetMeta(meta())
		f.Meta.ExecutedQueryString = executed(res)
		return data.Frames{f}
	}
	unit := Unit(res.Metric, res.Mode)
	frames := make(data.Frames, 0, len(res.Series))
	for _, s := range res.Series {
		name := DisplayName(s.Labels, s.Names, res.Columns, s.Other)
		times := slices.Clone(s.Timestamps)
		tf := data.NewField(TimeField, nil, times)
		tf.Config = &data.FieldConfig{Interval: float64(res.Step.Milliseconds())}
		vf := data.NewField(string(res.Metric), labelsOf(s.Labels, res.Columns), slices.Clone(s.Values))
		vf.Config = &data.FieldConfig{DisplayNameFromDS: name, Unit: unit}
		frames = append(frames, data.NewFrame(name, tf, vf).SetMeta(meta()))
	}
	frames[0].Meta.ExecutedQueryString = executed(res)
	return frames
}

// TableFrames returns a table result as one frame named after the report:
// a string field per group-by label (named after the label), the exporters
// report's first_seen and last_seen as nullable time fields and status and
// collector_status as string fields, then a number field named after the
// metric. Rows are in
// the result's order (by value descending); the Other row has "Other" in
// every group-by column (and no first or last seen). The fields of id
// columns hold the raw ids; where ids have names (report.Row.Names), the
// field's value mappings show each such id as "name (id)" (NameMappings),
// which Grafana's table renders while filters, links and transformations
// keep the id. It is a
// FrameTypeNumericLong frame, which server-side expressions read as
// numbers, except the exporters report's (FrameTypeTable: its time columns
// are not dimensions).
func TableFrames(res *report.Result) data.Frames {
	n := len(res.Rows)
	f := data.NewFrame(res.Report.Title)
	for _, c := range res.Columns {
		switch c {
		case report.ColumnFirstSeen, report.ColumnLastSeen:
			vs := make([]*time.Time, n)
			for i, r := range res.Rows {
				if t, err := time.Parse(time.RFC3339, r.Labels[c]); err == nil {
					vs[i] = &t
				}
			}
			f.Fields = append(f.Fields, data.NewField(c, nil, vs))
		default:
			vs := make([]string, n)
			for i, r := range res.Rows {
				vs[i] = r.Labels[c]
			}
			fld := data.NewField(c, nil, vs)
			if m := NameMappings(res.Rows, c); m != nil {
				fld.Config = &data.FieldConfig{Mappings: data.ValueMappings{m}}
			}
			f.Fields = append(f.Fields, fld)
		}
	}
	values := make([]float64, n)
	for i, r := range res.Rows {
		values[i] = r.Value
	}
	vf := data.NewField(string(res.Metric), nil, values)
	vf.Config = &data.FieldConfig{Unit: Unit(res.Metric, res.Mode)}
	f.Fields = append(f.Fields, vf)
	meta := &data.FrameMeta{Type: data.FrameTypeNumericLong, TypeVersion: dataplane, PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString: executed(res)}
	if len(res.Report.Extra) > 0 {
		meta.Type, meta.TypeVersion = data.FrameTypeTable, data.FrameTypeVersion{}
	}
	return data.Frames{f.SetMeta(meta)}
}

// NumericFrames returns a table result for alerting: one
// FrameTypeNumericWide frame with one row and, per row of the table (Other
// included), a number field named after the metric with the row's
// group-by labels (for the exporters report also its status) and its
// display name. Grafana's alerting reads each field as one alert instance
// whose value is the total (or rate) over the query's range. No rows give
// a frame without fields: "no data".
func NumericFrames(res *report.Result) data.Frames {
	f := data.NewFrame(res.Report.Title).SetMeta(&data.FrameMeta{Type: data.FrameTypeNumericWide, TypeVersion: dataplane,
		ExecutedQueryString: executed(res)})
	keys := slices.Clone(res.Report.GroupBy)
	if slices.Contains(res.Columns, report.ColumnStatus) {
		keys = append(keys, report.ColumnStatus)
	}
	unit := Unit(res.Metric, res.Mode)
	for _, r := range res.Rows {
		vf := data.NewField(string(res.Metric), labelsOf(r.Labels, keys), []float64{r.Value})
		vf.Config = &data.FieldConfig{DisplayNameFromDS: DisplayName(r.Labels, r.Names, res.Report.GroupBy, r.Other), Unit: unit}
		f.Fields = append(f.Fields, vf)
	}
	return data.Frames{f}
}

// executed returns the MetricsQL queries of a result, sorted, one a line.
func executed(res *report.Result) string {
	qs := slices.Clone(res.Queries)
	slices.Sort(qs)
	return strings.Join(slices.Compact(qs), "\n")
}

// labelsOf returns the labels named in keys.
func labelsOf(ls map[string]string, keys []string) data.Labels {
	out := make(data.Labels, len(keys))
	for _, k := range keys {
		out[k] = ls[k]
	}
	return out
}

// Unit returns the Grafana unit of a metric in a mode: bytes (decbytes),
// bytes per second (Bps), packets per second (pps), counts per second
// (cps) for flows and records, plain numbers (short) otherwise.
func Unit(m report.Metric, mode report.Mode) string {
	rate := mode == report.ModeRate
	switch {
	case m == report.MetricBytes && rate:
		return "Bps"
	case m == report.MetricBytes:
		return "decbytes"
	case m == report.MetricPackets && rate:
		return "pps"
	case rate:
		return "cps"
	}
	return "short"
}

// OtherName is the display name of the series or row summing the label
// sets beyond the top N.
const OtherName = "Other"

// joiners are the separators between two group-by labels that read as one
// thing: a pair's two ends, a protocol and its port. Other neighbours are
// separated by " · ".
var joiners = map[[2]string]string{
	{"src_interface", "dst_interface"}: " → ",
	{"src_service", "dst_service"}:     " → ",
	{"protocol", "port"}:               "/",
}

// DisplayName returns the name of a series or row: its group-by label
// values in the report's order, an id with a known name (names, by label:
// report.Row.Names) as "name (id)" (report.NameAndID), the coded values
// (protocol numbers, traffic paths) by name (schema.SeriesValue), a pair's
// ends joined by " → ", a protocol and port by "/", other values by " · "
// ("web-1 (eni-0a1) · REJECT", "eni-0a1 → db (eni-0b2)", "TCP/443",
// "Internet gateway (Nitro)"); "Other" for the sum beyond the top N.
func DisplayName(labels, names map[string]string, keys []string, other bool) string {
	if other {
		return OtherName
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			sep, ok := joiners[[2]string{keys[i-1], k}]
			if !ok {
				sep = " · "
			}
			b.WriteString(sep)
		}
		if n := names[k]; n != "" {
			b.WriteString(report.NameAndID(n, labels[k]))
			continue
		}
		b.WriteString(schema.SeriesValue(k, labels[k]))
	}
	return b.String()
}

// NameMappings returns the value mappings that show the ids of column c
// with their names as "name (id)" (report.NameAndID), one per named id of
// rows; nil when no id of c has a name.
func NameMappings(rows []report.Row, c string) data.ValueMapper {
	var m data.ValueMapper
	for _, r := range rows {
		n := r.Names[c]
		if n == "" {
			continue
		}
		if m == nil {
			m = data.ValueMapper{}
		}
		id := r.Labels[c]
		m[id] = data.ValueMappingResult{Text: report.NameAndID(n, id)}
	}
	return m
}

// Frame and field names of a node graph (Grafana's node graph panel reads
// them: NodeGraphDataFrameFieldNames of @grafana/data).
const (
	// NodesFrame and EdgesFrame name the two frames of a node graph.
	NodesFrame = "nodes"
	EdgesFrame = "edges"
	// RejectedField names the number field of the rejected share (0 to 1)
	// of each node and edge.
	RejectedField = "rejected"
)

// Titles and subtitles of the nodes that stand for no interface.
const (
	OutsideTitle           = "Internet / unknown"
	OutsideSubtitle        = "no known interface"
	ServiceSubtitle        = "AWS service"
	OtherSourcesTitle      = "Other sources"
	OtherDestinationsTitle = "Other destinations"
	OtherSubtitle          = "edges beyond the top N"
)

// Colours of the node graph: a node's ring is green for its accepted and
// red for its rejected share; an edge is green when under 1% of its
// traffic is rejected, orange under half, red from half on.
const (
	colorAccepted = "green"
	colorRejected = "red"
	edgeGreen     = "#73BF69"
	edgeOrange    = "#FF9830"
	edgeRed       = "#F2495C"
	// dashed is the stroke of a summary edge.
	dashed = "4 4"
)

// NodeGraphFrames returns a node graph result (report.Result.Graph) as the
// two frames Grafana's node graph panel reads, both with the preferred
// visualisation nodeGraph: "edges" first (so that a table panel on the
// same query shows the edges: it shows a response's first frame), which
// carries the MetricsQL queries run, then "nodes".
//
// Edges, in the graph's order (the top edges by value, then the summary
// edges): id ("source → target"), source and target (node ids), mainstat
// (the value with its unit, FormatAmount: the panel prints number stats
// raw), secondarystat (the rejected share, "12.5% rejected"), thickness
// (1 to 8 pixels, by the square root of the value against the largest
// edge's), color (by the rejected share: green under 1%, orange under
// half, red), strokedasharray (dashed for summary edges),
// detail__source and detail__target (the ends as "name (id)"), then the
// number fields: the value, named after the metric, with its unit, and
// the rejected share (RejectedField, 0 to 1, unit percentunit).
//
// Nodes, in the graph's order: id (an interface id, "-" for the
// internet and unknown addresses, or the Other nodes' ids), title (the
// interface's name, else its id; OutsideTitle, OtherSourcesTitle,
// OtherDestinationsTitle), subtitle (where the interface is: its VPC and
// subnet, names where known, "prod / private a"), mainstat (the traffic
// through it), secondarystat (its rejected share), arc__accepted and
// arc__rejected (the ring: shares adding up to 1, none without traffic),
// detail__interface, detail__vpc, detail__subnet ("name (id)") and
// detail__type (the interface type), then the value and the rejected
// share as numbers.
func NodeGraphFrames(res *report.Result) data.Frames {
	g := res.Graph
	if g == nil {
		g = &report.Graph{}
	}
	meta := func() *data.FrameMeta { return &data.FrameMeta{PreferredVisualization: data.VisTypeNodeGraph} }
	unit := Unit(res.Metric, res.Mode)
	number := func(name string, vs []float64, cfg *data.FieldConfig) *data.Field {
		f := data.NewField(name, nil, vs)
		f.Config = cfg
		return f
	}
	strs := func(name string, vs []string, display string) *data.Field {
		f := data.NewField(name, nil, vs)
		if display != "" {
			f.Config = &data.FieldConfig{DisplayName: display}
		}
		return f
	}
	byID := map[string]report.GraphNode{}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}

	ne := len(g.Edges)
	ids, sources, targets, mains, seconds, colors, dashes, srcNames, dstNames := make([]string, ne), make([]string, ne), make([]string, ne),
		make([]string, ne), make([]string, ne), make([]string, ne), make([]string, ne), make([]string, ne), make([]string, ne)
	thickness, values, shares := make([]float64, ne), make([]float64, ne), make([]float64, ne)
	largest := 0.0
	for _, e := range g.Edges {
		largest = max(largest, e.Value)
	}
	for i, e := range g.Edges {
		ids[i], sources[i], targets[i] = e.Source+" → "+e.Target, e.Source, e.Target
		mains[i] = FormatAmount(e.Value, res.Metric, res.Mode)
		seconds[i] = FormatShare(e.RejectedShare) + " rejected"
		thickness[i] = 1
		if largest > 0 {
			thickness[i] = 1 + math.Round(7*math.Sqrt(e.Value/largest))
		}
		colors[i] = EdgeColor(e.RejectedShare)
		if e.Other {
			dashes[i] = dashed
		}
		srcNames[i], dstNames[i] = NodeName(byID[e.Source]), NodeName(byID[e.Target])
		values[i], shares[i] = e.Value, e.RejectedShare
	}
	edges := data.NewFrame(EdgesFrame,
		strs("id", ids, ""), strs("source", sources, ""), strs("target", targets, ""),
		strs("mainstat", mains, DisplayNameOf(res.Metric)), strs("secondarystat", seconds, "Rejected"),
		number("thickness", thickness, nil), strs("color", colors, ""), strs("strokedasharray", dashes, ""),
		strs("detail__source", srcNames, "Source"), strs("detail__target", dstNames, "Destination"),
		number(string(res.Metric), values, &data.FieldConfig{Unit: unit}),
		number(RejectedField, shares, &data.FieldConfig{DisplayName: "Rejected", Unit: "percentunit"}),
	).SetMeta(meta())
	edges.Meta.ExecutedQueryString = executed(res)

	nn := len(g.Nodes)
	nids, titles, subtitles, nmains, nseconds, ifaces, vpcs, subnets, types := make([]string, nn), make([]string, nn), make([]string, nn),
		make([]string, nn), make([]string, nn), make([]string, nn), make([]string, nn), make([]string, nn), make([]string, nn)
	accepted, rejected, nvalues, nshares := make([]float64, nn), make([]float64, nn), make([]float64, nn), make([]float64, nn)
	for i, n := range g.Nodes {
		nids[i] = n.ID
		titles[i], subtitles[i] = nodeTitles(n)
		nmains[i] = FormatAmount(n.Value, res.Metric, res.Mode)
		nseconds[i] = FormatShare(n.RejectedShare) + " rejected"
		if n.Value > 0 {
			accepted[i], rejected[i] = 1-n.RejectedShare, n.RejectedShare
		}
		if n.Kind == report.NodeKindInterface {
			ifaces[i] = report.NameAndID(n.Name, n.ID)
			vpcs[i], subnets[i] = nameAndID(n.VPCName, n.VPC), nameAndID(n.SubnetName, n.Subnet)
			types[i] = n.Type
		}
		nvalues[i], nshares[i] = n.Value, n.RejectedShare
	}
	arc := func(name string, vs []float64, display, color string) *data.Field {
		return number(name, vs, &data.FieldConfig{DisplayName: display, Color: map[string]any{"mode": "fixed", "fixedColor": color}})
	}
	nodes := data.NewFrame(NodesFrame,
		strs("id", nids, ""), strs("title", titles, ""), strs("subtitle", subtitles, ""),
		strs("mainstat", nmains, DisplayNameOf(res.Metric)), strs("secondarystat", nseconds, "Rejected"),
		arc("arc__accepted", accepted, "Accepted", colorAccepted), arc("arc__rejected", rejected, "Rejected", colorRejected),
		strs("detail__interface", ifaces, "Interface"), strs("detail__vpc", vpcs, "VPC"), strs("detail__subnet", subnets, "Subnet"),
		strs("detail__type", types, "Type"),
		number(string(res.Metric), nvalues, &data.FieldConfig{Unit: unit}),
		number(RejectedField, nshares, &data.FieldConfig{DisplayName: "Rejected", Unit: "percentunit"}),
	).SetMeta(meta())
	return data.Frames{edges, nodes}
}

// nameAndID is report.NameAndID, "" for no id.
func nameAndID(name, id string) string {
	if id == "" {
		return ""
	}
	return report.NameAndID(name, id)
}

// nodeTitles returns a node's title and subtitle: an interface's name
// (else its id) and where it is, its VPC and subnet by name where known
// ("prod / private a", "vpc-0a1 / subnet-01", "" when unknown); the
// titles of the other nodes.
func nodeTitles(n report.GraphNode) (title, subtitle string) {
	switch {
	case n.Kind == report.NodeKindOutside:
		return OutsideTitle, OutsideSubtitle
	case n.Kind == report.NodeKindService: // aws:S3 → S3
		return strings.TrimPrefix(n.ID, schema.PairServicePrefix), ServiceSubtitle
	case n.ID == report.NodeOtherSources:
		return OtherSourcesTitle, OtherSubtitle
	case n.ID == report.NodeOtherDestinations:
		return OtherDestinationsTitle, OtherSubtitle
	}
	var where []string
	for _, s := range []string{cmp.Or(n.VPCName, n.VPC), cmp.Or(n.SubnetName, n.Subnet)} {
		if s != "" {
			where = append(where, s)
		}
	}
	return cmp.Or(n.Name, n.ID), strings.Join(where, " / ")
}

// NodeName returns how an edge's details name a node: an interface as
// "name (id)" (report.NameAndID), the other nodes by their titles.
func NodeName(n report.GraphNode) string {
	if n.Kind == report.NodeKindInterface {
		return report.NameAndID(n.Name, n.ID)
	}
	title, _ := nodeTitles(n)
	return title
}

// DisplayNameOf names a metric's column: "Bytes", "Packets", "Flows",
// "Records".
func DisplayNameOf(m report.Metric) string {
	s := string(m)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// EdgeColor returns the colour of an edge whose rejected share is s:
// green under 1%, orange under half, red from half on.
func EdgeColor(s float64) string {
	switch {
	case s < 0.01:
		return edgeGreen
	case s < 0.5:
		return edgeOrange
	}
	return edgeRed
}

// FormatShare writes a share (0 to 1) as a percentage with at most one
// decimal: "0%", "<0.1%", "12.5%", ">99.9%", "100%".
func FormatShare(s float64) string {
	switch {
	case s <= 0:
		return "0%"
	case s >= 1:
		return "100%"
	case s < 0.001:
		return "<0.1%"
	case s > 0.999:
		return ">99.9%"
	}
	return strconv.FormatFloat(math.Round(s*1000)/10, 'f', -1, 64) + "%"
}

// FormatAmount writes an amount of a metric in a mode with its unit and
// three significant digits: bytes in decimal units ("512 B", "1.23 MB",
// "4.56 GB/s"), packets, flows and records with an SI prefix ("1.23k
// packets", "12 flows/s").
func FormatAmount(v float64, m report.Metric, mode report.Mode) string {
	prefixes := []string{"", "k", "M", "G", "T", "P", "E"}
	i := 0
	for math.Abs(v) >= 999.5 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	var num string
	switch a := math.Abs(v); {
	case a == math.Trunc(a):
		num = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 99.95:
		num = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 9.995:
		num = strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 0.01:
		num = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		num = strconv.FormatFloat(v, 'g', 3, 64)
	}
	if strings.Contains(num, ".") && !strings.ContainsAny(num, "e") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	per := ""
	if mode == report.ModeRate {
		per = "/s"
	}
	if m == report.MetricBytes {
		return num + " " + prefixes[i] + "B" + per
	}
	return num + prefixes[i] + " " + string(m) + per
}
