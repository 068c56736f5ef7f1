package report

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/vmclient"
)

// Defaults of Config.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultConcurrency = 4
)

// Config says how to reach VictoriaMetrics.
type Config struct {
	// URL is a single node's base URL (http://victoria:8428) or a cluster's
	// vmselect Prometheus API base (http://vmselect:8481/select/0/prometheus).
	// Queries go to URL/api/v1/query and URL/api/v1/query_range; /flags is
	// read at the single node's URL, or at the vmselect root. It may not
	// hold credentials.
	URL string
	// Username and Password are sent as HTTP basic auth when Username is
	// set.
	Username, Password string
	// BearerToken is sent as "Authorization: Bearer …" when set.
	BearerToken string
	// Header holds more headers for every request (a proxy's tenant
	// header, for example). Their values never appear in errors.
	Header http.Header
	// HTTPClient sends the requests; nil means a client of its own (the
	// Grafana plugin passes the SDK's, with its TLS and proxy settings).
	HTTPClient *http.Client
	// Timeout bounds each request; default 30s.
	Timeout time.Duration
	// Concurrency bounds the queries one Client runs at the same time;
	// default 4.
	Concurrency int
}

// Client runs MetricsQL queries against VictoriaMetrics' Prometheus query
// API. It is safe for concurrent use.
type Client struct {
	base    string // Prometheus API base, no trailing slash
	root    string // where /flags lives
	cluster bool
	auth    string
	secrets []string           // strings never to show in errors
	redact  *vmclient.Redactor // removes them (and echoed credential headers)
	header  http.Header
	http    *http.Client
	timeout time.Duration
	sem     chan struct{}
}

// clusterPath matches a vmselect Prometheus API path: prefix, tenant.
var clusterPath = regexp.MustCompile(`^(.*)/select/[^/]+/prometheus$`)

// NewClient checks cfg and returns a Client. It does not contact
// VictoriaMetrics (see Engine.Health).
func NewClient(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error would print the whole URL
		}
		return nil, fmt.Errorf("VictoriaMetrics URL: not a URL: %v", err)
	}
	switch {
	case cfg.URL == "":
		return nil, errors.New("VictoriaMetrics URL is empty: want e.g. http://victoria:8428 or http://vmselect:8481/select/0/prometheus")
	case u.User != nil:
		return nil, fmt.Errorf("VictoriaMetrics URL %s: credentials in the URL are not allowed: set the username and password or bearer token", u.Redacted())
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("VictoriaMetrics URL %s: want an http:// or https:// URL", u)
	case u.Host == "":
		return nil, fmt.Errorf("VictoriaMetrics URL %s: no host", u)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("VictoriaMetrics URL %s: no query string or fragment allowed", u.Redacted())
	case strings.Contains(u.Path, "/api/v1"):
		return nil, fmt.Errorf("VictoriaMetrics URL %s: give the base URL without /api/v1, e.g. http://victoria:8428 or http://vmselect:8481/select/0/prometheus", u)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{base: u.String(), root: u.String(), header: cfg.Header.Clone(), http: cfg.HTTPClient, timeout: cfg.Timeout}
	if m := clusterPath.FindStringSubmatch(u.Path); m != nil {
		r := *u
		r.Path = m[1]
		c.root, c.cluster = r.String(), true
	}
	switch {
	case cfg.BearerToken != "" && (cfg.Username != "" || cfg.Password != ""):
		return nil, errors.New("VictoriaMetrics: set a username and password or a bearer token, not both")
	case cfg.Password != "" && cfg.Username == "":
		return nil, errors.New("VictoriaMetrics: a password needs a username")
	case cfg.Username != "":
		cred := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password))
		c.auth = "Basic " + cred
		c.secrets = append(c.secrets, cred, cfg.Password)
	case cfg.BearerToken != "":
		c.auth = "Bearer " + cfg.BearerToken
		c.secrets = append(c.secrets, cfg.BearerToken)
	}
	for _, vs := range c.header {
		c.secrets = append(c.secrets, vs...)
	}
	c.redact = vmclient.NewRedactor(c.secrets...)
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	n := cfg.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	c.sem = make(chan struct{}, n)
	return c, nil
}

// URL returns the Prometheus API base queries go to.
func (c *Client) URL() string { return c.base }

// Sample is one label set's value of an instant query.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// RangeSeries is one label set's values of a range query.
type RangeSeries struct {
	Labels map[string]string
	// Timestamps are the evaluation times, in milliseconds since the Unix
	// epoch, ascending.
	Timestamps []int64
	Values     []float64
}

// Instant evaluates expr at time at (millisecond precision) with nocache=1.
func (c *Client) Instant(ctx context.Context, expr string, at time.Time) ([]Sample, error) {
	form := url.Values{"query": {expr}, "time": {formatTime(at)}, "nocache": {"1"}}
	var out []vectorSample
	if err := c.query(ctx, "/api/v1/query", form, "vector", &out); err != nil {
		return nil, err
	}
	return samplesOf(out), nil
}

// Range evaluates expr at start, start+step, … up to end (millisecond
// precision) with nocache=1, which keeps VictoriaMetrics from aligning
// start and end to the step.
func (c *Client) Range(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]RangeSeries, error) {
	form := url.Values{"query": {expr}, "start": {formatTime(start)}, "end": {formatTime(end)},
		"step": {strconv.FormatInt(int64(step/time.Second), 10) + "s"}, "nocache": {"1"}}
	var out []struct {
		Metric map[string]string `json:"metric"`
		Values []point           `json:"values"`
	}
	if err := c.query(ctx, "/api/v1/query_range", form, "matrix", &out); err != nil {
		return nil, err
	}
	series := make([]RangeSeries, len(out))
	for i, s := range out {
		rs := RangeSeries{Labels: s.Metric, Timestamps: make([]int64, len(s.Values)), Values: make([]float64, len(s.Values))}
		for j, p := range s.Values {
			rs.Timestamps[j], rs.Values[j] = p.t, p.v
		}
		series[i] = rs
	}
	return series, nil
}

// formatTime formats t as Unix seconds with milliseconds, the precision
// VictoriaMetrics keeps.
func formatTime(t time.Time) string {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// point is a [timestamp, "value"] pair of the Prometheus API.
type point struct {
	t int64 // milliseconds
	v float64
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *point) UnmarshalJSON(b []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("sample %s: %w", b, err)
	}
	ts, err := strconv.ParseFloat(string(raw[0]), 64)
	if err != nil {
		return fmt.Errorf("sample %s: timestamp: %w", b, err)
	}
	var s string
	if err := json.Unmarshal(raw[1], &s); err != nil {
		return fmt.Errorf("sample %s: value: %w", b, err)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("sample %s: value: %w", b, err)
	}
	p.t, p.v = int64(math.Round(ts*1000)), v
	return nil
}

// apiResponse is the envelope of the Prometheus query API.
type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	IsPartial bool   `json:"isPartial"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// maxErrorBody bounds how much of an error answer is shown, after its
// secrets are removed (vmclient.ReadErrorBody reads up to
// vmclient.MaxErrorRead bytes of it).
const maxErrorBody = 2048

// query POSTs form to the query API path and decodes the result, which
// must be of resultType, into out.
func (c *Client) query(ctx context.Context, path string, form url.Values, resultType string, out any) error {
	body, err := c.do(ctx, http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	if err := decodeAnswer(body, resultType, out); err != nil {
		return c.redact.Error(fmt.Errorf("VictoriaMetrics at %s: %s: %w", c.base, path, err))
	}
	return nil
}

// decodeAnswer decodes a query API answer whose result must be of
// resultType into out. A partial answer (a cluster with a storage node
// down) is an error: its sums would be short.
func decodeAnswer(body []byte, resultType string, out any) error {
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("cannot decode the answer: %w", err)
	}
	switch {
	case r.Status != "success":
		return fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	case r.IsPartial:
		return errors.New("partial answer: a storage node is unavailable")
	case r.Data.ResultType != resultType:
		return fmt.Errorf("result type %q, want %q", r.Data.ResultType, resultType)
	}
	if err := json.Unmarshal(r.Data.Result, out); err != nil {
		return fmt.Errorf("cannot decode the result: %w", err)
	}
	return nil
}

// DecodeVector decodes the answer of an instant query (/api/v1/query) that
// was sent by other means, such as the collector's storage client.
func DecodeVector(body []byte) ([]Sample, error) {
	var out []vectorSample
	if err := decodeAnswer(body, "vector", &out); err != nil {
		return nil, err
	}
	return samplesOf(out), nil
}

// vectorSample is one series of an instant query's result.
type vectorSample struct {
	Metric map[string]string `json:"metric"`
	Value  point             `json:"value"`
}

func samplesOf(out []vectorSample) []Sample {
	samples := make([]Sample, len(out))
	for i, s := range out {
		samples[i] = Sample{Labels: s.Metric, Value: s.Value.v}
	}
	return samples
}

// getRoot GETs path at the root URL (/flags).
func (c *Client) getRoot(ctx context.Context, path string) ([]byte, error) {
	return c.do(ctx, http.MethodGet, c.root+path, nil)
}

// do sends one request with the credentials and returns the body of a 2xx
// answer. Errors name the URL (never with credentials) and what failed.
func (c *Client) do(ctx context.Context, method, u string, body io.Reader) ([]byte, error) {
	out, err := c.send(ctx, method, u, body)
	if err != nil {
		return nil, c.redact.Error(err)
	}
	return out, nil
}

func (c *Client) send(ctx context.Context, method, u string, body io.Reader) ([]byte, error) {
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("VictoriaMetrics at %s: %w", c.base, ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("VictoriaMetrics at %s: %w", c.base, err)
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "vpcflow-report")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which we print ourselves
		}
		return nil, fmt.Errorf("cannot reach VictoriaMetrics at %s: %s %s: %w", c.base, method, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		// The whole answer (up to vmclient.MaxErrorRead) is redacted before
		// it is cut, so that a cut never leaves the start of a secret.
		head, truncated := vmclient.ReadErrorBody(resp.Body)
		msg := string(head)
		var r apiResponse
		if !truncated && json.Unmarshal(head, &r) == nil && r.Error != "" {
			msg = r.Error
		}
		msg = c.redact.Cut(msg, truncated, maxErrorBody)
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return nil, fmt.Errorf("VictoriaMetrics at %s refused the credentials: %s %s: HTTP %d: %s", c.base, method, u, resp.StatusCode, msg)
		}
		return nil, fmt.Errorf("VictoriaMetrics at %s: %s %s: HTTP %d: %s", c.base, method, u, resp.StatusCode, msg)
	}
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("VictoriaMetrics at %s: %s %s: read the answer: %w", c.base, method, u, err)
	}
	return out, nil
}
