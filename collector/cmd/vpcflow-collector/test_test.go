package main

import "testing"

// TestCountFormat: the first-run check's counts read "1,234 objects (56 MB)".
func TestCountFormat(t *testing.T) {
	f := func(c objectCount, adj, want string) {
		t.Helper()
		if got := c.objects(adj); got != want {
			t.Errorf("%+v: %q, want %q", c, got, want)
		}
	}
	f(objectCount{}, "", "0 objects (0 B)")
	f(objectCount{n: 1, bytes: 999}, "newer ", "1 newer object (999 B)")
	f(objectCount{n: 12, bytes: 3_140_000}, "", "12 objects (3.1 MB)")
	f(objectCount{n: 1234, bytes: 56_000_000}, "", "1,234 objects (56 MB)")
	f(objectCount{n: 1_234_567, bytes: 999_960}, "", "1,234,567 objects (1.0 MB)")
	f(objectCount{n: 100, bytes: 2_500_000_000_000}, "", "100 objects (2.5 TB)")
}
