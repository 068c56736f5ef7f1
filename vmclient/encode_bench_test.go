package vmclient_test

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	vmprompb "github.com/VictoriaMetrics/VictoriaMetrics/lib/prompb"
	"github.com/VictoriaMetrics/easyproto"
	"github.com/klauspost/compress/s2"
	"github.com/prometheus/prometheus/prompb"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// The benchmarks here compare the hand-written remote write encoder
// (vmclient.Batch) with the prompb packages of Prometheus
// (github.com/prometheus/prometheus/prompb, gogo/protobuf generated code) and
// of VictoriaMetrics (github.com/VictoriaMetrics/VictoriaMetrics/lib/prompb),
// on the series the aggregator emits for generated flow logs. Figures and
// the decision are in docs/BENCHMARKS.md, with the command that produces
// them.

// Batching as the collector does it: 16 five-minute objects a batch, top K
// 1000 (the defaults).
const (
	objectsPerBatch = 16
	topK            = 1000
)

// dataset is the series the aggregator emits for generated flow logs, write
// batch by write batch.
type dataset struct {
	name             string
	batches          [][]vmclient.Series
	records, samples int
	series           int
}

// datasets returns the series of generated flow logs (one VPC, v5) in
// three shapes:
//
//   - busy: a busy feed, 400,000 records from 100 interfaces over the 80
//     minutes of one batch: about 10 samples a series;
//   - quiet: a quiet fleet, 100,000 records from 10,000 interfaces over a
//     day: 4 samples a series on average, most series (70%) with one;
//   - single: the quiet fleet's series cut to their first sample, the
//     bound where every sample pays for its series' labels.
func datasets(tb testing.TB) []*dataset {
	busy := emitted(tb, "busy", generate.Config{Records: 400_000, Seed: 2, Duration: 80 * time.Minute, ENIs: 100, VPCs: 1})
	quiet := emitted(tb, "quiet", generate.Config{Records: 100_000, Seed: 1, Duration: 24 * time.Hour, ENIs: 10_000, VPCs: 1})
	single := &dataset{name: "single", records: quiet.records, series: quiet.series, samples: quiet.series}
	for _, series := range quiet.batches {
		cut := make([]vmclient.Series, len(series))
		for i, s := range series {
			cut[i] = vmclient.Series{Labels: s.Labels, Samples: s.Samples[:1]}
		}
		single.batches = append(single.batches, cut)
	}
	return []*dataset{busy, quiet, single}
}

// discard is a generate.Sink that throws the objects away: the records
// reach the aggregates through Observe.
type discard struct{}

func (discard) Create(string) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// emitted generates flow logs and aggregates them into write batches of
// objectsPerBatch objects, each resolved with what it and the earlier
// batches taught, and returns the series each batch emits.
func emitted(tb testing.TB, name string, cfg generate.Config) *dataset {
	tb.Helper()
	format, err := flowlog.ParseFormat("v5")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Format, cfg.Plain = format, true
	cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ds := &dataset{name: name}
	var aggs []*aggregate.Aggregate
	objects, lastKey := 0, ""
	cfg.Observe = func(key string, r *flowlog.Record) {
		if key != lastKey {
			if objects%objectsPerBatch == 0 {
				aggs = append(aggs, aggregate.New())
			}
			objects++
			lastKey = key
		}
		aggs[len(aggs)-1].Add(r, &aggregate.Context{})
		ds.records++
	}
	if _, err := generate.Generate(cfg, discard{}); err != nil {
		tb.Fatalf("generate %s: %v", name, err)
	}
	meta, owners := map[string]aggregate.Meta{}, map[string]string{}
	for i, a := range aggs {
		m, o := a.Learned()
		for k, v := range m {
			meta[k] = v
		}
		for k, v := range o {
			owners[k] = v
		}
		res := a.Resolve(func(iface string) (aggregate.Meta, bool) { m, ok := meta[iface]; return m, ok },
			func(vpc, addr string) (string, bool) { o, ok := owners[aggregate.OwnerKey(vpc, addr)]; return o, ok })
		series := a.Series(&res, i, aggregate.Fold{TopK: topK})
		for _, s := range series {
			ds.samples += len(s.Samples)
		}
		ds.series += len(series)
		ds.batches = append(ds.batches, series)
	}
	return ds
}

// appender appends one series to a WriteRequest being built, as the field
// "repeated TimeSeries timeseries = 1" of a WriteRequest: requests are
// built a series at a time (concatenated, such fields make the request).
type appender interface {
	append(dst []byte, s *vmclient.Series) []byte
}

// hand is the hand-written encoder the collector uses.
type hand struct{}

func (hand) append(dst []byte, s *vmclient.Series) []byte { return vmclient.AppendSeries(dst, s) }

// promSeries marshals each series with Prometheus' prompb, as a
// WriteRequest of that one series, into the request being built. The
// labels and samples are copied into prompb's types (whose layout differs
// from vmclient's), in slices reused from series to series.
type promSeries struct {
	wr      prompb.WriteRequest
	ts      [1]prompb.TimeSeries
	labels  []prompb.Label
	samples []prompb.Sample
}

func (p *promSeries) append(dst []byte, s *vmclient.Series) []byte {
	p.labels = p.labels[:0]
	for _, l := range s.Labels {
		p.labels = append(p.labels, prompb.Label{Name: l.Name, Value: l.Value})
	}
	p.samples = p.samples[:0]
	for _, smp := range s.Samples {
		p.samples = append(p.samples, prompb.Sample{Timestamp: smp.Timestamp, Value: smp.Value})
	}
	p.ts[0].Labels, p.ts[0].Samples = p.labels, p.samples
	p.wr.Timeseries = p.ts[:]
	n := p.wr.Size()
	dst = slices.Grow(dst, n)
	if _, err := p.wr.MarshalToSizedBuffer(dst[len(dst) : len(dst)+n]); err != nil {
		panic(fmt.Sprintf("prompb: %v", err)) // only on a size mismatch: a bug
	}
	return dst[:len(dst)+n]
}

// vmSeries marshals each series with VictoriaMetrics' lib/prompb, as a
// WriteRequest of that one series appended to the request being built.
// Its Label has vmclient.Label's layout, but not its type: both are
// copied, as for Prometheus' prompb.
type vmSeries struct {
	wr      vmprompb.WriteRequest
	ts      [1]vmprompb.TimeSeries
	labels  []vmprompb.Label
	samples []vmprompb.Sample
}

func (v *vmSeries) append(dst []byte, s *vmclient.Series) []byte {
	v.labels = v.labels[:0]
	for _, l := range s.Labels {
		v.labels = append(v.labels, vmprompb.Label{Name: l.Name, Value: l.Value})
	}
	v.samples = v.samples[:0]
	for _, smp := range s.Samples {
		v.samples = append(v.samples, vmprompb.Sample{Timestamp: smp.Timestamp, Value: smp.Value})
	}
	v.ts[0].Labels, v.ts[0].Samples = v.labels, v.samples
	v.wr.Timeseries = v.ts[:]
	return v.wr.MarshalProtobuf(dst)
}

// easySeries marshals each series with VictoriaMetrics' easyproto (the
// protobuf writer lib/prompb's readers and VictoriaMetrics' other
// protocols use; a module of its own, without dependencies), as a
// WriteRequest of that one series appended to the request being built.
type easySeries struct{ m easyproto.Marshaler }

func (e *easySeries) append(dst []byte, s *vmclient.Series) []byte {
	e.m.Reset()
	appendEasy(e.m.MessageMarshaler(), s)
	return e.m.Marshal(dst)
}

// appendEasy adds s to the WriteRequest wr as easyproto builds messages.
func appendEasy(wr *easyproto.MessageMarshaler, s *vmclient.Series) {
	ts := wr.AppendMessage(1)
	for _, l := range s.Labels {
		lm := ts.AppendMessage(1)
		lm.AppendString(1, l.Name)
		lm.AppendString(2, l.Value)
	}
	for _, smp := range s.Samples {
		sm := ts.AppendMessage(2)
		sm.AppendDouble(1, smp.Value)
		sm.AppendInt64(2, smp.Timestamp)
	}
}

// collector builds requests a series at a time.
type collector interface {
	// add adds a series to the request being built.
	add(s *vmclient.Series)
	// request returns the encoded request of the series added since the
	// last call, valid until the next add.
	request() []byte
}

// perSeries encodes series as they are added, as vmclient.Batch does.
type perSeries struct {
	a      appender
	pb     []byte
	sealed bool
}

func (p *perSeries) add(s *vmclient.Series) {
	if p.sealed {
		p.pb, p.sealed = p.pb[:0], false
	}
	p.pb = p.a.append(p.pb, s)
}

func (p *perSeries) request() []byte {
	if p.sealed {
		p.pb = p.pb[:0]
	}
	p.sealed = true
	return p.pb
}

// The -request collectors build a request as the libraries are usually
// used: they collect the request's series, then marshal the WriteRequest
// at once. The series are copied (the aggregator reuses its slices), into
// flat arrays reused from request to request.

// span is where one series' labels and samples end in the flat arrays.
type span struct{ labels, samples int }

type promRequest struct {
	wr      prompb.WriteRequest
	labels  []prompb.Label
	samples []prompb.Sample
	spans   []span
	pb      []byte
}

func (p *promRequest) add(s *vmclient.Series) {
	for _, l := range s.Labels {
		p.labels = append(p.labels, prompb.Label{Name: l.Name, Value: l.Value})
	}
	for _, smp := range s.Samples {
		p.samples = append(p.samples, prompb.Sample{Timestamp: smp.Timestamp, Value: smp.Value})
	}
	p.spans = append(p.spans, span{len(p.labels), len(p.samples)})
}

func (p *promRequest) request() []byte {
	ts := p.wr.Timeseries[:0]
	var prev span
	for _, sp := range p.spans {
		ts = append(ts, prompb.TimeSeries{Labels: p.labels[prev.labels:sp.labels], Samples: p.samples[prev.samples:sp.samples]})
		prev = sp
	}
	p.wr.Timeseries = ts
	n := p.wr.Size()
	p.pb = slices.Grow(p.pb[:0], n)[:n]
	if _, err := p.wr.MarshalToSizedBuffer(p.pb); err != nil {
		panic(fmt.Sprintf("prompb: %v", err)) // only on a size mismatch: a bug
	}
	p.labels, p.samples, p.spans = p.labels[:0], p.samples[:0], p.spans[:0]
	return p.pb
}

type vmRequest struct {
	wr      vmprompb.WriteRequest
	labels  []vmprompb.Label
	samples []vmprompb.Sample
	spans   []span
	pb      []byte
}

func (v *vmRequest) add(s *vmclient.Series) {
	for _, l := range s.Labels {
		v.labels = append(v.labels, vmprompb.Label{Name: l.Name, Value: l.Value})
	}
	for _, smp := range s.Samples {
		v.samples = append(v.samples, vmprompb.Sample{Timestamp: smp.Timestamp, Value: smp.Value})
	}
	v.spans = append(v.spans, span{len(v.labels), len(v.samples)})
}

func (v *vmRequest) request() []byte {
	ts := v.wr.Timeseries[:0]
	var prev span
	for _, sp := range v.spans {
		ts = append(ts, vmprompb.TimeSeries{Labels: v.labels[prev.labels:sp.labels], Samples: v.samples[prev.samples:sp.samples]})
		prev = sp
	}
	v.wr.Timeseries = ts
	v.pb = v.wr.MarshalProtobuf(v.pb[:0])
	v.labels, v.samples, v.spans = v.labels[:0], v.samples[:0], v.spans[:0]
	return v.pb
}

// easyRequest builds a whole request in one easyproto.Marshaler, which
// copies the labels as they are added, and marshals it at once.
type easyRequest struct {
	m     easyproto.Marshaler
	dirty bool // m holds a request already returned
	pb    []byte
}

func (e *easyRequest) add(s *vmclient.Series) {
	if e.dirty {
		e.m.Reset()
		e.dirty = false
	}
	appendEasy(e.m.MessageMarshaler(), s)
}

func (e *easyRequest) request() []byte {
	if e.dirty {
		e.m.Reset()
	}
	e.pb = e.m.Marshal(e.pb[:0])
	e.dirty = true
	return e.pb
}

// impl is one encoder under comparison.
type impl struct {
	name string
	new  func() collector
}

var impls = []impl{
	{"hand", func() collector { return &perSeries{a: hand{}} }},
	{"prometheus", func() collector { return &perSeries{a: &promSeries{}} }},
	{"victoriametrics", func() collector { return &perSeries{a: &vmSeries{}} }},
	{"easyproto", func() collector { return &perSeries{a: &easySeries{}} }},
	{"prometheus-request", func() collector { return &promRequest{} }},
	{"victoriametrics-request", func() collector { return &vmRequest{} }},
	{"easyproto-request", func() collector { return &easyRequest{} }},
}

// libBatch is vmclient.Batch with another encoder: the same requests,
// sealed and compressed the same way.
type libBatch struct {
	c         collector
	maxSeries int
	scratch   []byte
	series    int
	requests  [][]byte
	s         vmclient.Series // what Add passes on, kept here not to allocate
}

func (b *libBatch) Add(labels []vmclient.Label, samples []vmclient.Sample) {
	if b.series == b.maxSeries {
		b.seal()
	}
	b.s = vmclient.Series{Labels: labels, Samples: samples}
	b.c.add(&b.s)
	b.series++
}

func (b *libBatch) seal() {
	if b.series == 0 {
		return
	}
	pb := b.c.request()
	if n := s2.MaxEncodedLen(len(pb)); cap(b.scratch) < n {
		b.scratch = make([]byte, n)
	}
	b.requests = append(b.requests, bytes.Clone(s2.EncodeSnappy(b.scratch[:cap(b.scratch)], pb)))
	b.series = 0
}

func (b *libBatch) Requests() [][]byte {
	b.seal()
	return b.requests
}

// newBatch returns an empty batch for the implementation: for "hand" the
// collector's own vmclient.Batch.
func (im impl) newBatch(c *vmclient.Client, maxSeries int) interface {
	Add([]vmclient.Label, []vmclient.Sample)
	Requests() [][]byte
} {
	if im.name == "hand" {
		return c.NewBatch()
	}
	return &libBatch{c: im.new(), maxSeries: maxSeries}
}

// rawRequests returns every batch's uncompressed requests, encoded by im.
func rawRequests(ds *dataset, im impl) [][]byte {
	c := im.new()
	var out [][]byte
	for _, series := range ds.batches {
		for len(series) > 0 {
			chunk := series[:min(len(series), vmclient.DefaultMaxSeriesPerRequest)]
			series = series[len(chunk):]
			for i := range chunk {
				c.add(&chunk[i])
			}
			out = append(out, bytes.Clone(c.request()))
		}
	}
	return out
}

// counters reads the allocation counters of the runtime.
func counters() (mallocs, bytes uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs, ms.TotalAlloc
}

// BenchmarkRemoteWrite encodes the series of generated flow logs into
// remote write requests of at most DefaultMaxSeriesPerRequest series,
// with each implementation (sub-benchmark impl=...):
//
//   - stage=protobuf: the protobuf encoding alone (snappy excluded), into
//     buffers reused from request to request;
//   - stage=batch: as the collector does, snappy included: one Batch per
//     write batch, series added as emitted, requests compressed and kept
//     (vmclient.Batch for impl=hand; the same code around the library's
//     encoder for the others).
//
// impl=prometheus, impl=victoriametrics and impl=easyproto encode a series
// at a time, as Batch does; the -request ones collect a request's series,
// then marshal the request. Every op encodes the whole data set; besides ns/op it
// reports ns/sample, ns/request, encoded-B/sample, alloc-B/sample and
// allocs/request. Before timing, every implementation's
// requests are checked to be the same bytes as the hand-written ones.
func BenchmarkRemoteWrite(b *testing.B) {
	c, err := vmclient.New(vmclient.Config{URL: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	for _, ds := range datasets(b) {
		want := rawRequests(ds, impls[0])
		b.Logf("%s: %d records, %d batches, %d series, %d samples (%.2f a series), %d requests",
			ds.name, ds.records, len(ds.batches), ds.series, ds.samples, float64(ds.samples)/float64(ds.series), len(want))
		for _, im := range impls[1:] {
			got := rawRequests(ds, im)
			if len(got) != len(want) {
				b.Fatalf("%s: %d requests, hand-written %d", im.name, len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					b.Fatalf("%s: request %d differs from the hand-written one", im.name, i)
				}
			}
		}
		requests := len(want)
		for _, im := range impls {
			b.Run(fmt.Sprintf("data=%s/stage=protobuf/impl=%s", ds.name, im.name), func(b *testing.B) {
				enc := im.new()
				var wire int
				run := func() {
					wire = 0
					for _, series := range ds.batches {
						for len(series) > 0 {
							chunk := series[:min(len(series), vmclient.DefaultMaxSeriesPerRequest)]
							series = series[len(chunk):]
							for i := range chunk {
								enc.add(&chunk[i])
							}
							wire += len(enc.request())
						}
					}
				}
				run() // grow the buffers
				report(b, ds, requests, run, &wire)
			})
			b.Run(fmt.Sprintf("data=%s/stage=batch/impl=%s", ds.name, im.name), func(b *testing.B) {
				var wire int
				run := func() {
					wire = 0
					for _, series := range ds.batches {
						batch := im.newBatch(c, vmclient.DefaultMaxSeriesPerRequest)
						for i := range series {
							batch.Add(series[i].Labels, series[i].Samples)
						}
						for _, r := range batch.Requests() {
							wire += len(r)
						}
					}
				}
				report(b, ds, requests, run, &wire)
			})
		}
	}
}

// report times run over b.N iterations and reports the figures per sample
// and per request; *wire is the bytes run encoded (encoded-B/sample: raw
// protobuf in stage=protobuf, compressed requests in stage=batch). Besides
// the elapsed time (ns/sample, ns/request) it reports the CPU time of the
// process (cpu-ns/sample, cpu-ns/request: the garbage collector's
// included), which a machine shared with other work disturbs less.
func report(b *testing.B, ds *dataset, requests int, run func(), wire *int) {
	b.Helper()
	runtime.GC()
	mallocs, allocated := counters()
	cpu := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	cpu = cpuTime(b) - cpu
	m, a := counters()
	n := float64(b.N)
	ns := float64(b.Elapsed().Nanoseconds()) / n
	b.ReportMetric(ns/float64(ds.samples), "ns/sample")
	b.ReportMetric(ns/float64(requests), "ns/request")
	b.ReportMetric(float64(cpu.Nanoseconds())/n/float64(ds.samples), "cpu-ns/sample")
	b.ReportMetric(float64(cpu.Nanoseconds())/n/float64(requests), "cpu-ns/request")
	b.ReportMetric(float64(*wire)/float64(ds.samples), "encoded-B/sample")
	b.ReportMetric(float64(a-allocated)/n/float64(ds.samples), "alloc-B/sample")
	b.ReportMetric(float64(m-mallocs)/n/float64(requests), "allocs/request")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// wholeBatch holds a whole batch's series as the library's TimeSeries,
// each with its own label and sample slices (as aggregate.Series returns
// them), and encodes them into requests at the end.
type wholeBatch[T any] struct {
	maxSeries int
	series    []T
	convert   func(s *vmclient.Series) T
	marshal   func(dst []byte, series []T) []byte
	pb        []byte
	scratch   []byte
	requests  [][]byte
}

func (b *wholeBatch[T]) Add(labels []vmclient.Label, samples []vmclient.Sample) {
	b.series = append(b.series, b.convert(&vmclient.Series{Labels: labels, Samples: samples}))
}

func (b *wholeBatch[T]) Requests() [][]byte {
	for rest := b.series; len(rest) > 0; {
		chunk := rest[:min(len(rest), b.maxSeries)]
		rest = rest[len(chunk):]
		b.pb = b.marshal(b.pb[:0], chunk)
		if n := s2.MaxEncodedLen(len(b.pb)); cap(b.scratch) < n {
			b.scratch = make([]byte, n)
		}
		b.requests = append(b.requests, bytes.Clone(s2.EncodeSnappy(b.scratch[:cap(b.scratch)], b.pb)))
	}
	return b.requests
}

func promWholeBatch(maxSeries int) *wholeBatch[prompb.TimeSeries] {
	var wr prompb.WriteRequest
	return &wholeBatch[prompb.TimeSeries]{
		maxSeries: maxSeries,
		convert: func(s *vmclient.Series) prompb.TimeSeries {
			ts := prompb.TimeSeries{Labels: make([]prompb.Label, len(s.Labels)), Samples: make([]prompb.Sample, len(s.Samples))}
			for i, l := range s.Labels {
				ts.Labels[i] = prompb.Label{Name: l.Name, Value: l.Value}
			}
			for i, smp := range s.Samples {
				ts.Samples[i] = prompb.Sample{Timestamp: smp.Timestamp, Value: smp.Value}
			}
			return ts
		},
		marshal: func(dst []byte, series []prompb.TimeSeries) []byte {
			wr.Timeseries = series
			n := wr.Size()
			dst = slices.Grow(dst, n)[:n]
			if _, err := wr.MarshalToSizedBuffer(dst); err != nil {
				panic(fmt.Sprintf("prompb: %v", err))
			}
			return dst
		},
	}
}

func vmWholeBatch(maxSeries int) *wholeBatch[vmprompb.TimeSeries] {
	var wr vmprompb.WriteRequest
	return &wholeBatch[vmprompb.TimeSeries]{
		maxSeries: maxSeries,
		convert: func(s *vmclient.Series) vmprompb.TimeSeries {
			ts := vmprompb.TimeSeries{Labels: make([]vmprompb.Label, len(s.Labels)), Samples: make([]vmprompb.Sample, len(s.Samples))}
			for i, l := range s.Labels {
				ts.Labels[i] = vmprompb.Label{Name: l.Name, Value: l.Value}
			}
			for i, smp := range s.Samples {
				ts.Samples[i] = vmprompb.Sample{Timestamp: smp.Timestamp, Value: smp.Value}
			}
			return ts
		},
		marshal: func(dst []byte, series []vmprompb.TimeSeries) []byte {
			wr.Timeseries = series
			return wr.MarshalProtobuf(dst)
		},
	}
}

// BenchmarkBatchMemory builds one large write batch and reports the heap
// it holds once its requests are sealed, per sample (held-B/sample: the
// live heap after a collection, the input series excluded), with what it
// allocated on the way (alloc-B/sample). The batches are the busy feed's
// one batch (2.3M samples) and every series of the quiet fleet as one
// batch (3.2M samples). Besides the implementations of
// BenchmarkRemoteWrite, impl=prometheus-batch and impl=victoriametrics-batch
// hold the whole batch as the library's []TimeSeries until its requests
// are encoded. Run it with -benchtime 1x.
func BenchmarkBatchMemory(b *testing.B) {
	c, err := vmclient.New(vmclient.Config{URL: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	type batcher interface {
		Add([]vmclient.Label, []vmclient.Sample)
		Requests() [][]byte
	}
	type kind struct {
		name string
		new  func() batcher
	}
	var kinds []kind
	for _, im := range impls {
		kinds = append(kinds, kind{im.name, func() batcher { return im.newBatch(c, vmclient.DefaultMaxSeriesPerRequest) }})
	}
	kinds = append(kinds,
		kind{"prometheus-batch", func() batcher { return promWholeBatch(vmclient.DefaultMaxSeriesPerRequest) }},
		kind{"victoriametrics-batch", func() batcher { return vmWholeBatch(vmclient.DefaultMaxSeriesPerRequest) }},
	)
	for _, ds := range datasets(b)[:2] {
		var series []vmclient.Series
		for _, bt := range ds.batches {
			series = append(series, bt...)
		}
		b.Logf("%s: one batch of %d series, %d samples", ds.name, len(series), ds.samples)
		for _, k := range kinds {
			b.Run(fmt.Sprintf("data=%s/impl=%s", ds.name, k.name), func(b *testing.B) {
				var held, allocated, wire float64
				for b.Loop() {
					var before, after runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&before)
					batch := k.new()
					for i := range series {
						batch.Add(series[i].Labels, series[i].Samples)
					}
					w := 0
					for _, r := range batch.Requests() {
						w += len(r)
					}
					runtime.GC()
					runtime.ReadMemStats(&after)
					runtime.KeepAlive(batch)
					held += float64(after.HeapAlloc) - float64(before.HeapAlloc)
					allocated += float64(after.TotalAlloc - before.TotalAlloc)
					wire += float64(w)
				}
				n := float64(b.N) * float64(ds.samples)
				b.ReportMetric(held/n, "held-B/sample")
				b.ReportMetric(allocated/n, "alloc-B/sample")
				b.ReportMetric(wire/n, "wire-B/sample")
			})
		}
	}
}
