package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestQueryDataFilterByName checks, over the golden dataset, that a query
// filtering an id label by a name (as a panel, an alert rule or a
// variable's value may) answers the rows of the ids of that name: the same
// frames as the query filtered on those ids; an unknown name gives no rows;
// a name of more interfaces than a query can list is an error the user must
// fix (400), in queries and label values.
func TestQueryDataFilterByName(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	loadGolden(t, vm)
	// 500 more interfaces named worker, without traffic.
	workers := map[string]string{}
	for i := range 500 {
		workers[fmt.Sprintf("eni-%017x", 0x1000+i)] = "worker"
	}
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), entityInfo(map[report.EntityType]map[string]string{report.EntityInterface: workers}, goldenBase)); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
	h := serve(t)
	pc := h.dataSource(map[string]any{"url": vm.URL}, nil)
	from, to := goldenBase, goldenBase.Add(10*time.Minute)
	run := func(what string, model map[string]any) backend.DataResponse {
		t.Helper()
		r := h.query(pc, nil, dq("A", from, to, time.Minute, 1000, model)).Responses["A"]
		if r.Error != nil {
			t.Fatalf("%s: %v", what, r.Error)
		}
		return r
	}
	filter := func(label string, op report.Op, v string) []report.Filter {
		return []report.Filter{{Label: label, Op: op, Value: v}}
	}
	for _, c := range []struct {
		report  string
		byName  []report.Filter
		byID    []report.Filter
		nonZero bool
	}{
		{"interface", filter("interface_id", "=", "web"), filter("interface_id", "=~", "eni-0a1|eni-0b2"), true},
		{"interface", filter("interface_id", "!=", "web"), filter("interface_id", "=", "eni-0c3"), true},
		{"action", filter("interface_id", "=~", "we.*"), filter("interface_id", "=~", "eni-0a1|eni-0b2"), true},
		{"vpcs", filter("vpc_id", "=", "prod"), filter("vpc_id", "=", "vpc-0a1"), true},
		{"pair-interface", filter("src_interface", "=", "web"), filter("src_interface", "=~", "eni-0a1|eni-0b2"), true},
		{"availability-zones", filter("az_id", "=", "us-east-1a"), filter("az_id", "=", "use1-az1"), true},
		{"interface", filter("interface_id", "=", "nobody"), filter("interface_id", "=", "eni-none"), false},
	} {
		for _, format := range []report.Format{report.FormatTable, report.FormatTimeSeries} {
			what := fmt.Sprintf("%s %s %v", c.report, format, c.byName)
			model := func(fs []report.Filter) map[string]any {
				return map[string]any{"report": c.report, "top": 0, "mode": "total", "format": format, "filters": fs}
			}
			got, want := run(what, model(c.byName)), run(what+" by id", model(c.byID))
			gotJS, _ := json.Marshal(got.Frames)
			wantJS, _ := json.Marshal(want.Frames)
			// The frames differ only in the queries they list (executedQueryString).
			strip := func(js []byte) string {
				var v any
				_ = json.Unmarshal(js, &v)
				dropQueries(v)
				out, _ := json.Marshal(v)
				return string(out)
			}
			if strip(gotJS) != strip(wantJS) {
				t.Errorf("%s:\n%s\nwant\n%s", what, strip(gotJS), strip(wantJS))
			}
			if format == report.FormatTable {
				rows := tableOf(t, got.Frames[0])
				if (len(rows) > 0) != c.nonZero {
					t.Errorf("%s: rows %v", what, rows)
				}
			}
		}
	}

	// Too many ids for one query: 400, in queries and label values.
	r := h.query(pc, nil, dq("A", from, to, time.Minute, 1000, map[string]any{"report": "interface", "filters": filter("interface_id", "=", "worker")})).Responses["A"]
	if r.Error == nil || r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourcePlugin ||
		!strings.Contains(r.Error.Error(), `filter interface_id="worker": a filter by name matches more ids than one query can list: 500 interface ids had that name`) {
		t.Errorf("500 interfaces of one name: status %d, source %q, error %v", r.Status, r.ErrorSource, r.Error)
	}
	js, _ := json.Marshal(filter("interface_id", "=", "worker"))
	status, body := h.resource(pc, http.MethodGet, "label-values?report=interface&label=vpc_id&filter="+url.QueryEscape(string(js))+
		"&from="+itoa(from.UnixMilli())+"&to="+itoa(to.UnixMilli()))
	if status != http.StatusBadRequest || !strings.Contains(string(body), "500 interface ids had that name") {
		t.Errorf("label values, 500 interfaces of one name: %d %s", status, body)
	}
}

// dropQueries removes the executedQueryString of frames' metadata, in
// place.
func dropQueries(v any) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "executedQueryString")
		for _, e := range v {
			dropQueries(e)
		}
	case []any:
		for _, e := range v {
			dropQueries(e)
		}
	}
}
