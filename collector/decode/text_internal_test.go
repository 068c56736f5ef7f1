package decode

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

func TestDigits(t *testing.T) {
	f := func(s string, want uint64, ok bool) {
		t.Helper()
		// With room to read eight bytes past the start, and without.
		for _, line := range []string{s + " 0123456789abcdef", s} {
			n, gotOK := digits([]byte(line), 0, len(s))
			room := len(line) >= 8 && (len(s) <= 8 || len(s) <= 16)
			if !room {
				if gotOK {
					t.Errorf("digits(%q) without room = %d, true", line, n)
				}
				continue
			}
			if gotOK != ok || n != want {
				t.Errorf("digits(%q, 0, %d) = %d, %v; want %d, %v", line, len(s), n, gotOK, want, ok)
			}
		}
	}
	f("0", 0, true)
	f("7", 7, true)
	f("42", 42, true)
	f("443", 443, true)
	f("65535", 65535, true)
	f("00000001", 1, true)
	f("12345678", 12345678, true)
	f("123456789", 123456789, true)
	f("1418530010", 1418530010, true)
	f("9999999999999999", 9999999999999999, true)
	f("99999999999999999", 0, false) // 17 digits: the slow path's job
	for _, bad := range []string{"4a3", "-1", "1 2", "/", ":", "12345678x", "x12345678", "1234567\xb9", "\x80"} {
		f(bad, 0, false)
	}
	// Every length at every alignment, against strconv.
	for n := 1; n <= 16; n++ {
		s := strings.Repeat("9876543210", 2)[:n]
		want, _ := strconv.ParseUint(s, 10, 64)
		line := "x " + s + " 1234567890123456"
		if got, ok := digits([]byte(line), 2, 2+n); !ok || got != want {
			t.Errorf("digits(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
}

// splitReference is the plain byte-by-byte meaning of split.
func splitReference(line []byte, limit int) (spans []int, garbage, nonASCII bool) {
	start := -1
	for i, c := range line {
		switch {
		case c == ' ':
			if start >= 0 && len(spans) < limit {
				spans = append(spans, start, i)
			}
			start = -1
			continue
		case c < 0x20 || c == 0x7f:
			return nil, true, false
		case c >= 0x80:
			nonASCII = true
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 && len(spans) < limit {
		spans = append(spans, start, len(line))
	}
	return spans, false, nonASCII
}

func newTestText(t testing.TB, format string) *text {
	f, err := flowlog.ParseFormat(format)
	if err != nil {
		t.Fatal(err)
	}
	tx := &text{opts: &Options{}, st: &Stats{}}
	if err := tx.useFormat(f); err != nil {
		t.Fatal(err)
	}
	return tx
}

func checkSplit(t *testing.T, tx *text, line string) {
	t.Helper()
	got, g1, n1 := tx.split([]byte(line))
	want, g2, n2 := splitReference([]byte(line), 2*(len(tx.cols)+1))
	if g1 != g2 || (!g1 && (n1 != n2 || !slices.Equal(got, want))) {
		t.Fatalf("split(%q) = %v %v %v; want %v %v %v", line, got, g1, n1, want, g2, n2)
	}
}

func TestSplit(t *testing.T) {
	tx := newTestText(t, "v2")
	for _, line := range []string{
		"",
		" ",
		"a",
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
		"  leading and trailing  ",
		"runs    of     spaces",
		strings.Repeat("x", 63) + " " + strings.Repeat("y", 64) + " z",
		strings.Repeat("ab ", 40), // more fields than the format
		"tab\there",
		"del\x7f",
		"caf\xc3\xa9 ok",
		"\xff\xfe",
		strings.Repeat("7", 64),
		strings.Repeat(" ", 64) + "x",
	} {
		checkSplit(t, tx, line)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add([]byte("2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"))
	f.Add([]byte("  a  b\x01"))
	f.Add([]byte("é é"))
	tx := newTestText(f, "v2")
	f.Fuzz(func(t *testing.T, line []byte) {
		checkSplit(t, tx, string(line))
		if _, garbage, nonASCII := tx.split(line); !garbage && !nonASCII && !utf8.Valid(line) {
			t.Fatalf("%q: invalid UTF-8 not reported", line)
		}
	})
}

func FuzzDigits(f *testing.F) {
	f.Add("1418530010")
	f.Add("0")
	f.Fuzz(func(t *testing.T, s string) {
		line := []byte(s + " ................")
		got, ok := digits(line, 0, len(s))
		want, err := strconv.ParseUint(s, 10, 64)
		valid := err == nil && len(s) <= 16 && len(s) > 0 && !strings.HasPrefix(s, "+")
		if ok != valid || (ok && got != want) {
			t.Fatalf("digits(%q) = %d, %v; strconv %d, %v", s, got, ok, want, err)
		}
	})
}
