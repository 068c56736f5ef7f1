package reporttest

import (
	"cmp"
	"slices"
	"strings"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// Derive returns the series of the derived families (schema.Family.Derived)
// that the collector would write beside the given hand-made series: per
// derived label set and timestamp, the sum of the samples of the series of
// the family it sums, projected onto its labels. Tests that write series
// by hand write these too, so that a report reading totals from a derived
// family sees what it would see of collected data. Series of families that
// no family derives from give nothing; label sets come out in the order
// they first occur, samples in time order.
func Derive(series []vmclient.Series) []vmclient.Series {
	defs := schema.Families()
	type source struct{ derived, suffix string }
	sources := map[string][]source{} // metric name → derived family names and suffix
	for _, d := range defs {
		if !d.Derived {
			continue
		}
		of := defs[d.Of]
		for _, name := range of.MetricNames() {
			sources[name] = append(sources[name], source{d.Name, strings.TrimPrefix(name, of.Name)})
		}
	}
	labelsOf := map[string][]string{}
	for _, d := range defs {
		labelsOf[d.Name] = d.Labels
	}
	var out []vmclient.Series
	index := map[string]int{}             // derived name and label values → out index
	values := map[int]map[int64]float64{} // out index → timestamp → sum
	for _, s := range series {
		var name string
		byName := map[string]string{}
		for _, l := range s.Labels {
			if l.Name == "__name__" {
				name = l.Value
			}
			byName[l.Name] = l.Value
		}
		for _, src := range sources[name] {
			labels := []vmclient.Label{{Name: "__name__", Value: src.derived + src.suffix}}
			key := []string{labels[0].Value}
			for _, l := range labelsOf[src.derived] {
				labels = append(labels, vmclient.Label{Name: l, Value: byName[l]})
				key = append(key, byName[l])
			}
			k := strings.Join(key, "\xff")
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, vmclient.Series{Labels: labels})
				values[i] = map[int64]float64{}
			}
			for _, smp := range s.Samples {
				values[i][smp.Timestamp] += smp.Value
			}
		}
	}
	for i := range out {
		for ts, v := range values[i] {
			out[i].Samples = append(out[i].Samples, vmclient.Sample{Timestamp: ts, Value: v})
		}
		slices.SortFunc(out[i].Samples, func(a, b vmclient.Sample) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
	}
	return out
}
