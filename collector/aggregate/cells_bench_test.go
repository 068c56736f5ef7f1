package aggregate_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// BenchmarkCells reports the cells (Aggregate.Cells) of the objects under
// $VPCFLOW_CELLS_DIR, each aggregated on its own, and of batches of
// $VPCFLOW_CELLS_BATCH of them (default 16) merged in key order: the
// figures behind the memory bounds' defaults (docs/pipeline.md, Why these
// defaults). Skipped without the folder, e.g.
//
//	vpcflow-collector generate --out DAY --records 4000000 --seed 7 --format v5 \
//	  --start 2026-11-01T00:00:00Z --duration 24h --enis 2000 --vpcs 10
//	VPCFLOW_CELLS_DIR=DAY go test ./collector/aggregate -run '^$' -bench Cells -benchtime 1x
func BenchmarkCells(b *testing.B) {
	dir := os.Getenv("VPCFLOW_CELLS_DIR")
	if dir == "" {
		b.Skip("VPCFLOW_CELLS_DIR not set")
	}
	per := 16
	if v := os.Getenv("VPCFLOW_CELLS_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("VPCFLOW_CELLS_BATCH=%q: want a count", v)
		}
		per = n
	}
	var keys []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			keys = append(keys, p)
		}
		return err
	})
	if err != nil || len(keys) == 0 {
		b.Fatalf("%d objects under %s: %v", len(keys), dir, err)
	}
	slices.Sort(keys)
	var objects, batches []int
	for b.Loop() {
		objects, batches = objects[:0], batches[:0]
		batch := aggregate.New()
		for i, k := range keys {
			f, err := os.Open(k)
			if err != nil {
				b.Fatal(err)
			}
			a := aggregate.New()
			_, err = decode.Stream(k, f, decode.Options{}, func(r *flowlog.Record) error {
				a.Add(r, &aggregate.Context{})
				return nil
			})
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			objects = append(objects, a.Cells())
			batch.Merge(a)
			if (i+1)%per == 0 || i == len(keys)-1 {
				batches = append(batches, batch.Cells())
				batch = aggregate.New()
			}
		}
	}
	slices.Sort(objects)
	slices.Sort(batches)
	b.ReportMetric(float64(objects[len(objects)-1]), "max-object-cells")
	b.ReportMetric(float64(objects[len(objects)/2]), "median-object-cells")
	b.ReportMetric(float64(objects[len(objects)*99/100]), "p99-object-cells")
	b.ReportMetric(float64(batches[len(batches)-1]), "max-batch-cells")
	b.ReportMetric(float64(batches[len(batches)/2]), "median-batch-cells")
}
