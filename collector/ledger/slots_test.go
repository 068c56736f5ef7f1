package ledger

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

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
		{"instance 1 of 3", Options{Instance: 1, Instances: 3}, []step{
			{[]int64{1}, 1}, {[]int64{1}, 4}, {[]int64{2}, 1}, {[]int64{1, 2}, 7}, {[]int64{2}, 4},
		}},
		{"instance 1 of 2", Options{Instance: 1, Instances: 2}, []step{
			{[]int64{7}, 1}, {[]int64{7, 8}, 3}, {[]int64{8}, 1},
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
				ledgers[i], _ = openTest(t, Options{Instance: i, Instances: tt.instances})
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
				if b.Slot%tt.instances != inst {
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
		// With 60000 instances, an instance owns one slot per minute.
		{"one slot per minute", Options{Instance: 59999, Instances: SlotsPerMinute}, []int64{5, 6, 5}, []int{59999, 59999}},
		{"two slots per minute", Options{Instance: 0, Instances: SlotsPerMinute / 2}, []int64{5, 5, 5}, []int{0, 30000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := openTest(t, tt.opts)
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
			_, err := beginMinutes(l, last, []int64{tt.minutes[last], 1000})
			if !errors.Is(err, ErrNoSlot) {
				t.Fatalf("batch on a full minute: error %v, want ErrNoSlot", err)
			}
			b, err := beginMinutes(l, last, []int64{1000})
			if err != nil {
				t.Fatalf("batch on a fresh minute after the failure: %v", err)
			}
			if b.Slot != tt.wantSlots[0] {
				t.Errorf("fresh minute slot %d, want %d", b.Slot, tt.wantSlots[0])
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
