package aggregate

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// without returns the record's pairs less the fields named.
func without(pairs []string, fields ...string) []string {
	var out []string
	for _, p := range pairs {
		name, _, _ := strings.Cut(p, "=")
		if !slices.Contains(fields, name) {
			out = append(out, p)
		}
	}
	return out
}

// with returns the record's pairs with fields set ("name=value"), replaced
// or added.
func with(pairs []string, set ...string) []string {
	out := slices.Clone(pairs)
	for _, s := range set {
		name, _, _ := strings.Cut(s, "=")
		out = append(without(out, name), s)
	}
	return out
}

// derivedRecords are records of every kind the families tell apart: both
// ends of intra-VPC traffic, the internet, a second VPC, records without a
// flow direction or an action, many peers of one interface (for folding),
// minutes out of order, and a NODATA record.
func derivedRecords() [][]string {
	var recs [][]string
	add := func(p []string) { recs = append(recs, p) }
	add(with(base("eni-a", "egress", "10.0.0.1", "10.0.0.2", 100), "traffic-path=1", "start=660", "end=800"))
	add(base("eni-b", "ingress", "10.0.0.1", "10.0.0.2", 100))
	add(with(base("eni-b", "egress", "10.0.0.2", "10.0.0.1", 40), "traffic-path=1"))
	add(base("eni-a", "ingress", "10.0.0.2", "10.0.0.1", 40))
	add(base("eni-a", "ingress", "203.0.113.9", "10.0.0.1", 7))
	add(with(base("eni-a", "egress", "10.0.0.1", "198.51.100.1", 5), "traffic-path=8"))
	add(without(base("eni-c", "", "10.0.0.3", "198.51.100.2", 11), "flow-direction"))
	add(without(base("eni-c", "egress", "10.0.0.3", "198.51.100.3", 13), "action"))
	add(without(base("eni-c", "", "198.51.100.4", "10.0.0.3", 17), "flow-direction", "action"))
	add(with(base("eni-d", "ingress", "203.0.113.7", "172.31.0.4", 19), "vpc-id=vpc-2", "action=REJECT", "start=0", "end=30"))
	for i := range 12 {
		add(with(base("eni-a", "ingress", fmt.Sprintf("198.18.0.%d", i), "10.0.0.1", 1000+i),
			fmt.Sprintf("start=%d", 600-60*(i%3)), fmt.Sprintf("end=%d", 700+60*(i%4)), fmt.Sprintf("srcport=%d", 1000+i)))
	}
	add(with(without(base("eni-e", "", "", "", 0), "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action", "flow-direction"), "log-status=NODATA"))
	return recs
}

// aggregated aggregates records and resolves them with what they teach.
func aggregated(t *testing.T, recs [][]string) (*Aggregate, Resolution) {
	t.Helper()
	a := New()
	for _, r := range recs {
		a.Add(rec(t, r...), &Context{})
	}
	meta, owners := a.Learned()
	res := a.Resolve(func(i string) (Meta, bool) { m, ok := meta[i]; return m, ok },
		func(vpc, addr string) (string, bool) { o, ok := owners[OwnerKey(vpc, addr)]; return o, ok })
	return a, res
}

// samples sums series samples of a metric per timestamp and label values
// given: "value|value|…@timestamp".
func samples(series []vmclient.Series, name string, labels ...string) map[string]float64 {
	return samplesPer(series, time.Millisecond, name, labels...)
}

// samplesPer is samples summed per step interval: "value|…@interval
// start" (the slot dropped, unless step is a millisecond).
func samplesPer(series []vmclient.Series, step time.Duration, name string, labels ...string) map[string]float64 {
	per := step.Milliseconds()
	out := map[string]float64{}
	for _, s := range series {
		values := map[string]string{}
		for _, l := range s.Labels {
			values[l.Name] = l.Value
		}
		if values["__name__"] != name {
			continue
		}
		key := make([]string, len(labels))
		for i, l := range labels {
			key[i] = values[l]
		}
		for _, smp := range s.Samples {
			out[fmt.Sprintf("%s@%d", strings.Join(key, "|"), smp.Timestamp/per*per)] += smp.Value
		}
	}
	return out
}

// TestDerivedFamiliesAreProjections checks, interval by interval (at the
// coarser step of the two families), that each derived family holds the
// sums of its family's label sets projected onto its labels, exact whether
// or not top K folds that family (onto its group's labels when it is
// bounded itself), and that it keeps absent directions and actions apart.
func TestDerivedFamiliesAreProjections(t *testing.T) {
	defs := schema.Families()
	for _, tc := range []struct {
		name string
		recs [][]string
		topK int
	}{
		{"no top K", derivedRecords(), 0},
		{"top K not reached", derivedRecords(), 1000},
		{"top K 2 folds", derivedRecords(), 2},
		{"top K 1 folds", derivedRecords(), 1},
		{"absent direction and action only", [][]string{
			without(base("eni-c", "", "10.0.0.3", "198.51.100.2", 11), "flow-direction"),
			without(base("eni-c", "egress", "10.0.0.3", "198.51.100.3", 13), "action"),
		}, 1},
		{"NODATA only", [][]string{derivedRecords()[len(derivedRecords())-1]}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, res := aggregated(t, tc.recs)
			series := a.Series(&res, 123, Fold{TopK: tc.topK})
			exact := a.Series(&res, 123, Fold{TopK: 0}) // nothing folded
			derivedSeen := 0
			for id, d := range defs {
				if !d.Derived {
					continue
				}
				of := defs[d.Of]
				step := max(d.Step, of.Step)
				labels := d.Labels
				if d.TopK && tc.topK > 0 {
					labels = d.Group // bounded itself: exact per group
				}
				for m, name := range d.MetricNames() {
					got := samplesPer(series, step, name, labels...)
					// Folding keeps the totals of the family's groups: a derived
					// family within the group projects the folded series too.
					withinGroup := !of.TopK
					if of.TopK {
						withinGroup = true
						for _, l := range labels {
							withinGroup = withinGroup && slices.Contains(of.Group, l)
						}
					}
					want := samplesPer(series, step, of.MetricNames()[m], labels...)
					if diff := diffSums(got, want); withinGroup && diff != "" {
						t.Errorf("%s is not the projection of %s (top K %d):\n%s", name, of.MetricNames()[m], tc.topK, diff)
					}
					if diff := diffSums(got, samplesPer(exact, step, of.MetricNames()[m], labels...)); diff != "" {
						t.Errorf("%s is not the projection of unfolded %s:\n%s", name, of.MetricNames()[m], diff)
					}
					derivedSeen += len(got)
				}
				if id == schema.Total && tc.name != "NODATA only" {
					// Absent values stay label values of their own.
					got := samples(series, d.Name+schema.SuffixFlows, "action", "flow_direction")
					var keys []string
					for k := range got {
						keys = append(keys, k[:strings.IndexByte(k, '@')])
					}
					for _, want := range []string{"ACCEPT|-", "-|egress"} {
						if !slices.Contains(keys, want) {
							t.Errorf("%s has no label set %s: %v", d.Name, want, keys)
						}
					}
				}
			}
			if (derivedSeen == 0) != (tc.name == "NODATA only") {
				t.Errorf("%d derived label set minutes", derivedSeen)
			}
			for _, s := range series {
				for _, smp := range s.Samples {
					if smp.Value == 0 || smp.Timestamp%60_000 != 123 {
						t.Fatalf("sample %v of %v: zero or not at the slot", smp, s.Labels)
					}
				}
			}
		})
	}
}

// diffSums lists the differences of two sums; "" when equal.
func diffSums(got, want map[string]float64) string {
	var d []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			d = append(d, fmt.Sprintf("  %s: got %v, want %v", k, got[k], want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("  %s: got %v, want nothing", k, got[k]))
		}
	}
	return strings.Join(d, "\n")
}

// TestEveryFamilyIsEmitted checks that the records of derivedRecords give
// series of every family, derived ones included.
func TestEveryFamilyIsEmitted(t *testing.T) {
	a, res := aggregated(t, derivedRecords())
	names := map[string]bool{}
	for _, s := range a.Series(&res, 0, Fold{TopK: 2}) {
		names[s.Labels[0].Value] = true
	}
	for _, f := range schema.Families() {
		for _, name := range f.MetricNames() {
			if !names[name] {
				t.Errorf("no %s series", name)
			}
		}
	}
}

// TestEmitIsDeterministic checks that emitting an aggregate again, or an
// aggregate of the same records built again, gives the same series in the
// same order: a replay must write identical samples.
func TestEmitIsDeterministic(t *testing.T) {
	inOrder := func(series []vmclient.Series) string {
		var b strings.Builder
		for _, s := range series {
			fmt.Fprintf(&b, "%v %v\n", s.Labels, s.Samples)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name string
		topK int
	}{
		{"no top K", 0},
		{"top K 2", 2},
		{"top K 1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, res := aggregated(t, derivedRecords())
			first := inOrder(a.Series(&res, 5, Fold{TopK: tc.topK}))
			if again := inOrder(a.Series(&res, 5, Fold{TopK: tc.topK})); again != first {
				t.Errorf("emitting again differs:\n%s\n---\n%s", first, again)
			}
			for range 5 {
				b, res := aggregated(t, derivedRecords())
				if other := inOrder(b.Series(&res, 5, Fold{TopK: tc.topK})); other != first {
					t.Fatalf("the same records aggregated again emit differently:\n%s\n---\n%s", first, other)
				}
			}
			// A batch of one object takes the object's aggregate as is; a
			// replay merges it into an empty one: the same series.
			b, res := aggregated(t, derivedRecords())
			merged := New()
			merged.Merge(b)
			if other := inOrder(merged.Series(&res, 5, Fold{TopK: tc.topK})); other != first {
				t.Errorf("merged into an empty aggregate, it emits differently:\n%s\n---\n%s", first, other)
			}
		})
	}
}

// TestMergeCells compares mergeCells with adding the cells one by one.
func TestMergeCells(t *testing.T) {
	cells := func(minutes ...int64) []cell {
		out := make([]cell, len(minutes))
		for i, m := range minutes {
			out[i] = cell{minute: m, bytes: uint64(m * 10), packets: uint64(m), flows: 1}
		}
		return out
	}
	reference := func(dst, src []cell) []cell {
		dst = slices.Clone(dst)
		for _, c := range src {
			dst = addCell(dst, c)
		}
		return dst
	}
	cases := []struct {
		name     string
		dst, src []cell
	}{
		{"both empty", nil, nil},
		{"into empty", nil, cells(1, 2)},
		{"nothing", cells(1, 2), nil},
		{"later", cells(1, 2), cells(3, 5)},
		{"earlier", cells(4, 5), cells(1, 2)},
		{"same minutes", cells(1, 2, 3), cells(1, 2, 3)},
		{"interleaved", cells(1, 3, 5, 7), cells(0, 2, 3, 6, 8)},
		{"inside", cells(1, 9), cells(2, 3, 4)},
		{"around", cells(4, 5), cells(1, 4, 5, 9)},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	random := func() []cell {
		var ms []int64
		for m := range int64(40) {
			if rng.IntN(3) == 0 {
				ms = append(ms, m-20)
			}
		}
		return cells(ms...)
	}
	for i := range 500 {
		cases = append(cases, struct {
			name     string
			dst, src []cell
		}{fmt.Sprintf("random %d", i), random(), random()})
	}
	for _, tc := range cases {
		want := reference(tc.dst, tc.src)
		src := slices.Clone(tc.src)
		got := mergeCells(slices.Clone(tc.dst), tc.src)
		if !slices.Equal(got, want) {
			t.Errorf("%s: mergeCells(%v, %v) = %v, want %v", tc.name, tc.dst, tc.src, got, want)
		}
		if !slices.Equal(src, tc.src) {
			t.Errorf("%s: src changed", tc.name)
		}
	}
}
