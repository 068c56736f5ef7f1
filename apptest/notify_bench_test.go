package apptest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"
)

// freshObject returns a gzipped v5 flow log of one record of interface
// eni, at t.
func freshObject(b testing.TB, eni string, t time.Time) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintln(zw, "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id flow-direction")
	fmt.Fprintf(zw, "5 123456789012 %s 10.0.0.1 10.0.0.2 443 50000 6 10 1000 %d %d ACCEPT OK vpc-1 ingress\n", eni, t.Unix()-60, t.Unix())
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkNotifyFreshness measures freshness in notify mode: the time from
// an object written to S3 and its notification sent to the queue, to its
// sample queryable in VictoriaMetrics (an export of its interface's
// series), with a collector running with the default notify settings and
// batch.max_wait 5s (the default) or 2s: a round waits up to max_wait
// before it lists again when idle, and max_wait for more objects when it
// has few. It reports the mean (s/object) and the worst (max-s/object)
// over b.N objects written one after the other; issue 15's target is
// under 10 s.
func BenchmarkNotifyFreshness(b *testing.B) {
	for _, maxWait := range []string{"5s", "2s"} {
		b.Run("max_wait="+maxWait, func(b *testing.B) { benchFreshness(b, maxWait) })
	}
}

// benchFreshness measures freshness with batch.max_wait maxWait.
func benchFreshness(b *testing.B, maxWait string) {
	bin := collectorBinary(b)
	s3 := testserver.S3(b)
	sqs := testserver.SQS(b)
	vm := testserver.VictoriaMetrics(b)
	s3.CreateBucket(b, "logs")
	sqs.CreateQueue(b, "dlq", nil)
	queue := sqs.CreateQueue(b, "q", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + sqs.QueueARN("dlq") + `","maxReceiveCount":3}`})
	cfg := fmt.Sprintf("state_dir: %s\nstorage: {url: %s, durable_after: 300ms}\nserver: {listen: 127.0.0.1:0}\nbatch: {max_wait: %s}\nsources:\n%s", b.TempDir(), vm.URL, maxWait,
		s3Source(s3, "prod", "logs", "", fmt.Sprintf("    on_first_run: skip\n    notify: {queue_url: %s, endpoint: %s}\n", queue, sqs.URL)))
	config := filepath.Join(b.TempDir(), "collector.yaml")
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	c := startCollector(b, bin, s3Env(s3), "run", "--config", config, "--log-format", "json")
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		eni := fmt.Sprintf("eni-0f%015x", i)
		at := time.Now().Truncate(time.Minute)
		key := awsBenchKey(at, i)
		began := time.Now()
		body := freshObject(b, eni, at)
		etag := s3.Put(b, "logs", key, body)
		sqs.SendS3Events(b, "q", testserver.S3EventRecord{Bucket: "logs", Key: key, Size: int64(len(body)), ETag: etag})
		for len(vm.Export(b, `vpcflow_interface_bytes{interface_id="`+eni+`"}`)) == 0 {
			if time.Since(began) > time.Minute {
				b.Fatalf("object %s not queryable within a minute:\n%s", key, c.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
		took = append(took, time.Since(began))
	}
	b.StopTimer()
	var sum time.Duration
	for _, d := range took {
		sum += d
	}
	b.ReportMetric(sum.Seconds()/float64(len(took)), "s/object")
	b.ReportMetric(slices.Max(took).Seconds(), "max-s/object")
}

// awsBenchKey is the key AWS would give the i-th object delivered at t.
func awsBenchKey(t time.Time, i int) string {
	return fmt.Sprintf("AWSLogs/123456789012/vpcflowlogs/us-east-1/%s/123456789012_vpcflowlogs_us-east-1_fl-0fresh_%s_%08x.log.gz",
		t.UTC().Format("2006/01/02"), t.UTC().Format("20060102T1504Z"), i)
}

// TestNotifyWakesIdleCollector: an idle collector lists a notify source as
// soon as a message announces an object, not at its next interval
// (batch.max_wait 60s here; max_objects 1, so that a round does not wait
// for more either). The first object sets the pace: the second is
// announced just after its round, when the collector has begun to idle.
func TestNotifyWakesIdleCollector(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	sqs := testserver.SQS(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	queue := notifyQueue(t, sqs)
	cfg := fmt.Sprintf("state_dir: %s\nstorage: {url: %s, durable_after: 300ms}\nserver: {listen: 127.0.0.1:0}\nbatch: {max_wait: 60s, max_objects: 1}\nsources:\n%s", t.TempDir(), vm.URL,
		s3Source(s3, "prod", "logs", "", fmt.Sprintf("    on_first_run: skip\n    notify: {queue_url: %s, endpoint: %s, wait_time: 1s}\n", queue, sqs.URL)))
	config := writeFile(t, "collector.yaml", cfg)
	c := startCollector(t, bin, s3Env(s3), "run", "--config", config)
	announce := func(i int, within time.Duration) time.Duration {
		t.Helper()
		eni := fmt.Sprintf("eni-0f%015x", i)
		at := time.Now().Truncate(time.Minute)
		key := awsBenchKey(at, i)
		body := freshObject(t, eni, at)
		began := time.Now()
		sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: "logs", Key: key, Size: int64(len(body)), ETag: s3.Put(t, "logs", key, body)})
		for len(vm.Export(t, `vpcflow_interface_bytes{interface_id="`+eni+`"}`)) == 0 {
			if time.Since(began) > within {
				t.Fatalf("object %d not stored within %s of its notification:\n%s", i, within, c.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
		return time.Since(began)
	}
	announce(0, 90*time.Second)
	if took := announce(1, 15*time.Second); took > 15*time.Second {
		t.Errorf("second object stored after %s", took)
	}
}
