package source

import (
	"bytes"
	"context"
	"testing"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// BenchmarkS3Decode decodes one large object through the S3 source (a GET
// streamed into the decoder; range GETs for Parquet) and, for comparison,
// from memory.
func BenchmarkS3Decode(b *testing.B) {
	srv := testserver.S3(b)
	srv.CreateBucket(b, bucket)
	v5, err := flowlog.ParseFormat("v5")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  generate.Config
	}{
		{"gzip", generate.Config{Records: 300000, Seed: 7, Format: v5, VPCs: 1, Duration: generate.Interval}},
		{"parquet", generate.Config{Records: 300000, Seed: 7, Format: v5, VPCs: 1, Duration: generate.Interval, Parquet: true}},
	} {
		objs := generated(b, c.cfg)
		srv.PutAll(b, bucket, objs)
		var key string
		for k := range objs {
			key = k
		}
		data := objs[key]
		s := newS3(b, srv, "")
		o := Object{Key: key}
		count := func(*flowlog.Record) error { return nil }
		b.Run(c.name+"/s3", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var st *decode.Stats
			for b.Loop() {
				rc, err := s.Open(context.Background(), o)
				if err != nil {
					b.Fatal(err)
				}
				st, err = decode.Stream(key, rc, decode.Options{}, count)
				rc.Close()
				if err != nil {
					b.Fatal(err)
				}
				if sq, ok := rc.(*seqReader); ok {
					b.ReportMetric(float64(sq.ranged.gets), "GETs/op")
				}
			}
			b.ReportMetric(float64(st.Records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run(c.name+"/memory", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var st *decode.Stats
			for b.Loop() {
				st, err = decode.Stream(key, bytes.NewReader(data), decode.Options{}, count)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.Records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
