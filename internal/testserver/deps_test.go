package testserver

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoBuildToolingLinked checks, with `go list -deps -test`, that the
// packages tests use to start servers, and the binary-level tests, do not
// link the build tooling, not even in their tests: not the mage targets
// (internal/devtools), not mage itself, not the dashboards generator. A
// test binary that imports them should get servers, nothing more.
func TestNoBuildToolingLinked(t *testing.T) {
	forbidden := []string{
		"github.com/vpcflow/vpcflow/internal/devtools",
		"github.com/vpcflow/vpcflow/internal/dashboards",
		"github.com/magefile/mage",
	}
	f := func(pkg string) {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps -test %s: %v\n%s", pkg, err, out)
		}
		// Test variants read "path [pkg.test]".
		var deps []string
		for line := range strings.Lines(string(out)) {
			path, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			deps = append(deps, path)
		}
		if !slices.Contains(deps, pkg) {
			t.Fatalf("go list -deps -test %s does not list the package itself:\n%s", pkg, out)
		}
		for _, dep := range deps {
			for _, bad := range forbidden {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
		}
	}
	f("github.com/vpcflow/vpcflow/internal/testserver")
	f("github.com/vpcflow/vpcflow/internal/tools")
	f("github.com/vpcflow/vpcflow/internal/launch")
	f("github.com/vpcflow/vpcflow/internal/reporttest")
	f("github.com/vpcflow/vpcflow/apptest")
}
