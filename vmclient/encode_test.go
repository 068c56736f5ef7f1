package vmclient

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// decodeWriteRequest is an independent reader of the compressed
// WriteRequest, field by field.
func decodeWriteRequest(t testing.TB, compressed []byte) []Series {
	t.Helper()
	b, err := snappy.Decode(nil, compressed)
	if err != nil {
		t.Fatalf("snappy: %v", err)
	}
	var out []Series
	forEach(t, b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
		if num != 1 || typ != protowire.BytesType {
			t.Fatalf("WriteRequest: unexpected field %d type %d", num, typ)
		}
		var s Series
		forEach(t, v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
			switch num {
			case 1:
				var l Label
				forEach(t, v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) {
					switch num {
					case 1:
						l.Name = string(v)
					case 2:
						l.Value = string(v)
					default:
						t.Fatalf("Label: unexpected field %d", num)
					}
				})
				s.Labels = append(s.Labels, l)
			case 2:
				var smp Sample
				forEach(t, v, func(num protowire.Number, typ protowire.Type, _ []byte, n uint64) {
					switch {
					case num == 1 && typ == protowire.Fixed64Type:
						smp.Value = math.Float64frombits(n)
					case num == 2 && typ == protowire.VarintType:
						smp.Timestamp = int64(n)
					default:
						t.Fatalf("Sample: unexpected field %d type %d", num, typ)
					}
				})
				s.Samples = append(s.Samples, smp)
			default:
				t.Fatalf("TimeSeries: unexpected field %d", num)
			}
		})
		out = append(out, s)
	})
	return out
}

// forEach calls f for each field of a protobuf message: v is the payload of
// length-delimited fields, n the value of numeric ones.
func forEach(t testing.TB, b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, n uint64)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			t.Fatalf("tag: %v", protowire.ParseError(k))
		}
		b = b[k:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.BytesType:
			v, k = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			n, k = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			n, k = protowire.ConsumeFixed64(b)
		default:
			t.Fatalf("unexpected wire type %d", typ)
		}
		if k < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(k))
		}
		b = b[k:]
		f(num, typ, v, n)
	}
}

func TestEncode(t *testing.T) {
	var e encoder
	f := func(series []Series) {
		t.Helper()
		body, err := e.encode(series)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeWriteRequest(t, body); !reflect.DeepEqual(got, series) {
			t.Errorf("decoded %+v\nwant    %+v", got, series)
		}
	}
	f(nil)
	f([]Series{{Labels: []Label{{"__name__", "m"}}, Samples: []Sample{{Timestamp: 1767225600000, Value: 1}}}})
	f([]Series{
		{
			Labels:  []Label{{"__name__", "vpcflow_interface_bytes"}, {"vpc_id", "vpc-1"}, {"az_id", "-"}, {"name", `q"uo\te ü`}},
			Samples: []Sample{{1767225600000, 0}, {1767225600001, 1.5}, {1767225660000, 1 << 53}, {-1, -2}, {0, math.Inf(1)}},
		},
		{Labels: []Label{{"__name__", "x"}, {"long", string(make([]byte, 300))}}},
		{Samples: []Sample{{math.MaxInt64, math.MaxFloat64}}},
	})
	// A bigger request after a smaller one, and a smaller one again: the
	// buffers are reused, not mixed.
	big := benchSeries(200, 5)
	f(big)
	f(big[:3])
}

func TestEncodeDeterministic(t *testing.T) {
	series := benchSeries(50, 3)
	var a, b encoder
	first, _ := a.encode(series)
	first = append([]byte(nil), first...)
	_, _ = b.encode(benchSeries(7, 1)) // different history
	second, _ := b.encode(series)
	if string(first) != string(second) {
		t.Error("the same series encoded to different bytes")
	}
}

func TestEncodeAllocs(t *testing.T) {
	series := benchSeries(1000, 10)
	var e encoder
	if _, err := e.encode(series); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(10, func() { _, _ = e.encode(series) }); n != 0 {
		t.Errorf("encode allocates %v times per call once warm, want 0", n)
	}
}

// benchSeries returns n series shaped like vpcflow_interface ones, with
// samples each.
func benchSeries(n, samples int) []Series {
	out := make([]Series, n)
	for i := range out {
		id := strconv.Itoa(i)
		out[i].Labels = []Label{
			{"__name__", "vpcflow_interface_bytes"}, {"account_id", "123456789012"}, {"region", "eu-west-1"},
			{"vpc_id", "vpc-0a1b2c3d4e5f6a7b8"}, {"subnet_id", "subnet-0123456789abcdef0"}, {"az_id", "euw1-az1"},
			{"interface_id", "eni-0" + fmt.Sprintf("%016x", i)}, {"instance_id", "i-0" + fmt.Sprintf("%016x", i/2)},
			{"action", "ACCEPT"}, {"flow_direction", "ingress"}, {"traffic_path", "-"}, {"reject_reason", "-"},
			{"port", id},
		}
		for j := range samples {
			out[i].Samples = append(out[i].Samples, Sample{
				Timestamp: 1767225600000 + int64(j)*60_000 + int64(i%7),
				Value:     float64((i*7919 + j*104729) % 5_000_000),
			})
		}
	}
	return out
}

// BenchmarkEncode measures protobuf encoding plus snappy compression of a
// request of 10000 series × 10 samples (100000 samples), the default
// request size.
func BenchmarkEncode(b *testing.B) {
	series := benchSeries(DefaultMaxSeriesPerRequest, 10)
	samples := countSamples(series)
	var e encoder
	if _, err := e.encode(series); err != nil { // grow the buffers
		b.Fatal(err)
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		body, err := e.encode(series)
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
	}
	b.ReportMetric(float64(samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(size)/float64(samples), "bytes/sample")
	b.ReportMetric(float64(len(e.pb))/float64(samples), "raw-bytes/sample")
}

// TestBatch checks that a Batch holds the same series as the encoder would
// send, split into requests of at most MaxSeriesPerRequest series, and that
// the caller may reuse its slices after Add.
func TestBatch(t *testing.T) {
	series := benchSeries(10, 3)
	c, err := New(Config{URL: "http://127.0.0.1:1", MaxSeriesPerRequest: 4})
	if err != nil {
		t.Fatal(err)
	}
	b := c.NewBatch()
	labels := make([]Label, 0, 8)
	samples := make([]Sample, 0, 8)
	for _, s := range series {
		labels = append(labels[:0], s.Labels...)
		samples = append(samples[:0], s.Samples...)
		b.Add(labels, samples)
		labels[0].Value = "clobbered" // the batch must not care
	}
	reqs := b.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (4+4+2 series)", len(reqs))
	}
	var got []Series
	for _, r := range reqs {
		got = append(got, decodeWriteRequest(t, r)...)
	}
	if !reflect.DeepEqual(got, series) {
		t.Errorf("batch holds\n%v\nwant\n%v", got, series)
	}
	if n, m := b.Len(); n != 10 || m != 30 {
		t.Errorf("Len() = %d series, %d samples; want 10, 30", n, m)
	}
	var enc encoder
	one, _ := enc.encode(series[:4])
	if !bytes.Equal(one, reqs[0]) {
		t.Error("a batch's first request differs from the encoder's for the same series")
	}
	if again := b.Requests(); len(again) != 3 || !bytes.Equal(again[2], reqs[2]) {
		t.Error("Requests changed when asked again")
	}
}
