package ledger

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Batch is a set of objects written to VictoriaMetrics together.
type Batch struct {
	// ID is unique for the ledger and increases with every batch begun.
	ID uint64
	// Slot is the millisecond offset within each minute at which the
	// batch's samples are written, or NoSlot if the batch has no minutes.
	Slot int
	// Minutes are the Unix minute numbers (Unix seconds / 60) the batch
	// writes to, sorted, without duplicates.
	Minutes []int64
	// Objects are the objects of the batch, in the order given.
	Objects []Object
	// Snapshot is the pipeline's opaque replay state (nil if empty).
	Snapshot []byte
	// Created is when the batch was begun (millisecond precision, UTC).
	Created time.Time
}

// Fact is something the pipeline learned (e.g. Kind "iface", Key an ENI id,
// Value JSON metadata) and stores with a batch, so that a replay of later
// batches sees it. A fact with a nil Value deletes the fact of its kind and
// key: what the pipeline forgot.
type Fact struct {
	Kind  string
	Key   string
	Value []byte
}

// batchHeader is the JSON part of a stored batch; the snapshot follows it.
type batchHeader struct {
	ID      uint64   `json:"id"`
	Slot    int      `json:"slot"`
	Minutes []int64  `json:"minutes,omitempty"`
	Objects []Object `json:"objects"`
	Created int64    `json:"created_ms"`
}

// encodeBatch encodes a batch as a uvarint-prefixed JSON header followed by
// the raw snapshot.
func encodeBatch(b Batch) ([]byte, error) {
	h, err := json.Marshal(batchHeader{ID: b.ID, Slot: b.Slot, Minutes: b.Minutes, Objects: b.Objects, Created: b.Created.UnixMilli()})
	if err != nil {
		return nil, fmt.Errorf("encoding batch %d: %w", b.ID, err)
	}
	out := make([]byte, 0, binary.MaxVarintLen64+len(h)+len(b.Snapshot))
	out = binary.AppendUvarint(out, uint64(len(h)))
	out = append(out, h...)
	return append(out, b.Snapshot...), nil
}

// decodeBatch decodes a stored batch; the result does not alias v.
func decodeBatch(v []byte) (Batch, error) {
	hl, n := binary.Uvarint(v)
	if n <= 0 || hl > uint64(len(v)-n) {
		return Batch{}, errors.New("corrupt batch: bad header length")
	}
	var h batchHeader
	if err := json.Unmarshal(v[n:n+int(hl)], &h); err != nil {
		return Batch{}, fmt.Errorf("corrupt batch: %w", err)
	}
	b := Batch{ID: h.ID, Slot: h.Slot, Minutes: h.Minutes, Objects: h.Objects, Created: time.UnixMilli(h.Created).UTC()}
	if snap := v[n+int(hl):]; len(snap) > 0 {
		b.Snapshot = slices.Clone(snap)
	}
	return b, nil
}

// batchKey is the bbolt key of a batch ID.
func batchKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// minuteKey is the bbolt key of a minute.
func minuteKey(m int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(m)) }

// BeginBatch records a batch before its samples are written, in one durable
// transaction: it assigns the batch an ID and a slot free in every one of
// the minutes (Unix minute numbers) it touches, records its objects as
// pending, and stores the snapshot and the learned facts (a fact replaces
// an earlier one of the same kind and key). Nothing is stored if it fails;
// it fails if an object is already pending (in any version), or ingested or
// quarantined with the same version, if an object appears twice, or if a
// minute has no free slot left (ErrNoSlot).
func (l *Ledger) BeginBatch(objects []Object, minutes []int64, snapshot []byte, learned []Fact) (Batch, error) {
	b := Batch{
		Slot:    NoSlot,
		Objects: slices.Clone(objects),
		Created: l.now(),
	}
	if len(snapshot) > 0 {
		b.Snapshot = slices.Clone(snapshot)
	}
	if err := validateBatch(objects, minutes, learned); err != nil {
		return Batch{}, fmt.Errorf("ledger begin batch: %w", err)
	}
	if len(minutes) > 0 {
		b.Minutes = slices.Clone(minutes)
		slices.Sort(b.Minutes)
		b.Minutes = slices.Compact(b.Minutes)
	}
	err := l.update(func(tx *bolt.Tx) error {
		for _, o := range b.Objects {
			r, ok, err := getRecord(tx, o.Source, o.Key)
			if err != nil {
				return err
			}
			switch {
			case !ok:
			case r.State == Pending:
				return fmt.Errorf("object %s is already pending in batch %d (version %q)", o, r.Batch, r.Version)
			case r.Version == o.Version:
				return fmt.Errorf("object %s is already %s", o, r.State)
			}
		}
		batches := tx.Bucket(bucketBatches)
		id, err := batches.NextSequence()
		if err != nil {
			return fmt.Errorf("allocating batch id: %w", err)
		}
		b.ID = id
		if len(b.Minutes) > 0 {
			if b.Slot, err = l.takeSlot(tx, b.Minutes); err != nil {
				return err
			}
		}
		for _, o := range b.Objects {
			if err := putRecord(tx, Record{Object: o, State: Pending, Batch: id, At: b.Created}); err != nil {
				return err
			}
		}
		v, err := encodeBatch(b)
		if err != nil {
			return err
		}
		if err := batches.Put(batchKey(id), v); err != nil {
			return fmt.Errorf("writing batch %d: %w", id, err)
		}
		return putFacts(tx, learned)
	})
	if err != nil {
		return Batch{}, fmt.Errorf("ledger begin batch: %w", err)
	}
	return b, nil
}

// validateBatch checks the arguments of BeginBatch.
func validateBatch(objects []Object, minutes []int64, learned []Fact) error {
	if len(objects) == 0 {
		return errors.New("batch has no objects")
	}
	type ref struct{ source, key string }
	seen := make(map[ref]bool, len(objects))
	for _, o := range objects {
		if err := o.validate(); err != nil {
			return fmt.Errorf("object %s: %w", o, err)
		}
		if seen[ref{o.Source, o.Key}] {
			return fmt.Errorf("object %s appears twice in the batch", o)
		}
		seen[ref{o.Source, o.Key}] = true
	}
	for _, m := range minutes {
		if m < 0 {
			return fmt.Errorf("negative minute %d", m)
		}
	}
	for _, f := range learned {
		if err := validName("fact kind", f.Kind); err != nil {
			return err
		}
		if err := validName("fact key", f.Key); err != nil {
			return fmt.Errorf("fact of kind %q: %w", f.Kind, err)
		}
	}
	return nil
}

// takeSlot picks the smallest slot of this instance's residue class that no
// batch has taken in any of the minutes, and marks it taken in each. Slots
// are reused as soon as the minutes allow: a collector that runs for years
// with batches whose minutes overlap keeps picking among a few dozen slots.
// A minute whose record was pruned counts every slot below the pruning floor
// as taken.
func (l *Ledger) takeSlot(tx *bolt.Tx, minutes []int64) (int, error) {
	mb := tx.Bucket(bucketMinutes)
	horizon, floor := prunedState(tx.Bucket(bucketMeta))
	taken := map[int]bool{}
	low := 0 // every slot below is taken in some minute
	sets := make([][]int, len(minutes))
	for i, m := range minutes {
		v := mb.Get(minuteKey(m))
		if m < horizon {
			// The minute's record may have been pruned (its slots below
			// the floor were taken), or written before this ledger joined
			// other instances (see Scale-out).
			low = max(low, floor)
		}
		sets[i] = decodeSlots(v)
		for _, s := range sets[i] {
			taken[s] = true
		}
	}
	inst, stride := l.opts.Instance, l.stride
	slot := low + (inst-low%stride+stride)%stride
	for taken[slot] {
		slot += stride
	}
	if slot >= SlotsPerMinute {
		return 0, fmt.Errorf("minutes %s…: every slot of instance %d is taken: %w",
			time.Unix(minutes[0]*60, 0).UTC().Format("2006-01-02T15:04Z"), inst, ErrNoSlot)
	}
	for i, m := range minutes {
		set := append(sets[i], slot)
		slices.Sort(set)
		if err := mb.Put(minuteKey(m), encodeSlots(set)); err != nil {
			return 0, fmt.Errorf("writing minute %d: %w", m, err)
		}
	}
	return slot, nil
}

// encodeSlots encodes a minute's taken slots, sorted, two bytes each.
func encodeSlots(slots []int) []byte {
	out := make([]byte, 0, 2*len(slots))
	for _, s := range slots {
		out = binary.BigEndian.AppendUint16(out, uint16(s))
	}
	return out
}

func decodeSlots(v []byte) []int {
	out := make([]int, 0, len(v)/2+1)
	for i := 0; i+1 < len(v); i += 2 {
		out = append(out, int(binary.BigEndian.Uint16(v[i:])))
	}
	return out
}

// CommitBatch marks the objects of a batch ingested and removes the batch
// and its snapshot, in one durable transaction. The pipeline calls it once
// VictoriaMetrics acknowledged the batch's samples. It fails with
// ErrNotFound if the batch is not pending.
func (l *Ledger) CommitBatch(id uint64) error {
	err := l.update(func(tx *bolt.Tx) error {
		batches := tx.Bucket(bucketBatches)
		v := batches.Get(batchKey(id))
		if v == nil {
			return fmt.Errorf("batch is not pending: %w", ErrNotFound)
		}
		b, err := decodeBatch(v)
		if err != nil {
			return err
		}
		at := l.now()
		for _, o := range b.Objects {
			r, ok, err := getRecord(tx, o.Source, o.Key)
			if err != nil {
				return err
			}
			if !ok || r.State != Pending || r.Batch != id || r.Version != o.Version {
				return fmt.Errorf("inconsistent ledger: object %s of the batch is %s (batch %d, version %q)", o, r.State, r.Batch, r.Version)
			}
			r.State, r.At = Ingested, at
			if err := putRecord(tx, r); err != nil {
				return err
			}
		}
		if err := batches.Delete(batchKey(id)); err != nil {
			return fmt.Errorf("deleting batch: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger commit of batch %d: %w", id, err)
	}
	return nil
}

// PendingBatches returns the batches begun but not committed, oldest first,
// with their objects, slot, minutes and snapshot. After a crash the
// pipeline replays them before anything new.
func (l *Ledger) PendingBatches() ([]Batch, error) {
	var out []Batch
	err := l.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBatches).ForEach(func(k, v []byte) error {
			b, err := decodeBatch(v)
			if err != nil {
				return fmt.Errorf("batch %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, b)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger listing pending batches: %w", err)
	}
	return out, nil
}

// putFacts stores facts, replacing earlier values; a fact without a value
// deletes its key.
func putFacts(tx *bolt.Tx, facts []Fact) error {
	root := tx.Bucket(bucketFacts)
	for _, f := range facts {
		kb, err := root.CreateBucketIfNotExists([]byte(f.Kind))
		if err != nil {
			return fmt.Errorf("creating bucket for facts of kind %q: %w", f.Kind, err)
		}
		if f.Value == nil {
			if err := kb.Delete([]byte(f.Key)); err != nil {
				return fmt.Errorf("deleting fact %s/%s: %w", f.Kind, f.Key, err)
			}
			continue
		}
		if err := kb.Put([]byte(f.Key), f.Value); err != nil {
			return fmt.Errorf("writing fact %s/%s: %w", f.Kind, f.Key, err)
		}
	}
	return nil
}

// Facts calls fn for every fact of a kind, in key order, until fn returns
// an error, which Facts returns wrapped. The facts are read in one
// transaction before fn is called, so fn may call the ledger, and may keep
// value.
func (l *Ledger) Facts(kind string, fn func(key string, value []byte) error) error {
	var facts []Fact
	err := l.view(func(tx *bolt.Tx) error {
		kb := tx.Bucket(bucketFacts).Bucket([]byte(kind))
		if kb == nil {
			return nil
		}
		return kb.ForEach(func(k, v []byte) error {
			facts = append(facts, Fact{Kind: kind, Key: string(k), Value: slices.Clone(v)})
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("ledger reading facts of kind %q: %w", kind, err)
	}
	for _, f := range facts {
		if err := fn(f.Key, f.Value); err != nil {
			return fmt.Errorf("fact %s/%s: %w", kind, f.Key, err)
		}
	}
	return nil
}
