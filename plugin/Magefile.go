//go:build mage

// The plugin's build, with the Grafana plugin SDK's build package as in every
// grafana-plugin-examples plugin: `go tool mage -v` (or `mage -v`) from this folder builds
// the backend for the platforms below into dist/, with dist/go_plugin_build_manifest;
// `go tool mage -l` lists the SDK's other targets (build:linux, build:darwinARM64, …).
// The repository's own Magefile runs this one for `go tool mage build`.
package main

import (
	"fmt"

	//mage:import
	"github.com/grafana/grafana-plugin-sdk-go/build"
)

// Platforms the backend is built for by default: Grafana's Linux servers and images
// (amd64, arm64) and Apple silicon for a local Grafana.
var platforms = []struct{ os, arch string }{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "arm64"}}

// Backend builds dist/gpx_vpcflow_<os>_<arch> for linux/amd64, linux/arm64 and darwin/arm64
// (statically linked, without debug information, with the SDK's build info) and
// dist/go_plugin_build_manifest.
func Backend() error {
	for _, p := range platforms {
		fmt.Printf("+ build plugin backend %s/%s\n", p.os, p.arch)
		if err := (build.Build{}).Custom(p.os, p.arch); err != nil {
			return fmt.Errorf("build plugin backend for %s/%s: %w", p.os, p.arch, err)
		}
	}
	return nil
}

// Default builds the backend (Backend).
var Default = Backend
