package apptest

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// notifyPrefix is the notify tests' flow log folder: a space and an '='
// in it, which S3 events carry form-URL-encoded.
const notifyPrefix = "vpc logs/team=a/"

// notifySource is a source entry for s3's bucket that takes its objects
// from the test SQS server's queue; notify is more fields of its notify
// section ("visibility_timeout: 2s"), extra more fields of the source.
func notifySource(s3 *testserver.S3Server, sqs *testserver.SQSServer, name, bucket, queueURL, notify, extra string) string {
	return s3Source(s3, name, bucket, notifyPrefix, fmt.Sprintf("    notify: {queue_url: %s, endpoint: %s, wait_time: 1s, %s}\n%s",
		queueURL, sqs.URL, notify, extra))
}

// notifyQueue creates the queue "q" with a dead-letter queue, "dlq", after
// 3 receives, and returns q's URL.
func notifyQueue(t *testing.T, sqs *testserver.SQSServer) string {
	t.Helper()
	sqs.CreateQueue(t, "dlq", nil)
	return sqs.CreateQueue(t, "q", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"` + sqs.QueueARN("dlq") + `","maxReceiveCount":3}`})
}

// putAnnounced uploads the objects to bucket and sends the queue an S3
// event for each, with the ETag the upload answered; every third is
// wrapped by SNS. It returns the events sent.
func putAnnounced(t *testing.T, s3 *testserver.S3Server, sqs *testserver.SQSServer, bucket string, objects map[string][]byte) []testserver.S3EventRecord {
	t.Helper()
	var recs []testserver.S3EventRecord
	for i, k := range slices.Sorted(maps.Keys(objects)) {
		r := testserver.S3EventRecord{Bucket: bucket, Key: k, Size: int64(len(objects[k])), ETag: s3.Put(t, bucket, k, objects[k])}
		recs = append(recs, r)
		if i%3 == 2 {
			sqs.SendSNSS3Events(t, "q", "arn:aws:sns:us-east-1:123456789012:flowlogs", r)
		} else {
			sqs.SendS3Events(t, "q", r)
		}
	}
	return recs
}

// queueEmpty reports whether the queue "q" holds no message at all
// (every one deleted).
func queueEmpty(t *testing.T, sqs *testserver.SQSServer) bool {
	return sqs.Counts(t, "q") == testserver.SQSCounts{}
}

// TestNotifyCollect: a notify source's first run (backfill) lists the
// bucket once and collects what is there; the next run collects exactly
// the objects the queue announces (keys with a space and '=' URL-decoded,
// SNS-wrapped events accepted), ignores and deletes the test event and the
// records that are not for it, and deletes the messages of the objects
// the backfill already took, as gone, with a log line. Totals equal the
// ground truth, every flow log is deleted, and so is every message. A run
// that finds only notifications of gone objects ends well.
func TestNotifyCollect(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	sqs := testserver.SQS(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	queue := notifyQueue(t, sqs)
	tr := groundtruth.New()
	before := genS3(t, tr, 61, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), notifyPrefix, false)
	after := genS3(t, tr, 62, time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), notifyPrefix, false)
	tr.Finish()
	s3.PutAll(t, "logs", before) // there before the notifications
	config := s3Config(t, vm.URL, t.TempDir(), notifySource(s3, sqs, "prod", "logs", queue, "visibility_timeout: 5s", "    on_first_run: backfill\n"))
	log, err := runOnce(t, bin, config, s3)
	if err != nil {
		t.Fatalf("first run: %v\n%s", err, log)
	}
	if !strings.Contains(log, `"msg":"backfill finished"`) {
		t.Errorf("no backfill in the first run:\n%s", log)
	}
	if left := flowLogKeys(t, s3, "logs"); len(left) != 0 {
		t.Fatalf("the backfill left %d flow logs", len(left))
	}

	putAnnounced(t, s3, sqs, "logs", after)
	late := slices.Sorted(maps.Keys(before))
	lateEvent := func(k string) { // a late notification of an object the backfill took
		sum := md5.Sum(before[k])
		sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: "logs", Key: k, Size: int64(len(before[k])), ETag: hex.EncodeToString(sum[:])})
	}
	gone := 3
	for _, k := range late[:gone] {
		lateEvent(k)
	}
	sqs.SendS3TestEvent(t, "q", "logs")
	sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: "logs", Key: notifyPrefix + "README.txt", Size: 5})
	sqs.SendS3Events(t, "q", testserver.S3EventRecord{Bucket: "other-bucket", Key: slices.Collect(maps.Keys(after))[0], Size: 5})
	log, err = runOnce(t, bin, config, s3)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, log)
	}
	tr.Check(t, vm)
	if left := flowLogKeys(t, s3, "logs"); len(left) != 0 {
		t.Errorf("flow logs left: %v", left)
	}
	if c := sqs.Counts(t, "q"); c != (testserver.SQSCounts{}) {
		t.Errorf("messages left in the queue: %+v\n%s", c, log)
	}
	if c := sqs.Counts(t, "dlq"); c != (testserver.SQSCounts{}) {
		t.Errorf("messages in the dead-letter queue: %+v", c)
	}
	if n := strings.Count(log, `"msg":"notified object is gone: its message is deleted"`); n != gone {
		t.Errorf("%d log lines of gone objects, want %d:\n%s", n, gone, log)
	}
	for _, want := range []string{`"msg":"S3 test event ignored"`, `"reason":"not a flow log key"`, `"reason":"another bucket, other-bucket"`} {
		if !strings.Contains(log, want) {
			t.Errorf("no %s in the log:\n%s", want, log)
		}
	}
	if got := sqs.Requests(testserver.SQSDeleteMessage); got != len(after)+gone+3 {
		t.Errorf("%d DeleteMessage requests, want %d (each message once)", got, len(after)+gone+3)
	}

	// A run that finds only notifications of objects already gone ends
	// well: there was nothing to read.
	for _, k := range late[gone : gone+2] {
		lateEvent(k)
	}
	log, err = runOnce(t, bin, config, s3)
	if err != nil {
		t.Fatalf("run with only gone objects: %v\n%s", err, log)
	}
	if c := sqs.Counts(t, "q"); c != (testserver.SQSCounts{}) {
		t.Errorf("messages left in the queue: %+v\n%s", c, log)
	}
	tr.Check(t, vm)
}

// TestNotifyStorageDown: with the storage down, the announced objects are
// read but not stored: their messages stay held (the heartbeat keeps them
// invisible past many visibility timeouts) and are not deleted, nor are
// the objects. Once the storage is back, everything is stored once and
// every message deleted, but that of a truncated object: quarantined, its
// message is left to the queue's redrive policy (the dead-letter queue
// after 3 receives).
func TestNotifyStorageDown(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	sqs := testserver.SQS(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	queue := notifyQueue(t, sqs)
	tr := groundtruth.New()
	objects := genS3(t, tr, 63, time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC), notifyPrefix, false)
	tr.Finish()
	config := s3Config(t, vm.URL, t.TempDir(), notifySource(s3, sqs, "prod", "logs", queue, "visibility_timeout: 2s", "    on_first_run: skip\n"))
	// A truncated object, quarantined: its message is not deleted but
	// left to the redrive policy.
	var some string
	for k := range objects {
		some = k
		break
	}
	corrupt := strings.Replace(some, ".log.gz", "-truncated.log.gz", 1)
	c := startCollector(t, bin, s3Env(s3), "run", "--config", config, "--log-format", "json")
	addr := c.statusAddr()
	c.waitFor("the first notify round", 10*time.Second, func() bool { return sqs.Requests(testserver.SQSReceiveMessage) > 0 })
	vm.Kill()
	putAnnounced(t, s3, sqs, "logs", map[string][]byte{corrupt: objects[some][:len(objects[some])/2]})
	putAnnounced(t, s3, sqs, "logs", objects)
	c.waitFor("a batch tried", 20*time.Second, func() bool { return strings.Contains(c.Log(), `"msg":"storage failing; its data waits in the source`) })
	time.Sleep(7 * time.Second) // 3.5 visibility timeouts
	if n := sqs.Requests(testserver.SQSDeleteMessage); n != 0 {
		t.Errorf("%d messages deleted while the storage is down", n)
	}
	cnt, dead := sqs.Counts(t, "q"), sqs.Counts(t, "dlq")
	if cnt.InFlight == 0 || cnt.InFlight+cnt.Visible+dead.Visible != len(objects)+1 {
		t.Errorf("queue with the storage down: %+v (%+v dead), want the %d messages, some held (invisible)", cnt, dead, len(objects)+1)
	}
	if sqs.Requests(testserver.SQSChangeMessageVisibilityBatch) == 0 {
		t.Error("no heartbeat")
	}
	if left := flowLogKeys(t, s3, "logs"); len(left) != len(objects)+1 {
		t.Errorf("%d of %d objects left with the storage down", len(left), len(objects)+1)
	}
	vm.Start()
	c.waitFor("every message deleted", time.Minute, func() bool { return queueEmpty(t, sqs) })
	if dead := sqs.Counts(t, "dlq"); dead.Visible != 1 {
		t.Errorf("dead-letter queue: %+v, want the quarantined object's message", dead)
	}
	if !strings.Contains(c.Log(), `"msg":"notified object not read: its message is left to the queue's redrive policy"`) {
		t.Errorf("no log line for the quarantined object's message:\n%s", c.Log())
	}
	body, err := httpGet("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`vpcflow_source_mode{source="prod",mode="notify"} 1`, fmt.Sprintf(`vpcflow_source_notify_messages_total{source="prod",outcome="deleted"} %d`, len(objects))} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %s in /metrics:\n%s", want, body)
		}
	}
	if err := c.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, c.Log())
	}
	tr.Check(t, vm)
	if left := flowLogKeys(t, s3, "logs"); !slices.Equal(left, []string{corrupt}) {
		t.Errorf("flow logs left: %v, want the quarantined one", left)
	}
}

// TestNotifyTwoCollectors: two collectors read one queue (instances 0 and
// 1 of 2, each with its own state); one is killed with SIGKILL while it
// works and restarted at once: it replays its unfinished batch before its
// messages come back, and whichever collector takes them again finds their
// objects gone or reads them once. Every object is counted once: totals
// equal the ground truth (but for the pair family, whose address owners
// each collector learns from its own objects).
func TestNotifyTwoCollectors(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	sqs := testserver.SQS(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	queue := notifyQueue(t, sqs)
	tr := groundtruth.New()
	objects := genS3(t, tr, 64, time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC), notifyPrefix, false)
	maps.Copy(objects, genS3(t, tr, 65, time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC), notifyPrefix, false))
	tr.Finish()
	// Each holds a batch's worth of messages: the other gets the rest.
	src := notifySource(s3, sqs, "prod", "logs", queue, "visibility_timeout: 10s, in_flight_timeout: 15s, max_messages: 4", "    on_first_run: skip\n")
	configs := make([]string, 2)
	for i := range configs {
		// Each collector keeps every label set: keep sets decided by two
		// collectors apart would fold different label sets.
		path := s3Config(t, vm.URL, t.TempDir(), src)
		configs[i] = writeFile(t, fmt.Sprintf("collector-%d.yaml", i), fmt.Sprintf("instance: {index: %d, count: 2}\naggregation: {top_k: 0}\n", i)+readFile(t, path))
	}
	start := func(i int) *collector {
		return startCollector(t, bin, s3Env(s3), "run", "--config", configs[i], "--log-format", "json")
	}
	// Announced before the collectors' first run (on_first_run: skip
	// skips the listing, not the queue's messages).
	putAnnounced(t, s3, sqs, "logs", objects)
	a, b := start(0), start(1)
	addrA := a.statusAddr()
	b.statusAddr()
	downloaded := regexp.MustCompile(`vpcflow_source_objects_total\{source="prod",stage="downloaded"\} (\d+)`)
	a.waitFor("collector A reading", 30*time.Second, func() bool {
		body, err := httpGet("http://" + addrA + "/metrics")
		m := downloaded.FindStringSubmatch(string(body))
		return err == nil && m != nil && m[1] != "0" && m[1] != "1"
	})
	a.kill()
	a = start(0)
	b.waitFor("every message deleted", 2*time.Minute, func() bool { return queueEmpty(t, sqs) })
	for _, c := range []*collector{a, b} {
		if err := c.stop(); err != nil {
			t.Fatalf("stop: %v\n%s", err, c.Log())
		}
	}
	// The pair family is left out: which addresses an interface owns is
	// learned from the logs, and each collector learns from its own.
	tr.Check(t, vm, exactFamilies...)
	if left := flowLogKeys(t, s3, "logs"); len(left) != 0 {
		t.Errorf("flow logs left: %v", left)
	}
	t.Logf("the restarted collector replayed %d pending batches", strings.Count(a.Log(), `"msg":"replaying pending batch"`))
	if t.Failed() {
		t.Logf("collector A (restarted) log:\n%s\ncollector B log:\n%s", a.Log(), b.Log())
	}
}

// TestNotifyTest: `vpcflow-collector test` checks the queue without
// touching its messages: its attributes and redrive policy, receiving,
// changing visibility and deleting (denied actions fail, naming the IAM
// action), and says that the bucket's notification configuration cannot
// be read from versitygw.
func TestNotifyTest(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	sqs := testserver.SQS(t)
	s3.CreateBucket(t, "logs")
	queue := notifyQueue(t, sqs)
	sqs.SendS3Event(t, "q", "logs", notifyPrefix+"x.log.gz", 10)
	config := s3Config(t, "http://127.0.0.1:1", t.TempDir(), notifySource(s3, sqs, "prod", "logs", queue, "visibility_timeout: 30s", "    on_first_run: skip\n"))
	test := func() (string, int) {
		cmd := exec.Command(bin, "test", "--config", config, "--skip-storage")
		cmd.Env = append(os.Environ(), s3Env(s3)...)
		out, err := cmd.CombinedOutput()
		return string(out), exitCode(t, err)
	}
	out, _ := test()
	for _, re := range []string{
		`PASS +prod +queue +queue arn:aws:sqs:us-east-1:123456789012:q answers: 1 messages waiting.*redrive policy: after 3 receives to arn:aws:sqs:us-east-1:123456789012:dlq`,
		`PASS +prod +queue-receive +received a message and made it visible again at once`,
		`PASS +prod +queue-delete +sqs:ChangeMessageVisibility and sqs:DeleteMessage allowed`,
		`WARN +prod +notification +the bucket's notification configuration cannot be read \(the S3 server does not implement GetBucketNotificationConfiguration\)`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no line matching %s in:\n%s", re, out)
		}
	}
	if c := sqs.Counts(t, "q"); c.Visible != 1 {
		t.Errorf("the test touched the message: %+v", c)
	}
	sqs.Deny(testserver.SQSDeleteMessage)
	out, code := test()
	if code != 1 || !regexp.MustCompile(`FAIL +prod +queue-delete +access denied: the credentials are not allowed sqs:DeleteMessage`).MatchString(out) {
		t.Errorf("delete denied: exit %d:\n%s", code, out)
	}
	sqs.Deny(testserver.SQSGetQueueAttributes)
	out, code = test()
	if code != 1 || !regexp.MustCompile(`FAIL +prod +queue +queue .*: access denied: the credentials are not allowed sqs:GetQueueAttributes`).MatchString(out) {
		t.Errorf("attributes denied: exit %d:\n%s", code, out)
	}
}

// TestNotifyRoles: a downloader process takes the notify source's objects
// from the queue into the spool, deleting each message once its object is
// spooled; a collector process stores them and deletes the objects, as
// instance 1 of 2 (neither splits what the queue gave). Every message and
// flow log is deleted, totals equal the ground truth.
func TestNotifyRoles(t *testing.T) {
	bin := collectorBinary(t)
	s3 := testserver.S3(t)
	sqs := testserver.SQS(t)
	vm := testserver.VictoriaMetrics(t)
	s3.CreateBucket(t, "logs")
	queue := notifyQueue(t, sqs)
	tr := groundtruth.New()
	objects := genS3(t, tr, 66, time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC), notifyPrefix, false)
	tr.Finish()
	putAnnounced(t, s3, sqs, "logs", objects)
	spoolDir := t.TempDir()
	path := s3Config(t, vm.URL, t.TempDir(), notifySource(s3, sqs, "prod", "logs", queue, "visibility_timeout: 5s", "    on_first_run: skip\n"))
	// The pair of instance 1 of 2: the downloader takes every message it
	// receives (a queue is not split) and the collector every object
	// spooled, whichever flow log it is of.
	config := writeFile(t, "collector.yaml", fmt.Sprintf("spool: {dir: %s}\ninstance: {index: 1, count: 2}\n", spoolDir)+readFile(t, path))
	coll := startCollector(t, bin, s3Env(s3), "run", "--config", config, "--role", "collector", "--log-format", "json")
	downloader := startCollector(t, bin, s3Env(s3), "run", "--config", config, "--role", "downloader", "--log-format", "json")
	coll.waitFor("every flow log collected and deleted", 2*time.Minute, func() bool { return len(flowLogKeys(t, s3, "logs")) == 0 })
	downloader.waitFor("every message deleted", time.Minute, func() bool { return queueEmpty(t, sqs) })
	for _, c := range []*collector{downloader, coll} {
		if err := c.stop(); err != nil {
			t.Fatalf("stop: %v\n%s", err, c.Log())
		}
	}
	tr.Check(t, vm)
	if got := sqs.Requests(testserver.SQSDeleteMessage); got != len(objects) {
		t.Errorf("%d DeleteMessage requests, want %d", got, len(objects))
	}
}
