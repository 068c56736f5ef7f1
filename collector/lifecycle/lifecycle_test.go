package lifecycle_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/lifecycle"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// signal sends sig to this process, which listens for it.
func signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits up to 5 s for ch.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
	}
}

// TestStopOnSignals: a first signal drains, a second or the timeout stops
// at once; without a signal nothing happens.
func TestStopOnSignals(t *testing.T) {
	for _, tt := range []struct {
		name     string
		signals  []syscall.Signal
		timeout  time.Duration
		drained  bool
		stopped  bool
		wantLogs []string
	}{
		{"second signal", []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}, time.Hour, true, true,
			[]string{`msg="stopping after the batch in flight" signal=interrupt`, `msg="stopping now; the batch in flight will be replayed by the next run"`}},
		{"timeout", []syscall.Signal{syscall.SIGTERM}, 50 * time.Millisecond, true, true,
			[]string{`signal=terminated`, `msg="the batch in flight did not finish in time; it will be replayed by the next run"`}},
		{"drained in time", []syscall.Signal{syscall.SIGINT}, time.Hour, true, false, []string{`signal=interrupt`}},
		{"no signal", nil, 50 * time.Millisecond, false, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log lockedBuffer
			ctx, cancel := context.WithCancel(context.Background())
			drained, stopped := make(chan struct{}, 1), make(chan struct{}, 1)
			stop := lifecycle.StopOnSignals(ctx, slog.New(slog.NewTextHandler(&log, nil)), tt.timeout,
				func() { drained <- struct{}{} }, func() { stopped <- struct{}{} })
			defer stop()
			for i, sig := range tt.signals {
				signal(t, sig)
				if i == 0 {
					waitFor(t, drained, "drain")
				}
			}
			if tt.stopped {
				waitFor(t, stopped, "stop")
			}
			time.Sleep(200 * time.Millisecond) // what must not happen has had time to
			cancel()
			if !tt.drained && len(drained) > 0 || !tt.stopped && len(stopped) > 0 {
				t.Errorf("drained %d, stopped %d; want %v and %v", len(drained), len(stopped), tt.drained, tt.stopped)
			}
			for _, want := range tt.wantLogs {
				if !strings.Contains(log.String(), want) {
					t.Errorf("log lacks %s:\n%s", want, log.String())
				}
			}
		})
	}
}

// TestOnReload: each SIGHUP applies the file's configuration, saying what
// changed and what needs a restart; a bad file is logged and not applied.
func TestOnReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "collector.yaml")
	const base = "storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /a}"
	write := func(yaml string) {
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(base + "]\n")
	cur, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	applied := make(chan *config.Config, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := lifecycle.OnReload(ctx, slog.New(slog.NewTextHandler(&log, nil)), path, cur, func(c *config.Config) { applied <- c })
	defer stop()
	for _, tt := range []struct {
		name    string
		yaml    string
		sources []string // of the configuration applied; nil: none applied
		log     []string // lines logged, the last one last
	}{
		{"source added", base + ", {name: b, type: dir, path: /b}]\n", []string{"a", "b"},
			[]string{`level=INFO msg="configuration reloaded" sources=2 added=[b] removed=[] changed=[]`}},
		{"bad file", base + ", {name: b, type: nope}]\n", nil,
			[]string{`level=ERROR msg="configuration not reloaded: the running one is kept" err="` + path + `:2:53: sources[1].type: \"nope\": want s3 or dir"`}},
		{"restart needed", "state_dir: /elsewhere\n" + base + "]\n", []string{"a"},
			[]string{`level=WARN msg="configuration changes that take effect only after a restart" fields="state_dir, log, spool"`,
				`level=INFO msg="configuration reloaded" sources=1 added=[] removed=[b] changed=[]`}},
		{"compared with the last applied", "state_dir: /elsewhere\n" + base + ", {name: c, type: dir, path: /c}]\n", []string{"a", "c"},
			[]string{`level=INFO msg="configuration reloaded" sources=2 added=[c] removed=[] changed=[]`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(log.String())
			logged := func() string { return log.String()[before:] }
			write(tt.yaml)
			signal(t, syscall.SIGHUP)
			last := tt.log[len(tt.log)-1]
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(logged(), last) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			lines := strings.Split(strings.TrimSpace(logged()), "\n")
			if len(lines) != len(tt.log) {
				t.Fatalf("logged %d lines, want %d:\n%s", len(lines), len(tt.log), logged())
			}
			for i, want := range tt.log {
				if !strings.Contains(lines[i], want) {
					t.Errorf("log line %q, want %s", lines[i], want)
				}
			}
			var got []string
			select {
			case c := <-applied:
				for _, s := range c.Sources {
					got = append(got, s.Name)
				}
				if tt.sources == nil {
					t.Errorf("applied %v", got)
				}
			case <-time.After(100 * time.Millisecond):
				if tt.sources != nil {
					t.Errorf("not applied")
				}
			}
			if tt.sources != nil && strings.Join(got, ",") != strings.Join(tt.sources, ",") {
				t.Errorf("applied sources %v, want %v", got, tt.sources)
			}
		})
	}
}
