package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
)

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
	p.stats.LastWritten.Store(time.Now().UnixNano())
	pb.series, pb.samples = pb.batch.Len()
	pb.batch = nil // its memory is not needed any more: a replay encodes anew
	p.addUnsettled(pb, gen)
	return p.settle(ctx, false)
}

// finishObject deletes (or releases) an object whose data is stored. A
// failure is tried again when the object is listed next: the ledger knows
// it as ingested.
func (p *Pipeline) finishObject(ctx context.Context, src *sourceRun, o source.Object) {
	if src.Delete {
		if err := p.deleteObject(ctx, src, o); err != nil {
			p.log.Warn("stored object not deleted, will try again", "source", src.Name(), "key", o.Key, "err", err)
		}
		return
	}
	if r, ok := src.Source.Source.(Releaser); ok {
		if err := r.Release(ctx, o); err != nil {
			p.log.Warn("stored object not released, will try again", "source", src.Name(), "key", o.Key, "err", err)
		}
	}
}

// finishObjects finishes the objects of a committed batch as finishObject
// does, the deleted ones forgotten by the ledger in one transaction.
func (p *Pipeline) finishObjects(ctx context.Context, src *sourceRun, objs []source.Object) {
	if !src.Delete {
		for _, o := range objs {
			p.finishObject(ctx, src, o)
		}
		return
	}
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		if err := src.Source.Source.Delete(ctx, o); err != nil {
			p.log.Warn("stored object not deleted, will try again", "source", src.Name(), "key", o.Key, "err", err)
			continue
		}
		keys = append(keys, o.Key)
	}
	p.stats.Deleted.Add(int64(len(keys)))
	src.stats.Deleted.Add(int64(len(keys)))
	if err := p.ledger.ForgetAll(src.Name(), keys); err != nil {
		// The objects are gone; records left behind stay in the ledger,
		// as ingested under their versions (as when Forget failed before).
		p.log.Warn("deleted objects not forgotten by the ledger", "source", src.Name(), "objects", len(keys), "err", err)
	}
}

func (p *Pipeline) deleteObject(ctx context.Context, src *sourceRun, o source.Object) error {
	if err := src.Source.Source.Delete(ctx, o); err != nil {
		return err
	}
	if err := p.ledger.Forget(src.Name(), o.Key); err != nil {
		return err
	}
	p.stats.Deleted.Add(1)
	src.stats.Deleted.Add(1)
	return nil
}

func ledgerObject(src *sourceRun, o source.Object) ledger.Object {
	return ledger.Object{Source: src.Name(), Key: o.Key, Version: o.Version, Size: o.Size}
}
