package vmclient_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
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

// TestWaitReady: a storage that deduplicates at 1 ms is ready, with its
// save delay; one that does not is refused at once, bound or not; one out
// of reach is waited for, up to the bound, and named in the error.
func TestWaitReady(t *testing.T) {
	ctx := context.Background()
	var log lockedBuffer
	logger := slog.New(slog.NewTextHandler(&log, nil))

	vm := testserver.VictoriaMetrics(t)
	dur, err := newClient(t, vmclient.Config{URL: vm.URL, Logger: logger}).WaitReady(ctx, time.Minute)
	if err != nil || dur.After <= 0 {
		t.Fatalf("ready storage: %+v, %v", dur, err)
	}
	if !strings.Contains(log.String(), "storage ready") {
		t.Errorf("no readiness line in the log:\n%s", log.String())
	}

	noDedup := testserver.VictoriaMetricsNoDedup(t)
	began := time.Now()
	_, err = newClient(t, vmclient.Config{URL: noDedup.URL}).WaitReady(ctx, 0)
	var ue *vmclient.UnreachableError
	if err == nil || errors.As(err, &ue) || time.Since(began) > 10*time.Second {
		t.Errorf("storage without dedup: %v after %s, want a refusal at once", err, time.Since(began))
	}

	const down = "http://127.0.0.1:1"
	began = time.Now()
	_, err = newClient(t, vmclient.Config{URL: down, Logger: logger}).WaitReady(ctx, 1500*time.Millisecond)
	if !errors.As(err, &ue) || ue.URL != down+"/api/v1/write" || !vmclient.Unreachable(ue.Err) || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("unreachable storage: %v, want an *UnreachableError naming it", err)
	}
	if took := time.Since(began); took < time.Second || took > 5*time.Second {
		t.Errorf("gave up after %s, want about the bound (1.5s)", took)
	}
	if !strings.Contains(log.String(), "storage not reachable, waiting") {
		t.Errorf("no waiting line in the log:\n%s", log.String())
	}
}

// TestWaitReadyTimeout: out of reach for longer than --storage-timeout,
// the error names the storage, the wait and the flag; without a bound,
// only ctx ends the wait; a ready storage is ready.
func TestWaitReadyTimeout(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	const down = "http://127.0.0.1:1"
	for _, tt := range []struct {
		name     string
		url      string
		timeout  time.Duration
		want     *regexp.Regexp // nil: no error
		deadline bool           // the error is ctx's deadline
	}{
		{name: "ready", url: vm.URL, timeout: time.Minute},
		{name: "out of reach", url: down, timeout: 1500 * time.Millisecond,
			want: regexp.MustCompile(`^storage http://127\.0\.0\.1:1/api/v1/write not reachable for [0-9]+s \(--storage-timeout 1\.5s\): .*connection refused`)},
		{name: "no bound", url: down, deadline: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			dur, err := newClient(t, vmclient.Config{URL: tt.url}).WaitReadyTimeout(ctx, tt.timeout)
			switch {
			case tt.deadline:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err %v, want ctx's deadline", err)
				}
			case tt.want == nil:
				if err != nil || dur.After <= 0 {
					t.Errorf("%+v, %v; want the storage ready", dur, err)
				}
			default:
				if err == nil || !tt.want.MatchString(err.Error()) || !vmclient.Unreachable(errors.Unwrap(err)) {
					t.Errorf("err %v, want %s wrapping the last attempt's", err, tt.want)
				}
			}
		})
	}
}

// TestWatchFailures: a storage failing for longer than the timeout stops
// the run with the reason; one failing for less, or not failing, does
// not.
func TestWatchFailures(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	for _, tt := range []struct {
		name    string
		url     string
		timeout time.Duration
		want    *regexp.Regexp // nil: not stopped
	}{
		{name: "failing too long", url: "http://127.0.0.1:1", timeout: 10 * time.Millisecond,
			want: regexp.MustCompile(`^storage http://127\.0\.0\.1:1/api/v1/write failing for [0-9]+s \(--storage-timeout 10ms; 1 failed attempts, last: .*connection refused.*\): ` +
				`its objects stay in the source, and what was written is written again by the next run$`)},
		{name: "failing, within the timeout", url: "http://127.0.0.1:1", timeout: time.Hour},
		{name: "working", url: vm.URL, timeout: 10 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, vmclient.Config{URL: tt.url})
			_, _ = c.CheckDurability(context.Background()) // fails when the storage is out of reach
			ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
			defer cancel()
			var stopped error
			c.WatchFailures(ctx, tt.timeout, func(err error) { stopped = err })
			switch {
			case tt.want == nil && stopped != nil:
				t.Errorf("stopped: %v", stopped)
			case tt.want != nil && (stopped == nil || !tt.want.MatchString(stopped.Error())):
				t.Errorf("stopped with %v, want %s", stopped, tt.want)
			case tt.want != nil && ctx.Err() != nil:
				t.Errorf("returned only when ctx was done")
			}
		})
	}
}

// TestCheck: the test command's storage check says what it found: a
// storage that suits the collector, one whose dedup setting is wrong, one
// out of reach.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	vm := testserver.VictoriaMetrics(t)
	found, warn, err := newClient(t, vmclient.Config{URL: vm.URL}).Check(ctx)
	if err != nil || warn != nil || !strings.HasPrefix(found, "VictoriaMetrics answers and deduplicates at 1 ms; it saves acknowledged samples to disk within ") ||
		!strings.Contains(found, "(storage nodes "+vm.URL+")") {
		t.Errorf("ready storage: %q, %v, %v", found, warn, err)
	}
	noDedup := testserver.VictoriaMetricsNoDedup(t)
	if _, _, err := newClient(t, vmclient.Config{URL: noDedup.URL}).Check(ctx); err == nil || !strings.Contains(err.Error(), "dedup") {
		t.Errorf("storage without dedup: %v", err)
	}
	if _, _, err := newClient(t, vmclient.Config{URL: "http://127.0.0.1:1"}).Check(ctx); !vmclient.Unreachable(err) {
		t.Errorf("unreachable storage: %v", err)
	}
}
