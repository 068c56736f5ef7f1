package devtools

import (
	"slices"
	"testing"
)

func TestBestBenchLines(t *testing.T) {
	out := `goos: linux
BenchmarkParse/v5         	       5	  61000000 ns/op	 700.0 MB/s	 3000000 records/s
BenchmarkParse/v2         	       5	  41000000 ns/op	 500.0 MB/s	 4800000 records/s
BenchmarkParse/v5         	       5	  60000000 ns/op	 710.0 MB/s	 3100000 records/s
BenchmarkParse/v2         	       5	  42000000 ns/op	 490.0 MB/s	 4700000 records/s
PASS`
	got := bestBenchLines(out, "records/s")
	want := []string{
		"BenchmarkParse/v5         	       5	  60000000 ns/op	 710.0 MB/s	 3100000 records/s",
		"BenchmarkParse/v2         	       5	  41000000 ns/op	 500.0 MB/s	 4800000 records/s",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestRate(t *testing.T) {
	f := func(v float64, want string) {
		t.Helper()
		if got := rate(v); got != want {
			t.Errorf("rate(%v) = %q, want %q", v, got, want)
		}
	}
	f(999, "999")
	f(1500, "2k")
	f(410_000, "410k")
	f(1_310_000, "1.31M")
}

func TestTarget(t *testing.T) {
	f := func(tg target, want string) {
		t.Helper()
		if got := tg.String(); got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	}
	f(target{"ratio", 1.22, 1.1, "x"}, "MET    ratio                                                1.22x (goal 1.10x)")
	f(target{"ratio", 1.05, 1.1, "x"}, "MISSED ratio                                                1.05x (goal 1.10x)")
	f(target{"rss", -11.2, -100, "MiB"}, "MET    rss                                                  11.20MiB (goal 100.00MiB)")
	f(target{"rss", -120, -100, "MiB"}, "MISSED rss                                                  120.00MiB (goal 100.00MiB)")
	if v := metric("BenchmarkParse/v5  5  61434096 ns/op  799.03 MB/s  3255555 records/s", "records/s"); v != 3255555 {
		t.Errorf("metric = %v", v)
	}
}
