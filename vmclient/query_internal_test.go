package vmclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestQueryClient shows the configuration errors of a client for queries and that
// errors never carry credentials.
func TestQueryClient(t *testing.T) {
	f := func(cfg Config, want string) {
		t.Helper()
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%+v) = %v, want %q", cfg.URL, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	f(Config{}, "set URL")
	f(Config{URL: "http://user:hunter2@vm:8428"}, "credentials in the URL")
	f(Config{URL: "ftp://vm"}, "http://")
	f(Config{URL: "http://vm:8428/api/v1/query"}, "without /api/v1")
	f(Config{URL: "http://vm:8428?x=1"}, "no query string")
	f(Config{URL: "http://vm:8428", Username: "u", Password: "hunter2", BearerToken: "t"}, "not both")
	f(Config{URL: "http://vm:8428", Password: "hunter2"}, "needs a username")

	c, err := New(Config{URL: "http://vmselect:8481/select/0/prometheus/"})
	if err != nil || c.QueryURL() != "http://vmselect:8481/select/0/prometheus" || c.rootURL != "http://vmselect:8481" || !c.cluster {
		t.Errorf("cluster URL: %+v, %v", c, err)
	}
	c, err = New(Config{URL: "https://proxy/vm/"})
	if err != nil || c.QueryURL() != "https://proxy/vm" || c.rootURL != "https://proxy/vm" || c.cluster {
		t.Errorf("single node URL: %+v, %v", c, err)
	}

	// An answer echoing the credentials is redacted.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad auth "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Scope"), http.StatusUnauthorized)
	}))
	defer srv.Close()
	for _, cfg := range []Config{
		{URL: srv.URL, Username: "u", Password: "hunter2"},
		{URL: srv.URL, BearerToken: "hunter2-token"},
		{URL: srv.URL, Header: http.Header{"X-Scope": {"hunter2-tenant"}}},
	} {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Instant(context.Background(), "vector(1)", time.Now())
		if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "dTpodW50ZXIy") || !strings.Contains(err.Error(), "refused the credentials") {
			t.Errorf("error %v: want refused credentials, without them", err)
		}
	}
}

// TestDecodeVector shows the answers of an instant query decoded, and the
// ones refused: failed, partial (a cluster storage node down: its sums
// would be short), of another result type, or not JSON.
func TestDecodeVector(t *testing.T) {
	got, err := DecodeVector([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1.5,"42"]}]}}`))
	if err != nil || len(got) != 1 || got[0].Value != 42 || got[0].Labels["a"] != "b" {
		t.Errorf("DecodeVector = %+v, %v", got, err)
	}
	for body, want := range map[string]string{
		`{"status":"error","errorType":"bad_data","error":"parse error"}`:                  "bad_data: parse error",
		`{"status":"success","isPartial":true,"data":{"resultType":"vector","result":[]}}`: "partial answer",
		`{"status":"success","data":{"resultType":"matrix","result":[]}}`:                  `result type "matrix"`,
		`<html>`: "cannot decode the answer",
	} {
		if _, err := DecodeVector([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeVector(%s) = %v, want %q", body, err, want)
		}
	}
}

// TestFormatTime checks the times sent: milliseconds, exactly.
func TestFormatTime(t *testing.T) {
	f := func(ms int64, want string) {
		t.Helper()
		if got := formatTime(time.UnixMilli(ms)); got != want {
			t.Errorf("formatTime(%d) = %s, want %s", ms, got, want)
		}
	}
	f(1772359259999, "1772359259.999")
	f(1772359200000, "1772359200.000")
	f(1772359200001, "1772359200.001")
	f(0, "0.000")
	form := url.Values{"time": {formatTime(time.UnixMilli(1772359259999))}}
	if form.Encode() != "time=1772359259.999" {
		t.Error(form.Encode())
	}
}
