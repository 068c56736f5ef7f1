package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
state_dir: st
storage:
  url: http://127.0.0.1:8428
  username: vm
  password: {env: VPCFLOW_TEST_PASSWORD}
  timeout: 10s
aggregation:
  top_k: 50
batch:
  max_objects: 8
  max_wait: 250ms
sources:
  - name: local
    type: dir
    path: logs
    delete_after_ingest: false
    format: v5
  - name: other
    type: dir
    path: /abs/logs
`), "/etc/vpcflow")
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/etc/vpcflow/st" || c.Sources[0].Path != "/etc/vpcflow/logs" || c.Sources[1].Path != "/abs/logs" {
		t.Errorf("paths: %q %q %q", c.StateDir, c.Sources[0].Path, c.Sources[1].Path)
	}
	if c.Storage.Timeout != 10*time.Second || c.Batch.MaxWait != 250*time.Millisecond || c.Aggregation.TopK != 50 || c.Batch.MaxObjects != 8 {
		t.Errorf("values: %+v %+v %+v", c.Storage, c.Batch, c.Aggregation)
	}
	if c.Sources[0].Deletes() || !c.Sources[1].Deletes() {
		t.Errorf("delete_after_ingest: %v %v, want false (set) and true (default)", c.Sources[0].Deletes(), c.Sources[1].Deletes())
	}
	t.Setenv("VPCFLOW_TEST_PASSWORD", "s3cret")
	if p, err := c.Storage.Password.Resolve(); err != nil || p != "s3cret" {
		t.Errorf("password from env: %q, %v", p, err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte("storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /x}]\n"), "/d")
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/d/state" || c.Aggregation.TopK != DefaultTopK || c.Batch.MaxObjects != DefaultMaxObjects ||
		c.Batch.MaxWait != DefaultMaxWait || c.Storage.Timeout != DefaultTimeout || c.Instance.Count != 1 || c.Storage.Tenant != "0" {
		t.Errorf("defaults: %+v", c)
	}
}

func TestErrorsNameTheField(t *testing.T) {
	f := func(yaml string, want ...string) {
		t.Helper()
		_, err := Parse([]byte(yaml), "/d")
		if err == nil {
			t.Fatalf("no error for:\n%s", yaml)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q should mention %q", err, w)
			}
		}
	}
	ok := "storage: {url: http://vm:8428}\n"
	src := "sources: [{name: a, type: dir, path: /x}]\n"
	f(src, "storage.url: required")
	f(ok, "sources: none configured")
	f(ok+"sources: [{type: dir, path: /x}]\n", "sources[0].name: required")
	f(ok+"sources: [{name: a, type: s4, path: /x}]\n", `sources[0].type: "s4"`)
	f(ok+"sources: [{name: a, type: dir}]\n", "sources[0].path: required")
	f(ok+"sources: [{name: a, type: dir, path: /x}, {name: a, type: dir, path: /y}]\n", `sources[1].name: "a" is used twice`)
	f(ok+"sources: [{name: a, type: dir, path: /x, format: v9}]\n", "sources[0].format")
	f(ok+src+"bogus: 1\n", "bogus")
	f(ok+src+"aggregation: {top_k: -1}\n", "aggregation.top_k")
	f("storage: {url: ftp://vm}\n"+src, "storage.url", "http or https")
	f("storage: {url: 'http://u:p@vm:8428'}\n"+src, "storage.url: credentials do not belong")
	f("storage: {url: http://vm, write_url: http://ins}\n"+src, "not both")
	f("storage: {write_url: http://ins}\n"+src, "storage.query_url: required")
	f("storage: {url: http://vm, password: x}\n"+src, "storage.username: required")
	f("storage: {url: http://vm, tls: {cert_file: c}}\n"+src, "cert_file and key_file")
	f(ok+src+"instance: {index: 2, count: 2}\n", "instance")
	f(ok+src+"storage: {url: http://vm}\n", "already defined") // a key given twice: the YAML library says where
}

func TestClusterURLs(t *testing.T) {
	s := Storage{WriteURL: "http://ins:8480", QueryURL: "http://sel:8481/", Tenant: "7:1"}
	if got := s.ClusterWriteURL(); got != "http://ins:8480/insert/7:1/prometheus/api/v1/write" {
		t.Errorf("write URL %q", got)
	}
	if got := s.ClusterQueryURL(); got != "http://sel:8481/select/7:1/prometheus" {
		t.Errorf("query URL %q", got)
	}
	s = Storage{WriteURL: "http://ins:8480/insert/3/prometheus/api/v1/write", QueryURL: "http://sel:8481/select/3/prometheus"}
	if s.ClusterWriteURL() != s.WriteURL || s.ClusterQueryURL() != s.QueryURL {
		t.Errorf("full URLs changed: %q %q", s.ClusterWriteURL(), s.ClusterQueryURL())
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pw")
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err := (Secret{File: path}).Resolve(); err != nil || v != "from-file" {
		t.Errorf("file secret %q, %v", v, err)
	}
	if _, err := (Secret{Env: "VPCFLOW_SURELY_UNSET"}).Resolve(); err == nil {
		t.Error("unset env secret resolved")
	}
	if v, _ := (Secret{Value: "inline"}).Resolve(); v != "inline" {
		t.Errorf("inline %q", v)
	}
}

// TestNoSecretInErrors: a configuration error never repeats a secret.
func TestNoSecretInErrors(t *testing.T) {
	for _, yaml := range []string{
		"storage: {url: http://vm, username: u, password: hunter2secret}\nsources: [{name: a, type: dir}]\nbogus: 1\n",
		"storage: {url: 'ftp://u:hunter2secret@vm'}\nsources: [{name: a, type: dir, path: /x}]\n",
		"storage: {url: 'http://u:hunter2secret@vm:bad port'}\nsources: [{name: a, type: dir, path: /x}]\n",
		"storage: {url: http://vm, username: u, password: hunter2secret, bearer_token: hunter2secret}\nsources: []\n",
	} {
		_, err := Parse([]byte(yaml), "/d")
		if err == nil {
			t.Fatalf("no error for %q", yaml)
		}
		if strings.Contains(err.Error(), "hunter2secret") {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}
