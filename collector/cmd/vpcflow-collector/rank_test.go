package main

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/apptest"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
)

// TestRunOnceRanks runs `run --once` over half an hour of flow logs: before
// it exits, the rank index holds, per view, VPC and action, the top_k
// largest label sets of the hour with their sums; with rank.top_k 0 there
// is no index.
func TestRunOnceRanks(t *testing.T) {
	f, _ := flowlog.ParseFormat("v5")
	hour := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	gen := generate.Config{Records: 4000, Seed: 21, Format: f, Start: hour, Duration: 30 * time.Minute, ENIs: 12, VPCs: 2}
	for _, tt := range []struct {
		section string
		k       int
	}{{"rank:\n  top_k: 2\n", 2}, {"rank:\n  top_k: 0\n", 0}} {
		t.Run(strings.TrimSpace(strings.ReplaceAll(tt.section, "\n", " ")), func(t *testing.T) {
			logs := t.TempDir()
			if _, err := generate.Generate(gen, generate.Dir(logs)); err != nil {
				t.Fatal(err)
			}
			vm := testserver.VictoriaMetrics(t)
			config := apptest.WriteConfig(t, vm.URL, logs, t.TempDir(), tt.section)
			if _, stderr, code := runCLI(t, "run", "--config", config, "--once", "--log-level", "warn"); code != 0 {
				t.Fatalf("run --once: exit %d\n%s", code, stderr)
			}
			vm.Flush()
			index := vm.Export(t, `{__name__=~"vpcflow_rank_.*"}`)
			if tt.k == 0 {
				if len(index) != 0 {
					t.Fatalf("%d index series with rank.top_k 0", len(index))
				}
				return
			}
			fams := schema.Families()
			for _, v := range schema.RankViews() {
				// All the data is in the 10:00 hour: the family's totals
				// are the hour's sums.
				sums := vm.Totals(t, fams[v.Family].Name+"_bytes", v.Labels...)
				perGroup := map[string][]float64{}
				for key, value := range sums {
					if value > 0 {
						g := strings.Join(strings.Split(key, "|")[:len(v.Group)], "|") // the group labels come first
						perGroup[g] = append(perGroup[g], value)
					}
				}
				got := map[string][]float64{}
				for _, s := range index {
					if s.Metric["__name__"] != "vpcflow_rank_bytes" || s.Metric["view"] != v.ID {
						continue
					}
					if len(s.Timestamps) != 1 || s.Timestamps[0] != hour.UnixMilli() {
						t.Errorf("%v: samples at %v, want one at 10:00", s.Metric, s.Timestamps)
						continue
					}
					key := make([]string, len(v.Labels))
					for i, l := range v.Labels {
						key[i] = s.Metric[l]
					}
					if want := sums[strings.Join(key, "|")]; s.Values[0] != want {
						t.Errorf("%v = %v, want the hour's sum %v", s.Metric, s.Values[0], want)
					}
					g := strings.Join(key[:len(v.Group)], "|")
					got[g] = append(got[g], s.Values[0])
				}
				if len(got) != len(perGroup) || len(got) == 0 {
					t.Errorf("view %s: %d groups, want %d", v.ID, len(got), len(perGroup))
				}
				desc := func(a, b float64) int { return cmp.Compare(b, a) }
				for g, values := range perGroup {
					slices.SortFunc(values, desc)
					slices.SortFunc(got[g], desc)
					if want := values[:min(tt.k, len(values))]; !slices.Equal(got[g], want) {
						t.Errorf("view %s, group %s: %v, want the largest %v", v.ID, g, got[g], want)
					}
				}
			}
		})
	}
}
