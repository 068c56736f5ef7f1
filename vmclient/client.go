// Package vmclient is the one client of VictoriaMetrics: the collector
// writes through it, and the report engine, the rank index, the report
// command and the Grafana plugin query through it.
//
//   - URLs: a single node (Config.URL), a cluster's vmselect for queries
//     only (Config.URL ending in /select/<tenant>/prometheus), or a cluster
//     (Config.WriteURL for vminsert, Config.QueryURL for vmselect,
//     Config.StorageNodes for the vmstorage nodes).
//   - Every request carries the credentials (basic auth, a bearer token,
//     Config.Header) and TLS; no error shows a secret (Redactor).
//   - Writes (write.go, encode.go): Prometheus remote write (protobuf,
//     snappy), retried with backoff until acknowledged.
//   - Queries (query.go): instant and range queries with exact
//     millisecond times, at most Config.Concurrency at once.
//   - Checks: the deduplication setting (dedup.go), when acknowledged
//     samples are saved to disk and which restarts lost some (durable.go),
//     the storage's health as the writes see it (health.go), and all of
//     them before the collector starts (WaitReady) or for its test command
//     (Check), in ready.go.
//   - Configuration: Config is the collector configuration's storage
//     section too (yaml tags, DefaultConfig); New resolves its secrets
//     (package secret) and turns a cluster's base URLs and tenant into the
//     vminsert and vmselect paths.
//
// Writes, the dedup check (vmselect's /flags and every vmstorage's
// /metrics) and CheckDurability are tested against real cluster binaries
// (v1.150.0-cluster, see testserver.VictoriaMetricsCluster), as are the
// URL shapes /insert/<tenant>/prometheus/api/v1/write and
// /select/<tenant>/prometheus, path by path, in a tenant other than the
// default (TestClusterURLs).
package vmclient

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpcflow/vpcflow/secret"
)

// TLS configures HTTPS to the storage (the configuration's storage.tls).
// Empty fields keep Go's defaults (system roots, no client certificate).
type TLS struct {
	// CAFile is a PEM file of CA certificates to trust instead of the
	// system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key (both or
	// neither).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns certificate checks off (tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Backoff is the wait between write attempts: a random duration between 0
// and min(Max, Initial·2^(attempt-1)) ("full jitter").
type Backoff struct {
	// Initial is the bound of the first wait; default 250ms.
	Initial time.Duration
	// Max bounds every wait; default 30s.
	Max time.Duration
}

// Defaults of Config.
const (
	DefaultTimeout             = 30 * time.Second
	DefaultTenant              = "0"
	DefaultMaxSeriesPerRequest = 10_000
	DefaultBackoffInitial      = 250 * time.Millisecond
	DefaultBackoffMax          = 30 * time.Second
	DefaultConcurrency         = 4
)

// Config configures a Client. Set URL for a single node (or, for queries
// only, a cluster's vmselect), or WriteURL and QueryURL for a cluster.
// With its yaml tags it is the collector configuration's storage section;
// the fields without one are set by the program (the Grafana plugin, the
// report command, tests).
type Config struct {
	// URL is a single node's base URL, e.g. http://victoria:8428: writes go
	// to URL/api/v1/write, queries to URL/api/v1/..., the flags check to
	// URL/flags. It may instead be a cluster's vmselect Prometheus API base,
	// http://vmselect:8481/select/0/prometheus: the client then queries
	// only (the flags are read at vmselect's root).
	URL string `yaml:"url"`
	// WriteURL is a cluster's vminsert: its base URL, e.g.
	// http://vminsert:8480, to which New adds
	// /insert/<Tenant>/prometheus/api/v1/write, or the full write URL. The
	// full URL may carry a query string (extra_label=...).
	WriteURL string `yaml:"write_url"`
	// QueryURL is a cluster's vmselect: its base URL, e.g.
	// http://vmselect:8481, to which New adds /select/<Tenant>/prometheus,
	// or that Prometheus API base itself.
	QueryURL string `yaml:"query_url"`
	// Tenant is the cluster tenant, "accountID" or "accountID:projectID",
	// of WriteURL and QueryURL given as base URLs; default "0".
	Tenant string `yaml:"tenant"`

	// Username and Password are sent as HTTP basic auth when Username is
	// set. They never appear in errors.
	Username string `yaml:"username"`
	Password string `yaml:"-"`
	// PasswordSecret is where a configuration file finds the password
	// (its key password: inline, {file: PATH} or {env: NAME}); New
	// resolves it into Password. Set one of the two.
	PasswordSecret secret.Secret `yaml:"password"`
	// BearerTokenSecret is where a configuration file finds the bearer
	// token (its key bearer_token); New resolves it into BearerToken. Set
	// one of the two.
	BearerTokenSecret secret.Secret `yaml:"bearer_token"`
	// BearerToken is sent as "Authorization: Bearer ..." when set.
	BearerToken string `yaml:"-"`
	// TLS configures https URLs (unless HTTPClient is set).
	TLS TLS `yaml:"tls"`
	// Header holds more headers for every request (a proxy's tenant
	// header, for example). Their values never appear in errors.
	Header http.Header `yaml:"-"`
	// HTTPClient sends the requests; nil means a client of its own with
	// TLS (the Grafana plugin passes the SDK's, with its TLS and proxy
	// settings).
	HTTPClient *http.Client `yaml:"-"`
	// Concurrency bounds the queries (Instant, Range) run at the same
	// time; default 4.
	Concurrency int `yaml:"-"`

	// Timeout bounds each HTTP request; default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// SkipDedupCheck lets WaitReady go on when the storage's dedup setting
	// cannot be read (it still fails when the setting is read and wrong).
	SkipDedupCheck bool `yaml:"skip_dedup_check"`
	// MaxSeriesPerRequest splits a larger Write into several requests;
	// default 10000.
	MaxSeriesPerRequest int `yaml:"-"`
	// Retry is the wait between write attempts; zero fields take defaults.
	Retry Backoff `yaml:"-"`
	// OnRetry, when set, is called before each wait after a failed attempt
	// (attempt counts from 1), e.g. to log it. err carries no secret.
	OnRetry func(attempt int, err error, wait time.Duration) `yaml:"-"`

	// StorageNodes are the base URLs of the processes that keep the
	// samples, whose /metrics CheckDurability reads (start time, flush
	// interval, dedup setting). A single node is its URL, the default; a
	// cluster needs each vmstorage's HTTP address, e.g.
	// http://vmstorage-1:8482.
	StorageNodes []string `yaml:"storage_nodes"`
	// InsertNodes are the base URLs of a cluster's vminsert processes
	// whose restarts are watched too (vminsert acknowledges a write before
	// it forwarded the rows, within 200 ms): optional; for a vminsert
	// behind a load balancer, list each one's own address.
	InsertNodes []string `yaml:"insert_nodes"`
	// DurableAfter, when set, replaces how long after an acknowledgement
	// samples are taken as saved to disk; by default it is derived from the
	// nodes' -inmemoryDataFlushInterval (18s at its default of 5s). A
	// shorter value than the storage needs loses data when a node crashes.
	DurableAfter time.Duration `yaml:"durable_after"`
	// DisableFlush keeps the collector from asking the storage to save its
	// data at once (Flush: /snapshot/create, then /snapshot/delete) at the
	// end of `run --once` and at a stop: it then waits the save delay
	// (DurableAfter) before deleting the last objects.
	DisableFlush bool `yaml:"disable_flush"`
	// Logger receives a warning when writes or checks start failing, one
	// every 30 s while they go on, and a line when they work again, and
	// WaitReady's progress; nil logs nothing.
	Logger *slog.Logger `yaml:"-"`
}

// DefaultConfig returns the defaults of Config, which New also takes for
// the fields left zero.
func DefaultConfig() Config {
	return Config{Tenant: DefaultTenant, Timeout: DefaultTimeout, Concurrency: DefaultConcurrency,
		MaxSeriesPerRequest: DefaultMaxSeriesPerRequest, Retry: Backoff{Initial: DefaultBackoffInitial, Max: DefaultBackoffMax}}
}

// Client writes to and checks one VictoriaMetrics. It is safe for
// concurrent use.
type Client struct {
	writeURL  string // full URL writes are POSTed to
	queryBase string // Prometheus API base, without a trailing slash
	rootURL   string // where /flags and /health live
	cluster   bool

	auth    string      // Authorization header value, or ""
	header  http.Header // more headers
	secrets []string    // strings to scrub from anything we report
	sem     chan struct{}

	httpClient *http.Client
	timeout    time.Duration
	maxSeries  int
	backoff    Backoff
	onRetry    func(int, error, time.Duration)

	encoders sync.Pool // *encoder

	nodes           []string // storage nodes' base URLs
	insertNodes     []string // vminserts' base URLs
	durableAfterCfg time.Duration
	skipDedupCheck  bool
	disableFlush    bool
	durMu           sync.Mutex // guards seen, gen
	seen            []nodeState
	gen             uint64
	restarts        atomic.Uint64

	log           *slog.Logger
	healthMu      sync.Mutex // guards health, loggedFailure
	health        Health
	loggedFailure time.Time

	requests, retries, failures     atomic.Uint64
	bytesSent, series, samplesWrote atomic.Uint64
}

// New checks cfg and returns a Client. It does not contact the storage (see
// Ping).
func New(cfg Config) (*Client, error) {
	c := &Client{
		timeout:   cfg.Timeout,
		maxSeries: cfg.MaxSeriesPerRequest,
		backoff:   cfg.Retry,
		onRetry:   cfg.OnRetry,

		durableAfterCfg: cfg.DurableAfter,
		skipDedupCheck:  cfg.SkipDedupCheck,
		disableFlush:    cfg.DisableFlush,
		log:             cfg.Logger,
		health:          Health{Up: true, Since: time.Now()},
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxSeries <= 0 {
		c.maxSeries = DefaultMaxSeriesPerRequest
	}
	if c.backoff.Initial <= 0 {
		c.backoff.Initial = DefaultBackoffInitial
	}
	if c.backoff.Max <= 0 {
		c.backoff.Max = DefaultBackoffMax
	}
	c.backoff.Max = max(c.backoff.Max, c.backoff.Initial)

	switch {
	case cfg.URL != "" && (cfg.WriteURL != "" || cfg.QueryURL != ""):
		return nil, errors.New("VictoriaMetrics: set URL (single node) or WriteURL and QueryURL (cluster), not both")
	case cfg.URL != "":
		base, err := parseURL("URL", cfg.URL, false)
		if err != nil {
			return nil, err
		}
		if strings.Contains(base.Path, "/api/v1") {
			return nil, fmt.Errorf("VictoriaMetrics URL %s: give the base URL without /api/v1, e.g. http://victoria:8428 or http://vmselect:8481/select/0/prometheus", base)
		}
		base.Path, base.RawPath = strings.TrimRight(base.Path, "/"), ""
		b := base.String()
		if m := vmselectPath.FindStringSubmatch(base.Path); m != nil {
			// A vmselect: queries only.
			root := *base
			root.Path = m[1]
			c.queryBase, c.rootURL, c.cluster = b, root.String(), true
			break
		}
		c.writeURL, c.queryBase, c.rootURL = b+"/api/v1/write", b, b
		c.nodes = []string{b}
	case cfg.WriteURL == "" || cfg.QueryURL == "":
		return nil, errors.New("VictoriaMetrics: set URL (single node), or both WriteURL and QueryURL (cluster)")
	default:
		tenant := cmp.Or(cfg.Tenant, DefaultTenant)
		w, err := parseURL("WriteURL", cfg.WriteURL, true)
		if err != nil {
			return nil, err
		}
		if w.Path == "" || w.Path == "/" {
			w.Path, w.RawPath = "/insert/"+tenant+"/prometheus/api/v1/write", ""
		}
		if !strings.HasSuffix(w.Path, "/api/v1/write") {
			return nil, fmt.Errorf("VictoriaMetrics: WriteURL %s: want vminsert's base URL or the full write URL, e.g. http://vminsert:8480 or http://vminsert:8480/insert/0/prometheus/api/v1/write", w.Redacted())
		}
		q, err := parseURL("QueryURL", cfg.QueryURL, false)
		if err != nil {
			return nil, err
		}
		if q.Path == "" || q.Path == "/" {
			q.Path, q.RawPath = "/select/"+tenant+"/prometheus", ""
		}
		if strings.Contains(q.Path, "/api/v1") {
			return nil, fmt.Errorf("VictoriaMetrics: QueryURL %s: want the Prometheus API base, e.g. http://vmselect:8481/select/0/prometheus", q)
		}
		c.writeURL, c.queryBase = w.String(), strings.TrimRight(q.String(), "/")
		c.rootURL, c.cluster = (&url.URL{Scheme: q.Scheme, Host: q.Host}).String(), true
		if len(cfg.StorageNodes) == 0 {
			return nil, errors.New("VictoriaMetrics: a cluster needs StorageNodes, the HTTP address of each vmstorage (e.g. http://vmstorage-1:8482): " +
				"their /metrics tell when acknowledged samples are saved to disk, and which restarts lost them")
		}
	}
	for i, raw := range cfg.InsertNodes {
		if !c.cluster {
			return nil, errors.New("VictoriaMetrics: InsertNodes are for a cluster (WriteURL)")
		}
		u, err := parseURL(fmt.Sprintf("InsertNodes[%d]", i), raw, false)
		if err != nil {
			return nil, err
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			return nil, fmt.Errorf("VictoriaMetrics: InsertNodes[%d] %s: want the node's base URL, e.g. http://vminsert-1:8480", i, u)
		}
		c.insertNodes = append(c.insertNodes, strings.TrimRight(u.String(), "/"))
	}
	if len(cfg.StorageNodes) > 0 {
		c.nodes = nil
		for i, raw := range cfg.StorageNodes {
			u, err := parseURL(fmt.Sprintf("StorageNodes[%d]", i), raw, false)
			if err != nil {
				return nil, err
			}
			if p := strings.Trim(u.Path, "/"); p != "" {
				return nil, fmt.Errorf("VictoriaMetrics: StorageNodes[%d] %s: want the node's base URL, e.g. http://vmstorage-1:8482", i, u)
			}
			c.nodes = append(c.nodes, strings.TrimRight(u.String(), "/"))
		}
	}

	password, bearer := cfg.Password, cfg.BearerToken
	for _, s := range []struct {
		key  string
		from secret.Secret
		dst  *string
	}{{"password", cfg.PasswordSecret, &password}, {"bearer_token", cfg.BearerTokenSecret, &bearer}} {
		if !s.from.IsSet() {
			continue
		}
		if *s.dst != "" {
			return nil, fmt.Errorf("VictoriaMetrics: %s: given twice, as a value and as a secret", s.key)
		}
		v, err := s.from.Resolve()
		if err != nil {
			return nil, fmt.Errorf("VictoriaMetrics: %s: %w", s.key, err) // names the file or variable, not the value
		}
		*s.dst = v
	}
	switch {
	case bearer != "" && (cfg.Username != "" || password != ""):
		return nil, errors.New("VictoriaMetrics: set a username and password or a bearer token, not both")
	case password != "" && cfg.Username == "":
		return nil, errors.New("VictoriaMetrics: a password needs a username")
	case cfg.Username != "":
		cred := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + password))
		c.auth = "Basic " + cred
		c.secrets = append(c.secrets, cred)
		if password != "" {
			c.secrets = append(c.secrets, password)
		}
	case bearer != "":
		c.auth = "Bearer " + bearer
		c.secrets = append(c.secrets, bearer)
	}

	c.header = cfg.Header.Clone()
	for _, vs := range c.header {
		c.secrets = append(c.secrets, vs...)
	}
	c.httpClient = cfg.HTTPClient
	if c.httpClient == nil {
		tlsConfig, err := loadTLS(cfg.TLS)
		if err != nil {
			return nil, err
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = tlsConfig
		transport.MaxIdleConnsPerHost = 32
		c.httpClient = &http.Client{Transport: transport}
	}
	n := cfg.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	c.sem = make(chan struct{}, n)
	c.encoders.New = func() any { return new(encoder) }
	return c, nil
}

// vmselectPath matches a vmselect Prometheus API path: prefix, tenant.
var vmselectPath = regexp.MustCompile(`^(.*)/select/[^/]+/prometheus$`)

// parseURL parses an http(s) URL from the configuration. URLs with
// credentials are refused; errors never print the password.
func parseURL(field, raw string, allowQuery bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error would print the whole URL
		}
		return nil, fmt.Errorf("VictoriaMetrics %s: not a URL: %v", field, err)
	}
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("VictoriaMetrics %s %s: credentials in the URL are not allowed: set the username and password or bearer token", field, u.Redacted())
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("VictoriaMetrics %s %s: want an http:// or https:// URL", field, u)
	case u.Host == "":
		return nil, fmt.Errorf("VictoriaMetrics %s %s: no host", field, u)
	case u.Fragment != "" || (u.RawQuery != "" && !allowQuery):
		return nil, fmt.Errorf("VictoriaMetrics %s %s: no query string or fragment allowed", field, u.Redacted())
	}
	return u, nil
}

func loadTLS(cfg TLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         cfg.ServerName,
		InsecureSkipVerify: cfg.InsecureSkipVerify,
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("VictoriaMetrics: TLS CA file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("VictoriaMetrics: TLS CA file %s: no PEM certificate in it", cfg.CAFile)
		}
	}
	switch {
	case cfg.CertFile != "" && cfg.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("VictoriaMetrics: TLS client certificate %s: %w", cfg.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case cfg.CertFile != "" || cfg.KeyFile != "":
		return nil, errors.New("VictoriaMetrics: TLS client certificate: set both the certificate and the key file")
	}
	return tc, nil
}

// WriteURL returns the URL writes are POSTed to.
func (c *Client) WriteURL() string { return c.writeURL }

// QueryURL returns the Prometheus query API base (queries go to
// QueryURL()+"/api/v1/query_range" and so on), without a trailing slash.
func (c *Client) QueryURL() string { return c.queryBase }

// RequestError is an HTTP error answer from the storage.
type RequestError struct {
	// URL is the request's URL (configured URLs never hold credentials).
	URL string
	// Status is the HTTP status code.
	Status int
	// Body is the answer with its secrets and echoed credential headers
	// removed (see Redactor), then cut to at most 512 bytes (2048 for a
	// query): the start of a secret never shows.
	Body string

	message    string // the Prometheus API's "error", when the answer has one
	retryAfter time.Duration
}

// Message returns what the answer says went wrong: the Prometheus API's
// error message when the answer is one, else Body.
func (e *RequestError) Message() string {
	if e.message != "" {
		return e.message
	}
	return e.Body
}

// Error implements error.
func (e *RequestError) Error() string {
	return fmt.Sprintf("%s: HTTP %d %s: %s", e.URL, e.Status, http.StatusText(e.Status), e.Body)
}

// Temporary reports whether the request may succeed later: 5xx, 429 Too
// Many Requests and 408 Request Timeout. Write retries those; other
// statuses are permanent (the request itself is wrong).
func (e *RequestError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

// maxErrorBody bounds RequestError.Body, after redaction (ReadErrorBody
// reads up to MaxErrorRead bytes of the answer).
const maxErrorBody = 512

// Get sends an authenticated GET to the query API: QueryURL()+path, with
// params, and returns the answer's body. A non-2xx answer is a
// *RequestError. It does not retry.
func (c *Client) Get(ctx context.Context, path string, params url.Values) ([]byte, error) {
	if c.queryBase == "" {
		return nil, errors.New("VictoriaMetrics: no query URL")
	}
	u := c.queryBase + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	return c.get(ctx, u)
}

func (c *Client) get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	return c.do(req, maxErrorBody)
}

// do sends req with the credentials and returns the body of a 2xx answer;
// an error answer is a *RequestError whose body is cut to limit bytes.
// Errors name the URL and hold no secret.
func (c *Client) do(req *http.Request, limit int) ([]byte, error) {
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	req.Header.Set("User-Agent", "vpcflow")
	u := req.URL.String()
	resp, err := c.httpClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which we print ourselves
		}
		return nil, &redactedError{msg: fmt.Sprintf("%s %s: %s", strings.ToLower(req.Method), u, c.redact(err.Error())), err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		// The whole answer (up to MaxErrorRead) is redacted before it is
		// cut, so that a cut never leaves the start of a secret.
		head, truncated := ReadErrorBody(resp.Body)
		re := &RequestError{
			URL:        u,
			Status:     resp.StatusCode,
			Body:       c.redactor().Cut(string(head), truncated, limit),
			retryAfter: retryAfter(resp.Header.Get("Retry-After")),
		}
		var r apiResponse
		if !truncated && json.Unmarshal(head, &r) == nil && r.Error != "" {
			re.message = c.redactor().Cut(r.Error, false, limit)
		}
		return nil, re
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %s", strings.ToLower(req.Method), u, c.redact(err.Error()))
	}
	return body, nil
}

// redactor returns the Redactor of the client's secrets (built on demand:
// only errors need it).
func (c *Client) redactor() *Redactor { return NewRedactor(c.secrets...) }

// redact removes every secret and echoed credential header from s.
func (c *Client) redact(s string) string { return c.redactor().String(s) }

// retryAfter parses a Retry-After header given in seconds (dates are
// ignored).
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
