package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestKeyContext(t *testing.T) {
	f := func(key, account, region string) {
		t.Helper()
		a, r := KeyContext(key)
		if a != account || r != region {
			t.Errorf("KeyContext(%q) = %q, %q; want %q, %q", key, a, r, account, region)
		}
	}
	f("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/01/x.log.gz", "123456789012", "us-east-1")
	f("prefix/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/01/01/x.log.gz", "123456789012", "eu-west-1")
	f("AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=ap-south-1/year=2026/x.log.parquet", "123456789012", "ap-south-1")
	f("AWSLogs/123456789012/elasticloadbalancing/us-east-1/x.log.gz", "123456789012", "")
	f("logs/x.log", "", "")
	f("AWSLogs/123", "", "")
}

func TestDir(t *testing.T) {
	root := t.TempDir()
	write := func(rel string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(rel), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range []string{"b/2.log.gz", "a/1.log", "a/3.log.parquet", "a/skip.txt", "a/4.log.gz.partial", "c.log"} {
		write(rel)
	}
	d := NewDir("local", root)
	objs, err := d.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
		if o.Version == "" || o.Size != int64(len(o.Key)) {
			t.Errorf("%s: version %q size %d", o.Key, o.Version, o.Size)
		}
	}
	if got := filepath.Join(keys...); got != filepath.Join("a/1.log", "a/3.log.parquet", "b/2.log.gz", "c.log") {
		t.Errorf("keys %v", keys)
	}
	rc, err := d.Open(context.Background(), objs[0])
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if err := d.Delete(context.Background(), objs[0]); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(context.Background(), objs[0]); err != nil {
		t.Errorf("deleting a deleted object: %v", err)
	}
	if objs, _ = d.List(context.Background()); len(objs) != 3 {
		t.Errorf("%d objects after a delete, want 3", len(objs))
	}
	if _, err := NewDir("x", filepath.Join(root, "missing")).List(context.Background()); err == nil {
		t.Error("listing a missing folder: no error")
	}
}

func TestDirChecksVersions(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "a.log")
	if err := os.WriteFile(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := NewDir("local", root)
	objs, err := d.List(context.Background())
	if err != nil || len(objs) != 1 {
		t.Fatalf("list: %v %v", objs, err)
	}
	// Replaced after listing: neither read nor deleted as the old version.
	if err := os.WriteFile(path, []byte("two, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(context.Background(), objs[0]); !errors.Is(err, ErrChanged) {
		t.Errorf("open of a replaced file: %v, want ErrChanged", err)
	}
	if err := d.Delete(context.Background(), objs[0]); !errors.Is(err, ErrChanged) {
		t.Errorf("delete of a replaced file: %v, want ErrChanged", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the replaced file was deleted: %v", err)
	}
	objs, _ = d.List(context.Background())
	if err := d.Delete(context.Background(), objs[0]); err != nil {
		t.Fatalf("delete of the listed version: %v", err)
	}
}

func TestKeyTime(t *testing.T) {
	f := func(key string, want string) {
		t.Helper()
		got, ok := KeyTime(key)
		if want == "" {
			if ok {
				t.Errorf("KeyTime(%q) = %v, want none", key, got)
			}
			return
		}
		if !ok || got.Format(time.RFC3339) != want {
			t.Errorf("KeyTime(%q) = %v, %v; want %s", key, got, ok, want)
		}
	}
	f("AWSLogs/1/vpcflowlogs/us-east-1/2026/01/01/1_vpcflowlogs_us-east-1_fl-0af2_20260101T0005Z_1d8cb872.log.gz", "2026-01-01T00:05:00Z")
	f("AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/month=03/day=09/hour=23/1_vpcflowlogs_eu-west-1_fl-1_20260309T2355Z_ab.log.parquet", "2026-03-09T23:55:00Z")
	f("x/20260101T0005Z.log", "")
	f("plain.log", "")
	f("a_2026013xT0005Z_b.log", "")
	f("", "")
}

// TestDirKeysStayInside: a key that does not name a file inside the
// folder (from a damaged ledger or spool sidecar) is neither read nor
// deleted.
func TestDirKeysStayInside(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "logs")
	outside := filepath.Join(base, "outside.log")
	for _, p := range []string{filepath.Join(root, "in.log"), outside} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := NewDir("local", root)
	for _, key := range []string{"../outside.log", "a/../../outside.log", outside} {
		if rc, err := d.Open(context.Background(), Object{Key: key}); err == nil {
			rc.Close()
			t.Errorf("open %q: read outside the folder", key)
		}
		if err := d.Delete(context.Background(), Object{Key: key}); err == nil {
			t.Errorf("delete %q: no error", key)
		}
		if _, err := os.Stat(outside); err != nil {
			t.Fatalf("delete %q removed a file outside the folder: %v", key, err)
		}
	}
	if err := d.Delete(context.Background(), Object{Key: "in.log"}); err != nil {
		t.Errorf("delete of a key inside: %v", err)
	}
}

// TestDirCheck: a folder that can be read and written passes; one that
// does not exist fails, naming it; nothing is left behind.
func TestDirCheck(t *testing.T) {
	root := t.TempDir()
	var _ Checker = (*Dir)(nil)
	var _ Checker = (*S3)(nil)
	got := NewDir("local", root).Check(context.Background(), CheckOptions{})
	if len(got) != 1 || got[0] != (Check{Name: CheckFolder, Result: CheckPass, Detail: root + " can be read and written"}) {
		t.Errorf("writable folder: %+v", got)
	}
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Errorf("the check left %v behind", left)
	}
	missing := filepath.Join(root, "missing")
	got = NewDir("local", missing).Check(context.Background(), CheckOptions{})
	if want := "read " + missing + ": "; len(got) != 1 || got[0].Result != CheckFail || len(got[0].Detail) < len(want) || got[0].Detail[:len(want)] != want {
		t.Errorf("missing folder: %+v, want a failure starting %q", got, want)
	}
}
