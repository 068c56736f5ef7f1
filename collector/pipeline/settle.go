package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vpcflow/vpcflow/vmclient"
)

// Durable delivery. VictoriaMetrics acknowledges a write while the samples
// are still in memory and saves them to disk seconds later; a storage
// process killed in between loses them. So an acknowledged batch is not
// committed at once: it waits, pending in the ledger with its objects still
// in the source, until the storage's save delay (vmclient.Durability.After)
// has passed since the acknowledgement, and a check of the storage nodes
// made after that shows no restart (the same generation as when the batch
// was written). Then it is committed and its objects deleted. A restart
// seen meanwhile sends every batch written before it back to be replayed
// (the same objects, slot and snapshot: byte-identical samples, which the
// storage's deduplication collapses where they survived).

// minCheckEvery bounds how often the storage nodes are read while batches
// wait.
const minCheckEvery = time.Second

// unsettled is a batch the storage acknowledged, waiting to be saved.
type unsettled struct {
	pb    *prepared
	gen   uint64    // the storage's generation before the batch was written
	acked time.Time // when the storage acknowledged its last sample
}

// Durability is what the pipeline needs of a Writer to know when
// acknowledged samples are saved (vmclient.Client is one).
type Durability interface {
	// Generation returns the storage's restart generation as of its
	// latest check.
	Generation() uint64
	// CheckDurability reads the storage nodes: the generation now, and how
	// long after an acknowledgement samples are saved.
	CheckDurability(ctx context.Context) (vmclient.Durability, error)
}

// Flusher is a Durability whose storage can also be asked to save, at
// once, every sample it acknowledged (vmclient.Client is one, for a single
// node): the final settle asks it instead of waiting the save delay.
type Flusher interface {
	// Flush returns when the storage has saved what it acknowledged
	// before the call; an error wrapping vmclient.ErrNoFlush says it never
	// can.
	Flush(ctx context.Context) error
}

// addUnsettled queues a batch the storage acknowledged.
func (p *Pipeline) addUnsettled(pb *prepared, gen uint64) {
	p.settleMu.Lock()
	defer p.settleMu.Unlock()
	p.unsettled = append(p.unsettled, &unsettled{pb: pb, gen: gen, acked: time.Now()})
	p.unsettledIDs[pb.rec.ID] = true
	p.stats.Unsettled.Store(int64(len(p.unsettled)))
}

// isUnsettled reports whether a pending batch is waiting to be saved (and
// must not be replayed).
func (p *Pipeline) isUnsettled(id uint64) bool {
	p.settleMu.Lock()
	defer p.settleMu.Unlock()
	return p.unsettledIDs[id]
}

// nextDue returns when the oldest waiting batch is due, and false when none
// waits.
func (p *Pipeline) nextDue() (time.Time, bool) {
	p.settleMu.Lock()
	defer p.settleMu.Unlock()
	if len(p.unsettled) == 0 {
		return time.Time{}, false
	}
	return p.unsettled[0].acked.Add(p.durableAfter), true
}

// settle commits the waiting batches that are saved, and sends back for
// replay those a storage restart may have lost. With wait, it returns
// only when none waits any more (or ctx is done); otherwise it does what
// is due now and returns, leaving a failed check for later.
func (p *Pipeline) settle(ctx context.Context, wait bool) error {
	if wait {
		if err := p.flush(ctx); err != nil {
			return err
		}
	}
	for {
		due, ok := p.nextDue()
		if !ok {
			return nil
		}
		now := time.Now()
		if d := due.Sub(now); d > 0 || now.Sub(p.lastCheck) < minCheckEvery {
			if !wait {
				return nil
			}
			d = max(d, minCheckEvery-now.Sub(p.lastCheck))
			if err := sleep(ctx, d); err != nil {
				return err
			}
			continue
		}
		began := time.Now()
		p.lastCheck = began
		dur, err := p.durability.CheckDurability(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The storage client logs and counts it; the batches wait.
			if !wait {
				return nil
			}
			if err := sleep(ctx, p.checkBackoff()); err != nil {
				return err
			}
			continue
		}
		p.checkFailures = 0
		p.durableAfter = dur.After
		if err := p.settleChecked(ctx, dur, began.Add(-dur.After)); err != nil {
			return err
		}
	}
}

// flush asks the storage to save the waiting batches at once (Flusher),
// checks it did not restart meanwhile, and commits them; the batches it
// cannot settle wait the save delay as before. A storage that can never
// flush is asked once.
func (p *Pipeline) flush(ctx context.Context) error {
	f, ok := p.durability.(Flusher)
	if !ok || p.noFlush {
		return nil
	}
	if _, waiting := p.nextDue(); !waiting {
		return nil
	}
	began := time.Now()
	if err := f.Flush(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case errors.Is(err, vmclient.ErrNoFlush):
			p.noFlush = true
			p.log.Info("waiting the storage's save delay before deleting the last objects",
				"wait", p.durableAfter.String(), "reason", err.Error())
		case errors.Is(err, vmclient.ErrFlushBusy):
			p.log.Info("the storage was merging while asked to save: waiting its save delay this time",
				"wait", p.durableAfter.String())
		default:
			p.log.Warn("could not ask the storage to save at once: waiting its save delay", "err", err)
		}
		return nil
	}
	dur, err := p.durability.CheckDurability(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil // the batches wait; settle checks again
	}
	p.lastCheck, p.checkFailures, p.durableAfter = time.Now(), 0, dur.After
	p.stats.Flushes.Add(1)
	p.log.Info("the storage saved the last batches at once", "took", time.Since(began).Round(time.Millisecond).String(),
		"instead_of_waiting", p.durableAfter.String())
	return p.settleChecked(ctx, dur, began)
}

// settleChecked commits the batches acknowledged at or before saved (as of
// a check that returned dur: the same generation) and sends back for
// replay those a restart may have lost.
func (p *Pipeline) settleChecked(ctx context.Context, dur vmclient.Durability, saved time.Time) error {
	done, lost := p.takeSettled(dur, saved)
	if len(lost) > 0 {
		p.stats.Restarts.Add(1)
		p.log.Warn("storage restarted: the batches it acknowledged but may not have saved are written again",
			"batches", len(lost), "oldest_acknowledged", time.Since(lost[0].acked).Round(time.Second).String())
	}
	for _, u := range done {
		if err := p.commit(ctx, u.pb); err != nil {
			return err
		}
	}
	return nil
}

// takeSettled removes from the queue the batches a check that returned dur
// proves saved (same generation, acknowledged at or before saved: the
// check's start less the save delay, or the start of a flush) and those a
// restart may have lost (an older generation: they go back to the ledger's
// pending batches, for replay). The queue is in acknowledgement order.
func (p *Pipeline) takeSettled(dur vmclient.Durability, saved time.Time) (done, lost []*unsettled) {
	p.settleMu.Lock()
	defer p.settleMu.Unlock()
	keep := p.unsettled[:0]
	for _, u := range p.unsettled {
		switch {
		case u.gen != dur.Generation:
			lost = append(lost, u)
		case !u.acked.After(saved):
			done = append(done, u)
		default:
			keep = append(keep, u)
			continue
		}
		delete(p.unsettledIDs, u.pb.rec.ID)
	}
	clear(p.unsettled[len(keep):])
	p.unsettled = keep
	p.stats.Unsettled.Store(int64(len(keep)))
	if len(lost) > 0 {
		p.lostBatches = true
	}
	return done, lost
}

// takeLost reports whether batches went back for replay since the last
// call.
func (p *Pipeline) takeLost() bool {
	p.settleMu.Lock()
	defer p.settleMu.Unlock()
	lost := p.lostBatches
	p.lostBatches = false
	return lost
}

// checkBackoff returns the wait before the next check after a failed one:
// 1 s, doubling to 30 s.
func (p *Pipeline) checkBackoff() time.Duration {
	p.checkFailures++
	return min(minCheckEvery<<min(p.checkFailures-1, 5), 30*time.Second)
}

// commit marks a saved batch ingested, and deletes (or releases) its
// objects.
func (p *Pipeline) commit(ctx context.Context, pb *prepared) error {
	b := pb.rec
	if err := p.ledger.CommitBatch(b.ID); err != nil {
		return fmt.Errorf("commit batch %d: %w", b.ID, err)
	}
	if err := p.marked(pb.src, b); err != nil {
		return fmt.Errorf("commit batch %d: %w", b.ID, err)
	}
	p.stats.Batches.Add(1)
	p.stats.Objects.Add(int64(len(b.Objects)))
	p.stats.Series.Add(int64(pb.series))
	p.stats.Samples.Add(int64(pb.samples))
	for _, st := range pb.stats {
		p.stats.Records.Add(st.Records)
		p.stats.BadLines.Add(st.BadLines)
		p.stats.ReadBytes.Add(st.StoredBytes)
		if st.LastEnd > p.stats.NewestEnd.Load() {
			p.stats.NewestEnd.Store(st.LastEnd)
		}
		s := pb.src.stats
		s.Records.Add(st.Records)
		s.BadLines.Add(st.BadLines)
		s.Bytes.Add(st.StoredBytes)
		if st.LastEnd > s.NewestEnd.Load() {
			s.NewestEnd.Store(st.LastEnd)
		}
	}
	pb.src.stats.Ingested.Add(int64(len(pb.objs)))
	p.sawExporters(pb.src.Name(), pb.exps)
	p.finishObjects(ctx, pb.src, pb.objs)
	return nil
}

// idle waits MaxWait (or until ctx is done or Stop), settling the batches
// that come due meanwhile.
func (p *Pipeline) idle(ctx context.Context) error {
	deadline := time.Now().Add(p.opts.MaxWait)
	arrived, stop := p.arrivals()
	defer stop()
	for {
		until := time.Until(deadline)
		if until <= 0 {
			return nil
		}
		if due, ok := p.nextDue(); ok {
			until = min(until, max(time.Until(due), minCheckEvery))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.stopped:
			return nil
		case <-arrived:
			return nil // a notification announced an object: list now
		case <-time.After(until):
		}
		if err := p.settle(ctx, false); err != nil {
			return err
		}
	}
}

// Announcer is a source that says when an object arrives (a source fed
// by notifications, source.Notify), so that an idle pipeline lists it at
// once rather than at its next interval.
type Announcer interface {
	Arrived() <-chan struct{}
}

// arrivals returns a channel signalled when a current source that is an
// Announcer announces an object (nil without one: never ready), and a
// function that stops watching.
func (p *Pipeline) arrivals() (<-chan struct{}, func()) {
	var chans []<-chan struct{}
	for _, src := range p.currentSources() {
		if a, ok := src.Source.Source.(Announcer); ok && !src.Disabled {
			chans = append(chans, a.Arrived())
		}
	}
	switch len(chans) {
	case 0:
		return nil, func() {}
	case 1:
		return chans[0], func() {}
	}
	out, done := make(chan struct{}, 1), make(chan struct{})
	for _, c := range chans {
		go func() {
			select {
			case <-c:
				select {
				case out <- struct{}{}:
				default:
				}
			case <-done:
			}
		}()
	}
	return out, func() { close(done) }
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
