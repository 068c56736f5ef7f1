package plugin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
)

// TestReportsResource checks GET reports: the whole registry, in its
// order, with the fields the frontend reads.
func TestReportsResource(t *testing.T) {
	h := serve(t)
	// The registry does not need VictoriaMetrics, nor valid settings.
	for _, pc := range []map[string]any{{"url": "http://127.0.0.1:1"}, {}} {
		status, body := h.resource(h.dataSource(pc, nil), http.MethodGet, "reports")
		if status != http.StatusOK {
			t.Fatalf("GET reports: %d %s", status, body)
		}
		var got []plugin.ReportInfo
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
			rep, err := report.Lookup(r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Title != rep.Title || r.Description == "" || r.Family != rep.FamilyDef().Name || !slices.Equal(r.GroupBy, rep.GroupBy) ||
				!slices.Equal(r.Labels, rep.Filterable()) || !slices.Equal(r.Metrics, rep.Metrics) {
				t.Errorf("report %s: %+v", r.ID, r)
			}
		}
		if !slices.Equal(ids, report.IDs()) {
			t.Errorf("ids %q, want %q", ids, report.IDs())
		}
	}
	// Two entries as the frontend's fixtures expect them.
	_, body := h.resource(h.dataSource(map[string]any{}, nil), http.MethodGet, "reports")
	var raw []map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, r := range raw {
		switch r["id"] {
		case "log-status":
			js, _ := json.Marshal(r)
			if want := `"family":"vpcflow_status_records","groupBy":["log_status"],"id":"log-status","labels":["account_id","region","vpc_id","interface_id","log_status"],"metrics":["records"],"title":"Log Status"`; !strings.Contains(string(js), want) {
				t.Errorf("log-status: %s, want %s", js, want)
			}
		case "action":
			js, _ := json.Marshal(r)
			if want := `"family":"vpcflow_interface","groupBy":["action"],"id":"action","labels":["account_id","region","vpc_id","subnet_id","az_id","interface_id","instance_id","action","flow_direction","traffic_path","reject_reason"],"metrics":["bytes","packets","flows"],"title":"Action"`; !strings.Contains(string(js), want) {
				t.Errorf("action: %s, want %s", js, want)
			}
		}
	}
}

// displayNamesFixture is the frontend tests' copy of the display-names
// resource's answer (rewrite it with -update).
var displayNamesFixture = filepath.Join("..", "..", "testdata", "displayNames.json")

// TestDisplayNamesResource checks GET display-names: the names of the
// schema's table for every label that has any, and the names of the
// absent and folded values, as JSON the frontend reads; its tests'
// fixture is the same answer.
func TestDisplayNamesResource(t *testing.T) {
	h := serve(t)
	want := plugin.DisplayNames{
		Values: map[string]map[string]string{},
		Absent: plugin.SpecialValue{Value: "-", Name: "absent"},
		Other:  plugin.SpecialValue{Value: "other", Name: "everything outside the top K"},
	}
	for _, v := range schema.AllValueNames() {
		want.Values[v.Label] = v.Names
	}
	var body []byte
	// The names do not need VictoriaMetrics, nor valid settings.
	for _, pc := range []map[string]any{{"url": "http://127.0.0.1:1"}, {}} {
		var status int
		status, body = h.resource(h.dataSource(pc, nil), http.MethodGet, "display-names")
		if status != http.StatusOK {
			t.Fatalf("GET display-names: %d %s", status, body)
		}
		var got plugin.DisplayNames
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GET display-names = %+v\nwant %+v", got, want)
		}
	}
	for _, part := range []string{
		`{"values":{"action":{"ACCEPT":"Accepted","DROP":"Dropped","REJECT":"Rejected"},`,
		`"protocol":{"1":"ICMP","132":"SCTP","17":"UDP","47":"GRE","50":"ESP","51":"AH","58":"ICMPv6","6":"TCP"}`,
		`"traffic_path":{"1":"Another resource in the same VPC",`,
		`"flow_direction":{"egress":"Egress","ingress":"Ingress"}`,
		`"reject_reason":{"BPA":"Block Public Access"}`,
		`"absent":{"value":"-","name":"absent"},"other":{"value":"other","name":"everything outside the top K"}}`,
	} {
		if !bytes.Contains(body, []byte(part)) {
			t.Errorf("GET display-names: %s\nwant it to hold %s", body, part)
		}
	}
	if status, body := h.resource(h.dataSource(map[string]any{}, nil), http.MethodPost, "display-names"); status != http.StatusMethodNotAllowed {
		t.Errorf("POST display-names: %d %s", status, body)
	}

	var indented bytes.Buffer
	if err := json.Indent(&indented, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	indented.WriteString("\n")
	if *update {
		if err := os.WriteFile(displayNamesFixture, indented.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fixture, err := os.ReadFile(displayNamesFixture)
	if err != nil {
		t.Fatalf("the frontend's fixture: %v (write it with -update)", err)
	}
	if !bytes.Equal(fixture, indented.Bytes()) {
		t.Errorf("%s is not the resource's answer (rewrite it with -update):\n%s", displayNamesFixture, indented.Bytes())
	}
}

// TestLabelValuesResource checks GET label-values over the golden dataset,
// and its answers to bad input.
func TestLabelValuesResource(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	loadGolden(t, vm)
	h := serve(t)
	pc := h.dataSource(map[string]any{"url": vm.URL}, nil)
	from, to := goldenBase.UnixMilli(), goldenBase.UnixMilli()+10*60_000
	rng := "&from=" + itoa(from) + "&to=" + itoa(to)
	get := func(q string) (int, string) {
		t.Helper()
		status, body := h.resource(pc, http.MethodGet, q)
		return status, string(body)
	}
	filter := func(fs ...report.Filter) string {
		js, _ := json.Marshal(fs)
		return "&filter=" + url.QueryEscape(string(js))
	}
	for _, c := range []struct {
		query string
		want  string
	}{
		{"label-values?report=interface&label=vpc_id&filter=%5B%5D" + rng, `["vpc-0a1","vpc-0b2","vpc-0c3"]`},
		{"label-values?report=interface&label=interface_id" + filter(report.Filter{Label: "vpc_id", Op: "=", Value: "vpc-0a1"}) + rng, `["eni-0a1"]`},
		{"label-values?report=top-sources&label=src_addr" + filter(report.Filter{Label: "src_addr", Op: "=~", Value: `10\..*`}) + rng, `["10.0.0.1","10.0.0.2"]`},
		{"label-values?report=traffic-path&label=traffic_path" + rng, `["-","1","8"]`}, // egress only: sets 0, 2, 4
		{"label-values?report=log-status&label=log_status" + rng, `["NODATA","OK","SKIPDATA"]`},
		{"label-values?report=exporters&label=vpc_id" + rng, `["vpc-0a1","vpc-0b2","vpc-0c3"]`},
		// Blank filter rows are dropped.
		{"label-values?report=interface&label=action" + filter(report.Filter{}) + rng, `["ACCEPT","REJECT"]`},
		// Before the data, and by default (the last 24 hours): none.
		{"label-values?report=interface&label=vpc_id&from=" + itoa(from-3_600_000) + "&to=" + itoa(from), `[]`},
		{"label-values?report=interface&label=vpc_id", `[]`},
		// With names: the text of an id with a name is "name (id)", its value the id.
		{"label-values?report=interface&label=vpc_id&names=true" + rng,
			`[{"value":"vpc-0a1","text":"prod (vpc-0a1)","name":"prod"},{"value":"vpc-0b2","text":"vpc-0b2"},{"value":"vpc-0c3","text":"vpc-0c3"}]`},
		{"label-values?report=pair-interface&label=src_interface&names=1" + rng,
			`[{"value":"-","text":"-"},{"value":"eni-0a1","text":"web (eni-0a1)","name":"web"},{"value":"eni-0b2","text":"web (eni-0b2)","name":"web"}]`},
		{"label-values?report=availability-zones&label=az_id&names=true" + rng,
			`[{"value":"euw1-az2","text":"euw1-az2"},{"value":"use1-az1","text":"us-east-1a (use1-az1)","name":"us-east-1a"}]`},
		{"label-values?report=interface&label=action&names=true" + rng, `[{"value":"ACCEPT","text":"ACCEPT"},{"value":"REJECT","text":"REJECT"}]`},
		{"label-values?report=interface&label=vpc_id&names=false" + rng, `["vpc-0a1","vpc-0b2","vpc-0c3"]`},
		{"label-values?report=interface&label=vpc_id&names=true&from=" + itoa(from-3_600_000) + "&to=" + itoa(from), `[]`},
		// Filters by name.
		{"label-values?report=interface&label=interface_id" + filter(report.Filter{Label: "vpc_id", Op: "=", Value: "prod"}) + rng, `["eni-0a1"]`},
		{"label-values?report=interface&label=interface_id&names=true" + filter(report.Filter{Label: "interface_id", Op: "=", Value: "web"}) + rng,
			`[{"value":"eni-0a1","text":"web (eni-0a1)","name":"web"},{"value":"eni-0b2","text":"web (eni-0b2)","name":"web"}]`},
		{"label-values?report=interface&label=interface_id" + filter(report.Filter{Label: "interface_id", Op: "!=", Value: "web"}) + rng, `["eni-0c3"]`},
		{"label-values?report=interface&label=interface_id" + filter(report.Filter{Label: "interface_id", Op: "=", Value: "nobody"}) + rng, `[]`},
	} {
		status, body := get(c.query)
		if status != http.StatusOK || body != c.want {
			t.Errorf("GET %s: %d %s, want 200 %s", c.query, status, body, c.want)
		}
	}
	for _, c := range []struct {
		query  string
		status int
		want   string
	}{
		{"label-values?label=vpc_id", 400, "want the parameters report (a report id) and label"},
		{"label-values?report=interface", 400, "want the parameters report"},
		{"label-values?report=nope&label=vpc_id", 400, `unknown report \"nope\"; valid reports: action`},
		{"label-values?report=interface&label=src_addr", 400, `report interface has no label \"src_addr\"; valid labels: account_id, region`},
		{"label-values?report=exporters&label=action", 400, `valid labels: account_id, region, vpc_id, interface_id`},
		{"label-values?report=interface&label=vpc_id&filter=%7B", 400, "filter: want a JSON array"},
		{"label-values?report=interface&label=vpc_id" + filter(report.Filter{Label: "vpc_id", Op: "=~", Value: "("}), 400, "bad regular expression"},
		{"label-values?report=interface&label=vpc_id" + filter(report.Filter{Label: "dst_addr", Op: "=", Value: "x"}), 400, `cannot filter on label \"dst_addr\"`},
		{"label-values?report=interface&label=vpc_id&names=maybe", 400, `label-values: names \"maybe\": want true or false`},
		{"label-values?report=interface&label=vpc_id&from=1", 400, "give both from and to"},
		{"label-values?report=interface&label=vpc_id&from=x&to=1", 400, `from \"x\": want epoch milliseconds`},
		{"label-values?report=interface&label=vpc_id&from=" + itoa(to) + "&to=" + itoa(from), 400, "holds no whole 5-minute step"},
		{"nope", 404, `no resource \"nope\": the data source has reports, display-names and label-values`},
		{"reports/x", 404, "no resource"},
	} {
		status, body := get(c.query)
		var e struct{ Error, Message string }
		if status != c.status || json.Unmarshal([]byte(body), &e) != nil || e.Message != e.Error || !strings.Contains(body, c.want) {
			t.Errorf("GET %s: %d %s, want %d and a JSON error saying %s", c.query, status, body, c.status, c.want)
		}
	}
	if status, body := h.resource(pc, http.MethodPost, "reports"); status != http.StatusMethodNotAllowed || !strings.Contains(string(body), "only GET") {
		t.Errorf("POST reports: %d %s", status, body)
	}
	down := testserver.VictoriaMetrics(t)
	down.Stop()
	status, body := h.resource(h.dataSource(map[string]any{"url": down.URL}, nil), http.MethodGet, "label-values?report=action&label=action")
	if status != http.StatusBadGateway || !strings.Contains(string(body), "cannot reach VictoriaMetrics at "+down.URL) {
		t.Errorf("storage down: %d %s", status, body)
	}
	status, body = h.resource(h.dataSource(map[string]any{"url": "vm"}, nil), http.MethodGet, "label-values?report=action&label=action")
	if status != http.StatusInternalServerError || !strings.Contains(string(body), "data source settings") {
		t.Errorf("bad settings: %d %s", status, body)
	}
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
