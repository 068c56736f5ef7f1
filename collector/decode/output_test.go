package decode_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/decode"
)

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func conformanceFile(name string) string { return filepath.Join("testdata", "conformance", name) }

// TestWriteRecords: the records of every file as JSON lines, equal to the
// conformance set's expectations; bad lines to their writer; a failed
// file counted and reported, the others printed; a failing output named.
func TestWriteRecords(t *testing.T) {
	for _, tt := range []struct {
		name      string
		files     []string
		expected  []string // .expected.jsonl files the output equals, in order
		prefix    bool     // the output only begins with them (a failed file's records stay)
		failed    int
		badLines  string // in the bad lines' output
		failure   string // in the failed files' errors
		brokenOut bool
		wantErr   string
	}{
		{name: "one file", files: []string{"default-v2.log"}, expected: []string{"default-v2.expected.jsonl"}},
		{name: "bad lines", files: []string{"default-v2.log", "bad-lines.log"}, expected: []string{"default-v2.expected.jsonl", "bad-lines.expected.jsonl"},
			badLines: `bad-lines.log: 5 bad lines skipped`},
		{name: "a failed file", files: []string{"crlf.log", "truncated.log.gz"}, expected: []string{"crlf.expected.jsonl"}, prefix: true, failed: 1,
			failure: "truncated at byte 329"},
		{name: "output fails", files: []string{"default-v2.log"}, brokenOut: true, wantErr: "write records: disk full"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var files []string
			for _, f := range tt.files {
				files = append(files, conformanceFile(f))
			}
			var out, bad bytes.Buffer
			var failures []string
			var w io.Writer = &out
			if tt.brokenOut {
				w = failingWriter{}
			}
			n, err := decode.WriteRecords(w, &bad, files, decode.Options{}, func(err error) { failures = append(failures, err.Error()) })
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || n != tt.failed || len(failures) != tt.failed {
				t.Fatalf("failed %d (%v), err %v; want %d failed", n, failures, err, tt.failed)
			}
			if tt.failure != "" && !strings.Contains(failures[0], tt.failure) {
				t.Errorf("failure %q, want %q", failures[0], tt.failure)
			}
			if !strings.Contains(bad.String(), tt.badLines) || (tt.badLines == "" && bad.Len() > 0) {
				t.Errorf("bad lines output %q, want %q", bad.String(), tt.badLines)
			}
			var want []map[string]any
			for _, e := range tt.expected {
				want = append(want, readJSONLines(t, conformanceFile(e))...)
			}
			var got []map[string]any
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				got = append(got, decodeJSON(t, sc.Bytes()))
			}
			if tt.prefix && len(got) > len(want) {
				got = got[:len(want)]
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%d records printed, want the %d expected", len(got), len(want))
			}
		})
	}
}

// TestWriteSummaries: per file then the totals, as text or JSON lines,
// or the totals alone; the totals carry the peak memory; a failing output
// is named.
func TestWriteSummaries(t *testing.T) {
	files := []string{conformanceFile("default-v2.log"), conformanceFile("truncated.log.gz"), conformanceFile("bad-lines.log")}
	want := decode.Summarize(files, decode.Options{}, 1, func(decode.Summary, error) {})
	for _, tt := range []struct {
		name      string
		format    decode.SummaryFormat
		lines     []string // prefix of each line printed
		brokenOut bool
	}{
		{name: "text", lines: []string{files[0] + ": records=", files[1] + " FAILED: records=", files[2] + ": records=", "  bad ",
			"total: records=", "decoded 3 files in "}},
		{name: "json", format: decode.SummaryFormat{JSON: true}, lines: []string{`{"file":"` + files[0], `{"file":"` + files[1], `{"file":"` + files[2], `{"file":"total"`}},
		{name: "totals", format: decode.SummaryFormat{TotalsOnly: true}, lines: []string{"total: records=", "decoded 3 files in "}},
		{name: "totals json", format: decode.SummaryFormat{TotalsOnly: true, JSON: true}, lines: []string{`{"file":"total"`}},
		{name: "output fails", brokenOut: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			var w io.Writer = &out
			if tt.brokenOut {
				w = failingWriter{}
			}
			failures := 0
			total, err := decode.WriteSummaries(w, files, decode.Options{}, 2, tt.format, func(error) { failures++ })
			if failures != 1 || total.Failed != 1 || total.Records != want.Records || total.Files != 3 {
				t.Errorf("%d failures, totals %+v; want 1 and %d records", failures, total, want.Records)
			}
			if total.PeakRSS <= 0 {
				t.Errorf("totals without the peak memory: %d", total.PeakRSS)
			}
			if tt.brokenOut {
				if err == nil || err.Error() != "write summary: disk full" {
					t.Errorf("err %v, want write summary: disk full", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			var kept []string // the bad line samples of the text output, but one
			for _, l := range lines {
				if !strings.HasPrefix(l, "  bad ") || !strings.HasPrefix(kept[len(kept)-1], "  bad ") {
					kept = append(kept, l)
				}
			}
			if len(kept) != len(tt.lines) {
				t.Fatalf("%d lines, want %d:\n%s", len(kept), len(tt.lines), out.String())
			}
			for i, p := range tt.lines {
				if !strings.HasPrefix(kept[i], p) {
					t.Errorf("line %d %q, want it to begin with %q", i, kept[i], p)
				}
			}
			if tt.format.JSON {
				var last decode.Summary
				if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Records != want.Records || last.PeakRSS <= 0 {
					t.Errorf("JSON totals %+v (%v), want %d records and the peak memory", last, err, want.Records)
				}
			}
		})
	}
}

// TestTuneGC: 400 unless $GOGC is set.
func TestTuneGC(t *testing.T) {
	for _, tt := range []struct {
		gogc string
		want int
	}{{"", 400}, {"50", 77}} {
		t.Run("GOGC="+tt.gogc, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			prev := debug.SetGCPercent(77)
			defer debug.SetGCPercent(prev)
			decode.TuneGC()
			if got := debug.SetGCPercent(77); got != tt.want {
				t.Errorf("GC percent %d, want %d", got, tt.want)
			}
		})
	}
}
