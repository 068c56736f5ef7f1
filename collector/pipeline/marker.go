package pipeline

import (
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// addMarker adds the batch's trace to its samples.
func (p *Pipeline) addMarker(b *vmclient.Batch, src *sourceRun, rec ledger.Batch) {
	b.Add([]vmclient.Label{{Name: "__name__", Value: sourcestate.MarkerName}, {Name: "source", Value: src.Name()},
		{Name: "instance", Value: p.ledger.Instance()}, {Name: "ledger", Value: p.ledger.ID()}},
		[]vmclient.Sample{{Timestamp: sourcestate.UnixDay(rec.Created) * int64(sourcestate.Day/time.Millisecond), Value: float64(rec.Created.UnixMilli())}})
}

// marked records that the trace of a committed batch is saved.
func (p *Pipeline) marked(src *sourceRun, rec ledger.Batch) error {
	d := sourcestate.UnixDay(rec.Created)
	if src.state == nil {
		st, found, err := p.ledger.SourceState(src.Name())
		if err != nil || !found {
			return err // no first run recorded: nothing to mark (a replay at start)
		}
		src.state = &st
	}
	if src.state.MarkedDay >= d {
		return nil
	}
	st := *src.state
	st.MarkedDay = d
	if err := p.ledger.SetSourceState(src.Name(), st); err != nil {
		return err
	}
	src.state = &st
	return nil
}
