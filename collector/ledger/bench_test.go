package ledger

import (
	"fmt"
	"testing"
)

// benchKey is the key of the i-th benchmark object, shaped like a flow log
// object key.
func benchKey(i int) string {
	return fmt.Sprintf("AWSLogs/123456789012/vpcflowlogs/eu-west-1/2025/03/01/123456789012_vpcflowlogs_eu-west-1_fl-0abc_20250301T%06dZ_%08x.log.gz", i%240000, i)
}

// BenchmarkLookup looks up objects in a ledger of 100,000 ingested ones:
// half of the lookups hit, half miss.
func BenchmarkLookup(b *testing.B) {
	const n = 100_000
	l, _ := openTest(b, Options{})
	for start := 0; start < n; start += 1000 {
		objs := make([]Object, 1000)
		for i := range objs {
			objs[i] = Object{Source: "s3", Key: benchKey(start + i), Version: "etag", Size: 4096}
		}
		batch, err := l.BeginBatch(objs, nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.CommitBatch(batch.ID); err != nil {
			b.Fatal(err)
		}
	}
	keys := make([]string, 2*n)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r, err := l.Lookup("s3", keys[i%len(keys)], "etag")
		if err != nil {
			b.Fatal(err)
		}
		if want := i%len(keys) < n; (r.State == Ingested) != want {
			b.Fatalf("key %d: state %s", i%len(keys), r.State)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkBeginCommit begins and commits batches of 50 objects touching 30
// minutes, with a 64 KiB snapshot and 10 facts: two durable transactions
// per operation.
func BenchmarkBeginCommit(b *testing.B) {
	l, _ := openTest(b, Options{})
	snapshot := make([]byte, 64<<10)
	facts := make([]Fact, 10)
	for i := range facts {
		facts[i] = Fact{Kind: "iface", Key: fmt.Sprintf("eni-%04d", i), Value: []byte(`{"vpc":"vpc-1","subnet":"subnet-1"}`)}
	}
	objs := make([]Object, 50)
	minutes := make([]int64, 30)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range objs {
			objs[j] = Object{Source: "s3", Key: benchKey(i*50 + j), Version: "etag", Size: 4096}
		}
		for j := range minutes {
			minutes[j] = 29_000_000 + int64(i)*5 + int64(j) // a sliding window: each minute is in 6 batches
		}
		batch, err := l.BeginBatch(objs, minutes, snapshot, facts)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.CommitBatch(batch.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
