package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/goccy/go-yaml"

	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/status"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/vmclient"
)

// repo is the repository root, seen from this package's folder.
const repo = "../.."

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{repo}, parts...)...)
}

func readFile(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(repoPath(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readYAML reads a YAML file of the repository into v, refusing fields v
// does not have (a typo in a key is an error).
func readYAML(t *testing.T, v any, parts ...string) {
	t.Helper()
	if err := yaml.UnmarshalWithOptions(readFile(t, parts...), v, yaml.DisallowUnknownField()); err != nil {
		t.Fatalf("%s: %v", filepath.Join(parts...), err)
	}
}

// board is a dashboard file, decoded loosely: what the tests look at.
type boardJSON struct {
	UID        string      `json:"uid"`
	Title      string      `json:"title"`
	Tags       []string    `json:"tags"`
	Panels     []panelJSON `json:"panels"`
	Templating struct {
		List []variableJSON `json:"list"`
	} `json:"templating"`
}

type panelJSON struct {
	ID              int             `json:"id"`
	Type            string          `json:"type"`
	Title           string          `json:"title"`
	Collapsed       bool            `json:"collapsed"`
	Panels          []panelJSON     `json:"panels"`
	Datasource      *dsRefJSON      `json:"datasource"`
	Targets         []targetJSON    `json:"targets"`
	Transformations []transformJSON `json:"transformations"`
	FieldConfig     struct {
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

type dsRefJSON struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// targetJSON holds the fields of both kinds of query.
type targetJSON struct {
	RefID      string     `json:"refId"`
	Datasource *dsRefJSON `json:"datasource"`
	// The VPC Flow Logs data source's query, and Prometheus' (whose
	// format is Prometheus' own: table, time_series or heatmap).
	report.Query
	Expr string `json:"expr"`
}

type transformJSON struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

type variableJSON struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Datasource *dsRefJSON      `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// allPanels returns the panels of a dashboard, those in collapsed rows
// included.
func (b boardJSON) allPanels() []panelJSON {
	var out []panelJSON
	for _, p := range b.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// committedBoards reads every dashboard file of dashboards/.
func committedBoards(t *testing.T) map[string]boardJSON {
	t.Helper()
	paths, err := filepath.Glob(repoPath("dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no dashboards in dashboards/: run go tool mage dashboards")
	}
	boards := map[string]boardJSON{}
	for _, p := range paths {
		var b boardJSON
		dec := json.NewDecoder(bytes.NewReader(readFile(t, "dashboards", filepath.Base(p))))
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

// statusMetrics returns the metric names the collector's status server
// writes, each with its label names: the real /metrics page of a collector
// with a source that stored data and an exporter.
func statusMetrics(t *testing.T) map[string][]string {
	t.Helper()
	seen := time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)
	p := &fixedProvider{
		sources: []pipeline.SourceReport{{Name: "prod", Status: pipeline.StatusEnabled, Listed: 1, NewestEnd: seen, Lag: 60}},
		exporters: []pipeline.ExporterReport{
			{Source: "prod", Account: "123456789012", Region: "us-east-1", VPC: "vpc-1", LastSeen: seen},
		},
	}
	store, err := vmclient.New(vmclient.Config{URL: "http://127.0.0.1:8428"}) // not contacted: its health is reported
	if err != nil {
		t.Fatal(err)
	}
	srv := status.New(p, "all", "test")
	srv.SetStorage(store)
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
	sources   []pipeline.SourceReport
	exporters []pipeline.ExporterReport
	stats     pipeline.Stats
}

func (f *fixedProvider) Sources() []pipeline.SourceReport     { return f.sources }
func (f *fixedProvider) Exporters() []pipeline.ExporterReport { return f.exporters }
func (f *fixedProvider) Stats() *pipeline.Stats               { return &f.stats }

// scrapeGenerated are the series VictoriaMetrics adds to each scrape
// target itself.
var scrapeGenerated = map[string][]string{"up": {"job", "instance"}}

// checkPromQL parses a PromQL (MetricsQL) expression and checks that each
// metric it selects is one the collector writes (or a scrape's own), with
// the labels it filters on, and that job filters name a scrape job.
func checkPromQL(t *testing.T, where, expr string, metrics map[string][]string, jobs []string) {
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

// scrapeConfig is deploy/victoriametrics/scrape.yml.
type scrapeConfig struct {
	ScrapeConfigs []struct {
		JobName        string `yaml:"job_name"`
		ScrapeInterval string `yaml:"scrape_interval"`
		StaticConfigs  []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

func readScrapeConfig(t *testing.T) scrapeConfig {
	t.Helper()
	var sc scrapeConfig
	readYAML(t, &sc, "deploy", "victoriametrics", "scrape.yml")
	if len(sc.ScrapeConfigs) == 0 {
		t.Fatal("scrape.yml: no scrape_configs")
	}
	return sc
}

func (sc scrapeConfig) jobs() []string {
	var jobs []string
	for _, c := range sc.ScrapeConfigs {
		jobs = append(jobs, c.JobName)
	}
	return jobs
}

// variableRefs returns the names of the variables a string refers to.
func variableRefs(s string) []string {
	var names []string
	for _, m := range regexp.MustCompile(`\$\{?(\w+)`).FindAllStringSubmatch(s, -1) {
		if !strings.HasPrefix(m[1], "__") {
			names = append(names, m[1])
		}
	}
	return names
}
