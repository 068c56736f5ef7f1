package pipeline

import (
	"context"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// firstRun returns the source's first-run state, deciding it on the very
// first round and carrying out a purge not finished yet.
func (p *Pipeline) firstRun(ctx context.Context, src *sourceRun) (ledger.SourceState, error) {
	if src.state != nil && (src.state.Done || src.state.Mode != sourcestate.FirstRunPurge) {
		return *src.state, nil
	}
	fr := src.FirstRun
	fr.Share = p.share(src)
	st, err := sourcestate.EnsureFirstRun(ctx, p.ledger, src.Source.Source, fr, p.now(), p.log, func() { src.stats.Purged.Add(1) })
	if err != nil {
		return st, err
	}
	src.state = &st
	return st, nil
}

// finishBackfill records that a backfilling source caught up.
func (p *Pipeline) finishBackfill(src *sourceRun) error {
	if src.state == nil || src.state.Done {
		return nil
	}
	st := *src.state
	st.Done = true
	if err := p.ledger.SetSourceState(src.Name(), st); err != nil {
		return err
	}
	src.state = &st
	p.log.Info("backfill finished", "source", src.Name(), "objects", src.stats.Ingested.Load())
	return nil
}

func (p *Pipeline) now() time.Time {
	if p.opts.Now != nil {
		return p.opts.Now()
	}
	return time.Now()
}
