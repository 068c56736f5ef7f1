package aggregate_test

import (
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
)

// cloneRecord copies a record out of the buffers its decoder reuses.
func cloneRecord(r *flowlog.Record) *flowlog.Record {
	c := *r
	c.Text = [flowlog.NumFields][]byte{}
	for f := range flowlog.NumFields {
		if v, ok := r.Get(f); ok {
			c.Text[f] = append([]byte(nil), v...)
		}
	}
	c.Extra = make([][]byte, len(r.Extra))
	for i, v := range r.Extra {
		if v != nil {
			c.Extra[i] = append([]byte(nil), v...)
		}
	}
	return &c
}

// BenchmarkAdd aggregates generated records object by object, as the
// collector's decode stage does (each object into an aggregate of its own,
// here one reused), and reports the time per record: the per-record hot
// path. The records are 20,000 of a busy feed (200 interfaces over 20
// minutes) in the v8 format, whose labels include the AWS services and
// the reject reason, copied out of the generator first.
func BenchmarkAdd(b *testing.B) {
	format, err := flowlog.ParseFormat("v8")
	if err != nil {
		b.Fatal(err)
	}
	var objects [][]*flowlog.Record
	lastKey, records := "", 0
	cfg := generate.Config{Records: 20_000, Seed: 2, Duration: 20 * time.Minute, ENIs: 200, VPCs: 1,
		Format: format, Plain: true, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Observe = func(key string, r *flowlog.Record) {
		if key != lastKey {
			objects, lastKey = append(objects, nil), key
		}
		objects[len(objects)-1] = append(objects[len(objects)-1], cloneRecord(r))
		records++
	}
	if _, err := generate.Generate(cfg, discard{}); err != nil {
		b.Fatalf("generate: %v", err)
	}
	a, ctx := aggregate.New(), &aggregate.Context{}
	for b.Loop() {
		for _, recs := range objects {
			a.Reset()
			for _, r := range recs {
				a.Add(r, ctx)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(records), "ns/record")
}
