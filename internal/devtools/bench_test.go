package devtools

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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
	pad := func(name string) string { return name + strings.Repeat(" ", 64-len(name)) }
	f(target{"ratio", 1.22, 1.1, "x"}, "MET    "+pad("ratio")+" 1.22x (goal 1.10x)")
	f(target{"ratio", 1.05, 1.1, "x"}, "MISSED "+pad("ratio")+" 1.05x (goal 1.10x)")
	f(target{"ratio", 0.0432, 0.3, "x"}, "MISSED "+pad("ratio")+" 0.043x (goal 0.30x)")
	f(target{"ratio", 0, 0.3, "x"}, "MISSED "+pad("ratio")+" 0.00x (goal 0.30x)")
	f(target{"rss", -11.2, -100, "MiB"}, "MET    "+pad("rss")+" 11.20MiB (goal 100.00MiB)")
	f(target{"rss", -120, -100, "MiB"}, "MISSED "+pad("rss")+" 120.00MiB (goal 100.00MiB)")
	f(target{"at most, on the goal", -6, -6, "%"}, "MET    "+pad("at most, on the goal")+" 6.00% (goal 6.00%)")
	if v := metric("BenchmarkParse/v5  5  61434096 ns/op  799.03 MB/s  3255555 records/s", "records/s"); v != 3255555 {
		t.Errorf("metric = %v", v)
	}
}

// TestCostTargets: the targets of issue 13 from measured figures, each
// MET or MISSED on its side of the goal.
func TestCostTargets(t *testing.T) {
	f := func(c vmCost, records int64, want []string) {
		t.Helper()
		var got []string
		for _, tg := range costTargets("day", c, records) {
			verdict, _, _ := strings.Cut(tg.String(), " ")
			got = append(got, fmt.Sprintf("%s %s %s%s", verdict, tg.name, figure(abs(tg.value)), tg.unit))
		}
		if !slices.Equal(got, want) {
			t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// The figures of the issue: 4M records, 2.77M series, 56M samples,
	// 508 MB of data from 120 MB of gzip, 3.1 GB of RSS.
	f(vmCost{series: 2_770_000, samples: 56_000_000, dataBytes: 508e6, gzipBytes: 120e6, rss: 3.1e9}, 4_000_000, []string{
		"MISSED day: series, % of records (at most) 69.25%",
		"MISSED day: samples per record (at most) 14.00",
		"MISSED day: VictoriaMetrics data, % of gzip (at most) 423.33%",
		"MISSED day: VictoriaMetrics data, % of gzip (moonshot) 423.33%",
		"MISSED day: VictoriaMetrics RSS after (MB, under) 3100.00MB",
	})
	// Every goal met, the moonshot missed.
	f(vmCost{series: 200_000, samples: 12_000_000, dataBytes: 30e6, gzipBytes: 120e6, rss: 700e6}, 4_000_000, []string{
		"MET day: series, % of records (at most) 5.00%",
		"MET day: samples per record (at most) 3.00",
		"MET day: VictoriaMetrics data, % of gzip (at most) 25.00%",
		"MISSED day: VictoriaMetrics data, % of gzip (moonshot) 25.00%",
		"MET day: VictoriaMetrics RSS after (MB, under) 700.00MB",
	})
	// Just over each goal.
	f(vmCost{series: 240_001, samples: 16_000_001, dataBytes: 36_000_001, gzipBytes: 120e6, rss: 800_000_001}, 4_000_000, []string{
		"MISSED day: series, % of records (at most) 6.00%",
		"MISSED day: samples per record (at most) 4.00",
		"MISSED day: VictoriaMetrics data, % of gzip (at most) 30.00%",
		"MISSED day: VictoriaMetrics data, % of gzip (moonshot) 30.00%",
		"MISSED day: VictoriaMetrics RSS after (MB, under) 800.00MB",
	})
	// The moonshot met.
	f(vmCost{series: 1, samples: 1, dataBytes: 12e6, gzipBytes: 120e6, rss: 1}, 4_000_000, []string{
		"MET day: series, % of records (at most) 2.5e-05%",
		"MET day: samples per record (at most) 2.5e-07",
		"MET day: VictoriaMetrics data, % of gzip (at most) 10.00%",
		"MET day: VictoriaMetrics data, % of gzip (moonshot) 10.00%",
		"MET day: VictoriaMetrics RSS after (MB, under) 1e-06MB",
	})
}

func TestCount(t *testing.T) {
	f := func(n int, want string) {
		t.Helper()
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
	f(4_000_000, "4M")
	f(2_500_000, "2.5M")
	f(1_234_567, "1234567")
	f(400_000, "400k")
	f(50_000, "50k")
	f(1_500, "1.5k")
	f(999, "999")
}

func TestReadBenchOptions(t *testing.T) {
	f := func(env map[string]string, want benchOptions, wantErr string) {
		t.Helper()
		got, err := readBenchOptions(func(name string) string { return env[name] })
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%v: error %v, want one with %q", env, err, wantErr)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("%v: got %+v, %v; want %+v", env, got, err, want)
		}
	}
	f(nil, benchOptions{records: 2_000_000, dayRecords: 4_000_000, rounds: 7}, "")
	f(map[string]string{"VPCFLOW_BENCH_SHORT": "1"}, benchOptions{records: 200_000, dayRecords: 400_000, rounds: 3}, "")
	f(map[string]string{"VPCFLOW_BENCH_SHORT": "0"}, benchOptions{records: 2_000_000, dayRecords: 4_000_000, rounds: 7}, "")
	f(map[string]string{"VPCFLOW_BENCH_SHORT": "1", "VPCFLOW_BENCH_DAY_RECORDS": "1000000", "VPCFLOW_BENCH_ONLY": "families"},
		benchOptions{records: 200_000, dayRecords: 1_000_000, rounds: 3, only: "families"}, "")
	f(map[string]string{"VPCFLOW_BENCH_RECORDS": "50000", "VPCFLOW_BENCH_ONLY": "e2e"},
		benchOptions{records: 50_000, dayRecords: 4_000_000, rounds: 7, only: "e2e"}, "")
	f(map[string]string{"VPCFLOW_BENCH_ONLY": "scaleout"}, benchOptions{records: 2_000_000, dayRecords: 4_000_000, rounds: 7, only: "scaleout"}, "")
	f(map[string]string{"VPCFLOW_BENCH_SHORT": "yes"}, benchOptions{}, "VPCFLOW_BENCH_SHORT")
	f(map[string]string{"VPCFLOW_BENCH_DAY_RECORDS": "4M"}, benchOptions{}, "VPCFLOW_BENCH_DAY_RECORDS")
	f(map[string]string{"VPCFLOW_BENCH_RECORDS": "0"}, benchOptions{}, "VPCFLOW_BENCH_RECORDS")
	f(map[string]string{"VPCFLOW_BENCH_ONLY": "day"}, benchOptions{}, "VPCFLOW_BENCH_ONLY")
}

func TestGenSpec(t *testing.T) {
	f := func(g genSpec, wantArgs string, wantDays ...string) {
		t.Helper()
		if got := strings.Join(g.args("v5"), " "); got != wantArgs {
			t.Errorf("args %q, want %q", got, wantArgs)
		}
		if got := g.days(); !slices.Equal(got, wantDays) {
			t.Errorf("days %q, want %q", got, wantDays)
		}
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f(genSpec{4_000_000, 7, day, 24 * time.Hour},
		"--records 4000000 --seed 7 --format v5 --start 2026-11-01T00:00:00Z --duration 24h0m0s --enis 2000 --vpcs 10",
		"2026-11-01", "2026-11-02")
	f(quietFleet(2_000_000),
		"--records 2000000 --seed 1 --format v5 --start 2026-01-01T00:00:00Z --duration 6h0m0s --enis 2000 --vpcs 10", "2026-01-01")
	f(genSpec{1, 2, day.Add(23*time.Hour + 30*time.Minute), 20 * time.Minute},
		"--records 1 --seed 2 --format v5 --start 2026-11-01T23:30:00Z --duration 20m0s --enis 2000 --vpcs 10", "2026-11-01")
	f(genSpec{1, 2, day.Add(23*time.Hour + 45*time.Minute), 20 * time.Minute},
		"--records 1 --seed 2 --format v5 --start 2026-11-01T23:45:00Z --duration 20m0s --enis 2000 --vpcs 10", "2026-11-01", "2026-11-02")
}

// TestGenerated: a data set is generated once and reused while the
// generator's digest, the arguments and its files stay the same.
func TestGenerated(t *testing.T) {
	tmp := t.TempDir()
	runs := filepath.Join(tmp, "runs")
	// A stand-in for `vpcflow-collector generate --out DIR ARGS...`: it
	// writes ARGS into DIR/a/obj.log and counts its runs.
	bin := filepath.Join(tmp, "gen")
	script := "#!/bin/sh\necho run >> " + runs + "\ndir=$3; shift 3\nmkdir -p $dir/a && echo \"$@\" > $dir/a/obj.log\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "set")
	ctx := context.Background()
	f := func(args []string, digest string, wantRuns int) {
		t.Helper()
		files, err := generated(ctx, bin, dir, args, digest)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{filepath.Join(dir, "a", "obj.log")}; !slices.Equal(files, want) {
			t.Errorf("files %q, want %q", files, want)
		}
		if data, err := os.ReadFile(files[0]); err != nil || string(data) != strings.Join(args, " ")+"\n" {
			t.Errorf("the set holds %q (%v), not the data of %q", data, err, args)
		}
		data, _ := os.ReadFile(runs)
		if got := strings.Count(string(data), "run"); got != wantRuns {
			t.Errorf("generated %d times, want %d", got, wantRuns)
		}
	}
	f([]string{"--records", "10"}, "d1", 1)
	f([]string{"--records", "10"}, "d1", 1) // reused
	f([]string{"--records", "20"}, "d1", 2) // other arguments
	f([]string{"--records", "20"}, "d2", 3) // other generator
	f([]string{"--records", "20"}, "d2", 3) // reused
	if err := os.WriteFile(filepath.Join(dir, "a", "obj.log"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	f([]string{"--records", "20"}, "d2", 4) // a file changed size
	if err := os.WriteFile(filepath.Join(dir, "a", "extra.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f([]string{"--records", "20"}, "d2", 5) // a file too many (and gone after)
	if err := os.Remove(dir + ".stamp"); err != nil {
		t.Fatal(err)
	}
	f([]string{"--records", "20"}, "d2", 6) // no stamp
}

// TestGeneratorDigest: the digest covers the generator's packages and the
// command's file, and follows their contents.
func TestGeneratorDigest(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a.go")
	b := filepath.Join(t.TempDir(), "b.go")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, []byte("package x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d1, err := digestFiles([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("package y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d2, err := digestFiles([]string{a, b}); err != nil || d2 == d1 {
		t.Errorf("digest %s (%v) after a change, before %s", d2, err, d1)
	}
	if _, err := digestFiles([]string{a, a + ".missing"}); err == nil {
		t.Error("no error for a missing file")
	}
	out, err := output(context.Background(), nil, "go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{.ImportPath}}{{end}}`, "github.com/vpcflow/vpcflow/collector/generate")
	if err != nil {
		t.Fatal(err)
	}
	if pkgs := strings.Fields(out); !slices.Contains(pkgs, "github.com/vpcflow/vpcflow/collector/generate") ||
		!slices.Contains(pkgs, "github.com/vpcflow/vpcflow/collector/flowlog") {
		t.Errorf("the generator's packages: %q", pkgs)
	}
	if _, err := generatorDigest(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestParseFreshness reads the figures of BenchmarkNotifyFreshness's
// output, one per max_wait, and the target says MET under 10 s.
func TestParseFreshness(t *testing.T) {
	out := `goos: linux
BenchmarkNotifyFreshness/max_wait=5s-2         	       5	10798561249 ns/op	        12.01 max-s/object	        10.80 s/object
BenchmarkNotifyFreshness/max_wait=2s-2         	       5	6802135796 ns/op	         8.007 max-s/object	         6.802 s/object
PASS`
	got := parseFreshness(out)
	want := []freshness{{"5s", 12.01, 10.80}, {"2s", 8.007, 6.802}}
	if !slices.Equal(got, want) {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	for i, verdict := range []string{"MISSED", "MET"} {
		if s := (target{"notify freshness", -got[i].worst, -10, "s"}).String(); !strings.HasPrefix(s, verdict) {
			t.Errorf("%+v: %q, want %s", got[i], s, verdict)
		}
	}
}
