package plugin

import (
	"slices"
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
// report's first_seen and last_seen as nullable time fields and status as
// a string field, then a number field named after the metric. Rows are in
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
