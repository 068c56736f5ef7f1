package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/collector/spool"
	"github.com/vpcflow/vpcflow/secret"
	"github.com/vpcflow/vpcflow/vmclient"
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
	if p, err := c.Storage.PasswordSecret.Resolve(); err != nil || p != "s3cret" {
		t.Errorf("password from env: %q, %v", p, err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte("storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /x}]\n"), "/d")
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/d/state" || c.Aggregation.TopK != pipeline.DefaultTopK || c.Batch.MaxObjects != pipeline.DefaultMaxObjects ||
		c.Batch.MaxWait != pipeline.DefaultMaxWait || c.Storage.Timeout != vmclient.DefaultTimeout || c.Instance.Count != 1 || c.Storage.Tenant != "0" {
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
	f(ok+src+"instance: {index: 2, count: 51}\n", "instance", "at most 50 collectors")
	f(ok+src+"storage: {url: http://vm}\n", "line 3, column 1: storage: given twice (first at line 1, column 1)")
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
	f(s3("bucket: b, region: r, notify: {wait_time: 1s}"), "sources[0].notify.queue_url: required")
	f(s3("bucket: b, region: r, notify: {queue_url: 'sqs/q'}"), `sources[0].notify.queue_url: "sqs/q": want the queue's https URL`)
	f(s3("bucket: b, region: r, notify: {queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q', endpoint: 'ftp://x'}"), "sources[0].notify.endpoint")
	f(s3("bucket: b, region: r, notify: {queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q', wait_time: 30s}"), "sources[0].notify.wait_time: 30s: want whole seconds from 1s to 20s")
	f(s3("bucket: b, region: r, notify: {queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q', visibility_timeout: 1s}"), "sources[0].notify.visibility_timeout: 1s")
	f(s3("bucket: b, region: r, notify: {queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q', visibility_timeout: 5m, in_flight_timeout: 1m}"), "sources[0].notify.in_flight_timeout: 1m0s")
	f(s3("bucket: b, region: r, notify: {queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q', in_flight_timeout: 13h}"), "sources[0].notify.in_flight_timeout: 13h0m0s")
	f(s3("bucket: b, region: r, notify: {queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q', max_messages: -1, receivers: 100}"), "sources[0].notify.max_messages", "sources[0].notify.receivers")
	f(s3("bucket: b, region: r, notify: {queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q', credentials: {access_key_id: A}}"), "sources[0].notify.credentials: access_key_id and secret_access_key go together")
	f(ok+"sources: [{name: a, type: dir, path: /x, notify: {queue_url: 'https://sqs.us-east-1.amazonaws.com/1/q'}}]\n", "sources[0].notify: belongs to s3 sources")
	f(ok+src+"log: {source_max_mb: -1}\n", "log.source_max_mb")
	f(ok+src+"spool: {max_bytes: -5}\n", "spool.max_bytes")
}

// TestRankIgnored: the rank section of the removed rank index still
// loads, whatever it holds (files written for earlier versions), with one
// warning; a file without it has none.
func TestRankIgnored(t *testing.T) {
	f := func(section string, warned bool) {
		t.Helper()
		c, err := Parse([]byte("storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /x}]\n"+section), "/d")
		if err != nil {
			t.Fatalf("%q: %v", section, err)
		}
		w := c.Warnings()
		if warned && (len(w) != 1 || !strings.Contains(w[0], "rank section is ignored")) || !warned && len(w) != 0 {
			t.Errorf("%q: warnings %q, want one about rank: %v", section, w, warned)
		}
	}
	f("", false)
	f("rank:\n", true)
	f("rank: {}\n", true)
	f("rank: {top_k: 0}\n", true)
	f("rank: {top_k: 50, interval: 5m, lookback: 6h}\n", true)
	f("rank:\n  interval: 30s\n", true)
	f("rank: {top_k: many, interval: soon, lookback: [2h]}\n", true) // not checked: ignored
	f("rank: {topk: 3}\n", true)
	f("rank: off\n", true)
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
    on_first_run: purge
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
  - name: queued
    type: s3
    bucket: logs
    region: eu-west-1
    on_first_run: skip
    notify:
      queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/flowlogs
      visibility_timeout: 5m
`), "/etc/vpcflow")
	if err != nil {
		t.Fatal(err)
	}
	prod, shared, minio, local := c.Sources[0], c.Sources[1], c.Sources[2], c.Sources[3]
	if n := c.Sources[4].Notify; !n.IsSet() || n.QueueURL != "https://sqs.eu-west-1.amazonaws.com/123456789012/flowlogs" || n.VisibilityTimeout != 5*time.Minute || prod.Notify.IsSet() {
		t.Errorf("notify: %+v, prod %+v", n, prod.Notify)
	}
	if prod.OnFirstRun != sourcestate.FirstRunPurge || shared.OnFirstRun != sourcestate.FirstRunSkip || minio.OnFirstRun != sourcestate.FirstRunBackfill || local.OnFirstRun != sourcestate.FirstRunBackfill {
		t.Errorf("first-run modes: %s %s %s %s", prod.OnFirstRun, shared.OnFirstRun, minio.OnFirstRun, local.OnFirstRun)
	}
	if prod.PurgeOlderThan != source.DefaultPurgeOlderThan || prod.Downloaders != source.DefaultDownloaders || !prod.IsEnabled() || minio.IsEnabled() {
		t.Errorf("defaults: %+v", prod)
	}
	if !prod.Credentials.Static() || shared.Credentials.Static() || !minio.PathStyle || minio.Endpoint != "http://127.0.0.1:9000" {
		t.Errorf("credentials and endpoint: %+v %+v", prod.Credentials, minio)
	}
	if c.Server.Listen != "0.0.0.0:9000" || c.Log.File != "/etc/vpcflow/collector.log" || c.Log.SourceDir != "/etc/vpcflow/state/source-logs" ||
		c.Spool.Dir != "/etc/vpcflow/state/spool" || c.Spool.MaxBytes != spool.DefaultMaxBytes || c.Log.SourceMaxMB != pipeline.DefaultSourceLogMaxMB {
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

// TestFirstRunPurgeMustBeWritten: an s3 source that deletes purges on its
// first run, and the configuration must say so (on_first_run: purge);
// other sources keep their defaults.
func TestFirstRunPurgeMustBeWritten(t *testing.T) {
	f := func(fields, wantMode, wantErr string) {
		t.Helper()
		c, err := Parse([]byte("storage: {url: http://vm:8428}\nsources:\n  - name: prod\n"+fields), "/d")
		if wantErr != "" {
			if err == nil {
				t.Fatalf("%q: no error, want %q", fields, wantErr)
			}
			for _, w := range []string{"line 3, column 3: sources[0].on_first_run: ", wantErr, "write on_first_run: purge to confirm", "backfill", "skip"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q: error %q should mention %q", fields, err, w)
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", fields, err)
		}
		if got := c.Sources[0].OnFirstRun; got != wantMode {
			t.Errorf("%q: on_first_run %q, want %q", fields, got, wantMode)
		}
	}
	s3 := "    type: s3\n    bucket: b\n    region: us-east-1\n"
	f(s3, "", "purge_older_than (15m)")
	f(s3+"    delete_after_ingest: true\n", "", "purge_older_than (15m)")
	f(s3+"    purge_older_than: 2h\n", "", "purge_older_than (2h)")
	f(s3+"    enabled: false\n", "", "purge_older_than (15m)") // enabling it later would purge
	f(s3+"    on_first_run: purge\n", sourcestate.FirstRunPurge, "")
	f(s3+"    on_first_run: purge\n    purge_older_than: 1h\n", sourcestate.FirstRunPurge, "")
	f(s3+"    on_first_run: backfill\n", sourcestate.FirstRunBackfill, "")
	f(s3+"    on_first_run: skip\n", sourcestate.FirstRunSkip, "")
	f(s3+"    delete_after_ingest: false\n", sourcestate.FirstRunSkip, "")
	f("    type: dir\n    path: /x\n", sourcestate.FirstRunBackfill, "")
	f("    type: dir\n    path: /x\n    on_first_run: purge\n", sourcestate.FirstRunPurge, "")
}

// TestErrorsNameFieldAndLine: every kind of broken value (wrong type, bad
// duration, unknown field, a list or mapping where the other is expected,
// secrets in the wrong shape, a key given twice, and the checks made after
// decoding) is reported with its field's path, line and column, and never
// with a secret's value.
func TestErrorsNameFieldAndLine(t *testing.T) {
	const head = "storage:\n  url: http://vm:8428\nsources:\n  - name: a\n    type: dir\n    path: /x\n" // lines 1-6
	f := func(yaml string, line, col int, field, msg string) {
		t.Helper()
		_, err := Parse([]byte(yaml), "/d")
		if err == nil {
			t.Fatalf("no error for:\n%s", yaml)
		}
		want := fmt.Sprintf("line %d, column %d: %s: ", line, col, field)
		if field == "" {
			want = fmt.Sprintf("line %d, column %d: ", line, col)
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), msg) {
			t.Errorf("error %q\nwant %q and %q, for:\n%s", err, want, msg, yaml)
		}
		for _, bad := range []string{"hunter2", "Go struct", "Config."} {
			if strings.Contains(err.Error(), bad) {
				t.Errorf("error %q repeats %q, for:\n%s", err, bad, yaml)
			}
		}
	}
	// Wrong types.
	f(head+"batch:\n  max_objects: many\n", 8, 16, "batch.max_objects", `"many": want a whole number`)
	f(head+"spool:\n  max_bytes: 1GB\n", 8, 14, "spool.max_bytes", `"1GB": want a whole number`)
	f(head+"aggregation:\n  top_k: 1.5\n", 8, 10, "aggregation.top_k", "1.5: want a whole number")
	f(head+"instance:\n  count: 99999999999999999999\n", 8, 10, "instance.count", "want a whole number")
	f(head+"storage:\n  tls: {insecure_skip_verify: yes}\n", 7, 1, "storage", "given twice (first at line 1, column 1)")
	f("storage:\n  url: http://vm:8428\n  tls: {insecure_skip_verify: yes}\nsources: [{name: a, type: dir, path: /x}]\n", 3, 31, "storage.tls.insecure_skip_verify", `"yes": want true or false`)
	f(head+"    enabled: maybe\n", 7, 14, "sources[0].enabled", `"maybe": want true or false`)
	f(head+"  - name: b\n    type: dir\n    path: /y\n    downloaders: lots\n", 10, 18, "sources[1].downloaders", `"lots": want a whole number`)
	// Durations.
	f("storage:\n  url: http://vm:8428\n  timeout: 30 seconds\nsources: [{name: a, type: dir, path: /x}]\n", 3, 12, "storage.timeout", `"30 seconds": want a duration such as 30s`)
	f("storage: {url: http://vm:8428, timeout: 30 seconds}\nsources: [{name: a, type: dir, path: /x}]\n", 1, 41, "storage.timeout", `"30 seconds": want a duration`)
	f("storage:\n  url: http://vm:8428\n  timeout: 30\nsources: [{name: a, type: dir, path: /x}]\n", 3, 12, "storage.timeout", "30: want a duration with its unit")
	f(head+"batch:\n  max_wait: 5 parsecs\n", 8, 13, "batch.max_wait", `"5 parsecs": want a duration`)
	f(head+"    purge_older_than: 1 day\n", 7, 23, "sources[0].purge_older_than", `"1 day": want a duration`)
	// Unknown fields and the wrong kind of value.
	f(head+"batch:\n  max_object: 5\n", 8, 3, "batch.max_object", "unknown field: batch has max_objects, max_bytes, max_wait and max_cells")
	f(head+"    bukket: b\n", 7, 5, "sources[0].bukket", "unknown field: sources[0] has name, type, enabled, bucket")
	f(head+"stroage: {}\n", 7, 1, "stroage", "unknown field: the configuration has state_dir, instance, storage")
	f(head+"batch:\n  - 5\n", 8, 3, "batch", "a list: want a mapping of max_objects, max_bytes, max_wait and max_cells")
	f(head+"batch: 5\n", 7, 8, "batch", "5: want a mapping of max_objects")
	f("storage:\n  url: http://vm:8428\nsources:\n  name: a\n", 4, 7, "sources", "a mapping: want a list")
	f(head+"state_dir: [a, b]\n", 7, 12, "state_dir", "a list: want a string")
	f("- storage\n", 1, 1, "", "line 1, column 1: a list: want a mapping of state_dir")
	// Secrets: named, never quoted.
	f("storage:\n  url: http://vm:8428\n  username: u\n  password: [hunter2]\nsources: [{name: a, type: dir, path: /x}]\n", 4, 13, "storage.password", "a list: want the secret as a string, {env: NAME} or {file: PATH}")
	f("storage:\n  url: http://vm:8428\n  username: u\n  password: {env: [hunter2]}\nsources: [{name: a, type: dir, path: /x}]\n", 4, 19, "storage.password.env", "a list: want a string")
	f("storage:\n  url: http://vm:8428\n  username: u\n  password: {envv: hunter2}\nsources: [{name: a, type: dir, path: /x}]\n", 4, 14, "storage.password.envv", "unknown field: storage.password has value, file and env")
	f("storage:\n  url: http://vm:8428\n  bearer_token: {value: {x: hunter2}}\nsources: [{name: a, type: dir, path: /x}]\n", 3, 25, "storage.bearer_token.value", "a mapping: want a string")
	f("storage:\n  url: http://vm:8428\n  bearer_token: {file: /x, value: 12, bogus: hunter2}\nsources: [{name: a, type: dir, path: /x}]\n", 3, 39, "storage.bearer_token.bogus", "unknown field")
	f("storage: {url: http://vm:8428}\nsources:\n  - name: a\n    type: s3\n    bucket: b\n    region: r\n    on_first_run: skip\n    credentials:\n      access_key_id: AKIA\n      secret_access_key: {x: hunter2}\n",
		10, 26, "sources[0].credentials.secret_access_key", "a mapping: want a string")
	// The checks made after decoding are located too: at the field, or
	// at its nearest section the file has.
	f(head+"batch:\n  max_objects: -1\n", 8, 3, "batch.max_objects", "-1: want at least 1")
	f("storage:\n  url: http://vm:8428\nsources:\n  - name: a\n    type: dir\n", 4, 3, "sources[0].path", "required for a dir source")
	f("storage:\n  url: ftp://vm\nsources: [{name: a, type: dir, path: /x}]\n", 2, 3, "storage.url", "want an http or https URL")
}

// TestLoadNamesTheFile: Load's errors start FILE:LINE:COLUMN, one line
// per problem, in the order of the file.
func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "collector.yaml")
	yaml := "storage:\n  url: http://vm:8428\n  timeout: 30 seconds\nsources:\n  - name: a\n    type: dir\n    path: /x\nbatch:\n  max_objects: many\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:3:12: storage.timeout: "30 seconds": want a duration such as 30s, 5m or 1h (units ns, us, ms, s, m, h)` + "\n" +
		path + `:9:16: batch.max_objects: "many": want a whole number`
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "storage.timeout" || fe.Line != 3 || fe.Column != 12 || fe.File != path {
		t.Errorf("first problem %+v", fe)
	}
}

// TestYAMLMessage: what the YAML library reports (past the shape check)
// is worded in the configuration's terms, never Go's.
func TestYAMLMessage(t *testing.T) {
	f := func(e yaml.Error, want string) {
		t.Helper()
		if got := yamlMessage(e); got != want {
			t.Errorf("%v: %q, want %q", e, got, want)
		}
	}
	f(&yaml.TypeError{DstType: reflect.TypeFor[int64](), SrcType: reflect.TypeFor[string]()}, "want a whole number")
	f(&yaml.TypeError{DstType: reflect.TypeFor[*bool](), SrcType: reflect.TypeFor[string]()}, "want true or false")
	f(&yaml.TypeError{DstType: reflect.TypeFor[time.Duration](), SrcType: reflect.TypeFor[uint64]()}, "want a duration such as 30s, 5m or 1h")
	f(&yaml.TypeError{DstType: reflect.TypeFor[secret.Secret](), SrcType: reflect.TypeFor[[]any]()}, "want the secret as a string, {env: NAME} or {file: PATH}")
	f(&yaml.OverflowError{DstType: reflect.TypeFor[int](), SrcNum: "1e30"}, "want a whole number in range")
	f(&yaml.UnknownFieldError{Message: `unknown field "x"`}, `unknown field "x"`)
}

// TestBoundsAndDurability reads the memory, decode and durability bounds,
// and refuses negative ones and a cluster without its storage nodes.
func TestBoundsAndDurability(t *testing.T) {
	const src = "sources: [{name: a, type: dir, path: /x}]\n"
	c, err := Parse([]byte("storage: {url: http://vm:8428, durable_after: 30s}\n"+
		"aggregation: {max_object_cells: 10, max_learned_interfaces: 11, max_learned_addresses: 12}\n"+
		"batch: {max_cells: 13}\ndecode: {max_object_bytes: 14, max_expansion: 15}\n"+src), "/d")
	if err != nil {
		t.Fatal(err)
	}
	if c.Aggregation.MaxObjectCells != 10 || c.Aggregation.MaxLearnedInterfaces != 11 || c.Aggregation.MaxLearnedAddresses != 12 ||
		c.Batch.MaxCells != 13 || c.Decode.MaxObjectBytes != 14 || c.Decode.MaxExpansion != 15 || c.Storage.DurableAfter != 30*time.Second {
		t.Errorf("parsed %+v %+v %+v %+v", c.Aggregation, c.Batch, c.Decode, c.Storage)
	}
	c, err = Parse([]byte("storage: {write_url: http://ins:8480, query_url: http://sel:8481, storage_nodes: ['http://st1:8482', 'http://st2:8482']}\n"+src), "/d")
	if err != nil {
		t.Fatalf("cluster with storage nodes: %v", err)
	}
	if len(c.Storage.StorageNodes) != 2 {
		t.Errorf("cluster with storage nodes: %+v", c.Storage)
	}
	f := func(yaml, want string) {
		t.Helper()
		_, err := Parse([]byte(yaml+src), "/d")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", yaml, err, want)
		}
	}
	f("storage: {url: http://vm:8428}\nbatch: {max_cells: -1}\n", "batch.max_cells: -1: want a positive number")
	f("storage: {url: http://vm:8428}\ndecode: {max_expansion: -5}\n", "decode.max_expansion: -5")
	f("storage: {url: http://vm:8428}\naggregation: {max_object_cells: -1}\n", "aggregation.max_object_cells")
	f("storage: {url: http://vm:8428, durable_after: -1s}\n", "storage.durable_after")
	f("storage: {write_url: http://ins:8480, query_url: http://sel:8481}\n", "storage.storage_nodes: required with storage.write_url")
	f("storage: {url: http://vm:8428, storage_nodes: ['http://st1:8482']}\n", "storage.storage_nodes: only for a cluster")
	f("storage: {write_url: http://ins:8480, query_url: http://sel:8481, storage_nodes: ['st1:8482']}\n", "storage.storage_nodes[0]")
	f("storage: {url: http://vm:8428, insert_nodes: ['http://ins:8480']}\n", "storage.insert_nodes: only for a cluster")
	f("storage: {write_url: http://ins:8480, query_url: http://sel:8481, storage_nodes: ['http://st1:8482'], insert_nodes: ['ins']}\n", "storage.insert_nodes[0]")
}

// TestOpenLedger: both ledgers are opened where their paths say, with
// state_dir created; the collector's with this instance's slots; a
// state_dir that cannot be made is named.
func TestOpenLedger(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		stateDir string
		open     func(*Config) (*ledger.Ledger, error)
		path     string // the ledger's file, within state_dir
		instance string
		wantErr  string
	}{
		{"collector", filepath.Join(dir, "new", "state"), (*Config).OpenLedger, "ledger.db", "1/3", ""},
		{"downloader", filepath.Join(dir, "other"), (*Config).OpenDownloaderLedger, "downloader.db", "0/1", ""},
		{"state_dir under a file", filepath.Join(file, "state"), (*Config).OpenLedger, "", "", "state_dir: mkdir " + file + ": not a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{StateDir: tt.stateDir, Instance: Instance{Index: 1, Count: 3}}
			led, err := tt.open(c)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer led.Close()
			if led.Path() != filepath.Join(tt.stateDir, tt.path) || led.Instance() != tt.instance {
				t.Errorf("ledger %s of instance %s, want %s of %s", led.Path(), led.Instance(), filepath.Join(tt.stateDir, tt.path), tt.instance)
			}
			if _, err := os.Stat(led.Path()); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTopK: aggregation.top_k 0 keeps every label set (pipeline.TopKAll),
// left out it takes the default, and any other value is the K.
func TestTopK(t *testing.T) {
	for section, want := range map[string]int{
		"":                                     pipeline.DefaultTopK,
		"aggregation: {top_k: 0}\n":            pipeline.TopKAll,
		"aggregation: {top_k: 7}\n":            7,
		"aggregation: {max_object_cells: 9}\n": pipeline.DefaultTopK,
	} {
		c, err := Parse([]byte("storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /x}]\n"+section), "/d")
		if err != nil {
			t.Fatalf("%q: %v", section, err)
		}
		if got := c.Pipeline().Options().TopK; got != want {
			t.Errorf("%q: top K %d, want %d", section, got, want)
		}
	}
}

// TestOverloadAndLimits: overload.max_lag defaults to
// pipeline.DefaultMaxLag, 0 turns it off, and the limits default to none;
// all reach the pipeline's options, and negative values are refused,
// naming the field.
func TestOverloadAndLimits(t *testing.T) {
	base := "storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /x}]\n"
	for _, tt := range []struct {
		section string
		want    pipeline.Options
		err     string
	}{
		{section: "", want: pipeline.Options{MaxLag: pipeline.DefaultMaxLag}},
		{section: "overload: {}\n", want: pipeline.Options{MaxLag: pipeline.DefaultMaxLag}},
		{section: "overload: {max_lag: 0s}\n", want: pipeline.Options{}},
		{section: "overload: {max_lag: 2h}\nlimits: {max_sources: 3, max_exporters: 40}\n",
			want: pipeline.Options{MaxLag: 2 * time.Hour, MaxSources: 3, MaxExporters: 40}},
		{section: "overload: {max_lag: -1m}\n", err: "overload.max_lag"},
		{section: "limits: {max_sources: -1}\n", err: "limits.max_sources"},
		{section: "limits: {max_exporters: -2}\n", err: "limits.max_exporters"},
		{section: "limits: {max_vpcs: 2}\n", err: "limits.max_vpcs"},
	} {
		c, err := Parse([]byte(base+tt.section), "/d")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want one naming %s", tt.section, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.section, err)
		}
		o := c.Pipeline().Options()
		if o.MaxLag != tt.want.MaxLag || o.MaxSources != tt.want.MaxSources || o.MaxExporters != tt.want.MaxExporters {
			t.Errorf("%q: max_lag %v, max_sources %d, max_exporters %d; want %v, %d, %d", tt.section,
				o.MaxLag, o.MaxSources, o.MaxExporters, tt.want.MaxLag, tt.want.MaxSources, tt.want.MaxExporters)
		}
	}
}
