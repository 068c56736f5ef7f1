package aggregate

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// actionBatch returns the records of a batch of two objects holding every
// kind of action: ACCEPT, REJECT, DROP, and eleven values AWS does not
// document, whose totals over the batch rank them (bytes, then the value)
// differently from their amounts in either object. It returns the unknown
// values that must fold into "other": of the eleven, the eight largest
// (MaxUnknownValues) keep their label, and TIE_A and TIE_B (equal in
// bytes, packets and flows) are told apart by their value.
func actionBatch() (objects [2][][]string, folded []string) {
	add := func(obj int, iface, dir, src, dst, action string, bytes int) {
		r := with(base(iface, dir, src, dst, bytes), "action="+action)
		objects[obj] = append(objects[obj], r)
	}
	// Known actions, DROP among them, in both objects.
	add(0, "eni-a", "egress", "10.0.0.1", "10.0.0.2", "ACCEPT", 5000)
	add(0, "eni-b", "ingress", "10.0.0.1", "10.0.0.2", "ACCEPT", 5000)
	add(0, "eni-a", "ingress", "203.0.113.9", "10.0.0.1", "DROP", 3000)
	add(1, "eni-b", "egress", "10.0.0.2", "198.51.100.7", "DROP", 700)
	add(1, "eni-a", "ingress", "203.0.113.8", "10.0.0.1", "REJECT", 60)
	unknown := []struct {
		action string
		a, b   int // bytes in the first and the second object
	}{
		{"BLACKHOLE", 10, 890},  // 900: small in the first object
		{"NO_ROUTE", 400, 400},  // 800
		{"TTL_EXPIRED", 0, 700}, // 700: only in the second
		{"QUEUED", 600, 0},      // 600: only in the first
		{"MIRRORED", 250, 250},  // 500
		{"THROTTLED", 1, 399},   // 400
		{"FILTERED", 150, 150},  // 300
		{"TIE_B", 100, 100},     // 200, as TIE_A: folded, the larger value
		{"TIE_A", 100, 100},     // 200: kept, the eighth
		{"SMALL", 99, 1},        // 100: the largest of the first object
		{"TINY", 1, 0},          // 1
	}
	for i, u := range unknown {
		// The second object meets the values in the opposite order.
		j := len(unknown) - 1 - i
		src := fmt.Sprintf("198.18.0.%d", i)
		add(0, "eni-c", "ingress", src, "10.0.0.3", u.action, u.a)
		add(1, "eni-c", "ingress", src, "10.0.0.3", unknown[j].action, unknown[j].b)
	}
	return objects, []string{"TIE_B", "SMALL", "TINY"}
}

// actionsOf returns the action label values of the series, sorted.
func actionsOf(series []vmclient.Series) []string {
	seen := map[string]bool{}
	for _, s := range series {
		for _, l := range s.Labels {
			if l.Name == "action" {
				seen[l.Value] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// TestEveryActionCounts checks the action values against a ground truth
// computed from the records without this package: DROP records count
// under DROP, unknown values under their own label, the eight largest of
// the batch; the others fold into "other", the same whichever order the
// objects merge in, and every family's totals stay exact.
func TestEveryActionCounts(t *testing.T) {
	objects, folded := actionBatch()
	truth := groundtruth.New()
	var drop float64
	part := func(recs [][]string) *Aggregate {
		a := New()
		for _, p := range recs {
			a.Add(rec(t, p...), &Context{})
		}
		return a
	}
	for _, recs := range objects {
		for _, p := range recs {
			r := rec(t, p...)
			truth.Observe(r)
			if r.Action == flowlog.Drop {
				drop += float64(r.Bytes)
			}
		}
	}
	truth.Finish()
	batch := func(order ...int) (*Aggregate, Resolution) {
		a := New()
		for _, i := range order {
			a.Merge(part(objects[i]))
		}
		meta, owners := a.Learned()
		return a, a.Resolve(func(i string) (Meta, bool) { m, ok := meta[i]; return m, ok },
			func(vpc, addr string) (string, bool) { o, ok := owners[OwnerKey(vpc, addr)]; return o, ok })
	}
	a, res := batch(0, 1)
	b, resB := batch(1, 0)
	defs := schema.Families()
	for _, fold := range []Fold{{}, {TopK: 1}} {
		series := a.Series(&res, 3, fold)
		if got, again := render(series), render(b.Series(&resB, 3, fold)); got != again {
			t.Fatalf("fold %+v: the objects merged in the other order give other series", fold)
		}
		want := []string{"ACCEPT", "BLACKHOLE", "DROP", "FILTERED", "MIRRORED", "NO_ROUTE", "QUEUED", "REJECT", "THROTTLED", "TIE_A", "TTL_EXPIRED", "other"}
		if got := actionsOf(series); !slices.Equal(got, want) {
			t.Errorf("fold %+v: actions %v, want %v", fold, got, want)
		}
		for _, f := range defs {
			if !f.Traffic {
				continue
			}
			at := slices.Index(f.Labels, "action")
			for _, name := range f.MetricNames() {
				// The truth with the folded values under "other".
				want := map[string]float64{}
				for k, v := range truth.Sums[name] {
					parts := strings.Split(k, "|")
					if slices.Contains(folded, parts[at]) {
						parts[at] = schema.Other
					}
					want[strings.Join(parts, "|")] += v
				}
				labels := f.Labels
				if fold.TopK > 0 && f.TopK {
					// Folded per group: exact per group.
					labels = f.Group
					want = groundtruth.Project(want, f.Labels, labels)
				}
				if diff := groundtruth.Compare(totals(series, name, labels...), want); diff != "" {
					t.Errorf("fold %+v: %s differs from the ground truth:\n%s", fold, name, diff)
				}
			}
		}
		byAction := totals(series, "vpcflow_interface_bytes", "action")
		if byAction["DROP"] != drop || drop != 3700 || byAction["other"] != 301 || byAction["TIE_A"] != 200 || byAction["BLACKHOLE"] != 900 {
			t.Errorf("fold %+v: bytes by action %v; want DROP 3700, TIE_A 200, BLACKHOLE 900, other 301", fold, byAction)
		}
	}
}
