package source

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"
)

// TestParseNotification: S3 events (keys URL-decoded, ETag and size
// kept), the same inside an SNS envelope, the test event, and bodies that
// are none of them (poison).
func TestParseNotification(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	rec := testserver.S3EventRecord{Bucket: "b", Key: "my logs/x=1/a+b.log.gz", Size: 42, ETag: "abc", Time: at}
	f := func(name, body string, want Notification, wantErr string) {
		t.Helper()
		got, err := ParseNotification(body)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%s: error %v, want %q", name, err, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.TestEvent != want.TestEvent || got.Bucket != want.Bucket || !slices.EqualFunc(got.Records, want.Records, func(a, b EventRecord) bool {
			return a.EventName == b.EventName && a.Bucket == b.Bucket && a.Object.Key == b.Object.Key && a.Object.Version == b.Object.Version &&
				a.Object.Size == b.Object.Size && a.Object.ModTime.Equal(b.Object.ModTime)
		}) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	created := EventRecord{EventName: "ObjectCreated:Put", Bucket: "b", Object: Object{Key: "my logs/x=1/a+b.log.gz", Version: "abc", Size: 42, ModTime: at}}
	f("event", testserver.S3EventBody(rec), Notification{Records: []EventRecord{created}}, "")
	removed := rec
	removed.EventName = "ObjectRemoved:Delete"
	f("two records", testserver.S3EventBody(rec, removed), Notification{Records: []EventRecord{created,
		{EventName: "ObjectRemoved:Delete", Bucket: "b", Object: Object{Key: "my logs/x=1/a+b.log.gz", ModTime: at}}}}, "")
	f("sns", testserver.SNSNotificationBody("arn:aws:sns:us-east-1:1:t", testserver.SNSS3Subject, testserver.S3EventBody(rec), at),
		Notification{Records: []EventRecord{created}}, "")
	f("test event", testserver.S3TestEventBody("b", at), Notification{TestEvent: true, Bucket: "b"}, "")
	f("sns test event", testserver.SNSNotificationBody("arn:aws:sns:us-east-1:1:t", "", testserver.S3TestEventBody("b", at), at),
		Notification{TestEvent: true, Bucket: "b"}, "")
	f("not json", "hello", Notification{}, "not JSON")
	f("other json", `{"hello":"world"}`, Notification{}, "neither S3 event records")
	f("no key", `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]}`, Notification{}, "record 0: no s3.bucket.name or s3.object.key")
	f("bad escape", `{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a%zz.log"}}}]}`, Notification{}, `key "a%zz.log"`)
	f("sns poison", testserver.SNSNotificationBody("arn:aws:sns:us-east-1:1:t", "", "oops", at), Notification{}, "SNS notification's Message: not JSON")
}

// logBuffer collects log lines, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// notifyEnv is a bucket on the S3 test server and a queue (with a
// dead-letter queue after maxReceive receives) on the SQS test server.
type notifyEnv struct {
	s3   *testserver.S3Server
	sqs  *testserver.SQSServer
	url  string
	logs *logBuffer
}

func newNotifyEnv(t *testing.T, maxReceive string) *notifyEnv {
	t.Helper()
	e := &notifyEnv{s3: testserver.S3(t), sqs: testserver.SQS(t), logs: &logBuffer{}}
	e.s3.CreateBucket(t, bucket)
	e.sqs.CreateQueue(t, "dlq", nil)
	e.url = e.sqs.CreateQueue(t, "q", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + e.sqs.QueueARN("dlq") + `","maxReceiveCount":"` + maxReceive + `"}`})
	return e
}

// source returns a Notify source on the bucket's prefix and the queue.
func (e *notifyEnv) source(t *testing.T, ctx context.Context, prefix string, cfg NotifyConfig) *Notify {
	t.Helper()
	cfg.QueueURL, cfg.Endpoint = e.url, e.sqs.URL
	n, err := NewNotify(ctx, newS3(t, e.s3, prefix), cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.SetLogger(slog.New(slog.NewTextHandler(e.logs, nil)))
	return n
}

// waitFor polls cond every 50 ms until it holds, failing the test after
// timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(timeout); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestNotify drives a Notify source through every kind of message: the
// objects it lists are exactly those announced for its bucket and prefix
// (keys with a space and '=' decoded, SNS-wrapped accepted, duplicates
// once), a test event and records for other buckets, events and keys are
// deleted as ignored, a poison message is left (to the dead-letter queue
// after maxReceiveCount), a message is deleted only once its object is
// deleted or released, a gone object's message is deleted with a log
// line, and the heartbeat keeps a held message invisible past its
// visibility timeout.
func TestNotify(t *testing.T) {
	e := newNotifyEnv(t, "2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const prefix = "my logs/x=1/"
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	body := gzipLog(t, fullHeader, 3)
	var keys []string
	var recs []testserver.S3EventRecord
	for i := range 3 {
		k := awsKey(prefix, acct, "us-east-1", false, at.Add(time.Duration(i)*5*time.Minute), ".log.gz")
		etag := e.s3.Put(t, bucket, k, body)
		keys = append(keys, k)
		recs = append(recs, testserver.S3EventRecord{Bucket: bucket, Key: k, Size: int64(len(body)), ETag: etag})
	}
	gone := awsKey(prefix, acct, "us-east-1", false, at.Add(time.Hour), ".log.gz")
	e.s3.Put(t, bucket, prefix+"README.txt", []byte("not a flow log"))

	e.sqs.SendS3Events(t, "q", recs[0])
	e.sqs.SendSNSS3Events(t, "q", "arn:aws:sns:us-east-1:123456789012:flowlogs", recs[1])
	e.sqs.SendS3Events(t, "q", recs[2])
	e.sqs.SendS3Events(t, "q", recs[2]) // S3 may deliver an event twice
	e.sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: bucket, Key: gone, Size: 10, ETag: "0123"})
	e.sqs.SendS3TestEvent(t, "q", bucket)
	e.sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: "other", Key: keys[0], Size: 1})
	e.sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: bucket, Key: prefix + "README.txt", Size: 14})
	e.sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: bucket, Key: keys[0], EventName: "ObjectRemoved:Delete"})
	e.sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: bucket, Key: "elsewhere/" + keys[0][len(prefix):], Size: 1})
	e.sqs.Send(t, "q", "this is not an S3 event")

	n := e.source(t, ctx, prefix, NotifyConfig{VisibilityTimeout: 2 * time.Second, WaitTime: time.Second, Receivers: 2})
	want := append(slices.Clone(keys), gone)
	slices.Sort(want)
	var objs []Object
	waitFor(t, "the announced objects", 10*time.Second, func() bool {
		var err error
		if objs, err = n.List(ctx); err != nil {
			t.Fatal(err)
		}
		return len(objs) == len(want) && n.Stats().Ignored == 5
	})
	var got []string
	for _, o := range objs {
		got = append(got, o.Key)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	for _, o := range objs {
		if o.Key == keys[0] && (o.Version != recs[0].ETag || o.Size != int64(len(body))) {
			t.Errorf("%s: version %q size %d, want the event's %q and %d", o.Key, o.Version, o.Size, recs[0].ETag, len(body))
		}
	}
	byKey := func(k string) Object {
		i := slices.IndexFunc(objs, func(o Object) bool { return o.Key == k })
		return objs[i]
	}
	// Nothing deleted yet: the ignored ones only.
	if st := n.Stats(); st.Deleted != 5 || st.Held != 5 {
		t.Errorf("before any object is stored: %+v, want 5 deleted (the ignored), 5 held", st)
	}

	// The gone object: Open fails, its message goes.
	if _, err := n.Open(ctx, byKey(gone)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("open of a gone object: %v", err)
	}
	if !strings.Contains(e.logs.String(), "notified object is gone: its message is deleted") {
		t.Errorf("no log line for the gone object:\n%s", e.logs.String())
	}

	// keys[0] read and deleted; keys[1] released (kept); keys[2] held past
	// its visibility timeout.
	rc, err := n.Open(ctx, byKey(keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if err := n.Delete(ctx, byKey(keys[0])); err != nil {
		t.Fatal(err)
	}
	if err := n.Release(ctx, byKey(keys[1])); err != nil {
		t.Fatal(err)
	}
	if st := n.Stats(); st.Deleted != 8 || st.Held != 2 {
		t.Errorf("after the first objects: %+v, want 8 deleted, 2 held (the duplicate events of the last object)", st)
	}
	time.Sleep(5 * time.Second) // 2.5 visibility timeouts
	if c := e.sqs.Counts(t, "q"); c.InFlight < 2 {
		t.Errorf("held messages came back: %+v", c)
	}
	if objs, _ := n.List(ctx); len(objs) != 1 || objs[0].Key != keys[2] {
		t.Errorf("held after the heartbeat: %v", objs)
	}
	if err := n.Delete(ctx, byKey(keys[2])); err != nil {
		t.Fatal(err)
	}
	if left := e.s3.Keys(t, bucket, prefix); !slices.Equal(left, []string{keys[1], prefix + "README.txt"}) {
		t.Errorf("bucket holds %q", left)
	}
	// The poison message goes to the dead-letter queue after 2 receives;
	// nothing else is left.
	waitFor(t, "the poison message in the dead-letter queue", 15*time.Second, func() bool {
		_, _ = n.List(ctx)
		return e.sqs.Counts(t, "dlq").Visible == 1
	})
	if c := e.sqs.Counts(t, "q"); c != (testserver.SQSCounts{}) {
		t.Errorf("queue left with %+v", c)
	}
	if st := n.Stats(); st.Poison < 2 || st.Deleted != 10 || st.Held != 0 {
		t.Errorf("at the end: %+v, want 2 or more poison, 10 deleted, none held", st)
	}
	if !strings.Contains(e.logs.String(), "notification cannot be parsed") {
		t.Errorf("no log line for the poison message:\n%s", e.logs.String())
	}
}

// TestNotifyInFlightHold: once an object is read, its message stays hidden
// for InFlightTimeout, heartbeat or not: a collector killed with the
// object's batch in flight (here: its source stopped) has that long to
// come back before another reader takes the message; after it, the
// message comes back (late, not lost). A message whose object was not
// read comes back after the visibility timeout.
func TestNotifyInFlightHold(t *testing.T) {
	e := newNotifyEnv(t, "5")
	const prefix = "logs/"
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	body := gzipLog(t, fullHeader, 3)
	read := awsKey(prefix, acct, "us-east-1", false, at, ".log.gz")
	unread := awsKey(prefix, acct, "us-east-1", false, at.Add(5*time.Minute), ".log.gz")
	for _, k := range []string{read, unread} {
		e.sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: bucket, Key: k, Size: int64(len(body)), ETag: e.s3.Put(t, bucket, k, body)})
	}
	cfg := NotifyConfig{VisibilityTimeout: 2 * time.Second, InFlightTimeout: 12 * time.Second, WaitTime: time.Second}
	killed, kill := context.WithCancel(context.Background())
	a := e.source(t, killed, prefix, cfg)
	var objs []Object
	waitFor(t, "the announced objects", 10*time.Second, func() bool {
		objs, _ = a.List(killed)
		return len(objs) == 2
	})
	i := slices.IndexFunc(objs, func(o Object) bool { return o.Key == read })
	rc, err := a.Open(killed, objs[i])
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	kill() // no heartbeat, no delete from here
	began := time.Now()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := e.source(t, ctx, prefix, cfg)
	seen := map[string]time.Duration{}
	waitFor(t, "both messages back", 30*time.Second, func() bool {
		objs, _ := b.List(ctx)
		for _, o := range objs {
			if _, ok := seen[o.Key]; !ok {
				seen[o.Key] = time.Since(began)
			}
		}
		return len(seen) == 2
	})
	// Slowness can only make a message later, never earlier than its
	// deadline: the read one not before 9 s (12 s less the time to read
	// it), the unread one well before it (2 s).
	if d := seen[read]; d < 9*time.Second {
		t.Errorf("the read object's message came back after %s, want about the in-flight timeout (12s)", d)
	}
	if seen[unread] >= seen[read] {
		t.Errorf("the unread object's message came back after %s, the read one's after %s: want it first (the visibility timeout, 2s)", seen[unread], seen[read])
	}
}
