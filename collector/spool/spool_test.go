package spool

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/source"
)

// put spools data as key of source "orig" by hand, as the downloader does;
// without a sidecar when version is "".
func put(t *testing.T, dir, key, version, data string) {
	t.Helper()
	putAt(t, path(dir, "orig", key), key, version, data)
}

// putAt spools data as key at p (without a sidecar when version is "").
func putAt(t *testing.T, p, key, version, data string) {
	t.Helper()
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

// TestPath: every key S3 accepts is spooled under a name of its own, one
// path element inside the source's folder, short enough for any file
// system with the sidecar's and the temporary suffixes, keeping the
// object's extension.
func TestPath(t *testing.T) {
	dir := t.TempDir()
	names := map[string]string{}
	f := func(key, wantTail string) {
		t.Helper()
		p := path(dir, "orig", key)
		name := filepath.Base(p)
		if filepath.Dir(p) != folder(dir, "orig") || !filepath.IsLocal(name) || strings.ContainsAny(name, `/\`) {
			t.Errorf("key %q: spooled at %s, not a file of the source's folder", key, p)
		}
		if n := len(name + sidecarSuffix + partialSuffix); n > 255 {
			t.Errorf("key %q: the sidecar's temporary name is %d bytes", key, n)
		}
		if !strings.HasSuffix(name, wantTail) {
			t.Errorf("key %q: name %s, want it to end with %s", key, name, wantTail)
		}
		if other, ok := names[strings.ToLower(name)]; ok {
			t.Errorf("keys %q and %q share the name %s (on a case-insensitive file system)", key, other, name)
		}
		names[strings.ToLower(name)] = key
		if path(dir, "orig", key) != p {
			t.Errorf("key %q: two names", key)
		}
	}
	aws := "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/01/123456789012_vpcflowlogs_us-east-1_fl-0abc_20261101T0000Z_1d8cb872.log.gz"
	f(aws, "-123456789012_vpcflowlogs_us-east-1_fl-0abc_20261101T0000Z_1d8cb872.log.gz")
	f("AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/x.log.parquet", "-x.log.parquet")
	f("a/x.log.gz", "-x.log.gz")
	f("a//x.log.gz", "-x.log.gz")
	f("./a/x.log.gz", "-x.log.gz")
	f("a/./x.log.gz", "-x.log.gz")
	f("/a/x.log.gz", "-x.log.gz")
	f("A/x.log.gz", "-x.log.gz") // one name on a case-insensitive file system
	f("../../x.log.gz", "-x.log.gz")
	f("a/../../../x.log.gz", "-x.log.gz")
	f(`..\..\x.log.gz`, "-.._.._x.log.gz")
	f("..", "-..")
	f(".", "-.")
	f("", "-")
	f("a/", "-")
	f("a/..", "-..")
	f("ctl\x01\t\x7f\n/x.log", "-x.log")
	f("über/straße\u00a0…\u202e.log.gz", "-stra__e________.log.gz") // one _ a byte
	f(strings.Repeat("y", 300)+"/x.log.gz", "-x.log.gz")
	f("a/"+strings.Repeat("z", 300)+".log.gz", strings.Repeat("z", maxTail-len(".log.gz"))+".log.gz")
	f(strings.Repeat("k/", 508)+"x.log.gz", "-x.log.gz") // 1,024 bytes
	f(strings.Repeat("/", 1024), "-")
}

// TestSourceLayouts: the collector finds copies under the hashed names and
// under the layout of earlier versions (<source>/<key>), tells apart keys
// that clean to one path, and releases only the version it was given.
func TestSourceLayouts(t *testing.T) {
	ctx := context.Background()
	spoolDir := t.TempDir()
	s := NewSource(source.NewDir("orig", t.TempDir()), spoolDir)
	put(t, spoolDir, "a/x.log", "v1", "new layout")
	put(t, spoolDir, "a//x.log", "v1", "its twin")
	put(t, spoolDir, "../../up.log", "v1", "climbing")
	legacy := func(key string) string {
		p, ok := legacyPath(spoolDir, "orig", key)
		if !ok {
			t.Fatalf("%q has no legacy path", key)
		}
		return p
	}
	putAt(t, legacy("old/y.log"), "old/y.log", "v1", "old layout")
	putAt(t, legacy("old//z.log"), "old/z.log", "v1", "old twin") // spooled by an old downloader under "old/z.log"
	if _, ok := legacyPath(spoolDir, "orig", "../../up.log"); ok {
		t.Error("a key climbing out has a legacy path")
	}

	objs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if want := []string{"../../up.log", "a//x.log", "a/x.log", "old/y.log", "old/z.log"}; strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("listed %q, want %q", keys, want)
	}
	read := func(key, version string) (string, error) {
		t.Helper()
		rc, err := s.Open(ctx, source.Object{Key: key, Version: version})
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	for key, want := range map[string]string{"a/x.log": "new layout", "a//x.log": "its twin", "../../up.log": "climbing", "old/y.log": "old layout", "old/z.log": "old twin"} {
		if got, err := read(key, "v1"); err != nil || got != want {
			t.Errorf("open %q: %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := read("old//z.log", ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open a key whose old-layout path holds another key: %v", err)
	}
	if _, err := read("a/x.log", "v0"); !errors.Is(err, source.ErrChanged) {
		t.Errorf("open another version: %v", err)
	}

	// A newer version spooled since: releasing the old one keeps it.
	put(t, spoolDir, "a/x.log", "v2", "newer")
	if err := s.Release(ctx, source.Object{Key: "a/x.log", Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	if got, err := read("a/x.log", "v2"); err != nil || got != "newer" {
		t.Errorf("the newer version after releasing the old one: %q, %v", got, err)
	}
	for _, o := range []source.Object{{Key: "a/x.log", Version: "v2"}, {Key: "a//x.log", Version: "v1"}, {Key: "../../up.log", Version: "v1"},
		{Key: "old/y.log", Version: "v1"}, {Key: "old/z.log", Version: "v1"}, {Key: "never/spooled.log", Version: "v1"}} {
		if err := s.Release(ctx, o); err != nil {
			t.Errorf("release %q: %v", o.Key, err)
		}
	}
	if objs, err := s.List(ctx); err != nil || len(objs) != 0 {
		t.Errorf("left in the spool: %+v, %v", objs, err)
	}
	if n, err := Size(spoolDir); err != nil || n != 0 {
		t.Errorf("%d bytes left in the spool, %v", n, err)
	}
}
