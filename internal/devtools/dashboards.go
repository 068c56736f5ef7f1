package devtools

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/vpcflow/vpcflow/internal/dashboards"
	"github.com/vpcflow/vpcflow/internal/tools"
)

// Dashboards regenerates dashboards/*.json from the report registry (see
// package internal/dashboards) and names the files it wrote. Commit them:
// a test fails when they differ from the generator's output.
func Dashboards(ctx context.Context, w io.Writer) error {
	root, err := tools.RepoRoot(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, "dashboards")
	names, err := dashboards.Write(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintf(w, "wrote %s\n", filepath.Join("dashboards", n))
	}
	return nil
}
