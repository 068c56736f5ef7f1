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
			room := len(line) >= 8 && len(s) <= 16
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

// fieldsReference is the plain byte-by-byte meaning of how parse splits a
// line: the problem it must report, or the fields.
func fieldsReference(line []byte, n int) (flowlog.Problem, []string) {
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			return flowlog.ProblemGarbage, nil
		}
	}
	fields := strings.FieldsFunc(string(line), func(r rune) bool { return r == ' ' })
	if len(fields) != n {
		return flowlog.ProblemFieldCount, nil
	}
	if !utf8.Valid(line) {
		return flowlog.ProblemGarbage, nil
	}
	return flowlog.NoProblem, fields
}

// checkFields parses line with a format of n columns the decoder does not
// know (so every field is kept as text) and compares with fieldsReference.
func checkFields(t *testing.T, line string, n int) {
	t.Helper()
	tx := &text{opts: &Options{}, st: &Stats{}, nExtra: n}
	for i := range n {
		tx.cols = append(tx.cols, flowlog.Unknown)
		tx.kinds = append(tx.kinds, flowlog.KindString)
		tx.extra = append(tx.extra, i)
	}
	p, _ := tx.parse([]byte(line))
	if p == flowlog.ProblemMissing { // no log-status: the split itself went well
		p = flowlog.NoProblem
	}
	wantP, want := fieldsReference([]byte(line), n)
	if p != wantP {
		t.Fatalf("parse(%q) with %d columns: %v, want %v", line, n, p, wantP)
	}
	if p != flowlog.NoProblem {
		return
	}
	got := make([]string, n)
	for i, v := range tx.rec.Extra {
		got[i] = string(v)
		if v == nil {
			got[i] = "-"
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("parse(%q) fields %q, want %q", line, got, want)
	}
}

func TestSplitFields(t *testing.T) {
	f := func(line string, n int) {
		t.Helper()
		for _, cols := range []int{n - 1, n, n + 1} {
			if cols > 0 {
				checkFields(t, line, cols)
			}
		}
	}
	f("a", 1)
	f("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK", 14)
	f("  leading and trailing  ", 3)
	f("runs    of     spaces", 3)
	f(strings.Repeat("x", 63)+" "+strings.Repeat("y", 64)+" z", 3)
	f(strings.Repeat("x", 64), 1)
	f(strings.Repeat("x", 63)+" ", 1)
	f(strings.Repeat(" ", 64)+"x", 1)
	f(strings.Repeat("ab ", 40), 40)
	f("tab\there", 1)
	f("del\x7f x", 2)
	f("caf\xc3\xa9 ok", 2)
	f("\xff\xfe x", 2)
	f(strings.Repeat("é", 40)+" "+strings.Repeat("\xa1", 3), 2)
	f(strings.Repeat("\xa0 ", 70), 70)
}

func FuzzSplit(f *testing.F) {
	f.Add([]byte("2 123456789010 eni-1 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"), 14)
	f.Add([]byte("  a  b\x01"), 2)
	f.Add([]byte("é é"), 2)
	f.Fuzz(func(t *testing.T, line []byte, n int) {
		if n < 1 || n > 64 {
			return
		}
		checkFields(t, string(line), n)
	})
}

func FuzzDigits(f *testing.F) {
	f.Add("1418530010")
	f.Add("0")
	f.Fuzz(func(t *testing.T, s string) {
		line := []byte(s + " ................")
		got, ok := digits(line, 0, len(s))
		want, err := strconv.ParseUint(s, 10, 64)
		valid := err == nil && len(s) <= 16 && len(s) > 0
		if ok != valid || (ok && got != want) {
			t.Fatalf("digits(%q) = %d, %v; strconv %d, %v", s, got, ok, want, err)
		}
	})
}
