package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/backend/useragent"
	"github.com/grafana/grafana-plugin-sdk-go/build/buildinfo"
	"github.com/grafana/grafana-plugin-sdk-go/config"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/internal/tools"
	"github.com/vpcflow/vpcflow/plugin/pkg/models"
	"github.com/vpcflow/vpcflow/plugin/pkg/plugin"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// The plugin protocol as Grafana speaks it (pkg/plugins/backendplugin/grpcplugin
// in Grafana): go-plugin's handshake with protocol version 2 and the magic
// cookie grafana_plugin_type=datasource, gRPC only, and the plugin set
// "diagnostics", "resource" and "data". They are written out rather than
// taken from the SDK's grpcplugin constants, so that a change of the
// handshake in the SDK fails TestGrafanaProtocol instead of being followed
// by it: a Grafana built with the old values would no longer start the
// plugin (see TestGrafanaHandshake).
const (
	grafanaProtocolVersion = 2
	grafanaCookieKey       = "grafana_plugin_type"
	grafanaCookieValue     = "datasource"
	// fromAlertHeader is the header Grafana's alerting puts on the
	// requests of alert and recording rules (ngalert's
	// FromAlertHeaderName).
	fromAlertHeader = "FromAlert"
	// grafanaVersion is the Grafana the compose file runs.
	grafanaVersion = "12.4.10"
	// callTimeout bounds each call, so that a plugin that hangs fails the
	// test instead of stalling it.
	callTimeout = 2 * time.Minute
)

// permittedHostEnv are the variables of its own environment Grafana passes
// on to a plugin it starts without the rest of its environment (Grafana's
// pkg/plugins/envvars).
var permittedHostEnv = []string{"PLUGIN_UNIX_SOCKET_DIR", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"}

// TestGrafanaProtocol builds the plugin's executable and runs it as
// Grafana does: started by go-plugin's client with Grafana's handshake and
// plugin set, gRPC only, without the test's environment, in another
// folder. Against a VictoriaMetrics loaded with an hour of generated flow
// logs (reporttest) and the data source settings provisioning/ gives
// (with the test's URL), it calls over gRPC: CheckHealth (live and
// unreachable storage), every resource the frontend uses, QueryData of
// every report as tables of every metric and time series, and of the
// pair reports as node graphs (compared with the same requests answered
// in this process by plugin.Datasource, and with the ground truth of the
// generated records), every provisioned
// alert rule's queries of the data source as alerting sends them
// (FromAlert, the rule's relative range), and a request mixing malformed
// queries with a good one. The process must live through it all and exit
// cleanly when Grafana's client stops it.
func TestGrafanaProtocol(t *testing.T) {
	// The logs of the data source made in this process are noise.
	backend.Logger, log.DefaultLogger = log.NewNullLogger(), log.NewNullLogger()

	vm := testserver.VictoriaMetrics(t)
	opts := reporttest.Hour(t, 7)
	opts.PerMinute = true // the ground truth of the alert rules' windows
	ds := reporttest.Load(t, vm, opts)
	names := writeNames(t, vm, ds)
	newest := writeRecent(t, vm)

	root := moduleDir(t)
	prov := readProvisioning(t, root)
	version := pluginVersion(t, root)
	bin := buildPlugin(t, version)
	g := startPlugin(t, bin, version)

	settings := prov.settings(t, vm.URL)
	pc := grafanaContext(t, version, settings)
	local := inProcess(t, settings)

	t.Run("CheckHealth", func(t *testing.T) {
		res := g.checkHealth(t, pc)
		want := fmt.Sprintf("VictoriaMetrics at %s answers queries, deduplicates at 1ms, newest flow log data at %s", vm.URL, newest.Format(time.RFC3339))
		if res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, want) {
			t.Errorf("health %s %q, want OK saying %q", res.Status, res.Message, want)
		}
		var det plugin.HealthDetails
		if err := json.Unmarshal(res.JSONDetails, &det); err != nil || !det.Reachable || det.Dedup != "1ms" || det.Newest == nil {
			t.Errorf("details %s (%v): want reachable, dedup 1ms, the newest data", res.JSONDetails, err)
		}

		port, err := tools.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		dead := fmt.Sprintf("http://127.0.0.1:%d", port)
		res = g.checkHealth(t, grafanaContext(t, version, prov.settings(t, dead)))
		if want := "cannot reach VictoriaMetrics at " + dead; res.Status != backend.HealthStatusError || !strings.Contains(res.Message, want) {
			t.Errorf("health of a dead URL: %s %q, want ERROR saying %q", res.Status, res.Message, want)
		}
	})

	t.Run("CallResource", func(t *testing.T) {
		checkResources(t, g, pc, ds)
	})

	t.Run("QueryData", func(t *testing.T) {
		for _, rep := range report.Reports() {
			t.Run(rep.ID, func(t *testing.T) {
				checkReport(t, g, local, pc, ds, rep, names)
			})
		}
	})

	t.Run("AlertRules", func(t *testing.T) {
		checkAlertRules(t, g, local, pc, ds, prov)
	})

	t.Run("Malformed", func(t *testing.T) {
		checkMalformed(t, g, pc, ds)
		// The process lives on.
		if res := g.checkHealth(t, pc); res.Status != backend.HealthStatusOk {
			t.Errorf("health after the malformed queries: %s %q", res.Status, res.Message)
		}
	})

	g.stop(t)
}

// TestGrafanaHandshake checks that the SDK the plugin is built with still
// speaks the handshake and the alert header Grafana uses (TestGrafanaProtocol
// starts the plugin with Grafana's values, which fails too when they
// differ).
func TestGrafanaHandshake(t *testing.T) {
	if grpcplugin.ProtocolVersion != grafanaProtocolVersion || grpcplugin.MagicCookieKey != grafanaCookieKey || grpcplugin.MagicCookieValue != grafanaCookieValue {
		t.Errorf("the SDK's handshake is %d %s=%s; Grafana starts plugins with %d %s=%s", grpcplugin.ProtocolVersion, grpcplugin.MagicCookieKey,
			grpcplugin.MagicCookieValue, grafanaProtocolVersion, grafanaCookieKey, grafanaCookieValue)
	}
	if backend.FromAlertHeaderName != fromAlertHeader {
		t.Errorf("the SDK's alert header is %q; Grafana's alerting sends %q", backend.FromAlertHeaderName, fromAlertHeader)
	}
}

// writeNames writes entity info (the series the entity sync writes) for
// two ids in three of each entity type in the dataset, named after their
// id, at the dataset's start, and returns the names by type and id.
func writeNames(t *testing.T, vm *testserver.VM, ds *reporttest.Dataset) map[report.EntityType]map[string]string {
	t.Helper()
	names := map[report.EntityType]map[string]string{}
	for typ, ids := range ds.EntityIDs(t) {
		names[typ] = map[string]string{}
		for id := range ids {
			names[typ][id] = ""
		}
	}
	var series []vmclient.Series
	for typ, ids := range names {
		for i, id := range slices.Sorted(maps.Keys(ids)) {
			if i%3 == 2 {
				delete(ids, id)
				continue
			}
			ids[id] = "name of " + id
			series = append(series, vmclient.Series{Labels: []vmclient.Label{{Name: "__name__", Value: report.EntityInfoMetric},
				{Name: report.EntityTypeLabel, Value: string(typ)}, {Name: report.EntityIDLabel, Value: id}, {Name: report.EntityNameLabel, Value: ids[id]}},
				Samples: []vmclient.Sample{{Timestamp: ds.From.UnixMilli(), Value: 1}}})
		}
	}
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), series); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
	return names
}

// writeRecent writes one status sample three minutes ago, so that the
// health check finds recent data; it returns its minute.
func writeRecent(t *testing.T, vm *testserver.VM) time.Time {
	t.Helper()
	minute := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Minute)
	status := schema.Families()[schema.Status]
	reporttest.Write(t, vm.URL, reporttest.Series(status.MetricNames()[0], schema.Status, map[string]string{"log_status": "OK"},
		vmclient.Sample{Timestamp: minute.UnixMilli() + 59999, Value: 1}))
	vm.Flush()
	return minute
}

// moduleDir returns the folder of the vpcflow module (the repository
// root), where provisioning/ and plugin/package.json are, as the go
// command resolves it: the main module, or the module a replace directive
// points at from another one.
func moduleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/vpcflow/vpcflow").Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("find the vpcflow module: go list -m: %v: %s", err, stderr)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("find the vpcflow module: go list -m gives no folder")
	}
	return dir
}

// pluginVersion returns the plugin's version (plugin/package.json), which
// Grafana sends in every request's plugin context.
func pluginVersion(t *testing.T, root string) string {
	t.Helper()
	path := filepath.Join(root, "plugin", "package.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version == "" {
		t.Fatalf("%s: no version (%v)", path, err)
	}
	return pkg.Version
}

// buildPlugin builds this package, the executable Grafana starts, into
// the test's temporary folder, named as the plugin's dist/ names it, with
// the tag and the build info (plugin id, version) the release build gives
// it (go tool mage plugin, through the SDK's build package).
func buildPlugin(t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), fmt.Sprintf("gpx_vpcflow_%s_%s", runtime.GOOS, runtime.GOARCH))
	flags := map[string]string{}
	buildinfo.Info{Time: time.Now().UnixMilli(), PluginID: plugin.ID, Version: version}.AppendFlags(flags)
	var ldflags []string
	for _, k := range slices.Sorted(maps.Keys(flags)) {
		ldflags = append(ldflags, fmt.Sprintf("-X '%s=%s'", k, flags[k]))
	}
	args := []string{"build", "-tags", "arrow_json_stdlib", "-ldflags", strings.Join(ldflags, " "), "-o", bin, "."}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// grafanaHost is Grafana's side of a running plugin: the go-plugin client
// that started it and the gRPC clients of the plugin set.
type grafanaHost struct {
	client      *goplugin.Client
	cmd         *exec.Cmd
	logs        *syncBuffer
	diagnostics grpcplugin.DiagnosticsClient
	resource    grpcplugin.ResourceClient
	data        grpcplugin.DataClient
}

// startPlugin starts the executable as Grafana does and connects to it.
// The plugin gets only the environment Grafana gives it (the permitted
// host variables, and GF_VERSION, GF_EDITION and GF_PLUGIN_VERSION as
// Grafana 10 and 11 set them; go-plugin adds its own PLUGIN_* and the
// magic cookie), and runs in an empty folder. Its log goes to a buffer
// the test prints when it fails.
func startPlugin(t *testing.T, bin, version string) *grafanaHost {
	t.Helper()
	env := []string{"GF_VERSION=" + grafanaVersion, "GF_EDITION=oss", "GF_PLUGIN_VERSION=" + version}
	for _, name := range permittedHostEnv {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	logs := &syncBuffer{}
	g := &grafanaHost{cmd: cmd, logs: logs}
	g.client = goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grafanaProtocolVersion,
			MagicCookieKey:   grafanaCookieKey,
			MagicCookieValue: grafanaCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{grafanaProtocolVersion: {
			"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
			"resource":    &grpcplugin.ResourceGRPCPlugin{},
			"data":        &grpcplugin.DataGRPCPlugin{},
		}},
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     time.Minute,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: logs, Level: hclog.Debug}),
	})
	t.Cleanup(func() {
		g.client.Kill() // a no-op after stop
		if t.Failed() {
			lines := strings.Split(logs.String(), "\n")
			t.Logf("the plugin's log (its end):\n%s", strings.Join(lines[max(0, len(lines)-200):], "\n"))
		}
	})
	rpc, err := g.client.Client()
	if err != nil {
		t.Fatalf("start %s as Grafana does (handshake %d %s=%s, gRPC): %v", bin, grafanaProtocolVersion, grafanaCookieKey, grafanaCookieValue, err)
	}
	if v, p := g.client.NegotiatedVersion(), g.client.Protocol(); v != grafanaProtocolVersion || p != goplugin.ProtocolGRPC {
		t.Fatalf("negotiated protocol version %d over %s, want %d over %s", v, p, grafanaProtocolVersion, goplugin.ProtocolGRPC)
	}
	dispense := func(name string) any {
		raw, err := rpc.Dispense(name)
		if err != nil {
			t.Fatalf("dispense %s: %v", name, err)
		}
		return raw
	}
	var ok1, ok2, ok3 bool
	g.diagnostics, ok1 = dispense("diagnostics").(grpcplugin.DiagnosticsClient)
	g.resource, ok2 = dispense("resource").(grpcplugin.ResourceClient)
	g.data, ok3 = dispense("data").(grpcplugin.DataClient)
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("the plugin set's clients are not the SDK's diagnostics (%v), resource (%v) and data (%v) clients", ok1, ok2, ok3)
	}
	return g
}

// failed ends the test on a call's error, saying whether the process died
// (go-plugin notices the exit a moment after the connection breaks).
func (g *grafanaHost) failed(t *testing.T, call string, err error) {
	t.Helper()
	for range 20 {
		if g.client.Exited() {
			t.Fatalf("%s: the plugin process exited: %v", call, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %v", call, err)
}

// checkHealth calls CheckHealth as Grafana's "Save & test" does.
func (g *grafanaHost) checkHealth(t *testing.T, pc backend.PluginContext) *backend.CheckHealthResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := g.diagnostics.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: backend.ToProto().PluginContext(pc)})
	if err != nil {
		g.failed(t, "CheckHealth", err)
	}
	return backend.FromProto().CheckHealthResponse(resp)
}

// queryData sends a QueryData request; every query must get a response.
func (g *grafanaHost) queryData(t *testing.T, req *backend.QueryDataRequest) *backend.QueryDataResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := g.data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		g.failed(t, "QueryData", err)
	}
	out, err := backend.FromProto().QueryDataResponse(resp)
	if err != nil {
		t.Fatalf("QueryData: decode the response: %v", err)
	}
	for _, q := range req.Queries {
		if _, ok := out.Responses[q.RefID]; !ok {
			t.Fatalf("QueryData: no response for %s", q.RefID)
		}
	}
	return out
}

// callResource sends a resource call as the frontend's getResource makes
// Grafana send it (path and the URL with its query string) and returns the
// status and the body of the streamed answer.
func (g *grafanaHost) callResource(t *testing.T, pc backend.PluginContext, method, path string, params url.Values) (int, []byte) {
	t.Helper()
	u := path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	stream, err := g.resource.CallResource(ctx, backend.ToProto().CallResourceRequest(&backend.CallResourceRequest{
		PluginContext: pc, Path: path, Method: method, URL: u,
		Headers: map[string][]string{"Accept": {"application/json"}},
	}))
	if err != nil {
		g.failed(t, "CallResource "+method+" "+u, err)
	}
	status := 0
	var body []byte
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			g.failed(t, "CallResource "+method+" "+u, err)
		}
		if status == 0 {
			status = int(r.Code)
		}
		body = append(body, r.Body...)
	}
	if status == 0 {
		t.Fatalf("CallResource %s %s: no answer", method, u)
	}
	return status, body
}

// stop stops the plugin as Grafana does when it shuts down: the client
// closes the connection and asks the plugin to exit, which it must do by
// itself, with status 0, having lived through every call.
func (g *grafanaHost) stop(t *testing.T) {
	t.Helper()
	if g.client.Exited() {
		t.Fatal("the plugin process exited before Grafana stopped it")
	}
	g.client.Kill()
	if st := g.cmd.ProcessState; st == nil || !st.Success() {
		t.Errorf("the plugin did not exit cleanly: %v", st)
	}
	if strings.Contains(g.logs.String(), "plugin failed to exit gracefully") {
		t.Error("the plugin did not exit when asked: it was killed")
	}
}

// provisioning is what the test reads of provisioning/: the data sources
// and the alert rules.
type provisioning struct {
	// dataSource is the provisioned data source of the plugin.
	dataSource provisionedDataSource
	// types maps the provisioned data sources' uids to their types.
	types map[string]string
	rules []alertRule
}

type provisionedDataSource struct {
	Name           string            `yaml:"name"`
	UID            string            `yaml:"uid"`
	Type           string            `yaml:"type"`
	URL            string            `yaml:"url"`
	JSONData       map[string]any    `yaml:"jsonData"`
	SecureJSONData map[string]string `yaml:"secureJsonData"`
}

type alertRule struct {
	UID  string `yaml:"uid"`
	Data []struct {
		RefID             string `yaml:"refId"`
		DatasourceUID     string `yaml:"datasourceUid"`
		RelativeTimeRange struct {
			From int64 `yaml:"from"`
			To   int64 `yaml:"to"`
		} `yaml:"relativeTimeRange"`
		Model map[string]any `yaml:"model"`
	} `yaml:"data"`
}

// readProvisioning reads the data sources and every alert rule file of
// provisioning/.
func readProvisioning(t *testing.T, root string) provisioning {
	t.Helper()
	read := func(path string, v any) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	p := provisioning{types: map[string]string{}}
	dsFiles, err := filepath.Glob(filepath.Join(root, "provisioning", "datasources", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, path := range dsFiles {
		var f struct {
			Datasources []provisionedDataSource `yaml:"datasources"`
		}
		read(path, &f)
		for _, d := range f.Datasources {
			p.types[d.UID] = d.Type
			if d.Type == plugin.ID {
				p.dataSource = d
				found++
			}
		}
	}
	if found != 1 {
		t.Fatalf("provisioning/datasources: %d data sources of type %s, want one", found, plugin.ID)
	}
	ruleFiles, err := filepath.Glob(filepath.Join(root, "provisioning", "alerting", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range ruleFiles {
		var f struct {
			Groups []struct {
				Rules []alertRule `yaml:"rules"`
			} `yaml:"groups"`
		}
		read(path, &f)
		for _, g := range f.Groups {
			p.rules = append(p.rules, g.Rules...)
		}
	}
	return p
}

// settings returns the provisioned data source's settings as Grafana sends
// them, with its URLs pointed at vmURL.
func (p provisioning) settings(t *testing.T, vmURL string) *backend.DataSourceInstanceSettings {
	t.Helper()
	d := p.dataSource
	jsonData := maps.Clone(d.JSONData)
	if _, ok := jsonData["url"]; !ok {
		t.Fatalf("provisioned data source %s: no jsonData.url", d.UID)
	}
	jsonData["url"] = vmURL
	js, err := json.Marshal(jsonData)
	if err != nil {
		t.Fatal(err)
	}
	return &backend.DataSourceInstanceSettings{
		ID: 1, UID: d.UID, Type: d.Type, Name: d.Name, URL: vmURL,
		JSONData: js, DecryptedSecureJSONData: d.SecureJSONData, Updated: time.Now(),
	}
}

// grafanaContext is the plugin context Grafana sends with a request of an
// admin of org 1 to the data source.
func grafanaContext(t *testing.T, version string, settings *backend.DataSourceInstanceSettings) backend.PluginContext {
	t.Helper()
	ua, err := useragent.New(grafanaVersion, runtime.GOOS, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	return backend.PluginContext{
		Namespace:                  "default", // org 1
		PluginID:                   plugin.ID,
		PluginVersion:              version,
		User:                       &backend.User{Login: "admin", Name: "admin", Email: "admin@localhost", Role: "Admin"},
		DataSourceInstanceSettings: settings,
		GrafanaConfig: config.NewGrafanaCfg(map[string]string{
			config.AppURL:               "http://localhost:3000/",
			config.ConcurrentQueryCount: "10",
		}),
		UserAgent: ua,
	}
}

// inProcess returns the data source the plugin serves, made in this
// process: what the executable must answer, request for request.
func inProcess(t *testing.T, settings *backend.DataSourceInstanceSettings) *plugin.Datasource {
	t.Helper()
	inst, err := plugin.NewDatasource(context.Background(), *settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(inst.(*plugin.Datasource).Dispose)
	return inst.(*plugin.Datasource)
}

// grafanaQuery builds a query as Grafana sends a panel's target: the
// model's JSON with Grafana's own fields.
func grafanaQuery(t *testing.T, refID string, from, to time.Time, interval time.Duration, maxPoints int64, model map[string]any) backend.DataQuery {
	t.Helper()
	m := map[string]any{"refId": refID, "intervalMs": interval.Milliseconds(), "maxDataPoints": maxPoints,
		"datasource": map[string]string{"type": plugin.ID, "uid": "vpcflow"}}
	for k, v := range model {
		m[k] = v
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return backend.DataQuery{RefID: refID, Interval: interval, MaxDataPoints: maxPoints, TimeRange: backend.TimeRange{From: from, To: to}, JSON: js}
}

// queryBoth sends req to the executable and to the data source in this
// process, and checks that each query gets the same answer from both.
func queryBoth(t *testing.T, g *grafanaHost, local *plugin.Datasource, req *backend.QueryDataRequest) *backend.QueryDataResponse {
	t.Helper()
	got := g.queryData(t, req)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	want, err := local.QueryData(ctx, req)
	if err != nil {
		t.Fatalf("QueryData in process: %v", err)
	}
	for _, q := range req.Queries {
		g, w := got.Responses[q.RefID], want.Responses[q.RefID]
		if (g.Error == nil) != (w.Error == nil) || g.Error != nil && g.Error.Error() != w.Error.Error() {
			t.Errorf("%s: error %v, in process %v", q.RefID, g.Error, w.Error)
		}
		// The SDK's server names the query on each frame it sends.
		for _, f := range w.Frames {
			if f.RefID == "" {
				f.RefID = q.RefID
			}
		}
		gj, err1 := json.Marshal(g.Frames)
		wj, err2 := json.Marshal(w.Frames)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: frames to JSON: %v, %v", q.RefID, err1, err2)
		}
		if d := firstDiff(gj, wj); d != "" {
			t.Errorf("%s: frames over gRPC differ from the frames in process: %s", q.RefID, d)
		}
	}
	return got
}

// firstDiff shows where got and want first differ, "" if they do not.
func firstDiff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	around := func(b []byte) string { return string(b[max(0, i-150):min(len(b), i+150)]) }
	return fmt.Sprintf("at byte %d of %d/%d:\n%s\nwant\n%s", i, len(got), len(want), around(got), around(want))
}

// describe tells frames' names, types, fields and rows.
func describe(fs data.Frames) string {
	var out []string
	for _, f := range fs {
		typ := data.FrameType("")
		if f.Meta != nil {
			typ = f.Meta.Type
		}
		rows, _ := f.RowLen()
		var fields []string
		for _, fld := range f.Fields {
			fields = append(fields, fmt.Sprintf("%s %s", fld.Name, fld.Type()))
		}
		out = append(out, fmt.Sprintf("frame %q (%s, %d rows: %s)", f.Name, typ, rows, strings.Join(fields, ", ")))
	}
	return fmt.Sprintf("%d frames %s", len(fs), strings.Join(out, "; "))
}

// frames returns a query's frames; its error fails the test.
func frames(t *testing.T, resp *backend.QueryDataResponse, refID string) data.Frames {
	t.Helper()
	r := resp.Responses[refID]
	if r.Error != nil {
		t.Fatalf("%s: %v", refID, r.Error)
	}
	return r.Frames
}

// tableOf keys a table frame's rows by their label columns (every field
// but the last, as text, joined by "|", as reporttest's Expected keys
// them) and returns the last field's values.
func tableOf(t *testing.T, f *data.Frame) map[string]float64 {
	t.Helper()
	n, err := f.RowLen()
	if err != nil || len(f.Fields) < 2 {
		t.Fatalf("table %q: %d fields, rows: %v", f.Name, len(f.Fields), err)
	}
	out := map[string]float64{}
	last := f.Fields[len(f.Fields)-1]
	for i := range n {
		var key []string
		for _, fld := range f.Fields[:len(f.Fields)-1] {
			v, ok := fld.ConcreteAt(i)
			switch v := v.(type) {
			case time.Time:
				key = append(key, v.UTC().Format(time.RFC3339))
			case string:
				key = append(key, v)
			default:
				if ok {
					key = append(key, fmt.Sprint(v))
				} else {
					key = append(key, schema.Absent)
				}
			}
		}
		k := strings.Join(key, "|")
		if _, dup := out[k]; dup {
			t.Errorf("table %q: row %s twice", f.Name, k)
		}
		v, ok := last.At(i).(float64)
		if !ok {
			t.Fatalf("table %q: value field %s is %s, want numbers", f.Name, last.Name, last.Type())
		}
		out[k] = v
	}
	return out
}

// checkReport sends, in one request, a report's table of every metric
// (total, every row), a time series of totals (top 10 and Other), the
// panel a new query of the report makes (the frontend's defaults: rate,
// top 10, time series) and, for the pair reports, a node graph (top 10:
// checkGraph), over the dataset's hour. Every answer equals the
// in-process one; the tables equal the ground truth, the time series add
// up to its total (the rates times their step). The ids of the tables'
// id columns are raw, each named one (names) mapped to "name (id)"; the
// series' display names show "name (id)" for each named id.
func checkReport(t *testing.T, g *grafanaHost, local *plugin.Datasource, pc backend.PluginContext, ds *reporttest.Dataset, rep report.Report,
	names map[report.EntityType]map[string]string) {
	from, to := ds.From, ds.To
	m := rep.DefaultMetric()
	var queries []backend.DataQuery
	for _, metric := range rep.Metrics {
		queries = append(queries, grafanaQuery(t, "table-"+string(metric), from, to, time.Minute, 1000,
			map[string]any{"report": rep.ID, "metric": metric, "mode": report.ModeTotal, "top": 0, "format": report.FormatTable}))
	}
	queries = append(queries,
		grafanaQuery(t, "series", from, to, 7*time.Minute, 1000,
			map[string]any{"report": rep.ID, "metric": m, "mode": report.ModeTotal, "top": 10, "format": report.FormatTimeSeries}),
		grafanaQuery(t, "panel", from, to, time.Minute, 1000, map[string]any{"report": rep.ID}))
	_, _, graph := rep.GraphEnds()
	if graph {
		queries = append(queries, grafanaQuery(t, "graph", from, to, time.Minute, 1000,
			map[string]any{"report": rep.ID, "metric": m, "mode": report.ModeTotal, "top": 10, "format": report.FormatNodeGraph}))
	}
	resp := queryBoth(t, g, local, &backend.QueryDataRequest{PluginContext: pc, Queries: queries})
	if graph {
		checkGraph(t, resp, ds, rep, m, names)
	}

	for _, metric := range rep.Metrics {
		want, err := ds.Expected(rep, metric, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			t.Fatalf("%s: nothing expected: a useless check", metric)
		}
		fs := frames(t, resp, "table-"+string(metric))
		if len(fs) != 1 || fs[0].Name != rep.Title {
			t.Fatalf("table of %s: %d frames, want one named %q", metric, len(fs), rep.Title)
		}
		if d := reporttest.Diff(tableOf(t, fs[0]), want); d != "" {
			t.Errorf("table of %s differs from the ground truth:\n%s", metric, d)
		}
		mapped := 0
		for _, c := range rep.IDColumns() {
			fld, _ := fs[0].FieldByName(c)
			wantMap := data.ValueMapper{}
			for i := range fld.Len() {
				id := fld.At(i).(string)
				if n := names[report.EntityTypeOf(c)][id]; n != "" {
					wantMap[id] = data.ValueMappingResult{Text: n + " (" + id + ")"}
				}
			}
			var got data.ValueMapper
			if fld.Config != nil && len(fld.Config.Mappings) == 1 {
				got, _ = fld.Config.Mappings[0].(data.ValueMapper)
			}
			if len(wantMap) == 0 {
				wantMap = nil
			}
			if !maps.Equal(got, wantMap) {
				t.Errorf("table of %s: %s mapped %v, want %v", metric, c, got, wantMap)
			}
			mapped += len(got)
		}
		if len(rep.IDColumns()) > 0 && mapped == 0 {
			t.Errorf("table of %s: no id mapped to its name", metric)
		}
	}

	want, err := ds.Expected(rep, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := reporttest.Sum(want)
	for _, ref := range []string{"series", "panel"} {
		// Totals per step, or rates: times the step, they add up to the
		// total (top 10 and Other).
		fs := frames(t, resp, ref)
		sum, points := 0.0, 0
		for i, f := range fs {
			if f.Meta == nil || f.Meta.Type != data.FrameTypeTimeSeriesMulti || len(f.Fields) != 2 ||
				f.Fields[0].Type() != data.FieldTypeTime || f.Fields[1].Type() != data.FieldTypeFloat64 || f.Fields[0].Config == nil {
				t.Fatalf("%s: frame %d is not a time series of numbers: %s", ref, i, describe(data.Frames{f}))
			}
			per := 1.0
			if ref == "panel" {
				per = f.Fields[0].Config.Interval / 1000 // the step, in ms
			}
			for j := range f.Fields[1].Len() {
				sum += f.Fields[1].At(j).(float64) * per
				points++
			}
		}
		for _, f := range fs {
			for _, c := range rep.IDColumns() {
				id := f.Fields[1].Labels[c]
				if n := names[report.EntityTypeOf(c)][id]; n != "" && !strings.Contains(f.Fields[1].Config.DisplayNameFromDS, n+" ("+id+")") {
					t.Errorf("%s: series %q, want %q in its name", ref, f.Fields[1].Config.DisplayNameFromDS, n+" ("+id+")")
				}
			}
		}
		if len(fs) > 11 || points == 0 {
			t.Errorf("%s: %d series of %d points, want at most 10 and Other, with data", ref, len(fs), points)
		}
		if math.Abs(sum-total) > 1e-9*total {
			t.Errorf("%s: the series add up to %v, want the total %v", ref, sum, total)
		}
	}
}

// checkGraph checks a node graph of the top 10 edges against the ground
// truth (reporttest.GraphOf): the edges frame holds every edge, top and
// summary, with its value and rejected share, and adds up to the total;
// the nodes frame every node, a named interface titled by its name.
func checkGraph(t *testing.T, resp *backend.QueryDataResponse, ds *reporttest.Dataset, rep report.Report, m report.Metric,
	names map[report.EntityType]map[string]string) {
	t.Helper()
	fs := frames(t, resp, "graph")
	if len(fs) != 2 || fs[0].Name != plugin.EdgesFrame || fs[1].Name != plugin.NodesFrame {
		t.Fatalf("graph: %s, want the edges and nodes frames", describe(fs))
	}
	pairs, err := ds.GraphPairs(rep, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := reporttest.GraphOf(pairs, 10)
	field := func(f *data.Frame, name string) *data.Field {
		fld, _ := f.FieldByName(name)
		if fld == nil {
			t.Fatalf("graph: frame %s has no field %s", f.Name, name)
		}
		return fld
	}
	src, dst, value, share := field(fs[0], "source"), field(fs[0], "target"), field(fs[0], string(m)), field(fs[0], plugin.RejectedField)
	total := 0.0
	for i := range fs[0].Rows() {
		k := src.At(i).(string) + "|" + dst.At(i).(string)
		w, ok := want.Edges[k]
		v, s := value.At(i).(float64), share.At(i).(float64)
		if !ok || v != w.Value || w.Value > 0 && s != w.Rejected/w.Value {
			t.Errorf("graph: edge %s = %v (rejected share %v), want %v", k, v, s, w)
		}
		total += v
	}
	if fs[0].Rows() != len(want.Edges) || total != want.Total {
		t.Errorf("graph: %d edges adding up to %v, want %d and %v", fs[0].Rows(), total, len(want.Edges), want.Total)
	}
	ids, titles, nvalue := field(fs[1], "id"), field(fs[1], "title"), field(fs[1], string(m))
	named := 0
	for i := range fs[1].Rows() {
		id := ids.At(i).(string)
		if w, ok := want.Nodes[id]; !ok || nvalue.At(i).(float64) != w.Value {
			t.Errorf("graph: node %s = %v, want %v", id, nvalue.At(i), w)
		}
		if n := names[report.EntityInterface][id]; n != "" {
			named++
			if titles.At(i) != n {
				t.Errorf("graph: node %s titled %q, want %q", id, titles.At(i), n)
			}
		}
	}
	if fs[1].Rows() != len(want.Nodes) || named == 0 {
		t.Errorf("graph: %d nodes (%d named), want %d, some named", fs[1].Rows(), named, len(want.Nodes))
	}
}

// checkResources calls every resource the frontend uses (the reports and
// display names the editors load, label values for pickers and variables,
// with and without filters) and the answers to bad calls.
func checkResources(t *testing.T, g *grafanaHost, pc backend.PluginContext, ds *reporttest.Dataset) {
	status, body := g.callResource(t, pc, http.MethodGet, "reports", nil)
	var reports []plugin.ReportInfo
	if err := json.Unmarshal(body, &reports); status != http.StatusOK || err != nil {
		t.Fatalf("GET reports: %d %s (%v)", status, body, err)
	}
	if !reflect.DeepEqual(reports, plugin.Reports()) || len(reports) != len(report.IDs()) {
		t.Errorf("GET reports: %d reports, want the registry's %d:\n%s", len(reports), len(report.IDs()), body)
	}

	status, body = g.callResource(t, pc, http.MethodGet, "display-names", nil)
	var names plugin.DisplayNames
	if err := json.Unmarshal(body, &names); status != http.StatusOK || err != nil {
		t.Fatalf("GET display-names: %d %s (%v)", status, body, err)
	}
	if !reflect.DeepEqual(names, plugin.Names()) || names.Values["protocol"]["6"] != "TCP" || names.Absent.Value != schema.Absent {
		t.Errorf("GET display-names: %s, want the schema's names (protocol 6 is TCP)", body)
	}

	// Label values over the dataset's hour, as the editors' pickers and
	// the query variables ask for them: what the ground truth holds.
	ms := func(tm time.Time) string { return strconv.FormatInt(tm.UnixMilli(), 10) }
	reject := []report.Filter{{Label: "action", Op: report.OpEqual, Value: "REJECT"}}
	for _, c := range []struct {
		report, label string
		filters       []report.Filter
	}{
		{report.ReportVPCs, schema.LabelVPC, nil},
		{report.ReportInterface, "interface_id", reject},
		{report.ReportApplications, "port", []report.Filter{{Label: "protocol", Op: report.OpEqual, Value: "6"}}},
	} {
		rep, err := report.Lookup(c.report)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.Index(rep.GroupBy, c.label)
		if i < 0 {
			t.Fatalf("report %s does not group by %s", c.report, c.label)
		}
		wantSet := map[string]bool{}
		for _, m := range rep.Metrics {
			want, err := ds.Expected(rep, m, c.filters)
			if err != nil {
				t.Fatal(err)
			}
			for k := range want {
				wantSet[strings.Split(k, "|")[i]] = true
			}
		}
		want := slices.Sorted(maps.Keys(wantSet))
		filter, err := json.Marshal(c.filters)
		if err != nil {
			t.Fatal(err)
		}
		if c.filters == nil {
			filter = []byte("[]")
		}
		params := url.Values{"report": {c.report}, "label": {c.label}, "filter": {string(filter)}, "from": {ms(ds.From)}, "to": {ms(ds.To)}}
		status, body := g.callResource(t, pc, http.MethodGet, "label-values", params)
		var got []string
		if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil {
			t.Fatalf("GET label-values %s: %d %s (%v)", params.Encode(), status, body, err)
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("GET label-values %s: %q, want %q", params.Encode(), got, want)
		}
	}

	// Bad calls: a JSON error the frontend shows.
	for _, c := range []struct {
		method, path string
		params       url.Values
		status       int
		want         string
	}{
		{http.MethodGet, "label-values", url.Values{"report": {"vpcs"}, "label": {"colour"}}, http.StatusBadRequest, `report vpcs has no label "colour"`},
		{http.MethodGet, "no-such-thing", nil, http.StatusNotFound, `no resource "no-such-thing"`},
		{http.MethodPost, "reports", nil, http.StatusMethodNotAllowed, "only GET is allowed"},
	} {
		status, body := g.callResource(t, pc, c.method, c.path, c.params)
		var e struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &e); status != c.status || err != nil || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s %s: %d %s, want %d and a message saying %q", c.method, c.path, status, body, c.status, c.want)
		}
	}
}

// checkAlertRules sends every provisioned alert rule's queries of the data
// source as Grafana's alerting does: the rule's queries in one request
// with the FromAlert header, each over its relative time range (before an
// evaluation time chosen so that the latest window ends with the
// dataset's hour), with the model's interval and maximum of points. Each
// answer is one numeric-wide frame holding a number per label set, the
// ground truth of the records in its window (per second for a rate).
func checkAlertRules(t *testing.T, g *grafanaHost, local *plugin.Datasource, pc backend.PluginContext, ds *reporttest.Dataset, prov provisioning) {
	type ruleQuery struct {
		rule  string
		index int
	}
	var found []ruleQuery
	latest := int64(-1)
	for _, r := range prov.rules {
		for i, q := range r.Data {
			if prov.types[q.DatasourceUID] == plugin.ID {
				found = append(found, ruleQuery{r.UID, i})
				if latest < 0 || q.RelativeTimeRange.To < latest {
					latest = q.RelativeTimeRange.To
				}
			}
		}
	}
	if len(found) == 0 {
		t.Fatalf("no provisioned alert rule queries the %s data source: a useless check", plugin.ID)
	}
	// The end of the data: the minute after the last record's start.
	end := slices.Max(slices.Collect(maps.Keys(ds.Minutes)))
	now := time.Unix(end, 0).UTC().Add(time.Minute + time.Duration(latest)*time.Second)
	t.Logf("%d queries of the data source in the alert rules, evaluated at %s", len(found), now.Format(time.RFC3339))

	for _, r := range prov.rules {
		var queries []backend.DataQuery
		for _, q := range r.Data {
			if prov.types[q.DatasourceUID] != plugin.ID {
				continue
			}
			js, err := json.Marshal(q.Model)
			if err != nil {
				t.Fatal(err)
			}
			number := func(name string) int64 {
				v, err := strconv.ParseInt(fmt.Sprint(q.Model[name]), 10, 64)
				if err != nil {
					t.Fatalf("rule %s, query %s: %s %v: %v", r.UID, q.RefID, name, q.Model[name], err)
				}
				return v
			}
			queries = append(queries, backend.DataQuery{
				RefID: q.RefID, JSON: js,
				Interval:      time.Duration(number("intervalMs")) * time.Millisecond,
				MaxDataPoints: number("maxDataPoints"),
				TimeRange: backend.TimeRange{
					From: now.Add(-time.Duration(q.RelativeTimeRange.From) * time.Second),
					To:   now.Add(-time.Duration(q.RelativeTimeRange.To) * time.Second),
				},
			})
		}
		if len(queries) == 0 {
			continue
		}
		t.Run(r.UID, func(t *testing.T) {
			resp := queryBoth(t, g, local, &backend.QueryDataRequest{PluginContext: pc, Headers: map[string]string{fromAlertHeader: "true"}, Queries: queries})
			for _, q := range queries {
				fs := frames(t, resp, q.RefID)
				if len(fs) != 1 || fs[0].Meta == nil || fs[0].Meta.Type != data.FrameTypeNumericWide || len(fs[0].Fields) == 0 {
					t.Fatalf("%s: %s; want one numeric-wide frame with numbers", q.RefID, describe(fs))
				}
				parsed, err := models.ParseQuery(q.JSON)
				if err != nil {
					t.Fatalf("%s: %v", q.RefID, err)
				}
				rq := parsed.ReportQuery()
				rep, err := report.Lookup(rq.Report)
				if err != nil {
					t.Fatal(err)
				}
				step, err := rq.Step()
				if err != nil {
					t.Fatal(err)
				}
				from, to, err := report.Align(q.TimeRange.From, q.TimeRange.To, step)
				if err != nil {
					t.Fatal(err)
				}
				m := rq.Metric
				if m == "" {
					m = rep.DefaultMetric()
				}
				want, err := ds.ExpectedMinutes(rep, m, rq.Filters, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if len(want) == 0 {
					t.Fatalf("%s: nothing expected over %s to %s: a useless check", q.RefID, from, to)
				}
				if rq.Mode == report.ModeRate {
					for k, v := range want {
						want[k] = v / to.Sub(from).Seconds()
					}
				}
				got := map[string]float64{}
				for _, f := range fs[0].Fields {
					if f.Len() != 1 || f.Type() != data.FieldTypeFloat64 || len(f.Labels) == 0 {
						t.Fatalf("%s: field %s: %d %s values, labels %v; want one number with labels", q.RefID, f.Name, f.Len(), f.Type(), f.Labels)
					}
					got[reporttest.Key(f.Labels, rep.GroupBy)] = f.At(0).(float64)
				}
				if d := reporttest.Diff(got, want); d != "" {
					t.Errorf("%s (%s %s over %s to %s): differs from the ground truth:\n%s", q.RefID, rq.Report, m, from, to, d)
				}
			}
		})
	}
}

// checkMalformed sends, in one request, a good query and malformed ones:
// each malformed query gets its own error, status 400 and a plugin error
// saying what is wrong; the good one its table.
func checkMalformed(t *testing.T, g *grafanaHost, pc backend.PluginContext, ds *reporttest.Dataset) {
	from, to := ds.From, ds.To
	raw := func(refID, js string) backend.DataQuery {
		return backend.DataQuery{RefID: refID, Interval: time.Minute, MaxDataPoints: 1000, TimeRange: backend.TimeRange{From: from, To: to}, JSON: []byte(js)}
	}
	short := raw("under-a-minute", `{"report": "vpcs"}`)
	short.TimeRange = backend.TimeRange{From: from.Add(10 * time.Second), To: from.Add(50 * time.Second)}
	cases := []struct {
		query backend.DataQuery
		want  string
	}{
		{raw("not-json", `{"report":`), "not the JSON the query editor saves"},
		{raw("not-an-object", `[1, 2, 3]`), "not the JSON the query editor saves"},
		{raw("report-a-number", `{"report": 42}`), "not the JSON the query editor saves"},
		{raw("filters-a-string", `{"report": "vpcs", "filters": "vpc_id=vpc-1"}`), "not the JSON the query editor saves"},
		{raw("top-a-string", `{"report": "vpcs", "top": "ten"}`), "not the JSON the query editor saves"},
		{raw("unknown-report", `{"report": "no-such-report"}`), `unknown report "no-such-report"; valid reports: action`},
		{raw("negative-top", `{"report": "vpcs", "top": -5}`), "top -5: want a whole number, 0 (every row) or more"},
		{raw("fractional-top", `{"report": "vpcs", "top": 2.5}`), "top 2.5: want a whole number"},
		{raw("unknown-metric", `{"report": "vpcs", "metric": "furlongs"}`), `unknown metric "furlongs"; valid metrics: bytes, packets, flows`},
		{raw("unknown-mode", `{"report": "vpcs", "mode": "sideways"}`), `unknown mode "sideways"`},
		{raw("unknown-format", `{"report": "vpcs", "format": "pie"}`), `unknown format "pie"`},
		{raw("unknown-label", `{"report": "vpcs", "filters": [{"label": "colour", "op": "=", "value": "red"}]}`), `cannot filter on label "colour"`},
		{raw("unknown-op", `{"report": "vpcs", "filters": [{"label": "vpc_id", "op": "~~", "value": "x"}]}`), `unknown operator "~~"`},
		{raw("bad-regexp", `{"report": "vpcs", "filters": [{"label": "vpc_id", "op": "=~", "value": "vpc-(1"}]}`), "bad regular expression"},
		{short, "holds no whole minute"},
	}
	queries := []backend.DataQuery{raw("good", `{"report": "vpcs", "mode": "total", "format": "table", "top": 0, "garbage": {"x": [1]}, "refId": "good"}`)}
	for _, c := range cases {
		queries = append(queries, c.query)
	}
	resp := g.queryData(t, &backend.QueryDataRequest{PluginContext: pc, Queries: queries})
	for _, c := range cases {
		r := resp.Responses[c.query.RefID]
		if r.Error == nil || r.Status != backend.StatusBadRequest || r.ErrorSource != backend.ErrorSourcePlugin || !strings.Contains(r.Error.Error(), c.want) {
			t.Errorf("%s: status %d, source %q, error %v; want 400, a plugin error saying %q", c.query.RefID, r.Status, r.ErrorSource, r.Error, c.want)
		}
		if len(r.Frames) != 0 {
			t.Errorf("%s: frames with the error", c.query.RefID)
		}
	}
	rep, err := report.Lookup(report.ReportVPCs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ds.Expected(rep, rep.DefaultMetric(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fs := frames(t, resp, "good")
	if len(fs) != 1 {
		t.Fatalf("good: %d frames, want a table", len(fs))
	}
	if d := reporttest.Diff(tableOf(t, fs[0]), want); d != "" || len(want) == 0 {
		t.Errorf("good: the table differs from the ground truth:\n%s", d)
	}
}

// syncBuffer is a bytes.Buffer safe for the plugin client's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
