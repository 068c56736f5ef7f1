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
	for _, name := range []string{"a/b", `'a\b'`, "'.'", "'..'", `"a\0"`} {
		f(ok+"sources: [{name: "+name+", type: dir, path: /x}]\n", "sources[0].name", "not a file name")
	}
	f(ok+"sources: [{name: "+strings.Repeat("n", MaxSourceName+1)+", type: dir, path: /x}]\n", "sources[0].name", "at most 200")
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
	s3 := func(fields string) string { return ok + "sources: [{name: b, type: s3, " + fields + "}]\n" }
	f(s3("region: us-east-1"), "sources[0].bucket: required")
	f(s3("bucket: b"), "sources[0].region: required")
	f(s3("bucket: s3://b/x, region: r"), "sources[0].bucket", "without s3://")
	f(s3("bucket: b, region: r, endpoint: 'ftp://x'"), "sources[0].endpoint")
	f(s3("bucket: b, region: r, path: /x"), "sources[0].path: belongs to dir sources")
	f(s3("bucket: b, region: r, credentials: {access_key_id: AKIA}"), "sources[0].credentials: access_key_id and secret_access_key go together")
	f(s3("bucket: b, region: r, credentials: {access_key_id: A, access_key_id_env: E, secret_access_key: s}"), "sources[0].credentials.access_key_id: give one of")
	f(s3("bucket: b, region: r, credentials: {external_id: x}"), "sources[0].credentials.external_id: only with role_arn")
	f(s3("bucket: b, region: r, credentials: {role_arn: role/x}"), "sources[0].credentials.role_arn")
	f(s3("bucket: b, region: r, on_first_run: later"), `sources[0].on_first_run: "later"`)
	f(s3("bucket: b, region: r, delete_after_ingest: false, on_first_run: purge"), "sources[0].on_first_run: purge deletes")
	f(s3("bucket: b, region: r, downloaders: -1"), "sources[0].downloaders")
	f(ok+src+"log: {source_max_mb: -1}\n", "log.source_max_mb")
	f(ok+src+"spool: {max_bytes: -5}\n", "spool.max_bytes")
	f(ok+src+"rank: {top_k: -1}\n", "rank.top_k: -1")
	f(ok+src+"rank: {interval: -1m}\n", "rank.interval: -1m0s")
	f(ok+src+"rank: {lookback: -2h}\n", "rank.lookback: -2h0m0s")
	f(ok+src+"rank: {top_k: many}\n", "top_k") // not a number: the YAML library says where
	f(ok+src+"rank: {interval: soon}\n", "interval")
	f(ok+src+"rank: {topk: 3}\n", "topk")
}

// TestRank reads the rank section: defaults for what is left out, and
// top_k 0 (off) kept apart from top_k left out (the default).
func TestRank(t *testing.T) {
	f := func(section string, want Rank) {
		t.Helper()
		c, err := Parse([]byte("storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /x}]\n"+section), "/d")
		if err != nil {
			t.Fatalf("%q: %v", section, err)
		}
		if c.Rank != want {
			t.Errorf("%q: %+v, want %+v", section, c.Rank, want)
		}
	}
	def := Rank{TopK: 30, Interval: 5 * time.Minute, Lookback: 2 * time.Hour}
	f("", def)
	f("rank:\n", def)
	f("rank: {}\n", def)
	f("rank: {top_k: 0}\n", Rank{TopK: 0, Interval: 5 * time.Minute, Lookback: 2 * time.Hour})
	f("rank: {top_k: 50, interval: 5m, lookback: 6h}\n", Rank{TopK: 50, Interval: 5 * time.Minute, Lookback: 6 * time.Hour})
	f("rank:\n  interval: 30s\n", Rank{TopK: 30, Interval: 30 * time.Second, Lookback: 2 * time.Hour})
}

func TestS3Source(t *testing.T) {
	c, err := Parse([]byte(`
storage: {url: http://vm:8428}
server: {listen: "0.0.0.0:9000"}
log: {file: collector.log}
sources:
  - name: prod
    type: s3
    bucket: flow-logs
    prefix: vpc/
    region: eu-west-1
    credentials:
      access_key_id_env: KEY_ID
      secret_access_key_file: /run/secrets/s3
      role_arn: arn:aws:iam::123456789012:role/flowlogs
      external_id: ext
  - name: shared
    type: s3
    bucket: shared-logs
    region: us-east-1
    delete_after_ingest: false
  - name: minio
    type: s3
    bucket: logs
    region: us-east-1
    endpoint: http://127.0.0.1:9000
    path_style: true
    enabled: false
    on_first_run: backfill
  - name: local
    type: dir
    path: /x
`), "/etc/vpcflow")
	if err != nil {
		t.Fatal(err)
	}
	prod, shared, minio, local := c.Sources[0], c.Sources[1], c.Sources[2], c.Sources[3]
	if prod.OnFirstRun != FirstRunPurge || shared.OnFirstRun != FirstRunSkip || minio.OnFirstRun != FirstRunBackfill || local.OnFirstRun != FirstRunBackfill {
		t.Errorf("first-run modes: %s %s %s %s", prod.OnFirstRun, shared.OnFirstRun, minio.OnFirstRun, local.OnFirstRun)
	}
	if prod.PurgeOlderThan != DefaultPurgeOlderThan || prod.Downloaders != DefaultDownloaders || !prod.IsEnabled() || minio.IsEnabled() {
		t.Errorf("defaults: %+v", prod)
	}
	if !prod.Credentials.Static() || shared.Credentials.Static() || !minio.PathStyle || minio.Endpoint != "http://127.0.0.1:9000" {
		t.Errorf("credentials and endpoint: %+v %+v", prod.Credentials, minio)
	}
	if c.Server.Listen != "0.0.0.0:9000" || c.Log.File != "/etc/vpcflow/collector.log" || c.Log.SourceDir != "/etc/vpcflow/state/source-logs" ||
		c.Spool.Dir != "/etc/vpcflow/state/spool" || c.Spool.MaxBytes != DefaultSpoolMaxBytes || c.Log.SourceMaxMB != DefaultSourceMaxMB {
		t.Errorf("server, log, spool: %+v %+v %+v", c.Server, c.Log, c.Spool)
	}
	t.Setenv("KEY_ID", "AKIAEXAMPLE")
	secret := filepath.Join(t.TempDir(), "s3")
	if err := os.WriteFile(secret, []byte("wJalr\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cr := prod.Credentials
	cr.SecretAccessKeyFile = secret
	id, key, token, err := cr.Resolve()
	if err != nil || id != "AKIAEXAMPLE" || key != "wJalr" || token != "" {
		t.Errorf("resolve: %q %q %q %v", id, key, token, err)
	}
	cr.AccessKeyIDEnv = "VPCFLOW_UNSET_VARIABLE"
	if _, _, _, err := cr.Resolve(); err == nil || !strings.Contains(err.Error(), "credentials.access_key_id") || strings.Contains(err.Error(), "wJalr") {
		t.Errorf("unresolvable key: %v", err)
	}
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
