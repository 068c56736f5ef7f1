package vmclient

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/secret"
)

func TestNew(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(cfg Config, wantErr string) {
		t.Helper()
		_, err := New(cfg)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("New(%+v): %v", cfg, err)
		case wantErr != "" && err == nil:
			t.Errorf("New(%+v): no error, want %q", cfg, wantErr)
		case wantErr != "" && !strings.Contains(err.Error(), wantErr):
			t.Errorf("New(%+v): error %q, want it to contain %q", cfg, err, wantErr)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("New(%+v): error %q shows the password", cfg, err)
		}
	}
	f(Config{URL: "http://vm:8428"}, "")
	f(Config{URL: "https://vm.example.com/prefix/"}, "")
	f(Config{WriteURL: "http://vminsert:8480/insert/0/prometheus/api/v1/write", QueryURL: "http://vmselect:8481/select/0/prometheus", StorageNodes: []string{"http://vmstorage-1:8482"}}, "")
	f(Config{WriteURL: "http://vminsert:8480/insert/1:2/prometheus/api/v1/write?extra_label=env=prod", QueryURL: "http://vmselect:8481/select/1:2/prometheus/",
		StorageNodes: []string{"http://vmstorage-1:8482", "https://vmstorage-2:8482/"}}, "")
	f(Config{WriteURL: "http://vminsert:8480/insert/0/prometheus/api/v1/write", QueryURL: "http://vmselect:8481/select/0/prometheus"}, "needs StorageNodes")
	f(Config{WriteURL: "http://vminsert:8480/insert/0/prometheus/api/v1/write", QueryURL: "http://vmselect:8481/select/0/prometheus",
		StorageNodes: []string{"vmstorage-1:8482"}}, "StorageNodes[0]")
	f(Config{WriteURL: "http://vminsert:8480/insert/0/prometheus/api/v1/write", QueryURL: "http://vmselect:8481/select/0/prometheus",
		StorageNodes: []string{"http://vmstorage-1:8482/metrics"}}, "base URL")
	f(Config{WriteURL: "http://vminsert:8480/insert/0/prometheus/api/v1/write", QueryURL: "http://vmselect:8481/select/0/prometheus",
		StorageNodes: []string{"http://admin:hunter2@vmstorage-1:8482"}}, "credentials in the URL")
	f(Config{}, "set URL")
	f(Config{URL: "http://vm:8428", WriteURL: "http://vminsert:8480/insert/0/prometheus/api/v1/write"}, "not both")
	f(Config{WriteURL: "http://vminsert:8480/insert/0/prometheus/api/v1/write"}, "both WriteURL and QueryURL")
	f(Config{QueryURL: "http://vmselect:8481/select/0/prometheus"}, "both WriteURL and QueryURL")
	f(Config{URL: "vm:8428"}, "http")
	f(Config{URL: "ftp://vm:8428"}, "http:// or https://")
	f(Config{URL: "http:///x"}, "no host")
	f(Config{URL: "http://vm:8428/api/v1/write"}, "base URL")
	f(Config{URL: "http://vm:8428?x=1"}, "query string")
	f(Config{URL: "http://admin:hunter2@vm:8428"}, "credentials in the URL")
	f(Config{URL: "http://admin:hunter2@vm:8428/%zz"}, "not a URL")
	f(Config{WriteURL: "http://admin:hunter2@vminsert:8480/insert/0/prometheus/api/v1/write", QueryURL: "http://vmselect:8481/select/0/prometheus"}, "credentials in the URL")
	f(Config{WriteURL: "http://vminsert:8480/insert/0", QueryURL: "http://vmselect:8481/select/0/prometheus"}, "full write URL")
	f(Config{WriteURL: "http://vminsert:8480/insert/0/prometheus/api/v1/write", QueryURL: "http://vmselect:8481/select/0/prometheus/api/v1/query"}, "Prometheus API base")
	f(Config{URL: "http://vm:8428", Username: "u", Password: "hunter2", BearerToken: "t"}, "not both")
	f(Config{URL: "http://vm:8428", Password: "hunter2"}, "needs a username")
	f(Config{URL: "http://vm:8428", TLS: TLS{CertFile: "c.pem"}}, "both the certificate and the key")
	f(Config{URL: "http://vm:8428", TLS: TLS{CAFile: missing}}, "missing.pem")
	f(Config{URL: "http://vm:8428", TLS: TLS{CAFile: notPEM}}, "no PEM certificate")
	f(Config{URL: "http://vm:8428", TLS: TLS{CertFile: notPEM, KeyFile: notPEM}}, "client certificate")
}

func TestEndpoints(t *testing.T) {
	f := func(cfg Config, write, query, root string) {
		t.Helper()
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c.WriteURL() != write || c.QueryURL() != query || c.rootURL != root {
			t.Errorf("New(%+v): write %q query %q root %q\nwant write %q query %q root %q",
				cfg, c.WriteURL(), c.QueryURL(), c.rootURL, write, query, root)
		}
	}
	f(Config{URL: "http://vm:8428"}, "http://vm:8428/api/v1/write", "http://vm:8428", "http://vm:8428")
	f(Config{URL: "https://vm/prefix/"}, "https://vm/prefix/api/v1/write", "https://vm/prefix", "https://vm/prefix")
	f(Config{WriteURL: "http://vminsert:8480/insert/0/prometheus/api/v1/write?extra_label=a=b", QueryURL: "https://vmselect:8481/select/0:1/prometheus/",
		StorageNodes: []string{"http://vmstorage-1:8482"}},
		"http://vminsert:8480/insert/0/prometheus/api/v1/write?extra_label=a=b", "https://vmselect:8481/select/0:1/prometheus", "https://vmselect:8481")
	// A cluster's base URLs take their tenant's paths; full paths stay.
	nodes := []string{"http://vmstorage-1:8482"}
	f(Config{WriteURL: "http://ins:8480", QueryURL: "http://sel:8481/", Tenant: "7:1", StorageNodes: nodes},
		"http://ins:8480/insert/7:1/prometheus/api/v1/write", "http://sel:8481/select/7:1/prometheus", "http://sel:8481")
	f(Config{WriteURL: "http://ins:8480/", QueryURL: "http://sel:8481", StorageNodes: nodes},
		"http://ins:8480/insert/0/prometheus/api/v1/write", "http://sel:8481/select/0/prometheus", "http://sel:8481")
	f(Config{WriteURL: "http://ins:8480?extra_label=env=prod", QueryURL: "http://sel:8481", Tenant: "3", StorageNodes: nodes},
		"http://ins:8480/insert/3/prometheus/api/v1/write?extra_label=env=prod", "http://sel:8481/select/3/prometheus", "http://sel:8481")
	f(Config{WriteURL: "http://ins:8480/insert/3/prometheus/api/v1/write", QueryURL: "http://sel:8481/select/3/prometheus", Tenant: "9", StorageNodes: nodes},
		"http://ins:8480/insert/3/prometheus/api/v1/write", "http://sel:8481/select/3/prometheus", "http://sel:8481")
}

// TestSecrets: the configuration's password and bearer token are
// resolved by New from where they are given, and a secret that does not
// resolve fails New with the field, never the value.
func TestSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(path, []byte("hunter2-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VPCFLOW_TEST_TOKEN", "hunter2-env")
	f := func(cfg Config, wantAuth, wantErr string) {
		t.Helper()
		cfg.URL = "http://vm:8428"
		c, err := New(cfg)
		switch {
		case wantErr != "":
			if err == nil || !strings.Contains(err.Error(), wantErr) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%+v: error %v, want %q without the secret", cfg, err, wantErr)
			}
		case err != nil:
			t.Errorf("%+v: %v", cfg, err)
		case c.auth != wantAuth:
			t.Errorf("%+v: authorization %q, want %q", cfg, c.auth, wantAuth)
		}
	}
	f(Config{Username: "u", PasswordSecret: secret.Secret{File: path}}, "Basic dTpodW50ZXIyLWZpbGU=", "")
	f(Config{BearerTokenSecret: secret.Secret{Env: "VPCFLOW_TEST_TOKEN"}}, "Bearer hunter2-env", "")
	f(Config{Username: "u", PasswordSecret: secret.Secret{Value: "hunter2"}}, "Basic dTpodW50ZXIy", "")
	f(Config{Username: "u", PasswordSecret: secret.Secret{Env: "VPCFLOW_SURELY_UNSET"}}, "", "password: environment variable VPCFLOW_SURELY_UNSET is not set")
	f(Config{BearerTokenSecret: secret.Secret{File: path + ".missing"}}, "", "bearer_token: read secret file")
	f(Config{Username: "u", Password: "hunter2", PasswordSecret: secret.Secret{Value: "hunter2"}}, "", "password: given twice")
	f(Config{Username: "u", PasswordSecret: secret.Secret{Value: "x"}, BearerTokenSecret: secret.Secret{Value: "y"}}, "", "not both")
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: 250 * time.Millisecond, Max: 30 * time.Second}
	f := func(attempt int, want time.Duration) {
		t.Helper()
		if got := b.bound(attempt); got != want {
			t.Errorf("bound(%d) = %s, want %s", attempt, got, want)
		}
		for range 100 {
			if w := b.wait(attempt); w < 0 || w > want {
				t.Fatalf("wait(%d) = %s, outside [0, %s]", attempt, w, want)
			}
		}
	}
	f(1, 250*time.Millisecond)
	f(2, 500*time.Millisecond)
	f(3, time.Second)
	f(8, 30*time.Second)
	f(1000, 30*time.Second)
}

// statusServer answers the i-th request with statuses[i] (the last one
// repeating) and counts requests.
func statusServer(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		status := statuses[min(i, len(statuses)-1)]
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", status)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestWriteStatus(t *testing.T) {
	series := []Series{{Labels: []Label{{"__name__", "m"}}, Samples: []Sample{{1767225600000, 1}}}}
	f := func(statuses []int, wantStatus int, wantRequests, wantRetries int64) {
		t.Helper()
		srv, n := statusServer(t, statuses...)
		var retries []int
		c, err := New(Config{URL: srv.URL, Retry: Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond},
			OnRetry: func(attempt int, err error, wait time.Duration) { retries = append(retries, attempt) }})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Write(context.Background(), series)
		var re *RequestError
		switch {
		case wantStatus == 0 && err != nil:
			t.Errorf("%v: Write: %v", statuses, err)
		case wantStatus != 0 && (!errors.As(err, &re) || re.Status != wantStatus):
			t.Errorf("%v: Write: %v, want a *RequestError with status %d", statuses, err, wantStatus)
		case re != nil && re.Body != fmt.Sprintf("answer %d", wantStatus):
			t.Errorf("%v: body %q", statuses, re.Body)
		}
		if n.Load() != wantRequests || int64(len(retries)) != wantRetries {
			t.Errorf("%v: %d requests, OnRetry calls %v; want %d requests, %d retries", statuses, n.Load(), retries, wantRequests, wantRetries)
		}
		st := c.Stats()
		if int64(st.Requests) != wantRequests || int64(st.Retries) != wantRetries {
			t.Errorf("%v: stats %+v, want %d requests, %d retries", statuses, st, wantRequests, wantRetries)
		}
		if ok := wantStatus == 0; ok != (st.Samples == 1) || ok == (st.Failures == 1) {
			t.Errorf("%v: stats %+v", statuses, st)
		}
	}
	f([]int{204}, 0, 1, 0)
	f([]int{200}, 0, 1, 0)
	f([]int{500, 204}, 0, 2, 1)
	f([]int{502, 503, 504, 204}, 0, 4, 3)
	f([]int{429, 429, 204}, 0, 3, 2)
	f([]int{408, 204}, 0, 2, 1)
	f([]int{400}, 400, 1, 0)
	f([]int{401}, 401, 1, 0)
	f([]int{403}, 403, 1, 0)
	f([]int{404}, 404, 1, 0)
	f([]int{413}, 413, 1, 0)
	f([]int{503, 400}, 400, 2, 1)
}

func TestWriteCancelWhileRetrying(t *testing.T) {
	srv, _ := statusServer(t, 503)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(Config{URL: srv.URL, Retry: Backoff{Initial: time.Millisecond, Max: time.Millisecond},
		OnRetry: func(attempt int, err error, wait time.Duration) {
			if attempt == 3 {
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Write(ctx, []Series{{Samples: []Sample{{1, 1}}}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "503") {
		t.Errorf("Write = %v, want context.Canceled naming the last error", err)
	}
}

func TestWriteTimeout(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then a closed connection cancels r.Context()
		if n.Add(1) == 1 {
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var retryErr error
	c, err := New(Config{URL: srv.URL, Timeout: 50 * time.Millisecond, Retry: Backoff{Initial: time.Millisecond},
		OnRetry: func(_ int, err error, _ time.Duration) { retryErr = err }})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), []Series{{Samples: []Sample{{1, 1}}}}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if n.Load() != 2 || !errors.Is(retryErr, context.DeadlineExceeded) {
		t.Errorf("%d requests, retry error %v; want 2 and a deadline", n.Load(), retryErr)
	}
}

// recorder keeps the headers and decoded bodies of the requests it gets.
type recorder struct {
	mu      sync.Mutex
	headers []http.Header
	paths   []string
	bodies  [][]Series
}

func (rec *recorder) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.headers = append(rec.headers, r.Header.Clone())
		rec.paths = append(rec.paths, r.URL.RequestURI())
		if r.Method == http.MethodPost {
			rec.bodies = append(rec.bodies, decodeWriteRequest(t, body))
		}
		rec.mu.Unlock()
		if r.URL.Path == "/flags" {
			fmt.Fprintln(w, `-dedup.minScrapeInterval="1ms"`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRequestHeaders(t *testing.T) {
	series := []Series{{Labels: []Label{{"__name__", "m"}, {"a", "b"}}, Samples: []Sample{{1767225600000, 42}}}}
	f := func(cfg Config, wantAuth string) {
		t.Helper()
		var rec recorder
		srv := rec.serve(t)
		cfg.URL = srv.URL
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := c.Write(ctx, series); err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.CheckDedup(ctx); err != nil {
			t.Fatal(err)
		}
		wantPaths := []string{"/api/v1/write", "/api/v1/write", "/api/v1/status/buildinfo", "/flags"}
		if !reflect.DeepEqual(rec.paths, wantPaths) {
			t.Errorf("paths %q, want %q", rec.paths, wantPaths)
		}
		for i, h := range rec.headers {
			if got := h.Get("Authorization"); got != wantAuth {
				t.Errorf("request %d (%s): Authorization %q, want %q", i, rec.paths[i], got, wantAuth)
			}
		}
		h := rec.headers[0]
		for k, v := range map[string]string{"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf", "X-Prometheus-Remote-Write-Version": "0.1.0"} {
			if h.Get(k) != v {
				t.Errorf("%s: %q, want %q", k, h.Get(k), v)
			}
		}
		if !reflect.DeepEqual(rec.bodies, [][]Series{series, nil}) {
			t.Errorf("bodies %+v, want the series then an empty request", rec.bodies)
		}
	}
	f(Config{}, "")
	f(Config{Username: "collector", Password: "hunter2"}, "Basic Y29sbGVjdG9yOmh1bnRlcjI=")
	f(Config{Username: "collector"}, "Basic Y29sbGVjdG9yOg==")
	f(Config{BearerToken: "tok3n"}, "Bearer tok3n")
}

// TestNoSecretInErrors runs against a server that echoes the credentials
// back, in refusals and in server errors.
func TestNoSecretInErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusUnauthorized
		if strings.Contains(r.URL.Path, "busy") {
			status = http.StatusServiceUnavailable
		}
		user, pass, _ := r.BasicAuth()
		w.WriteHeader(status)
		fmt.Fprintf(w, "bad credentials: Authorization=%q user=%s password=%s", r.Header.Get("Authorization"), user, pass)
	}))
	defer srv.Close()
	secrets := []string{"hunter2", "tok3n", "Y29sbGVjdG9yOmh1bnRlcjI="}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error shows a secret: %v", what, err)
			}
		}
	}
	for _, cfg := range []Config{
		{URL: srv.URL, Username: "collector", Password: "hunter2"},
		{URL: srv.URL, BearerToken: "tok3n"},
		{WriteURL: srv.URL + "/busy/api/v1/write", QueryURL: srv.URL + "/select/0/prometheus", Username: "collector", Password: "hunter2", StorageNodes: []string{srv.URL}},
	} {
		var retryErrs []error
		cfg.Retry = Backoff{Initial: time.Millisecond, Max: time.Millisecond}
		ctx, cancel := context.WithCancel(context.Background())
		cfg.OnRetry = func(attempt int, err error, _ time.Duration) {
			retryErrs = append(retryErrs, err)
			if attempt == 2 {
				cancel()
			}
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Write(ctx, []Series{{Samples: []Sample{{1, 1}}}})
		cancel()
		check("Write", err)
		if err == nil {
			t.Fatal("Write: no error")
		}
		if !strings.Contains(err.Error(), "<redacted>") {
			t.Errorf("Write: %v: the echoed secret is not marked redacted", err)
		}
		for _, e := range retryErrs {
			check("OnRetry", e)
		}
		check("Ping", c.Ping(context.Background()))
		check("CheckDedup", c.CheckDedup(context.Background()))
		if s := fmt.Sprintf("%+v", c.Stats()); strings.Contains(s, "hunter2") || strings.Contains(s, "tok3n") {
			t.Errorf("Stats shows a secret: %s", s)
		}
	}
}

func TestTLS(t *testing.T) {
	var rec recorder
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = rec.serve(t).Config.Handler
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f := func(cfg TLS, wantErr string) {
		t.Helper()
		c, err := New(Config{URL: srv.URL, TLS: cfg})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Ping(ctx)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("TLS %+v: %v", cfg, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("TLS %+v: error %v, want %q", cfg, err, wantErr)
		}
	}
	f(TLS{CAFile: ca}, "")
	f(TLS{CAFile: ca, ServerName: "example.com"}, "") // httptest's certificate names example.com
	f(TLS{CAFile: ca, ServerName: "other.org"}, "certificate")
	f(TLS{}, "certificate")
	f(TLS{InsecureSkipVerify: true}, "")
}

func TestFlagValue(t *testing.T) {
	f := func(flags, wantValue string, wantFound, wantErr bool) {
		t.Helper()
		v, found, err := flagValue([]byte(flags), "dedup.minScrapeInterval")
		if v != wantValue || found != wantFound || (err != nil) != wantErr {
			t.Errorf("flagValue(%q) = %q, %v, %v; want %q, %v, error %v", flags, v, found, err, wantValue, wantFound, wantErr)
		}
	}
	f("-dedup.minScrapeInterval=\"1ms\"\n-retentionPeriod=\"100y\"\n", "1ms", true, false)
	f("-a=\"b\"\n  -dedup.minScrapeInterval=\"0s\"  \n", "0s", true, false)
	f("-httpListenAddr=\":8428\"\n", "", false, false)
	f("-dedup.minScrapeInterval.other=\"5s\"\n", "", false, false)
	f("", "", false, false)
	f("<html>login</html>", "", false, true)
}

func TestCheckDedupAnswers(t *testing.T) {
	f := func(status int, body, want string, wantUnknown bool) {
		t.Helper()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}))
		defer srv.Close()
		c, err := New(Config{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		err = c.CheckDedup(context.Background())
		var unknown *DedupUnknownError
		switch {
		case want == "" && err != nil:
			t.Errorf("%d %q: %v", status, body, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%d %q: error %v, want %q", status, body, err, want)
		case errors.As(err, &unknown) != wantUnknown:
			t.Errorf("%d %q: error %T %v, DedupUnknownError wanted: %v", status, body, err, err, wantUnknown)
		}
	}
	f(200, `-dedup.minScrapeInterval="1ms"`, "", false)
	f(200, `-dedup.minScrapeInterval="0s"`, "is 0 (off)", false)
	f(200, `-dedup.minScrapeInterval="0"`, "is 0 (off)", false)
	f(200, `-dedup.minScrapeInterval="500µs"`, "is 0 (off)", false)
	f(200, `-other="1"`, "is 0 (off): replayed batches would be counted twice; start it with -dedup.minScrapeInterval=1ms", false)
	f(200, `-dedup.minScrapeInterval="2ms"`, "merges samples less than 2ms apart", false)
	f(200, `-dedup.minScrapeInterval="1m0s"`, "merges samples less than 1m0s apart, which would drop data; set -dedup.minScrapeInterval=1ms", false)
	f(200, `-dedup.minScrapeInterval="soon"`, "cannot check", true)
	f(404, `not found`, "cannot check VictoriaMetrics' -dedup.minScrapeInterval", true)
	f(401, `Unauthorized`, "HTTP 401", true)
	f(200, `<html>`, "does not list flags", true)
}
