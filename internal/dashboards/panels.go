package dashboards

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/nodegraph"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
)

// allValue is the value of a multi-value variable's "All": a regular
// expression matching every value, sent as it is (filters on such
// variables use =~), so that "All" never turns into a long list of values.
const allValue = ".*"

// variable is a dashboard variable answered by the plugin's variable query:
// the values label takes in report's series, narrowed by the variables
// before it.
type variable struct {
	name, title string
	label       string
	report      string
	// single variables take one value, without All (a detail dashboard's
	// subject); filters on them use =.
	single bool
}

// The variables of the traffic dashboards. The account, region and VPC
// lists come from the exporters report (every VPC whose flow log sent
// records, NODATA included); interface and action from their reports.
var (
	varAccount   = variable{name: "account", title: "Source account", label: schema.LabelAccount, report: report.ReportExporters}
	varRegion    = variable{name: "region", title: "Region", label: schema.LabelRegion, report: report.ReportExporters}
	varVPC       = variable{name: "vpc", title: "VPC", label: schema.LabelVPC, report: report.ReportExporters}
	varInterface = variable{name: "interface", title: "Interface", label: "interface_id", report: report.ReportInterface}
	varAction    = variable{name: "action", title: "Action", label: "action", report: report.ReportAction}
)

// allSelected is the current value of a multi-value variable: All.
func allSelected() dashboard.VariableOption {
	return dashboard.VariableOption{
		Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
		Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
	}
}

// asSingle returns v taking one value.
func (v variable) asSingle() variable {
	v.single = true
	return v
}

// op is the filter operator for the variable's values.
func (v variable) op() report.Op {
	if v.single {
		return report.OpEqual
	}
	return report.OpMatch
}

// filter is the filter a panel of rep gets for v, if rep can filter on
// v's label.
func (v variable) filter(rep report.Report) (report.Filter, bool) {
	if !slices.Contains(rep.Filterable(), v.label) {
		return report.Filter{}, false
	}
	return report.Filter{Label: v.label, Op: v.op(), Value: "$" + v.name}, true
}

// useVariables adds the variables to the dashboard, in order; each one's
// values are narrowed by the variables before it.
func (b *board) useVariables(vars ...variable) {
	for i, v := range vars {
		rep, err := report.Lookup(v.report)
		if err != nil {
			b.d.RecordError("variable "+v.name, err)
			continue
		}
		var filters []report.Filter
		for _, prev := range vars[:i] {
			if f, ok := prev.filter(rep); ok {
				filters = append(filters, f)
			}
		}
		q := VariableQuery{RefID: "vpcflow-variable-" + v.name, Report: v.report, Label: v.label, Filters: filters}
		def := v.report + ": " + v.label
		for _, f := range filters {
			def += ", " + f.String()
		}
		vb := dashboard.NewQueryVariableBuilder(v.name).
			Label(v.title).
			Datasource(PluginRef()).
			Query(dashboard.StringOrMap{Map: q.Map()}).
			Definition(def).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalAsc)
		if v.single {
			vb.Multi(false).IncludeAll(false)
		} else {
			vb.Multi(true).IncludeAll(true).AllValue(allValue).Current(allSelected())
		}
		b.d.WithVariable(vb)
		b.vars = append(b.vars, v)
	}
}

// units returns the unit of a metric in a mode: IEC bytes for totals,
// bits per second for byte rates (see the bits transformation), packets
// per second, and counts for flows and records.
func units(m report.Metric, mode report.Mode) string {
	rate := mode == report.ModeRate
	switch m {
	case report.MetricBytes:
		if rate {
			return "bps"
		}
		return "bytes"
	case report.MetricPackets:
		if rate {
			return "pps"
		}
		return "count:packets"
	default:
		if rate {
			return "count:" + string(m) + "/s"
		}
		return "count:" + string(m)
	}
}

// bitsTransformation multiplies every number field by 8: the plugin's
// byte rates (bytes per second of each step) become bits per second. The
// fields keep their labels and configuration, so the legends still are
// the plugin's display names.
func bitsTransformation() dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{
		Id: "calculateField",
		Options: map[string]any{
			"mode": "binary",
			"binary": map[string]any{
				"left":     map[string]any{"matcher": map[string]any{"id": "byType", "options": "number"}},
				"operator": "*",
				"right":    map[string]any{"fixed": "8"},
			},
			"replaceFields": true,
		},
	}
}

// unitOverride gives every number field the unit. The plugin sets each
// field's own unit (Bps, decbytes, …), which wins over a panel's default
// unit; an override wins over both.
func unitOverride(unit string) (string, []dashboard.DynamicConfigValue) {
	return "number", []dashboard.DynamicConfigValue{{Id: "unit", Value: unit}}
}

// flow describes a panel on the VPC Flow Logs data source.
type flow struct {
	report string
	// title defaults to the report's; description is added to the
	// report's own.
	title, description string
	// metric defaults to bytes where the report counts them, else to the
	// report's default metric.
	metric report.Metric
	// mode defaults to rate for a time series, total for a table.
	mode report.Mode
	// top defaults to 10.
	top int
	// filters are added to those of the dashboard's variables.
	filters []report.Filter
	// w and h are the panel's size on the 24-column grid.
	w, h uint32
}

// lookup returns the report and the query of f in a mode and format, with
// the board's variable filters; notApplied names the variables the report
// cannot filter on.
func (b *board) lookup(f flow, mode report.Mode, format report.Format) (rep report.Report, q Query, notApplied []string, err error) {
	rep, err = report.Lookup(f.report)
	if err != nil {
		return rep, q, nil, err
	}
	metric := f.metric
	if metric == "" {
		metric = rep.DefaultMetric()
		if slices.Contains(rep.Metrics, report.MetricBytes) {
			metric = report.MetricBytes
		}
	}
	top := f.top
	if top == 0 {
		top = 10
	}
	var filters []report.Filter
	for _, v := range b.vars {
		vf, ok := v.filter(rep)
		switch {
		case ok:
			filters = append(filters, vf)
		case !slices.ContainsFunc(f.filters, func(flt report.Filter) bool { return slices.Contains(variableRefNames(flt.Value), v.name) }):
			// Unless the panel's own filters use it on another label.
			notApplied = append(notApplied, v.title)
		}
	}
	filters = append(filters, f.filters...)
	q = Query{RefID: "A", Datasource: ptr(PluginRef()),
		Query: report.Query{Report: rep.ID, Metric: metric, Mode: mode, Top: top, Filters: filters, Format: format}}
	return rep, q, notApplied, nil
}

// describe is a flow panel's description: the report's, the panel's own,
// its fixed filters and the variables that do not narrow it.
func describe(rep report.Report, f flow, q Query, notApplied []string) string {
	var fixed []string
	for _, flt := range f.filters {
		fixed = append(fixed, flt.String())
	}
	for _, flt := range rep.Filters {
		fixed = append(fixed, flt.String())
	}
	parts := []string{rep.Description, f.description}
	if len(fixed) > 0 {
		parts = append(parts, "Only "+strings.Join(fixed, ", ")+".")
	}
	if len(notApplied) > 0 {
		parts = append(parts, "Not narrowed by "+strings.Join(notApplied, ", ")+": the report's series have no such label.")
	}
	parts = append(parts, "Report "+rep.ID+", "+string(q.Metric)+", top "+itoa(q.Top)+" and Other.")
	return description(parts...)
}

// series adds a time series panel of f's report: rates per step, top N
// label sets and Other, stacked, bytes as bits per second. Its minimum
// interval is the step of the data the query reads (Query.Step: 1m, or 5m
// for the five-minute families), the step the plugin answers at anyway:
// Grafana then asks for what it gets ($__interval, the query inspector).
func (b *board) series(f flow) {
	rep, q, notApplied, err := b.lookup(f, modeOr(f.mode, report.ModeRate), report.FormatTimeSeries)
	if err != nil {
		b.d.RecordError("panel "+f.report, err)
		return
	}
	step, err := q.Step()
	if err != nil {
		b.d.RecordError("panel "+f.report, err)
		return
	}
	title := f.title
	if title == "" {
		title = rep.Title
	}
	p := timeseries.NewPanelBuilder().
		Id(b.id()).
		Title(title).
		Description(describe(rep, f, q, notApplied)).
		Datasource(PluginRef()).
		WithTarget(queryBuilder{q}).
		Interval(strconv.FormatInt(int64(step/time.Minute), 10) + "m").
		Unit(units(q.Metric, q.Mode)).
		OverrideByFieldType(unitOverride(units(q.Metric, q.Mode))).
		Min(0).
		FillOpacity(25).
		LineWidth(1).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true).
			Calcs([]string{"mean", "max", "lastNotNull"}).
			SortBy("Mean").
			SortDesc(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)).
		Span(orDefault(f.w, 16)).
		Height(orDefault(f.h, 9))
	if q.Metric == report.MetricBytes && q.Mode == report.ModeRate {
		p.WithTransformation(bitsTransformation())
	}
	b.d.WithPanel(p)
}

// table adds a table panel of f's report: the top N rows and Other over
// the time range, totals, paged (see tableOptions) so that a panel
// edited to show every row (top 0, "All rows") stays usable with
// thousands of them.
func (b *board) table(f flow) {
	rep, q, notApplied, err := b.lookup(f, modeOr(f.mode, report.ModeTotal), report.FormatTable)
	if err != nil {
		b.d.RecordError("panel "+f.report, err)
		return
	}
	title := f.title
	if title == "" {
		title = rep.Title + " — top " + itoa(q.Top)
	}
	p := table.NewPanelBuilder().
		Id(b.id()).
		Title(title).
		Description(describe(rep, f, q, notApplied)).
		Datasource(PluginRef()).
		WithTarget(queryBuilder{q}).
		Unit(units(q.Metric, q.Mode)).
		OverrideByFieldType(unitOverride(units(q.Metric, q.Mode))).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).EnablePagination(true)).
		Span(orDefault(f.w, 8)).
		Height(orDefault(f.h, 9))
	for _, c := range rep.Columns() {
		if l, ok := detailLinks[c]; ok {
			p.OverrideByName(c, []dashboard.DynamicConfigValue{{Id: "links", Value: []any{l}}})
		}
	}
	b.d.WithPanel(p)
}

// tableOptions are a table panel's options with the pagination switch of
// Grafana 12's table panel, options.enablePagination (TableOptions of
// @grafana/schema 12.4, the version docker-compose.yml runs), which the
// SDK's table.Options lacks: it has the older footer.enablePagination,
// which Grafana 11 reads. Paged tables set both (paginate).
type tableOptions struct {
	*table.Options
	EnablePagination bool `json:"enablePagination"`
}

// paginate gives a table panel built with footer.enablePagination the
// options.enablePagination of Grafana 12 too.
func paginate(p *dashboard.Panel) {
	o, ok := p.Options.(*table.Options)
	if ok && o.Footer != nil && o.Footer.EnablePagination != nil && *o.Footer.EnablePagination {
		p.Options = tableOptions{Options: o, EnablePagination: true}
	}
}

// detailLinks link a table cell holding a VPC or an interface to its
// detail dashboard, with the time range kept. Table columns are named by
// the report's labels (Report.Columns).
var detailLinks = map[string]map[string]any{
	"vpc_id": {
		"title": "VPC detail",
		"url":   "/d/" + UIDVPC + "?var-vpc=${__value.raw}&${__url_time_range}",
	},
	"interface_id": {
		"title": "Interface detail",
		"url":   "/d/" + UIDInterface + "?var-interface=${__value.raw}&${__url_time_range}",
	},
}

// pair adds a time series and a table of the same report side by side.
func (b *board) pair(f flow) {
	ts, tb := f, f
	ts.w, tb.w = 16, 8
	b.series(ts)
	if tb.title != "" {
		tb.title += " — top " + itoa(orDefaultInt(tb.top, 10))
	}
	b.table(tb)
}

// nodeGraph adds a node graph panel of f's report (one of the pair
// reports: report.Report.GraphEnds): the plugin's node_graph format, the
// traffic between interfaces over the time range (totals), the top N
// edges (default 50) and the rest summarised. A node's context menu links
// to its interface's detail dashboard.
func (b *board) nodeGraph(f flow) {
	f.top = orDefaultInt(f.top, graphTop)
	rep, q, notApplied, err := b.lookup(f, modeOr(f.mode, report.ModeTotal), report.FormatNodeGraph)
	if err != nil {
		b.d.RecordError("panel "+f.report, err)
		return
	}
	p := nodegraph.NewPanelBuilder().
		Id(b.id()).
		Title(f.title).
		Description(describeGraph(rep, f, q, notApplied)).
		Datasource(PluginRef()).
		WithTarget(queryBuilder{q}).
		OverrideByName("id", []dashboard.DynamicConfigValue{{Id: "links", Value: []any{detailLinks["interface_id"]}}}).
		Span(orDefault(f.w, 24)).
		Height(orDefault(f.h, 18))
	b.d.WithPanel(p)
}

// graphTop is the top N of the generated node graphs: enough edges to
// show how an estate's busiest interfaces talk, few enough to read.
const graphTop = 50

// graphTable adds a table of the edges of f's node graph: the same query
// as nodeGraph's (the plugin answers the edges frame first, and a table
// panel shows the first frame: frameIndex 0), each edge's ends by name,
// its value and its rejected share, the summary edges included.
func (b *board) graphTable(f flow) {
	f.top = orDefaultInt(f.top, graphTop)
	rep, q, notApplied, err := b.lookup(f, modeOr(f.mode, report.ModeTotal), report.FormatNodeGraph)
	if err != nil {
		b.d.RecordError("panel "+f.report, err)
		return
	}
	p := table.NewPanelBuilder().
		Id(b.id()).
		Title(f.title).
		Description(describeGraph(rep, f, q, notApplied)).
		Datasource(PluginRef()).
		WithTarget(queryBuilder{q}).
		FrameIndex(0).
		WithTransformation(dashboard.DataTransformerConfig{
			Id: "organize",
			Options: map[string]any{
				"excludeByName": map[string]any{"id": true, "source": true, "target": true, "mainstat": true, "secondarystat": true,
					"thickness": true, "color": true, "strokedasharray": true},
				"indexByName":  map[string]any{"detail__source": 0, "detail__target": 1, string(q.Metric): 2, graphRejectedField: 3},
				"renameByName": map[string]any{"detail__source": "Source", "detail__target": "Destination", string(q.Metric): metricTitle(q.Metric), graphRejectedField: "Rejected"},
			},
		}).
		OverrideByName(string(q.Metric), []dashboard.DynamicConfigValue{{Id: "unit", Value: units(q.Metric, q.Mode)}}).
		OverrideByName(graphRejectedField, []dashboard.DynamicConfigValue{
			{Id: "unit", Value: "percentunit"},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
			{Id: "color", Value: map[string]any{"mode": "thresholds"}},
			{Id: "thresholds", Value: map[string]any{"mode": "absolute", "steps": []any{
				map[string]any{"color": "green", "value": nil}, map[string]any{"color": "orange", "value": 0.01}, map[string]any{"color": "red", "value": 0.5}}}},
		}).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).EnablePagination(true)).
		Span(orDefault(f.w, 24)).
		Height(orDefault(f.h, 10))
	b.d.WithPanel(p)
}

// graphRejectedField names the plugin's field of the rejected share of a
// node graph's nodes and edges (plugin.RejectedField).
const graphRejectedField = "rejected"

// metricTitle names a metric's column: "Bytes", "Flows".
func metricTitle(m report.Metric) string {
	s := string(m)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// describeGraph is a node graph panel's description: how to read the
// graph, then as describe.
func describeGraph(rep report.Report, f flow, q Query, notApplied []string) string {
	return description("Nodes are network interfaces (named, with their VPC and subnet), \"Internet / unknown\" for the addresses of no known interface "+
		"(the internet, AWS services, peers without flow logs) and the Other nodes; edges are the traffic between them over the time range, thicker for more, "+
		"green when under 1% of it was rejected (REJECT or DROP), orange under half, red from half on; a node's ring is its accepted (green) and rejected (red) share. "+
		"The top "+itoa(q.Top)+" edges are shown, the rest summarised in dashed edges to Other destinations and from Other sources, so the edges add up to the total.",
		describe(rep, f, q, notApplied))
}

// prom describes a panel on the Prometheus data source (the collector's
// own metrics).
type prom struct {
	title, description string
	expr, legend       string
	unit               string
	w, h               uint32
}

func promQuery(p prom, instant bool) cog.Builder[variants.Dataquery] {
	q := prometheus.NewDataqueryBuilder().
		RefId("A").
		Datasource(PrometheusRef()).
		Expr(p.expr).
		LegendFormat(p.legend)
	if instant {
		q.Instant().Format(prometheus.PromQueryFormatTable)
	} else {
		q.Range()
	}
	return q
}

// promSeries adds a time series of a PromQL expression.
func (b *board) promSeries(p prom, bars bool) {
	ts := timeseries.NewPanelBuilder().
		Id(b.id()).
		Title(p.title).
		Description(p.description).
		Datasource(PrometheusRef()).
		WithTarget(promQuery(p, false)).
		Interval("1m").
		Unit(p.unit).
		Min(0).
		FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)).
		Span(orDefault(p.w, 12)).
		Height(orDefault(p.h, 8))
	if bars {
		ts.DrawStyle(common.GraphDrawStyleBars).FillOpacity(80)
	}
	b.d.WithPanel(ts)
}

// promStat adds a stat panel of a PromQL expression's last value,
// coloured by the thresholds steps (the first one's value is nil: from
// minus infinity).
func (b *board) promStat(p prom, steps ...dashboard.Threshold) {
	s := stat.NewPanelBuilder().
		Id(b.id()).
		Title(p.title).
		Description(p.description).
		Datasource(PrometheusRef()).
		WithTarget(promQuery(p, false)).
		Unit(p.unit).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeArea).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)).
		Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps)).
		Span(orDefault(p.w, 6)).
		Height(orDefault(p.h, 5))
	b.d.WithPanel(s)
}

// promTable adds a table of an instant PromQL query, leaving out the time
// and value columns when hideValue (the labels are the answer).
func (b *board) promTable(p prom, hideValue bool, mappings map[string]map[string]string) {
	exclude := map[string]any{"Time": true}
	if hideValue {
		exclude["Value"] = true
	}
	t := table.NewPanelBuilder().
		Id(b.id()).
		Title(p.title).
		Description(p.description).
		Datasource(PrometheusRef()).
		WithTarget(promQuery(p, true)).
		Unit(p.unit).
		Footer(common.NewTableFooterOptionsBuilder().Show(false)).
		WithTransformation(dashboard.DataTransformerConfig{
			Id:      "organize",
			Options: map[string]any{"excludeByName": exclude},
		}).
		Span(orDefault(p.w, 12)).
		Height(orDefault(p.h, 8))
	for _, column := range sortedKeys(mappings) {
		options := map[string]dashboard.ValueMappingResult{}
		for value, color := range mappings[column] {
			// "color|text" also shows the value as text.
			color, text, shown := strings.Cut(color, "|")
			options[value] = dashboard.ValueMappingResult{Color: ptr(color)}
			if shown {
				options[value] = dashboard.ValueMappingResult{Color: ptr(color), Text: ptr(text)}
			}
		}
		t.OverrideByName(column, []dashboard.DynamicConfigValue{
			{Id: "mappings", Value: []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: options}}}},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
		})
	}
	b.d.WithPanel(t)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// variableRefNames returns the names of the dashboard variables s refers to.
func variableRefNames(s string) []string {
	var names []string
	for _, m := range variableName.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1]+m[2])
	}
	return names
}

// variableName matches a variable reference: $name, ${name} or [[name]].
var variableName = regexp.MustCompile(`\$\{?(\w+)\}?|\[\[(\w+)\]\]`)

func modeOr(m, def report.Mode) report.Mode {
	if m == "" {
		return def
	}
	return m
}

// step is a threshold step from value v on.
func step(v float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: &v, Color: color}
}

// base is the first threshold step.
func base(color string) dashboard.Threshold { return dashboard.Threshold{Color: color} }

func ptr[T any](v T) *T { return &v }

func orDefault(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

func orDefaultInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func itoa(n int) string { return strconv.Itoa(n) }
