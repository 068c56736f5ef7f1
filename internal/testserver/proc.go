package testserver

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vpcflow/vpcflow/internal/tools"
)

// proc is one server process a test runs: started again after stop or kill
// with the same arguments (so on the same ports and data folder), its
// output appended to one log file across runs. VM and each process of a
// Cluster are one.
type proc struct {
	name    string // for messages: "VictoriaMetrics", "vmstorage 1"
	bin     string
	args    []string
	addr    string // the HTTP listen address, host:port
	logPath string

	mu  sync.Mutex
	run *run // nil when stopped
}

// run is one run of a server process.
type run struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited, after err is set
	err    error         // cmd.Wait's result
}

// url returns the process's HTTP base URL.
func (p *proc) url() string { return "http://" + p.addr }

// start runs the process and waits until GET /health answers 200 "OK"
// (as every VictoriaMetrics binary does once it serves). On error the
// process is stopped.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil {
		return fmt.Errorf("%s at %s is already running", p.name, p.url())
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fmt.Fprintf(logFile, "=== vpcflow testserver: starting on %s\n", p.addr)
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("run %s: %w", p.bin, err)
	}
	r := &run{cmd: cmd, exited: make(chan struct{})}
	p.run = r
	go func() {
		r.err = cmd.Wait()
		logFile.Close()
		close(r.exited)
	}()
	if err := p.waitHealthy(r); err != nil {
		p.stopLocked(false)
		return err
	}
	return nil
}

// waitHealthy polls /health until it answers OK, the process exits, or
// healthTimeout passes.
func (p *proc) waitHealthy(r *run) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(healthTimeout)
	for {
		resp, err := client.Get(p.url() + "/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "OK" {
				return nil
			}
			err = fmt.Errorf("status %s: %q", resp.Status, body)
		}
		select {
		case <-r.exited:
			return fmt.Errorf("%s on %s exited before it was healthy: %v", p.name, p.addr, r.err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s on %s not healthy after %s: GET /health: %v", p.name, p.addr, healthTimeout, err)
		}
	}
}

// bindFailed reports whether the log says a listen address was taken.
func (p *proc) bindFailed() bool {
	tail := p.logTail()
	return strings.Contains(tail, "address already in use") || strings.Contains(tail, "cannot start http server")
}

// stop stops the process gracefully (SIGTERM, then SIGKILL after
// stopTimeout), or at once with SIGKILL when kill is set, as a crash
// would. Stopping a stopped process does nothing.
func (p *proc) stop(kill bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked(kill)
}

func (p *proc) stopLocked(kill bool) {
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
	case <-time.After(stopTimeout):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// running reports whether the process is running.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run != nil
}

// logTail returns the last lines of the process's log (all runs of it).
func (p *proc) logTail() string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// startOnFreePorts starts a process on ports that were free a moment ago:
// newProc makes it from n of them. A port may be taken between the probe
// and the process's listen: then it tries once more with other ports. It
// returns the process started, or the last one tried with the error.
func startOnFreePorts(n int, newProc func(ports []int) *proc) (*proc, error) {
	for attempt := 1; ; attempt++ {
		var ports []int
		for len(ports) < n {
			port, err := tools.FreePort()
			if err != nil {
				return nil, fmt.Errorf("find a free port: %w", err)
			}
			if !slices.Contains(ports, port) {
				ports = append(ports, port)
			}
		}
		p := newProc(ports)
		err := p.start()
		if err == nil {
			return p, nil
		}
		if attempt == 2 || !p.bindFailed() {
			return p, err
		}
	}
}
