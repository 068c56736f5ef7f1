// Package tools knows the programs the tests, the demo and the benchmarks
// run besides vpcflow's own: the pinned servers (VictoriaMetrics,
// versitygw, the VictoriaMetrics cluster), where they are installed in the
// cache folder (CacheDir, $VPCFLOW_CACHE), how to install them, and a free
// loopback port to run them on. It depends on the standard library only,
// so that test servers (internal/testserver) and build tooling
// (internal/devtools, the mage targets) can both use it without linking
// each other.
package tools

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// CacheDir returns the folder where built binaries, installed tools and
// generated data live: $VPCFLOW_CACHE, or vpcflow under the user's cache
// folder (~/.cache/vpcflow). The folder sub... under it is created when
// missing, and returned.
func CacheDir(sub ...string) (string, error) {
	dir := os.Getenv("VPCFLOW_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("find cache folder (set VPCFLOW_CACHE): %w", err)
		}
		dir = filepath.Join(base, "vpcflow")
	}
	dir = filepath.Join(append([]string{dir}, sub...)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cache folder: %w", err)
	}
	return dir, nil
}

// RepoRoot returns the folder holding the vpcflow module's go.mod, as
// `go env GOMOD` gives it from the working folder.
func RepoRoot(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOMOD")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go env GOMOD: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	mod := strings.TrimSpace(stdout.String())
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the vpcflow module")
	}
	return filepath.Dir(mod), nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tool is one pinned program the tests start: a main package installed with
// `go install module@version`.
type tool struct {
	name    string // binary name, also the cache folder's prefix
	pkg     string // main package path
	version string
}

// pinnedTools lists the servers the tests use, at the versions the project
// is tested with. Bump a version here and the next EnsureTools installs it
// beside the old one.
var pinnedTools = []tool{
	{"victoria-metrics", "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics", "v1.151.0"},
	{"versitygw", "github.com/versity/versitygw/cmd/versitygw", "v1.8.0"},
}

// ToolNames returns the names of every pinned tool, in table order.
func ToolNames() []string {
	names := make([]string, len(pinnedTools))
	for i, t := range pinnedTools {
		names[i] = t.name
	}
	return names
}

func lookupTool(name string) (tool, error) {
	for _, t := range pinnedTools {
		if t.name == name {
			return t, nil
		}
	}
	return tool{}, fmt.Errorf("unknown tool %q (known: %s)", name, strings.Join(ToolNames(), ", "))
}

// ToolPath returns where the pinned tool's binary lives in the cache:
// CacheDir("tools", name@version)/name. The binary may not exist yet; see
// EnsureTools.
func ToolPath(name string) (string, error) {
	t, err := lookupTool(name)
	if err != nil {
		return "", err
	}
	dir, err := CacheDir("tools", t.name+"@"+t.version)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, t.name), nil
}

// EnsureTools installs each named tool that is missing from the cache with
// `go install`, outside the vpcflow module so that its go.mod does not
// interfere. A tool whose binary exists is left alone. The binary is built
// into a temporary folder and renamed into place, so an interrupted install
// never leaves a partial binary behind.
func EnsureTools(ctx context.Context, names ...string) error {
	for _, name := range names {
		t, err := lookupTool(name)
		if err != nil {
			return err
		}
		bin, err := ToolPath(name)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
			continue
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", bin, err)
		}
		if err := installTool(ctx, t, bin); err != nil {
			return err
		}
	}
	return nil
}

// installTool runs `go install pkg@version` into a temporary folder beside
// bin's and renames the result to bin.
func installTool(ctx context.Context, t tool, bin string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Dir(bin)), ".install-"+t.name+"-")
	if err != nil {
		return fmt.Errorf("install %s: %w", t.name, err)
	}
	defer os.RemoveAll(tmp)
	ref := t.pkg + "@" + t.version
	fmt.Fprintf(os.Stderr, "Installing %s %s into %s (a few minutes on a cold module cache) …\n", t.name, t.version, filepath.Dir(bin))
	// GOFLAGS and GOWORK are cleared: the user's -mod=vendor or a go.work
	// would break `go install pkg@version`.
	env := []string{"GOBIN=" + tmp, "GOFLAGS=", "GOWORK=off"}
	if err := runIn(ctx, os.TempDir(), env, "go", "install", ref); err != nil {
		return fmt.Errorf("install %s: %w", ref, err)
	}
	built := filepath.Join(tmp, path.Base(t.pkg))
	if err := os.Rename(built, bin); err != nil {
		return fmt.Errorf("install %s: %w", ref, err)
	}
	fmt.Fprintf(os.Stderr, "Installed %s\n", bin)
	return nil
}

// runIn runs a command in a working folder with env added to ours, its
// output going to ours, and echoes it first.
func runIn(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	fmt.Fprintf(os.Stderr, "+ (cd %s && %s %s %s)\n", dir, strings.Join(env, " "), name, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, args[0], err)
	}
	return nil
}
