package testserver

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoBuildToolingLinked checks, with `go list -deps`, that the packages
// tests use to start servers do not link the build tooling: not the mage
// targets (internal/devtools), not mage itself, not the dashboards
// generator. A test binary that imports them should get servers, nothing
// more.
func TestNoBuildToolingLinked(t *testing.T) {
	forbidden := []string{
		"github.com/vpcflow/vpcflow/internal/devtools",
		"github.com/vpcflow/vpcflow/internal/dashboards",
		"github.com/magefile/mage",
	}
	f := func(pkg string) {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) == 0 || deps[len(deps)-1] != pkg {
			t.Fatalf("go list -deps %s does not end with the package itself:\n%s", pkg, out)
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
}
