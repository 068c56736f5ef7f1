package reporttest

import (
	"slices"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
)

// TestHourlyFold loads two hours of flow logs with the benchmark's hourly
// folding, top 2: Load checks that every group's totals equal the ground
// truth (and every label set of the other families); here each top-K
// family holds, per group and hour, at most the 2 kept label sets and one
// folded, and folds something.
func TestHourlyFold(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	Load(t, vm, Options{
		Generate:   generate.Config{Records: 6000, Seed: 5, Duration: 2 * time.Hour, ENIs: 12, VPCs: 2},
		HourlyTopK: 2,
	})
	for _, f := range schema.Families() {
		if !f.TopK {
			continue
		}
		sets := map[string]map[string]bool{} // group and hour → label sets
		folded := 0
		for _, s := range vm.Export(t, `{__name__="`+f.Name+`_bytes"}`) {
			var group, set string
			for _, l := range f.Group {
				group += s.Metric[l] + "|"
			}
			other := true
			for _, l := range f.Labels {
				set += s.Metric[l] + "|"
				if !slices.Contains(f.Group, l) && s.Metric[l] != schema.Other {
					other = false
				}
			}
			if other {
				folded++
			}
			for _, ts := range s.Timestamps {
				k := group + time.UnixMilli(ts).UTC().Truncate(time.Hour).Format(time.RFC3339)
				if sets[k] == nil {
					sets[k] = map[string]bool{}
				}
				sets[k][set] = true
			}
		}
		for k, v := range sets {
			if len(v) > 3 {
				t.Errorf("%s: %s has %d label sets, want at most 2 kept and other", f.Name, k, len(v))
			}
		}
		if folded == 0 || len(sets) == 0 {
			t.Errorf("%s: %d folded series in %d group-hours: nothing folded", f.Name, folded, len(sets))
		}
	}
}
