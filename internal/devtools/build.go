package devtools

import (
	"context"
	"path/filepath"

	"github.com/vpcflow/vpcflow/internal/tools"
)

// BuildCollector builds the vpcflow-collector binary into dir and returns its
// path.
func BuildCollector(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "vpcflow-collector")
	if err := runV(ctx, nil, "go", "build", "-o", bin, "github.com/vpcflow/vpcflow/collector/cmd/vpcflow-collector"); err != nil {
		return "", err
	}
	return filepath.Abs(bin)
}

// cachedCollector builds vpcflow-collector into the cache's bin folder.
func cachedCollector(ctx context.Context) (string, error) {
	dir, err := tools.CacheDir("bin")
	if err != nil {
		return "", err
	}
	return BuildCollector(ctx, dir)
}
