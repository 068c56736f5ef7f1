package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	var total fileSummary
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
	if err := os.WriteFile(path, []byte("eni-1 5 500 10 70 ACCEPT OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "decode", "--format", "interface-id,packets,bytes,start,end,action,log-status", path)
	if code != 0 || strings.TrimSpace(stdout) != `{"interface-id":"eni-1","packets":5,"bytes":500,"start":10,"end":70,"action":"ACCEPT","log-status":"OK"}` {
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
