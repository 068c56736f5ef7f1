package tools

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestToolPath(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("VPCFLOW_CACHE", cache)
	f := func(name, want string) {
		t.Helper()
		got, err := ToolPath(name)
		if err != nil {
			t.Fatalf("ToolPath(%q): %v", name, err)
		}
		if want = filepath.Join(cache, want); got != want {
			t.Errorf("ToolPath(%q) = %q, want %q", name, got, want)
		}
	}
	f("victoria-metrics", "tools/victoria-metrics@v1.151.0/victoria-metrics")
	f("versitygw", "tools/versitygw@v1.8.0/versitygw")
	if _, err := ToolPath("nope"); err == nil {
		t.Error("ToolPath(nope): no error")
	}
	if got, want := ToolNames(), []string{"victoria-metrics", "versitygw"}; !slices.Equal(got, want) {
		t.Errorf("ToolNames() = %q, want %q", got, want)
	}
}

// TestEnsureToolsPresent checks that a tool already in the cache is not
// installed again: with PATH emptied, running `go` would fail.
func TestEnsureToolsPresent(t *testing.T) {
	t.Setenv("VPCFLOW_CACHE", t.TempDir())
	bin, err := ToolPath("versitygw")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "")
	if err := EnsureTools(context.Background(), "versitygw"); err != nil {
		t.Errorf("EnsureTools with the binary present: %v", err)
	}
	if err := EnsureTools(context.Background(), "victoria-metrics"); err == nil {
		t.Error("EnsureTools without go on PATH and no binary: no error")
	}
	if err := EnsureTools(context.Background(), "nope"); err == nil {
		t.Error("EnsureTools(nope): no error")
	}
	entries, err := os.ReadDir(filepath.Dir(filepath.Dir(bin)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "versitygw@v1.8.0" && e.Name() != "victoria-metrics@v1.151.0" {
			t.Errorf("left behind in the tools folder: %s", e.Name())
		}
	}
	vm, _ := ToolPath("victoria-metrics")
	if _, err := os.Stat(vm); err == nil {
		t.Errorf("a failed install left %s", vm)
	}
}
