package preflight_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/preflight"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestRun: one aligned line per check of each source (or of the one
// asked for), then the storage's; the worst result.
func TestRun(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	load := func(storage string, bPath string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte("state_dir: "+filepath.Join(dir, "state")+"\nstorage: {url: "+storage+"}\nsources:\n"+
			"  - {name: a, type: dir, path: "+a+"}\n  - {name: bee, type: dir, path: "+bPath+"}\n"), dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tt := range []struct {
		name        string
		cfg         *config.Config
		only        string
		withStorage bool
		out         *regexp.Regexp // the whole output
		worst       source.CheckResult
	}{
		{"all", load(vm.URL, b), "", true,
			regexp.MustCompile(`^PASS  a        folder           .*/a can be read and written\nPASS  a        first-run        first run will collect the 0 objects \(0 B\) there, oldest first\n` +
				`PASS  bee      folder           .*/b can be read and written\nPASS  bee      first-run        first run will collect the 0 objects \(0 B\) there, oldest first\n` +
				`PASS  storage  reachable-dedup  VictoriaMetrics answers and deduplicates at 1 ms; .*\n$`),
			source.CheckPass},
		{"one source", load(vm.URL, b), "bee", true, regexp.MustCompile(`^PASS  bee  folder     .*\nPASS  bee  first-run  .*\n$`), source.CheckPass},
		{"without the storage", load("http://127.0.0.1:1", b), "", false, regexp.MustCompile(`^PASS  a    folder     .*\nPASS  a    first-run  .*\nPASS  bee  folder     .*\nPASS  bee  first-run  .*\n$`), source.CheckPass},
		{"storage out of reach", load("http://127.0.0.1:1", b), "", true,
			regexp.MustCompile(`\nFAIL  storage  reachable-dedup +.*connection refused.*\n$`), source.CheckFail},
		{"missing folder", load(vm.URL, filepath.Join(dir, "missing")), "", true, regexp.MustCompile(`\nFAIL  +bee  `), source.CheckFail},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			worst, err := preflight.Run(context.Background(), &out, tt.cfg, tt.only, tt.withStorage)
			if err != nil || worst != tt.worst {
				t.Errorf("worst %s, err %v; want %s", worst, err, tt.worst)
			}
			if !tt.out.MatchString(out.String()) {
				t.Errorf("output\n%s\nwant %s", out.String(), tt.out)
			}
		})
	}
	if _, err := preflight.Run(context.Background(), failingWriter{}, load(vm.URL, b), "", true); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing output: %v", err)
	}
}

// TestStorage: a storage that suits the collector passes, one that does
// not deduplicate, is out of reach, or is misconfigured fails.
func TestStorage(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	noDedup := testserver.VictoriaMetricsNoDedup(t)
	for _, tt := range []struct {
		name   string
		url    string
		result source.CheckResult
		detail string
	}{
		{"suits", vm.URL, source.CheckPass, "VictoriaMetrics answers and deduplicates at 1 ms; it saves acknowledged samples to disk within"},
		{"no dedup", noDedup.URL, source.CheckFail, "dedup"},
		{"out of reach", "http://127.0.0.1:1", source.CheckFail, "connection refused"},
		{"credentials in the URL", "http://u:hunter2@127.0.0.1:1", source.CheckFail, "credentials in the URL are not allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := vmclient.DefaultConfig()
			cfg.URL = tt.url
			c := preflight.Storage(context.Background(), cfg)
			if c.Name != "reachable-dedup" || c.Result != tt.result || !strings.Contains(c.Detail, tt.detail) || strings.Contains(c.Detail, "hunter2") {
				t.Errorf("%+v, want %s with %q", c, tt.result, tt.detail)
			}
		})
	}
}
