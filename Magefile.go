//go:build mage

// Build, test, benchmark and demo targets for vpcflow. Run them with
// `go tool mage <target>`; `go tool mage -l` lists them.
package main

import (
	"context"
	"os"

	"github.com/vpcflow/vpcflow/internal/devtools"
	"github.com/vpcflow/vpcflow/internal/tools"
)

// Test runs every check: the plugin frontend's (type check, lint, jest,
// build, bundle test), the plugin backend's build and Grafana's plugin
// validator on the built plugin (see Validate), then gofmt, go vet,
// staticcheck, and the Go tests of the root module and the plugin's, plain
// and with the race detector (fuzz targets run their seed corpora).
func Test(ctx context.Context) error {
	if err := devtools.PluginFrontend(ctx); err != nil {
		return err
	}
	if err := devtools.PluginBackend(ctx); err != nil {
		return err
	}
	if err := devtools.CheckPlugin(ctx); err != nil {
		return err
	}
	return devtools.Test(ctx)
}

// Validate builds the plugin and runs Grafana's plugin validator on it
// (../shared/plugin-validator/validate beside the repository when it
// exists, else npx @grafana/plugin-validator): it fails on any error-level
// finding, as the Grafana plugin catalog would reject the plugin.
func Validate(ctx context.Context) error {
	if err := devtools.Plugin(ctx); err != nil {
		return err
	}
	return devtools.ValidatePlugin(ctx)
}

// Tools installs the pinned servers the tests use (VictoriaMetrics,
// versitygw) into the cache folder; already installed ones are kept.
func Tools(ctx context.Context) error {
	return tools.EnsureTools(ctx, tools.ToolNames()...)
}

// Lint runs gofmt, go mod tidy -diff, go vet and staticcheck only (both Go
// modules).
func Lint(ctx context.Context) error {
	return devtools.Lint(ctx)
}

// Build builds bin/vpcflow-collector and the Grafana plugin (see Plugin).
func Build(ctx context.Context) error {
	if _, err := devtools.BuildCollector(ctx, "bin"); err != nil {
		return err
	}
	return devtools.Plugin(ctx)
}

// Plugin builds the Grafana plugin into plugin/dist: the backend
// executables gpx_vpcflow_{linux_amd64,linux_arm64,darwin_arm64} and the
// frontend (npm ci when package-lock.json changed, then webpack).
func Plugin(ctx context.Context) error { return devtools.Plugin(ctx) }

// PluginFrontend runs the plugin frontend's checks and build only.
func PluginFrontend(ctx context.Context) error { return devtools.PluginFrontend(ctx) }

// Dashboards regenerates dashboards/*.json from the report registry.
func Dashboards(ctx context.Context) error { return devtools.Dashboards(ctx, os.Stdout) }

// Demo runs the main job on embedded defaults: local VictoriaMetrics and S3
// servers, a realistic day of flow logs delivered into a bucket, the
// collector, every report printed, then new logs arriving until Ctrl-C. Set
// VPCFLOW_DEMO_RECORDS to change the size (default 1000000) and
// VPCFLOW_DEMO_ONCE=1 to end after the reports.
func Demo(ctx context.Context) error {
	return devtools.Demo(ctx, os.Stdout, devtools.DemoOptions{Once: os.Getenv("VPCFLOW_DEMO_ONCE") == "1"})
}

// DemoOnce is Demo ending after the reports.
func DemoOnce(ctx context.Context) error {
	return devtools.Demo(ctx, os.Stdout, devtools.DemoOptions{Once: true})
}

// Bench measures decoding speed against `gzip -dc` on the same generated
// files, on 1 and 2 cores, and peak memory on a 1 GiB object; then the
// collector end to end and what its output costs VictoriaMetrics (series,
// samples, size on disk, memory), on a realistic day among others. Set
// VPCFLOW_BENCH_RECORDS to change the data sets' size (default 2000000),
// VPCFLOW_BENCH_DAY_RECORDS the realistic day's (default 4000000),
// VPCFLOW_BENCH_ONLY=e2e or families for the end to end part alone (the
// latter without S3), scaleout for one collector against two into a
// VictoriaMetrics cluster alone, VPCFLOW_BENCH_SHORT=1 for a quick run.
func Bench(ctx context.Context) error {
	return devtools.Bench(ctx, os.Stdout)
}

// Fuzz runs every fuzz target of the module for VPCFLOW_FUZZTIME each
// (default 30s) and prints each one's executions per second; new inputs are
// minimized for VPCFLOW_FUZZMINIMIZETIME (default 1000x).
func Fuzz(ctx context.Context) error {
	return devtools.Fuzz(ctx)
}
