package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/awssync"
)

// TestSyncDefaults: the sync is on where there is AWS to ask (an s3
// source reading AWS, sync.accounts, sync.endpoint), on instance 0 only,
// unless the file says; the other settings take entitysync's defaults.
func TestSyncDefaults(t *testing.T) {
	const storage = "storage: {url: http://vm:8428}\n"
	const dir = "sources: [{name: a, type: dir, path: /x}]\n"
	const s3 = "sources: [{name: b, type: s3, bucket: b, region: us-east-1, on_first_run: purge}]\n"
	f := func(yaml string, wantEnabled bool) {
		t.Helper()
		c, err := Parse([]byte(storage+yaml), "/d")
		if err != nil {
			t.Fatalf("%s: %v", yaml, err)
		}
		if c.Sync.Enabled == nil || c.Sync.IsEnabled() != wantEnabled {
			t.Errorf("%s: sync enabled %v, want %v", yaml, c.Sync.Enabled, wantEnabled)
		}
		s := c.Sync
		if s.Interval != time.Hour || s.Timeout != 10*time.Minute || s.Concurrency != 4 ||
			s.MaxAttempts != awssync.DefaultMaxAttempts || s.MaxBackoff != awssync.DefaultMaxBackoff {
			t.Errorf("%s: defaults %+v", yaml, s)
		}
	}
	const s3Compatible = "sources: [{name: b, type: s3, bucket: b, region: us-east-1, endpoint: 'http://s3:7070', on_first_run: purge}]\n"
	f(dir, false) // a folder-only collector has no AWS to ask
	f(s3, true)
	f(s3Compatible, false) // nor one reading an S3-compatible server (the demo)
	f(s3Compatible+"sync: {endpoint: 'http://ec2:7070'}\n", true)
	f(s3Compatible+"sync: {enabled: true}\n", true)
	f(dir+"sync: {accounts: [{account_id: '123456789012', regions: [us-east-1]}]}\n", true)
	f(s3+"sync: {enabled: false}\n", false)
	f(s3+"instance: {index: 1, count: 2}\n", false) // instance 0 syncs for all
	f(s3+"instance: {index: 1, count: 2}\nsync: {enabled: true}\n", true)
	f(dir+"sync: {enabled: false, accounts: [{account_id: '123456789012'}]}\n", false)
}

// TestSyncSettings: every setting read as written.
func TestSyncSettings(t *testing.T) {
	c, err := Parse([]byte(`storage: {url: http://vm:8428}
sources: [{name: a, type: dir, path: /x}]
sync:
  interval: 2h
  timeout: 90s
  concurrency: 8
  tags: [Name, Environment, "aws:cloudformation:stack-name"]
  endpoint: https://ec2.example.internal
  max_attempts: 3
  max_backoff: 2s
  accounts:
    - account_id: "123456789012"
      regions: [us-east-1, eu-west-1]
      credentials: {access_key_id_env: K, secret_access_key_file: /run/k}
    - account_id: "210987654321"
      credentials: {role_arn: "arn:aws:iam::210987654321:role/vpcflow-sync", external_id: x}
      endpoint: http://127.0.0.1:7070
`), "/d")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sync
	got := fmt.Sprintf("%v %v %v %d %q %s %d %v %d", s.IsEnabled(), s.Interval, s.Timeout, s.Concurrency, s.Tags, s.Endpoint, s.MaxAttempts, s.MaxBackoff, len(s.Accounts))
	if want := `true 2h0m0s 1m30s 8 ["Name" "Environment" "aws:cloudformation:stack-name"] https://ec2.example.internal 3 2s 2`; got != want {
		t.Errorf("sync = %s\nwant   %s", got, want)
	}
	a, b := s.Accounts[0], s.Accounts[1]
	if a.AccountID != "123456789012" || strings.Join(a.Regions, ",") != "us-east-1,eu-west-1" || a.Credentials.AccessKeyIDEnv != "K" || a.Credentials.SecretAccessKeyFile != "/run/k" {
		t.Errorf("accounts[0] = %+v", a)
	}
	if b.AccountID != "210987654321" || len(b.Regions) != 0 || b.Credentials.RoleARN == "" || b.Credentials.ExternalID != "x" || b.Endpoint != "http://127.0.0.1:7070" {
		t.Errorf("accounts[1] = %+v", b)
	}
}

// TestSyncValidation: each bad setting is refused with its field, line
// and what is wrong.
func TestSyncValidation(t *testing.T) {
	const head = "storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /x}]\nsync:\n" // sync: on line 3
	f := func(body string, line, col int, field, msg string) {
		t.Helper()
		_, err := Parse([]byte(head+body), "/d")
		if err == nil {
			t.Fatalf("no error for:\n%s", body)
		}
		want := fmt.Sprintf("line %d, column %d: %s: %s", line, col, field, msg)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nwant %q, for:\n%s", err, want, body)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q quotes a secret", err)
		}
	}
	acct := "  accounts: [{account_id: '123456789012', regions: [us-east-1]}]\n" // line 4
	f(acct+"  interval: 30s\n", 5, 3, "sync.interval", "30s: want at least 1m0s")
	f(acct+"  interval: 1 hour\n", 5, 13, "sync.interval", `"1 hour": want a duration`)
	f(acct+"  timeout: -1s\n", 5, 3, "sync.timeout", "-1s: want a positive duration")
	f(acct+"  concurrency: -2\n", 5, 3, "sync.concurrency", "-2: want at least 1")
	f(acct+"  max_attempts: -1\n", 5, 3, "sync.max_attempts", "-1: want at least 1")
	f(acct+"  max_backoff: -1s\n", 5, 3, "sync.max_backoff", "-1s: want a positive duration")
	f(acct+"  tags: [Team, '']\n", 5, 14, "sync.tags[1]", "empty tag key")
	f(acct+"  tags: ["+strings.Repeat("k", 129)+"]\n", 5, 10, "sync.tags[0]", "a tag key of 129 bytes: at most 128")
	f(acct+"  tags: [team-a, team_a]\n", 5, 16, "sync.tags[1]", `"team_a": its label tag_team_a is also tag "team-a"'s`)
	f(acct+"  endpoint: ftp://ec2\n", 5, 3, "sync.endpoint", "want an http or https URL without credentials")
	f(acct+"  endpoint: 'https://u:hunter2@ec2'\n", 5, 3, "sync.endpoint", "want an http or https URL without credentials")
	f(acct+"  bogus: 1\n", 5, 3, "sync.bogus", "unknown field")
	f("  accounts:\n    - regions: [us-east-1]\n", 5, 5, "sync.accounts[0].account_id", "required: the account's id, 12 digits")
	f("  accounts:\n    - account_id: 12345\n", 5, 7, "sync.accounts[0].account_id", `"12345": want 12 digits`)
	f("  accounts:\n    - account_id: '12345678901x'\n", 5, 7, "sync.accounts[0].account_id", `"12345678901x": want 12 digits`)
	f("  accounts:\n    - account_id: '123456789012'\n    - account_id: '123456789012'\n", 6, 7, "sync.accounts[1].account_id", "123456789012 is listed twice")
	f("  accounts:\n    - account_id: '123456789012'\n      regions: [us-east-1, US East]\n", 6, 26, "sync.accounts[0].regions[1]", `"US East": want a region name`)
	f("  accounts:\n    - account_id: '123456789012'\n      regions: [us-east-1, us-east-1]\n", 6, 26, "sync.accounts[0].regions[1]", "us-east-1 is listed twice")
	f("  accounts:\n    - account_id: '123456789012'\n      regions: us-east-1\n", 6, 16, "sync.accounts[0].regions", `"us-east-1": want a list`)
	f("  accounts:\n    - account_id: '123456789012'\n      credentials: {access_key_id: hunter2}\n", 6, 7, "sync.accounts[0].credentials", "access_key_id and secret_access_key go together")
	f("  accounts:\n    - account_id: '123456789012'\n      credentials: {external_id: x}\n", 6, 21, "sync.accounts[0].credentials.external_id", "only with role_arn")
	f("  accounts:\n    - account_id: '123456789012'\n      credentials: {role_arn: reader}\n", 6, 21, "sync.accounts[0].credentials.role_arn", `"reader": want a role ARN`)
	f("  accounts:\n    - account_id: '123456789012'\n      credentials: {access_key_id: a, access_key_id_env: B, secret_access_key: hunter2}\n", 6, 21,
		"sync.accounts[0].credentials.access_key_id", "give one of access_key_id, access_key_id_env and access_key_id_file")
	f("  accounts:\n    - account_id: '123456789012'\n      endpoint: 'ec2.internal'\n", 6, 7, "sync.accounts[0].endpoint", "want an http or https URL")
	f("  enabled: true\n", 4, 3, "sync.enabled", "nothing to sync: no s3 source")
	f("  accounts: {account_id: '123456789012'}\n", 4, 13, "sync.accounts", "a mapping: want a list")
}

// TestSyncReloadNeedsRestart: a changed sync section takes effect after a
// restart, as the other sections but sources.
func TestSyncReloadNeedsRestart(t *testing.T) {
	const base = "storage: {url: http://vm:8428}\nsources: [{name: b, type: s3, bucket: b, region: us-east-1, on_first_run: purge}]\n"
	a, err := Parse([]byte(base), "/d")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse([]byte(base+"sync: {interval: 2h}\n"), "/d")
	if err != nil {
		t.Fatal(err)
	}
	if d := Compare(a, b); strings.Join(d.Restart, ",") != "sync" {
		t.Errorf("Compare: restart %v, want [sync]", d.Restart)
	}
	if d := Compare(a, a); len(d.Restart) != 0 {
		t.Errorf("Compare with itself: restart %v", d.Restart)
	}
}
