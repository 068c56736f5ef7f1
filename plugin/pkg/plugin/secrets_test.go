package plugin_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vpcflow/vpcflow/internal/testserver"
)

// TestSecretsNeverShown runs queries (time series, table, alerting),
// health checks and label-values with wrong, right and unusable
// credentials, and checks that no password or token, nor the basic auth
// header's text, appears in any answer, error or log line (everything the
// plugin and the SDK logged in this test binary so far), while the right
// credentials do reach VictoriaMetrics.
func TestSecretsNeverShown(t *testing.T) {
	const (
		rightPass = "R1ght-Pa55word-4711"
		wrongPass = "Wr0ng-Pa55word-0815"
		token     = "T0ken-Secret-abcdef123456"
	)
	secrets := []string{rightPass, wrongPass, token,
		base64.StdEncoding.EncodeToString([]byte("grafana:" + rightPass)),
		base64.StdEncoding.EncodeToString([]byte("grafana:" + wrongPass))}

	vm := testserver.VictoriaMetrics(t)
	loadGolden(t, vm)
	auth := testserver.VictoriaMetrics(t, "-httpAuth.username=grafana", "-httpAuth.password="+rightPass)
	bearer := authProxy(t, vm.URL, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+token })
	down := testserver.VictoriaMetrics(t)
	down.Stop()

	h := serve(t)
	basic := func(url, pass string) backend.PluginContext {
		return h.dataSource(map[string]any{"url": url, "authType": "basic", "basicAuthUser": "grafana"}, map[string]string{"basicAuthPassword": pass})
	}
	withToken := func(url string) backend.PluginContext {
		return h.dataSource(map[string]any{"url": url, "authType": "bearer"}, map[string]string{"bearerToken": token})
	}
	cases := map[string]backend.PluginContext{
		"wrong password":             basic(auth.URL, wrongPass),
		"right password":             basic(auth.URL, rightPass),
		"password, storage down":     basic(down.URL, rightPass),
		"token refused":              withToken(auth.URL),
		"token accepted":             withToken(bearer),
		"token, storage down":        withToken(down.URL),
		"password in the URL":        h.dataSource(map[string]any{"url": "http://grafana:" + rightPass + "@" + strings.TrimPrefix(auth.URL, "http://")}, nil),
		"password with an auth type": h.dataSource(map[string]any{"url": "vm:8428", "authType": "basic"}, map[string]string{"basicAuthPassword": wrongPass}),
	}
	var seen strings.Builder
	from, to := goldenBase, goldenBase.Add(10*time.Minute)
	for name, pc := range cases {
		resp := h.query(pc, nil,
			dq("A", from, to, time.Minute, 100, map[string]any{"report": "action"}),
			dq("B", from, to, time.Minute, 100, map[string]any{"report": "interface", "format": "table"}))
		alert := h.query(pc, map[string]string{backend.FromAlertHeaderName: "true"}, dq("C", from, to, time.Minute, 100, map[string]any{}))
		for ref, r := range map[string]backend.DataResponse{"A": resp.Responses["A"], "B": resp.Responses["B"], "C": alert.Responses["C"]} {
			js, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&seen, "%s %s: %v %s\n", name, ref, r.Error, js)
			switch name {
			case "right password", "token accepted":
				if r.Error != nil {
					t.Errorf("%s %s: %v", name, ref, r.Error)
				}
			default:
				if r.Error == nil {
					t.Errorf("%s %s: no error", name, ref)
				}
			}
		}
		res := h.health(pc)
		fmt.Fprintf(&seen, "%s health: %s %s %s\n", name, res.Status, res.Message, res.JSONDetails)
		if name == "token accepted" && !strings.Contains(res.Message, "answers queries, deduplicates at 1ms") {
			t.Errorf("%s: health %s: %s", name, res.Status, res.Message)
		}
		status, body := h.resource(pc, http.MethodGet, "label-values?report=action&label=action&from="+itoa(from.UnixMilli())+"&to="+itoa(to.UnixMilli()))
		fmt.Fprintf(&seen, "%s label-values: %d %s\n", name, status, body)
		if (name == "right password" || name == "token accepted") != (status == http.StatusOK) {
			t.Errorf("%s: label-values %d %s", name, status, body)
		}
	}
	all := seen.String() + "\n" + logs.text()
	if !strings.Contains(all, "refused the credentials") || !strings.Contains(all, "Query failed") {
		t.Fatalf("the answers and logs do not show the failures checked:\n%s", all)
	}
	for _, s := range secrets {
		if i := strings.Index(all, s); i >= 0 {
			t.Errorf("secret %q shown: …%s…", s, all[max(0, i-300):min(len(all), i+100)])
		}
	}
}

// TestNoSecretStartInErrors queries, checks and asks label values of data
// sources whose server echoes the credentials in its error answers, the
// secret text beginning 6 bytes before the 2048 bytes of an answer that
// the report engine quotes: a client that cut the answer before removing
// the secrets would show their first 6 bytes to Grafana users.
func TestNoSecretStartInErrors(t *testing.T) {
	const (
		pass  = "R1ght-Pa55word-4711"
		token = "T0ken-Secret-abcdef123456"
	)
	secrets := []string{pass, token, base64.StdEncoding.EncodeToString([]byte("grafana:" + pass))}
	h := serve(t)
	from, to := goldenBase, goldenBase.Add(10*time.Minute)
	for _, shape := range testserver.EchoShapes {
		for _, status := range []int{http.StatusUnauthorized, http.StatusBadGateway} {
			srv := testserver.CredentialEcho(t, status, shape, 2048-6)
			for auth, pc := range map[string]backend.PluginContext{
				"basic":  h.dataSource(map[string]any{"url": srv.URL, "authType": "basic", "basicAuthUser": "grafana"}, map[string]string{"basicAuthPassword": pass}),
				"bearer": h.dataSource(map[string]any{"url": srv.URL, "authType": "bearer"}, map[string]string{"bearerToken": token}),
			} {
				name := fmt.Sprintf("%s %d %s", shape, status, auth)
				check := func(what, text string) {
					t.Helper()
					if s := testserver.SecretStart(text, 4, secrets...); s != "" {
						t.Errorf("%s: %s shows %q, the start of a secret: %s", name, what, s, text)
					}
					if !strings.Contains(text, "the gateway refused") || strings.Contains(text, "cannot place") {
						t.Errorf("%s: %s does not quote the answer: %s", name, what, text)
					}
				}
				resp := h.query(pc, nil, dq("A", from, to, time.Minute, 100, map[string]any{"report": "action"}))
				r := resp.Responses["A"]
				if r.Error == nil {
					t.Fatalf("%s: QueryData: no error", name)
				}
				js, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				check("the query's error", r.Error.Error())
				check("the query's answer", string(js))
				res := h.health(pc)
				if res.Status != backend.HealthStatusError {
					t.Errorf("%s: health %s", name, res.Status)
				}
				check("the health message", res.Message)
				check("the health details", string(res.JSONDetails))
				if !json.Valid(res.JSONDetails) {
					t.Errorf("%s: health details are not JSON: %s", name, res.JSONDetails)
				}
				_, body := h.resource(pc, http.MethodGet, "label-values?report=action&label=action&from="+itoa(from.UnixMilli())+"&to="+itoa(to.UnixMilli()))
				check("label-values", string(body))
			}
		}
	}
	if s := testserver.SecretStart(logs.text(), 4, secrets...); s != "" {
		t.Errorf("the logs show %q, the start of a secret", s)
	}
}
