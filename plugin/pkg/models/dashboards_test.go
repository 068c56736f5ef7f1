package models_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vpcflow/vpcflow/internal/dashboards"
	"github.com/vpcflow/vpcflow/plugin/pkg/models"
	"github.com/vpcflow/vpcflow/report"
)

// TestQueryIsThePluginModel: a dashboard panel's query is written as the plugin's
// query model, which the plugin reads back into the same report query,
// with names (the plugin's default).
func TestQueryIsThePluginModel(t *testing.T) {
	ref := dashboards.PluginRef()
	q := dashboards.Query{RefID: "A", Datasource: &ref, Query: report.Query{Report: "vpcs", Metric: "flows", Mode: "total", Top: 3,
		Filters: []report.Filter{{Label: "vpc_id", Op: report.OpMatch, Value: "vpc-1|vpc-2"}}, Format: "table"}}
	js, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"refId":"A","datasource":{"type":"vpcflow-flowlogs-datasource","uid":"vpcflow"},"report":"vpcs","metric":"flows","mode":"total","top":3,` +
		`"filters":[{"label":"vpc_id","op":"=~","value":"vpc-1|vpc-2"}],"format":"table"}`
	if string(js) != want {
		t.Errorf("query JSON %s\nwant       %s", js, want)
	}
	got, err := models.ParseQuery(js)
	if err != nil {
		t.Fatal(err)
	}
	// Names are not in the JSON: the plugin shows them by default.
	want2 := q.Query
	want2.Names = true
	if !reflect.DeepEqual(got.ReportQuery(), want2) {
		t.Errorf("the plugin reads %+v, want %+v", got.ReportQuery(), want2)
	}
}
