package testserver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// EchoShape is how CredentialEcho quotes a request's credentials in its
// answer.
type EchoShape string

// Shapes of CredentialEcho's answers.
const (
	// EchoDump is a proxy dumping the request's headers, one a line:
	// "Authorization: Basic …" or "Authorization: Bearer …".
	EchoDump EchoShape = "dump"
	// EchoVMAuth is vmauth with -logInvalidAuthTokens: `cannot authorize
	// request with auth tokens ["http_auth:Basic …"]`, on one line.
	EchoVMAuth EchoShape = "vmauth"
	// EchoPassword names the password of basic auth (or the bearer token)
	// in the clear: "user=… password=…".
	EchoPassword EchoShape = "password"
	// EchoJSON is the Prometheus API's error envelope whose error text is a
	// one-line dump of the headers: {"status":"error","error":"…
	// Authorization: Basic …"}.
	EchoJSON EchoShape = "json"
)

// EchoShapes lists every EchoShape.
var EchoShapes = []EchoShape{EchoDump, EchoVMAuth, EchoPassword, EchoJSON}

// CredentialEcho starts an HTTP server that answers every request with
// status and a body echoing the request's credentials in the given shape,
// as a storage, gateway or proxy that echoes the request might. The
// credential's secret text (the base64 of basic auth, the bearer token,
// or the password for EchoPassword) begins at byte offset at of the body,
// after a filler of plain text, so that a client cutting the body at
// at+n bytes before removing its secrets would leave their first n bytes.
// It is a stand-in for a misbehaving server, not for VictoriaMetrics.
func CredentialEcho(t testing.TB, status int, shape EchoShape, at int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, cred, _ := strings.Cut(auth, " ")
		var before, secret, after string
		switch shape {
		case EchoDump:
			before, secret, after = "\n"+r.Method+" "+r.URL.RequestURI()+"\nAuthorization: "+scheme+" ", cred, "\nUser-Agent: "+r.UserAgent()+"\n"
		case EchoVMAuth:
			before, secret, after = "; cannot authorize request with auth tokens [\"http_auth:"+scheme+" ", cred, "\"]"
		case EchoPassword:
			user, pass, ok := r.BasicAuth()
			if !ok {
				user, pass = "-", cred
			}
			before, secret, after = " user="+user+" password=", pass, " refused"
		case EchoJSON:
			before, secret, after = " Authorization: "+scheme+" ", cred, " User-Agent: "+r.UserAgent()
		default:
			http.Error(w, "unknown echo shape "+string(shape), http.StatusInternalServerError)
			return
		}
		prefix := `{"status":"error","errorType":"unauthorized","error":"`
		if shape != EchoJSON {
			prefix = ""
		}
		body := prefix + filler(at-len(prefix)-len(before)) + before + secret + after
		if shape == EchoJSON {
			body += `"}`
		}
		if strings.Index(body, secret) != at {
			http.Error(w, fmt.Sprintf("echo: cannot place the secret at byte %d", at), http.StatusInternalServerError)
			return
		}
		if shape == EchoJSON {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// filler returns n bytes of plain text (none if n < 0).
func filler(n int) string {
	const words = "the gateway refused the request and dumps it for debugging; "
	if n <= 0 {
		return ""
	}
	return strings.Repeat(words, n/len(words)+1)[:n]
}

// SecretStart returns the longest start of a secret, at least minLen
// bytes long (or the whole secret when shorter), that text contains, or ""
// when it contains none.
func SecretStart(text string, minLen int, secrets ...string) string {
	for _, s := range secrets {
		for n := len(s); n > 0 && n >= min(minLen, len(s)); n-- {
			if strings.Contains(text, s[:n]) {
				return s[:n]
			}
		}
	}
	return ""
}
