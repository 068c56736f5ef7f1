// Package devtools implements the project's mage targets: tests and lint,
// builds, the demo, benchmarks and fuzzing. The servers the targets start
// are pinned and cached outside the clone by package internal/tools.
package devtools

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// runV runs a command with its output going to ours.
func runV(ctx context.Context, env []string, name string, args ...string) error {
	return runVIn(ctx, "", env, name, args...)
}

// runVIn runs a command in dir (the working folder when empty) with its
// output going to ours.
func runVIn(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	in := ""
	if dir != "" && dir != "." {
		in = " (in " + dir + "/)"
	}
	fmt.Fprintf(os.Stderr, "+ %s %s%s\n", name, strings.Join(shorten(args), " "), in)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s%s: %w", name, firstArg(args), in, err)
	}
	return nil
}

// goModules are the folders of the repository's Go modules: the root, and
// the Grafana plugin's own (plugin/go.mod, which reaches the root module's
// packages through a replace directive).
var goModules = []string{".", "plugin"}

// output runs a command and returns its standard output.
func output(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, firstArg(args), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// shorten keeps long argument lists readable in the echo of a command.
func shorten(args []string) []string {
	if len(args) <= 12 {
		return args
	}
	out := append([]string{}, args[:10]...)
	return append(out, fmt.Sprintf("… (%d more)", len(args)-10))
}
