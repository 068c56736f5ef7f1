package decode_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// wantObjectError checks that err is an *ObjectError of the reason, naming
// the object and a byte offset within it.
func wantObjectError(t *testing.T, err error, reason decode.Reason, size int, mention string) *decode.ObjectError {
	t.Helper()
	var oe *decode.ObjectError
	if !errors.As(err, &oe) || oe.Reason != reason {
		t.Fatalf("error %v, want an *ObjectError %q", err, reason)
	}
	msg := err.Error()
	if !strings.Contains(msg, "s3://bucket/key.log.gz") || !strings.Contains(msg, "at byte") || !strings.Contains(msg, mention) {
		t.Errorf("message %q should name the object, the byte offset and %q", msg, mention)
	}
	if oe.Offset < 0 || oe.Offset > int64(size) {
		t.Errorf("offset %d is not within the object's %d bytes", oe.Offset, size)
	}
	return oe
}

// TestLongHeaderFailsObject: a header line longer than MaxLineBytes fails
// the object (its columns cannot be known) instead of being skipped as a bad
// line, after which the object was decoded with the default format and every
// record got wrong fields.
func TestLongHeaderFailsObject(t *testing.T) {
	long := v5Header + strings.Repeat(" future-field-with-a-long-name", 2000) // 60 KiB
	f := func(name, data string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			for _, in := range [][]byte{[]byte(data), gz(t, data)} {
				got, _, err := decodeAll(t, in, decode.Options{})
				oe := wantObjectError(t, err, decode.BadHeader, len(in), "reads as a header")
				if len(got) != 0 {
					t.Errorf("%d records passed before the object failed", len(got))
				}
				if want := int64(strings.Count(data[:strings.Index(data, "version")], "\n") + 1); oe.Line != want {
					t.Errorf("line %d, want %d", oe.Line, want)
				}
			}
		})
	}
	body := strings.Repeat(v5Good+"\n", 3)
	f("header over the limit", long+"\n"+body)
	f("after blank lines", "\n  \n"+long+"\n"+body)
	// Longer than the 256 KiB read buffer: the line streams by in pieces.
	f("header over the read buffer", v5Header+strings.Repeat(" future-field-with-a-long-name", 12000)+"\n"+body)
	f("header without a line end", long)
}

// TestLongFirstDataLine: an over-long first line that is data, not a header,
// stays a bad line, and the rest of the headerless object decodes with the
// configured format.
func TestLongFirstDataLine(t *testing.T) {
	for name, first := range map[string]string{
		"in one chunk":       good + strings.Repeat(" 1", 20000),
		"over the buffer":    good + strings.Repeat(" 1", 200000),
		"one long word":      strings.Repeat("x", 40000),
		"numbers then words": "2 1 " + strings.Repeat("interface-id ", 3000),
	} {
		t.Run(name, func(t *testing.T) {
			data := first + "\n" + good + "\n" + good + "\n"
			for _, in := range [][]byte{[]byte(data), gz(t, data)} {
				got, st, err := decodeAll(t, in, decode.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 || st.BadLines != 1 || st.Problems[flowlog.ProblemLongLine] != 1 || st.Header {
					t.Fatalf("%d records, bad %d %v, header %v; want 2 records and the long line bad", len(got), st.BadLines, st.Samples, st.Header)
				}
			}
		})
	}
}

// bomb is gzip of n newlines: about a thousand times smaller than its text.
func bomb(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	chunk := bytes.Repeat([]byte("\n"), 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestObjectSizeLimits(t *testing.T) {
	t.Run("decompression bomb", func(t *testing.T) {
		// 80 MiB of empty lines from about 80 KB: past ExpansionFloor, the
		// object fails as soon as it expands more than 200 times.
		in := bomb(t, 80<<20)
		_, st, err := decodeAll(t, in, decode.Options{})
		wantObjectError(t, err, decode.TooLarge, len(in), "MaxExpansion")
		if st.DecodedBytes > decode.ExpansionFloor+1<<20 {
			t.Errorf("decoded %d bytes before failing", st.DecodedBytes)
		}
	})
	t.Run("repetitive object under the floor", func(t *testing.T) {
		in := bomb(t, 8<<20)
		if _, st, err := decodeAll(t, in, decode.Options{}); err != nil || st.DecodedBytes != 8<<20 {
			t.Fatalf("%v after %d bytes; want 8 MiB of blank lines decoded", err, st.DecodedBytes)
		}
	})
	t.Run("no expansion bound", func(t *testing.T) {
		in := bomb(t, 80<<20)
		if _, _, err := decodeAll(t, in, decode.Options{MaxExpansion: -1}); err != nil {
			t.Fatal(err)
		}
	})
	data := header + "\n" + strings.Repeat(good+"\n", 1000) // 113 KB
	for name, in := range map[string][]byte{"plain": []byte(data), "gzip": gz(t, data)} {
		t.Run("MaxObjectBytes "+name, func(t *testing.T) {
			got, _, err := decodeAll(t, in, decode.Options{MaxObjectBytes: 50_000})
			wantObjectError(t, err, decode.TooLarge, len(in), "MaxObjectBytes")
			if len(got) > 500 {
				t.Errorf("%d records decoded past the limit", len(got))
			}
			if _, _, err := decodeAll(t, in, decode.Options{MaxObjectBytes: int64(len(data))}); err != nil {
				t.Errorf("an object of exactly the limit: %v", err)
			}
		})
	}
	t.Run("MaxObjectBytes parquet", func(t *testing.T) {
		var rows [][]any
		for range 200 {
			rows = append(rows, v2Row("ACCEPT", 3, 300))
		}
		in := writeParquet(t, v2Columns, rows)
		wantObjectError(t, func() error { _, _, err := decodeAll(t, in, decode.Options{MaxObjectBytes: 4000}); return err }(),
			decode.TooLarge, len(in), "pages declare more than")
		if _, _, err := decodeAll(t, in, decode.Options{}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestParquetDeclaredSizes: a Parquet object's own sizes are checked before
// parquet-go allocates what they declare. huge-statistics.parquet is a
// 3.7 KB object (a mutation FuzzParquet met) whose page header declares a
// 2 GiB statistics value: parquet-go allocated the 2 GiB before finding the
// bytes missing.
func TestParquetDeclaredSizes(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "parquet", "huge-statistics.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	_, _, err = decodeAll(t, in, decode.Options{})
	runtime.ReadMemStats(&m1)
	wantObjectError(t, err, decode.Unreadable, len(in), "page header")
	if a := m1.TotalAlloc - m0.TotalAlloc; a > 16<<20 {
		t.Errorf("decoding a %d-byte object allocated %d MiB", len(in), a>>20)
	}
}
