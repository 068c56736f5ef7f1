package plugin_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental/datasourcetest"

	"github.com/vpcflow/vpcflow/internal/tools"
	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
)

// harness serves the plugin over gRPC as Grafana talks to it: the SDK's
// own server with its middlewares, instance manager and protobuf
// conversions, and a client sending what Grafana sends.
type harness struct {
	t  testing.TB
	tp datasourcetest.TestPlugin
}

// The plugin server is started once per test binary (the SDK registers its
// Prometheus metrics globally) and stopped by TestMain. Every data source
// gets its own ID, hence its own instance.
var (
	served     datasourcetest.TestPlugin
	serveErr   error
	serveOnce  sync.Once
	dataSource atomic.Int64
	// logs captures everything the plugin and the SDK log (backend.Logger
	// is set to it before the server starts): the secrets test reads it,
	// and a failing test's output stays readable.
	logs = newCaptureLogger()
)

func TestMain(m *testing.M) {
	flag.Parse()
	backend.Logger = logs
	code := m.Run()
	if served.Client != nil {
		_ = served.Shutdown()
	}
	os.Exit(code)
}

// serve returns a harness on the test binary's plugin server.
func serve(t testing.TB) *harness {
	t.Helper()
	serveOnce.Do(func() {
		port, err := tools.FreePort()
		if err != nil {
			serveErr = err
			return
		}
		served, serveErr = datasourcetest.Manage(plugin.NewDatasource, datasourcetest.ManageOpts{Address: fmt.Sprintf("127.0.0.1:%d", port)})
	})
	if serveErr != nil {
		t.Fatalf("serve the plugin: %v", serveErr)
	}
	return &harness{t: t, tp: served}
}

// dataSource returns the plugin context of a new data source (its own
// instance) with the given jsonData and decrypted secureJsonData.
func (h *harness) dataSource(jsonData map[string]any, secure map[string]string) backend.PluginContext {
	h.t.Helper()
	js, err := json.Marshal(jsonData)
	if err != nil {
		h.t.Fatal(err)
	}
	id := dataSource.Add(1)
	return backend.PluginContext{
		PluginID: plugin.ID,
		User:     &backend.User{Login: "admin", Role: "Admin"},
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: id, UID: fmt.Sprintf("vpcflow-%d", id), Type: plugin.ID, Name: fmt.Sprintf("VPC Flow Logs %d", id),
			JSONData: js, DecryptedSecureJSONData: secure, Updated: time.Unix(1_700_000_000, 0),
		},
	}
}

// query sends one QueryData request.
func (h *harness) query(pc backend.PluginContext, headers map[string]string, queries ...backend.DataQuery) *backend.QueryDataResponse {
	h.t.Helper()
	resp, err := h.tp.Client.QueryData(context.Background(), &backend.QueryDataRequest{PluginContext: pc, Headers: headers, Queries: queries})
	if err != nil {
		h.t.Fatalf("QueryData: %v", err)
	}
	for _, q := range queries {
		if _, ok := resp.Responses[q.RefID]; !ok {
			h.t.Fatalf("QueryData: no response for %s", q.RefID)
		}
	}
	return resp
}

// health sends a CheckHealth request.
func (h *harness) health(pc backend.PluginContext) *backend.CheckHealthResult {
	h.t.Helper()
	res, err := h.tp.Client.CheckHealth(context.Background(), &backend.CheckHealthRequest{PluginContext: pc})
	if err != nil {
		h.t.Fatalf("CheckHealth: %v", err)
	}
	return res
}

// resource sends GET path (with its query string) and returns the status
// and body.
func (h *harness) resource(pc backend.PluginContext, method, pathAndQuery string) (int, []byte) {
	h.t.Helper()
	path, _, _ := strings.Cut(pathAndQuery, "?")
	var got *backend.CallResourceResponse
	err := h.tp.Client.CallResource(context.Background(), &backend.CallResourceRequest{PluginContext: pc, Method: method, Path: path, URL: pathAndQuery},
		backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
			if got == nil {
				got = r
			} else {
				got.Body = append(got.Body, r.Body...)
			}
			return nil
		}))
	if err != nil {
		h.t.Fatalf("CallResource %s %s: %v", method, pathAndQuery, err)
	}
	if got == nil {
		h.t.Fatalf("CallResource %s %s: no answer", method, pathAndQuery)
	}
	return got.Status, got.Body
}

// dq builds a query as Grafana sends it: the model's JSON plus Grafana's
// own fields.
func dq(refID string, from, to time.Time, interval time.Duration, maxPoints int64, model map[string]any) backend.DataQuery {
	m := maps.Clone(model)
	m["refId"] = refID
	m["intervalMs"] = interval.Milliseconds()
	m["maxDataPoints"] = maxPoints
	m["datasource"] = map[string]string{"type": plugin.ID, "uid": "vpcflow"}
	js, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return backend.DataQuery{RefID: refID, Interval: interval, MaxDataPoints: maxPoints, TimeRange: backend.TimeRange{From: from, To: to}, JSON: js}
}

// cell returns a field's value at row i as text: times in RFC 3339, a
// missing value as "-".
func cell(f *data.Field, i int) string {
	v, ok := f.ConcreteAt(i)
	if !ok {
		return "-"
	}
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case string:
		return v
	}
	return fmt.Sprint(v)
}

// tableOf keys a table frame's rows by their label columns (every field
// but the last, joined by "|") and returns the last field's values.
func tableOf(t *testing.T, f *data.Frame) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	n, err := f.RowLen()
	if err != nil {
		t.Fatal(err)
	}
	last := f.Fields[len(f.Fields)-1]
	for i := range n {
		var key []string
		for _, fld := range f.Fields[:len(f.Fields)-1] {
			key = append(key, cell(fld, i))
		}
		k := strings.Join(key, "|")
		if _, dup := out[k]; dup {
			t.Errorf("table %q: row %s twice", f.Name, k)
		}
		out[k] = last.At(i).(float64)
	}
	return out
}

// captureLogger is a log.Logger that keeps every line.
type captureLogger struct {
	mu    *sync.Mutex
	lines *[]string
	with  []any
}

func newCaptureLogger() *captureLogger {
	return &captureLogger{mu: &sync.Mutex{}, lines: &[]string{}}
}

func (l *captureLogger) log(level, msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.lines = append(*l.lines, fmt.Sprintf("%s %s %v %v", level, msg, l.with, args))
}

// Debug implements log.Logger.
func (l *captureLogger) Debug(msg string, args ...any) { l.log("debug", msg, args...) }

// Info implements log.Logger.
func (l *captureLogger) Info(msg string, args ...any) { l.log("info", msg, args...) }

// Warn implements log.Logger.
func (l *captureLogger) Warn(msg string, args ...any) { l.log("warn", msg, args...) }

// Error implements log.Logger.
func (l *captureLogger) Error(msg string, args ...any) { l.log("error", msg, args...) }

// With implements log.Logger.
func (l *captureLogger) With(args ...any) log.Logger {
	return &captureLogger{mu: l.mu, lines: l.lines, with: append(slices.Clone(l.with), args...)}
}

// Level implements log.Logger.
func (l *captureLogger) Level() log.Level { return log.Debug }

// FromContext implements log.Logger.
func (l *captureLogger) FromContext(context.Context) log.Logger { return l }

// text returns every line logged so far.
func (l *captureLogger) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(*l.lines, "\n")
}
