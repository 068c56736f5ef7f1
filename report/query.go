package report

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Metric is what a report counts.
type Metric string

// Metrics. The traffic families count bytes, packets and flows; the status
// family counts records.
const (
	MetricBytes   Metric = "bytes"
	MetricPackets Metric = "packets"
	MetricFlows   Metric = "flows"
	MetricRecords Metric = "records"
)

// Mode says how values are given.
type Mode string

// Modes.
const (
	// ModeTotal gives the sum over the range (a table) or over each step
	// (a time series).
	ModeTotal Mode = "total"
	// ModeRate gives the sum divided by the length of the range or step in
	// seconds: per second.
	ModeRate Mode = "rate"
)

// Format is the shape of a result.
type Format string

// Formats.
const (
	// FormatTable gives one row per label set, over the whole range.
	FormatTable Format = "table"
	// FormatTimeSeries gives one series per label set, one value per step.
	FormatTimeSeries Format = "time_series"
	// FormatNodeGraph gives the traffic between the two ends of a pair
	// report as a graph over the whole range (Result.Graph): a node per
	// end, an edge per pair of ends with its rejected part, the top N
	// edges and the rest summarised (see Graph). Only for the reports
	// with GraphEnds.
	FormatNodeGraph Format = "node_graph"
)

// Op is a filter's comparison, as in MetricsQL label filters.
type Op string

// Filter operators.
const (
	OpEqual    Op = "="
	OpNotEqual Op = "!="
	OpMatch    Op = "=~" // the value is an RE2 regular expression, anchored at both ends
	OpNotMatch Op = "!~"
)

// Filter restricts a report to the label sets whose Label compares to
// Value. Values are any strings: they are escaped, never interpreted as
// MetricsQL.
type Filter struct {
	Label string `json:"label"`
	Op    Op     `json:"op"`
	Value string `json:"value"`
}

// String returns the filter as label op "value".
func (f Filter) String() string { return f.Label + string(f.Op) + quote(f.Value) }

// Query is a report query: the JSON the Grafana plugin's query editor saves,
// also what the command line builds. Zero fields take defaults: the
// report's default metric, total, every row (Top 0), table.
type Query struct {
	// Report is a registry ID (see Reports).
	Report string `json:"report"`
	// Metric is what to count: bytes, packets, flows (traffic reports) or
	// records (log-status).
	Metric Metric `json:"metric,omitempty"`
	// Mode is total or rate (per second).
	Mode Mode `json:"mode,omitempty"`
	// Top keeps the Top label sets with the largest values over the whole
	// range and sums the others into one Other row or series; 0 keeps all.
	// Tables take any Top; time series at most MaxSeries, and with Top 0
	// fail when the range has more label sets than that. A node graph
	// keeps the Top largest edges (Top 0: MaxEdges, at most MaxEdges) and
	// summarises the rest.
	Top int `json:"top,omitempty"`
	// Filters restrict the label sets counted; any label of the report's
	// family (see Report.Filterable). A filter on a label holding entity
	// ids (EntityTypeOf) may give a name instead (interface_id="web-1",
	// interface_id=~"web-.*"): it matches the ids that had that name over
	// the range, and a regular expression matches ids and names both
	// (docs/reports.md, Filters by name).
	Filters []Filter `json:"filters,omitempty"`
	// Format is table, time_series or, for the reports with GraphEnds,
	// node_graph.
	Format Format `json:"format,omitempty"`
	// Names joins the names of the entities whose ids the report's id
	// columns hold (Report.IDColumns): each row and series gets Names.
	// The report command and the plugin ask for them unless told not to;
	// they are not part of the query's JSON (the plugin reads its own
	// "names" field, see its models.ParseQuery).
	Names bool `json:"-"`
}

// plan is a checked query with its defaults filled in.
type plan struct {
	rep     Report
	metric  Metric
	mode    Mode
	top     int
	format  Format
	filters []Filter // the report's fixed filters, then the query's
	names   bool
}

// MaxSeries bounds the series of a time series: its Top is at most
// MaxSeries, and with Top 0 (every label set) a range with more label sets
// than MaxSeries is an error. Each series is a frame of up to MaxPoints
// values that Grafana holds and draws, so a thousand series of a thousand
// points are already 16 MB; beyond that a panel's answer outgrows what a
// browser draws, and a legend of thousands of entries is unreadable. Tables
// have no such bound: one row per label set, all of them with Top 0.
const MaxSeries = 1_000

// check validates q and fills in its defaults.
func (q Query) check() (*plan, error) {
	rep, err := Lookup(q.Report)
	if err != nil {
		return nil, err
	}
	p := &plan{rep: rep, metric: q.Metric, mode: q.Mode, top: q.Top, format: q.Format, names: q.Names}
	if p.metric == "" {
		p.metric = rep.DefaultMetric()
	}
	if !slices.Contains(rep.Metrics, p.metric) {
		return nil, fmt.Errorf("report %s: unknown metric %q; valid metrics: %s", rep.ID, q.Metric, joinMetrics(rep.Metrics))
	}
	switch p.mode {
	case "":
		p.mode = ModeTotal
	case ModeTotal, ModeRate:
	default:
		return nil, fmt.Errorf("report %s: unknown mode %q; valid modes: total, rate", rep.ID, q.Mode)
	}
	switch p.format {
	case "":
		p.format = FormatTable
	case FormatTable, FormatTimeSeries:
	case FormatNodeGraph:
		if _, _, ok := rep.GraphEnds(); !ok {
			return nil, fmt.Errorf("report %s: the node_graph format is for the reports of traffic between two ends (%s); this report has the formats table and time_series",
				rep.ID, graphReports())
		}
	default:
		return nil, fmt.Errorf("report %s: unknown format %q; valid formats: table, time_series, node_graph (%s only)", rep.ID, q.Format, graphReports())
	}
	switch {
	case p.top < 0:
		return nil, fmt.Errorf("report %s: top %d: want 0 (all rows) or more", rep.ID, q.Top)
	case p.format == FormatTimeSeries && p.top > MaxSeries:
		return nil, fmt.Errorf("report %s: top %d: a time series shows at most %d series (top 1 to %d, or 0 for all of them); the table format takes any top",
			rep.ID, q.Top, MaxSeries, MaxSeries)
	case p.format == FormatNodeGraph && p.top > MaxEdges:
		return nil, fmt.Errorf("report %s: top %d: a node graph shows at most %d edges, the rest summarised (top 1 to %d; 0 is %d); the table format takes any top",
			rep.ID, q.Top, MaxEdges, MaxEdges, MaxEdges)
	}
	p.filters = slices.Clone(rep.Filters)
	for _, f := range q.Filters {
		if err := checkFilter(rep, f); err != nil {
			return nil, err
		}
		p.filters = append(p.filters, f)
	}
	return p, nil
}

// Validate checks q: a known report, and a metric, mode, format, top and
// filters it allows. Errors list the valid choices.
func (q Query) Validate() error {
	_, err := q.check()
	return err
}

// Step returns the step of the data q reads: the longest
// schema.Family.Step of the families its rows and totals come from (a
// minute for the action and VPCs reports, which read vpcflow_total unless
// filtered on a label it lacks, and for the service reports; five minutes
// for the reports of the per-interface and address families). q's ranges
// are aligned to it (Align) and its time series have steps that are
// multiples of it (StepFor), for tables and time series alike.
func (q Query) Step() (time.Duration, error) {
	p, err := q.check()
	if err != nil {
		return 0, err
	}
	return p.step(), nil
}

func joinMetrics(ms []Metric) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// checkFilter checks that f names a label the report can filter on, a
// known operator and, for =~ and !~, a valid regular expression.
func checkFilter(rep Report, f Filter) error {
	valid := rep.Filterable()
	if !slices.Contains(valid, f.Label) {
		return fmt.Errorf("report %s: cannot filter on label %q; valid labels: %s", rep.ID, f.Label, strings.Join(valid, ", "))
	}
	switch f.Op {
	case OpEqual, OpNotEqual:
	case OpMatch, OpNotMatch:
		// VictoriaMetrics anchors the expression; check it the same way.
		if _, err := regexp.Compile("^(?:" + f.Value + ")$"); err != nil {
			return fmt.Errorf("report %s: filter on %s: bad regular expression %q: %w", rep.ID, f.Label, f.Value, err)
		}
	default:
		return fmt.Errorf("report %s: filter on %s: unknown operator %q; valid operators: =, !=, =~, !~", rep.ID, f.Label, f.Op)
	}
	return nil
}

// labelName matches a label name at the start of a string.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*`)

// ParseFilter parses a command-line filter: label=value, label!=value,
// label=~regexp or label!~regexp. The value is everything after the
// operator, taken literally (no quotes needed).
func ParseFilter(s string) (Filter, error) {
	name := labelName.FindString(s)
	if name == "" {
		return Filter{}, fmt.Errorf("filter %q: want label=value, label!=value, label=~regexp or label!~regexp", s)
	}
	rest := s[len(name):]
	for _, op := range []Op{OpMatch, OpNotMatch, OpNotEqual, OpEqual} {
		if v, ok := strings.CutPrefix(rest, string(op)); ok {
			return Filter{Label: name, Op: op, Value: v}, nil
		}
	}
	return Filter{}, fmt.Errorf("filter %q: after the label %q want =, !=, =~ or !~", s, name)
}
