package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/deploycheck"
	"github.com/vpcflow/vpcflow/report"
)

// TestCommittedUpToDate regenerates the dashboards in memory and compares
// them with the committed files: a change to the generator or to the
// report registry needs `go tool mage dashboards`.
func TestCommittedUpToDate(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, f.Name)
		got, err := os.ReadFile(deploycheck.RepoPath("dashboards", f.Name))
		if err != nil {
			t.Errorf("%v: run go tool mage dashboards and commit dashboards/", err)
			continue
		}
		if !bytes.Equal(got, f.JSON) {
			t.Errorf("dashboards/%s differs from the generator's output: run go tool mage dashboards and commit it", f.Name)
		}
	}
	paths, _ := filepath.Glob(deploycheck.RepoPath("dashboards", "*.json"))
	for _, p := range paths {
		if !slices.Contains(want, filepath.Base(p)) {
			t.Errorf("dashboards/%s is not generated: run go tool mage dashboards (it removes it)", filepath.Base(p))
		}
	}
}

// TestGenerateDeterministic: two runs give the same bytes (map order and
// the like do not leak into the files).
func TestGenerateDeterministic(t *testing.T) {
	a, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if !bytes.Equal(a[i].JSON, b[i].JSON) {
			t.Errorf("%s differs between two runs", a[i].Name)
		}
	}
}

// TestWrite writes into a folder holding a stale dashboard and another
// file: the stale .json goes, the rest stays.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"old.json": "{}", "README.md": "hi"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(generators) {
		t.Errorf("wrote %v, want %d files", names, len(generators))
	}
	if _, err := os.Stat(filepath.Join(dir, "old.json")); !os.IsNotExist(err) {
		t.Errorf("old.json was not removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Errorf("README.md: %v", err)
	}
}

// scrutinizer are the report types of Scrutinizer's AWS flow log
// reporting, each of which the overview must show.
var scrutinizer = []string{
	"action", "action-interface", "action-interface-dst", "action-interface-src", "availability-zones",
	"dst-service", "interface", "pair-interface", "pair-interface-action", "src-service",
	"src-service-dst-service", "traffic-path", "vpcs",
}

// TestOverviewCoversRegistry: every report of the registry, the thirteen
// Scrutinizer ones first, has a time series (rates; bytes as bits/s) and a
// top-N table (totals; bytes in IEC units) on the overview.
func TestOverviewCoversRegistry(t *testing.T) {
	boards := deploycheck.CommittedBoards(t)
	ov := boards["overview.json"]
	if ov.UID != UIDOverview || ov.Title != "VPC Flow Logs — Overview" {
		t.Fatalf("overview.json: uid %q title %q", ov.UID, ov.Title)
	}
	ids := report.IDs()
	for _, id := range scrutinizer {
		if !slices.Contains(ids, id) {
			t.Errorf("report %q is not in the registry", id)
		}
	}
	type shown struct{ series, table *deploycheck.Panel }
	byReport := map[string]*shown{}
	for _, p := range ov.AllPanels() {
		for _, q := range p.Targets {
			s := byReport[q.Report]
			if s == nil {
				s = &shown{}
				byReport[q.Report] = s
			}
			switch p.Type {
			case "timeseries":
				s.series = &p
			case "table":
				s.table = &p
			}
		}
	}
	for _, id := range ids {
		rep, _ := report.Lookup(id)
		s := byReport[id]
		if s == nil || s.series == nil || s.table == nil {
			t.Errorf("overview: report %s lacks a time series or a table", id)
			continue
		}
		ts, tb := s.series.Targets[0], s.table.Targets[0]
		if ts.Mode != report.ModeRate || ts.Format != "time_series" {
			t.Errorf("overview %s: time series query %+v, want rate time_series", id, ts)
		}
		if tb.Mode != report.ModeTotal || tb.Format != "table" {
			t.Errorf("overview %s: table query %+v, want total table", id, tb)
		}
		wantMetric := rep.DefaultMetric()
		if slices.Contains(rep.Metrics, report.MetricBytes) {
			wantMetric = report.MetricBytes
		}
		if ts.Metric != wantMetric || tb.Metric != wantMetric {
			t.Errorf("overview %s: metrics %s and %s, want %s", id, ts.Metric, tb.Metric, wantMetric)
		}
		checkUnit(t, "overview time series "+id, *s.series, units(wantMetric, report.ModeRate))
		checkUnit(t, "overview table "+id, *s.table, units(wantMetric, report.ModeTotal))
	}
	// Registry order: the Scrutinizer reports come first.
	var order []string
	for _, p := range ov.AllPanels() {
		if p.Type == "timeseries" {
			order = append(order, p.Targets[0].Report)
		}
	}
	if len(order) < len(scrutinizer) || !slices.Equal(sortedCopy(order[:len(scrutinizer)]), sortedCopy(scrutinizer)) {
		t.Errorf("overview: the first rows are %v, want the Scrutinizer reports", order)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestDashboards checks every committed dashboard: uids unique and the
// ones the alert rules and links use, panel ids unique, data sources
// provisioned, plugin queries valid for their report (metric, filter
// labels of the report's family, variables defined), byte rates turned
// into bits/s, legends from the group-by labels, tables paged, Prometheus
// queries on metrics the collector writes.
func TestDashboards(t *testing.T) {
	boards := deploycheck.CommittedBoards(t)
	metrics := deploycheck.StatusMetrics(t)
	jobs := deploycheck.ReadScrapeConfig(t).Jobs()
	uids := map[string]string{}
	wantUIDs := []string{UIDOverview, UIDVPC, UIDInterface, UIDRejected, UIDCollector, UIDMap}
	for name, b := range boards {
		if prev, dup := uids[b.UID]; dup {
			t.Errorf("%s and %s share uid %q", prev, name, b.UID)
		}
		uids[b.UID] = name
		if !slices.Contains(b.Tags, Tag) {
			t.Errorf("%s: tags %v lack %q", name, b.Tags, Tag)
		}
		vars := map[string]deploycheck.Variable{}
		for _, v := range b.Templating.List {
			vars[v.Name] = v
		}
		ids := map[int]bool{}
		for _, p := range b.AllPanels() {
			where := name + " panel " + p.Title
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("%s: id %d is missing or used twice", where, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || len(p.Targets) == 0 {
				t.Errorf("%s: no data source or no query", where)
				continue
			}
			for _, q := range p.Targets {
				ds := p.Datasource
				if q.Datasource != nil {
					ds = q.Datasource
				}
				switch *ds {
				case deploycheck.DSRef{Type: PluginType, UID: PluginUID}:
					checkFlowPanel(t, where, p, q, vars)
				case deploycheck.DSRef{Type: PrometheusType, UID: PrometheusUID}:
					deploycheck.CheckPromQL(t, where, q.Expr, metrics, jobs)
					for _, ref := range deploycheck.VariableRefs(q.Expr) {
						if _, ok := vars[ref]; !ok {
							t.Errorf("%s: %q uses $%s, which the dashboard does not define", where, q.Expr, ref)
						}
					}
				default:
					t.Errorf("%s: data source %+v is not provisioned", where, *ds)
				}
			}
		}
	}
	for _, uid := range wantUIDs {
		if _, ok := uids[uid]; !ok {
			t.Errorf("no dashboard with uid %s", uid)
		}
	}
}

// checkFlowPanel checks a panel's query of the VPC Flow Logs data source.
func checkFlowPanel(t *testing.T, where string, p deploycheck.Panel, q deploycheck.Target, vars map[string]deploycheck.Variable) {
	t.Helper()
	rep, err := report.Lookup(q.Report)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if err := (Query{Query: q.Query}).Validate(); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if !slices.Contains(rep.Metrics, q.Metric) {
		t.Errorf("%s: report %s does not count %q", where, rep.ID, q.Metric)
	}
	for _, f := range q.Filters {
		if !slices.Contains(rep.Filterable(), f.Label) {
			t.Errorf("%s: report %s (family %s) has no label %q", where, rep.ID, rep.FamilyDef().Name, f.Label)
		}
		for _, ref := range deploycheck.VariableRefs(f.Value) {
			v, ok := vars[ref]
			switch {
			case !ok:
				t.Errorf("%s: filter %s uses $%s, which the dashboard does not define", where, f, ref)
			case v.IncludeAll && f.Op != report.OpMatch:
				t.Errorf("%s: filter %s on a variable whose All is %q must use =~", where, f, v.AllValue)
			}
		}
	}
	graph := q.Format == report.FormatNodeGraph
	if _, _, ok := rep.GraphEnds(); graph && !ok {
		t.Errorf("%s: a node graph of report %s, which has no two ends", where, rep.ID)
	}
	switch {
	case p.Type == "nodeGraph":
		if !graph || q.Mode != report.ModeTotal {
			t.Errorf("%s: node graph of a %s %s query", where, q.Mode, q.Format)
		}
	case p.Type == "table" && graph:
		checkGraphTable(t, where, p, q)
	case p.Type == "timeseries":
		bits := slices.ContainsFunc(p.Transformations, isBitsTransformation)
		if wantBits := q.Metric == report.MetricBytes && q.Mode == report.ModeRate; bits != wantBits {
			t.Errorf("%s: bits transformation %v, want %v", where, bits, wantBits)
		}
		checkUnit(t, where, p, units(q.Metric, q.Mode))
		// The minimum interval is the data's step: five minutes for the
		// five-minute families, whose points the plugin gives every five
		// minutes (or a multiple) anyway.
		if step, err := (Query{Query: q.Query}).Step(); err != nil || p.Interval != strconv.Itoa(int(step/time.Minute))+"m" {
			t.Errorf("%s: interval %q, want the data's step %s (%v)", where, p.Interval, step, err)
		}
		// Legends are the plugin's display names, built from the labels.
		if dn := p.FieldConfig.Defaults.DisplayName; dn != "" {
			t.Errorf("%s: display name %q hides the plugin's names from labels", where, dn)
		}
	case p.Type == "table":
		if q.Format != "table" || q.Mode != report.ModeTotal {
			t.Errorf("%s: table of a %s %s query", where, q.Mode, q.Format)
		}
		checkUnit(t, where, p, units(q.Metric, q.Mode))
		// Paged, so that the table stays usable when edited to show every
		// row: Grafana 12's switch and Grafana 11's.
		var opts struct {
			EnablePagination bool `json:"enablePagination"`
			Footer           struct {
				EnablePagination bool `json:"enablePagination"`
			} `json:"footer"`
		}
		if err := json.Unmarshal(p.Options, &opts); err != nil || !opts.EnablePagination || !opts.Footer.EnablePagination {
			t.Errorf("%s: options %s (%v), want enablePagination and footer.enablePagination true", where, p.Options, err)
		}
		for _, o := range p.FieldConfig.Overrides {
			if name, _ := o.Matcher.Options.(string); o.Matcher.ID == "byName" && !slices.Contains(rep.Columns(), name) {
				t.Errorf("%s: override for column %q, which report %s does not have", where, name, rep.ID)
			}
		}
	default:
		t.Errorf("%s: unexpected panel type %s", where, p.Type)
	}
}

// checkGraphTable checks a table of a node graph's edges: a total query,
// the first frame shown (the plugin answers the edges frame first), paged,
// and its overrides, organised columns and units on the edges frame's
// fields (plugin/pkg/plugin's TestNetworkMapPanels checks them against
// the frames the plugin sends): the value in its table unit, the rejected
// share in percent.
func checkGraphTable(t *testing.T, where string, p deploycheck.Panel, q deploycheck.Target) {
	t.Helper()
	if q.Mode != report.ModeTotal {
		t.Errorf("%s: a table of a %s node graph", where, q.Mode)
	}
	var opts struct {
		FrameIndex       *float64 `json:"frameIndex"`
		EnablePagination bool     `json:"enablePagination"`
	}
	if err := json.Unmarshal(p.Options, &opts); err != nil || opts.FrameIndex == nil || *opts.FrameIndex != 0 || !opts.EnablePagination {
		t.Errorf("%s: options %s (%v), want frameIndex 0 (the edges) and pagination", where, p.Options, err)
	}
	got := map[string]string{}
	for _, o := range p.FieldConfig.Overrides {
		name, _ := o.Matcher.Options.(string)
		for _, prop := range o.Properties {
			if o.Matcher.ID == "byName" && prop.ID == "unit" {
				var u string
				_ = json.Unmarshal(prop.Value, &u)
				got[name] = u
			}
		}
	}
	if want := map[string]string{string(q.Metric): units(q.Metric, q.Mode), graphRejectedField: "percentunit"}; !reflect.DeepEqual(got, want) {
		t.Errorf("%s: units %v, want %v", where, got, want)
	}
	if len(p.Transformations) != 1 || p.Transformations[0].ID != "organize" {
		t.Errorf("%s: transformations %+v, want organize", where, p.Transformations)
	}
}

// TestNetworkMap: the Network map dashboard shows the traffic between
// interfaces as a node graph of the pair report (the plugin's node_graph
// format, the top 50 edges over the time range), narrowed by the VPC and
// action variables (with account and region before them), and its edges
// as a table of the very same query.
func TestNetworkMap(t *testing.T) {
	b, ok := deploycheck.CommittedBoards(t)["network-map.json"]
	if !ok || b.UID != UIDMap || b.Title != "Network map" || UIDMap != "vpcflow-network-map" {
		t.Fatalf("network-map.json: %v, uid %q title %q", ok, b.UID, b.Title)
	}
	var names []string
	for _, v := range b.Templating.List {
		names = append(names, v.Name)
	}
	if want := []string{"account", "region", "vpc", "action"}; !slices.Equal(names, want) {
		t.Errorf("variables %v, want %v", names, want)
	}
	var graphs, tables []deploycheck.Panel
	for _, p := range b.AllPanels() {
		switch p.Type {
		case "nodeGraph":
			graphs = append(graphs, p)
		case "table":
			tables = append(tables, p)
		}
	}
	if len(graphs) != 1 || len(tables) != 1 || len(graphs[0].Targets) != 1 || len(tables[0].Targets) != 1 {
		t.Fatalf("%d node graphs and %d tables, want one each with one query", len(graphs), len(tables))
	}
	q := graphs[0].Targets[0]
	if q.Report != report.ReportPairInterface || q.Format != report.FormatNodeGraph || q.Mode != report.ModeTotal ||
		q.Metric != report.MetricBytes || q.Top != graphTop {
		t.Errorf("node graph query %+v", q.Query)
	}
	if err := (Query{Query: q.Query}).Validate(); err != nil {
		t.Errorf("node graph query: %v", err)
	}
	for _, v := range []string{"vpc", "action", "account", "region"} {
		if !slices.ContainsFunc(q.Filters, func(f report.Filter) bool { return f.Value == "$"+v && f.Op == report.OpMatch }) {
			t.Errorf("node graph query %v does not use $%s", q.Filters, v)
		}
	}
	if !reflect.DeepEqual(tables[0].Targets[0].Query, q.Query) {
		t.Errorf("the table's query %+v is not the node graph's %+v", tables[0].Targets[0].Query, q.Query)
	}
}

// checkUnit: the panel's unit is the default and, since the plugin sets
// each field's own unit (which wins over the default), an override of
// every number field.
func checkUnit(t *testing.T, where string, p deploycheck.Panel, want string) {
	t.Helper()
	if u := p.FieldConfig.Defaults.Unit; u != want {
		t.Errorf("%s: unit %q, want %q", where, u, want)
	}
	for _, o := range p.FieldConfig.Overrides {
		if o.Matcher.ID != "byType" || o.Matcher.Options != "number" {
			continue
		}
		for _, prop := range o.Properties {
			if prop.ID == "unit" && string(prop.Value) == `"`+want+`"` {
				return
			}
		}
	}
	t.Errorf("%s: no override of the number fields' unit to %q", where, want)
}

func isBitsTransformation(tr deploycheck.Transform) bool {
	b, _ := json.Marshal(tr.Options)
	return tr.ID == "calculateField" &&
		string(b) == `{"binary":{"left":{"matcher":{"id":"byType","options":"number"}},"operator":"*","right":{"fixed":"8"}},"mode":"binary","replaceFields":true}`
}

// TestVariables checks the dashboards' variables: plugin variable queries
// name a report and a label it has, their filters refer to variables
// defined before them, and multi-value variables have an All of .*.
func TestVariables(t *testing.T) {
	for name, b := range deploycheck.CommittedBoards(t) {
		var before []string
		for _, v := range b.Templating.List {
			where := name + " variable " + v.Name
			if v.Type != "query" || v.Datasource == nil {
				t.Errorf("%s: type %s, data source %v", where, v.Type, v.Datasource)
				continue
			}
			if v.Multi != v.IncludeAll || (v.IncludeAll && v.AllValue != allValue) {
				t.Errorf("%s: multi %v includeAll %v allValue %q", where, v.Multi, v.IncludeAll, v.AllValue)
			}
			switch *v.Datasource {
			case deploycheck.DSRef{Type: PluginType, UID: PluginUID}:
				var q VariableQuery
				if err := json.Unmarshal(v.Query, &q); err != nil {
					t.Errorf("%s: query: %v", where, err)
					continue
				}
				rep, err := report.Lookup(q.Report)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if !slices.Contains(rep.Filterable(), q.Label) {
					t.Errorf("%s: report %s has no label %q", where, rep.ID, q.Label)
				}
				if err := (Query{Query: report.Query{Report: q.Report, Top: 1, Filters: q.Filters}}).Validate(); err != nil {
					t.Errorf("%s: %v", where, err)
				}
				for _, f := range q.Filters {
					for _, ref := range deploycheck.VariableRefs(f.Value) {
						if !slices.Contains(before, ref) {
							t.Errorf("%s: filter %s refers to $%s, not defined before it", where, f, ref)
						}
					}
				}
			case deploycheck.DSRef{Type: PrometheusType, UID: PrometheusUID}:
				var q string
				if err := json.Unmarshal(v.Query, &q); err != nil || !strings.HasPrefix(q, "label_values(") {
					t.Errorf("%s: query %s: want label_values(…)", where, v.Query)
				}
			default:
				t.Errorf("%s: data source %+v is not provisioned", where, *v.Datasource)
			}
			before = append(before, v.Name)
		}
	}
}

// TestUnits: what people expect to read.
func TestUnits(t *testing.T) {
	f := func(m report.Metric, mode report.Mode, want string) {
		t.Helper()
		if got := units(m, mode); got != want {
			t.Errorf("units(%s, %s) = %q, want %q", m, mode, got, want)
		}
	}
	f(report.MetricBytes, report.ModeRate, "bps")
	f(report.MetricBytes, report.ModeTotal, "bytes")
	f(report.MetricPackets, report.ModeRate, "pps")
	f(report.MetricPackets, report.ModeTotal, "count:packets")
	f(report.MetricFlows, report.ModeRate, "count:flows/s")
	f(report.MetricFlows, report.ModeTotal, "count:flows")
	f(report.MetricRecords, report.ModeTotal, "count:records")
}

// TestQueryValidate: the checks a generated query goes through.
func TestQueryValidate(t *testing.T) {
	f := func(q Query, ok bool) {
		t.Helper()
		if err := q.Validate(); (err == nil) != ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", q, err, ok)
		}
	}
	vpc := report.Filter{Label: "vpc_id", Op: report.OpMatch, Value: "$vpc"}
	f(Query{Query: report.Query{Report: "vpcs", Metric: "bytes", Mode: "rate", Top: 10, Format: "time_series"}}, true)
	f(Query{Query: report.Query{Report: "vpcs", Metric: "flows", Mode: "total", Top: 1, Filters: []report.Filter{vpc}, Format: "table"}}, true)
	f(Query{Query: report.Query{Report: "log-status", Metric: "records", Top: 5, Filters: []report.Filter{{Label: "log_status", Op: "=", Value: "SKIPDATA"}}}}, true)
	f(Query{Query: report.Query{Report: "pair-interface", Top: 5, Filters: []report.Filter{{Label: "src_interface", Op: "=", Value: "${interface}"}}}}, true)
	f(Query{Query: report.Query{Report: "no-such-report", Top: 10}}, false)
	f(Query{Query: report.Query{Report: "log-status", Metric: "bytes", Top: 10}}, false)
	f(Query{Query: report.Query{Report: "vpcs", Top: 0}}, false)
	f(Query{Query: report.Query{Report: "dst-service", Top: 10, Filters: []report.Filter{{Label: "interface_id", Op: "=~", Value: "$interface"}}}}, false)
	f(Query{Query: report.Query{Report: "vpcs", Top: 10, Filters: []report.Filter{{Label: "vpc_id", Op: "~", Value: "x"}}}}, false)
}

// TestGenerateFailsOnBadQuery: a query the report engine would refuse
// fails the generation instead of landing in a dashboard.
func TestGenerateFailsOnBadQuery(t *testing.T) {
	b := newBoard("test", "test")
	b.useVariables(varInterface)
	b.series(flow{report: report.ReportDstService, filters: []report.Filter{{Label: "no_such_label", Op: "=", Value: "x"}}})
	if _, err := b.d.Build(); err == nil {
		t.Error("a filter on an unknown label was accepted")
	}
	b = newBoard("test", "test")
	b.table(flow{report: "no-such-report"})
	if _, err := b.d.Build(); err == nil {
		t.Error("an unknown report was accepted")
	}
}

// TestVariableFilters: a variable narrows exactly the reports that have
// its label; the others say so in their description.
func TestVariableFilters(t *testing.T) {
	f := func(v variable, reportID string, want bool) {
		t.Helper()
		rep, err := report.Lookup(reportID)
		if err != nil {
			t.Fatal(err)
		}
		flt, ok := v.filter(rep)
		if ok != want {
			t.Errorf("%s on %s: %v, want %v", v.name, reportID, ok, want)
		}
		if ok && (flt.Label != v.label || flt.Value != "$"+v.name || flt.Op != v.op()) {
			t.Errorf("%s on %s: filter %s", v.name, reportID, flt)
		}
	}
	f(varInterface, report.ReportAction, true)
	f(varInterface, report.ReportSrcService, false)
	f(varInterface, report.ReportPairInterface, false)
	f(varAction, report.ReportLogStatus, false)
	f(varAction, report.ReportExporters, false)
	f(varVPC, report.ReportExporters, true)
	f(varVPC.asSingle(), report.ReportVPCs, true)
	if varVPC.asSingle().op() != report.OpEqual || varVPC.op() != report.OpMatch {
		t.Error("single variables filter with =, multi-value ones with =~")
	}
}
