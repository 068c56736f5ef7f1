package reporttest

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// hourMs is an hour in milliseconds.
const hourMs = 3_600_000

// topKFamilies maps the series names of the top-K families
// (schema.Family.TopK, derived ones included) to their family.
func topKFamilies() map[string]schema.Family {
	out := map[string]schema.Family{}
	for _, f := range schema.Families() {
		if f.TopK {
			for _, n := range f.MetricNames() {
				out[n] = f
			}
		}
	}
	return out
}

// labelKeys returns the key of a series' group (the values of f.Group) and
// of its label set (the values of f.Labels).
func labelKeys(f schema.Family, labels []vmclient.Label) (group, set string) {
	byName := make(map[string]string, len(labels))
	for _, l := range labels {
		byName[l.Name] = l.Value
	}
	var g, s strings.Builder
	for _, l := range f.Group {
		g.WriteString(byName[l])
		g.WriteByte(0xff)
	}
	for _, l := range f.Labels {
		s.WriteString(byName[l])
		s.WriteByte(0xff)
	}
	return g.String(), s.String()
}

// hourlySums are the bytes of each label set of the top-K families per
// group and hour (by sample time), summed over batches.
type hourlySums struct {
	families map[string]schema.Family
	// family name → hour → group → label set → bytes
	sums map[string]map[int64]map[string]map[string]float64
}

func newHourlySums() *hourlySums {
	return &hourlySums{families: topKFamilies(), sums: map[string]map[int64]map[string]map[string]float64{}}
}

// add is a sink that sums a batch's unfolded bytes series.
func (h *hourlySums) add(i int, a *aggregate.Aggregate, res *aggregate.Resolution) error {
	a.Emit(res, slot(i), 0, func(labels []vmclient.Label, samples []vmclient.Sample) {
		f, ok := h.families[labels[0].Value]
		if !ok || labels[0].Value != f.Name+schema.SuffixBytes {
			return
		}
		group, set := labelKeys(f, labels)
		byHour := h.sums[f.Name]
		if byHour == nil {
			byHour = map[int64]map[string]map[string]float64{}
			h.sums[f.Name] = byHour
		}
		for _, s := range samples {
			hour := s.Timestamp / hourMs
			groups := byHour[hour]
			if groups == nil {
				groups = map[string]map[string]float64{}
				byHour[hour] = groups
			}
			sets := groups[group]
			if sets == nil {
				sets = map[string]float64{}
				groups[group] = sets
			}
			sets[set] += s.Value
		}
	})
	return nil
}

// keepSets are the label sets kept: family name → hour → label set.
type keepSets map[string]map[int64]map[string]bool

// keep returns, per family, hour and group, the k label sets with the
// most bytes (ties by label values).
func (h *hourlySums) keep(k int) keepSets {
	out := keepSets{}
	for name, byHour := range h.sums {
		out[name] = map[int64]map[string]bool{}
		for hour, groups := range byHour {
			kept := map[string]bool{}
			for _, sets := range groups {
				keys := slices.Collect(maps.Keys(sets))
				slices.SortFunc(keys, func(a, b string) int {
					if c := cmp.Compare(sets[b], sets[a]); c != 0 {
						return c
					}
					return strings.Compare(a, b)
				})
				for _, key := range keys[:min(k, len(keys))] {
					kept[key] = true
				}
			}
			out[name][hour] = kept
		}
	}
	return out
}

// foldingSink writes each batch with the label sets of the top-K families
// that are not kept in their sample's hour folded, as the collector's
// bounded families do: per group and hour a keep set, the others summed
// into the label set whose labels outside the group are schema.Other.
// Totals per group stay exact. (The collector chooses each hour's keep set
// when the hour begins, from the hour before and its first batch, so that
// a replay decides the same; this takes the hour's own largest label sets,
// which keeps as many series for a benchmark's purpose.) Samples are put on
// their family's step (Restep).
func foldingSink(store *vmclient.Client, keep keepSets) sink {
	families := topKFamilies()
	return func(i int, a *aggregate.Aggregate, res *aggregate.Resolution) error {
		b := store.NewBatch()
		add := Restep(b.Add)
		type folded struct {
			labels []vmclient.Label
			values map[int64]float64
		}
		var order []string
		buf := map[string]*folded{}
		a.Emit(res, slot(i), 0, func(labels []vmclient.Label, samples []vmclient.Sample) {
			f, ok := families[labels[0].Value]
			if !ok {
				add(labels, samples)
				return
			}
			_, set := labelKeys(f, labels)
			for _, s := range samples {
				ls := labels
				if !keep[f.Name][s.Timestamp/hourMs][set] {
					ls = slices.Clone(labels)
					for j := range ls[1:] {
						if !slices.Contains(f.Group, ls[j+1].Name) {
							ls[j+1].Value = schema.Other
						}
					}
				}
				var key strings.Builder
				for _, l := range ls {
					key.WriteString(l.Value)
					key.WriteByte(0xff)
				}
				fs := buf[key.String()]
				if fs == nil {
					fs = &folded{labels: slices.Clone(ls), values: map[int64]float64{}}
					buf[key.String()] = fs
					order = append(order, key.String())
				}
				fs.values[s.Timestamp] += s.Value
			}
		})
		for _, k := range order {
			fs := buf[k]
			samples := make([]vmclient.Sample, 0, len(fs.values))
			for _, ts := range slices.Sorted(maps.Keys(fs.values)) {
				samples = append(samples, vmclient.Sample{Timestamp: ts, Value: fs.values[ts]})
			}
			add(fs.labels, samples)
		}
		if err := store.WriteBatch(context.Background(), b); err != nil {
			return fmt.Errorf("write batch %d: %w", i, err)
		}
		return nil
	}
}
