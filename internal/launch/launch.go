// Package launch runs the server processes that tests, the demo and the
// benchmarks start (VictoriaMetrics, its cluster's programs, versitygw):
// start one and wait until it answers its health check, stop it
// gracefully or kill it as a crash would, start it again on the same
// address and data, read the tail of its log. Process does that for any
// server; VictoriaMetrics and Versitygw know those two's command lines.
//
// It depends on the standard library and internal/tools only: test
// servers (internal/testserver) and the mage targets (internal/devtools)
// both use it without linking each other.
package launch

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vpcflow/vpcflow/internal/tools"
)

const (
	// HealthTimeout is how long Start waits for a server to answer its
	// health check, unless its Spec says otherwise.
	HealthTimeout = 15 * time.Second
	// StopTimeout is how long Stop waits after SIGTERM before it kills.
	StopTimeout = 5 * time.Second
	// logTailLines is how many lines LogTail returns.
	logTailLines = 40
)

// bindFailures are what servers log when their listen address is taken.
var bindFailures = []string{"address already in use", "cannot start http server"}

// Spec describes a server process.
type Spec struct {
	// Name names the process in messages: "VictoriaMetrics", "vmstorage 1".
	Name string
	// Bin is the executable; Args its arguments; Env is added to this
	// process's environment.
	Bin  string
	Args []string
	Env  []string
	// Addr is the host:port its HTTP server listens on.
	Addr string
	// HealthPath is the path that answers GET with 200 once the server
	// serves; when HealthBody is set, the answer's body (trimmed) must be
	// it too.
	HealthPath, HealthBody string
	// HealthTimeout is how long Start waits for the health check to
	// answer; default HealthTimeout.
	HealthTimeout time.Duration
	// LogPath is the file the process's output is appended to, across
	// runs.
	LogPath string
}

// Process is one server process: started again after Stop or Kill with
// the same arguments (so on the same address and data folder), its output
// appended to one log file across runs. Its methods are safe for
// concurrent use.
type Process struct {
	spec Spec

	mu  sync.Mutex
	run *run // nil when stopped
}

// run is one run of a server process.
type run struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited, after err is set
	err    error         // cmd.Wait's result
}

// New returns the process of spec, not started.
func New(spec Spec) *Process { return &Process{spec: spec} }

// Name returns the name the process has in messages.
func (p *Process) Name() string { return p.spec.Name }

// Addr returns the host:port the process's HTTP server listens on.
func (p *Process) Addr() string { return p.spec.Addr }

// URL returns the process's HTTP base URL, http://Addr.
func (p *Process) URL() string { return "http://" + p.spec.Addr }

// Args returns the process's arguments.
func (p *Process) Args() []string { return slices.Clone(p.spec.Args) }

// LogPath returns the file the process's output goes to.
func (p *Process) LogPath() string { return p.spec.LogPath }

// Start runs the process and waits until its health check answers, the
// process exits, HealthTimeout passes or ctx is done. On error the
// process is stopped.
func (p *Process) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil {
		return fmt.Errorf("%s at %s is already running", p.spec.Name, p.URL())
	}
	logFile, err := os.OpenFile(p.spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fmt.Fprintf(logFile, "=== vpcflow launch: starting on %s\n", p.spec.Addr)
	cmd := exec.Command(p.spec.Bin, p.spec.Args...)
	if len(p.spec.Env) > 0 {
		cmd.Env = append(os.Environ(), p.spec.Env...)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("run %s: %w", p.spec.Bin, err)
	}
	r := &run{cmd: cmd, exited: make(chan struct{})}
	p.run = r
	go func() {
		r.err = cmd.Wait()
		logFile.Close()
		close(r.exited)
	}()
	if err := p.waitHealthy(ctx, r); err != nil {
		p.stopLocked(false)
		return err
	}
	return nil
}

// waitHealthy polls the health path until it answers, the process exits,
// HealthTimeout passes or ctx is done.
func (p *Process) waitHealthy(ctx context.Context, r *run) error {
	client := &http.Client{Timeout: time.Second}
	timeout := cmp.Or(p.spec.HealthTimeout, HealthTimeout)
	deadline := time.Now().Add(timeout)
	for {
		err := p.healthy(ctx, client)
		if err == nil {
			return nil
		}
		select {
		case <-r.exited:
			return fmt.Errorf("%s on %s exited before it was healthy: %v", p.spec.Name, p.spec.Addr, r.err)
		case <-ctx.Done():
			return fmt.Errorf("%s on %s: %w", p.spec.Name, p.spec.Addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s on %s not healthy after %s: GET %s: %v", p.spec.Name, p.spec.Addr, timeout, p.spec.HealthPath, err)
		}
	}
}

// healthy asks the health path once.
func (p *Process) healthy(ctx context.Context, client *http.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+p.spec.HealthPath, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || (p.spec.HealthBody != "" && strings.TrimSpace(string(body)) != p.spec.HealthBody) {
		return fmt.Errorf("status %s: %q", resp.Status, body)
	}
	return nil
}

// Stop stops the process gracefully: SIGTERM, then SIGKILL after
// StopTimeout. Stopping a stopped process does nothing.
func (p *Process) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked(false)
}

// Kill kills the process with SIGKILL, as a crash would, and waits until
// it is gone. Killing a stopped process does nothing.
func (p *Process) Kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked(true)
}

func (p *Process) stopLocked(kill bool) {
	r := p.run
	if r == nil {
		return
	}
	p.run = nil
	if kill {
		_ = r.cmd.Process.Kill()
		<-r.exited
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(StopTimeout):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// Running reports whether the process is running (started and neither
// stopped nor killed since).
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run != nil
}

// PID returns the process id of the running process, or 0 when stopped.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		return 0
	}
	return p.run.cmd.Process.Pid
}

// LogTail returns the last lines of the process's log (all runs of it).
func (p *Process) LogTail() string {
	data, err := os.ReadFile(p.spec.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// LogNote returns the tail of p's log with its path, for an error message
// about p, or nothing when p is nil (no process was made).
func LogNote(p *Process) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("log tail (%s):\n%s", p.LogPath(), p.LogTail())
}

// bindFailed reports whether the log says a listen address was taken.
func (p *Process) bindFailed() bool {
	tail := p.LogTail()
	return slices.ContainsFunc(bindFailures, func(s string) bool { return strings.Contains(tail, s) })
}

// Loopback returns the address 127.0.0.1:port.
func Loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// StartOnFreePorts starts a process on ports that were free a moment
// ago: newProcess makes it from n distinct ones. A port may be taken
// between the probe and the process's listen: then it tries once more
// with other ports. It returns the process started, or the last one tried
// (nil if none was) with the error.
func StartOnFreePorts(ctx context.Context, n int, newProcess func(ports []int) *Process) (*Process, error) {
	for attempt := 1; ; attempt++ {
		var ports []int
		for len(ports) < n {
			port, err := tools.FreePort()
			if err != nil {
				return nil, err
			}
			if !slices.Contains(ports, port) {
				ports = append(ports, port)
			}
		}
		p := newProcess(ports)
		err := p.Start(ctx)
		if err == nil {
			return p, nil
		}
		if attempt == 2 || !p.bindFailed() {
			return p, err
		}
	}
}
