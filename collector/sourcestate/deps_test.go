package sourcestate_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoPipelineLinked checks, with `go list -deps`, that the packages
// which share the sources' state with the pipeline, the downloader role
// (spool), the status server and this package, do not link the pipeline:
// what they need of a source is here.
func TestNoPipelineLinked(t *testing.T) {
	const pipeline = "github.com/vpcflow/vpcflow/collector/pipeline"
	for _, pkg := range []string{
		"github.com/vpcflow/vpcflow/collector/sourcestate",
		"github.com/vpcflow/vpcflow/collector/spool",
		"github.com/vpcflow/vpcflow/collector/status",
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, pkg) {
			t.Fatalf("go list -deps %s does not list the package itself:\n%s", pkg, out)
		}
		for _, dep := range deps {
			if dep == pipeline || strings.HasPrefix(dep, pipeline+"/") {
				t.Errorf("%s links %s", pkg, dep)
			}
		}
	}
}
