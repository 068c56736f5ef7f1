package tools

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnsureVMCluster unpacks the cluster binaries into an empty cache:
// a folder without them is ErrVMClusterMissing, an archive whose content
// is not the pinned build is refused and leaves nothing in the cache, and
// binaries already in the cache are used without the folder.
func TestEnsureVMCluster(t *testing.T) {
	t.Setenv("VPCFLOW_CACHE", t.TempDir())
	cacheDir, err := CacheDir("tools", "vm-cluster@"+VMClusterVersion)
	if err != nil {
		t.Fatal(err)
	}
	listCache := func() []string {
		t.Helper()
		entries, err := os.ReadDir(cacheDir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}

	empty := t.TempDir()
	if _, err := EnsureVMCluster(empty); !errors.Is(err, ErrVMClusterMissing) || !strings.Contains(err.Error(), filepath.Join(empty, "vmstorage.gz")) {
		t.Errorf("EnsureVMCluster(empty folder) = %v, want ErrVMClusterMissing naming vmstorage.gz", err)
	}

	forged := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("#!/bin/sh\necho not vmstorage\n"))
	zw.Close()
	if err := os.WriteFile(filepath.Join(forged, "vmstorage.gz"), gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = EnsureVMCluster(forged)
	if err == nil || !strings.Contains(err.Error(), "not the pinned build") || !strings.Contains(err.Error(), vmClusterSHA256["vmstorage"]) {
		t.Errorf("EnsureVMCluster(forged vmstorage) = %v, want a sha256 mismatch", err)
	}
	if left := listCache(); len(left) != 0 {
		t.Errorf("a refused archive left %q in the cache", left)
	}

	for _, name := range VMClusterBinaries {
		if err := os.WriteFile(filepath.Join(cacheDir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if dir, err := EnsureVMCluster(empty); err != nil || dir != cacheDir {
		t.Errorf("EnsureVMCluster with the binaries cached = %q, %v; want %q", dir, err, cacheDir)
	}
}

// TestEnsureVMClusterShared unpacks the real binaries, when their folder
// is there, and checks each against its pinned sha256.
func TestEnsureVMClusterShared(t *testing.T) {
	src, err := VMClusterDir(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "vmstorage.gz")); err != nil {
		t.Skipf("no VictoriaMetrics cluster binaries in %s (set %s): %v", src, VMClusterDirEnv, err)
	}
	t.Setenv("VPCFLOW_CACHE", t.TempDir())
	dir, err := EnsureVMCluster(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range VMClusterBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s: mode %v, want an executable", name, fi.Mode())
		}
	}
}
