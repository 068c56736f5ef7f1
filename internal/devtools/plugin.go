package devtools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/internal/tools"
	"golang.org/x/sync/errgroup"
)

// Frontend requirements: plugin/package.json's engines.node.
const (
	minNodeMajor = 20
	minNodeMinor = 9
)

// lockHashFile, in node_modules, records what `npm ci` installed from.
const lockHashFile = ".vpcflow-lock-hash"

// nodeModulesGoMod makes plugin/node_modules a Go module of its own, which
// keeps the Go files some npm packages ship (flatted has some) out of
// ./... of the vpcflow module: out of go vet, staticcheck and go test.
const nodeModulesGoMod = "// Written by the vpcflow build: keeps npm packages' Go files out of ./... of the vpcflow module.\nmodule vpcflow.invalid/node_modules\n"

// PluginBackend builds the plugin backend with the plugin's own build,
// plugin/Magefile.go (`go tool mage -v backend` in plugin/, the plugin
// module's mage): plugin/dist/gpx_vpcflow_<os>_<arch> for linux/amd64,
// linux/arm64 and darwin/arm64, built by the Grafana plugin SDK's build
// package (statically linked, without debug information, with the SDK's
// build info: plugin id, version from plugin/package.json, build time, and
// the arrow_json_stdlib tag), plus plugin/dist/go_plugin_build_manifest (the
// SHA-256 of each Go file of plugin/, which the plugin validator checks).
func PluginBackend(ctx context.Context) error {
	root, err := tools.RepoRoot(ctx)
	if err != nil {
		return err
	}
	began := time.Now()
	cmd := exec.CommandContext(ctx, "go", "tool", "mage", "-v", "backend")
	cmd.Dir, cmd.Stdout, cmd.Stderr = filepath.Join(root, "plugin"), os.Stdout, os.Stderr
	fmt.Fprintf(os.Stderr, "+ (cd plugin && go tool mage -v backend)\n")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("plugin backend (go tool mage -v backend in plugin/): %w", err)
	}
	fmt.Fprintf(os.Stderr, "  plugin backend: %s\n", time.Since(began).Round(100*time.Millisecond))
	return nil
}

// PluginFrontendDeps installs the frontend's npm packages in
// plugin/node_modules with `npm ci` (exact versions from
// package-lock.json, the download cache in tools.CacheDir("npm")), unless they
// were installed from the same package-lock.json with the same Node.js
// already (a hash in node_modules/.vpcflow-lock-hash says so). It checks
// for Node.js 20.9 or newer first.
func PluginFrontendDeps(ctx context.Context) error {
	node, err := checkNode(ctx)
	if err != nil {
		return err
	}
	root, err := tools.RepoRoot(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "plugin")
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("plugin frontend: %w", err)
	}
	sum := sha256.Sum256(append(lock, node...))
	want := hex.EncodeToString(sum[:])
	modules := filepath.Join(dir, "node_modules")
	stamp := filepath.Join(modules, lockHashFile)
	if got, err := os.ReadFile(stamp); err == nil && strings.TrimSpace(string(got)) == want {
		fmt.Fprintf(os.Stderr, "plugin/node_modules is up to date with package-lock.json\n")
		return os.WriteFile(filepath.Join(modules, "go.mod"), []byte(nodeModulesGoMod), 0o644)
	}
	cache, err := tools.CacheDir("npm")
	if err != nil {
		return err
	}
	if err := npm(ctx, dir, "ci", "--cache", cache, "--no-audit", "--no-fund"); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(modules, "go.mod"), []byte(nodeModulesGoMod), 0o644); err != nil {
		return err
	}
	return os.WriteFile(stamp, []byte(want+"\n"), 0o644)
}

// PluginFrontendBuild installs the frontend's packages (PluginFrontendDeps)
// and builds it into plugin/dist (`npm run build`: module.js, plugin.json,
// img/, README.md; the backend executables there are kept).
func PluginFrontendBuild(ctx context.Context) error {
	if err := PluginFrontendDeps(ctx); err != nil {
		return err
	}
	return pluginNPM(ctx, "run", "build")
}

// PluginFrontend runs the frontend's checks and build, as plugin/README.md
// lists them: install (PluginFrontendDeps), type check, lint (no warnings
// allowed), the jest tests, the production build and the bundle test
// (which loads dist/module.js as Grafana does).
func PluginFrontend(ctx context.Context) error {
	if err := PluginFrontendDeps(ctx); err != nil {
		return err
	}
	for _, script := range [][]string{{"run", "typecheck"}, {"run", "lint"}, {"test"}, {"run", "build"}, {"run", "test:bundle"}} {
		if err := pluginNPM(ctx, script...); err != nil {
			return err
		}
	}
	return nil
}

// Plugin builds the whole plugin into plugin/dist: the frontend's packages
// first (PluginFrontendDeps), then the backend for every target and the
// frontend at once (they write different files of dist/, and the frontend
// build keeps the backend's).
func Plugin(ctx context.Context) error {
	if err := PluginFrontendDeps(ctx); err != nil {
		return err
	}
	var g errgroup.Group
	g.Go(func() error { return PluginBackend(ctx) })
	g.Go(func() error { return pluginNPM(ctx, "run", "build") })
	return g.Wait()
}

// pluginNPM runs npm with args in plugin/.
func pluginNPM(ctx context.Context, args ...string) error {
	root, err := tools.RepoRoot(ctx)
	if err != nil {
		return err
	}
	return npm(ctx, filepath.Join(root, "plugin"), args...)
}

// npm runs npm in dir, its output going to ours, and says how long it
// took.
func npm(ctx context.Context, dir string, args ...string) error {
	began := time.Now()
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stdout, os.Stderr
	fmt.Fprintf(os.Stderr, "+ (cd plugin && npm %s)\n", strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm %s in plugin/: %w", strings.Join(args, " "), err)
	}
	fmt.Fprintf(os.Stderr, "  npm %s: %s\n", strings.Join(args, " "), time.Since(began).Round(100*time.Millisecond))
	return nil
}

// nodeVersion matches `node --version`.
var nodeVersion = regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)`)

// checkNode returns `node --version` when it is 20.9 or newer.
func checkNode(ctx context.Context) (string, error) {
	out, err := output(ctx, nil, "node", "--version")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || strings.Contains(err.Error(), "executable file not found") {
			return "", fmt.Errorf("the plugin frontend needs Node.js %d.%d or newer and npm: install them (Debian: apt-get install nodejs npm)", minNodeMajor, minNodeMinor)
		}
		return "", err
	}
	v := strings.TrimSpace(out)
	m := nodeVersion.FindStringSubmatch(v)
	if m == nil {
		return "", fmt.Errorf("node --version says %q: want vMAJOR.MINOR.PATCH", v)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major < minNodeMajor || major == minNodeMajor && minor < minNodeMinor {
		return "", fmt.Errorf("the plugin frontend needs Node.js %d.%d or newer; this is %s", minNodeMajor, minNodeMinor, v)
	}
	return v, nil
}
