package reporttest

import (
	"cmp"
	"slices"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// MaxStep returns the longest step of the families (schema.Family.Step).
func MaxStep() time.Duration {
	var s time.Duration
	for _, f := range schema.Families() {
		s = max(s, f.Step)
	}
	return s
}

// Restep returns an Emitter that hands each series to emit with its
// samples on the step of its family (schema.Family.Step), as the collector
// writes them since issue 13: the samples a batch wrote at minute_start +
// slot are summed per interval of the step and written at interval_start +
// slot. Samples already on their step (an interval's start plus a slot
// under a minute) come out as they went in, so it changes nothing once the
// aggregate writes steps itself (with slots under a minute); series of no
// family, and of one-minute families, pass unchanged.
func Restep(emit aggregate.Emitter) aggregate.Emitter {
	steps := map[string]int64{}
	for _, f := range schema.Families() {
		for _, n := range f.MetricNames() {
			steps[n] = f.Step.Milliseconds()
		}
	}
	var out []vmclient.Sample
	return func(labels []vmclient.Label, samples []vmclient.Sample) {
		step := int64(0)
		for _, l := range labels {
			if l.Name == "__name__" {
				step = steps[l.Value]
			}
		}
		if step <= time.Minute.Milliseconds() {
			emit(labels, samples)
			return
		}
		out = out[:0]
		for _, s := range samples {
			ts := s.Timestamp/step*step + s.Timestamp%time.Minute.Milliseconds()
			out = append(out, vmclient.Sample{Timestamp: ts, Value: s.Value})
		}
		slices.SortStableFunc(out, func(a, b vmclient.Sample) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		merged := out[:0]
		for _, s := range out {
			if n := len(merged); n > 0 && merged[n-1].Timestamp == s.Timestamp {
				merged[n-1].Value += s.Value
				continue
			}
			merged = append(merged, s)
		}
		emit(labels, merged)
	}
}
