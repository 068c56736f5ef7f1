package ledger

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Environment of the helper process.
const (
	helperEnv     = "LEDGER_TEST_HELPER" // mode: "open", "hold" or "begin"
	helperPathEnv = "LEDGER_TEST_PATH"
)

// TestHelperProcess is not a test: it is the child process of the lock and
// crash tests, started by startHelper.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for other tests")
	}
	path := os.Getenv(helperPathEnv)
	l, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(0)
	}
	switch mode {
	case "open":
		fmt.Println("opened")
		_ = l.Close()
		os.Exit(0)
	case "hold":
		fmt.Println("ready")
	case "begin":
		b, err := l.BeginBatch(
			[]Object{obj("a", "v1"), {Source: "t", Key: "x/y.log.gz", Version: "123-456", Size: 123}},
			[]int64{29000000, 29000001},
			[]byte("replay me"),
			[]Fact{{Kind: "iface", Key: "eni-1", Value: []byte(`{"vpc":"v"}`)}},
		)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(0)
		}
		j, _ := json.Marshal(b)
		fmt.Println(string(j))
	}
	// Wait to be killed, without closing the ledger.
	time.Sleep(time.Minute)
	os.Exit(1)
}

// startHelper starts the test binary as a helper process in the given mode
// and returns it with the first line it printed. The process is killed at
// the end of the test.
func startHelper(t *testing.T, mode, path string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperPathEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting helper: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading helper output: %v", err)
	}
	return cmd, strings.TrimSpace(line)
}

// killHelper kills a helper process (SIGKILL: no deferred cleanup runs) and
// waits for it to exit.
func killHelper(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("killing helper: %v", err)
	}
	_ = cmd.Wait()
}

func TestLock(t *testing.T) {
	const inUse = "is in use by another collector"
	tests := []struct {
		name string
		run  func(t *testing.T, path string)
	}{
		{"second open in the same process", func(t *testing.T, path string) {
			reopen(t, path, Options{})
			start := time.Now()
			l, err := Open(path, Options{Timeout: 100 * time.Millisecond})
			if err == nil {
				_ = l.Close()
				t.Fatal("second Open succeeded")
			}
			if !strings.Contains(err.Error(), "ledger "+path+" "+inUse) {
				t.Errorf("error = %v, want %q", err, inUse)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("second Open took %v, want about the timeout", d)
			}
		}},
		{"open from another process", func(t *testing.T, path string) {
			reopen(t, path, Options{})
			_, line := startHelper(t, "open", path)
			if !strings.Contains(line, inUse) {
				t.Errorf("helper printed %q, want %q", line, inUse)
			}
		}},
		{"held by another process until it dies", func(t *testing.T, path string) {
			cmd, line := startHelper(t, "hold", path)
			if line != "ready" {
				t.Fatalf("helper printed %q", line)
			}
			l, err := Open(path, Options{Timeout: 100 * time.Millisecond})
			if err == nil {
				_ = l.Close()
				t.Fatal("Open succeeded while another process holds the ledger")
			}
			if !strings.Contains(err.Error(), inUse) {
				t.Errorf("error = %v, want %q", err, inUse)
			}
			killHelper(t, cmd)
			reopen(t, path, Options{Timeout: 100 * time.Millisecond})
		}},
		{"open after close", func(t *testing.T, path string) {
			l := reopen(t, path, Options{})
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			_, line := startHelper(t, "open", path)
			if line != "opened" {
				t.Errorf("helper printed %q, want opened", line)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, filepath.Join(t.TempDir(), "ledger.db"))
		})
	}
}

// TestKilledBeforeCommit begins a batch in a process that is then killed
// with SIGKILL, and checks that the batch comes back intact.
func TestKilledBeforeCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd, line := startHelper(t, "begin", path)
	var begun Batch
	if err := json.Unmarshal([]byte(line), &begun); err != nil {
		t.Fatalf("helper printed %q: %v", line, err)
	}
	killHelper(t, cmd)

	l := reopen(t, path, Options{})
	pending, err := l.PendingBatches()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || !reflect.DeepEqual(pending[0], begun) {
		t.Fatalf("PendingBatches = %+v, want [%+v]", pending, begun)
	}
	var facts []string
	if err := l.Facts("iface", func(k string, v []byte) error {
		facts = append(facts, k+"="+string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{`eni-1={"vpc":"v"}`}; !reflect.DeepEqual(facts, want) {
		t.Errorf("facts = %v, want %v", facts, want)
	}
	for _, o := range begun.Objects {
		mustState(t, l, o, Pending)
	}
	// The replay is committed; the slot is not handed out again.
	if err := l.CommitBatch(begun.ID); err != nil {
		t.Fatal(err)
	}
	for _, o := range begun.Objects {
		mustState(t, l, o, Ingested)
	}
	next := mustBegin(t, l, []Object{obj("b", "v")}, begun.Minutes)
	if next.ID <= begun.ID || next.Slot == begun.Slot {
		t.Errorf("next batch id %d slot %d, want id > %d and slot != %d", next.ID, next.Slot, begun.ID, begun.Slot)
	}
}
