package testserver

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestMergeFlags(t *testing.T) {
	f := func(base, extra, want []string) {
		t.Helper()
		if got := mergeFlags(base, extra); !slices.Equal(got, want) {
			t.Errorf("mergeFlags(%q, %q) = %q, want %q", base, extra, got, want)
		}
	}
	f([]string{"-a=1", "-b"}, nil, []string{"-a=1", "-b"})
	f([]string{"-a=1", "-b"}, []string{"-a=2"}, []string{"-a=2", "-b"})
	f([]string{"-a=1", "-b"}, []string{"--b=false", "-c=3"}, []string{"-a=1", "--b=false", "-c=3"})
}

// importLines posts JSON lines to /api/v1/import.
func importLines(t *testing.T, vm *VM, lines ...string) {
	t.Helper()
	resp, err := http.Post(vm.URL+"/api/v1/import", "application/json", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("import: %s", resp.Status)
	}
}

const (
	lineA = `{"metric":{"__name__":"m","k":"a","z":"1"},"values":[1,2],"timestamps":[1767225600000,1767225600001]}`
	lineB = `{"metric":{"__name__":"m","k":"b"},"values":[5],"timestamps":[1767225660000]}`
)

func TestVictoriaMetrics(t *testing.T) {
	vm := VictoriaMetrics(t)
	importLines(t, vm, lineA, lineB, lineA) // lineA twice: deduplicated
	vm.Flush()
	if got := vm.Export(t, `{__name__="m"}`); len(got) != 2 {
		t.Fatalf("export: %d series, want 2: %+v", len(got), got)
	}
	want := map[string]float64{"a|1": 3, "b|": 5}
	if got := vm.Totals(t, `{__name__="m"}`, "k", "z"); !maps.Equal(got, want) {
		t.Errorf("totals = %v, want %v", got, want)
	}
	if got := vm.Totals(t, `{__name__="m"}`); !maps.Equal(got, map[string]float64{"": 8}) {
		t.Errorf("grand total = %v, want 8", got)
	}

	url := vm.URL
	vm.Stop()
	if vm.Running() {
		t.Fatal("running after Stop")
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Fatal("/health answers after Stop")
	}
	vm.Stop() // no-op
	vm.Start()
	if vm.URL != url {
		t.Errorf("URL after restart = %s, want %s", vm.URL, url)
	}
	if got := vm.Totals(t, `{__name__="m"}`); !maps.Equal(got, map[string]float64{"": 8}) {
		t.Errorf("grand total after restart = %v, want 8", got)
	}
	if tail := vm.LogTail(); !strings.Contains(tail, "starting on") {
		t.Errorf("log tail lacks our marker:\n%s", tail)
	}
}

func TestVictoriaMetricsNoDedup(t *testing.T) {
	vm := VictoriaMetricsNoDedup(t)
	importLines(t, vm, lineA, lineA)
	vm.Flush()
	if got := vm.Totals(t, `{__name__="m"}`); !maps.Equal(got, map[string]float64{"": 6}) {
		t.Errorf("total without dedup = %v, want 6 (duplicates kept)", got)
	}
}

func TestVictoriaMetricsExtraFlags(t *testing.T) {
	vm := VictoriaMetrics(t, "-dedup.minScrapeInterval=1h")
	importLines(t, vm, `{"metric":{"__name__":"m"},"values":[1,2],"timestamps":[1767225600001,1767225600002]}`)
	vm.Flush()
	// Both samples fall within one dedup interval: one is kept.
	if got := vm.Export(t, `{__name__="m"}`); len(got) != 1 || len(got[0].Values) != 1 {
		t.Errorf("export with 1h dedup = %+v, want one sample", got)
	}
}

// TestUncached: every selector gets a matcher of its own.
func TestUncached(t *testing.T) {
	for _, m := range []string{`vpcflow_total_bytes`, `{__name__="x"}`, `x{a="b"}`, `{__name__=~"vpcflow_.*",__name__!="y"}`, `x{}`} {
		a, b := uncached(m), uncached(m)
		if a == b || !strings.Contains(a, `vpcflow_testserver_export!="`) || !strings.HasSuffix(a, "}") || strings.Contains(a, ",,") || strings.Contains(a, "{,") {
			t.Errorf("uncached(%q) = %q, %q", m, a, b)
		}
	}
}
