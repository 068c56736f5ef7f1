package pipeline

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// TestLookahead checks that objects decoded ahead of the head wait while
// they hold more than the limit, that the head never waits, that taking the
// head lets them go on, and that a done context releases everyone.
func TestLookahead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		l, stop := newLookahead(ctx, 4, 100, 0)
		defer stop()
		passed := make([]bool, 4)
		grow := func(i, cells int) {
			go func() {
				if !l.grow(i, cells) {
					t.Errorf("object %d (%d cells) refused without a split bound", i, cells)
				}
				passed[i] = true
			}()
		}
		grow(1, 60)
		synctest.Wait()
		grow(2, 60) // 120 cells after the head: over
		synctest.Wait()
		if !passed[1] || passed[2] {
			t.Fatalf("passed %v: want object 1 through, object 2 waiting", passed)
		}
		grow(0, 1000) // the head never waits, however large
		synctest.Wait()
		if !passed[0] || passed[2] {
			t.Fatalf("passed %v: want the head through, object 2 still waiting", passed)
		}
		l.taken(0, 1000) // object 1 is the head now: 60 cells after it
		synctest.Wait()
		if !passed[2] {
			t.Fatal("object 2 still waits once the objects after the head hold 60 cells")
		}
		grow(3, 50) // 110 after the head
		synctest.Wait()
		if passed[3] {
			t.Fatal("object 3 went on with 110 cells after the head")
		}
		cancel()
		synctest.Wait()
		if !passed[3] {
			t.Fatal("object 3 still waits after the context ended")
		}
	})
}

// TestLookaheadSplit checks that, with a split bound, an object whose
// cells would take a batch that holds some over the bound is refused, the
// head and those after it alike, and that the first object of a batch
// never is.
func TestLookaheadSplit(t *testing.T) {
	l, stop := newLookahead(context.Background(), 4, 1000, 100)
	defer stop()
	f := func(i, cells int, want bool) {
		t.Helper()
		if got := l.grow(i, cells); got != want {
			t.Errorf("grow(%d, %d) = %v, want %v (batch %d cells, bound 100)", i, cells, got, want, l.batch)
		}
	}
	f(0, 500, true) // the batch is empty: its first object is not refused
	f(1, 90, true)
	l.taken(0, 0) // object 0 failed: the batch is still empty
	f(1, 150, true)
	l.taken(1, 150) // the batch holds 150
	f(2, 1, false)  // the head: any cell takes the batch over
	f(3, 1, false)  // and those after it
	l.taken(2, 40)  // (a batch of 40 cells, to check the sum)
	f(3, 60, true)
	f(3, 61, false)
}

// teach aggregates v5-style lines "interface vpc srcaddr dstaddr direction"
// as one batch's records.
func teach(t *testing.T, lines ...string) *aggregate.Aggregate {
	t.Helper()
	var b strings.Builder
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id flow-direction\n")
	for _, l := range lines {
		f := strings.Fields(l)
		fmt.Fprintf(&b, "5 123456789012 %s %s %s 1000 443 6 1 100 1772359200 1772359260 ACCEPT OK %s subnet-1 %s\n", f[0], f[2], f[3], f[1], f[4])
	}
	agg := aggregate.New()
	if _, err := decode.Stream("test", strings.NewReader(b.String()), decode.Options{}, func(r *flowlog.Record) error {
		agg.Add(r, &aggregate.Context{})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return agg
}

// TestKnowledgeForgets teaches batches to bounded tables: what is over a
// bound is forgotten, least recently seen first (taught or looked up),
// never what the current batch saw, with a fact deleting it from the
// ledger; an address owner forgotten no longer answers for the address
// alone.
func TestKnowledgeForgets(t *testing.T) {
	k := newKnowledge(4, 4, nil)
	k.loadMeta("eni-loaded", aggregate.Meta{VPC: "vpc-1"})
	k.loadOwner(aggregate.OwnerKey("vpc-1", "10.9.9.9"), "eni-loaded")
	type step struct {
		lines     []string // what the batch teaches
		look      []string // interfaces the batch looks up
		lookOwner []string // addresses of vpc-1 the batch looks up
		deleted   []string // "kind key" of the deletion facts forget returns
		meta      []string // interfaces known after it
	}
	steps := []step{
		{ // 1 + 3 interfaces: within the bound
			lines: []string{"eni-a vpc-1 10.0.0.1 10.1.0.1 egress", "eni-b vpc-1 10.0.0.2 10.1.0.2 egress", "eni-c vpc-1 10.0.0.3 10.1.0.3 egress"},
			meta:  []string{"eni-a", "eni-b", "eni-c", "eni-loaded"},
		},
		{ // 6: over; what the batch saw stays (eni-a looked up), the rest
			// goes, oldest first, down to a tenth under the bound (4 - 0)
			lines:     []string{"eni-d vpc-1 10.0.0.4 10.1.0.4 egress", "eni-e vpc-1 10.0.0.5 10.1.0.5 egress"},
			look:      []string{"eni-a"},
			lookOwner: []string{"10.0.0.1"},
			deleted:   []string{"meta eni-loaded", "meta eni-b", "owner vpc-1 10.9.9.9", "owner vpc-1 10.0.0.2"},
			meta:      []string{"eni-a", "eni-c", "eni-d", "eni-e"},
		},
		{ // a batch that sees more than the bound keeps all it saw
			lines: []string{"eni-f vpc-1 10.0.0.6 10.1.0.6 egress", "eni-ff1 vpc-1 10.0.0.7 10.1.0.7 egress",
				"eni-ff2 vpc-1 10.0.0.8 10.1.0.8 egress", "eni-ff3 vpc-1 10.0.0.9 10.1.0.9 egress", "eni-ff4 vpc-1 10.0.0.10 10.1.0.10 egress"},
			deleted: []string{"meta eni-a", "meta eni-c", "meta eni-d", "meta eni-e",
				"owner vpc-1 10.0.0.1", "owner vpc-1 10.0.0.3", "owner vpc-1 10.0.0.4", "owner vpc-1 10.0.0.5"},
			meta: []string{"eni-f", "eni-ff1", "eni-ff2", "eni-ff3", "eni-ff4"},
		},
	}
	for i, s := range steps {
		agg := teach(t, s.lines...)
		learned := k.learn(agg)
		for _, iface := range s.look {
			if _, ok := k.lookupMeta(iface); !ok {
				t.Fatalf("step %d: %s unknown", i+1, iface)
			}
		}
		for _, addr := range s.lookOwner {
			if _, ok := k.lookupOwner("vpc-1", addr); !ok {
				t.Fatalf("step %d: %s has no owner", i+1, addr)
			}
		}
		for _, f := range learned {
			if f.Value == nil {
				t.Errorf("step %d: learn returned a deletion %s %s", i+1, f.Kind, f.Key)
			}
		}
		var deleted []string
		for _, f := range k.forget() {
			if f.Value != nil {
				t.Errorf("step %d: forget returned %s %s with a value", i+1, f.Kind, f.Key)
			}
			deleted = append(deleted, f.Kind+" "+f.Key)
		}
		slices.Sort(deleted)
		want := slices.Sorted(slices.Values(s.deleted))
		if !slices.Equal(deleted, want) {
			t.Errorf("step %d: deleted %q, want %q", i+1, deleted, want)
		}
		if got := slices.Sorted(maps.Keys(k.meta)); !slices.Equal(got, s.meta) {
			t.Errorf("step %d: knows interfaces %q, want %q", i+1, got, s.meta)
		}
		if len(k.owners) != len(k.meta) {
			t.Errorf("step %d: %d owners for %d interfaces (one address each)", i+1, len(k.owners), len(k.meta))
		}
	}
	// A forgotten owner answers no more, in its VPC or for the address
	// alone; a kept one does.
	if o, ok := k.lookupOwner("vpc-2", "10.0.0.2"); ok {
		t.Errorf("forgotten 10.0.0.2 still owned by %s", o)
	}
	if o, ok := k.lookupOwner("vpc-2", "10.0.0.7"); !ok || o != "eni-ff1" {
		t.Errorf("10.0.0.7 owned by %q, %v; want eni-ff1 from vpc-1", o, ok)
	}
}

// BenchmarkKnowledgeMemory fills the learned tables to their default
// bounds as loaded from the ledger and logs the heap they take per entry:
//
//	go test ./collector/pipeline -run '^$' -bench KnowledgeMemory -benchtime 1x -v
func BenchmarkKnowledgeMemory(b *testing.B) {
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		k := newKnowledge(DefaultMaxInterfaces, DefaultMaxAddresses, nil)
		for i := range DefaultMaxInterfaces {
			k.loadMeta(fmt.Sprintf("eni-%017x", i), aggregate.Meta{VPC: fmt.Sprintf("vpc-%017x", i%1000), Subnet: fmt.Sprintf("subnet-%017x", i%5000),
				AZ: "use1-az1", Instance: fmt.Sprintf("i-%017x", i)})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perMeta := float64(after.HeapAlloc-before.HeapAlloc) / DefaultMaxInterfaces
		for i := range DefaultMaxAddresses {
			k.loadOwner(aggregate.OwnerKey(fmt.Sprintf("vpc-%017x", i%1000), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)), fmt.Sprintf("eni-%017x", i%DefaultMaxInterfaces))
		}
		mid := after
		runtime.GC()
		runtime.ReadMemStats(&after)
		perOwner := float64(after.HeapAlloc-mid.HeapAlloc) / DefaultMaxAddresses
		b.Logf("%d interfaces: %.0f bytes each (%.0f MB); %d addresses: %.0f bytes each (%.0f MB)",
			DefaultMaxInterfaces, perMeta, perMeta*DefaultMaxInterfaces/1e6, DefaultMaxAddresses, perOwner, perOwner*DefaultMaxAddresses/1e6)
		runtime.KeepAlive(k)
	}
}
