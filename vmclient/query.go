package vmclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxQueryErrorBody bounds how much of a query's error answer is quoted,
// after its secrets are removed (ReadErrorBody reads up to MaxErrorRead
// bytes of it): a query error is shown to a person, with room for
// VictoriaMetrics' explanation.
const maxQueryErrorBody = 2048

// VectorSample is one label set's value of an instant query.
type VectorSample struct {
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
func (c *Client) Instant(ctx context.Context, expr string, at time.Time) ([]VectorSample, error) {
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

// query POSTs form to the query API path, at most Config.Concurrency at
// once, and decodes the result, which must be of resultType, into out.
// Errors say "VictoriaMetrics at BASE", and which request failed, without
// a secret.
func (c *Client) query(ctx context.Context, path string, form url.Values, resultType string, out any) error {
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return fmt.Errorf("VictoriaMetrics at %s: %w", c.queryBase, ctx.Err())
	}
	u := c.queryBase + path
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("VictoriaMetrics at %s: %w", c.queryBase, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	body, err := c.do(req, maxQueryErrorBody)
	var re *RequestError
	switch {
	case errors.As(err, &re) && (re.Status == http.StatusUnauthorized || re.Status == http.StatusForbidden):
		return &queryError{msg: fmt.Sprintf("VictoriaMetrics at %s refused the credentials: POST %s: HTTP %d: %s", c.queryBase, u, re.Status, re.Message()), err: err}
	case re != nil:
		return &queryError{msg: fmt.Sprintf("VictoriaMetrics at %s: POST %s: HTTP %d: %s", c.queryBase, u, re.Status, re.Message()), err: err}
	case err != nil:
		return &queryError{msg: fmt.Sprintf("cannot reach VictoriaMetrics at %s: POST %s: %s", c.queryBase, u, strings.TrimPrefix(err.Error(), "post "+u+": ")), err: err}
	}
	if err := decodeAnswer(body, resultType, out); err != nil {
		return c.redactor().Error(fmt.Errorf("VictoriaMetrics at %s: %s: %w", c.queryBase, path, err))
	}
	return nil
}

// queryError is a failed query: its message says where, its cause stays
// reachable (errors.Is(err, context.DeadlineExceeded), a *RequestError).
type queryError struct {
	msg string
	err error
}

func (e *queryError) Error() string { return e.msg }
func (e *queryError) Unwrap() error { return e.err }

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

// DecodeVector decodes the answer of an instant query (/api/v1/query).
func DecodeVector(body []byte) ([]VectorSample, error) {
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

func samplesOf(out []vectorSample) []VectorSample {
	samples := make([]VectorSample, len(out))
	for i, s := range out {
		samples[i] = VectorSample{Labels: s.Metric, Value: s.Value.v}
	}
	return samples
}
