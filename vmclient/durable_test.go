package vmclient_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bytes"
	"encoding/json"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
	"io"
	"net/http/httputil"
	"net/url"
	"sync"
)

// TestParseNodeMetrics reads the lines of a storage node's /metrics that
// tell its process apart and its flush interval, and refuses pages that
// are not a storage node's.
func TestParseNodeMetrics(t *testing.T) {
	const node = `vm_http_requests_all_total 17
vm_app_start_timestamp 1796530436
vm_app_uptime_seconds 1
flag{name="dedup.minScrapeInterval", value="1ms", is_set="true"} 1
flag{name="inmemoryDataFlushInterval", value="5s", is_set="false"} 1
`
	f := func(name, page string, wantAfter time.Duration, wantErr string) {
		t.Helper()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/metrics" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprint(w, page)
		}))
		defer srv.Close()
		c := newClient(t, vmclient.Config{URL: srv.URL})
		d, err := c.CheckDurability(context.Background())
		switch {
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: error %v, want one saying %q", name, err, wantErr)
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case wantErr == "" && d.After != wantAfter:
			t.Errorf("%s: saved after %v, want %v", name, d.After, wantAfter)
		}
	}
	f("default flush interval", node, 18*time.Second, "")
	f("2s", strings.Replace(node, `value="5s"`, `value="2s"`, 1), 12*time.Second, "")
	f("1s is raised to 2s, as VictoriaMetrics does", strings.Replace(node, `value="5s"`, `value="1s"`, 1), 12*time.Second, "")
	f("1m", strings.Replace(node, `value="5s"`, `value="1m"`, 1), 2*time.Minute+8*time.Second, "")
	f("vminsert", "vm_http_requests_all_total 3\nvm_app_start_timestamp 1\n", 0, "not a VictoriaMetrics single node or vmstorage")
	f("not VictoriaMetrics", "up 1\n", 0, "not a VictoriaMetrics process")
	f("bad start", strings.Replace(node, "1796530436", "x", 1), 0, "vm_app_start_timestamp")
	f("bad interval", strings.Replace(node, `value="5s"`, `value="soon"`, 1), 0, "-inmemoryDataFlushInterval")
}

// TestCheckDurabilitySeesRestarts restarts a real VictoriaMetrics between
// checks: gracefully, killed, and killed and started again within the
// second it started in, once it served a hundred writes (the start time
// has a resolution of a second: the request counter tells the processes
// apart). The generation rises each time and only then.
func TestCheckDurabilitySeesRestarts(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	c := newClient(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	check := func(what string, want uint64) {
		t.Helper()
		d, err := c.CheckDurability(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if d.Generation != want || c.Generation() != want {
			t.Fatalf("%s: generation %d (Generation() %d), want %d", what, d.Generation, c.Generation(), want)
		}
		if d.After != 18*time.Second {
			t.Errorf("%s: saved after %v, want 18s at the default flush interval", what, d.After)
		}
	}
	check("first check", 0)
	check("no restart", 0)
	if err := c.Write(ctx, []vmclient.Series{series("m", nil, vmclient.Sample{Timestamp: minute0, Value: 1})}); err != nil {
		t.Fatal(err)
	}
	check("a write is no restart", 0)
	time.Sleep(1100 * time.Millisecond) // a start time of its own
	vm.Stop()
	vm.Start()
	check("stopped and started", 1)
	time.Sleep(1100 * time.Millisecond) // a start time of its own
	vm.Kill()
	vm.Start()
	check("killed and started", 2)
	check("no restart", 2)
	// Killed and started again within the second it started in, after it
	// served requests (as a storage the collector writes to has): the
	// start times are equal, the request counter goes down. Retried until
	// both starts fall in the same second.
	for attempt := 0; ; attempt++ {
		time.Sleep(1100 * time.Millisecond)
		vm.Kill()
		vm.Start()
		sec := time.Now().Unix()
		for i := range 100 {
			if err := c.Write(ctx, []vmclient.Series{series("m", nil, vmclient.Sample{Timestamp: minute0 + int64(i), Value: 1})}); err != nil {
				t.Fatal(err)
			}
		}
		before := c.Generation()
		check("killed and started", before+1)
		vm.Kill()
		vm.Start()
		if time.Now().Unix() != sec {
			if attempt < 10 {
				continue
			}
			t.Skip("could not restart VictoriaMetrics twice within one second")
		}
		check("killed and started within the second it started in", before+2)
		break
	}
	if h := c.Health(); h.Restarts != c.Generation() {
		t.Errorf("Health().Restarts %d, generation %d", h.Restarts, c.Generation())
	}
}

// TestSavedAfterHolds checks the save delay against VictoriaMetrics
// itself: samples acknowledged and then killed with SIGKILL at once are
// lost (what makes the delay needed: if this part fails, VictoriaMetrics
// has changed), and samples killed once the delay CheckDurability gives
// has passed survive, at random phases of VictoriaMetrics' flush timers.
func TestSavedAfterHolds(t *testing.T) {
	vm := testserver.VictoriaMetrics(t, "-inmemoryDataFlushInterval=2s")
	c := newClient(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	d, err := c.CheckDurability(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	write := func(name string) { writeSeries(t, c, name, 500) }
	count := func(name string) float64 { return countSeries(t, vm, name) }

	write("lost")
	vm.Kill()
	vm.Start()
	if n := count("lost"); n != 0 {
		t.Errorf("%v of 500 series killed right after their acknowledgement survived: VictoriaMetrics now saves on acknowledgement?", n)
	}
	for i := range 3 {
		time.Sleep(time.Duration(rng.Int64N(int64(2 * time.Second)))) // another phase of the flush timers
		name := fmt.Sprintf("kept_%d", i)
		write(name)
		time.Sleep(d.After)
		vm.Kill()
		vm.Start()
		if n := count(name); n != 500 {
			t.Errorf("killed %v after the acknowledgement: %v of 500 series survived", d.After, n)
		}
	}
}

// TestUnreachable tells errors worth waiting for from those that need a
// change of configuration.
func TestUnreachable(t *testing.T) {
	down := newClient(t, vmclient.Config{URL: "http://127.0.0.1:1", Timeout: time.Second})
	_, err := down.CheckDurability(context.Background())
	if err == nil || !vmclient.Unreachable(err) {
		t.Errorf("connection refused: %v, Unreachable false", err)
	}
	for _, tc := range []struct {
		status int
		want   bool
	}{{500, true}, {503, true}, {429, true}, {408, true}, {401, false}, {404, false}} {
		if got := vmclient.Unreachable(fmt.Errorf("x: %w", &vmclient.RequestError{Status: tc.status})); got != tc.want {
			t.Errorf("HTTP %d: Unreachable %v, want %v", tc.status, got, tc.want)
		}
	}
	if vmclient.Unreachable(errors.New("not a VictoriaMetrics process")) {
		t.Error("a wrong answer is not worth waiting for")
	}
	if h := down.Health(); h.Up || h.FailedAttempts != 1 || !strings.Contains(h.LastError, "127.0.0.1:1") {
		t.Errorf("health after a failed check: %+v", h)
	}
}

// TestFlushSaves checks Flush against VictoriaMetrics itself: samples
// killed with SIGKILL right after Flush survive, where samples killed a
// moment after their acknowledgement without it are lost (if that part
// fails, VictoriaMetrics saves sooner than it did, and the comparison says
// nothing).
func TestFlushSaves(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	c := newClient(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	if _, err := c.CheckDurability(ctx); err != nil {
		t.Fatal(err)
	}
	write := func(name string) { writeSeries(t, c, name, 2000) }
	count := func(name string) float64 { return countSeries(t, vm, name) }
	for round := range 3 {
		lost, kept := fmt.Sprintf("unflushed_%d", round), fmt.Sprintf("flushed_%d", round)
		write(lost)
		time.Sleep(500 * time.Millisecond)
		vm.Kill()
		vm.Start()
		if n := count(lost); n != 0 {
			t.Fatalf("%v of 2000 series killed 0.5 s after their acknowledgement survived: the comparison says nothing", n)
		}
		write(kept)
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		vm.Kill()
		vm.Start()
		if n := count(kept); n != 2000 {
			t.Errorf("round %d: killed right after Flush: %v of 2000 series survived", round, n)
		}
	}
	resp, err := http.Get(vm.URL + "/snapshot/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Snapshots []string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Snapshots) > 0 {
		t.Errorf("Flush left snapshots behind: %q", list.Snapshots)
	}
}

// TestFlushWaitsForMerges: a snapshot taken while VictoriaMetrics merges
// in-memory parts skips them, so Flush takes it as proof only when no
// merge was active before or after it and none ran in between. A proxy
// in front of a real VictoriaMetrics makes merges show in its /metrics
// (a test cannot make VictoriaMetrics merge at will): Flush must snapshot
// again, and give up with ErrFlushBusy when merges never stop.
func TestFlushWaitsForMerges(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	for _, tc := range []struct {
		name      string
		busy      func(read int) (active, done int) // merges to add to the node's, by /metrics read
		snapshots int
		wantBusy  bool
	}{
		{"quiet", func(int) (int, int) { return 0, 0 }, 1, false},
		{"active around the first", func(read int) (int, int) {
			if read < 2 { // reads 0 and 1 are the first snapshot's, 2 and 3 the second's
				return 1, 0
			}
			return 0, 0
		}, 2, false},
		{"active after the first", func(read int) (int, int) { return max(0, 1-abs(read-1)), 0 }, 2, false},
		{"a merge ran during the first", func(read int) (int, int) { return 0, min(read, 1) }, 2, false},
		{"never quiet", func(int) (int, int) { return 1, 0 }, 4, true},
		{"merges keep running", func(read int) (int, int) { return 0, read }, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, _ := url.Parse(vm.URL)
			var mu sync.Mutex
			reads, snapshots := 0, 0
			proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				r.Out.Header.Del("Accept-Encoding") // plain text to append to
			}}
			proxy.ModifyResponse = func(r *http.Response) error {
				mu.Lock()
				defer mu.Unlock()
				switch r.Request.URL.Path {
				case "/snapshot/create":
					snapshots++
				case "/metrics":
					body, err := io.ReadAll(r.Body)
					if err != nil {
						return err
					}
					active, done := tc.busy(reads)
					reads++
					body = append(body, fmt.Sprintf("vm_active_merges{type=\"test\"} %d\nvm_merges_total{type=\"test\"} %d\n", active, done)...)
					r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
					r.Header.Del("Content-Length")
				}
				return nil
			}
			srv := httptest.NewServer(proxy)
			defer srv.Close()
			c := newClient(t, vmclient.Config{URL: srv.URL})
			err := c.Flush(context.Background())
			if tc.wantBusy != errors.Is(err, vmclient.ErrFlushBusy) || (!tc.wantBusy && err != nil) {
				t.Fatalf("Flush: %v, want busy %v", err, tc.wantBusy)
			}
			if snapshots != tc.snapshots {
				t.Errorf("%d snapshots, want %d", snapshots, tc.snapshots)
			}
		})
	}
}

// TestFlushRefused: where the storage cannot be asked to save at once,
// Flush says so with ErrNoFlush (the caller then waits the save delay).
func TestFlushRefused(t *testing.T) {
	guarded := testserver.VictoriaMetrics(t, "-snapshotAuthKey=a-key-we-do-not-have")
	for _, tc := range []struct {
		name string
		cfg  vmclient.Config
	}{
		{"snapshots need a key", vmclient.Config{URL: guarded.URL}},
		{"flush disabled", vmclient.Config{URL: guarded.URL, DisableFlush: true}},
		{"a cluster", vmclient.Config{WriteURL: "http://127.0.0.1:1", QueryURL: "http://127.0.0.1:1", StorageNodes: []string{"http://127.0.0.1:1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newClient(t, tc.cfg).Flush(context.Background())
			if !errors.Is(err, vmclient.ErrNoFlush) {
				t.Fatalf("Flush: %v, want ErrNoFlush", err)
			}
		})
	}
}

// writeSeries writes n series of metric name, one sample each.
func writeSeries(t *testing.T, c *vmclient.Client, name string, n int) {
	t.Helper()
	var ss []vmclient.Series
	for i := range n {
		ss = append(ss, series(name, map[string]string{"i": fmt.Sprint(i)}, vmclient.Sample{Timestamp: minute0, Value: 1}))
	}
	if err := c.Write(context.Background(), ss); err != nil {
		t.Fatal(err)
	}
}

// countSeries returns the sum of metric name's samples in vm.
func countSeries(t *testing.T, vm *testserver.VM, name string) float64 {
	t.Helper()
	vm.Flush()
	return vm.Totals(t, name)[""]
}

func abs(n int) int { return max(n, -n) }
