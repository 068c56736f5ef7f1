package aggregate_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// discard is a generate.Sink that throws the objects away: the records
// reach the aggregates through Observe.
type discard struct{}

func (discard) Create(string) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// batch is one write batch: its aggregate and resolution.
type batch struct {
	agg *aggregate.Aggregate
	res aggregate.Resolution
}

// generatedBatches generates flow logs and aggregates them as the
// collector does: each object on its own, merged into batches of per
// objects in key order (one VPC: write order is key order), each resolved
// with what it and the earlier batches taught.
func generatedBatches(tb testing.TB, cfg generate.Config, per int) (batches []batch, records int) {
	tb.Helper()
	format, err := flowlog.ParseFormat("v5")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Format, cfg.Plain = format, true
	cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var aggs []*aggregate.Aggregate
	var object *aggregate.Aggregate
	objects, lastKey := 0, ""
	flush := func() {
		if object == nil {
			return
		}
		if objects%per == 1 || per == 1 {
			aggs = append(aggs, aggregate.New())
		}
		aggs[len(aggs)-1].Merge(object)
		object = nil
	}
	cfg.Observe = func(key string, r *flowlog.Record) {
		if key != lastKey {
			flush()
			object, lastKey = aggregate.New(), key
			objects++
		}
		object.Add(r, &aggregate.Context{})
		records++
	}
	if _, err := generate.Generate(cfg, discard{}); err != nil {
		tb.Fatalf("generate: %v", err)
	}
	flush()
	meta, owners := map[string]aggregate.Meta{}, map[string]string{}
	for _, a := range aggs {
		m, o := a.Learned()
		for k, v := range m {
			meta[k] = v
		}
		for k, v := range o {
			owners[k] = v
		}
		res := a.Resolve(func(iface string) (aggregate.Meta, bool) { m, ok := meta[iface]; return m, ok },
			func(vpc, addr string) (string, bool) { o, ok := owners[aggregate.OwnerKey(vpc, addr)]; return o, ok })
		batches = append(batches, batch{a, res})
	}
	return batches, records
}

// BenchmarkEmit emits generated flow logs batch by batch as the collector
// does (16 five-minute objects a batch, top K 1000), reporting per record
// the samples written and the derived families' share of them. The data
// sets are one VPC of the end-to-end benchmark's (docs/BENCHMARKS.md): the
// quiet fleet (200 interfaces over 6 hours) and the busy feed (200
// interfaces over 20 minutes), with the same records per interface-minute.
func BenchmarkEmit(b *testing.B) {
	derived := map[string]bool{}
	for _, f := range schema.Families() {
		for _, name := range f.MetricNames() {
			derived[name] = f.Derived
		}
	}
	for _, set := range []struct {
		name string
		cfg  generate.Config
	}{
		{"quiet", generate.Config{Records: 200_000, Seed: 1, Duration: 6 * time.Hour, ENIs: 200, VPCs: 1}},
		{"busy", generate.Config{Records: 200_000, Seed: 2, Duration: 20 * time.Minute, ENIs: 200, VPCs: 1}},
	} {
		b.Run(set.name, func(b *testing.B) {
			batches, records := generatedBatches(b, set.cfg, 16)
			var all, fromDerived int
			count := func(labels []vmclient.Label, samples []vmclient.Sample) {
				all += len(samples)
				if derived[labels[0].Value] {
					fromDerived += len(samples)
				}
				if !strings.HasPrefix(labels[0].Value, "vpcflow_") {
					b.Fatalf("series %v", labels)
				}
			}
			for b.Loop() {
				all, fromDerived = 0, 0
				for i, bt := range batches {
					bt.agg.Emit(&bt.res, i, aggregate.Fold{TopK: 1000}, count)
				}
			}
			b.ReportMetric(float64(all)/float64(records), "samples/record")
			b.ReportMetric(float64(fromDerived)/float64(records), "derived-samples/record")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(records), "ns/record")
		})
	}
}
