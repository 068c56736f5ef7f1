// Package ledger is the collector's durable memory, kept in a bbolt file:
// which source objects were ingested or quarantined, which batches were
// begun but not yet acknowledged by VictoriaMetrics, the write slot of every
// batch, and facts the collector learned along the way.
//
// # Exactly-once protocol
//
// The pipeline skips every listed object that Lookup reports as known. It
// decodes and aggregates a batch of unknown objects, then calls BeginBatch
// before writing anything. BeginBatch, in one durable transaction, assigns
// the batch an ID and a slot, records its objects as pending, stores the
// snapshot the pipeline needs to replay the batch identically and the facts
// it learned. The pipeline writes the batch's samples at minute start +
// slot milliseconds and, once VictoriaMetrics acknowledged them, calls
// CommitBatch, which marks the objects ingested. After a crash,
// PendingBatches returns the batches begun but not committed, oldest first;
// replaying one writes the same samples at the same timestamps, which
// VictoriaMetrics (-dedup.minScrapeInterval=1ms) collapses.
//
// # Slots
//
// A minute has SlotsPerMinute slots (one per millisecond). Two batches that
// touch the same minute never get the same slot, so neither overwrites the
// other's samples. A batch gets the smallest slot that is free in every one
// of its minutes (each minute keeps the set of slots taken in it), so slots
// are reused as soon as the minutes allow: batches whose minutes overlap
// pick among a few dozen slots however long the collector runs. Only a
// minute touched by SlotsPerMinute/Instances batches of one instance runs
// out, and then BeginBatch fails with ErrNoSlot.
//
// # Scale-out
//
// Several collector instances may write to the same VictoriaMetrics, each
// with its own ledger and a distinct index. A ledger that is or was one of
// several (Options.Instances above 1) only uses slots s with
// s % MaxInstances == Options.Instance, whatever the count, so instances
// never pick the same slot for a minute, and the count may change: an
// instance added later, or a collector that ran alone before, keeps the
// same residue class. A single collector that never ran with others uses
// every slot. Two rules cover what the residue classes do not:
//
//   - a ledger created for one of several instances, or moved from the
//     slot scheme of earlier versions (residue modulo the count), takes
//     only slots from JoinFloor up in the minutes before it (up to an hour
//     after its creation): the collectors that wrote those minutes before
//     it (a single collector with every slot, an older version) used the
//     slots below, as a minute is touched by a few dozen batches at most;
//   - Open refuses another index than the ledger's (its slots are that
//     index's), and another count while the ledger holds batches not
//     committed or ingested objects not yet deleted (ErrShareInFlight):
//     with the new count another instance may take those objects too.
//     Options.AllowReconfigure overrides both.
//
// # Minute retention
//
// The per-minute slot counters would grow forever, so Open drops those of
// minutes older than Options.MinuteRetention (400 days by default), except
// minutes of pending batches. It remembers the highest counter it dropped:
// a batch that touches a dropped minute later starts from there, so slots
// stay unique even for very late data (at the cost of fewer free slots in
// such old minutes).
package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

const (
	// SlotsPerMinute is the number of write slots in a minute: the samples
	// of a batch are written at minute start + slot milliseconds.
	SlotsPerMinute = 60000
	// NoSlot is the slot of a batch that touches no minute (it has nothing
	// to write, for example because all its records were invalid).
	NoSlot = -1
	// DefaultTimeout is how long Open waits for the file lock by default.
	DefaultTimeout = time.Second
	// DefaultMinuteRetention is how long the slot counter of a minute is kept
	// by default.
	DefaultMinuteRetention = 400 * 24 * time.Hour
)

// formatVersion is the on-disk format of the ledger, stored in the meta
// bucket.
const formatVersion = "2" // 2: a minute keeps the set of its taken slots

// ErrNotFound is returned (wrapped) when a batch or a quarantined object does
// not exist.
var ErrNotFound = errors.New("not found")

// ErrNoSlot is returned (wrapped) by BeginBatch when a minute of the batch has
// no free slot left for this instance.
var ErrNoSlot = errors.New("no free slot")

// Bucket names and meta keys.
var (
	bucketMeta    = []byte("meta")
	bucketObjects = []byte("objects") // sub-bucket per source: key → record
	bucketBatches = []byte("batches") // ID (big-endian) → encoded batch
	bucketMinutes = []byte("minutes") // minute (big-endian) → next free slot
	bucketFacts   = []byte("facts")   // sub-bucket per kind: key → value
	bucketSources = []byte("sources") // source name → JSON SourceState

	metaFormat   = []byte("format")
	metaID       = []byte("id")
	metaInstance = []byte("instance")       // "i/n"
	metaStride   = []byte("slot_stride")    // slots s % stride == index
	metaHorizon  = []byte("pruned_horizon") // minutes below were pruned
	metaFloor    = []byte("pruned_floor")   // highest next slot pruned
)

// Options configures a Ledger. The zero value is instance 0 of 1 with the
// default timeout and minute retention.
type Options struct {
	// Instance is this collector's index among Instances (0-based); it only
	// uses slots s with s % Instances == Instance.
	Instance int
	// Instances is the number of collector instances writing to the same
	// VictoriaMetrics; 0 means 1. At most MaxInstances.
	Instances int
	// Timeout is how long Open waits for the file lock held by another
	// process; 0 means DefaultTimeout.
	Timeout time.Duration
	// MinuteRetention is how long the slot counters of a minute are kept
	// (see the package documentation); 0 means DefaultMinuteRetention, a
	// negative value keeps them forever.
	MinuteRetention time.Duration
	// AllowReconfigure lets Open accept another Instance than the one the
	// ledger was last used with, or another Instances while the ledger holds
	// work in flight (see Scale-out): slots may then collide with another
	// instance's, or objects be taken by two instances.
	AllowReconfigure bool
	// Now is the clock used for timestamps and pruning; nil means time.Now.
	Now func() time.Time
}

// withDefaults validates the options and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Instances == 0 {
		o.Instances = 1
	}
	if o.Instances < 1 || o.Instances > MaxInstances {
		return o, fmt.Errorf("instances must be between 1 and %d, got %d", MaxInstances, o.Instances)
	}
	if o.Instance < 0 || o.Instance >= o.Instances {
		return o, fmt.Errorf("instance must be between 0 and %d (instances %d), got %d", o.Instances-1, o.Instances, o.Instance)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MinuteRetention == 0 {
		o.MinuteRetention = DefaultMinuteRetention
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// Ledger is an open ledger file. Its methods are safe for concurrent use;
// write transactions are serialised by bbolt.
type Ledger struct {
	db   *bolt.DB
	path string
	opts Options
	id   string
	// stride: the ledger's slots s have s % stride == opts.Instance (1
	// or MaxInstances, see Scale-out).
	stride int
}

// Open opens the ledger at path, creating the file (and its directory) if
// needed. Only one process may have a ledger open: if another one holds it
// for longer than opts.Timeout, Open fails with an error saying the ledger
// is in use by another collector.
func Open(path string, opts Options) (*Ledger, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("ledger %s: creating directory: %w", path, err)
	}
	db, err := openDB(path, o.Timeout)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("ledger %s is in use by another collector (file lock not obtained within %s)", path, o.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("opening ledger %s: %w", path, err)
	}
	l := &Ledger{db: db, path: path, opts: o}
	err = l.check()
	if err == nil {
		err = l.update(l.init)
	}
	if err != nil {
		_ = db.Close()
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return l, nil
}

// Close closes the ledger file and releases its lock.
func (l *Ledger) Close() error {
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("closing ledger %s: %w", l.path, err)
	}
	return nil
}

// Path returns the file the ledger is stored in.
func (l *Ledger) Path() string { return l.path }

// init creates the buckets, checks the format and the instance
// configuration, and prunes old minutes.
func (l *Ledger) init(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketObjects, bucketBatches, bucketMinutes, bucketFacts, bucketSources} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch v := meta.Get(metaFormat); {
	case v == nil:
		if err := meta.Put(metaFormat, []byte(formatVersion)); err != nil {
			return fmt.Errorf("writing format: %w", err)
		}
	case string(v) != formatVersion:
		return fmt.Errorf("unsupported ledger format %q (want %q)", v, formatVersion)
	}
	if id := meta.Get(metaID); id != nil {
		l.id = string(id)
	} else {
		id, err := newID()
		if err != nil {
			return err
		}
		if err := meta.Put(metaID, []byte(id)); err != nil {
			return fmt.Errorf("writing id: %w", err)
		}
		l.id = id
	}
	if err := l.initInstance(tx); err != nil {
		return err
	}
	if l.opts.MinuteRetention > 0 {
		horizon := l.opts.Now().Add(-l.opts.MinuteRetention).Unix() / 60
		if err := pruneMinutes(tx, horizon); err != nil {
			return fmt.Errorf("pruning minutes: %w", err)
		}
	}
	return nil
}

// MaxInstances is the most collector instances that may share a
// VictoriaMetrics (Options.Instances): the residue classes of slots among
// several instances are modulo MaxInstances, which leaves each instance
// SlotsPerMinute/MaxInstances slots in a minute.
const MaxInstances = 50

// JoinFloor is the lowest slot a ledger that joined several instances takes
// in the minutes before it joined (see Scale-out).
const JoinFloor = SlotsPerMinute / 2

// joinMargin is how far past its creation a joining ledger keeps to
// JoinFloor: minutes a little ahead of the clock (a skewed exporter) may
// have been written before it joined.
const joinMargin = time.Hour

// ErrShareInFlight is Open's error when the instance count changed while the
// ledger holds batches not committed or ingested objects not yet deleted.
var ErrShareInFlight = errors.New("work in flight under the old count")

// initInstance checks the instance the ledger is opened as against the one
// it was used as, and settles its slot stride (see Scale-out).
func (l *Ledger) initInstance(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	old := meta.Get(metaInstance)
	oldIndex, oldCount, err := parseInstance(old)
	if err != nil {
		return err
	}
	if old != nil && !l.opts.AllowReconfigure {
		if oldIndex != l.opts.Instance {
			return fmt.Errorf("ledger was used as instance %s and is now opened as instance %s: the index of a state_dir cannot change (its slots are that index's; give the new index a state_dir of its own)", old, l.Instance())
		}
		if oldCount != l.opts.Instances {
			if err := inFlight(tx, oldCount, l.opts.Instances); err != nil {
				return err
			}
		}
	}
	stride := 1
	join := false
	switch v := meta.Get(metaStride); {
	case len(v) == 4:
		stride = int(binary.BigEndian.Uint32(v))
	case old == nil: // new
		join = l.opts.Instances > 1
	case oldCount > 1: // the scheme of earlier versions
		join = true
	}
	if l.opts.Instances > 1 || join {
		stride = MaxInstances
	}
	if stride != 1 && stride != MaxInstances {
		return fmt.Errorf("slot stride %d: want 1 or %d", stride, MaxInstances)
	}
	if join {
		horizon, floor := prunedState(meta)
		horizon = max(horizon, l.opts.Now().Add(joinMargin).Unix()/60+1)
		if err := putPrunedState(meta, horizon, max(floor, JoinFloor)); err != nil {
			return err
		}
	}
	l.stride = stride
	if err := meta.Put(metaStride, binary.BigEndian.AppendUint32(nil, uint32(stride))); err != nil {
		return fmt.Errorf("writing slot stride: %w", err)
	}
	if err := meta.Put(metaInstance, []byte(l.Instance())); err != nil {
		return fmt.Errorf("writing instance: %w", err)
	}
	return nil
}

// parseInstance reads the "i/n" a ledger was last used as (none: 0, 0).
func parseInstance(v []byte) (index, count int, err error) {
	if v == nil {
		return 0, 0, nil
	}
	i, n, ok := strings.Cut(string(v), "/")
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("instance %q: want index/count", v)
	}
	return index, count, nil
}

// inFlight fails with ErrShareInFlight when the ledger holds batches not
// committed or ingested objects not yet deleted.
func inFlight(tx *bolt.Tx, oldCount, newCount int) error {
	batches := tx.Bucket(bucketBatches).Stats().KeyN
	ingested := 0
	err := tx.Bucket(bucketObjects).ForEachBucket(func(src []byte) error {
		return tx.Bucket(bucketObjects).Bucket(src).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(string(src), string(k), v)
			if err != nil {
				return err
			}
			if r.State == Ingested || r.State == Pending {
				ingested++
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if batches == 0 && ingested == 0 {
		return nil
	}
	return fmt.Errorf("instance count changed from %d to %d while this ledger holds %d batches not committed and %d objects ingested but not yet deleted, "+
		"which another instance could take under the new count: run this collector with count %d until they are done (`run --once` finishes them; "+
		"a source that keeps its objects, delete_after_ingest: false, keeps its records for days), then change the count of every instance: %w",
		oldCount, newCount, batches, ingested, oldCount, ErrShareInFlight)
}

// putPrunedState writes the pruned horizon and floor.
func putPrunedState(meta *bolt.Bucket, horizon int64, floor int) error {
	if err := meta.Put(metaHorizon, binary.BigEndian.AppendUint64(nil, uint64(horizon))); err != nil {
		return fmt.Errorf("writing pruned horizon: %w", err)
	}
	if err := meta.Put(metaFloor, binary.BigEndian.AppendUint32(nil, uint32(floor))); err != nil {
		return fmt.Errorf("writing pruned floor: %w", err)
	}
	return nil
}

// pruneMinutes drops the slot counters of minutes below horizon, except
// those of pending batches, and raises the pruned horizon and floor.
func pruneMinutes(tx *bolt.Tx, horizon int64) error {
	if horizon <= 0 {
		return nil
	}
	keep := map[int64]bool{}
	err := tx.Bucket(bucketBatches).ForEach(func(k, v []byte) error {
		b, err := decodeBatch(v)
		if err != nil {
			return fmt.Errorf("batch %d: %w", binary.BigEndian.Uint64(k), err)
		}
		for _, m := range b.Minutes {
			keep[m] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	oldHorizon, floor := prunedState(meta)
	if horizon <= oldHorizon {
		return nil
	}
	mb := tx.Bucket(bucketMinutes)
	var drop [][]byte
	c := mb.Cursor()
	for k, v := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) < horizon; k, v = c.Next() {
		if keep[int64(binary.BigEndian.Uint64(k))] {
			continue
		}
		if slots := decodeSlots(v); len(slots) > 0 {
			floor = max(floor, slots[len(slots)-1]+1)
		}
		drop = append(drop, k)
	}
	for _, k := range drop {
		if err := mb.Delete(k); err != nil {
			return fmt.Errorf("deleting minute: %w", err)
		}
	}
	return putPrunedState(meta, horizon, floor)
}

// prunedState returns the minute below which counters were pruned and the
// highest next slot among the pruned counters.
func prunedState(meta *bolt.Bucket) (horizon int64, floor int) {
	if v := meta.Get(metaHorizon); len(v) == 8 {
		horizon = int64(binary.BigEndian.Uint64(v))
	}
	if v := meta.Get(metaFloor); len(v) == 4 {
		floor = int(binary.BigEndian.Uint32(v))
	}
	return horizon, floor
}

// now returns the current time at millisecond precision in UTC, the
// precision of every time the ledger stores.
func (l *Ledger) now() time.Time {
	return time.UnixMilli(l.opts.Now().UnixMilli()).UTC()
}
