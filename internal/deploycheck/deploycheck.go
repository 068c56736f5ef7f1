// Package deploycheck checks the files that deploy vpcflow against the
// code: docker-compose.yml and the collector's Dockerfile, the Grafana
// provisioning (data sources, dashboard provider, alert rules), the
// committed dashboards and the VictoriaMetrics scrape configuration. Its
// tests are those checks; its exported helpers read the repository's
// files and check PromQL against the collector's own /metrics, for them
// and for the dashboards generator's tests (internal/dashboards).
package deploycheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/goccy/go-yaml"

	"github.com/vpcflow/vpcflow/collector/entitysync"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/collector/status"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/vmclient"
)

// repoRoot is the repository root: the first folder holding go.mod from
// the working folder (a test's package folder) up, or the working folder
// when there is none (reading the repository's files then fails, naming
// them).
var repoRoot = sync.OnceValue(func() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			return wd
		}
	}
})

// RepoPath returns the path of a file of the repository, given as the
// parts of its path from the repository root.
func RepoPath(parts ...string) string {
	return filepath.Join(append([]string{repoRoot()}, parts...)...)
}

// ReadFile returns the content of a file of the repository (see RepoPath).
// It fails the test on error.
func ReadFile(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(RepoPath(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReadYAML reads a YAML file of the repository into v, refusing fields v
// does not have (a typo in a key is an error). It fails the test on error.
func ReadYAML(t testing.TB, v any, parts ...string) {
	t.Helper()
	if err := yaml.UnmarshalWithOptions(ReadFile(t, parts...), v, yaml.DisallowUnknownField()); err != nil {
		t.Fatalf("%s: %v", filepath.Join(parts...), err)
	}
}

// Board is a dashboard file, decoded loosely: what the checks look at.
type Board struct {
	UID        string   `json:"uid"`
	Title      string   `json:"title"`
	Tags       []string `json:"tags"`
	Panels     []Panel  `json:"panels"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is a dashboard's panel, or a row with the panels it holds.
type Panel struct {
	ID              int         `json:"id"`
	Type            string      `json:"type"`
	Title           string      `json:"title"`
	Collapsed       bool        `json:"collapsed"`
	Panels          []Panel     `json:"panels"`
	Datasource      *DSRef      `json:"datasource"`
	Interval        string      `json:"interval"`
	Targets         []Target    `json:"targets"`
	Transformations []Transform `json:"transformations"`
	// Options are the panel's options, as they are: each type has its own.
	Options     json.RawMessage `json:"options"`
	FieldConfig struct {
		Defaults struct {
			Unit        string `json:"unit"`
			DisplayName string `json:"displayName"`
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options any    `json:"options"`
			} `json:"matcher"`
			Properties []struct {
				ID    string          `json:"id"`
				Value json.RawMessage `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
}

// DSRef is a reference to a data source.
type DSRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is a panel's query: it holds the fields of both kinds, the VPC
// Flow Logs data source's (report.Query, as the plugin reads it) and
// Prometheus' (whose format is Prometheus' own: table, time_series or
// heatmap).
type Target struct {
	RefID      string `json:"refId"`
	Datasource *DSRef `json:"datasource"`
	report.Query
	Expr string `json:"expr"`
}

// Transform is a panel's transformation.
type Transform struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

// Variable is a dashboard's template variable.
type Variable struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Datasource *DSRef          `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// AllPanels returns the panels of a dashboard, those in collapsed rows
// included.
func (b Board) AllPanels() []Panel {
	var out []Panel
	for _, p := range b.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// CommittedBoards reads every dashboard file of dashboards/, by file name.
// It fails the test on error.
func CommittedBoards(t testing.TB) map[string]Board {
	t.Helper()
	paths, err := filepath.Glob(RepoPath("dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no dashboards in dashboards/: run go tool mage dashboards")
	}
	boards := map[string]Board{}
	for _, p := range paths {
		var b Board
		dec := json.NewDecoder(bytes.NewReader(ReadFile(t, "dashboards", filepath.Base(p))))
		if err := dec.Decode(&b); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		boards[filepath.Base(p)] = b
	}
	return boards
}

// grafanaVars replaces Grafana's variables in a PromQL expression by
// values that parse: intervals by a duration, anything else by a regular
// expression.
func grafanaVars(expr string) string {
	for _, v := range []string{"$__rate_interval", "$__interval", "$__range"} {
		expr = strings.ReplaceAll(expr, v, "5m")
	}
	return regexp.MustCompile(`\$\w+`).ReplaceAllString(expr, ".*")
}

// StatusMetrics returns the metric names the collector's status server
// writes, each with its label names: the real /metrics page of a collector
// with a source that stored data and an exporter.
func StatusMetrics(t testing.TB) map[string][]string {
	t.Helper()
	seen := time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)
	p := &fixedProvider{
		sources: []sourcestate.Report{{Name: "prod", Status: sourcestate.StatusEnabled, Listed: 1, NewestEnd: seen, Lag: 60}},
		exporters: []sourcestate.ExporterReport{
			{Source: "prod", Account: "123456789012", Region: "us-east-1", VPC: "vpc-1", LastSeen: seen, Status: sourcestate.StatusEnabled},
		},
	}
	store, err := vmclient.New(vmclient.Config{URL: "http://127.0.0.1:8428"}) // not contacted: its health is reported
	if err != nil {
		t.Fatal(err)
	}
	srv := status.New(p, "all", "test")
	srv.SetStorage(store)
	// The entity sync's, as run adds them: an account·region synced, one
	// failing.
	syncs := entitysync.NewStatus()
	syncs.Record(entitysync.Outcome{Target: entitysync.Target{Account: "123456789012", Region: "us-east-1"}, Start: seen, Duration: time.Second, Series: 1})
	syncs.Record(entitysync.Outcome{Target: entitysync.Target{Account: "123456789012", Region: "eu-west-1"}, Start: seen, Duration: time.Second,
		Err: errors.New("denied")})
	srv.AddMetrics(syncs)
	var buf bytes.Buffer
	srv.WriteMetrics(&buf)
	labelName := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)
	out := map[string][]string{}
	for _, line := range strings.Split(buf.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		labels := out[name]
		if rest != "" {
			for _, m := range labelName.FindAllStringSubmatch(rest, -1) {
				if !slices.Contains(labels, m[1]) {
					labels = append(labels, m[1])
				}
			}
		}
		out[name] = labels
	}
	if len(out) == 0 {
		t.Fatal("the status server wrote no metric")
	}
	return out
}

type fixedProvider struct {
	sources   []sourcestate.Report
	exporters []sourcestate.ExporterReport
	stats     sourcestate.Totals
}

func (f *fixedProvider) Sources() []sourcestate.Report           { return f.sources }
func (f *fixedProvider) Exporters() []sourcestate.ExporterReport { return f.exporters }
func (f *fixedProvider) Stats() *sourcestate.Totals              { return &f.stats }

// scrapeGenerated are the series VictoriaMetrics adds to each scrape
// target itself.
var scrapeGenerated = map[string][]string{"up": {"job", "instance"}}

// CheckPromQL parses a PromQL (MetricsQL) expression and checks that each
// metric it selects is one of metrics (as StatusMetrics returns them) or a
// scrape's own, with the labels it filters on, and that job filters name
// one of jobs. where names the expression in errors.
func CheckPromQL(t testing.TB, where, expr string, metrics map[string][]string, jobs []string) {
	t.Helper()
	e, err := metricsql.Parse(grafanaVars(expr))
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, expr, err)
		return
	}
	selectors := 0
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		me, ok := x.(*metricsql.MetricExpr)
		if !ok {
			return
		}
		for _, lfs := range me.LabelFilterss {
			name := ""
			for _, lf := range lfs {
				if lf.Label == "__name__" {
					name = lf.Value
				}
			}
			labels, known := metrics[name]
			if !known {
				labels, known = scrapeGenerated[name]
			}
			if !known {
				t.Errorf("%s: %q reads metric %q, which the collector's /metrics does not have", where, expr, name)
				continue
			}
			selectors++
			for _, lf := range lfs {
				switch {
				case lf.Label == "__name__":
				case !slices.Contains(labels, lf.Label):
					t.Errorf("%s: %q filters %s on label %q; it has %v", where, expr, name, lf.Label, labels)
				case lf.Label == "job" && !slices.Contains(jobs, lf.Value):
					t.Errorf("%s: %q wants job %q; the scrape config has %v", where, expr, lf.Value, jobs)
				}
			}
		}
	})
	if selectors == 0 {
		t.Errorf("%s: %q selects no metric", where, expr)
	}
}

// ScrapeConfig is deploy/victoriametrics/scrape.yml: what VictoriaMetrics
// scrapes in the compose stack.
type ScrapeConfig struct {
	ScrapeConfigs []struct {
		JobName        string `yaml:"job_name"`
		ScrapeInterval string `yaml:"scrape_interval"`
		StaticConfigs  []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// ReadScrapeConfig reads deploy/victoriametrics/scrape.yml. It fails the
// test on error, or when it scrapes nothing.
func ReadScrapeConfig(t testing.TB) ScrapeConfig {
	t.Helper()
	var sc ScrapeConfig
	ReadYAML(t, &sc, "deploy", "victoriametrics", "scrape.yml")
	if len(sc.ScrapeConfigs) == 0 {
		t.Fatal("scrape.yml: no scrape_configs")
	}
	return sc
}

// Jobs returns the scrape jobs' names.
func (sc ScrapeConfig) Jobs() []string {
	var jobs []string
	for _, c := range sc.ScrapeConfigs {
		jobs = append(jobs, c.JobName)
	}
	return jobs
}

// VariableRefs returns the names of the Grafana variables a string refers
// to ($name or ${name}), Grafana's own ($__interval) excepted.
func VariableRefs(s string) []string {
	var names []string
	for _, m := range regexp.MustCompile(`\$\{?(\w+)`).FindAllStringSubmatch(s, -1) {
		if !strings.HasPrefix(m[1], "__") {
			names = append(names, m[1])
		}
	}
	return names
}
