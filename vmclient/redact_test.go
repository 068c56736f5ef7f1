package vmclient_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// errorBodyLimit is the documented bound of RequestError.Body.
const errorBodyLimit = 512

func TestRedactorString(t *testing.T) {
	f := func(secrets []string, in, want string) {
		t.Helper()
		if got := vmclient.NewRedactor(secrets...).String(in); got != want {
			t.Errorf("String(%q) with %q\n got %q\nwant %q", in, secrets, got, want)
		}
	}
	pw := []string{"hunter2!"}
	f(pw, "password=hunter2! refused", "password=<redacted> refused")
	f(pw, "hunter2!hunter2!", "<redacted>")
	f(nil, "nothing to hide", "nothing to hide")
	f([]string{"", "x"}, "", "")
	// As a server may quote it: URL-encoded, JSON- or Go-quoted, HTML.
	f([]string{"p@ss w/rd"}, "GET /q?pw=p%40ss+w%2Frd&x=1", "GET /q?pw=<redacted>&x=1")
	f([]string{"p@ss w/rd"}, "GET /p@ss%20w%2Frd/x", "GET /<redacted>/x")
	f([]string{`pa"ss\w<d>`}, `{"error":"pa\"ss\\w\u003cd\u003e"}`, `{"error":"<redacted>"}`)
	f([]string{`pa"ss\w<d>`}, `{"error":"pa\"ss\\w<d>"}`, `{"error":"<redacted>"}`)
	f([]string{`pa"ss&w`}, `<p>pa&#34;ss&amp;w</p>`, `<p><redacted></p>`)
	// Overlapping secrets leave nothing; a short secret is not looked for
	// in a placeholder.
	f([]string{"abcdef", "defghi"}, "xabcdefghiy", "x<redacted>y")
	f([]string{"a"}, "a cat", "<redacted> c<redacted>t")
	// Echoed credential headers, known or not: a line that starts with
	// one is dropped, the rest of a line after one is replaced.
	f(nil, "refused\nAuthorization: Basic Zm9vOmJhcg==\nUser-Agent: x\n", "refused\nUser-Agent: x\n")
	f(nil, "refused\r\n> proxy-authorization: Bearer abc\r\n> Host: vm\r\n", "refused\r\n> Host: vm\r\n")
	f(nil, "refused\n  \"Cookie\": \"session=abc\",\n  \"Host\": \"vm\"", "refused\n  \"Host\": \"vm\"")
	f(nil, "X-Amz-Security-Token: FwoGZXIvYXdz", "")
	f(nil, `{"error":"dump: Authorization: Basic Zm9v User-Agent: x"}`, `{"error":"dump: Authorization: <redacted>`)
	f(nil, `headers {"Authorization":["Bearer abc"],"Host":["vm"]}`, `headers {"Authorization": <redacted>`)
	f(nil, "headers map[Set-Cookie:[s=1] User-Agent:[x]]", "headers map[Set-Cookie: <redacted>")
	f(nil, "GET /x?X-Amz-Security-Token=abc&y=1 refused", "GET /x?X-Amz-Security-Token= <redacted>")
	f(nil, "x-api-key = k1\nx-auth-token:k2", "")
	// Messages that only name a header are kept.
	f(nil, "missing `Authorization` request header", "missing `Authorization` request header")
	f(nil, "api error AuthorizationHeaderMalformed: the authorization header is malformed",
		"api error AuthorizationHeaderMalformed: the authorization header is malformed")
	f(nil, "no cookie here, authorization required", "no cookie here, authorization required")
}

func TestRedactorCut(t *testing.T) {
	f := func(secrets []string, in string, truncated bool, limit int, want string) {
		t.Helper()
		got := vmclient.NewRedactor(secrets...).Cut(in, truncated, limit)
		if got != want {
			t.Errorf("Cut(%q, %v, %d)\n got %q\nwant %q", in, truncated, limit, got, want)
		}
		if len(got) > limit {
			t.Errorf("Cut(%q, %v, %d) = %q: %d bytes", in, truncated, limit, got, len(got))
		}
	}
	s := []string{"hunter2-secret"}
	f(s, "  short hunter2-secret \n", false, 100, "short <redacted>")
	// Redacted, then cut: the cut falls in the placeholder, never in the
	// secret.
	f(s, "0123456789hunter2-secret and more", false, 14, "0123456789<…")
	f(s, "0123456789hunter2-secret and more", false, 13, "0123456789…")
	// A read bound that cut a secret: its start is dropped.
	f(s, "refused: password=hunter2-se", true, 100, "refused: password=…")
	f(s, "refused: password=h", true, 100, "refused: password=…")
	f(s, "refused: password=hunter2-secret", true, 100, "refused: password=<redacted>…")
	// Not truncated: the end is what the server sent.
	f(s, "refused: the hunt", false, 100, "refused: the hunt")
	// A cut keeps whole UTF-8 characters.
	f(nil, "ééééé", false, 6, "é…")
	f(nil, "Authorization: Basic Zm9v", false, 100, "")
}

func TestReadErrorBody(t *testing.T) {
	f := func(n int, wantLen int, wantTruncated bool) {
		t.Helper()
		r := strings.NewReader(strings.Repeat("x", n))
		head, truncated := vmclient.ReadErrorBody(r)
		if len(head) != wantLen || truncated != wantTruncated {
			t.Errorf("vmclient.ReadErrorBody(%d bytes) = %d bytes, truncated %v; want %d, %v", n, len(head), truncated, wantLen, wantTruncated)
		}
		if n <= vmclient.MaxErrorRead+1<<20 && r.Len() != 0 {
			t.Errorf("vmclient.ReadErrorBody(%d bytes) left %d bytes unread", n, r.Len())
		}
	}
	f(0, 0, false)
	f(100, 100, false)
	f(vmclient.MaxErrorRead, vmclient.MaxErrorRead, false)
	f(vmclient.MaxErrorRead+1, vmclient.MaxErrorRead, true)
	f(vmclient.MaxErrorRead+5000, vmclient.MaxErrorRead, true)
}

// TestNoSecretStartInErrors runs the write and query paths against servers
// that echo the credentials in their error answers, the secret text
// beginning 6 bytes before the 512-byte bound of vmclient.RequestError.Body: a
// client that cut the answer before removing the secrets would show their
// first 6 bytes.
func TestNoSecretStartInErrors(t *testing.T) {
	const (
		user  = "collector"
		pass  = "hunter2-Pa55word-4711"
		token = "T0ken-Secret-abcdef123456"
	)
	secrets := []string{pass, token, base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}
	for _, shape := range testserver.EchoShapes {
		for _, status := range []int{http.StatusUnauthorized, http.StatusBadGateway} {
			srv := testserver.CredentialEcho(t, status, shape, errorBodyLimit-6)
			for auth, cfg := range map[string]vmclient.Config{
				"basic":  {URL: srv.URL, Username: user, Password: pass},
				"bearer": {URL: srv.URL, BearerToken: token},
			} {
				name := fmt.Sprintf("%s %d %s", shape, status, auth)
				cfg.Retry = vmclient.Backoff{Initial: time.Millisecond, Max: time.Millisecond}
				var retryErrs []error
				ctx, cancel := context.WithCancel(context.Background())
				cfg.OnRetry = func(_ int, err error, _ time.Duration) {
					retryErrs = append(retryErrs, err)
					cancel()
				}
				c, err := vmclient.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				check := func(what string, err error) {
					t.Helper()
					if err == nil {
						t.Errorf("%s: %s: no error", name, what)
						return
					}
					msg := err.Error()
					if s := testserver.SecretStart(msg, 4, secrets...); s != "" {
						t.Errorf("%s: %s: the error shows %q, the start of a secret: %s", name, what, s, msg)
					}
					if !strings.Contains(msg, "the gateway refused") || strings.Contains(msg, "cannot place") {
						t.Errorf("%s: %s: the error does not quote the answer: %s", name, what, msg)
					}
					var re *vmclient.RequestError
					if !errors.As(err, &re) || re.Status != status || len(re.Body) > errorBodyLimit {
						t.Errorf("%s: %s: want a vmclient.RequestError of HTTP %d with a body of at most %d bytes: %#v", name, what, status, errorBodyLimit, re)
					}
				}
				err = c.Write(ctx, []vmclient.Series{{Labels: []vmclient.Label{{Name: "__name__", Value: "x"}}, Samples: []vmclient.Sample{{Timestamp: 1, Value: 1}}}})
				cancel()
				if status == http.StatusUnauthorized {
					check("Write", err)
				} else {
					if len(retryErrs) != 1 {
						t.Fatalf("%s: Write: %d retries, want 1 (%v)", name, len(retryErrs), err)
					}
					check("Write, retried", retryErrs[0])
				}
				_, err = c.Get(context.Background(), "/api/v1/query", map[string][]string{"query": {"vector(1)"}})
				check("Get", err)
				err = c.CheckDedup(context.Background())
				check("CheckDedup", err)
			}
		}
	}
}
