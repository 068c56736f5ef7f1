package aggregate

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"math/rand/v2"

	"github.com/vpcflow/vpcflow/schema"
)

// tallies builds candidates: "labels=bytes" pairs, largest first.
func tallies(pairs ...string) []Tally {
	var ts []Tally
	for _, p := range pairs {
		var t Tally
		var b uint64
		if _, err := fmt.Sscanf(p, "%1s=%d", &t.Labels, &b); err != nil {
			panic(p)
		}
		t.Bytes = b
		ts = append(ts, t)
	}
	slices.SortFunc(ts, Larger)
	return ts
}

// TestKeeperDecides follows the documented rule batch by batch: an hour's
// keep set is decided by its first batch (the K largest of the hour before
// as tallied, and the K largest of the batch), later batches of the hour
// use it as it is, and the tally holds the kept label sets and each
// batch's K largest others.
func TestKeeperDecides(t *testing.T) {
	gh := func(h int64) GroupHour { return GroupHour{Family: 3, Group: "a|r|vpc-1|ACCEPT", Hour: h} }
	kp := NewKeeper(2)
	type step struct {
		cands     map[GroupHour][]Tally
		keep      Keep
		kept      []GroupHour
		tallies   map[GroupHour][]Tally
		forgotten []GroupHour
	}
	for i, s := range []step{
		{ // hour 0, first batch: nothing before it, its own two largest
			cands: map[GroupHour][]Tally{gh(0): tallies("a=5", "b=9", "c=1", "d=3")},
			keep:  Keep{gh(0): {"b", "a"}}, kept: []GroupHour{gh(0)},
			tallies: map[GroupHour][]Tally{gh(0): tallies("b=9", "a=5", "d=3", "c=1")},
		},
		{ // hour 0 again: the keep set stands, even against a larger newcomer
			cands:   map[GroupHour][]Tally{gh(0): tallies("e=100", "a=1", "c=4", "f=2")},
			keep:    Keep{gh(0): {"b", "a"}},
			tallies: map[GroupHour][]Tally{gh(0): tallies("e=100", "b=9", "a=6", "c=5")},
		},
		{ // hour 1: the two largest of hour 0's tally, and of its own
			cands: map[GroupHour][]Tally{gh(1): tallies("x=7", "y=8", "b=1")},
			keep:  Keep{gh(1): {"b", "e", "x", "y"}}, kept: []GroupHour{gh(1)},
			tallies: map[GroupHour][]Tally{gh(1): tallies("y=8", "x=7", "b=1")},
		},
		{ // hour 8: hours 0 and 1 are more than KeepHours before: forgotten
			cands: map[GroupHour][]Tally{gh(8): tallies("z=1")},
			keep:  Keep{gh(8): {"z"}}, kept: []GroupHour{gh(8)},
			tallies: map[GroupHour][]Tally{gh(8): tallies("z=1")}, forgotten: []GroupHour{gh(0), gh(1)},
		},
	} {
		keep, ch := kp.Decide(s.cands)
		if !maps.EqualFunc(keep, s.keep, func(x, y []string) bool { return slices.Equal(x, slices.Sorted(slices.Values(y))) }) {
			t.Errorf("batch %d: keep %v, want %v", i, keep, s.keep)
		}
		if !slices.Equal(ch.Kept, s.kept) || !slices.Equal(ch.Forgotten, s.forgotten) {
			t.Errorf("batch %d: changes %+v, want kept %v forgotten %v", i, ch, s.kept, s.forgotten)
		}
		for gh, want := range s.tallies {
			if got := kp.Tally(gh); !slices.Equal(got, want) {
				t.Errorf("batch %d: tally %v: %v, want %v", i, gh, got, want)
			}
		}
	}
	if _, ok := kp.KeepSet(gh(0)); ok {
		t.Errorf("hour 0 not forgotten")
	}
}

// TestKeeperReloads: a Keeper loaded with what another recorded (its keep
// sets and tallies) decides the next batches as the other does.
func TestKeeperReloads(t *testing.T) {
	gh := func(g string, h int64) GroupHour { return GroupHour{Family: 4, Group: g, Hour: h} }
	batches := []map[GroupHour][]Tally{
		{gh("g1", 10): tallies("a=5", "b=9", "c=1"), gh("g2", 10): tallies("p=1", "q=2")},
		{gh("g1", 10): tallies("c=50"), gh("g1", 11): tallies("d=1", "e=1")},
		{gh("g1", 11): tallies("c=3", "f=4"), gh("g2", 11): tallies("q=1", "r=9")},
		{gh("g1", 12): tallies("a=1", "b=1", "c=1", "g=5")},
	}
	for cut := range batches {
		whole := NewKeeper(1)
		var want []Keep
		for _, b := range batches {
			k, _ := whole.Decide(b)
			want = append(want, k)
		}
		// The first run decides up to cut and records what changed; the
		// second loads the records and goes on.
		first, recorded := NewKeeper(1), map[GroupHour]bool{}
		for _, b := range batches[:cut] {
			_, ch := first.Decide(b)
			for _, gh := range append(ch.Kept, ch.Tallied...) {
				recorded[gh] = true
			}
		}
		second := NewKeeper(1)
		for gh := range recorded {
			ls, ok := first.KeepSet(gh)
			second.Load(gh, ls, ok, first.Tally(gh))
		}
		for i, b := range batches[cut:] {
			got, _ := second.Decide(b)
			if !maps.EqualFunc(got, want[cut+i], slices.Equal) {
				t.Errorf("cut %d, batch %d: %v, undisturbed %v", cut, cut+i, got, want[cut+i])
			}
		}
	}
}

// TestLargestFirst: the front is the n largest tallies in order, the same
// whatever the order given, and no tally is lost; ties in bytes and packets
// are broken by the labels.
func TestLargestFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 2, 5, 40, 1000} {
		all := make([]Tally, size)
		for i := range all {
			all[i] = Tally{Labels: fmt.Sprintf("l%04d", rng.IntN(size+1)), Bytes: uint64(rng.IntN(8)), Packets: uint64(rng.IntN(3)), Flows: 1}
		}
		sorted := slices.Clone(all)
		slices.SortFunc(sorted, Larger)
		for _, n := range []int{0, 1, 3, size / 2, size - 1, size, size + 1} {
			ts := slices.Clone(all)
			rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
			LargestFirst(ts, n)
			front := max(0, min(n, size))
			if !slices.Equal(ts[:front], sorted[:front]) {
				t.Errorf("size %d, n %d: front %v, want %v", size, n, ts[:front], sorted[:front])
			}
			rest := slices.Clone(ts)
			slices.SortFunc(rest, Larger)
			if !slices.Equal(rest, sorted) {
				t.Errorf("size %d, n %d: tallies lost or changed", size, n)
			}
		}
	}
}

// TestDecideIgnoresCandidateOrder: two Keepers given the same batches,
// one with each group hour's candidates largest first and one shuffled,
// decide the same keep sets and keep the same tallies.
func TestDecideIgnoresCandidateOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sorted, shuffled := NewKeeper(3), NewKeeper(3)
	for batch := range 12 {
		a, b := map[GroupHour][]Tally{}, map[GroupHour][]Tally{}
		for g := range 3 {
			gh := GroupHour{Family: schema.Src, Group: fmt.Sprint("g", g), Hour: int64(batch / 3)}
			var ts []Tally
			for i := range rng.IntN(30) {
				ts = append(ts, Tally{Labels: fmt.Sprint("l", i), Bytes: uint64(rng.IntN(50)), Packets: 1, Flows: 1})
			}
			a[gh] = slices.Clone(ts)
			slices.SortFunc(a[gh], Larger)
			rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
			b[gh] = ts
		}
		ka, _ := sorted.Decide(a)
		kb, _ := shuffled.Decide(b)
		if !maps.EqualFunc(ka, kb, slices.Equal) {
			t.Fatalf("batch %d: keep sets %v and %v", batch, ka, kb)
		}
		for gh := range a {
			if !slices.Equal(sorted.Tally(gh), shuffled.Tally(gh)) {
				t.Fatalf("batch %d, %v: tallies %v and %v", batch, gh, sorted.Tally(gh), shuffled.Tally(gh))
			}
		}
	}
}
