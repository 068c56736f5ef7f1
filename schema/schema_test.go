package schema

import (
	"slices"
	"testing"
	"time"
)

// TestDerivedFamilies checks what the derived families promise: each sums
// a family that is not derived itself, by labels of that family (the
// common ones first), with the same metrics; a derived family of a top-K
// family is summed before folding, so its labels may be any of the
// family's; and DerivedFrom finds them.
func TestDerivedFamilies(t *testing.T) {
	defs := Families()
	if len(defs) != NumFamilies {
		t.Fatalf("%d families, NumFamilies %d", len(defs), NumFamilies)
	}
	derived := map[int][]int{}
	for id, f := range defs {
		if !f.Derived {
			continue
		}
		derived[f.Of] = append(derived[f.Of], id)
		if f.Of < 0 || f.Of >= NumFamilies || f.Of == id || defs[f.Of].Derived {
			t.Errorf("%s: Of %d is not a counted family", f.Name, f.Of)
			continue
		}
		of := defs[f.Of]
		if f.Traffic != of.Traffic {
			t.Errorf("%s: Traffic %v, want Traffic as %s", f.Name, f.Traffic, of.Name)
		}
		if !slices.Equal(f.Labels[:3], []string{LabelAccount, LabelRegion, LabelVPC}) {
			t.Errorf("%s: labels %v do not start with the common ones", f.Name, f.Labels)
		}
		within := of.Labels
		for _, l := range f.Labels {
			if !slices.Contains(within, l) {
				t.Errorf("%s: label %s is not among %s's %v", f.Name, l, of.Name, within)
			}
		}
	}
	for id := range NumFamilies {
		if got := DerivedFrom(id); !slices.Equal(got, derived[id]) {
			t.Errorf("DerivedFrom(%d) = %v, want %v", id, got, derived[id])
		}
	}
	if got := DerivedFrom(Interface); !slices.Equal(got, []int{Total}) {
		t.Errorf("DerivedFrom(Interface) = %v", got)
	}
}

// TestSteps: every family has a step, a whole number of minutes that
// divides an hour (the top-K families' keep sets are per hour, and their
// samples must not straddle two), and the VPC-wide totals keep the minute.
func TestSteps(t *testing.T) {
	for _, f := range Families() {
		if f.Step <= 0 || f.Step%time.Minute != 0 || time.Hour%f.Step != 0 {
			t.Errorf("%s: step %v: want whole minutes dividing an hour", f.Name, f.Step)
		}
		if f.TopK && !slices.Equal(f.Group[:3], []string{LabelAccount, LabelRegion, LabelVPC}) {
			t.Errorf("%s: group %v does not start with the VPC's labels", f.Name, f.Group)
		}
	}
	defs := Families()
	for _, id := range []int{Total, PairTotal, Service} {
		if defs[id].Step != time.Minute {
			t.Errorf("%s: step %v, want a minute", defs[id].Name, defs[id].Step)
		}
	}
}
