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
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
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

// Source is a source with its settings.
type Source struct {
	source.Source
	// Delete removes objects once their data is stored.
	Delete bool
	// Decode holds the format of headerless objects.
	Decode decode.Options
	// Account and Region label records whose key and fields do not say.
	Account, Region string
	// Disabled sources are listed in the status but not collected.
	Disabled bool
	// Fetchers is how many of the source's objects are read at once, when
	// more than Options.Workers: reading a remote object waits on the
	// network, so more run than there are cores (the decoding itself still
	// shares the cores).
	Fetchers int
	// FirstRun says what the first run does with the objects already there.
	FirstRun FirstRun
	// Log is the source log: problems on the source's side (access errors,
	// quarantined objects), for its owners; nil drops them (the main log
	// has them too).
	Log *slog.Logger

	stats     *SourceStats
	state     *ledger.SourceState // first-run state, once known
	lastPrune time.Time
	seen      map[string]string // key → version of the objects waiting at the last listing
	failure   error             // with once: why the source failed
}

// log returns the source log.
func (s *Source) log() *slog.Logger {
	if s.Log == nil {
		return discard
	}
	return s.Log
}

// Options tune the pipeline.
type Options struct {
	// TopK bounds the top-K families (default DefaultTopK).
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
	// Now is the clock of first-run cutoffs; default time.Now.
	Now func() time.Time
	// OnCommit, when set, is called with the minutes (Unix minutes: Unix
	// seconds / 60, sorted) a batch wrote samples to, once the batch is
	// committed, replayed batches included (the rank index marks their
	// hours to rank again: rank.Ranker.Touch). The batch's writer waits
	// for it: it must be quick, and not keep the slice.
	OnCommit func(minutes []int64)

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
}

func (o *Options) setDefaults() {
	if o.TopK <= 0 {
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

// Stats counts the pipeline's work since it started.
type Stats struct {
	Batches     atomic.Int64
	Objects     atomic.Int64 // objects stored
	Records     atomic.Int64 // records of stored objects
	BadLines    atomic.Int64
	Quarantined atomic.Int64
	Deleted     atomic.Int64
	Series      atomic.Int64 // series written (each batch counts its own)
	Samples     atomic.Int64
	ReadBytes   atomic.Int64 // bytes of stored objects, as stored
	Backlog     atomic.Int64 // objects listed and waiting
	// NewestEnd is the latest record end (Unix seconds) stored so far.
	NewestEnd atomic.Int64
	// Written counts the batches the storage acknowledged (replays
	// included); Batches those committed once saved.
	Written atomic.Int64
	// Unsettled counts the batches acknowledged by the storage and waiting
	// to be saved to disk before their objects are deleted.
	Unsettled atomic.Int64
	// Restarts counts the storage restarts that sent batches back for
	// replay.
	Restarts atomic.Int64
}

// Pipeline is the collector's main job over a set of sources.
type Pipeline struct {
	sources []*Source
	ledger  *ledger.Ledger
	writer  Writer
	opts    Options
	log     *slog.Logger
	stats   Stats

	// What earlier batches taught: interface metadata and address owners.
	known *knowledge

	mu        sync.Mutex // guards sources, srcStats, exporters
	srcStats  map[string]*SourceStats
	exporters map[exporterKey]int64

	// Batches acknowledged and waiting to be saved (settle.go).
	durability    Durability
	settleMu      sync.Mutex // guards unsettled, unsettledIDs, lostBatches
	unsettled     []*unsettled
	unsettledIDs  map[uint64]bool
	lostBatches   bool
	durableAfter  time.Duration // as of the latest check
	lastCheck     time.Time
	checkFailures int

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

// Fact kinds in the ledger.
const (
	factMeta  = "meta"
	factOwner = "owner"
)

// New returns a pipeline; it loads what earlier runs learned from the
// ledger.
func New(sources []*Source, l *ledger.Ledger, w Writer, opts Options) (*Pipeline, error) {
	opts.setDefaults()
	p := &Pipeline{sources: sources, ledger: l, writer: w, opts: opts, log: opts.Logger,
		known: newKnowledge(opts.MaxInterfaces, opts.MaxAddresses), stopped: make(chan struct{}),
		srcStats: map[string]*SourceStats{}, exporters: map[exporterKey]int64{},
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
	if err != nil {
		return nil, fmt.Errorf("load learned facts: %w", err)
	}
	return p, nil
}

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

// Run replays pending batches, then ingests what the sources hold, batch by
// batch, until ctx is done; with once, it returns when everything listed is
// stored (or quarantined). A batch whose write was cut short by ctx stays
// pending, to be replayed by the next run.
func (p *Pipeline) Run(ctx context.Context, once bool) error {
	stopProgress := p.startProgress(ctx)
	defer stopProgress()
	if err := p.baseline(ctx); err != nil {
		return err
	}
	for !p.stopping.Load() {
		// Batches recorded but not stored: those of a previous run, or of a
		// round that failed.
		if err := p.replay(ctx); err != nil {
			if ctx.Err() != nil || once {
				return err
			}
			p.log.Error("replaying pending batches failed", "err", err)
		}
		worked := false
		for _, src := range p.currentSources() {
			if src.Disabled || (once && src.failure != nil) {
				continue
			}
			n, err := p.round(ctx, src, once)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				p.log.Error("source round failed", "source", src.Name(), "err", err)
				if once {
					// The other sources go on; this one is reported at the end.
					src.failure = fmt.Errorf("source %s: %w", src.Name(), err)
				}
				continue
			}
			worked = worked || n > 0
		}
		if err := p.settle(ctx, false); err != nil {
			return err
		}
		if once && !worked {
			// Everything listed is written: wait until it is saved, then
			// replay what a storage restart may have lost, if anything.
			if err := p.settle(ctx, true); err != nil {
				return err
			}
			if p.takeLost() {
				continue
			}
			var failed []error
			for _, src := range p.currentSources() {
				if src.failure != nil {
					failed = append(failed, src.failure)
				}
			}
			if p.unread > 0 {
				failed = append(failed, fmt.Errorf("%d objects could not be read (see the log); they are left for the next run", p.unread))
			}
			return errors.Join(failed...)
		}
		p.unread = 0
		if !worked {
			if err := p.idle(ctx); err != nil {
				return err
			}
		}
	}
	// Stopped: the written batches are saved within the storage's delay;
	// a stop cut short (ctx) leaves them pending, replayed by the next run.
	return p.settle(ctx, true)
}

// baseline checks the storage nodes before anything is written, so that a
// restart after it is seen; it waits while they cannot be read.
func (p *Pipeline) baseline(ctx context.Context) error {
	for {
		dur, err := p.durability.CheckDurability(ctx)
		if err == nil {
			p.durableAfter, p.lastCheck = dur.After, time.Now()
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("storage: %w (last error: %v)", ctx.Err(), err)
		}
		if serr := sleep(ctx, p.checkBackoff()); serr != nil {
			return fmt.Errorf("storage: %w (last error: %v)", serr, err)
		}
	}
}

// round lists a source and processes what is new, batch by batch. It
// returns how many objects it took on.
func (p *Pipeline) round(ctx context.Context, src *Source, once bool) (int, error) {
	if _, err := p.firstRun(ctx, src); err != nil {
		p.sourceFailed(src, err)
		return 0, err
	}
	todo, err := p.listNew(ctx, src)
	if err != nil {
		return 0, err
	}
	if len(todo) < p.opts.MaxObjects && len(todo) > 0 && !once {
		// A few objects: give the next ones a moment to arrive, so that a
		// trickle does not make a batch of each.
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-p.stopped:
			return 0, nil
		case <-time.After(p.opts.MaxWait):
		}
		if todo, err = p.listNew(ctx, src); err != nil {
			return 0, err
		}
	}
	p.stats.Backlog.Store(int64(len(todo)))
	src.stats.Backlog.Store(int64(len(todo)))

	// Two stages: while one batch is being written (the storage works), the
	// next is decoded and aggregated (the collector works).
	ready := make(chan *prepared, 1)
	stored := make(chan error, 1)
	var storeFailed atomic.Bool
	go func() {
		var err error
		for pb := range ready {
			if err == nil {
				err = p.store(ctx, pb)
				storeFailed.Store(err != nil)
			}
		}
		stored <- err
	}()
	done := 0
	for len(todo) > 0 && !p.stopping.Load() && !storeFailed.Load() {
		n := p.batchSize(todo)
		var pb *prepared
		var unread int
		if pb, n, unread, err = p.prepare(ctx, src, todo[:n]); err != nil {
			break
		}
		if pb != nil {
			ready <- pb
		}
		todo = todo[n:]
		done += n - unread // what could not be read is not work done
		p.unread += unread
		p.stats.Backlog.Store(int64(len(todo)))
		src.stats.Backlog.Store(int64(len(todo)))
	}
	close(ready)
	if serr := <-stored; err == nil {
		err = serr
	}
	if err == nil && len(todo) == 0 && !p.stopping.Load() {
		err = p.finishBackfill(src)
	}
	return done, err
}

// batchSize returns how many of the first objects go into the next batch:
// at most Options.MaxObjects, and at most Options.MaxBytes of them as
// stored (but at least one).
func (p *Pipeline) batchSize(objs []source.Object) int {
	n, size := 0, int64(0)
	for n < len(objs) && n < p.opts.MaxObjects {
		size += objs[n].Size
		if n > 0 && size > p.opts.MaxBytes {
			break
		}
		n++
	}
	return n
}

// listNew lists a source and returns the objects the ledger does not know,
// oldest first by the time their keys name, then by key (an order that
// depends on the keys alone, so that a restart batches alike). Objects it knows as
// ingested but which are still there (the collector stopped between
// storing and deleting them) are deleted now. Objects older than the
// first run's cutoff are left alone.
func (p *Pipeline) listNew(ctx context.Context, src *Source) ([]source.Object, error) {
	objs, err := p.list(ctx, src)
	if err != nil {
		p.sourceFailed(src, err)
		return nil, err
	}
	src.stats.SetStatus(StatusEnabled, nil)
	var cutoff time.Time
	if src.state != nil {
		cutoff = src.state.Cutoff
	}
	var todo []source.Object
	for _, o := range objs {
		if !cutoff.IsZero() && o.ModTime.Before(cutoff) {
			continue
		}
		rec, err := p.ledger.Lookup(src.Name(), o.Key, o.Version)
		if err != nil {
			return nil, err
		}
		switch rec.State {
		case ledger.Unknown:
			todo = append(todo, o)
		case ledger.Ingested:
			p.finishObject(ctx, src, o)
		}
	}
	slices.SortFunc(todo, source.CompareByKeyTime)
	// Count each object once however many listings see it waiting.
	seen := make(map[string]string, len(todo))
	for _, o := range todo {
		if v, ok := src.seen[o.Key]; !ok || v != o.Version {
			src.stats.Listed.Add(1)
		}
		seen[o.Key] = o.Version
	}
	src.seen = seen
	return todo, nil
}

// list lists a source: in full, or, for a shared source (objects not
// deleted) past its first run, only its recent date prefixes when it can.
// The ledger's records of objects older than that window are pruned now and
// then: they will not be listed again.
func (p *Pipeline) list(ctx context.Context, src *Source) ([]source.Object, error) {
	sl, ok := src.Source.(SinceLister)
	if src.Delete || !ok || src.state == nil || !src.state.Done {
		return src.List(ctx)
	}
	now := p.now()
	since := now.Add(-sharedWindow)
	if c := src.state.Cutoff; c.After(since) {
		since = c
	}
	if now.Sub(src.lastPrune) > time.Hour {
		src.lastPrune = now
		n, err := p.ledger.PruneIngested(src.Name(), now.Add(-3*sharedWindow))
		if err != nil {
			return nil, err
		}
		if n > 0 {
			p.log.Info("forgot objects outside the listing window", "source", src.Name(), "objects", n)
		}
	}
	return sl.ListSince(ctx, since)
}

// sourceFailed records a failure on the source's side in its status and its
// source log.
func (p *Pipeline) sourceFailed(src *Source, err error) {
	st := StatusError
	if errors.Is(err, ErrUnresourced) {
		st = StatusUnresourced
	}
	src.stats.SetStatus(st, err)
	src.log().Error("source failed", "source", src.Name(), "status", string(st), "err", err.Error())
}

// result is one object's decoding.
type result struct {
	obj source.Object
	agg *aggregate.Aggregate
	st  *decode.Stats
	err error
}

// decodeAll decodes and aggregates objects on the workers, each object on
// its own, and hands the results to take in the objects' order.
func (p *Pipeline) decodeAll(ctx context.Context, src *Source, set settings, objs []source.Object, take func(result)) {
	p.decodeUntil(ctx, src, set, objs, 0, func(r result) int {
		take(r)
		return 0
	})
}

// decodeUntil decodes and aggregates objects on the workers, each object
// on its own, and hands the results to take in the objects' order; take
// returns the cells of the batch so far. With split > 0 it stops before the
// first object that decodes (or fails to decode) and would take a batch
// that holds some cells over split: that object and the next are left for
// the next batch. It returns how many objects take was given. At most twice
// as many objects as there are workers, and at most Options.MaxBatchCells
// cells of them, are decoded ahead of take (lookahead), so memory stays
// bounded however large the batch.
func (p *Pipeline) decodeUntil(ctx context.Context, src *Source, set settings, objs []source.Object, split int, take func(result) int) int {
	ctx, cancel := context.WithCancel(ctx) // cancelled when the batch closes early
	defer cancel()
	ahead, stopAhead := newLookahead(ctx, len(objs), p.opts.MaxBatchCells, split)
	defer stopAhead()
	results := make([]result, len(objs))
	ready := make([]chan struct{}, len(objs))
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	workers := max(p.opts.Workers, src.Fetchers)
	tokens := make(chan struct{}, 2*workers)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(objs)) {
		wg.Go(func() {
			for i := range next {
				results[i] = p.decodeOne(ctx, src, set, objs[i], func(cells int) bool { return ahead.grow(i, cells) })
				close(ready[i])
			}
		})
	}
	stop := make(chan struct{}) // closed when the batch closes early, or at the end
	wg.Go(func() {
		defer close(next)
		for i := range objs {
			select {
			case tokens <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case next <- i:
			case <-stop:
				return
			}
		}
	})
	kept, cells := 0, 0
	for i := range objs {
		<-ready[i]
		r := results[i]
		if errors.Is(r.err, errBatchFull) || split > 0 && cells > 0 && r.err == nil && cells+r.agg.Cells() > split {
			p.log.Debug("batch closed early: the next object would take it over the bound",
				"source", src.Name(), "key", r.obj.Key, "batch_cells", cells, "bound", split)
			break // r is released below
		}
		results[i] = result{}
		cells = take(r)
		kept++
		ahead.taken(i, cells)
		<-tokens
	}
	close(stop)
	cancel()
	wg.Wait()
	for _, r := range results[kept:] {
		if r.agg != nil {
			p.release(r.agg)
		}
	}
	return kept
}

// release hands an aggregate back for reuse, unless it grew large: a reused
// aggregate keeps its memory.
func (p *Pipeline) release(agg *aggregate.Aggregate) {
	if agg.Cells() <= maxPooledCells {
		p.aggPool.Put(agg)
	}
}

// maxPooledCells is the size beyond which an aggregate is left to the
// garbage collector rather than reused.
const maxPooledCells = 1 << 16

// decodeOne decodes one object into an aggregate of its own. Every
// checkEvery records it looks at ctx and tells grew the aggregate's cells,
// and stops with errBatchFull when grew says the object cannot go into the
// batch.
func (p *Pipeline) decodeOne(ctx context.Context, src *Source, set settings, o source.Object, grew func(cells int) bool) result {
	agg := p.aggPool.Get().(*aggregate.Aggregate)
	agg.Reset()
	actx := aggregate.Context{Account: set.Account, Region: set.Region}
	if acct, region := source.KeyContext(o.Key); acct != "" {
		actx.Account = acct
		if region != "" {
			actx.Region = region
		}
	}
	rc, err := src.Open(ctx, o)
	if err != nil {
		p.aggPool.Put(agg)
		return result{obj: o, err: err}
	}
	defer rc.Close()
	name := src.Name() + ":" + o.Key
	n := 0
	st, err := decode.Stream(name, withContext(ctx, rc), set.decode, func(r *flowlog.Record) error {
		agg.Add(r, &actx)
		if set.maxCells > 0 && agg.Cells() > set.maxCells {
			return errTooLarge // not one record more into the map
		}
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !grew(agg.Cells()) {
				return errBatchFull
			}
		}
		return nil
	})
	if errors.Is(err, errTooLarge) {
		err = tooLarge(name, st, agg.Cells(), set.maxCells)
	}
	if err != nil {
		p.release(agg)
		grew(0) // no longer held
		var oe *decode.ObjectError
		if errors.As(err, &oe) {
			src.stats.Downloaded.Add(1) // read, and found bad
		}
		return result{obj: o, st: st, err: err}
	}
	grew(agg.Cells()) // whether the batch takes it is decided in order
	src.stats.Downloaded.Add(1)
	return result{obj: o, agg: agg, st: st}
}

// settings are what shapes a batch's samples besides its objects and its
// Resolution. They are recorded with the batch, so that a replay after the
// configuration changed still writes the very same samples.
type settings struct {
	TopK    int    `json:"top_k"`
	Format  string `json:"format,omitempty"` // of headerless objects; "" = the AWS default
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`

	decode decode.Options
	// maxCells bounds an object's aggregate (Options.MaxObjectCells); 0,
	// as restored for a replay, does not.
	maxCells int
}

// snapshot is what the ledger keeps with a batch for its replay.
type snapshot struct {
	Settings   settings             `json:"settings"`
	Resolution aggregate.Resolution `json:"resolution"`
}

// settingsOf returns the current settings of a source.
func (p *Pipeline) settingsOf(src *Source) settings {
	set := settings{TopK: p.opts.TopK, Account: src.Account, Region: src.Region, decode: src.Decode, maxCells: p.opts.MaxObjectCells}
	if src.Decode.Format != nil {
		set.Format = src.Decode.Format.String()
	}
	return set
}

// restore returns recorded settings ready to decode with.
func (set settings) restore() (settings, error) {
	if set.Format != "" {
		f, err := flowlog.ParseFormat(set.Format)
		if err != nil {
			return set, err
		}
		set.decode.Format = f
	}
	return set, nil
}

// prepared is a batch recorded in the ledger and encoded, ready to write.
type prepared struct {
	src   *Source
	rec   ledger.Batch
	objs  []source.Object // to delete once stored: those read, as read
	batch *vmclient.Batch // nil once written
	stats []*decode.Stats
	exps  []aggregate.Exporter

	series, samples int // of the batch, once written
}

// prepare decodes objects, quarantines those that fail, and records the
// others as a batch in the ledger, encoded and ready to write. It returns
// nil when no object is left to store, and how many of the objects it took
// on: the batch closes before an object that would take its aggregate over
// Options.MaxBatchCells, and that object and the next are left for the next
// batch. The ledger records the objects of the batch, so a replay decodes
// the same ones whatever the bound is then.
func (p *Pipeline) prepare(ctx context.Context, src *Source, objs []source.Object) (pb *prepared, n, unread int, err error) {
	set := p.settingsOf(src)
	agg := aggregate.New()
	var stored []ledger.Object
	var storedObjs []source.Object
	var storedStats []*decode.Stats
	var failed error
	n = p.decodeUntil(ctx, src, set, objs, p.opts.MaxBatchCells, func(r result) int {
		var oe *decode.ObjectError
		switch {
		case r.err == nil:
			if len(stored) == 0 {
				agg = r.agg // the same as merged into an empty one, without the copy
			} else {
				agg.Merge(r.agg)
				p.release(r.agg)
			}
			stored = append(stored, ledgerObject(src, r.obj))
			storedObjs = append(storedObjs, r.obj)
			storedStats = append(storedStats, r.st)
		case errors.As(r.err, &oe):
			p.log.Warn("object quarantined", "source", src.Name(), "key", r.obj.Key, "err", r.err)
			src.log().Warn("object quarantined", "source", src.Name(), "key", r.obj.Key, "reason", r.err.Error())
			if err := p.ledger.Quarantine(ledgerObject(src, r.obj), r.err.Error()); err != nil && failed == nil {
				failed = err
			}
			p.stats.Quarantined.Add(1)
			src.stats.Quarantined.Add(1)
		case ctx.Err() == nil: // the source failed us: try again at the next listing
			unread++
			p.log.Warn("object not read, will retry", "source", src.Name(), "key", r.obj.Key, "err", r.err)
		}
		return agg.Cells()
	})
	if failed != nil {
		return nil, n, unread, failed
	}
	if ctx.Err() != nil {
		return nil, n, unread, ctx.Err()
	}
	if len(stored) == 0 {
		return nil, n, unread, nil
	}
	for _, st := range storedStats {
		if st.BadLines > 0 && len(st.Samples) > 0 {
			p.log.Warn("bad lines skipped", "object", st.Object, "bad_lines", st.BadLines, "first", st.Samples[0].String())
		}
	}

	facts := p.learn(agg)
	snap := snapshot{Settings: set, Resolution: agg.Resolve(p.known.lookupMeta, p.known.lookupOwner)}
	facts = append(facts, p.known.forget()...) // what this batch did not see, over the bounds
	encoded, err := json.Marshal(snap)
	if err != nil {
		return nil, n, unread, fmt.Errorf("encode batch snapshot: %w", err)
	}
	rec, err := p.ledger.BeginBatch(stored, agg.Minutes(), encoded, facts)
	if err != nil {
		return nil, n, unread, fmt.Errorf("begin batch: %w", err)
	}
	batch := p.writer.NewBatch()
	agg.Emit(&snap.Resolution, rec.Slot, set.TopK, batch.Add)
	p.addMarker(batch, src, rec)
	return &prepared{src: src, rec: rec, objs: storedObjs, batch: batch, stats: storedStats, exps: agg.Exporters()}, n, unread, nil
}

// store writes a prepared batch and queues it to be committed, and its
// objects deleted, once the storage saved it (settle). The storage client
// retries what is worth retrying; a write it gives up on (the storage
// refused the request) is tried again here after a pause, for the batch
// must not be left behind: only ctx ends the attempts, and then the batch
// stays pending for the next run.
func (p *Pipeline) store(ctx context.Context, pb *prepared) error {
	b := pb.rec
	var gen uint64
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		// The generation before the attempt: a restart after it is seen
		// by the check that settles the batch.
		gen = p.durability.Generation()
		err := p.writer.WriteBatch(ctx, pb.batch)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("write batch %d: %w", b.ID, err)
		}
		p.log.Error("batch not stored, will try again", "batch", b.ID, "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("write batch %d: %w", b.ID, ctx.Err())
		case <-time.After(wait):
		}
	}
	p.stats.Written.Add(1)
	pb.series, pb.samples = pb.batch.Len()
	pb.batch = nil // its memory is not needed any more: a replay encodes anew
	p.addUnsettled(pb, gen)
	return p.settle(ctx, false)
}

// finishObject deletes (or releases) an object whose data is stored. A
// failure is tried again when the object is listed next: the ledger knows
// it as ingested.
func (p *Pipeline) finishObject(ctx context.Context, src *Source, o source.Object) {
	if src.Delete {
		if err := p.deleteObject(ctx, src, o); err != nil {
			p.log.Warn("stored object not deleted, will try again", "source", src.Name(), "key", o.Key, "err", err)
		}
		return
	}
	if r, ok := src.Source.(Releaser); ok {
		if err := r.Release(ctx, o); err != nil {
			p.log.Warn("stored object not released, will try again", "source", src.Name(), "key", o.Key, "err", err)
		}
	}
}

func (p *Pipeline) deleteObject(ctx context.Context, src *Source, o source.Object) error {
	if err := src.Source.Delete(ctx, o); err != nil {
		return err
	}
	if err := p.ledger.Forget(src.Name(), o.Key); err != nil {
		return err
	}
	p.stats.Deleted.Add(1)
	src.stats.Deleted.Add(1)
	return nil
}

func ledgerObject(src *Source, o source.Object) ledger.Object {
	return ledger.Object{Source: src.Name(), Key: o.Key, Version: o.Version, Size: o.Size}
}

// learn takes in what a batch's records say of interfaces and addresses,
// and returns it as facts for the ledger. What the batch saw is kept over
// what it did not when the bounds make the pipeline forget (knowledge.forget).
func (p *Pipeline) learn(agg *aggregate.Aggregate) []ledger.Fact {
	return p.known.learn(agg)
}

// replay writes again the batches a previous run recorded but did not
// commit, from the same objects, slot and snapshot.
func (p *Pipeline) replay(ctx context.Context) error {
	for {
		// The ledger is read again for every batch: storing one settles
		// others, which then are no longer pending.
		b, ok, err := p.nextToReplay()
		if err != nil || !ok {
			return err
		}
		if len(b.Objects) == 0 {
			if err := p.ledger.CommitBatch(b.ID); err != nil {
				return err
			}
			continue
		}
		src := p.source(b.Objects[0].Source)
		if src == nil {
			return fmt.Errorf("pending batch %d belongs to source %q, which is not configured: add it back to finish the batch", b.ID, b.Objects[0].Source)
		}
		var snap snapshot
		if err := json.Unmarshal(b.Snapshot, &snap); err != nil {
			return fmt.Errorf("pending batch %d: snapshot: %w", b.ID, err)
		}
		set, err := snap.Settings.restore()
		if err != nil {
			return fmt.Errorf("pending batch %d: snapshot: %w", b.ID, err)
		}
		objs, err := p.stillThere(ctx, src, b)
		if err != nil {
			return err
		}
		p.log.Info("replaying pending batch", "batch", b.ID, "objects", len(objs), "slot", b.Slot)
		agg := aggregate.New()
		var read []source.Object
		var stats []*decode.Stats
		var failed error
		p.decodeAll(ctx, src, set, objs, func(r result) {
			if r.err != nil {
				// It decoded when the batch was recorded: a source error.
				if failed == nil {
					failed = fmt.Errorf("pending batch %d: %w", b.ID, r.err)
				}
				return
			}
			agg.Merge(r.agg)
			p.aggPool.Put(r.agg)
			read = append(read, r.obj)
			stats = append(stats, r.st)
		})
		if failed != nil {
			return failed
		}
		batch := p.writer.NewBatch()
		agg.Emit(&snap.Resolution, b.Slot, set.TopK, batch.Add)
		p.addMarker(batch, src, b)
		// Only the objects read again are deleted: one that changed holds
		// data still to be read, under its new version.
		if err := p.store(ctx, &prepared{src: src, rec: b, objs: read, batch: batch, stats: stats, exps: agg.Exporters()}); err != nil {
			return err
		}
	}
}

// nextToReplay returns the oldest batch of the ledger that is pending and
// not written and waiting to be saved, and false when there is none.
func (p *Pipeline) nextToReplay() (ledger.Batch, bool, error) {
	batches, err := p.ledger.PendingBatches()
	if err != nil {
		return ledger.Batch{}, false, fmt.Errorf("pending batches: %w", err)
	}
	for _, b := range batches {
		if !p.isUnsettled(b.ID) {
			return b, true, nil
		}
	}
	return ledger.Batch{}, false, nil
}

// stillThere returns the objects of a pending batch that are still there
// as they were; it logs those that changed or went away (their data cannot
// be written again exactly).
func (p *Pipeline) stillThere(ctx context.Context, src *Source, b ledger.Batch) ([]source.Object, error) {
	listed, err := src.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("pending batch %d: %w", b.ID, err)
	}
	now := make(map[string]string, len(listed))
	for _, o := range listed {
		now[o.Key] = o.Version
	}
	var objs []source.Object
	for _, o := range b.Objects {
		if v, ok := now[o.Key]; !ok || v != o.Version {
			p.log.Error("pending batch object changed or went away; its data may be incomplete in storage",
				"batch", b.ID, "source", src.Name(), "key", o.Key)
			continue
		}
		objs = append(objs, source.Object{Key: o.Key, Version: o.Version, Size: o.Size})
	}
	return objs, nil
}

func (p *Pipeline) source(name string) *Source {
	for _, s := range p.currentSources() {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// startProgress logs a progress line every Options.Progress.
func (p *Pipeline) startProgress(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	began := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(p.opts.Progress)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.logProgress(began)
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
		p.logProgress(began)
	}
}

func (p *Pipeline) logProgress(began time.Time) {
	s := &p.stats
	elapsed := time.Since(began).Seconds()
	args := []any{"objects", s.Objects.Load(), "records", s.Records.Load(),
		"records_per_second", int64(float64(s.Records.Load()) / max(elapsed, 1e-9)),
		"backlog", s.Backlog.Load(), "quarantined", s.Quarantined.Load(), "bad_lines", s.BadLines.Load()}
	if end := s.NewestEnd.Load(); end > 0 {
		args = append(args, "lag", time.Since(time.Unix(end, 0)).Round(time.Second).String())
	}
	if backlog, done := s.Backlog.Load(), s.Objects.Load(); backlog > 0 && done > 0 {
		eta := time.Duration(float64(backlog) / (float64(done) / max(elapsed, 1e-9)) * float64(time.Second))
		args = append(args, "eta", eta.Round(time.Second).String())
	}
	p.log.Info("progress", args...)
}
