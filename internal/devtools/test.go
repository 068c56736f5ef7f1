package devtools

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/internal/tools"
)

// Lint fails when gofmt would change a file, or go mod tidy, go vet or
// staticcheck would change or report anything in one of the Go modules
// (goModules).
func Lint(ctx context.Context) error {
	out, err := output(ctx, nil, "gofmt", "-l", ".")
	if err != nil {
		return err
	}
	if files := strings.TrimSpace(out); files != "" {
		return fmt.Errorf("gofmt would change these files (run gofmt -w):\n%s", files)
	}
	for _, dir := range goModules {
		// go.mod and go.sum say exactly what the code needs (the plugin's
		// go.sum follows the root module's requirements through its
		// replace).
		if err := runVIn(ctx, dir, nil, "go", "mod", "tidy", "-diff"); err != nil {
			return fmt.Errorf("%w: run go mod tidy in %s", err, dir)
		}
		if err := runVIn(ctx, dir, nil, "go", "vet", "./..."); err != nil {
			return err
		}
		if err := runVIn(ctx, dir, nil, "go", "tool", "staticcheck", "./..."); err != nil {
			return err
		}
	}
	return nil
}

// Test runs Lint, installs the servers the tests start (see EnsureTools),
// then runs every Go test of each Go module (goModules): once as it is (allocation counts are only stable
// without the race detector) and once with the race detector. The tests run
// with VPCFLOW_REQUIRE_SERVERS=1, so a missing server fails them instead of
// skipping them. A package's tests may take up to testTimeout (go test's
// default, 10m, is too short for apptest's binary-level tests under the
// race detector on a busy two-core machine).
func Test(ctx context.Context) error {
	if err := Lint(ctx); err != nil {
		return err
	}
	if err := tools.EnsureTools(ctx, tools.ToolNames()...); err != nil {
		return err
	}
	env := []string{"VPCFLOW_REQUIRE_SERVERS=1"}
	for _, race := range []bool{false, true} {
		for _, dir := range goModules {
			args := []string{"test", "-timeout", testTimeout, "./..."}
			if race {
				args = append(args[:1], append([]string{"-race"}, args[1:]...)...)
			}
			if err := runVIn(ctx, dir, env, "go", args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// testTimeout bounds the tests of one package.
const testTimeout = "30m"

// Fuzz runs every fuzz target of the module (every `func FuzzXxx(*testing.F)`
// in its test files) for $VPCFLOW_FUZZTIME each (default 30s), and prints
// for each the executions per second, from go test's progress lines. New
// inputs that widen coverage are minimized for at most
// $VPCFLOW_FUZZMINIMIZETIME (default 1000x: a thousand runs); go test's own
// default, 60s, would spend a short fuzzing run minimizing its first finds.
// A target that fails does not stop the others; Fuzz fails at the end.
func Fuzz(ctx context.Context) error {
	fuzztime := envOr("VPCFLOW_FUZZTIME", "30s")
	if _, err := time.ParseDuration(fuzztime); err != nil {
		return fmt.Errorf("VPCFLOW_FUZZTIME: %w", err)
	}
	minimize := envOr("VPCFLOW_FUZZMINIMIZETIME", "1000x")
	if err := checkFuzzTime(minimize); err != nil {
		return fmt.Errorf("VPCFLOW_FUZZMINIMIZETIME: %w", err)
	}
	targets, err := fuzzTargets(ctx)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return fmt.Errorf("no fuzz target found")
	}
	var results []fuzzResult
	var failed []string
	for _, tg := range targets {
		res := fuzzResult{target: tg}
		progress := &fuzzProgress{out: os.Stdout, res: &res}
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-fuzz", "^"+tg.name+"$",
			"-fuzztime", fuzztime, "-fuzzminimizetime", minimize, tg.pkg)
		cmd.Stdout, cmd.Stderr = progress, os.Stderr
		fmt.Fprintf(os.Stderr, "+ %s\n", strings.Join(cmd.Args, " "))
		res.err = cmd.Run()
		progress.flush()
		if res.err != nil {
			failed = append(failed, tg.name)
		}
		fmt.Fprintf(os.Stdout, "%s\n", res)
		results = append(results, res)
	}
	fmt.Fprintf(os.Stdout, "\nFuzzing, %s a target:\n", fuzztime)
	for _, res := range results {
		fmt.Fprintf(os.Stdout, "  %s\n", res)
	}
	if len(failed) > 0 {
		return fmt.Errorf("fuzzing failed: %s (the failing inputs are under testdata/fuzz)", strings.Join(failed, ", "))
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// checkFuzzTime checks a -fuzztime style value: a duration or a count ("100x").
func checkFuzzTime(s string) error {
	if n, ok := strings.CutSuffix(s, "x"); ok {
		if _, err := strconv.ParseUint(n, 10, 63); err != nil {
			return fmt.Errorf("%q is not a count of runs", s)
		}
		return nil
	}
	_, err := time.ParseDuration(s)
	return err
}

// fuzzTarget is one fuzz test of the module.
type fuzzTarget struct {
	pkg  string // import path
	name string // FuzzXxx
}

var fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz\w*)\(\w+ \*testing\.F\)`)

// fuzzTargets lists the module's fuzz tests, from its packages' test files
// (no test binary is built for that).
func fuzzTargets(ctx context.Context) ([]fuzzTarget, error) {
	mod, err := output(ctx, nil, "go", "list", "-m")
	if err != nil {
		return nil, err
	}
	out, err := output(ctx, nil, "go", "list", "-f",
		`{{.ImportPath}}{{"\t"}}{{.Dir}}{{range .TestGoFiles}}{{"\t"}}{{.}}{{end}}{{range .XTestGoFiles}}{{"\t"}}{{.}}{{end}}`,
		strings.TrimSpace(mod)+"/...")
	if err != nil {
		return nil, err
	}
	var targets []fuzzTarget
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			continue
		}
		for _, file := range f[2:] {
			src, err := os.ReadFile(filepath.Join(f[1], file))
			if err != nil {
				return nil, fmt.Errorf("find fuzz targets: %w", err)
			}
			for _, m := range fuzzFunc.FindAllSubmatch(src, -1) {
				targets = append(targets, fuzzTarget{pkg: f[0], name: string(m[1])})
			}
		}
	}
	return targets, nil
}

// fuzzResult is what one fuzz run did, from go test's progress lines.
type fuzzResult struct {
	target      fuzzTarget
	elapsed     time.Duration
	execs       int64
	interesting int64
	err         error
}

// String gives the executions per second of the run.
func (r fuzzResult) String() string {
	rate := "no executions counted"
	if r.elapsed > 0 && r.execs > 0 {
		rate = fmt.Sprintf("%.0f execs/s (%d execs in %s)", float64(r.execs)/r.elapsed.Seconds(), r.execs, r.elapsed)
	}
	s := fmt.Sprintf("%s %s: %s, %d new interesting", r.target.pkg, r.target.name, rate, r.interesting)
	if r.err != nil {
		s += ", FAILED: " + r.err.Error()
	}
	return s
}

// fuzzLine matches go test's progress lines:
// "fuzz: elapsed: 3s, execs: 20086 (6694/sec), new interesting: 18 (total: 20)".
var fuzzLine = regexp.MustCompile(`^fuzz: elapsed: (\S+), execs: (\d+) \(\d+/sec\)(?:, new interesting: (\d+))?`)

// parseFuzzLine reads one progress line into r; it reports whether the line
// was one.
func parseFuzzLine(line string, r *fuzzResult) bool {
	m := fuzzLine.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		return false
	}
	n, _ := strconv.ParseInt(m[2], 10, 64)
	r.elapsed, r.execs = d, n
	if m[3] != "" {
		r.interesting, _ = strconv.ParseInt(m[3], 10, 64)
	}
	return true
}

// fuzzProgress passes go test's output through and reads its progress lines.
type fuzzProgress struct {
	out     io.Writer
	res     *fuzzResult
	partial []byte
}

func (p *fuzzProgress) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		parseFuzzLine(string(p.partial[:i]), p.res)
		p.partial = p.partial[i+1:]
	}
	return p.out.Write(b)
}

func (p *fuzzProgress) flush() {
	if len(p.partial) > 0 {
		parseFuzzLine(string(p.partial), p.res)
		p.partial = nil
	}
}
