package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

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
		runs := p.currentSources()
		for _, src := range runs {
			src.listed = false
			if src.Disabled || src.limited || (once && src.failure != nil) {
				continue
			}
			if _, paused := p.pausedReason(src.Name()); paused {
				continue // overloaded: not listed until resumed (overload.go)
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
		if !once {
			p.checkOverload(runs)
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
func (p *Pipeline) round(ctx context.Context, src *sourceRun, once bool) (int, error) {
	if _, err := p.firstRun(ctx, src); err != nil {
		p.sourceFailed(src, err)
		return 0, err
	}
	todo, err := p.listNew(ctx, src)
	if err != nil {
		return 0, err
	}
	if _, announced := src.Source.Source.(Announcer); len(todo) < p.opts.MaxObjects && len(todo) > 0 && !once && !announced {
		// A few objects: give the next ones a moment to arrive, so that a
		// trickle does not make a batch of each. (A source that announces
		// its objects is not waited on: its queue delivered what there is,
		// and freshness is why it is fed by notifications.)
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
	// How long the oldest object waits, for overload.max_lag.
	oldest := waiting(todo)
	src.age, src.listed = 0, true
	src.backfilling = src.state != nil && !src.state.Done && src.state.Mode == sourcestate.FirstRunBackfill
	if !oldest[0].IsZero() {
		src.age = max(p.now().Sub(oldest[0]), 0)
	}
	setWaiting(src, oldest[0])
	taken := 0

	// Three stages: while one batch is being written (the storage works),
	// the next is recorded (its batch step, one batch at a time, in order)
	// and the one after it decoded and aggregated (on the workers).
	steps := make(chan *decoded)
	ready := make(chan *prepared, 1)
	recorded, stored := make(chan error, 1), make(chan error, 1)
	var failed atomic.Bool
	go func() {
		var err error
		for d := range steps {
			if err == nil && !failed.Load() {
				var pb *prepared
				if pb, err = p.record(d); err != nil {
					failed.Store(true)
					continue
				}
				ready <- pb
			}
		}
		close(ready)
		recorded <- err
	}()
	go func() {
		var err error
		for pb := range ready {
			if err == nil {
				err = p.store(ctx, pb)
				failed.Store(err != nil || failed.Load())
			}
		}
		stored <- err
	}()
	done := 0
	for len(todo) > 0 && !p.stopping.Load() && !failed.Load() {
		n := p.batchSize(todo)
		var d *decoded
		var unread int
		if d, n, unread, err = p.decodeBatch(ctx, src, todo[:n]); err != nil {
			break
		}
		if d != nil {
			steps <- d
		}
		todo = todo[n:]
		taken += n
		setWaiting(src, oldest[taken])
		done += n - unread // what could not be read is not work done
		p.unread += unread
		p.stats.Backlog.Store(int64(len(todo)))
		src.stats.Backlog.Store(int64(len(todo)))
	}
	close(steps)
	if rerr := <-recorded; err == nil {
		err = rerr
	}
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
func (p *Pipeline) listNew(ctx context.Context, src *sourceRun) ([]source.Object, error) {
	objs, err := p.list(ctx, src)
	if err != nil {
		p.sourceFailed(src, err)
		return nil, err
	}
	src.stats.SetStatus(sourcestate.StatusEnabled, nil)
	var cutoff time.Time
	if src.state != nil {
		cutoff = src.state.Cutoff
	}
	// A source fed by notifications (source.BucketLister) lists what its
	// queue announced: the first run's cutoff was its bucket listing's.
	_, notified := src.Source.Source.(source.BucketLister)
	var todo []source.Object
	for _, o := range objs {
		if !cutoff.IsZero() && o.ModTime.Before(cutoff) && !notified {
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
		case ledger.Quarantined:
			if d, ok := src.Source.Source.(source.Dropper); ok {
				d.Drop(ctx, o)
			}
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

// list lists this instance's share of a source (Options.Share): in full,
// or, for a shared source (objects not deleted) past its first run, only its
// recent date prefixes when it can; a source fed by notifications lists its
// bucket until its first run is done, then what its queue announced (not
// split: the queue hands each message to one reader). The ledger's records
// of objects older than that window are pruned now and then: they will not
// be listed again.
func (p *Pipeline) list(ctx context.Context, src *sourceRun) ([]source.Object, error) {
	objs, err := p.listAll(ctx, src)
	if err != nil {
		return nil, err
	}
	return p.share(src).Filter(objs), nil
}

// share returns the part of src this instance takes: Options.Share, or
// every object of a source whose objects are this instance's already
// (source.Presplit: a queue's, a spool filled by this instance's
// downloader).
func (p *Pipeline) share(src *sourceRun) source.Share {
	if !source.Splits(src.Source.Source) {
		return source.Share{}
	}
	return p.opts.Share
}

func (p *Pipeline) listAll(ctx context.Context, src *sourceRun) ([]source.Object, error) {
	if bl, ok := src.Source.Source.(source.BucketLister); ok && (src.state == nil || !src.state.Done) {
		return bl.ListBucket(ctx) // a backfill lists the bucket, then takes the notifications
	}
	sl, ok := src.Source.Source.(sourcestate.SinceLister)
	if src.Delete || !ok || src.state == nil || !src.state.Done {
		return src.List(ctx)
	}
	now := p.now()
	since := now.Add(-sourcestate.SharedWindow)
	if c := src.state.Cutoff; c.After(since) {
		since = c
	}
	if now.Sub(src.lastPrune) > time.Hour {
		src.lastPrune = now
		n, err := p.ledger.PruneIngested(src.Name(), now.Add(-3*sourcestate.SharedWindow))
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
func (p *Pipeline) sourceFailed(src *sourceRun, err error) {
	st := sourcestate.StatusError
	if errors.Is(err, sourcestate.ErrCredentials) {
		st = sourcestate.StatusCredentials
	}
	src.stats.SetStatus(st, err)
	src.log().Error("source failed", "source", src.Name(), "status", string(st), "err", err.Error())
}
