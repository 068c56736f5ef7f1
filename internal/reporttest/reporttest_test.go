package reporttest

import (
	"maps"
	"testing"
)

// TestTopOf: the largest values first, ties broken label by label as the
// report engine breaks them ("eni-1" before "eni-10", though "eni-1|"
// sorts after "eni-10" as text), the rest summed.
func TestTopOf(t *testing.T) {
	want := map[string]float64{"eni-10|ACCEPT": 5, "eni-1|REJECT": 5, "eni-1|ACCEPT": 5, "eni-2|ACCEPT": 9, "eni-3|ACCEPT": 1}
	f := func(n int, top map[string]float64, rest float64) {
		t.Helper()
		gotTop, gotRest := TopOf(want, n)
		if !maps.Equal(gotTop, top) || gotRest != rest {
			t.Errorf("TopOf(%d) = %v, %v; want %v, %v", n, gotTop, gotRest, top, rest)
		}
	}
	f(0, map[string]float64{}, 25)
	f(1, map[string]float64{"eni-2|ACCEPT": 9}, 16)
	f(2, map[string]float64{"eni-2|ACCEPT": 9, "eni-1|ACCEPT": 5}, 11)
	f(3, map[string]float64{"eni-2|ACCEPT": 9, "eni-1|ACCEPT": 5, "eni-1|REJECT": 5}, 6)
	f(4, map[string]float64{"eni-2|ACCEPT": 9, "eni-1|ACCEPT": 5, "eni-1|REJECT": 5, "eni-10|ACCEPT": 5}, 1)
	f(9, want, 0)
}

// TestDiff: equal sets give "", a key missing from got differs even where
// want is 0.
func TestDiff(t *testing.T) {
	f := func(got, want map[string]float64, diff string) {
		t.Helper()
		if d := Diff(got, want); d != diff {
			t.Errorf("Diff(%v, %v) = %q, want %q", got, want, d, diff)
		}
	}
	f(nil, nil, "")
	f(map[string]float64{"a": 1, "b": 0}, map[string]float64{"a": 1, "b": 0}, "")
	f(map[string]float64{"a": 1}, map[string]float64{"a": 1, "b": 0}, "  b: got NaN, want 0")
	f(map[string]float64{"a": 2, "c": 1}, map[string]float64{"a": 1}, "  a: got 2, want 1\n  c: got 1, want nothing")
}
