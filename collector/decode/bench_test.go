package decode_test

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
)

// memorySink keeps generated objects in memory.
type memorySink struct{ objects [][]byte }

type memoryObject struct {
	bytes.Buffer
	sink *memorySink
}

func (s *memorySink) Create(string) (io.WriteCloser, error) { return &memoryObject{sink: s}, nil }

func (o *memoryObject) Close() error {
	o.sink.objects = append(o.sink.objects, o.Bytes())
	return nil
}

var (
	benchMu    sync.Mutex
	benchCache = map[string][][]byte{}
)

// benchObjects generates (once per process) 200,000 records of the format,
// as plain text, gzip or Parquet objects.
func benchObjects(b *testing.B, format string, plain, parquet bool) [][]byte {
	b.Helper()
	key := format
	if plain {
		key += " plain"
	}
	if parquet {
		key += " parquet"
	}
	benchMu.Lock()
	defer benchMu.Unlock()
	if objs, ok := benchCache[key]; ok {
		return objs
	}
	f, err := flowlog.ParseFormat(format)
	if err != nil {
		b.Fatal(err)
	}
	sink := &memorySink{}
	_, err = generate.Generate(generate.Config{
		Records: 200_000, Seed: 1, Format: f, Plain: plain, Parquet: parquet,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Duration: time.Hour, ENIs: 500, VPCs: 4,
	}, sink)
	if err != nil {
		b.Fatal(err)
	}
	benchCache[key] = sink.objects
	return sink.objects
}

// decodeObjects decodes every object b.N times and reports records/s and
// the decoded text's MB/s.
func decodeObjects(b *testing.B, objects [][]byte) {
	var records, text int64
	discard := func(*flowlog.Record) error { return nil }
	b.ResetTimer()
	for range b.N {
		for _, obj := range objects {
			st, err := decode.Stream("bench", bytes.NewReader(obj), decode.Options{}, discard)
			if err != nil {
				b.Fatal(err)
			}
			records += st.Records + st.BadLines
			text += st.DecodedBytes
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(records)/sec, "records/s")
	b.ReportMetric(float64(text)/1e6/sec, "MB/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
}

// BenchmarkParse measures the parser alone: plain text in memory, no
// decompression, no I/O.
func BenchmarkParse(b *testing.B) {
	for _, format := range []string{"v5", "v2"} {
		b.Run(format, func(b *testing.B) { decodeObjects(b, benchObjects(b, format, true, false)) })
	}
}

// BenchmarkDecodeGzip measures inflating and parsing gzip objects in memory.
func BenchmarkDecodeGzip(b *testing.B) {
	for _, format := range []string{"v5", "v2"} {
		b.Run(format, func(b *testing.B) { decodeObjects(b, benchObjects(b, format, false, false)) })
	}
}

// BenchmarkDecodeParquet measures decoding Parquet objects in memory.
func BenchmarkDecodeParquet(b *testing.B) {
	decodeObjects(b, benchObjects(b, "v5", false, true))
}
