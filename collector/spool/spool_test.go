package spool

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/source"
)

// put spools data as key of source "orig" by hand, as the downloader does;
// without a sidecar when version is "".
func put(t *testing.T, dir, key, version, data string) {
	t.Helper()
	p := path(dir, "orig", key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if version == "" {
		return
	}
	sc, _ := json.Marshal(sidecar{Key: key, Version: version, Size: int64(len(data)), ModTime: time.Unix(1e9, 0)})
	if err := os.WriteFile(p+sidecarSuffix, sc, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSource(t *testing.T) {
	ctx := context.Background()
	origDir, spoolDir := t.TempDir(), t.TempDir()
	orig := source.NewDir("orig", origDir)
	for _, k := range []string{"a/1.log", "b/2.log"} {
		if err := os.MkdirAll(filepath.Join(origDir, filepath.Dir(k)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(origDir, k), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := orig.List(ctx)
	put(t, spoolDir, "a/1.log", list[0].Version, "one")
	put(t, spoolDir, "b/2.log", list[1].Version, "two")
	put(t, spoolDir, "c/3.log", "", "being written") // no sidecar yet: not listed

	s := NewSource(orig, spoolDir)
	objs, err := s.List(ctx)
	if err != nil || len(objs) != 2 || objs[0].Key != "a/1.log" || objs[0].Version != list[0].Version || objs[1].Size != 3 {
		t.Fatalf("list: %+v %v", objs, err)
	}
	rc, err := s.Open(ctx, objs[0])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "one" {
		t.Errorf("read %q", b)
	}
	if _, err := s.Open(ctx, source.Object{Key: "a/1.log", Version: "other"}); !errors.Is(err, source.ErrChanged) {
		t.Errorf("open another version: %v", err)
	}
	// Release keeps the original; Delete removes it, then the copy.
	if err := s.Release(ctx, objs[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, objs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(origDir, "a/1.log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("original of a deleted object: %v", err)
	}
	if _, err := os.Stat(filepath.Join(origDir, "b/2.log")); err != nil {
		t.Errorf("original of a released object: %v", err)
	}
	if objs, _ := s.List(ctx); len(objs) != 0 {
		t.Errorf("left in the spool: %+v", objs)
	}
	if n, err := Size(spoolDir); err != nil || n != int64(len("being written")) {
		t.Errorf("size %d, %v", n, err)
	}
	if err := removePartials(spoolDir); err != nil {
		t.Fatal(err)
	}
}
