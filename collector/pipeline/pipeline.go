// Package pipeline runs the collector's main job: list the objects of each
// source, decode and aggregate them in batches, write each batch to storage
// exactly once, and delete what is stored.
//
// The delivery scheme (docs/pipeline.md, Exactly once): before a batch is
// written, the ledger records it — its objects, a slot (its samples'
// millisecond offset within each minute) and a snapshot of how its labels
// were resolved. Only when the storage has saved every sample (acknowledged
// it, and a check after its save delay saw no restart: settle.go) is the
// batch committed and are its objects deleted. After a crash, pending
// batches are replayed first from the same objects, slot and snapshot, so
// they write byte-identical samples, which the storage's 1 ms deduplication
// collapses.
package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// Writer stores batches of series (vmclient.Client is one).
type Writer interface {
	// NewBatch returns an empty batch to add series to.
	NewBatch() *vmclient.Batch
	// WriteBatch returns nil only once the storage acknowledged every
	// sample of the batch.
	WriteBatch(ctx context.Context, b *vmclient.Batch) error
	// Durability tells when acknowledged samples are saved to disk: only
	// then are their objects deleted.
	Durability
}

// sourceRun is a configured source as the pipeline runs it: its settings
// and what the rounds keep of it.
type sourceRun struct {
	*sourcestate.Source

	stats     *sourcestate.Stats
	state     *ledger.SourceState // first-run state, once known
	lastPrune time.Time
	seen      map[string]string // key → version of the objects waiting at the last listing
	failure   error             // with once: why the source failed
	// limited is true for a source over Options.MaxSources.
	limited bool
	// age is how old its oldest waiting object was at its listing in the
	// current round over the sources, if listed is true; backfilling says
	// that the listing was its first run's backfill (old objects collected
	// on purpose, whose age says nothing of the load).
	age         time.Duration
	listed      bool
	backfilling bool
}

// log returns the source log.
func (s *sourceRun) log() *slog.Logger {
	if s.Log == nil {
		return discard
	}
	return s.Log
}

// TopKAll as Options.TopK keeps every label set of the top-K families
// (aggregation.top_k 0).
const TopKAll = -1

// Options tune the pipeline.
type Options struct {
	// TopK bounds the top-K families (0: DefaultTopK; TopKAll keeps
	// every label set).
	TopK int
	// MaxObjects is the most objects merged into one batch (default
	// DefaultMaxObjects).
	MaxObjects int
	// MaxBytes bounds a batch's objects' stored size (default
	// DefaultMaxBytes, 4 MiB; a larger object makes a batch of its own).
	// The memory a batch takes grows with its records.
	MaxBytes int64
	// MaxWait is how long to wait for more objects when fewer than
	// MaxObjects are there (default DefaultMaxWait), and the pause between
	// listings when there is nothing to do.
	MaxWait time.Duration
	// Workers decode objects at once (default GOMAXPROCS).
	Workers int
	// Progress is how often a progress line is logged (default 10s).
	Progress time.Duration
	// Logger receives the pipeline's log; default slog.Default().
	Logger *slog.Logger
	// Now is the clock of first-run cutoffs and of the ages overload
	// compares with MaxLag; default time.Now.
	Now func() time.Time
	// Share is the part of every source this collector instance takes when
	// several read the same sources (the configuration's instance): the
	// objects of the flow logs it owns (source.Share). The zero Share takes
	// every object.
	Share source.Share

	// The memory bounds (docs/pipeline.md, Memory) count cells: one label
	// set of one family in one minute (aggregate.Aggregate.Cells).

	// MaxObjectCells is the most cells one object's aggregate may hold
	// (default DefaultMaxObjectCells): decoding stops as soon as an object
	// goes over it, and the object is quarantined with a TooLarge
	// *decode.ObjectError. A replay is not bound by it: its objects passed
	// when the batch was recorded.
	MaxObjectCells int
	// MaxBatchCells bounds a batch's aggregate (default
	// DefaultMaxBatchCells): a batch closes before the object whose cells
	// would take it over, which starts the next batch (an object over it
	// on its own makes a batch of its own). It also bounds the cells of the
	// objects decoded ahead of the one a batch waits for.
	MaxBatchCells int
	// MaxInterfaces and MaxAddresses bound what earlier batches taught:
	// the metadata of interfaces and the interfaces addresses belong to
	// (defaults DefaultMaxInterfaces and DefaultMaxAddresses). Beyond them
	// the least recently seen are forgotten, in memory and in the ledger
	// (what a batch used is in its recorded resolution).
	MaxInterfaces int
	MaxAddresses  int
	// Directory, if set, is consulted after what the records taught: where
	// an interface is, which interface holds an address (the entity sync's
	// awssync.Directory). What it answers for a batch is recorded with the
	// batch, as the rest of its resolution: a replay resolves the same way
	// whatever the directory says by then.
	Directory Directory

	// MaxLag is Overload.MaxLag: 0 (the zero Options) never pauses a
	// source.
	MaxLag time.Duration
	// MaxSources and MaxExporters are Limits': 0 is no limit.
	MaxSources, MaxExporters int
}

// Directory is an inventory of interfaces and their private addresses.
// Its methods are called from the pipeline's batch goroutine while
// something else may update it.
type Directory interface {
	// Interface returns where an interface is.
	Interface(iface string) (aggregate.Meta, bool)
	// Owner returns the interface that holds an address in a VPC.
	Owner(vpc, addr string) (string, bool)
}

func (o *Options) setDefaults() {
	if o.TopK == 0 {
		o.TopK = DefaultTopK
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = DefaultMaxObjects
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Progress <= 0 {
		o.Progress = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxObjectCells <= 0 {
		o.MaxObjectCells = DefaultMaxObjectCells
	}
	if o.MaxBatchCells <= 0 {
		o.MaxBatchCells = DefaultMaxBatchCells
	}
	if o.MaxInterfaces <= 0 {
		o.MaxInterfaces = DefaultMaxInterfaces
	}
	if o.MaxAddresses <= 0 {
		o.MaxAddresses = DefaultMaxAddresses
	}
}

// Pipeline is the collector's main job over a set of sources.
type Pipeline struct {
	sources []*sourceRun
	ledger  *ledger.Ledger
	writer  Writer
	opts    Options
	log     *slog.Logger
	stats   sourcestate.Totals

	// What earlier batches taught: interface metadata and address owners.
	known *knowledge
	// keeper decides the keep sets of the top-K families.
	keeper *aggregate.Keeper

	mu        sync.Mutex // guards sources, srcStats, exporters, paused, ranks
	srcStats  map[string]*sourcestate.Stats
	exporters map[exporterKey]int64
	maxRanked int // 0: the constant maxRanked (tests set a smaller bound)
	// Overload (overload.go): the sources paused, in the order they were,
	// and how many rounds to let pass before pausing or resuming another.
	paused []pausedSource
	calm   int
	// Limits (limits_exporters.go): the rank of every exporter met, by
	// aggregate.ExporterKey (the first met is 0), and the records dropped
	// per exporter.
	ranks   map[string]int
	dropped map[string]int64

	// Batches acknowledged and waiting to be saved (settle.go).
	durability    Durability
	settleMu      sync.Mutex // guards unsettled, unsettledIDs, lostBatches
	unsettled     []*unsettled
	unsettledIDs  map[uint64]bool
	lostBatches   bool
	durableAfter  time.Duration // as of the latest check
	lastCheck     time.Time
	checkFailures int
	noFlush       bool // the storage cannot be asked to save at once (Flusher)

	aggPool  sync.Pool
	stopping atomic.Bool
	stopped  chan struct{} // closed by Stop
	stopOnce sync.Once
	unread   int // objects the last rounds could not read
}

// Stop asks Run to return once the batch in flight is stored, instead of
// starting another.
func (p *Pipeline) Stop() {
	p.stopOnce.Do(func() {
		p.stopping.Store(true)
		close(p.stopped)
	})
}

// New returns a pipeline; it loads what earlier runs learned from the
// ledger.
func New(sources []*sourcestate.Source, l *ledger.Ledger, w Writer, opts Options) (*Pipeline, error) {
	opts.setDefaults()
	p := &Pipeline{ledger: l, writer: w, opts: opts, log: opts.Logger,
		known: newKnowledge(opts.MaxInterfaces, opts.MaxAddresses, opts.Directory), keeper: aggregate.NewKeeper(max(opts.TopK, 1)), stopped: make(chan struct{}),
		srcStats: map[string]*sourcestate.Stats{}, exporters: map[exporterKey]int64{}, ranks: map[string]int{}, dropped: map[string]int64{},
		durability: w, unsettledIDs: map[uint64]bool{}}
	p.SetSources(sources)
	p.aggPool.New = func() any { return aggregate.New() }
	err := l.Facts(factMeta, func(key string, value []byte) error {
		var m aggregate.Meta
		if err := json.Unmarshal(value, &m); err != nil {
			return fmt.Errorf("fact %s %s: %w", factMeta, key, err)
		}
		p.known.loadMeta(key, m)
		return nil
	})
	if err == nil {
		err = l.Facts(factOwner, func(key string, value []byte) error {
			p.known.loadOwner(key, string(value))
			return nil
		})
	}
	for _, kind := range []string{factKeep, factTally} {
		if err == nil {
			err = l.Facts(kind, func(key string, value []byte) error { return loadKeep(p.keeper, kind, key, value) })
		}
	}
	if err == nil {
		err = l.Facts(factExporter, p.loadRank)
	}
	if err != nil {
		return nil, fmt.Errorf("load learned facts: %w", err)
	}
	return p, nil
}

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() *sourcestate.Totals { return &p.stats }
