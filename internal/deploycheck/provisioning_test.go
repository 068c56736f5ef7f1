package deploycheck

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/dashboards"
	"github.com/vpcflow/vpcflow/report"
)

// datasourcesFile is provisioning/datasources/vpcflow.yaml.
type datasourcesFile struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name      string         `yaml:"name"`
		UID       string         `yaml:"uid"`
		Type      string         `yaml:"type"`
		Access    string         `yaml:"access"`
		OrgID     int            `yaml:"orgId"`
		URL       string         `yaml:"url"`
		IsDefault bool           `yaml:"isDefault"`
		Editable  bool           `yaml:"editable"`
		JSONData  map[string]any `yaml:"jsonData"`
	} `yaml:"datasources"`
}

// pluginSettings reads the jsonData fields of the plugin (FlowOptions in
// plugin/src/types.ts) and the authentication types it knows.
func pluginSettings(t *testing.T) (fields, authTypes []string) {
	t.Helper()
	src := string(ReadFile(t, "plugin", "src", "types.ts"))
	block := regexp.MustCompile(`(?s)export interface FlowOptions extends DataSourceJsonData \{(.*?)\n\}`).FindStringSubmatch(src)
	if block == nil {
		t.Fatal("plugin/src/types.ts: no FlowOptions interface")
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+(\w+)\??:`).FindAllStringSubmatch(block[1], -1) {
		fields = append(fields, m[1])
	}
	types := regexp.MustCompile(`export type AuthType = ([^;]+);`).FindStringSubmatch(src)
	if types == nil {
		t.Fatal("plugin/src/types.ts: no AuthType")
	}
	for _, m := range regexp.MustCompile(`'(\w+)'`).FindAllStringSubmatch(types[1], -1) {
		authTypes = append(authTypes, m[1])
	}
	return fields, authTypes
}

// TestPluginJSON: the plugin id and capabilities the provisioning relies on.
func TestPluginJSON(t *testing.T) {
	var p struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Alerting bool   `json:"alerting"`
		Backend  bool   `json:"backend"`
	}
	if err := json.Unmarshal(ReadFile(t, "plugin", "src", "plugin.json"), &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != dashboards.PluginType || p.Type != "datasource" || !p.Alerting || !p.Backend {
		t.Errorf("plugin.json: %+v; want id %s, a backend data source that supports alerting", p, dashboards.PluginType)
	}
}

// TestDatasources checks the provisioned data sources against the
// dashboards' references and the plugin's settings model.
func TestDatasources(t *testing.T) {
	checkDatasources(t, []string{"provisioning", "datasources", "vpcflow.yaml"}, "http://victoriametrics:8428", "", "http://victoriametrics:8428")
}

// checkDatasources checks a data sources file (path: its parts) against
// the dashboards' references and the plugin's settings model: the plugin's
// data source at flowURL with tenant, the Prometheus one at promURL.
func checkDatasources(t *testing.T, path []string, flowURL, tenant, promURL string) {
	t.Helper()
	var f datasourcesFile
	ReadYAML(t, &f, path...)
	if f.APIVersion != 1 {
		t.Errorf("apiVersion %d, want 1", f.APIVersion)
	}
	fields, authTypes := pluginSettings(t)
	scrape := ReadScrapeConfig(t)
	byUID := map[string]int{}
	defaults := 0
	for i, ds := range f.Datasources {
		if _, dup := byUID[ds.UID]; dup {
			t.Errorf("uid %q is provisioned twice", ds.UID)
		}
		byUID[ds.UID] = i
		if ds.IsDefault {
			defaults++
		}
		switch ds.UID {
		case dashboards.PluginUID:
			if ds.URL != flowURL {
				t.Errorf("%s: url %q, want the compose service %s", ds.UID, ds.URL, flowURL)
			}
			if tn, _ := ds.JSONData["tenant"].(string); tn != tenant {
				t.Errorf("%s: tenant %q, want %q", ds.UID, tn, tenant)
			}
			if ds.Type != dashboards.PluginType {
				t.Errorf("%s: type %q, want %s", ds.UID, ds.Type, dashboards.PluginType)
			}
			for k := range ds.JSONData {
				if !slices.Contains(fields, k) {
					t.Errorf("%s: jsonData.%s is not a setting of the plugin (FlowOptions: %v)", ds.UID, k, fields)
				}
			}
			if u := ds.JSONData["url"]; u != ds.URL {
				t.Errorf("%s: jsonData.url %v, want the data source url %s", ds.UID, u, ds.URL)
			}
			if a, _ := ds.JSONData["authType"].(string); !slices.Contains(authTypes, a) {
				t.Errorf("%s: authType %q, want one of %v", ds.UID, a, authTypes)
			}
		case dashboards.PrometheusUID:
			if ds.URL != promURL {
				t.Errorf("%s: url %q, want the compose service %s", ds.UID, ds.URL, promURL)
			}
			if ds.Type != dashboards.PrometheusType {
				t.Errorf("%s: type %q, want %s", ds.UID, ds.Type, dashboards.PrometheusType)
			}
			if ti := ds.JSONData["timeInterval"]; ti != scrape.ScrapeConfigs[0].ScrapeInterval {
				t.Errorf("%s: timeInterval %v, want the scrape interval %s", ds.UID, ti, scrape.ScrapeConfigs[0].ScrapeInterval)
			}
		default:
			t.Errorf("unexpected data source uid %q", ds.UID)
		}
	}
	for _, uid := range []string{dashboards.PluginUID, dashboards.PrometheusUID} {
		if _, ok := byUID[uid]; !ok {
			t.Errorf("no data source with uid %s", uid)
		}
	}
	if defaults != 1 {
		t.Errorf("%d default data sources, want 1", defaults)
	}
}

// dashboardProviders is provisioning/dashboards/vpcflow.yaml.
type dashboardProviders struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  string `yaml:"name"`
		OrgID                 int    `yaml:"orgId"`
		Type                  string `yaml:"type"`
		Folder                string `yaml:"folder"`
		FolderUID             string `yaml:"folderUid"`
		DisableDeletion       bool   `yaml:"disableDeletion"`
		AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
		Options               struct {
			Path                      string `yaml:"path"`
			FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// dashboardsPath is where Grafana reads the dashboards (the provider's
// path, and the target of the compose mount of dashboards/).
const dashboardsPath = "/var/lib/grafana/dashboards/vpcflow"

// TestDashboardProvider: a file provider of the dashboards folder into
// the "VPC Flow Logs" folder.
func TestDashboardProvider(t *testing.T) {
	var f dashboardProviders
	ReadYAML(t, &f, "provisioning", "dashboards", "vpcflow.yaml")
	if f.APIVersion != 1 || len(f.Providers) != 1 {
		t.Fatalf("apiVersion %d, %d providers; want 1 and 1", f.APIVersion, len(f.Providers))
	}
	p := f.Providers[0]
	if p.Type != "file" || p.Folder != dashboards.Folder || p.Options.Path != dashboardsPath {
		t.Errorf("provider %+v: want type file, folder %q, path %s", p, dashboards.Folder, dashboardsPath)
	}
}

// alertingFile is the file provisioning format of alert rules.
type alertingFile struct {
	APIVersion int `yaml:"apiVersion"`
	Groups     []struct {
		OrgID    int    `yaml:"orgId"`
		Name     string `yaml:"name"`
		Folder   string `yaml:"folder"`
		Interval string `yaml:"interval"`
		Rules    []alertRule
	} `yaml:"groups"`
}

type alertRule struct {
	UID          string `yaml:"uid"`
	Title        string `yaml:"title"`
	Condition    string `yaml:"condition"`
	Data         []alertQuery
	NoDataState  string            `yaml:"noDataState"`
	ExecErrState string            `yaml:"execErrState"`
	For          string            `yaml:"for"`
	DashboardUID string            `yaml:"dashboardUid"`
	PanelID      int               `yaml:"panelId"`
	Labels       map[string]string `yaml:"labels"`
	Annotations  map[string]string `yaml:"annotations"`
	IsPaused     bool              `yaml:"isPaused"`
}

type alertQuery struct {
	RefID             string `yaml:"refId"`
	QueryType         string `yaml:"queryType"`
	DatasourceUID     string `yaml:"datasourceUid"`
	RelativeTimeRange struct {
		From int `yaml:"from"`
		To   int `yaml:"to"`
	} `yaml:"relativeTimeRange"`
	Model map[string]any `yaml:"model"`
}

// exprUID is the data source uid of server-side expressions.
const exprUID = "__expr__"

// readAlertRules reads provisioning/alerting/vpcflow-rules.yaml.
func readAlertRules(t *testing.T) alertingFile {
	t.Helper()
	var f alertingFile
	ReadYAML(t, &f, "provisioning", "alerting", "vpcflow-rules.yaml")
	if f.APIVersion != 1 {
		t.Errorf("alert rules: apiVersion %d, want 1", f.APIVersion)
	}
	return f
}

// TestAlertRules checks the alert rules: folder, intervals and durations,
// unique uids, refIds consistent (unique, the condition and every
// expression's inputs defined), data sources provisioned, plugin queries
// valid for their report, Prometheus queries on the collector's metrics,
// links to existing dashboard panels.
func TestAlertRules(t *testing.T) {
	f := readAlertRules(t)
	var ds datasourcesFile
	ReadYAML(t, &ds, "provisioning", "datasources", "vpcflow.yaml")
	dsTypes := map[string]string{exprUID: exprUID}
	for _, d := range ds.Datasources {
		dsTypes[d.UID] = d.Type
	}
	boards := map[string]Board{}
	for _, b := range CommittedBoards(t) {
		boards[b.UID] = b
	}
	metrics := StatusMetrics(t)
	jobs := ReadScrapeConfig(t).Jobs()

	uids := map[string]bool{}
	var wantRules = []string{"vpcflow-rejected-per-vpc", "vpcflow-rejected-surge", "vpcflow-skipdata", "vpcflow-collector-lag", "vpcflow-collector-quarantine", "vpcflow-collector-storage", "vpcflow-collector-sync", "vpcflow-collector-overload"}
	for _, g := range f.Groups {
		if g.Folder != dashboards.Folder || g.Name == "" || g.OrgID != 1 {
			t.Errorf("group %q: folder %q org %d; want folder %q, org 1", g.Name, g.Folder, g.OrgID, dashboards.Folder)
		}
		if d, err := time.ParseDuration(g.Interval); err != nil || d < 10*time.Second {
			t.Errorf("group %s: interval %q: %v", g.Name, g.Interval, err)
		}
		for _, r := range g.Rules {
			if uids[r.UID] || r.UID == "" || len(r.UID) > 40 {
				t.Errorf("rule %q: uid missing, too long or used twice", r.UID)
			}
			uids[r.UID] = true
			checkRule(t, r, dsTypes, boards, metrics, jobs)
		}
	}
	for _, uid := range wantRules {
		if !uids[uid] {
			t.Errorf("no rule %s", uid)
		}
	}
}

// mathRef matches a refId in a math expression: $A or ${A}.
var mathRef = regexp.MustCompile(`\$\{?([A-Za-z0-9_]+)\}?`)

func checkRule(t *testing.T, r alertRule, dsTypes map[string]string, boards map[string]Board, metrics map[string][]string, jobs []string) {
	t.Helper()
	where := "rule " + r.UID
	if r.Title == "" || r.Annotations["summary"] == "" {
		t.Errorf("%s: title or summary missing", where)
	}
	if _, err := time.ParseDuration(r.For); err != nil {
		t.Errorf("%s: for %q: %v", where, r.For, err)
	}
	if !slices.Contains([]string{"OK", "NoData", "Alerting", "KeepLast"}, r.NoDataState) ||
		!slices.Contains([]string{"OK", "Error", "Alerting", "KeepLast"}, r.ExecErrState) {
		t.Errorf("%s: noDataState %q execErrState %q", where, r.NoDataState, r.ExecErrState)
	}
	refs := map[string]alertQuery{}
	for _, q := range r.Data {
		if _, dup := refs[q.RefID]; dup || q.RefID == "" {
			t.Errorf("%s: refId %q missing or used twice", where, q.RefID)
		}
		refs[q.RefID] = q
	}
	if _, ok := refs[r.Condition]; !ok {
		t.Errorf("%s: condition %q is no refId", where, r.Condition)
	} else if refs[r.Condition].DatasourceUID != exprUID {
		t.Errorf("%s: condition %q is not an expression", where, r.Condition)
	}
	for _, q := range r.Data {
		qwhere := where + " refId " + q.RefID
		if q.Model["refId"] != q.RefID {
			t.Errorf("%s: model.refId %v", qwhere, q.Model["refId"])
		}
		typ, ok := dsTypes[q.DatasourceUID]
		if !ok {
			t.Errorf("%s: data source %q is not provisioned", qwhere, q.DatasourceUID)
			continue
		}
		if m, _ := q.Model["datasource"].(map[string]any); m["uid"] != q.DatasourceUID || m["type"] != typ {
			t.Errorf("%s: model.datasource %v, want uid %s type %s", qwhere, m, q.DatasourceUID, typ)
		}
		if q.DatasourceUID != exprUID && (q.RelativeTimeRange.From <= q.RelativeTimeRange.To || q.RelativeTimeRange.To < 0) {
			t.Errorf("%s: relativeTimeRange %+v: want from > to ≥ 0 (seconds before now)", qwhere, q.RelativeTimeRange)
		}
		switch typ {
		case exprUID:
			checkExpression(t, qwhere, q, refs)
		case dashboards.PluginType:
			checkAlertFlowQuery(t, qwhere, q.Model, time.Duration(q.RelativeTimeRange.From-q.RelativeTimeRange.To)*time.Second)
		case dashboards.PrometheusType:
			expr, _ := q.Model["expr"].(string)
			CheckPromQL(t, qwhere, expr, metrics, jobs)
		default:
			t.Errorf("%s: data source type %s", qwhere, typ)
		}
	}
	b, ok := boards[r.DashboardUID]
	if !ok {
		t.Errorf("%s: dashboardUid %q: no such dashboard", where, r.DashboardUID)
		return
	}
	if !slices.ContainsFunc(b.AllPanels(), func(p Panel) bool { return p.ID == r.PanelID && p.Type != "row" }) {
		t.Errorf("%s: dashboard %s has no panel %d", where, r.DashboardUID, r.PanelID)
	}
}

// checkExpression checks a server-side expression: its type and that its
// inputs are refIds of the rule.
func checkExpression(t *testing.T, where string, q alertQuery, refs map[string]alertQuery) {
	t.Helper()
	expr, _ := q.Model["expression"].(string)
	var inputs []string
	switch typ := q.Model["type"]; typ {
	case "reduce":
		inputs = []string{expr}
		if !slices.Contains([]string{"last", "mean", "sum", "max", "min", "count"}, fmt.Sprint(q.Model["reducer"])) {
			t.Errorf("%s: reducer %v", where, q.Model["reducer"])
		}
	case "threshold":
		inputs = []string{expr}
		conds, _ := q.Model["conditions"].([]any)
		if len(conds) != 1 {
			t.Errorf("%s: %d conditions, want 1", where, len(conds))
			break
		}
		ev, _ := conds[0].(map[string]any)["evaluator"].(map[string]any)
		params, _ := ev["params"].([]any)
		if !slices.Contains([]any{"gt", "lt", "within_range", "outside_range"}, ev["type"]) || len(params) == 0 {
			t.Errorf("%s: evaluator %v", where, ev)
		}
	case "math":
		for _, m := range mathRef.FindAllStringSubmatch(expr, -1) {
			inputs = append(inputs, m[1])
		}
		if len(inputs) == 0 {
			t.Errorf("%s: math %q uses no refId", where, expr)
		}
	default:
		t.Errorf("%s: expression type %v", where, typ)
	}
	for _, in := range inputs {
		if _, ok := refs[in]; !ok || in == q.RefID {
			t.Errorf("%s: input %q is not another refId of the rule", where, in)
		}
	}
}

// checkAlertFlowQuery checks an alert rule's query of the plugin: a valid
// report query that gives one number per label set (a table), over a range
// of whole steps of the data it reads (report.Query.Step: the range is
// rounded down to it, so a shorter one holds no step, or one that is not a
// multiple holds a varying number of them).
func checkAlertFlowQuery(t *testing.T, where string, model map[string]any, span time.Duration) {
	t.Helper()
	b, err := json.Marshal(model)
	if err != nil {
		t.Fatal(err)
	}
	var q dashboards.Query
	if err := json.Unmarshal(b, &q); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if err := q.Validate(); err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if len(VariableRefs(string(b))) > 0 {
		t.Errorf("%s: alert queries cannot use dashboard variables: %s", where, b)
	}
	if q.Format != report.FormatTable {
		t.Errorf("%s: format %q, want table (one number per label set)", where, q.Format)
	}
	if step, err := q.Query.Step(); err != nil || span < step || span%step != 0 {
		t.Errorf("%s: a range of %s over data of step %s (%v): want whole steps, at least one", where, span, step, err)
	}
}

// thresholds returns each rule's threshold as written in the rules file:
// its threshold expression's first parameter, or its math expression.
func thresholds(t *testing.T, f alertingFile) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			for _, q := range r.Data {
				if q.RefID != r.Condition {
					continue
				}
				switch q.Model["type"] {
				case "math":
					out[r.UID] = fmt.Sprint(q.Model["expression"])
				case "threshold":
					conds, _ := q.Model["conditions"].([]any)
					if len(conds) > 0 {
						ev, _ := conds[0].(map[string]any)["evaluator"].(map[string]any)
						params, _ := ev["params"].([]any)
						if len(params) > 0 {
							out[r.UID] = formatNumber(params[0])
						}
					}
				}
			}
		}
	}
	return out
}

func formatNumber(v any) string {
	switch n := v.(type) {
	case uint64:
		return strconv.FormatUint(n, 10)
	case int64:
		return strconv.FormatInt(n, 10)
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// TestThresholdsDocumented: the README's table gives each rule's
// threshold, its pending period, and the value in the rules file (each
// written once there, on a line marked THRESHOLD).
func TestThresholdsDocumented(t *testing.T) {
	f := readAlertRules(t)
	readme := string(ReadFile(t, "provisioning", "alerting", "README.md"))
	rules := string(ReadFile(t, "provisioning", "alerting", "vpcflow-rules.yaml"))
	th := thresholds(t, f)
	fors := map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			fors[r.UID] = r.For
		}
	}
	if len(th) != len(fors) {
		t.Errorf("thresholds found for %v of rules %v", th, fors)
	}
	if n := strings.Count(rules, "THRESHOLD:"); n != len(fors) {
		t.Errorf("%d lines marked THRESHOLD:, want one per rule (%d)", n, len(fors))
	}
	for uid, want := range th {
		row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(uid) + "` \\|.*$").FindString(readme)
		if row == "" {
			t.Errorf("README.md: no row for rule %s", uid)
			continue
		}
		cells := strings.Split(row, "|")
		if len(cells) < 7 {
			t.Errorf("README.md: row %q: want 5 columns", row)
			continue
		}
		if got := strings.TrimSpace(cells[3]); !strings.HasPrefix(got, "`"+want+"`") {
			t.Errorf("README.md: rule %s threshold %s, the rules file says `%s`", uid, got, want)
		}
		if got := strings.TrimSpace(cells[5]); got != "`"+fors[uid]+"`" {
			t.Errorf("README.md: rule %s for %s, the rules file says `%s`", uid, got, fors[uid])
		}
	}
}

// TestRejectedRulesReadRejectedTraffic: the rejected-flow rules count what
// the Rejected traffic dashboard and the reject-reasons report call
// rejected (report.RejectedOnly: REJECT or DROP), and nothing else.
func TestRejectedRulesReadRejectedTraffic(t *testing.T) {
	want := []report.Filter{report.RejectedOnly()}
	n := 0
	for _, g := range readAlertRules(t).Groups {
		for _, r := range g.Rules {
			if !strings.HasPrefix(r.UID, "vpcflow-rejected") {
				continue
			}
			for _, q := range r.Data {
				if q.DatasourceUID == exprUID {
					continue
				}
				n++
				js, _ := json.Marshal(q.Model["filters"])
				var got []report.Filter
				if err := json.Unmarshal(js, &got); err != nil || !slices.Equal(got, want) {
					t.Errorf("rule %s query %s: filters %s, want %v", r.UID, q.RefID, js, want)
				}
			}
		}
	}
	if n != 3 {
		t.Errorf("%d queries of the rejected-flow rules, want 3", n)
	}
}
