package devtools

import (
	"context"
	"path/filepath"
)

// BuildCollector builds the vpcflow-collector binary into dir and returns its
// path.
func BuildCollector(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "vpcflow-collector")
	if err := runV(ctx, nil, "go", "build", "-o", bin, "./collector/cmd/vpcflow-collector"); err != nil {
		return "", err
	}
	return filepath.Abs(bin)
}
