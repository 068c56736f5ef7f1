package devtools

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFuzzLine(t *testing.T) {
	f := func(line string, ok bool, elapsed time.Duration, execs, interesting int64) {
		t.Helper()
		var r fuzzResult
		if got := parseFuzzLine(line, &r); got != ok || r.elapsed != elapsed || r.execs != execs || r.interesting != interesting {
			t.Errorf("parseFuzzLine(%q) = %v %+v, want %v %v %d %d", line, got, r, ok, elapsed, execs, interesting)
		}
	}
	f("fuzz: elapsed: 3s, execs: 20086 (6694/sec), new interesting: 18 (total: 20)", true, 3*time.Second, 20086, 18)
	f("fuzz: elapsed: 1m0s, execs: 4 (0/sec), new interesting: 0 (total: 2)", true, time.Minute, 4, 0)
	f("fuzz: elapsed: 20s, execs: 243339 (7427/sec)", true, 20*time.Second, 243339, 0)
	f("fuzz: elapsed: 0s, gathering baseline coverage: 0/21 completed", false, 0, 0, 0)
	f("PASS", false, 0, 0, 0)
	f("ok  	github.com/vpcflow/vpcflow/collector/decode	20.1s", false, 0, 0, 0)
}

// TestFuzzProgress checks that progress lines cut anywhere are read, the
// last one wins, and the output passes through unchanged.
func TestFuzzProgress(t *testing.T) {
	out := "fuzz: elapsed: 0s, gathering baseline coverage: 0/2 completed\n" +
		"fuzz: elapsed: 3s, execs: 100 (33/sec), new interesting: 1 (total: 3)\n" +
		"fuzz: elapsed: 6s, execs: 600 (166/sec), new interesting: 2 (total: 4)\n" +
		"PASS\n"
	for cut := 1; cut < len(out); cut += 7 {
		var pass bytes.Buffer
		var r fuzzResult
		p := &fuzzProgress{out: &pass, res: &r}
		for s := out; s != ""; {
			n := min(cut, len(s))
			if _, err := p.Write([]byte(s[:n])); err != nil {
				t.Fatal(err)
			}
			s = s[n:]
		}
		p.flush()
		if pass.String() != out || r.execs != 600 || r.elapsed != 6*time.Second || r.interesting != 2 {
			t.Fatalf("cut %d: %+v, output %q", cut, r, pass.String())
		}
		if got := r.String(); !strings.Contains(got, "100 execs/s") {
			t.Errorf("cut %d: %q does not give 600 execs in 6s as 100 execs/s", cut, got)
		}
	}
}

// TestFuzzTargets checks that every fuzz target of the module is found.
func TestFuzzTargets(t *testing.T) {
	targets, err := fuzzTargets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range targets {
		names = append(names, tg.pkg+"."+tg.name)
	}
	for _, want := range []string{"FuzzText", "FuzzParquet", "FuzzSplit", "FuzzDigits"} {
		if !slices.Contains(names, "github.com/vpcflow/vpcflow/collector/decode."+want) {
			t.Errorf("%s not found in %v", want, names)
		}
	}
}

func TestCheckFuzzTime(t *testing.T) {
	for s, ok := range map[string]bool{"1000x": true, "20s": true, "1m": true, "x": false, "-1x": false, "soon": false, "": false} {
		if err := checkFuzzTime(s); (err == nil) != ok {
			t.Errorf("checkFuzzTime(%q) = %v", s, err)
		}
	}
}
