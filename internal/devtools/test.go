package devtools

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// Lint fails when gofmt would change a file, or go vet or staticcheck
// report anything.
func Lint(ctx context.Context) error {
	out, err := output(ctx, nil, "gofmt", "-l", ".")
	if err != nil {
		return err
	}
	if files := strings.TrimSpace(out); files != "" {
		return fmt.Errorf("gofmt would change these files (run gofmt -w):\n%s", files)
	}
	if err := runV(ctx, nil, "go", "vet", "./..."); err != nil {
		return err
	}
	return runV(ctx, nil, "go", "tool", "staticcheck", "./...")
}

// Test runs Lint, installs the servers the tests start (see EnsureTools),
// then runs every Go test: once as it is (allocation counts are only stable
// without the race detector) and once with the race detector. The tests run
// with VPCFLOW_REQUIRE_SERVERS=1, so a missing server fails them instead of
// skipping them.
func Test(ctx context.Context) error {
	if err := Lint(ctx); err != nil {
		return err
	}
	if err := EnsureTools(ctx, ToolNames()...); err != nil {
		return err
	}
	env := []string{"VPCFLOW_REQUIRE_SERVERS=1"}
	if err := runV(ctx, env, "go", "test", "./..."); err != nil {
		return err
	}
	return runV(ctx, env, "go", "test", "-race", "./...")
}

// Fuzz runs each fuzz target of the module for $VPCFLOW_FUZZTIME (default
// 30s).
func Fuzz(ctx context.Context) error {
	fuzztime := os.Getenv("VPCFLOW_FUZZTIME")
	if fuzztime == "" {
		fuzztime = "30s"
	}
	if _, err := time.ParseDuration(fuzztime); err != nil {
		return fmt.Errorf("VPCFLOW_FUZZTIME: %w", err)
	}
	out, err := output(ctx, nil, "go", "list", "-f", "{{.ImportPath}}", "./...")
	if err != nil {
		return err
	}
	for _, pkg := range strings.Fields(out) {
		list, err := output(ctx, nil, "go", "test", "-list", "^Fuzz", pkg)
		if err != nil {
			return err
		}
		for _, name := range strings.Fields(list) {
			if !strings.HasPrefix(name, "Fuzz") {
				continue
			}
			if err := runV(ctx, nil, "go", "test", "-run", "^$", "-fuzz", "^"+name+"$", "-fuzztime", fuzztime, pkg); err != nil {
				return err
			}
		}
	}
	return nil
}
