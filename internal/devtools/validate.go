package devtools

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vpcflow/vpcflow/internal/tools"
)

// pluginID is the plugin's id (plugin/src/plugin.json), the top folder of
// its archive.
const pluginID = "vpcflow-flowlogs-datasource"

// validatorNPM is the npm wrapper of Grafana's plugin validator that
// ValidatePlugin runs when no offline build is at hand (it downloads the
// validator's binary, so it needs the internet).
const validatorNPM = "@grafana/plugin-validator@0.31.0"

// errValidatorUnavailable says that no plugin validator could run here.
var errValidatorUnavailable = errors.New("no plugin validator could run")

// ValidatePlugin runs Grafana's plugin validator (the checks the Grafana
// plugin catalog runs on a submitted plugin) on the built plugin,
// plugin/dist, with its source folder plugin/, and fails when it reports an
// error-level finding. It runs $VPCFLOW_PLUGIN_VALIDATOR, else the offline
// build's script ../shared/plugin-validator/validate beside the repository
// where that exists, else `npx -y @grafana/plugin-validator` as Grafana's
// documentation does. When none of them can run it says so plainly and
// returns errValidatorUnavailable.
func ValidatePlugin(ctx context.Context) error {
	root, err := tools.RepoRoot(ctx)
	if err != nil {
		return err
	}
	dist := filepath.Join(root, "plugin", "dist")
	if _, err := os.Stat(filepath.Join(dist, "plugin.json")); err != nil {
		return fmt.Errorf("validate the plugin: build it first (go tool mage plugin): %w", err)
	}
	script := os.Getenv("VPCFLOW_PLUGIN_VALIDATOR")
	if script == "" {
		script = filepath.Join(filepath.Dir(root), "shared", "plugin-validator", "validate")
	}
	if _, err := os.Stat(script); err == nil {
		err := runVIn(ctx, root, nil, script)
		var exit *exec.ExitError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &exit) && exit.ExitCode() == 1:
			return fmt.Errorf("the plugin validator reports errors (above): the Grafana plugin catalog would reject the plugin")
		default:
			return fmt.Errorf("%w: %s: %v", errValidatorUnavailable, script, err)
		}
	}
	fmt.Fprintf(os.Stderr, "no offline plugin validator at %s: trying npx %s\n", script, validatorNPM)
	work, err := os.MkdirTemp("", "vpcflow-validate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	archive := filepath.Join(work, pluginID+".zip")
	if err := zipPlugin(dist, archive); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "npx", "-y", validatorNPM, "-strict", "-jsonOutput",
		"-sourceCodeUri", "file://"+filepath.Join(root, "plugin"), archive)
	cmd.Stderr = os.Stderr
	out, runErr := cmd.Output()
	findings, err := parseValidatorReport(out)
	if err != nil {
		return fmt.Errorf("%w: npx %s: %v (%v)", errValidatorUnavailable, validatorNPM, err, runErr)
	}
	return reportFindings(os.Stdout, findings)
}

// CheckPlugin is ValidatePlugin for the test run: when no validator can run
// here it says so plainly and lets the other tests run.
func CheckPlugin(ctx context.Context) error {
	err := ValidatePlugin(ctx)
	if errors.Is(err, errValidatorUnavailable) {
		fmt.Fprintf(os.Stderr, "\nPLUGIN VALIDATOR NOT RUN: %v\nThe plugin was not checked against the Grafana catalog's rules.\n\n", err)
		return nil
	}
	return err
}

// finding is one of the validator's findings (its -jsonOutput).
type finding struct {
	Analyzer string `json:"-"`
	Severity string
	Name     string
	Title    string
	Detail   string
}

// parseValidatorReport reads plugincheck2's -jsonOutput: findings by
// analyzer under "plugin-validator".
func parseValidatorReport(out []byte) ([]finding, error) {
	var report struct {
		Findings map[string][]finding `json:"plugin-validator"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		return nil, fmt.Errorf("read the validator's report: %w", err)
	}
	var all []finding
	for analyzer, fs := range report.Findings {
		for _, f := range fs {
			f.Analyzer = analyzer
			all = append(all, f)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Severity != all[j].Severity {
			return all[i].Severity == "error"
		}
		return all[i].Analyzer+all[i].Name < all[j].Analyzer+all[j].Name
	})
	return all, nil
}

// reportFindings prints the findings, errors first, and fails when one is
// an error.
func reportFindings(w io.Writer, findings []finding) error {
	errs := 0
	for _, f := range findings {
		fmt.Fprintf(w, "[%s] %s/%s: %s\n", f.Severity, f.Analyzer, f.Name, f.Title)
		if f.Severity == "error" {
			errs++
		}
	}
	fmt.Fprintf(w, "%d finding(s), %d error(s)\n", len(findings), errs)
	if errs > 0 {
		return fmt.Errorf("the plugin validator reports %d error(s): the Grafana plugin catalog would reject the plugin", errs)
	}
	return nil
}

// zipPlugin writes the plugin archive as the catalog receives it: dist's
// files under one top folder named after the plugin id.
func zipPlugin(dist, archive string) error {
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	z := zip.NewWriter(f)
	err = filepath.WalkDir(dist, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dist, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name, h.Method = pluginID+"/"+filepath.ToSlash(rel), zip.Deflate
		w, err := z.CreateHeader(h)
		if err != nil {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if cerr := z.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("zip %s: %w", strings.TrimSuffix(dist, "/"), err)
	}
	return nil
}
