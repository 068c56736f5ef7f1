package ledger

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// epoch is a clock stopped at the Unix epoch: a ledger joining several
// instances then keeps to JoinFloor up to minute 61.
func epoch() time.Time { return time.Unix(0, 0) }

// beginMinutes begins a batch of one fresh object touching minutes.
func beginMinutes(l *Ledger, n int, minutes []int64) (Batch, error) {
	return l.BeginBatch([]Object{obj(fmt.Sprintf("o%06d", n), "v")}, minutes, nil, nil)
}

func TestSlotSequences(t *testing.T) {
	type step struct {
		minutes []int64
		slot    int
	}
	tests := []struct {
		name  string
		opts  Options
		steps []step
	}{
		{"overlapping minutes get different slots", Options{}, []step{
			{[]int64{1, 2}, 0}, {[]int64{2, 3}, 1}, {[]int64{1, 2, 3}, 2}, {[]int64{3}, 0},
		}},
		{"disjoint minutes may share a slot", Options{}, []step{
			{[]int64{1}, 0}, {[]int64{2}, 0}, {[]int64{3, 4}, 0}, {[]int64{1}, 1},
		}},
		{"a slot is free in every minute of the batch", Options{}, []step{
			{[]int64{1}, 0}, {[]int64{1}, 1}, {[]int64{1}, 2}, {[]int64{2, 1}, 3}, {[]int64{2}, 0},
		}},
		{"no minutes", Options{}, []step{
			{nil, NoSlot}, {[]int64{1}, 0}, {[]int64{}, NoSlot}, {[]int64{1}, 1},
		}},
		// One of several: slots of its residue modulo MaxInstances; from
		// JoinFloor up in the minutes before it joined (its clock says
		// minute 0: up to minute 61).
		{"instance 1 of 3", Options{Instance: 1, Instances: 3, Now: epoch}, []step{
			{[]int64{100}, 1}, {[]int64{100}, 51}, {[]int64{101}, 1}, {[]int64{100, 101}, 101}, {[]int64{101}, 51},
		}},
		{"instance 1 of 2, minutes before it joined", Options{Instance: 1, Instances: 2, Now: epoch}, []step{
			{[]int64{7}, JoinFloor + 1}, {[]int64{7, 8}, JoinFloor + 51}, {[]int64{8}, JoinFloor + 1}, {[]int64{60, 61}, JoinFloor + 1}, {[]int64{62}, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := openTest(t, tt.opts)
			for i, s := range tt.steps {
				b, err := beginMinutes(l, i, s.minutes)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if b.Slot != s.slot {
					t.Errorf("step %d (minutes %v): slot %d, want %d", i, s.minutes, b.Slot, s.slot)
				}
			}
		})
	}
}

// TestSlotsNeverCollide begins many random batches on ledgers of several
// instances and checks that no two batches ever share a slot in a minute,
// and that every instance stays in its residue class.
func TestSlotsNeverCollide(t *testing.T) {
	tests := []struct {
		name      string
		instances int
		batches   int
		minutes   int64
	}{
		{"single instance", 1, 400, 40},
		{"two instances", 2, 300, 30},
		{"three instances", 3, 300, 20},
		{"seven instances dense", 7, 200, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tt.instances), 42))
			ledgers := make([]*Ledger, tt.instances)
			for i := range ledgers {
				ledgers[i], _ = openTest(t, Options{Instance: i, Instances: tt.instances, Now: epoch})
			}
			owner := map[[2]int64]string{} // (minute, slot) → batch
			for n := range tt.batches {
				inst := rng.IntN(tt.instances)
				first := rng.Int64N(tt.minutes)
				span := 1 + rng.Int64N(6)
				var minutes []int64
				for m := first; m < first+span; m++ {
					if rng.IntN(4) > 0 {
						minutes = append(minutes, m)
					}
				}
				b, err := beginMinutes(ledgers[inst], n, minutes)
				if err != nil {
					t.Fatalf("batch %d: %v", n, err)
				}
				if len(minutes) == 0 {
					continue
				}
				if tt.instances > 1 && b.Slot%MaxInstances != inst {
					t.Fatalf("instance %d of %d got slot %d", inst, tt.instances, b.Slot)
				}
				name := fmt.Sprintf("instance %d batch %d", inst, b.ID)
				for _, m := range minutes {
					if prev, ok := owner[[2]int64{m, int64(b.Slot)}]; ok {
						t.Fatalf("minute %d slot %d: %s collides with %s", m, b.Slot, name, prev)
					}
					owner[[2]int64{m, int64(b.Slot)}] = name
				}
				if rng.IntN(2) == 0 {
					if err := ledgers[inst].CommitBatch(b.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

func TestSlotExhaustion(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		minutes   []int64 // minutes touched, one batch each, the last fails
		wantSlots []int
	}{
		// A floor near the end leaves an instance one or two slots in the
		// minutes below the horizon (minute 100).
		{"one slot per minute", Options{Instance: 49, Instances: MaxInstances}, []int64{5, 5, 5}, []int{59949, 59999}},
		{"two slots per minute", Options{Instance: 0, Instances: 2}, []int64{5, 5, 5}, []int{59900, 59950}},
		{"single instance", Options{}, []int64{5, 5, 5, 5, 5}, []int{59996, 59997, 59998, 59999}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := openTest(t, tt.opts)
			err := l.update(func(tx *bolt.Tx) error {
				floor := 59900
				if tt.opts.Instances < 2 {
					floor = 59996
				}
				return putPrunedState(tx.Bucket(bucketMeta), 100, floor)
			})
			if err != nil {
				t.Fatal(err)
			}
			last := len(tt.minutes) - 1
			for i, m := range tt.minutes[:last] {
				b, err := beginMinutes(l, i, []int64{m})
				if err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
				if b.Slot != tt.wantSlots[i] {
					t.Errorf("batch %d: slot %d, want %d", i, b.Slot, tt.wantSlots[i])
				}
			}
			// The failing batch also touches a fresh minute, which must stay
			// untouched.
			_, err = beginMinutes(l, last, []int64{tt.minutes[last], 1000})
			if !errors.Is(err, ErrNoSlot) {
				t.Fatalf("batch on a full minute: error %v, want ErrNoSlot", err)
			}
			b, err := beginMinutes(l, last, []int64{1000})
			if err != nil {
				t.Fatalf("batch on a fresh minute after the failure: %v", err)
			}
			if want := tt.opts.Instance; b.Slot != want {
				t.Errorf("fresh minute slot %d, want %d", b.Slot, want)
			}
			if _, err := beginMinutes(l, last+1, nil); err != nil {
				t.Errorf("batch without minutes: %v", err)
			}
		})
	}
}

// TestSlotsStayFewOverTime begins batches the way a running collector does,
// each touching a window of minutes that slides on: slots are reused, so
// they stay few however many batches there are.
func TestSlotsStayFewOverTime(t *testing.T) {
	l, _ := openTest(t, Options{})
	highest := 0
	for i := range 5000 {
		minutes := make([]int64, 15)
		for j := range minutes {
			minutes[j] = int64(i/3 + j) // a new batch every 20 s over 15 minutes
		}
		b, err := beginMinutes(l, i, minutes)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		highest = max(highest, b.Slot)
	}
	if highest > 60 {
		t.Errorf("slots went up to %d over 5000 batches: they should be reused", highest)
	}
}

// TestSlotsAcrossCountChanges runs the life of a deployment: a single
// collector writes minutes alone, then a second instance joins (the first
// keeps its ledger), then a third, then the second leaves; every one of
// them writes the same minutes again and again (late objects). No two
// batches ever share a slot in a minute. It also covers a ledger of an
// earlier version, which used residues modulo the count.
func TestSlotsAcrossCountChanges(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Unix(0, 0)}
	owner := map[[2]int64]string{} // (minute, slot) → batch
	n := 0
	write := func(l *Ledger, name string, minutes ...int64) {
		t.Helper()
		n++
		b, err := beginMinutes(l, n, minutes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := l.CommitBatch(b.ID); err != nil {
			t.Fatal(err)
		}
		if err := l.Forget("s", b.Objects[0].Key); err != nil {
			t.Fatal(err)
		}
		for _, m := range minutes {
			k := [2]int64{m, int64(b.Slot)}
			if prev, ok := owner[k]; ok {
				t.Fatalf("minute %d slot %d: %s collides with %s", m, b.Slot, name, prev)
			}
			owner[k] = fmt.Sprintf("%s batch %d", name, n)
		}
	}
	open := func(i, count int) *Ledger {
		t.Helper()
		l, err := Open(fmt.Sprintf("%s/%d.db", dir, i), Options{Instance: i, Instances: count, Now: clk.Now})
		if err != nil {
			t.Fatalf("open instance %d of %d: %v", i, count, err)
		}
		return l
	}
	// The minutes: 0–9 written alone, 200–209 written by two, then three.
	alone := open(0, 1)
	for r := range 5 {
		for m := range int64(10) {
			write(alone, "alone", m, 10+(m+int64(r))%10)
		}
	}
	_ = alone.Close()

	clk.t = time.Unix(150*60, 0) // the second instance joins at minute 150
	two := []*Ledger{open(0, 2), open(1, 2)}
	for r := range 3 {
		for i, l := range two {
			for m := range int64(10) {
				write(l, fmt.Sprintf("%d of 2", i), m, 200+(m+int64(r))%10)
				write(l, fmt.Sprintf("%d of 2", i), 300+(m+int64(r))%5) // after it joined
			}
		}
	}
	for _, l := range two {
		_ = l.Close()
	}
	clk.t = time.Unix(300*60, 0) // a third joins
	three := []*Ledger{open(0, 3), open(1, 3), open(2, 3)}
	for i, l := range three {
		for m := range int64(10) {
			write(l, fmt.Sprintf("%d of 3", i), m, 200+m, 400+m)
		}
	}
	for _, l := range three {
		_ = l.Close()
	}
	back := []*Ledger{open(0, 2), open(1, 2)} // the third left
	for i, l := range back {
		for m := range int64(10) {
			write(l, fmt.Sprintf("%d of 2 again", i), m, 200+m, 400+m)
		}
	}
	for _, l := range back {
		_ = l.Close()
	}

	// A ledger of an earlier version: instance 1 of 2 with residues modulo
	// 2 and no stride recorded; then instance 0 of 2 of this version.
	old := open(3, 4)
	err := old.update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		for _, k := range [][]byte{metaStride, metaHorizon, metaFloor} {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		return meta.Put(metaInstance, []byte("1/2"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = old.Close()
	if _, err := Open(fmt.Sprintf("%s/3.db", dir), Options{Instance: 3, Instances: 4, Now: clk.Now}); err == nil {
		t.Fatal("a ledger of instance 1 opened as instance 3")
	}
	migrated, err := Open(fmt.Sprintf("%s/3.db", dir), Options{Instance: 1, Instances: 2, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer migrated.Close()
	if migrated.stride != MaxInstances {
		t.Errorf("a ledger of several instances of an earlier version has stride %d, want %d", migrated.stride, MaxInstances)
	}
	b, err := beginMinutes(migrated, 9999, []int64{5})
	if err != nil {
		t.Fatal(err)
	}
	if b.Slot < JoinFloor || b.Slot%MaxInstances != 1 {
		t.Errorf("migrated ledger took slot %d in a minute before it moved, want one from %d up of residue 1", b.Slot, JoinFloor)
	}
}
