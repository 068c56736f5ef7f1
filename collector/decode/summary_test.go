package decode_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/decode"
)

// TestSummarize: one summary per file, in the order given whatever the
// workers, and totals without the failed file's records.
func TestSummarize(t *testing.T) {
	dir := filepath.Join("testdata", "conformance")
	files := []string{filepath.Join(dir, "default-v2.log"), filepath.Join(dir, "truncated.log.gz"), filepath.Join(dir, "bad-lines.log")}
	var got []decode.Summary
	var errs int
	total := decode.Summarize(files, decode.Options{}, 3, func(s decode.Summary, err error) {
		got = append(got, s)
		if err != nil {
			errs++
		}
	})
	if len(got) != 3 || errs != 1 || got[1].Error == "" {
		t.Fatalf("%d summaries, %d errors: %+v", len(got), errs, got)
	}
	var want int64
	for i, s := range got {
		if s.File != files[i] {
			t.Errorf("summary %d is of %s, want %s", i, s.File, files[i])
		}
		if s.Error == "" {
			want += s.Records
		}
	}
	if total.File != "total" || total.Files != 3 || total.Failed != 1 || total.Records != want || total.BadLines != got[2].BadLines || total.BadLines == 0 {
		t.Errorf("totals %+v, want %d records of 2 files", total, want)
	}
	var b bytes.Buffer
	got[1].WriteText(&b)
	if !strings.HasPrefix(b.String(), files[1]+" FAILED: records=") {
		t.Errorf("failed file's line %q", b.String())
	}
}
