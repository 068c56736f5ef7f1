package models_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vpcflow/vpcflow/plugin/pkg/models"
	"github.com/vpcflow/vpcflow/report"
)

func TestLoadSettings(t *testing.T) {
	f := func(jsonData, topURL string, secure map[string]string, want models.Settings, wantAPI string) {
		t.Helper()
		s, err := models.LoadSettings(backend.DataSourceInstanceSettings{JSONData: []byte(jsonData), URL: topURL, DecryptedSecureJSONData: secure})
		if err != nil {
			t.Fatalf("LoadSettings(%s): %v", jsonData, err)
		}
		if !reflect.DeepEqual(s, want) {
			t.Errorf("LoadSettings(%s) = %+v, want %+v", jsonData, s, want)
		}
		if got := s.APIURL(); got != wantAPI {
			t.Errorf("LoadSettings(%s).APIURL() = %q, want %q", jsonData, got, wantAPI)
		}
	}
	f(`{"url":"http://vm:8428"}`, "", nil,
		models.Settings{URL: "http://vm:8428", AuthType: models.AuthNone}, "http://vm:8428")
	// The top-level URL when jsonData has none; a trailing slash goes.
	f(`{}`, " http://vm:8428/ ", nil,
		models.Settings{URL: "http://vm:8428/", AuthType: models.AuthNone}, "http://vm:8428")
	f(``, "https://vm.example", nil,
		models.Settings{URL: "https://vm.example", AuthType: models.AuthNone}, "https://vm.example")
	// jsonData wins over the top-level URL.
	f(`{"url":"http://a:1"}`, "http://b:2", nil, models.Settings{URL: "http://a:1", AuthType: models.AuthNone}, "http://a:1")
	// A cluster with a tenant.
	f(`{"url":"http://vmselect:8481","tenant":"12:34"}`, "", nil,
		models.Settings{URL: "http://vmselect:8481", Tenant: "12:34", AuthType: models.AuthNone}, "http://vmselect:8481/select/12:34/prometheus")
	f(`{"url":"http://vmselect:8481/select/0/prometheus"}`, "", nil,
		models.Settings{URL: "http://vmselect:8481/select/0/prometheus", AuthType: models.AuthNone}, "http://vmselect:8481/select/0/prometheus")
	// Authentication, explicit and inferred.
	f(`{"url":"http://vm:8428","authType":"basic","basicAuthUser":"grafana","tlsSkipVerify":true}`, "", map[string]string{"basicAuthPassword": "pw"},
		models.Settings{URL: "http://vm:8428", AuthType: models.AuthBasic, BasicAuthUser: "grafana", TLSSkipVerify: true,
			Secrets: models.Secrets{BasicAuthPassword: "pw"}}, "http://vm:8428")
	f(`{"url":"http://vm:8428","basicAuthUser":"grafana"}`, "", map[string]string{"basicAuthPassword": "pw"},
		models.Settings{URL: "http://vm:8428", AuthType: models.AuthBasic, BasicAuthUser: "grafana", Secrets: models.Secrets{BasicAuthPassword: "pw"}}, "http://vm:8428")
	f(`{"url":"http://vm:8428"}`, "", map[string]string{"bearerToken": "tok"},
		models.Settings{URL: "http://vm:8428", AuthType: models.AuthBearer, Secrets: models.Secrets{BearerToken: "tok"}}, "http://vm:8428")
	// A stored secret the chosen type does not use is kept, not sent.
	s, err := models.LoadSettings(backend.DataSourceInstanceSettings{JSONData: []byte(`{"url":"http://vm:8428","authType":"none"}`),
		DecryptedSecureJSONData: map[string]string{"bearerToken": "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	if u, p, tok := s.Credentials(); u != "" || p != "" || tok != "" {
		t.Errorf("credentials of authType none: %q %q %q", u, p, tok)
	}
}

func TestLoadSettingsErrors(t *testing.T) {
	f := func(jsonData string, secure map[string]string, want string) {
		t.Helper()
		_, err := models.LoadSettings(backend.DataSourceInstanceSettings{JSONData: []byte(jsonData), DecryptedSecureJSONData: secure})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadSettings(%s) error = %v, want it to say %q", jsonData, err, want)
		}
		for _, v := range secure {
			if err != nil && strings.Contains(err.Error(), v) {
				t.Errorf("LoadSettings(%s) error %q shows a secret", jsonData, err)
			}
		}
	}
	f(`{}`, nil, "the VictoriaMetrics URL is empty")
	f(`[1]`, nil, "jsonData is not the JSON object")
	f(`{"url":"vm:8428"}`, nil, "want an http:// or https:// URL")
	f(`{"url":"ftp://vm"}`, nil, "want an http:// or https:// URL")
	f(`{"url":"http://"}`, nil, "has no host")
	f(`{"url":"http://vm:8428/?x=1"}`, nil, "remove the query string")
	f(`{"url":"http://%zz"}`, nil, "is not a URL")
	f(`{"url":"http://grafana:hunter22@vm:8428"}`, map[string]string{"x": "hunter22"}, "holds credentials")
	f(`{"url":"http://vm:8428","tenant":"abc"}`, nil, `tenant "abc"`)
	f(`{"url":"http://vm:8428","tenant":"4294967296"}`, nil, "32-bit")
	f(`{"url":"http://vm:8428","tenant":"1:4294967296"}`, nil, "32-bit")
	f(`{"url":"http://vm:8481/select/0/prometheus","tenant":"1"}`, nil, "already names a tenant")
	f(`{"url":"http://vm:8428","authType":"basic"}`, map[string]string{"basicAuthPassword": "pw-secret"}, "needs a user")
	f(`{"url":"http://vm:8428","authType":"basic","basicAuthUser":"u"}`, nil, "needs a password")
	f(`{"url":"http://vm:8428","authType":"bearer"}`, nil, "needs a token")
	f(`{"url":"http://vm:8428","authType":"oauth"}`, nil, `unknown authentication type "oauth"; valid types: none, basic, bearer`)
}

func TestSecretsNotPrinted(t *testing.T) {
	s := models.Settings{URL: "http://vm", AuthType: models.AuthBasic, BasicAuthUser: "u", Secrets: models.Secrets{BasicAuthPassword: "pw-123", BearerToken: "tok-456"}}
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), string(js)} {
		if strings.Contains(out, "pw-123") || strings.Contains(out, "tok-456") {
			t.Errorf("settings print their secrets: %s", out)
		}
	}
	if got := s.SecretValues(); len(got) != 3 || got[0] != "pw-123" || got[1] != "tok-456" || got[2] != "dTpwdy0xMjM=" {
		t.Errorf("SecretValues() = %q", got)
	}
}

func TestParseQuery(t *testing.T) {
	f := func(raw string, want models.Query) {
		t.Helper()
		q, err := models.ParseQuery([]byte(raw))
		if err != nil {
			t.Fatalf("ParseQuery(%s): %v", raw, err)
		}
		if !reflect.DeepEqual(q, want) {
			t.Errorf("ParseQuery(%s) = %+v, want %+v", raw, q, want)
		}
	}
	// Grafana's own minimal query gets the frontend's defaults.
	f(`{"refId":"A"}`, models.Query{Report: "action", Mode: report.ModeRate, Top: 10, Format: report.FormatTimeSeries, Names: true})
	f(``, models.Query{Report: "action", Mode: report.ModeRate, Top: 10, Format: report.FormatTimeSeries, Names: true})
	// What the editor saves, with Grafana's own fields around it.
	f(`{"refId":"B","datasource":{"type":"vpcflow-flowlogs-datasource","uid":"x"},"intervalMs":60000,"maxDataPoints":800,
		"report":"pair-interface","metric":"packets","mode":"total","top":3,"format":"table",
		"filters":[{"label":"vpc_id","op":"=","value":"vpc-0a1"},{"label":"","op":"=","value":""},{"label":"action","value":"REJECT"}]}`,
		models.Query{Report: "pair-interface", Metric: report.MetricPackets, Mode: report.ModeTotal, Top: 3, Format: report.FormatTable, Names: true,
			Filters: []report.Filter{{Label: "vpc_id", Op: "=", Value: "vpc-0a1"}, {Label: "action", Op: "=", Value: "REJECT"}}})
	f(`{"report":"log-status","top":0,"filters":null}`, models.Query{Report: "log-status", Mode: report.ModeRate, Top: 0, Format: report.FormatTimeSeries, Names: true})
	// Every row (top 0), or any top N, of a table; a time series up to
	// report.MaxSeries.
	f(`{"report":"action-interface-dst","top":0,"format":"table"}`, models.Query{Report: "action-interface-dst", Mode: report.ModeRate, Top: 0, Format: report.FormatTable, Names: true})
	f(`{"report":"action-interface-dst","top":10001,"format":"table"}`, models.Query{Report: "action-interface-dst", Mode: report.ModeRate, Top: 10001, Format: report.FormatTable, Names: true})
	f(`{"report":"action-interface-dst","top":250000,"format":"table"}`, models.Query{Report: "action-interface-dst", Mode: report.ModeRate, Top: 250000, Format: report.FormatTable, Names: true})
	f(`{"report":"action-interface-dst","top":1000}`, models.Query{Report: "action-interface-dst", Mode: report.ModeRate, Top: 1000, Format: report.FormatTimeSeries, Names: true})
	f(`{"report":"interface","filters":[{"label":"interface_id","op":"=~","value":"(eni-a|eni-b)"}]}`,
		models.Query{Report: "interface", Mode: report.ModeRate, Top: 10, Format: report.FormatTimeSeries, Names: true,
			Filters: []report.Filter{{Label: "interface_id", Op: "=~", Value: "(eni-a|eni-b)"}}})
	// Names are on unless the query turns them off.
	f(`{"report":"interface","names":true}`, models.Query{Report: "interface", Mode: report.ModeRate, Top: 10, Format: report.FormatTimeSeries, Names: true})
	f(`{"report":"interface","names":false}`, models.Query{Report: "interface", Mode: report.ModeRate, Top: 10, Format: report.FormatTimeSeries})
	q, _ := models.ParseQuery([]byte(`{"report":"action","top":3}`))
	if rq := q.ReportQuery(); rq.Report != "action" || rq.Top != 3 || rq.Mode != report.ModeRate || rq.Format != report.FormatTimeSeries || !rq.Names {
		t.Errorf("ReportQuery() = %+v", rq)
	}
}

func TestParseQueryErrors(t *testing.T) {
	f := func(raw, want string) {
		t.Helper()
		_, err := models.ParseQuery([]byte(raw))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseQuery(%s) error = %v, want it to say %q", raw, err, want)
		}
	}
	f(`{"report":`, "not the JSON the query editor saves")
	f(`{"report":"nope"}`, `unknown report "nope"; valid reports: action,`)
	f(`{"report":"log-status","metric":"bytes"}`, `unknown metric "bytes"; valid metrics: records`)
	f(`{"mode":"avg"}`, `unknown mode "avg"`)
	f(`{"format":"heatmap"}`, `unknown format "heatmap"`)
	f(`{"top":-1}`, "top -1: want a whole number, 0 (every row) or more")
	f(`{"top":2.5}`, "top 2.5")
	// A time series (the default format) keeps at most report.MaxSeries.
	f(`{"top":1001}`, "top 1001: a time series shows at most 1000 series")
	f(`{"top":10001,"format":"time_series"}`, "top 10001: a time series shows at most 1000 series")
	f(`{"report":"interface","filters":[{"label":"src_addr","op":"=","value":"x"}]}`, `cannot filter on label "src_addr"; valid labels:`)
	f(`{"filters":[{"label":"action","op":"=~","value":"(ACCEPT"}]}`, "bad regular expression")
	f(`{"filters":[{"label":"action","op":"<","value":"A"}]}`, `unknown operator "<"`)
	f(`{"filters":[{"label":"","op":"=","value":"x"}]}`, "filter 1 (value \"x\") has no label")
}

func TestParseFilters(t *testing.T) {
	f := func(raw string, want []report.Filter) {
		t.Helper()
		got, err := models.ParseFilters(raw)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseFilters(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	f(``, nil)
	f(`[]`, nil)
	f(`[{"label":"vpc_id","op":"!=","value":"-"},{"label":"","value":""},{"label":"action","value":"ACCEPT"}]`,
		[]report.Filter{{Label: "vpc_id", Op: "!=", Value: "-"}, {Label: "action", Op: "=", Value: "ACCEPT"}})
	for _, bad := range []string{`{}`, `[1]`, `[{"label":"","value":"x"}]`, `not json`} {
		if _, err := models.ParseFilters(bad); err == nil {
			t.Errorf("ParseFilters(%q): no error", bad)
		}
	}
}
