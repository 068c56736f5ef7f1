package launch

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serverEnv makes the test binary a small HTTP server (see serve) instead
// of running the tests: the process Process starts in these tests.
const serverEnv = "VPCFLOW_LAUNCH_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) == "1" {
		os.Exit(serve(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// serve listens on -addr, answers /health with "OK" once -ready has
// passed (-body replaces the answer), exits with status 3 after -exit
// without serving, and on SIGTERM logs "graceful stop" and exits 0.
func serve(args []string) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address")
	ready := fs.Duration("ready", 0, "delay before /health answers OK")
	body := fs.String("body", "OK", "the answer of /health once ready")
	exit := fs.Duration("exit", 0, "exit with status 3 after this, without listening")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fmt.Printf("server pid %d, env %s\n", os.Getpid(), os.Getenv("LAUNCH_TEST_GREETING"))
	if *exit > 0 {
		time.Sleep(*exit)
		fmt.Println("giving up")
		return 3
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Printf("cannot start http server: %v\n", err)
		return 1
	}
	began := time.Now()
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		if time.Since(began) < *ready {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, *body)
	})
	go http.Serve(l, mux)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	fmt.Println("graceful stop")
	return 0
}

// testProcess returns a Process running the test binary as a server on
// addr with extra flags; it must be healthy within 3 s.
func testProcess(t *testing.T, addr, logPath string, flags ...string) *Process {
	t.Helper()
	p := New(Spec{
		Name:          "test server",
		Bin:           os.Args[0],
		Args:          append([]string{"-addr=" + addr}, flags...),
		Env:           []string{serverEnv + "=1", "LAUNCH_TEST_GREETING=hello"},
		Addr:          addr,
		HealthPath:    "/health",
		HealthBody:    "OK",
		HealthTimeout: 3 * time.Second,
		LogPath:       logPath,
	})
	t.Cleanup(p.Kill)
	return p
}

// TestProcess starts a server that becomes healthy after a while, stops
// it gracefully, starts it again on the same address, kills it, and
// reads the log of all its runs.
func TestProcess(t *testing.T) {
	ctx := context.Background()
	logPath := filepath.Join(t.TempDir(), "server.log")
	p, err := StartOnFreePorts(ctx, 1, func(ports []int) *Process {
		return testProcess(t, Loopback(ports[0]), logPath, "-ready=300ms")
	})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, LogNote(p))
	}
	if !p.Running() || p.PID() == 0 {
		t.Fatalf("running %v, pid %d after Start", p.Running(), p.PID())
	}
	if resp, err := http.Get(p.URL() + "/health"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Start returned before the server was healthy: %v %v", resp, err)
	}
	if err := p.Start(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Start while running: %v", err)
	}
	url := p.URL()
	p.Stop()
	if p.Running() || p.PID() != 0 {
		t.Error("running after Stop")
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Error("/health answers after Stop")
	}
	p.Stop() // no-op
	if err := p.Start(ctx); err != nil {
		t.Fatalf("restart: %v\n%s", err, LogNote(p))
	}
	if p.URL() != url {
		t.Errorf("URL after restart %s, want %s", p.URL(), url)
	}
	p.Kill()
	p.Kill() // no-op
	log := p.LogTail()
	if n := strings.Count(log, "=== vpcflow launch: starting on "+p.Addr()); n != 2 {
		t.Errorf("%d start markers in the log, want 2:\n%s", n, log)
	}
	if n := strings.Count(log, "graceful stop"); n != 1 {
		t.Errorf("%d graceful stops in the log, want 1 (Stop then Kill):\n%s", n, log)
	}
	if !strings.Contains(log, "env hello") {
		t.Errorf("the environment was not passed:\n%s", log)
	}
	if note := LogNote(p); !strings.HasPrefix(note, "log tail ("+logPath+"):\n") {
		t.Errorf("LogNote = %q", note)
	}
	if LogNote(nil) != "" {
		t.Error("LogNote(nil) is not empty")
	}
}

// TestProcessNotHealthy: a server that exits before it is healthy, one
// whose health check answers something else, and a start cancelled by
// its context all fail Start, which leaves nothing running.
func TestProcessNotHealthy(t *testing.T) {
	dir := t.TempDir()
	f := func(name string, ctx context.Context, want string, flags ...string) {
		t.Helper()
		p, err := StartOnFreePorts(ctx, 1, func(ports []int) *Process {
			return testProcess(t, Loopback(ports[0]), filepath.Join(dir, name+".log"), flags...)
		})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Start = %v, want an error with %q", name, err, want)
		}
		if p == nil || p.Running() {
			t.Errorf("%s: left running after a failed Start", name)
		}
	}
	f("exits", context.Background(), "exited before it was healthy: exit status 3", "-exit=100ms")
	f("wrong body", context.Background(), `not healthy after 3s: GET /health: status 200 OK: "NOT OK\n"`, "-body=NOT OK")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	f("cancelled", ctx, context.DeadlineExceeded.Error(), "-ready=1h")
}

// TestStartOnFreePortsRetries: when the port is taken between the probe
// and the listen, the server logs it and StartOnFreePorts tries again on
// other ports, once.
func TestStartOnFreePortsRetries(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	go func() { // refuse what reaches it, so that health checks fail fast
		for {
			c, err := taken.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dir := t.TempDir()
	var tried []string
	p, err := StartOnFreePorts(context.Background(), 2, func(ports []int) *Process {
		if ports[0] == ports[1] {
			t.Errorf("ports %v are not distinct", ports)
		}
		addr := Loopback(ports[0])
		if len(tried) == 0 {
			addr = taken.Addr().String()
		}
		tried = append(tried, addr)
		return testProcess(t, addr, filepath.Join(dir, fmt.Sprintf("server-%d.log", len(tried))))
	})
	if err != nil {
		t.Fatalf("start: %v\n%s", err, LogNote(p))
	}
	if len(tried) != 2 || p.Addr() != tried[1] {
		t.Errorf("tried %v, started on %s; want a second try on a free port", tried, p.Addr())
	}

	// Taken twice: the second failure is returned.
	tried = nil
	p, err = StartOnFreePorts(context.Background(), 1, func([]int) *Process {
		tried = append(tried, taken.Addr().String())
		return testProcess(t, taken.Addr().String(), filepath.Join(dir, fmt.Sprintf("taken-%d.log", len(tried))))
	})
	if err == nil || !strings.Contains(err.Error(), "exited before it was healthy") || len(tried) != 2 || p == nil {
		t.Errorf("always taken: %v after %d tries", err, len(tried))
	}
}
