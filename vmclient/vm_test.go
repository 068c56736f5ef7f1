package vmclient_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// minute0 is 2026-01-01T00:00:00Z in milliseconds: historical data.
const minute0 = int64(1767225600000)

func newClient(t *testing.T, cfg vmclient.Config) *vmclient.Client {
	t.Helper()
	c, err := vmclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func series(name string, labels map[string]string, samples ...vmclient.Sample) vmclient.Series {
	s := vmclient.Series{Labels: []vmclient.Label{{Name: "__name__", Value: name}}, Samples: samples}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		s.Labels = append(s.Labels, vmclient.Label{Name: k, Value: labels[k]})
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	c := newClient(t, vmclient.Config{URL: vm.URL})
	written := []vmclient.Series{
		series("vpcflow_interface_bytes", map[string]string{"interface_id": "eni-1", "action": "ACCEPT", "az_id": "-"},
			vmclient.Sample{Timestamp: minute0, Value: 1500}, vmclient.Sample{Timestamp: minute0 + 60_000, Value: 0},
			vmclient.Sample{Timestamp: minute0 + 120_003, Value: 9_007_199_254_740_992}),
		series("vpcflow_interface_bytes", map[string]string{"interface_id": "eni-2", "action": "REJECT", "az_id": "euw1-az1"},
			vmclient.Sample{Timestamp: minute0 + 1, Value: 40}, vmclient.Sample{Timestamp: minute0 + 60_001, Value: 1_234_567_891.5}),
		series("vpcflow_entity_info", map[string]string{"entity_id": "eni-1", "name": `web "front" — ü`},
			vmclient.Sample{Timestamp: minute0, Value: 1}),
	}
	if err := c.Write(context.Background(), written); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
	got := vm.Export(t, `{__name__=~"vpcflow_.*"}`)
	want := make([]testserver.ExportedSeries, len(written))
	for i, s := range written {
		want[i].Metric = map[string]string{}
		for _, l := range s.Labels {
			want[i].Metric[l.Name] = l.Value
		}
		for _, smp := range s.Samples {
			want[i].Timestamps = append(want[i].Timestamps, smp.Timestamp)
			want[i].Values = append(want[i].Values, smp.Value)
		}
	}
	key := func(s []testserver.ExportedSeries) func(i, j int) bool {
		return func(i, j int) bool { return fmt.Sprint(s[i].Metric) < fmt.Sprint(s[j].Metric) }
	}
	sort.Slice(got, key(got))
	sort.Slice(want, key(want))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exported:\n%+v\nwant:\n%+v", got, want)
	}
	totals := vm.Totals(t, `vpcflow_interface_bytes`, "interface_id")
	if w := map[string]float64{"eni-1": 1500 + 9_007_199_254_740_992, "eni-2": 40 + 1_234_567_891.5}; !maps.Equal(totals, w) {
		t.Errorf("totals %v, want %v", totals, w)
	}
	st := c.Stats()
	if st.Requests != 1 || st.Retries != 0 || st.Series != 3 || st.Samples != 6 || st.BytesSent == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSplit(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	c := newClient(t, vmclient.Config{URL: vm.URL, MaxSeriesPerRequest: 3})
	var written []vmclient.Series
	want := map[string]float64{}
	for i := range 10 {
		id := fmt.Sprintf("eni-%d", i)
		written = append(written, series("m", map[string]string{"interface_id": id},
			vmclient.Sample{Timestamp: minute0, Value: float64(i + 1)}, vmclient.Sample{Timestamp: minute0 + 60_000, Value: 100}))
		want[id] = float64(i+1) + 100
	}
	if err := c.Write(context.Background(), written); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
	if got := vm.Totals(t, "m", "interface_id"); !maps.Equal(got, want) {
		t.Errorf("totals %v, want %v", got, want)
	}
	if st := c.Stats(); st.Requests != 4 || st.Series != 10 || st.Samples != 20 {
		t.Errorf("stats %+v, want 4 requests, 10 series, 20 samples", st)
	}
}

// TestReplay writes the same batch twice: with -dedup.minScrapeInterval=1ms
// it counts once; without deduplication it counts twice, which shows the
// check can fail. Distinct batches 1 ms apart both count either way.
func TestReplay(t *testing.T) {
	f := func(vm *testserver.VM, wantReplayed float64) {
		t.Helper()
		c := newClient(t, vmclient.Config{URL: vm.URL})
		batch := []vmclient.Series{
			series("m", map[string]string{"k": "replayed"}, vmclient.Sample{Timestamp: minute0, Value: 7}, vmclient.Sample{Timestamp: minute0 + 60_000, Value: 3}),
		}
		for range 2 {
			if err := c.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
		}
		// Two batches in the same minute, slots 0 and 1.
		for slot, v := range []float64{5, 6} {
			s := series("m", map[string]string{"k": "distinct"}, vmclient.Sample{Timestamp: minute0 + int64(slot), Value: v})
			if err := c.Write(context.Background(), []vmclient.Series{s}); err != nil {
				t.Fatal(err)
			}
		}
		vm.Flush()
		want := map[string]float64{"replayed": wantReplayed, "distinct": 11}
		if got := vm.Totals(t, "m", "k"); !maps.Equal(got, want) {
			t.Errorf("totals %v, want %v", got, want)
		}
	}
	f(testserver.VictoriaMetrics(t), 10)
	f(testserver.VictoriaMetricsNoDedup(t), 20)
}

func TestRetryUntilBack(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	retries := make(chan error, 100)
	c := newClient(t, vmclient.Config{URL: vm.URL, Retry: vmclient.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		OnRetry: func(attempt int, err error, wait time.Duration) {
			select {
			case retries <- err:
			default:
			}
		}})
	vm.Stop()
	done := make(chan error, 1)
	go func() {
		done <- c.Write(context.Background(), []vmclient.Series{
			series("m", nil, vmclient.Sample{Timestamp: minute0, Value: 5}, vmclient.Sample{Timestamp: minute0 + 60_000, Value: 6}),
		})
	}()
	for range 3 {
		select {
		case err := <-retries:
			if !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("retry error %v, want connection refused", err)
			}
		case err := <-done:
			t.Fatalf("Write returned %v while VictoriaMetrics is down", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no retry in 10s")
		}
	}
	vm.Start()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Write after restart: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write did not finish 10s after VictoriaMetrics came back")
	}
	vm.Flush()
	if got := vm.Totals(t, "m"); !maps.Equal(got, map[string]float64{"": 11}) {
		t.Errorf("totals %v, want 11", got)
	}
	if st := c.Stats(); st.Retries < 3 || st.Requests != st.Retries+1 || st.Samples != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestCancelWhileDown(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	vm.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newClient(t, vmclient.Config{URL: vm.URL, Retry: vmclient.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond},
		OnRetry: func(attempt int, err error, wait time.Duration) {
			if attempt == 5 {
				cancel()
			}
		}})
	err := c.Write(ctx, []vmclient.Series{series("m", nil, vmclient.Sample{Timestamp: minute0, Value: 1})})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), vm.URL) {
		t.Errorf("Write = %v, want context.Canceled naming %s", err, vm.URL)
	}
	if st := c.Stats(); st.Samples != 0 || st.Requests != 5 {
		t.Errorf("stats %+v, want 5 requests, nothing acknowledged", st)
	}
}

func TestCheckDedup(t *testing.T) {
	f := func(vm *testserver.VM, want string) {
		t.Helper()
		err := newClient(t, vmclient.Config{URL: vm.URL}).CheckDedup(context.Background())
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckDedup: %v", err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckDedup = %v, want %q", err, want)
		}
		var unknown *vmclient.DedupUnknownError
		if errors.As(err, &unknown) {
			t.Errorf("CheckDedup: %v: the setting was not read", err)
		}
	}
	f(testserver.VictoriaMetrics(t), "")
	f(testserver.VictoriaMetricsNoDedup(t), "-dedup.minScrapeInterval is 0 (off): replayed batches would be counted twice; start it with -dedup.minScrapeInterval=1ms")
	f(testserver.VictoriaMetrics(t, "-dedup.minScrapeInterval=0s"), "is 0 (off)")
	f(testserver.VictoriaMetrics(t, "-dedup.minScrapeInterval=1s"), "-dedup.minScrapeInterval is 1s: it merges samples less than 1s apart, which would drop data; set -dedup.minScrapeInterval=1ms")
}

// pathRecorder is an http.RoundTripper that records the host and path of
// every request before sending it.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, req.URL.Host+req.URL.Path)
	p.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// TestClusterURLs writes and checks through the cluster URL shapes of a
// real VictoriaMetrics cluster (2 vmstorage, vminsert, vmselect), in
// tenant 7:1, given as full URLs or as base URLs and Tenant: the sample
// is read back through vmselect in that tenant only (not in the default
// tenant 0, nor in 7:2), and the client asks vminsert, vmselect and the
// vmstorage nodes exactly for the paths of each.
func TestClusterURLs(t *testing.T) {
	c := testserver.VictoriaMetricsCluster(t, 2)
	host := func(base string) string { return strings.TrimPrefix(base, "http://") }
	ins, sel := host(c.WriteURL), host(c.QueryURL)
	for i, cfg := range []vmclient.Config{
		{WriteURL: c.WriteURL + "/insert/7:1/prometheus/api/v1/write", QueryURL: c.QueryURL + "/select/7:1/prometheus/"},
		{WriteURL: c.WriteURL, QueryURL: c.QueryURL, Tenant: "7:1"},
	} {
		t.Run(fmt.Sprintf("%s %s", cfg.WriteURL, cfg.Tenant), func(t *testing.T) {
			var rec pathRecorder
			cfg.StorageNodes = c.StorageNodes()
			cfg.HTTPClient = &http.Client{Transport: &rec}
			client := newClient(t, cfg)
			ctx := context.Background()
			if err := client.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			if err := client.CheckDedup(ctx); err != nil {
				t.Fatalf("CheckDedup: %v", err)
			}
			name := fmt.Sprintf("m%d", i) // each case its own series
			if err := client.Write(ctx, []vmclient.Series{series(name, nil, vmclient.Sample{Timestamp: minute0, Value: 3})}); err != nil {
				t.Fatalf("Write: %v", err)
			}
			c.Flush()
			body, err := client.Get(ctx, "/api/v1/export", url.Values{"match[]": {name}})
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if !strings.Contains(string(body), `"values":[3]`) {
				t.Errorf("export through vmselect in tenant 7:1: %q", body)
			}
			// The tenant matters: the default tenant and a neighbour do
			// not see the sample.
			if got := c.Export(t, name); len(got) != 0 {
				t.Errorf("tenant %s holds %v, want nothing", testserver.ClusterTenant, got)
			}
			other := newClient(t, vmclient.Config{WriteURL: c.WriteURL, QueryURL: c.QueryURL, Tenant: "7:2", StorageNodes: c.StorageNodes()})
			if body, err := other.Get(ctx, "/api/v1/export", url.Values{"match[]": {name}}); err != nil || len(strings.TrimSpace(string(body))) != 0 {
				t.Errorf("tenant 7:2 export = %q, %v; want nothing", body, err)
			}
			want := []string{ins + "/insert/7:1/prometheus/api/v1/write", sel + "/select/7:1/prometheus/api/v1/status/buildinfo", sel + "/flags"}
			for _, n := range c.StorageNodes() {
				want = append(want, host(n)+"/metrics")
			}
			want = append(want, ins+"/insert/7:1/prometheus/api/v1/write", sel+"/select/7:1/prometheus/api/v1/export")
			if !slices.Equal(rec.paths, want) {
				t.Errorf("paths asked %q\nwant %q", rec.paths, want)
			}
			_, err = client.Get(ctx, "/nope", nil)
			var re *vmclient.RequestError
			if !errors.As(err, &re) || re.Status != http.StatusBadRequest {
				t.Errorf("Get(/nope) = %v, want a RequestError 400", err)
			}
		})
	}
}

// TestAuth runs VictoriaMetrics with basic auth: the right password writes
// and reads flags, a wrong one is refused at once, without the password in
// the error.
func TestAuth(t *testing.T) {
	vm := testserver.VictoriaMetrics(t, "-httpAuth.username=collector", "-httpAuth.password=s3cr3t-pass")
	ctx := context.Background()
	s := []vmclient.Series{series("m", nil, vmclient.Sample{Timestamp: minute0, Value: 3})}

	good := newClient(t, vmclient.Config{URL: vm.URL, Username: "collector", Password: "s3cr3t-pass"})
	if err := good.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if err := good.CheckDedup(ctx); err != nil {
		t.Errorf("CheckDedup: %v", err)
	}
	if err := good.Write(ctx, s); err != nil {
		t.Errorf("Write: %v", err)
	}

	for _, cfg := range []vmclient.Config{
		{URL: vm.URL, Username: "collector", Password: "wr0ng-pass"},
		{URL: vm.URL, BearerToken: "b3arer-tok"},
		{URL: vm.URL},
	} {
		c := newClient(t, cfg)
		err := c.Write(ctx, s)
		var re *vmclient.RequestError
		if !errors.As(err, &re) || re.Status != http.StatusUnauthorized {
			t.Errorf("Write with %q/%q: %v, want HTTP 401", cfg.Username, cfg.BearerToken, err)
		}
		var unknown *vmclient.DedupUnknownError
		if err := c.CheckDedup(ctx); !errors.As(err, &unknown) {
			t.Errorf("CheckDedup with %q/%q: %v, want DedupUnknownError", cfg.Username, cfg.BearerToken, err)
		}
		for _, err := range []error{err, c.Ping(ctx), c.CheckDedup(ctx)} {
			for _, secret := range []string{"wr0ng-pass", "s3cr3t-pass", "b3arer-tok"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
		}
		if st := c.Stats(); st.Failures != 1 || st.Retries != 0 {
			t.Errorf("stats %+v, want one failure and no retry", st)
		}
	}
}
