package pipeline

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
)

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
		set.minutely = snap.Version == 0
		objs, err := p.stillThere(ctx, src, b)
		if err != nil {
			return err
		}
		p.log.Info("replaying pending batch", "batch", b.ID, "objects", len(objs), "slot", b.Slot)
		agg := aggregate.New()
		if set.minutely {
			agg.Minutely()
		}
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
		agg.Emit(&snap.Resolution, b.Slot, snap.fold(), batch.Add)
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
func (p *Pipeline) stillThere(ctx context.Context, src *sourceRun, b ledger.Batch) ([]source.Object, error) {
	// What is there: a source fed by notifications lists its bucket (its
	// List has only the messages it holds).
	listed, err := source.ListBucket(ctx, src.Source.Source)
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

func (p *Pipeline) source(name string) *sourceRun {
	for _, s := range p.currentSources() {
		if s.Name() == name {
			return s
		}
	}
	return nil
}
