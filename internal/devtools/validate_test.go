package devtools

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestValidatorReport reads plugincheck2's -jsonOutput and fails on errors
// only.
func TestValidatorReport(t *testing.T) {
	for _, tc := range []struct {
		name, report string
		errs         int
		bad          bool
	}{
		{name: "clean", report: `{"id":"x","version":"1","plugin-validator":{}}`},
		{name: "warnings only", report: `{"id":"x","plugin-validator":{"manifest":[{"Severity":"warning","Name":"unsigned-plugin","Title":"unsigned plugin","Detail":"d"}]}}`},
		{name: "an error", report: `{"id":"x","plugin-validator":{"license":[{"Severity":"error","Name":"missing","Title":"LICENSE file not found","Detail":"d"}],` +
			`"manifest":[{"Severity":"warning","Name":"unsigned-plugin","Title":"unsigned plugin"}]}}`, errs: 1},
		{name: "not JSON", report: `validator crashed`, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			findings, err := parseValidatorReport([]byte(tc.report))
			if tc.bad {
				if err == nil {
					t.Fatal("a report that is not JSON was read")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = reportFindings(&out, findings)
			if (err != nil) != (tc.errs > 0) {
				t.Fatalf("reportFindings: %v, want an error: %v", err, tc.errs > 0)
			}
			if tc.errs > 0 && !strings.HasPrefix(out.String(), "[error] license/missing: LICENSE file not found") {
				t.Errorf("errors are not printed first:\n%s", out.String())
			}
		})
	}
}

// TestZipPlugin: the archive holds dist's files under the plugin id, with
// the executables' mode.
func TestZipPlugin(t *testing.T) {
	dist := t.TempDir()
	for name, mode := range map[string]os.FileMode{"plugin.json": 0o644, "gpx_vpcflow_linux_amd64": 0o755, "img/logo.svg": 0o644} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dist, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dist, name), []byte(name), mode); err != nil {
			t.Fatal(err)
		}
	}
	archive := filepath.Join(t.TempDir(), "p.zip")
	if err := zipPlugin(dist, archive); err != nil {
		t.Fatal(err)
	}
	z, err := zip.OpenReader(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	var names []string
	for _, f := range z.File {
		names = append(names, f.Name)
		if strings.HasSuffix(f.Name, "amd64") && f.Mode().Perm() != 0o755 {
			t.Errorf("%s has mode %v, want 0755", f.Name, f.Mode())
		}
	}
	slices.Sort(names)
	want := []string{pluginID + "/gpx_vpcflow_linux_amd64", pluginID + "/img/logo.svg", pluginID + "/plugin.json"}
	if !slices.Equal(names, want) {
		t.Errorf("archive holds %q, want %q", names, want)
	}
}

// TestValidatePluginScript: the validator script's exit status decides:
// 0 passes, 1 (error findings) fails, anything else means it could not run.
func TestValidatePluginScript(t *testing.T) {
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "..", "..", "plugin", "dist", "plugin.json")); err != nil {
		t.Skip("plugin/dist is not built (go tool mage plugin)")
	}
	for _, tc := range []struct {
		exit        string
		fail, unrun bool
	}{{exit: "0"}, {exit: "1", fail: true}, {exit: "2", fail: true, unrun: true}} {
		script := filepath.Join(t.TempDir(), "validate")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nexit "+tc.exit+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("VPCFLOW_PLUGIN_VALIDATOR", script)
		err := ValidatePlugin(context.Background())
		if (err != nil) != tc.fail || errors.Is(err, errValidatorUnavailable) != tc.unrun {
			t.Errorf("validator exiting %s: ValidatePlugin says %v", tc.exit, err)
		}
		if err := CheckPlugin(context.Background()); (err != nil) != (tc.fail && !tc.unrun) {
			t.Errorf("validator exiting %s: CheckPlugin says %v", tc.exit, err)
		}
	}
}
