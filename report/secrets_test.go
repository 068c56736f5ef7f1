package report_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/vmclient"
)

// errorBodyLimit is how much of an error answer the client shows at most.
const errorBodyLimit = 2048

// TestNoSecretStartInErrors queries servers that echo the credentials in
// their error answers, the secret text beginning 6 bytes before the
// 2048-byte bound of the quoted answer: a client that cut the answer
// before removing the secrets would show their first 6 bytes. The JSON
// shape is a Prometheus API error envelope longer than the bound.
func TestNoSecretStartInErrors(t *testing.T) {
	const (
		user  = "grafana"
		pass  = "hunter2-Pa55word-4711"
		token = "T0ken-Secret-abcdef123456"
	)
	secrets := []string{pass, token, base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}
	from := time.Now().Add(-time.Hour).Truncate(time.Minute)
	for _, shape := range testserver.EchoShapes {
		for _, status := range []int{http.StatusUnauthorized, http.StatusBadGateway} {
			srv := testserver.CredentialEcho(t, status, shape, errorBodyLimit-6)
			for auth, cfg := range map[string]vmclient.Config{
				"basic":  {URL: srv.URL, Username: user, Password: pass},
				"bearer": {URL: srv.URL, BearerToken: token},
			} {
				name := fmt.Sprintf("%s %d %s", shape, status, auth)
				check := func(what, msg string) {
					t.Helper()
					if s := testserver.SecretStart(msg, 4, secrets...); s != "" {
						t.Errorf("%s: %s: the error shows %q, the start of a secret: %s", name, what, s, msg)
					}
					if !strings.Contains(msg, "the gateway refused") || strings.Contains(msg, "cannot place") || !strings.Contains(msg, fmt.Sprintf("HTTP %d", status)) {
						t.Errorf("%s: %s: the error does not quote the answer: %s", name, what, msg)
					}
				}
				c, err := vmclient.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.Instant(context.Background(), "vector(1)", time.Now())
				if err == nil {
					t.Fatalf("%s: Instant: no error", name)
				}
				check("Instant", err.Error())
				e, err := report.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				_, err = e.Table(context.Background(), report.Query{Report: "action"}, from, from.Add(10*time.Minute))
				if err == nil {
					t.Fatalf("%s: Table: no error", name)
				}
				check("Table", err.Error())
				h := e.Health(context.Background())
				if h.OK {
					t.Errorf("%s: Health OK", name)
				}
				check("Health", h.Message())
			}
		}
	}
}
