package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/decode"
)

const conformance = "../../decode/testdata/conformance"

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestDecodeJSONLines(t *testing.T) {
	stdout, stderr, code := runCLI(t, "decode", filepath.Join(conformance, "default-v2.log"), filepath.Join(conformance, "bad-lines.log"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 6+2 {
		t.Fatalf("%d records, want 8:\n%s", len(lines), stdout)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["bytes"] != 4249.0 || first["log-status"] != "OK" {
		t.Errorf("first record %v", first)
	}
	if !strings.Contains(stderr, "bad-lines.log: 5 bad lines skipped") || !strings.Contains(stderr, "line 5 (byte 395): not a number in packets \"twenty\"") {
		t.Errorf("stderr should report the bad lines:\n%s", stderr)
	}
}

func TestDecodeFailedFile(t *testing.T) {
	truncated := filepath.Join(conformance, "truncated.log.gz")
	_, stderr, code := runCLI(t, "decode", truncated, filepath.Join(conformance, "crlf.log"))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr, truncated+": truncated at byte 329") || !strings.Contains(stderr, "1 of 2 files failed") {
		t.Errorf("stderr should give the reason:\n%s", stderr)
	}
}

func TestDecodeSummary(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(conformance, "*.log*"))
	stdout, _, code := runCLI(t, append([]string{"decode", "--summary", "--json", "--jobs", "3"}, files...)...)
	if code != 1 { // truncated.log.gz fails
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(files)+1 {
		t.Fatalf("%d summary lines for %d files", len(lines), len(files))
	}
	var total decode.Summary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &total); err != nil {
		t.Fatal(err)
	}
	// Every conformance record but the truncated file's, which must not count.
	var want int64
	for _, f := range files {
		if strings.Contains(f, "truncated") {
			continue
		}
		data, _ := os.ReadFile(strings.TrimSuffix(strings.TrimSuffix(f, ".gz"), ".log") + ".expected.jsonl")
		want += int64(strings.Count(string(data), "\n"))
	}
	if total.File != "total" || total.Files != len(files) || total.Failed != 1 || total.Records != want {
		t.Errorf("total %+v, want %d records from %d files with 1 failed", total, want, len(files))
	}
}

func TestDecodeHeaderlessFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	if err := os.WriteFile(path, []byte("eni-1 5 500 1700000010 1700000070 ACCEPT OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "decode", "--format", "interface-id,packets,bytes,start,end,action,log-status", path)
	if code != 0 || strings.TrimSpace(stdout) != `{"interface-id":"eni-1","packets":5,"bytes":500,"start":1700000010,"end":1700000070,"action":"ACCEPT","log-status":"OK"}` {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	f := func(want string, args ...string) {
		t.Helper()
		_, stderr, code := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", args, code, stderr, want)
		}
	}
	f("unknown flag", "decode", "--bogus", "x")
	f("requires at least 1 arg", "decode")
	f("--format", "decode", "--format", "v9", "x")
	f("unknown command", "nonsense")
	f(`required flag(s) "out"`, "generate", "--records", "5")
	f("--records must be positive", "generate", "--out", t.TempDir(), "--records", "0")
	f("--start", "generate", "--out", t.TempDir(), "--records", "5", "--start", "yesterday")
}

func TestGenerateThenDecode(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := runCLI(t, "generate", "--out", dir, "--records", "5000", "--format", "v5",
		"--start", "2026-03-01T10:00:00Z", "--duration", "30m", "--vpcs", "2", "--enis", "20", "--seed", "7")
	if code != 0 {
		t.Fatalf("generate: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "5000 records") || !strings.Contains(stdout, "2026-03-01T10:00:00Z to 2026-03-01T10:30:00Z") {
		t.Errorf("generate summary: %s", stdout)
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) != 12 { // 2 VPCs × 6 five-minute objects
		t.Fatalf("%d objects (%v), want 12", len(files), err)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		if !strings.HasPrefix(rel, "AWSLogs/") || !strings.HasSuffix(rel, ".log.gz") || !strings.Contains(rel, "/vpcflowlogs/us-east-1/2026/03/01/") {
			t.Errorf("key %s is not in the AWS layout", rel)
		}
	}
	stdout, stderr, code = runCLI(t, append([]string{"decode", "--totals", "--json"}, files...)...)
	if code != 0 {
		t.Fatalf("decode: exit %d: %s", code, stderr)
	}
	var total decode.Summary
	if err := json.Unmarshal([]byte(stdout), &total); err != nil {
		t.Fatal(err)
	}
	if total.Records != 5000 || total.BadLines != 0 || total.OK+total.NoData+total.SkipData != 5000 || total.Files != 12 {
		t.Errorf("decoded totals %+v", total)
	}
}
