package models_test

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/plugin/pkg/models"
	"github.com/vpcflow/vpcflow/report"
)

// TestFrontendQueryModel checks that the frontend's copy of the query
// model (plugin/src/types.ts, which TypeScript needs) matches the Go one:
// FlowQuery's fields are report.Query's JSON fields, Filter's are
// report.Filter's, the Metric, Mode, Format and FilterOp types list the
// values the report engine takes, DEFAULT_QUERY holds the defaults
// ParseQuery fills in, MAX_SERIES is report.MaxSeries, MAX_EDGES
// report.MaxEdges and NODE_GRAPH_REPORTS the reports with GraphEnds.
func TestFrontendQueryModel(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "src", "types.ts"))
	if err != nil {
		t.Fatal(err)
	}
	ts := string(src)
	block := func(re string) string {
		t.Helper()
		m := regexp.MustCompile(`(?s)` + re + `\s*\{\n(.*?)\n\}`).FindStringSubmatch(ts)
		if m == nil {
			t.Fatalf("types.ts has no %s", re)
		}
		return m[1]
	}
	fieldsOf := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`(?m)^  (\w+)\??:`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	jsonFields := func(v any) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if name != "-" { // not in the JSON (report.Query.Names)
				out = append(out, name)
			}
		}
		return out
	}
	if got, want := fieldsOf(block(`export interface FlowQuery extends DataQuery`)), jsonFields(report.Query{}); !slices.Equal(got, want) {
		t.Errorf("FlowQuery fields %q, want report.Query's %q", got, want)
	}
	if got, want := fieldsOf(block(`export interface Filter`)), jsonFields(report.Filter{}); !slices.Equal(got, want) {
		t.Errorf("Filter fields %q, want report.Filter's %q", got, want)
	}

	union := func(name string) []string {
		t.Helper()
		m := regexp.MustCompile(`export type ` + name + ` = ([^;]+);`).FindStringSubmatch(ts)
		if m == nil {
			t.Fatalf("types.ts has no type %s", name)
		}
		var out []string
		for _, v := range strings.Split(m[1], "|") {
			out = append(out, strings.Trim(strings.TrimSpace(v), "'"))
		}
		return out
	}
	for _, c := range []struct {
		name string
		want []string
	}{
		{"Metric", []string{string(report.MetricBytes), string(report.MetricPackets), string(report.MetricFlows), string(report.MetricRecords)}},
		{"Mode", []string{string(report.ModeTotal), string(report.ModeRate)}},
		{"Format", []string{string(report.FormatTimeSeries), string(report.FormatTable), string(report.FormatNodeGraph)}},
		{"FilterOp", []string{string(report.OpEqual), string(report.OpNotEqual), string(report.OpMatch), string(report.OpNotMatch)}},
	} {
		if got := union(c.name); !slices.Equal(got, c.want) {
			t.Errorf("type %s = %q, want %q", c.name, got, c.want)
		}
	}

	defaults := map[string]string{}
	m := regexp.MustCompile(`(?s)export const DEFAULT_QUERY = \{\n(.*?)\n\}`).FindStringSubmatch(ts)
	if m == nil {
		t.Fatal("types.ts has no DEFAULT_QUERY")
	}
	for _, line := range strings.Split(m[1], "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if ok {
			defaults[k] = strings.Trim(strings.TrimSuffix(v, ","), "'")
		}
	}
	rep, err := report.Lookup(models.DefaultReport)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"report": models.DefaultReport, "metric": string(rep.DefaultMetric()), "mode": string(models.DefaultMode),
		"top": strconv.Itoa(models.DefaultTop), "filters": "[]", "format": string(models.DefaultFormat),
	}
	if !reflect.DeepEqual(defaults, want) {
		t.Errorf("DEFAULT_QUERY = %v, want %v", defaults, want)
	}

	// The editor's bound of a time series' top is the engine's.
	m = regexp.MustCompile(`export const MAX_SERIES = ([0-9_]+);`).FindStringSubmatch(ts)
	if m == nil {
		t.Fatal("types.ts has no MAX_SERIES")
	}
	if n, err := strconv.Atoi(strings.ReplaceAll(m[1], "_", "")); err != nil || n != report.MaxSeries {
		t.Errorf("MAX_SERIES = %s, want report.MaxSeries, %d", m[1], report.MaxSeries)
	}

	// A node graph's bound of edges, and the reports with one.
	m = regexp.MustCompile(`export const MAX_EDGES = ([0-9_]+);`).FindStringSubmatch(ts)
	if m == nil {
		t.Fatal("types.ts has no MAX_EDGES")
	}
	if n, err := strconv.Atoi(strings.ReplaceAll(m[1], "_", "")); err != nil || n != report.MaxEdges {
		t.Errorf("MAX_EDGES = %s, want report.MaxEdges, %d", m[1], report.MaxEdges)
	}
	m = regexp.MustCompile(`export const NODE_GRAPH_REPORTS: readonly string\[\] = \[([^\]]*)\];`).FindStringSubmatch(ts)
	if m == nil {
		t.Fatal("types.ts has no NODE_GRAPH_REPORTS")
	}
	var graphs, wantGraphs []string
	for _, v := range strings.Split(m[1], ",") {
		graphs = append(graphs, strings.Trim(strings.TrimSpace(v), "'"))
	}
	for _, r := range report.Reports() {
		if _, _, ok := r.GraphEnds(); ok {
			wantGraphs = append(wantGraphs, r.ID)
		}
	}
	if !slices.Equal(graphs, wantGraphs) {
		t.Errorf("NODE_GRAPH_REPORTS = %q, want the reports with GraphEnds, %q", graphs, wantGraphs)
	}
}
