package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/vmclient"
)

// result is one object's decoding.
type result struct {
	obj source.Object
	agg *aggregate.Aggregate
	st  *decode.Stats
	err error
}

// decodeAll decodes and aggregates objects on the workers, each object on
// its own, and hands the results to take in the objects' order.
func (p *Pipeline) decodeAll(ctx context.Context, src *sourceRun, set settings, objs []source.Object, take func(result)) {
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
func (p *Pipeline) decodeUntil(ctx context.Context, src *sourceRun, set settings, objs []source.Object, split int, take func(result) int) int {
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
func (p *Pipeline) decodeOne(ctx context.Context, src *sourceRun, set settings, o source.Object, grew func(cells int) bool) result {
	agg := p.aggPool.Get().(*aggregate.Aggregate)
	agg.Reset()
	if set.minutely {
		agg.Minutely()
	}
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
	// minutely gives every table minute cells (aggregate.Minutely): the
	// replay of a batch recorded before the families had steps.
	minutely bool
	// maxCells bounds an object's aggregate (Options.MaxObjectCells); 0,
	// as restored for a replay, does not.
	maxCells int
}

// snapshot is what the ledger keeps with a batch for its replay.
type snapshot struct {
	// Version is snapshotVersion; 0 for batches recorded before the
	// bounded families, which replay as they were written then.
	Version    int                  `json:"version,omitempty"`
	Settings   settings             `json:"settings"`
	Resolution aggregate.Resolution `json:"resolution"`
	// Keep is the batch's keep sets (with Settings.TopK above 0).
	Keep aggregate.Keep `json:"keep,omitempty"`
}

// snapshotVersion is the version of the snapshots recorded now: the
// families at their steps, bounded by keep sets.
const snapshotVersion = 1

// fold returns how the batch folds its top-K families.
func (s *snapshot) fold() aggregate.Fold {
	switch {
	case s.Version == 0:
		return aggregate.Fold{LegacyTopK: s.Settings.TopK}
	case s.Settings.TopK <= 0:
		return aggregate.Fold{} // every label set kept
	case s.Keep == nil:
		return aggregate.Fold{Keep: aggregate.Keep{}} // nothing to keep
	}
	return aggregate.Fold{Keep: s.Keep}
}

// settingsOf returns the current settings of a source.
func (p *Pipeline) settingsOf(src *sourceRun) settings {
	set := settings{TopK: max(p.opts.TopK, 0), Account: src.Account, Region: src.Region, decode: src.Decode, maxCells: p.opts.MaxObjectCells}
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
	src   *sourceRun
	rec   ledger.Batch
	objs  []source.Object // to delete once stored: those read, as read
	batch *vmclient.Batch // nil once written
	stats []*decode.Stats
	exps  []aggregate.Exporter

	series, samples int // of the batch, once written
}

// prepare decodes objects, quarantines those that fail, and records the
// others as a batch in the ledger, encoded and ready to write
// (decodeBatch, then record). It returns nil when no object is left to
// store, and how many of the objects it took on: the batch closes before
// an object that would take its aggregate over Options.MaxBatchCells, and
// that object and the next are left for the next batch. The ledger records
// the objects of the batch, so a replay decodes the same ones whatever the
// bound is then.
func (p *Pipeline) prepare(ctx context.Context, src *sourceRun, objs []source.Object) (pb *prepared, n, unread int, err error) {
	d, n, unread, err := p.decodeBatch(ctx, src, objs)
	if err != nil || d == nil {
		return nil, n, unread, err
	}
	pb, err = p.record(d)
	return pb, n, unread, err
}

// decoded is a batch's objects decoded and merged into one aggregate, not
// yet recorded.
type decoded struct {
	src    *sourceRun
	set    settings
	agg    *aggregate.Aggregate
	ledger []ledger.Object
	objs   []source.Object // as read
	stats  []*decode.Stats
}

// decodeBatch decodes objects and quarantines those that fail (see
// prepare). It returns nil when no object is left to store. It touches
// nothing record uses, so that the next batch is decoded while one is
// recorded.
func (p *Pipeline) decodeBatch(ctx context.Context, src *sourceRun, objs []source.Object) (d *decoded, n, unread int, err error) {
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
		case errors.Is(r.err, fs.ErrNotExist):
			// Gone since it was listed (deleted by another reader, or
			// its notification came after it went): nothing to read.
			p.log.Info("object gone before it was read", "source", src.Name(), "key", r.obj.Key)
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
	return &decoded{src: src, set: set, agg: agg, ledger: stored, objs: storedObjs, stats: storedStats}, n, unread, nil
}

// record is the batch step of a decoded batch: what it teaches, its
// resolution, its keep sets, its record in the ledger and its samples,
// encoded. Batches are recorded one at a time, in order: each learns from
// the ones before.
func (p *Pipeline) record(d *decoded) (*prepared, error) {
	src, set, agg := d.src, d.set, d.agg
	facts := p.learn(agg)
	snap := snapshot{Version: snapshotVersion, Settings: set, Resolution: agg.Resolve(p.known.lookupMeta, p.known.lookupOwner)}
	facts = append(facts, p.known.forget()...) // what this batch did not see, over the bounds
	// The exporters over limits.max_exporters: recorded in the resolution,
	// so that a replay drops the same records whatever the limit is then.
	exps := agg.Exporters()
	var rankFacts []ledger.Fact
	snap.Resolution.Drop, rankFacts, _ = p.limitExporters(src, exps)
	facts = append(facts, rankFacts...)
	out := agg.Output(&snap.Resolution)
	// The output holds the families now: the tables' memory can go while
	// the keep sets are decided and the batch is encoded.
	minutes := agg.Minutes()
	agg.FreeTables()
	if set.TopK > 0 {
		var ch aggregate.Changes
		snap.Keep, ch = p.keeper.Decide(out.Candidates())
		facts = append(facts, keepFacts(p.keeper, ch)...)
	}
	encoded, err := json.Marshal(snap)
	if err != nil {
		return nil, fmt.Errorf("encode batch snapshot: %w", err)
	}
	rec, err := p.ledger.BeginBatch(d.ledger, minutes, encoded, facts)
	if err != nil {
		return nil, fmt.Errorf("begin batch: %w", err)
	}
	batch := p.writer.NewBatch()
	out.Emit(rec.Slot, snap.fold(), batch.Add)
	p.addMarker(batch, src, rec)
	return &prepared{src: src, rec: rec, objs: d.objs, batch: batch, stats: d.stats, exps: exps}, nil
}
