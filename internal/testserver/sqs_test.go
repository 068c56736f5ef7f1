package testserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vpcflow/vpcflow/collector/source"
)

// sqsT0 is when the tests' fake clocks start.
var sqsT0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// sqsClient returns the SDK's client for srv: static credentials
// (AKIDTEST), us-east-1, request bodies buffered as the collector sends
// them (source.BufferRequestBodies), the standard retryer with at most
// attempts attempts and no backoff delay.
func sqsClient(srv *SQSServer, attempts int) *sqs.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:  source.BufferRequestBodies(awshttp.NewBuildableClient()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

// sqsEnv is a test's server, SDK client and (unless on the wall clock)
// fake clock, with shorthands that fail the test on error.
type sqsEnv struct {
	t     *testing.T
	srv   *SQSServer
	c     *sqs.Client
	clock *FakeClock
	ctx   context.Context
}

// newSQSEnv starts a server on a FakeClock at sqsT0, or on the wall clock
// when wall is true.
func newSQSEnv(t *testing.T, wall bool, opts ...SQSOption) *sqsEnv {
	e := &sqsEnv{t: t, ctx: context.Background()}
	if !wall {
		e.clock = NewFakeClock(sqsT0)
		opts = append(opts, SQSClock(e.clock))
	}
	e.srv = SQS(t, opts...)
	e.c = sqsClient(e.srv, 1)
	return e
}

// queue creates the queue name through the SDK and returns its URL.
func (e *sqsEnv) queue(name string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.c.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		e.t.Fatalf("create queue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// send sends body to the queue and returns the message's ID.
func (e *sqsEnv) send(queueURL, body string) string {
	e.t.Helper()
	out, err := e.c.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)})
	if err != nil {
		e.t.Fatalf("send %q: %v", body, err)
	}
	return aws.ToString(out.MessageId)
}

// receive receives up to max messages with every system attribute,
// overriding the visibility timeout when vt is not 0, without waiting
// (unless the queue waits by default).
func (e *sqsEnv) receive(queueURL string, max, vt int32) []sqstypes.Message {
	e.t.Helper()
	out, err := e.c.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(queueURL), MaxNumberOfMessages: max, VisibilityTimeout: vt,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		e.t.Fatalf("receive from %s: %v", queueURL, err)
	}
	return out.Messages
}

// one receives exactly one message, whose receive count must be count.
func (e *sqsEnv) one(queueURL string, vt int32, count int) sqstypes.Message {
	e.t.Helper()
	msgs := e.receive(queueURL, 10, vt)
	if len(msgs) != 1 {
		e.t.Fatalf("received %d messages, want 1", len(msgs))
	}
	if got := msgs[0].Attributes["ApproximateReceiveCount"]; got != strconv.Itoa(count) {
		e.t.Fatalf("receive count %s, want %d", got, count)
	}
	return msgs[0]
}

// none checks that no message is visible.
func (e *sqsEnv) none(queueURL string) {
	e.t.Helper()
	if msgs := e.receive(queueURL, 10, 0); len(msgs) != 0 {
		e.t.Fatalf("received %d messages, want none: %+v", len(msgs), msgs)
	}
}

func (e *sqsEnv) del(queueURL string, m sqstypes.Message) error {
	_, err := e.c.DeleteMessage(e.ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle})
	return err
}

func (e *sqsEnv) cmv(queueURL string, m sqstypes.Message, seconds int32) error {
	_, err := e.c.ChangeMessageVisibility(e.ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: seconds})
	return err
}

// counts checks the queue's counts, from the server and as
// GetQueueAttributes answers them.
func (e *sqsEnv) counts(name string, want SQSCounts) {
	e.t.Helper()
	if got := e.srv.Counts(e.t, name); got != want {
		e.t.Fatalf("%s: counts %+v, want %+v", name, got, want)
	}
	out, err := e.c.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(e.srv.QueueURL(name)),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	got := fmt.Sprintf("%s/%s/%s", out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"], out.Attributes["ApproximateNumberOfMessagesDelayed"])
	if w := fmt.Sprintf("%d/%d/%d", want.Visible, want.InFlight, want.Delayed); got != w {
		e.t.Fatalf("%s: approximate counts %s, want %s", name, got, w)
	}
}

// wantCode fails the test unless err is an API error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := apiCode(err); got != code {
		t.Fatalf("error %v (code %q), want code %q", err, got, code)
	}
}

// waitFor waits (up to 10 s) until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestSQSSendReceiveDelete goes through a message's life: queue created
// (again with the same attributes, not with others), sent, counted,
// received with its system attributes, invisible, deleted, gone.
func TestSQSSendReceiveDelete(t *testing.T) {
	e := newSQSEnv(t, false)
	u := e.queue("q", map[string]string{"VisibilityTimeout": "30"})
	if u != e.srv.QueueURL("q") || !strings.HasSuffix(u, "/123456789012/q") {
		t.Fatalf("queue URL %s, want %s", u, e.srv.QueueURL("q"))
	}
	if again := e.queue("q", map[string]string{"VisibilityTimeout": "30"}); again != u {
		t.Fatalf("same queue again: %s, want %s", again, u)
	}
	_, err := e.c.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("q"), Attributes: map[string]string{"VisibilityTimeout": "31"}})
	var exists *sqstypes.QueueNameExists
	if !errors.As(err, &exists) || exists.ErrorCode() != "QueueAlreadyExists" {
		t.Fatalf("queue with another visibility timeout: %v, want QueueNameExists (QueueAlreadyExists)", err)
	}
	got, err := e.c.GetQueueUrl(e.ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("q")})
	if err != nil || aws.ToString(got.QueueUrl) != u {
		t.Fatalf("GetQueueUrl: %v, %v", got, err)
	}

	id := e.send(u, "hello <&> wörld")
	e.counts("q", SQSCounts{Visible: 1})
	attrs, err := e.c.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:123456789012:q", "VisibilityTimeout": "30", "ReceiveMessageWaitTimeSeconds": "0", "CreatedTimestamp": strconv.FormatInt(sqsT0.Unix(), 10)} {
		if attrs.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, attrs.Attributes[k], v)
		}
	}
	if _, ok := attrs.Attributes["RedrivePolicy"]; ok {
		t.Errorf("a queue without a redrive policy answers one: %q", attrs.Attributes["RedrivePolicy"])
	}

	e.clock.Advance(1500 * time.Millisecond)
	m := e.one(u, 0, 1)
	if aws.ToString(m.MessageId) != id || aws.ToString(m.Body) != "hello <&> wörld" || aws.ToString(m.ReceiptHandle) == "" {
		t.Fatalf("received %+v, want message %s", m, id)
	}
	for k, v := range map[string]string{
		"SentTimestamp":                    strconv.FormatInt(sqsT0.UnixMilli(), 10),
		"ApproximateFirstReceiveTimestamp": strconv.FormatInt(sqsT0.Add(1500*time.Millisecond).UnixMilli(), 10),
		"SenderId":                         "AKIDTEST",
	} {
		if m.Attributes[k] != v {
			t.Errorf("message attribute %s = %q, want %q", k, m.Attributes[k], v)
		}
	}
	e.counts("q", SQSCounts{InFlight: 1})
	e.none(u)
	if err := e.del(u, m); err != nil {
		t.Fatal(err)
	}
	e.counts("q", SQSCounts{})
	e.clock.Advance(time.Minute)
	e.none(u)

	// Without MessageSystemAttributeNames, no attributes.
	e.send(u, "plain")
	out, err := e.c.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u)})
	if err != nil || len(out.Messages) != 1 || out.Messages[0].Attributes != nil {
		t.Fatalf("receive without attributes: %+v, %v", out, err)
	}
}

// TestSQSVisibility checks visibility timeouts, redelivery and what each
// kind of receipt handle does, as SQSServer's documentation states it,
// on a queue with a visibility timeout of 30 s.
func TestSQSVisibility(t *testing.T) {
	tests := []struct {
		name string
		run  func(e *sqsEnv, u string)
	}{
		{"redelivered after the timeout with a new handle; the old handle deletes nothing", func(e *sqsEnv, u string) {
			e.send(u, "m")
			r1 := e.one(u, 0, 1)
			e.clock.Advance(29 * time.Second)
			e.none(u)
			e.clock.Advance(time.Second)
			r2 := e.one(u, 0, 2)
			if aws.ToString(r2.MessageId) != aws.ToString(r1.MessageId) || aws.ToString(r2.ReceiptHandle) == aws.ToString(r1.ReceiptHandle) {
				e.t.Fatalf("redelivery: %s handle %s, first %s handle %s", *r2.MessageId, *r2.ReceiptHandle, *r1.MessageId, *r1.ReceiptHandle)
			}
			if err := e.del(u, r1); err != nil {
				e.t.Fatalf("delete with the old handle: %v, want success", err)
			}
			e.counts("q", SQSCounts{InFlight: 1})
			e.clock.Advance(30 * time.Second)
			r3 := e.one(u, 0, 3)
			if err := e.del(u, r3); err != nil {
				e.t.Fatal(err)
			}
			e.counts("q", SQSCounts{})
		}},
		{"the latest handle deletes after the timeout ran out", func(e *sqsEnv, u string) {
			e.send(u, "m")
			r1 := e.one(u, 0, 1)
			e.clock.Advance(45 * time.Second)
			e.counts("q", SQSCounts{Visible: 1})
			if err := e.del(u, r1); err != nil {
				e.t.Fatal(err)
			}
			e.counts("q", SQSCounts{})
		}},
		{"deleting twice succeeds", func(e *sqsEnv, u string) {
			e.send(u, "m")
			r1 := e.one(u, 0, 1)
			for range 2 {
				if err := e.del(u, r1); err != nil {
					e.t.Fatal(err)
				}
			}
		}},
		{"receive's VisibilityTimeout overrides the queue's", func(e *sqsEnv, u string) {
			e.send(u, "m")
			e.one(u, 5, 1)
			e.clock.Advance(4 * time.Second)
			e.none(u)
			e.clock.Advance(time.Second)
			e.one(u, 0, 2)
		}},
		{"change visibility extends from now", func(e *sqsEnv, u string) {
			e.send(u, "m")
			r1 := e.one(u, 0, 1)
			e.clock.Advance(10 * time.Second)
			if err := e.cmv(u, r1, 120); err != nil {
				e.t.Fatal(err)
			}
			e.clock.Advance(119 * time.Second)
			e.none(u)
			e.counts("q", SQSCounts{InFlight: 1})
			e.clock.Advance(time.Second)
			e.one(u, 0, 2)
		}},
		{"change visibility to 0 makes it visible at once", func(e *sqsEnv, u string) {
			e.send(u, "m")
			r1 := e.one(u, 0, 1)
			if err := e.cmv(u, r1, 0); err != nil {
				e.t.Fatal(err)
			}
			e.one(u, 0, 2)
		}},
		{"change visibility with the latest handle after the timeout succeeds and changes nothing", func(e *sqsEnv, u string) {
			e.send(u, "m")
			r1 := e.one(u, 0, 1)
			e.clock.Advance(31 * time.Second)
			if err := e.cmv(u, r1, 300); err != nil {
				e.t.Fatal(err)
			}
			e.counts("q", SQSCounts{Visible: 1})
			e.one(u, 0, 2)
		}},
		{"change visibility with an old handle fails", func(e *sqsEnv, u string) {
			e.send(u, "m")
			r1 := e.one(u, 0, 1)
			e.clock.Advance(30 * time.Second)
			r2 := e.one(u, 0, 2)
			err := e.cmv(u, r1, 10)
			wantCode(e.t, err, "InvalidParameterValue")
			if !strings.Contains(err.Error(), "Message does not exist or is not available for visibility timeout change") {
				e.t.Fatalf("message: %v", err)
			}
			if err := e.cmv(u, r2, 10); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"change visibility of a deleted message fails", func(e *sqsEnv, u string) {
			e.send(u, "m")
			r1 := e.one(u, 0, 1)
			if err := e.del(u, r1); err != nil {
				e.t.Fatal(err)
			}
			wantCode(e.t, e.cmv(u, r1, 10), "InvalidParameterValue")
		}},
		{"change visibility up to 12 hours after the receipt", func(e *sqsEnv, u string) {
			e.send(u, "m")
			r1 := e.one(u, 0, 1)
			if err := e.cmv(u, r1, SQSMaxVisibilityTimeout); err != nil {
				e.t.Fatal(err)
			}
			e.clock.Advance(time.Hour)
			err := e.cmv(u, r1, SQSMaxVisibilityTimeout)
			wantCode(e.t, err, "InvalidParameterValue")
			if !strings.Contains(err.Error(), "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]") {
				e.t.Fatalf("message: %v", err)
			}
			if err := e.cmv(u, r1, SQSMaxVisibilityTimeout-3600); err != nil {
				e.t.Fatal(err)
			}
			wantCode(e.t, e.cmv(u, r1, SQSMaxVisibilityTimeout+1), "InvalidParameterValue")
		}},
		{"handles that are not the queue's are invalid", func(e *sqsEnv, u string) {
			other := e.queue("other", nil)
			e.send(other, "m")
			foreign := e.one(other, 0, 1)
			for _, h := range []string{"garbage", "AQEB!!!", aws.ToString(foreign.ReceiptHandle)} {
				m := sqstypes.Message{ReceiptHandle: aws.String(h)}
				for name, err := range map[string]error{"delete": e.del(u, m), "change visibility": e.cmv(u, m, 10)} {
					var invalid *sqstypes.ReceiptHandleIsInvalid
					if !errors.As(err, &invalid) || invalid.ErrorCode() != "ReceiptHandleIsInvalid" {
						e.t.Errorf("%s with handle %q: %v, want ReceiptHandleIsInvalid", name, h, err)
					}
				}
			}
			e.counts("other", SQSCounts{InFlight: 1})
		}},
		{"delayed messages count apart until their delay ends", func(e *sqsEnv, u string) {
			if _, err := e.c.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("later"), DelaySeconds: 10}); err != nil {
				e.t.Fatal(err)
			}
			e.counts("q", SQSCounts{Delayed: 1})
			e.none(u)
			e.clock.Advance(10 * time.Second)
			e.one(u, 0, 1)
		}},
		{"purge deletes everything, once a minute", func(e *sqsEnv, u string) {
			for i := range 3 {
				e.send(u, fmt.Sprint(i))
			}
			r := e.receive(u, 1, 0)
			purge := func() error {
				_, err := e.c.PurgeQueue(e.ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(u)})
				return err
			}
			if err := purge(); err != nil {
				e.t.Fatal(err)
			}
			e.counts("q", SQSCounts{})
			if err := e.del(u, r[0]); err != nil {
				e.t.Fatalf("delete a purged message: %v, want success", err)
			}
			var inProgress *sqstypes.PurgeQueueInProgress
			if err := purge(); !errors.As(err, &inProgress) || inProgress.ErrorCode() != "AWS.SimpleQueueService.PurgeQueueInProgress" {
				e.t.Fatalf("second purge: %v, want PurgeQueueInProgress", err)
			}
			e.clock.Advance(SQSPurgeInterval)
			if err := purge(); err != nil {
				e.t.Fatalf("purge a minute later: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSQSEnv(t, false)
			tt.run(e, e.queue("q", nil))
		})
	}
}

// TestSQSLongPoll checks that a long poll waits until a message is
// visible (sent, or back from its visibility timeout) or the wait ends,
// on the wall clock and on a fake one.
func TestSQSLongPoll(t *testing.T) {
	type result struct {
		msgs []sqstypes.Message
		err  error
	}
	// poll starts a long poll in a goroutine and waits until the server
	// holds it.
	poll := func(e *sqsEnv, in *sqs.ReceiveMessageInput) <-chan result {
		ch := make(chan result, 1)
		before := e.srv.Requests(SQSReceiveMessage)
		go func() {
			out, err := e.c.ReceiveMessage(e.ctx, in)
			if err != nil {
				ch <- result{err: err}
				return
			}
			ch <- result{msgs: out.Messages}
		}()
		waitFor(e.t, "the long poll waits", func() bool {
			return e.srv.Requests(SQSReceiveMessage) > before && e.srv.Waiting() == 1
		})
		return ch
	}
	tests := []struct {
		name  string
		wall  bool
		attrs map[string]string
		// run starts the poll and acts; want is the bodies the poll
		// returns.
		run  func(e *sqsEnv, u string) <-chan result
		want []string
	}{
		{"a message sent while waiting (wall clock)", true, nil, func(e *sqsEnv, u string) <-chan result {
			ch := poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: SQSMaxWaitSeconds})
			go e.c.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("arrived")})
			return ch
		}, []string{"arrived"}},
		{"a batch sent while waiting comes at once", true, nil, func(e *sqsEnv, u string) <-chan result {
			ch := poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: SQSMaxWaitSeconds, MaxNumberOfMessages: 10})
			go e.c.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: []sqstypes.SendMessageBatchRequestEntry{
				{Id: aws.String("a"), MessageBody: aws.String("1")}, {Id: aws.String("b"), MessageBody: aws.String("2")}, {Id: aws.String("c"), MessageBody: aws.String("3")},
			}})
			return ch
		}, []string{"1", "2", "3"}},
		{"the wait ends empty (wall clock)", true, nil, func(e *sqsEnv, u string) <-chan result {
			return poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: 1})
		}, nil},
		{"a message back from its visibility timeout (wall clock)", true, map[string]string{"VisibilityTimeout": "1"}, func(e *sqsEnv, u string) <-chan result {
			e.send(u, "again")
			e.receive(u, 1, 0)
			return poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: SQSMaxWaitSeconds})
		}, []string{"again"}},
		{"still waiting until the fake clock passes the wait", false, nil, func(e *sqsEnv, u string) <-chan result {
			ch := poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: 5})
			e.srv.CreateQueue(e.t, "elsewhere", nil)
			e.srv.Send(e.t, "elsewhere", "not for this queue")
			e.clock.Advance(5*time.Second - time.Millisecond)
			e.srv.Send(e.t, "q", "late")
			return ch
		}, []string{"late"}},
		{"the wait ends when the fake clock passes it", false, nil, func(e *sqsEnv, u string) <-chan result {
			ch := poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: SQSMaxWaitSeconds})
			e.clock.Advance(SQSMaxWaitSeconds * time.Second)
			return ch
		}, nil},
		{"a message back from its visibility timeout (fake clock)", false, nil, func(e *sqsEnv, u string) <-chan result {
			e.send(u, "again")
			e.one(u, 5, 1)
			ch := poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: 20})
			e.clock.Advance(5 * time.Second)
			return ch
		}, []string{"again"}},
		{"the queue's ReceiveMessageWaitTimeSeconds is the default wait", false, map[string]string{"ReceiveMessageWaitTimeSeconds": "20"}, func(e *sqsEnv, u string) <-chan result {
			ch := poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u)})
			e.srv.Send(e.t, "q", "by default")
			return ch
		}, []string{"by default"}},
		{"a message made visible by ChangeMessageVisibility", false, nil, func(e *sqsEnv, u string) <-chan result {
			e.send(u, "released")
			m := e.one(u, 0, 1)
			ch := poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: 20})
			if err := e.cmv(u, m, 0); err != nil {
				e.t.Fatal(err)
			}
			return ch
		}, []string{"released"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSQSEnv(t, tt.wall)
			u := e.queue("q", tt.attrs)
			// A poll the fake clock does not end fails instead of
			// waiting out its WaitTimeSeconds on the wall clock.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e.ctx = ctx
			res := <-tt.run(e, u)
			if res.err != nil {
				t.Fatal(res.err)
			}
			var got []string
			for _, m := range res.msgs {
				got = append(got, aws.ToString(m.Body))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("long poll returned %q, want %q", got, tt.want)
			}
			if n := e.srv.Waiting(); n != 0 {
				t.Fatalf("%d polls still waiting", n)
			}
		})
	}

	t.Run("a canceled poll returns", func(t *testing.T) {
		e := newSQSEnv(t, false)
		u := e.queue("q", nil)
		ctx, cancel := context.WithCancel(context.Background())
		e.ctx = ctx
		ch := poll(e, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: 20})
		cancel()
		if res := <-ch; !errors.Is(res.err, context.Canceled) {
			t.Fatalf("canceled poll: %+v, want context.Canceled", res)
		}
		waitFor(t, "the server lets the poll go", func() bool { return e.srv.Waiting() == 0 })
	})
}

// TestSQSBatch checks the batch actions: entries that fail beside entries
// that succeed, and the errors of a batch as a whole.
func TestSQSBatch(t *testing.T) {
	e := newSQSEnv(t, false)
	u := e.queue("q", nil)
	sent, err := e.c.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: []sqstypes.SendMessageBatchRequestEntry{
		{Id: aws.String("ok-1"), MessageBody: aws.String("one")},
		{Id: aws.String("bad"), MessageBody: aws.String("control \x01 character")},
		{Id: aws.String("ok-2"), MessageBody: aws.String("two"), DelaySeconds: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent.Successful) != 2 || aws.ToString(sent.Successful[0].Id) != "ok-1" || aws.ToString(sent.Successful[1].Id) != "ok-2" {
		t.Fatalf("successful %+v", sent.Successful)
	}
	if len(sent.Failed) != 1 || aws.ToString(sent.Failed[0].Id) != "bad" || aws.ToString(sent.Failed[0].Code) != "InvalidMessageContents" || !sent.Failed[0].SenderFault {
		t.Fatalf("failed %+v", sent.Failed)
	}
	e.counts("q", SQSCounts{Visible: 1, Delayed: 1})
	e.clock.Advance(5 * time.Second)
	msgs := e.receive(u, 10, 0)
	if len(msgs) != 2 || aws.ToString(msgs[0].Body) != "one" || aws.ToString(msgs[1].Body) != "two" {
		t.Fatalf("received %+v", msgs)
	}

	// msgs[1] deleted: changing its visibility fails; so does a garbage
	// handle; msgs[0]'s succeeds.
	if err := e.del(u, msgs[1]); err != nil {
		t.Fatal(err)
	}
	changed, err := e.c.ChangeMessageVisibilityBatch(e.ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(u), Entries: []sqstypes.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 600},
		{Id: aws.String("b"), ReceiptHandle: msgs[1].ReceiptHandle, VisibilityTimeout: 600},
		{Id: aws.String("c"), ReceiptHandle: aws.String("garbage"), VisibilityTimeout: 600},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := batchSummary(changed.Successful, changed.Failed); got != "ok a; b InvalidParameterValue; c ReceiptHandleIsInvalid" {
		t.Fatalf("change visibility batch: %s", got)
	}
	e.clock.Advance(599 * time.Second)
	e.none(u)

	deleted, err := e.c.DeleteMessageBatch(e.ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(u), Entries: []sqstypes.DeleteMessageBatchRequestEntry{
		{Id: aws.String("x"), ReceiptHandle: aws.String("garbage")},
		{Id: aws.String("y"), ReceiptHandle: msgs[0].ReceiptHandle},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := batchSummary(deleted.Successful, deleted.Failed); got != "ok y; x ReceiptHandleIsInvalid" {
		t.Fatalf("delete batch: %s", got)
	}
	e.counts("q", SQSCounts{})

	// Errors of a batch as a whole, for each batch action.
	entries := func(n int, id func(int) string, body string) []batchEntry {
		var out []batchEntry
		for i := range n {
			out = append(out, batchEntry{id(i), body})
		}
		return out
	}
	seq := func(i int) string { return fmt.Sprint("e", i) }
	for _, tt := range []struct {
		name    string
		entries []batchEntry
		code    string
		typed   func(error) bool
		sendOK  bool // only SendMessageBatch checks bodies
	}{
		{"empty", []batchEntry{}, "AWS.SimpleQueueService.EmptyBatchRequest", isErr[*sqstypes.EmptyBatchRequest], false},
		{"11 entries", entries(11, seq, "x"), "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", isErr[*sqstypes.TooManyEntriesInBatchRequest], false},
		{"repeated id", entries(2, func(int) string { return "same" }, "x"), "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", isErr[*sqstypes.BatchEntryIdsNotDistinct], false},
		{"bad id", entries(1, func(int) string { return "not valid!" }, "x"), "AWS.SimpleQueueService.InvalidBatchEntryId", isErr[*sqstypes.InvalidBatchEntryId], false},
		{"bodies over 1 MiB", entries(2, seq, strings.Repeat("x", SQSMaxMessageSize/2+1)), "AWS.SimpleQueueService.BatchRequestTooLong", isErr[*sqstypes.BatchRequestTooLong], true},
	} {
		for _, action := range []string{SQSSendMessageBatch, SQSDeleteMessageBatch, SQSChangeMessageVisibilityBatch} {
			t.Run(tt.name+"/"+action, func(t *testing.T) {
				err := sendBatch(e, u, action, tt.entries)
				if tt.sendOK && action != SQSSendMessageBatch {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if apiCode(err) != tt.code || !tt.typed(err) {
					t.Fatalf("error %v (%T), want %s", err, errors.Unwrap(err), tt.code)
				}
			})
		}
	}
}

// batchEntry is a batch entry of any batch action: its Id, and its body
// or receipt handle.
type batchEntry struct{ id, text string }

// sendBatch sends entries with a batch action.
func sendBatch(e *sqsEnv, u, action string, entries []batchEntry) error {
	var err error
	switch action {
	case SQSSendMessageBatch:
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: []sqstypes.SendMessageBatchRequestEntry{}}
		for _, en := range entries {
			in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(en.id), MessageBody: aws.String(en.text)})
		}
		_, err = e.c.SendMessageBatch(e.ctx, in)
	case SQSDeleteMessageBatch:
		in := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(u), Entries: []sqstypes.DeleteMessageBatchRequestEntry{}}
		for _, en := range entries {
			in.Entries = append(in.Entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(en.id), ReceiptHandle: aws.String(en.text)})
		}
		_, err = e.c.DeleteMessageBatch(e.ctx, in)
	case SQSChangeMessageVisibilityBatch:
		in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(u), Entries: []sqstypes.ChangeMessageVisibilityBatchRequestEntry{}}
		for _, en := range entries {
			in.Entries = append(in.Entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(en.id), ReceiptHandle: aws.String(en.text)})
		}
		_, err = e.c.ChangeMessageVisibilityBatch(e.ctx, in)
	}
	return err
}

// isErr reports whether err wraps an error of type T.
func isErr[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// batchSummary lists a batch answer: "ok id" for each success, then "id
// code" for each failure (each a sender fault).
func batchSummary[T interface {
	sqstypes.ChangeMessageVisibilityBatchResultEntry | sqstypes.DeleteMessageBatchResultEntry
}](ok []T, failed []sqstypes.BatchResultErrorEntry) string {
	var parts []string
	for _, o := range ok {
		switch o := any(o).(type) {
		case sqstypes.ChangeMessageVisibilityBatchResultEntry:
			parts = append(parts, "ok "+aws.ToString(o.Id))
		case sqstypes.DeleteMessageBatchResultEntry:
			parts = append(parts, "ok "+aws.ToString(o.Id))
		}
	}
	for _, f := range failed {
		s := aws.ToString(f.Id) + " " + aws.ToString(f.Code)
		if !f.SenderFault || aws.ToString(f.Message) == "" {
			s += " (no sender fault or message)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// TestSQSDeadLetter checks the redrive policy: a message received
// maxReceiveCount times moves to the dead-letter queue when due again,
// keeping its ID, body, timestamps and receive count; and the policies
// CreateQueue refuses.
func TestSQSDeadLetter(t *testing.T) {
	e := newSQSEnv(t, false)
	dlq := e.queue("dlq", nil)
	policy := fmt.Sprintf(`{"deadLetterTargetArn":"%s","maxReceiveCount":"2"}`, e.srv.QueueARN("dlq"))
	u := e.queue("q", map[string]string{"RedrivePolicy": policy})
	attrs, err := e.c.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := attrs.Attributes["RedrivePolicy"], `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq","maxReceiveCount":2}`; got != want {
		t.Fatalf("RedrivePolicy %s, want %s", got, want)
	}
	if again := e.queue("q", map[string]string{"RedrivePolicy": strings.Replace(policy, `"2"`, "2", 1)}); again != u {
		t.Fatalf("same redrive policy with a number: %s", again)
	}

	id := e.send(u, "poison")
	e.one(u, 0, 1)
	e.clock.Advance(30 * time.Second)
	last := e.one(u, 0, 2)
	e.clock.Advance(30 * time.Second)
	e.none(u)
	e.counts("q", SQSCounts{})
	e.counts("dlq", SQSCounts{Visible: 1})
	m := e.one(dlq, 0, 3)
	if aws.ToString(m.MessageId) != id || aws.ToString(m.Body) != "poison" ||
		m.Attributes["DeadLetterQueueSourceArn"] != e.srv.QueueARN("q") || m.Attributes["SentTimestamp"] != strconv.FormatInt(sqsT0.UnixMilli(), 10) {
		t.Fatalf("dead letter %+v", m)
	}
	if err := e.del(u, last); err != nil {
		t.Fatalf("delete with the source queue's handle of a moved message: %v, want success", err)
	}
	wantCode(t, e.cmv(u, last, 10), "InvalidParameterValue")
	e.counts("dlq", SQSCounts{InFlight: 1})
	if err := e.del(dlq, m); err != nil {
		t.Fatal(err)
	}
	e.counts("dlq", SQSCounts{})

	// A message deleted before the limit never moves.
	e.send(u, "fine")
	e.one(u, 0, 1)
	e.clock.Advance(30 * time.Second)
	if err := e.del(u, e.one(u, 0, 2)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	e.counts("q", SQSCounts{})
	e.counts("dlq", SQSCounts{})

	for _, tt := range []struct{ name, policy, reason string }{
		{"no such queue", `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:nope","maxReceiveCount":3}`, "Dead letter target does not exist"},
		{"maxReceiveCount 0", strings.Replace(policy, `"2"`, "0", 1), "Invalid value for maxReceiveCount"},
		{"maxReceiveCount 1001", strings.Replace(policy, `"2"`, "1001", 1), "Invalid value for maxReceiveCount"},
		{"no target", `{"maxReceiveCount":3}`, "mandatory attribute: deadLetterTargetArn"},
		{"not JSON", `dlq:3`, "not a valid JSON map"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("bad-redrive"), Attributes: map[string]string{"RedrivePolicy": tt.policy}})
			wantCode(t, err, "InvalidParameterValue")
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("message %v lacks %q", err, tt.reason)
			}
		})
	}
}

// TestSQSErrors checks the errors the SDK reports: unknown queues (typed,
// with the legacy code), denied actions, throttling with the standard
// retryer, and refused parameters.
func TestSQSErrors(t *testing.T) {
	e := newSQSEnv(t, false)
	u := e.queue("q", nil)
	missing := e.srv.QueueURL("nope")
	calls := map[string]func(c *sqs.Client, queueURL string) error{
		SQSGetQueueAttributes: func(c *sqs.Client, q string) error {
			_, err := c.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q)})
			return err
		},
		SQSSendMessage: func(c *sqs.Client, q string) error {
			_, err := c.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String("x")})
			return err
		},
		SQSSendMessageBatch: func(c *sqs.Client, q string) error {
			_, err := c.SendMessageBatch(e.ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q), Entries: []sqstypes.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("x")}}})
			return err
		},
		SQSReceiveMessage: func(c *sqs.Client, q string) error {
			_, err := c.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q)})
			return err
		},
		SQSChangeMessageVisibility: func(c *sqs.Client, q string) error {
			_, err := c.ChangeMessageVisibility(e.ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q), ReceiptHandle: aws.String("h"), VisibilityTimeout: 1})
			return err
		},
		SQSDeleteMessage: func(c *sqs.Client, q string) error {
			_, err := c.DeleteMessage(e.ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q), ReceiptHandle: aws.String("h")})
			return err
		},
		SQSDeleteMessageBatch: func(c *sqs.Client, q string) error {
			_, err := c.DeleteMessageBatch(e.ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q), Entries: []sqstypes.DeleteMessageBatchRequestEntry{{Id: aws.String("a"), ReceiptHandle: aws.String("h")}}})
			return err
		},
		SQSPurgeQueue: func(c *sqs.Client, q string) error {
			_, err := c.PurgeQueue(e.ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(q)})
			return err
		},
	}
	for action, call := range calls {
		t.Run("unknown queue/"+action, func(t *testing.T) {
			err := call(e.c, missing)
			var qdne *sqstypes.QueueDoesNotExist
			if !errors.As(err, &qdne) || qdne.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" || qdne.ErrorMessage() != "The specified queue does not exist." {
				t.Fatalf("error %v, want QueueDoesNotExist (AWS.SimpleQueueService.NonExistentQueue)", err)
			}
		})
	}
	_, err := e.c.GetQueueUrl(e.ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")
	_, err = e.c.GetQueueUrl(e.ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("q"), QueueOwnerAWSAccountId: aws.String("999999999999")})
	wantCode(t, err, "AWS.SimpleQueueService.NonExistentQueue")

	// Denied and throttled, with a client of attempts attempts.
	for _, tt := range []struct {
		name     string
		deny     []string
		throttle int
		attempts int
		// want is each action's error code ("" for success); requests
		// the requests of each the server received.
		want     map[string]string
		requests int
	}{
		{name: "receive denied", deny: []string{SQSReceiveMessage}, attempts: 3, requests: 1, want: map[string]string{SQSReceiveMessage: "AccessDenied"}},
		{name: "delete denied, batch too", deny: []string{SQSDeleteMessage}, attempts: 3, requests: 1, want: map[string]string{SQSDeleteMessage: "AccessDenied", SQSDeleteMessageBatch: "AccessDenied"}},
		{name: "send batch denied, send too", deny: []string{SQSSendMessageBatch}, attempts: 3, requests: 1, want: map[string]string{SQSSendMessage: "AccessDenied", SQSSendMessageBatch: "AccessDenied"}},
		{name: "throttled then retried", throttle: 2, attempts: 3, requests: 3, want: map[string]string{}},
		{name: "throttled past retries", throttle: 3, attempts: 3, requests: 3, want: map[string]string{
			SQSGetQueueAttributes: "RequestThrottled", SQSSendMessage: "RequestThrottled", SQSSendMessageBatch: "RequestThrottled", SQSReceiveMessage: "RequestThrottled",
			SQSChangeMessageVisibility: "RequestThrottled", SQSDeleteMessage: "RequestThrottled", SQSDeleteMessageBatch: "RequestThrottled", SQSPurgeQueue: "RequestThrottled",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for action, call := range calls {
				srv := SQS(t)
				srv.CreateQueue(t, "q", nil)
				srv.Deny(tt.deny...)
				srv.Throttle(tt.throttle)
				err := call(sqsClient(srv, tt.attempts), srv.QueueURL("q"))
				want := tt.want[action]
				if want == "" && action == SQSChangeMessageVisibility || want == "" && action == SQSDeleteMessage {
					want = "ReceiptHandleIsInvalid" // allowed, with the handle "h"
				}
				if got := apiCode(err); got != want || (err != nil) != (want != "") {
					t.Errorf("%s: error %v (code %q), want code %q", action, err, got, want)
				}
				if want == "RequestThrottled" && !isErr[*sqstypes.RequestThrottled](err) {
					t.Errorf("%s: %T, want *types.RequestThrottled", action, errors.Unwrap(err))
				}
				if want == "AccessDenied" {
					iam := strings.ToLower(sqsIAMAction(action))
					if msg := fmt.Sprintf("User: arn:aws:iam::123456789012:user/test is not authorized to perform: sqs:%s on resource: arn:aws:sqs:us-east-1:123456789012:q because no identity-based policy allows the sqs:%s action", iam, iam); !strings.Contains(err.Error(), msg) {
						t.Errorf("%s: message %q lacks %q", action, err, msg)
					}
				}
				if got := srv.Requests(action); got != tt.requests {
					t.Errorf("%s: %d requests, want %d", action, got, tt.requests)
				}
			}
		})
	}
	t.Run("allow undoes deny", func(t *testing.T) {
		e.srv.Deny(SQSSendMessage)
		wantCode(t, calls[SQSSendMessage](e.c, u), "AccessDenied")
		e.srv.Allow(SQSSendMessageBatch)
		if err := calls[SQSSendMessage](e.c, u); err != nil {
			t.Fatal(err)
		}
	})

	// Refused parameters.
	for _, tt := range []struct {
		name string
		call func() error
		code string
	}{
		{"MaxNumberOfMessages 11", func() error {
			_, err := e.c.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), MaxNumberOfMessages: 11})
			return err
		}, "InvalidParameterValue"},
		{"WaitTimeSeconds 21", func() error {
			_, err := e.c.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: 21})
			return err
		}, "InvalidParameterValue"},
		{"VisibilityTimeout over 12 h", func() error {
			_, err := e.c.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), VisibilityTimeout: SQSMaxVisibilityTimeout + 1})
			return err
		}, "InvalidParameterValue"},
		{"unknown message attribute", func() error {
			_, err := e.c.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"Colour"}})
			return err
		}, "InvalidAttributeName"},
		{"queue name with a space", func() error {
			_, err := e.c.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("a b")})
			return err
		}, "InvalidParameterValue"},
		{"FIFO queue", func() error {
			_, err := e.c.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("a.fifo")})
			return err
		}, "InvalidParameterValue"},
		{"unknown queue attribute", func() error {
			_, err := e.c.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{"Colour": "blue"}})
			return err
		}, "InvalidAttributeName"},
		{"unsupported queue attribute", func() error {
			_, err := e.c.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{"DelaySeconds": "5"}})
			return err
		}, "InvalidAttributeName"},
		{"visibility timeout out of range", func() error {
			_, err := e.c.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{"VisibilityTimeout": "43201"}})
			return err
		}, "InvalidAttributeValue"},
		{"wait time out of range", func() error {
			_, err := e.c.CreateQueue(e.ctx, &sqs.CreateQueueInput{QueueName: aws.String("x"), Attributes: map[string]string{"ReceiveMessageWaitTimeSeconds": "21"}})
			return err
		}, "InvalidAttributeValue"},
		{"unknown attribute read", func() error {
			_, err := e.c.GetQueueAttributes(e.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []sqstypes.QueueAttributeName{"Colour"}})
			return err
		}, "InvalidAttributeName"},
		{"body with a control character", func() error {
			_, err := e.c.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("bell \a")})
			return err
		}, "InvalidMessageContents"},
		{"body over 1 MiB", func() error {
			_, err := e.c.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(strings.Repeat("x", SQSMaxMessageSize+1))})
			return err
		}, "InvalidParameterValue"},
		{"delay over 15 min", func() error {
			_, err := e.c.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x"), DelaySeconds: SQSMaxDelaySeconds + 1})
			return err
		}, "InvalidParameterValue"},
		{"message attributes", func() error {
			_, err := e.c.SendMessage(e.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x"), MessageAttributes: map[string]sqstypes.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}})
			return err
		}, "InvalidParameterValue"},
		{"unsupported action", func() error {
			_, err := e.c.ListQueues(e.ctx, &sqs.ListQueuesInput{})
			return err
		}, "AWS.SimpleQueueService.UnsupportedOperation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.call(), tt.code)
		})
	}
	e.counts("q", SQSCounts{Visible: 1}) // the allowed send above, nothing else
}

// TestSQSProtocol checks the raw protocol: requests without a
// well-formed SigV4 Authorization header or outside the JSON protocol
// are refused, and answers carry SQS's status, headers and JSON bodies.
func TestSQSProtocol(t *testing.T) {
	srv := SQS(t)
	srv.CreateQueue(t, "q", nil)
	const okAuth = "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, method, auth, contentType, target, body string
		status                                        int
		queryError                                    string
		want                                          string // the body, or a regexp of it
	}{
		{"no authorization", "POST", "", SQSContentType, "AmazonSQS.GetQueueUrl", `{"QueueName":"q"}`, 403, "MissingAuthenticationToken;Sender", `^\{"__type":"com.amazon.coral.service#MissingAuthenticationTokenException","message":"Request is missing Authentication Token"\}$`},
		{"basic auth", "POST", "Basic dXNlcjpwYXNz", SQSContentType, "AmazonSQS.GetQueueUrl", `{"QueueName":"q"}`, 400, "IncompleteSignature;Sender", `"__type":"com.amazon.coral.service#IncompleteSignatureException"`},
		{"signed for another service", "POST", strings.Replace(okAuth, "/sqs/", "/s3/", 1), SQSContentType, "AmazonSQS.GetQueueUrl", `{"QueueName":"q"}`, 400, "IncompleteSignature;Sender", `IncompleteSignature`},
		{"query protocol", "POST", okAuth, "application/x-www-form-urlencoded", "", "Action=GetQueueUrl&QueueName=q", 400, "InvalidAction;Sender", `only the AWS JSON 1.0 protocol`},
		{"no target", "POST", okAuth, SQSContentType, "", `{"QueueName":"q"}`, 400, "InvalidAction;Sender", `UnknownOperationException`},
		{"unknown action", "POST", okAuth, SQSContentType, "AmazonSQS.Teleport", `{}`, 400, "InvalidAction;Sender", `The action Teleport is not valid`},
		{"not JSON", "POST", okAuth, SQSContentType, "AmazonSQS.GetQueueUrl", `QueueName=q`, 400, "SerializationException;Sender", `SerializationException`},
		{"GET", "GET", okAuth, SQSContentType, "AmazonSQS.GetQueueUrl", ``, 405, "InvalidHttpRequest;Sender", `InvalidHttpRequest`},
		{"queue does not exist", "POST", okAuth, SQSContentType, "AmazonSQS.GetQueueUrl", `{"QueueName":"nope"}`, 400, "AWS.SimpleQueueService.NonExistentQueue;Sender", `^\{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."\}$`},
		{"queue URL", "POST", okAuth, SQSContentType, "AmazonSQS.GetQueueUrl", `{"QueueName":"q"}`, 200, "", `^\{"QueueUrl":"` + regexp.QuoteMeta(srv.QueueURL("q")) + `"\}$`},
		{"queue URL on AWS's host", "POST", okAuth, SQSContentType, "AmazonSQS.SendMessage", `{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/q","MessageBody":"x"}`, 200, "", `^\{"MD5OfMessageBody":"9dd4e461268c8034f5c8564e155c67a6","MessageId":"[0-9a-f-]{36}"\}$`},
		{"another account's queue", "POST", okAuth, SQSContentType, "AmazonSQS.SendMessage", `{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/999999999999/q","MessageBody":"x"}`, 400, "AWS.SimpleQueueService.NonExistentQueue;Sender", `QueueDoesNotExist`},
		{"MaxNumberOfMessages 0", "POST", okAuth, SQSContentType, "AmazonSQS.ReceiveMessage", `{"QueueUrl":"` + srv.QueueURL("q") + `","MaxNumberOfMessages":0}`, 400, "InvalidParameterValue;Sender", `Must be between 1 and 10`},
		{"receive from a queue that does not exist", "POST", okAuth, SQSContentType, "AmazonSQS.ReceiveMessage", `{"QueueUrl":"` + srv.QueueURL("nope") + `"}`, 400, "AWS.SimpleQueueService.NonExistentQueue;Sender", `QueueDoesNotExist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if got := resp.Header.Get("x-amzn-query-error"); got != tt.queryError {
				t.Errorf("x-amzn-query-error %q, want %q", got, tt.queryError)
			}
			if resp.Header.Get("Content-Type") != SQSContentType || resp.Header.Get("x-amzn-RequestId") == "" {
				t.Errorf("headers %v", resp.Header)
			}
			if !regexp.MustCompile(tt.want).Match(b) {
				t.Errorf("body %s, want %s", b, tt.want)
			}
		})
	}
	// Only the signed, JSON, AmazonSQS-targeted requests were counted.
	for action, n := range map[string]int{SQSGetQueueURL: 3, SQSSendMessage: 2, SQSReceiveMessage: 2, "Teleport": 1} {
		if got := srv.Requests(action); got != n {
			t.Errorf("%d %s requests counted, want %d", got, action, n)
		}
	}

	t.Run("sdk without credentials", func(t *testing.T) {
		c := sqs.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}}, func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
		_, err := c.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("q")})
		wantCode(t, err, "MissingAuthenticationToken")
	})
}

// TestSQSConcurrentConsumers has consumers receive and delete in parallel
// (run with -race): every message is delivered once and deleted.
func TestSQSConcurrentConsumers(t *testing.T) {
	e := newSQSEnv(t, true)
	u := e.queue("q", nil)
	const n = 200
	for i := range n / 10 {
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(u)}
		for j := range 10 {
			in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("m", j)), MessageBody: aws.String(fmt.Sprint(i*10 + j))})
		}
		if _, err := e.c.SendMessageBatch(e.ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				out, err := e.c.ReceiveMessage(e.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), MaxNumberOfMessages: 10})
				if err != nil {
					errs <- err
					return
				}
				if len(out.Messages) == 0 {
					return
				}
				var entries []sqstypes.DeleteMessageBatchRequestEntry
				for i, m := range out.Messages {
					mu.Lock()
					seen[aws.ToString(m.Body)]++
					mu.Unlock()
					entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
				}
				res, err := e.c.DeleteMessageBatch(e.ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(u), Entries: entries})
				if err != nil || len(res.Failed) > 0 {
					errs <- fmt.Errorf("delete: %v, %+v", err, res)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages received, want %d", len(seen), n)
	}
	for body, k := range seen {
		if k != 1 {
			t.Fatalf("message %s received %d times", body, k)
		}
	}
	e.counts("q", SQSCounts{})
}

// s3Event is an S3 event notification as the S3 User Guide's "Event
// message structure" documents it.
type s3Event struct {
	Records []struct {
		EventVersion string `json:"eventVersion"`
		EventSource  string `json:"eventSource"`
		AWSRegion    string `json:"awsRegion"`
		EventTime    string `json:"eventTime"`
		EventName    string `json:"eventName"`
		UserIdentity struct {
			PrincipalID string `json:"principalId"`
		} `json:"userIdentity"`
		RequestParameters struct {
			SourceIPAddress string `json:"sourceIPAddress"`
		} `json:"requestParameters"`
		ResponseElements struct {
			RequestID string `json:"x-amz-request-id"`
			ID2       string `json:"x-amz-id-2"`
		} `json:"responseElements"`
		S3 struct {
			SchemaVersion   string `json:"s3SchemaVersion"`
			ConfigurationID string `json:"configurationId"`
			Bucket          struct {
				Name          string `json:"name"`
				OwnerIdentity struct {
					PrincipalID string `json:"principalId"`
				} `json:"ownerIdentity"`
				ARN string `json:"arn"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				Size      *int64 `json:"size"`
				ETag      string `json:"eTag"`
				VersionID string `json:"versionId"`
				Sequencer string `json:"sequencer"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// snsEnvelope is an SNS notification as the SNS Developer Guide's "Amazon
// SNS message and JSON formats" documents it.
type snsEnvelope struct {
	Type, MessageID, TopicArn, Subject, Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL string
}

// decodeStrict decodes body into v, refusing fields v does not have.
func decodeStrict(t *testing.T, body string, v any) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// TestS3EventKey checks the key encoding of S3's events, and that
// url.QueryUnescape reads it back.
func TestS3EventKey(t *testing.T) {
	for _, tt := range []struct{ key, want string }{
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/12/06/a_b-c.log.gz", "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/12/06/a_b-c.log.gz"},
		{"red flower.jpg", "red+flower.jpg"},
		{"year=2026/x:y+z", "year%3D2026/x%3Ay%2Bz"},
		{"été/100%", "%C3%A9t%C3%A9/100%25"},
		{"a~b*c&d", "a%7Eb*c%26d"},
	} {
		got := S3EventKey(tt.key)
		if got != tt.want {
			t.Errorf("S3EventKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
		if back, err := url.QueryUnescape(got); err != nil || back != tt.key {
			t.Errorf("QueryUnescape(%q) = %q, %v, want %q", got, back, err, tt.key)
		}
	}
}

// TestSQSS3Events receives the S3 notifications the helpers send, direct
// and through SNS, and decodes them as S3's and SNS's documented shapes.
func TestSQSS3Events(t *testing.T) {
	e := newSQSEnv(t, false, SQSRegionOption("eu-west-1"))
	u := e.queue("events", nil)
	const key = "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/12/06/year=2026 x.log.gz"
	const topic = "arn:aws:sns:eu-west-1:123456789012:s3-events"
	body := func(id string) string {
		t.Helper()
		for _, m := range e.receive(u, 10, 0) {
			if aws.ToString(m.MessageId) == id {
				if m.Attributes["SenderId"] == "" {
					t.Errorf("message %s has no SenderId", id)
				}
				return aws.ToString(m.Body)
			}
		}
		t.Fatalf("message %s not received", id)
		return ""
	}
	checkRecord := func(ev s3Event, i int, name, k string, size int64, seq string) string {
		t.Helper()
		r := ev.Records[i]
		o := r.S3.Object
		if r.EventVersion != "2.1" || r.EventSource != "aws:s3" || r.AWSRegion != "eu-west-1" || r.EventName != name ||
			r.EventTime != sqsT0.Format("2006-01-02T15:04:05.000Z") || r.UserIdentity.PrincipalID == "" || r.RequestParameters.SourceIPAddress == "" ||
			r.ResponseElements.RequestID == "" || r.ResponseElements.ID2 == "" || r.S3.SchemaVersion != "1.0" || r.S3.ConfigurationID == "" ||
			r.S3.Bucket.Name != "logs" || r.S3.Bucket.ARN != "arn:aws:s3:::logs" || r.S3.Bucket.OwnerIdentity.PrincipalID == "" || o.Key != S3EventKey(k) {
			t.Errorf("record %d: %+v", i, r)
		}
		if strings.HasPrefix(name, "ObjectRemoved:") {
			if o.Size != nil || o.ETag != "" {
				t.Errorf("record %d: a removal with size %v, eTag %q", i, o.Size, o.ETag)
			}
		} else if o.Size == nil || *o.Size != size || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(o.ETag) {
			t.Errorf("record %d: size %v, eTag %q, want size %d and a hex MD5", i, o.Size, o.ETag, size)
		}
		if !regexp.MustCompile(`^[0-9A-F]{18}$`).MatchString(o.Sequencer) || o.Sequencer <= seq {
			t.Errorf("record %d: sequencer %q, want hex after %q", i, o.Sequencer, seq)
		}
		return o.Sequencer
	}

	var ev s3Event
	b := body(e.srv.SendS3Event(t, "events", "logs", key, 1234))
	decodeStrict(t, b, &ev)
	if len(ev.Records) != 1 {
		t.Fatalf("%d records: %s", len(ev.Records), b)
	}
	seq := checkRecord(ev, 0, "ObjectCreated:Put", key, 1234, "")
	if !strings.Contains(b, `"key":"AWSLogs/123456789012/vpcflowlogs/eu-west-1/2026/12/06/year%3D2026+x.log.gz"`) {
		t.Errorf("key not encoded as S3 does: %s", b)
	}

	ev = s3Event{}
	b = body(e.srv.SendS3Events(t, "events",
		S3EventRecord{Bucket: "logs", Key: "a b", Size: 7, EventName: "ObjectCreated:CompleteMultipartUpload", VersionID: "v1"},
		S3EventRecord{Bucket: "logs", Key: "a b", EventName: "ObjectRemoved:Delete"},
	))
	decodeStrict(t, b, &ev)
	if len(ev.Records) != 2 || ev.Records[0].S3.Object.VersionID != "v1" {
		t.Fatalf("records: %s", b)
	}
	seq = checkRecord(ev, 0, "ObjectCreated:CompleteMultipartUpload", "a b", 7, seq)
	checkRecord(ev, 1, "ObjectRemoved:Delete", "a b", 0, seq)
	if strings.Count(b, `"size"`) != 1 {
		t.Errorf("the removal carries a size: %s", b)
	}

	var test struct{ Service, Event, Time, Bucket, RequestID, HostID string }
	b = body(e.srv.SendS3TestEvent(t, "events", "logs"))
	decodeStrict(t, b, &test)
	if test.Service != "Amazon S3" || test.Event != "s3:TestEvent" || test.Bucket != "logs" || test.Time != sqsT0.Format("2006-01-02T15:04:05.000Z") || test.RequestID == "" || test.HostID == "" {
		t.Errorf("test event %+v: %s", test, b)
	}

	var env snsEnvelope
	b = body(e.srv.SendSNSS3Events(t, "events", topic, S3EventRecord{Bucket: "logs", Key: key, Size: 99}))
	if !strings.HasPrefix(b, "{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : \"") || !strings.Contains(b, "?Action=Unsubscribe&SubscriptionArn="+topic+":") {
		t.Errorf("SNS envelope not laid out as SNS does:\n%s", b)
	}
	decodeStrict(t, b, &env)
	if env.Type != "Notification" || env.TopicArn != topic || env.Subject != SNSS3Subject || env.Timestamp != sqsT0.Format("2006-01-02T15:04:05.000Z") ||
		env.SignatureVersion != "1" || env.Signature == "" || !strings.HasPrefix(env.SigningCertURL, "https://sns.eu-west-1.amazonaws.com/") || env.MessageID == "" {
		t.Errorf("SNS envelope %+v", env)
	}
	ev = s3Event{}
	decodeStrict(t, env.Message, &ev)
	if len(ev.Records) != 1 {
		t.Fatalf("records in the SNS message: %s", env.Message)
	}
	checkRecord(ev, 0, "ObjectCreated:Put", key, 99, seq)

	// The pure builders, for tests without a server.
	if got := SNSNotificationBody("arn:aws:sns:us-east-2:1:t", "", "m", sqsT0); strings.Contains(got, "Subject") || !strings.Contains(got, "https://sns.us-east-2.amazonaws.com/") {
		t.Errorf("envelope without a subject:\n%s", got)
	}
	ev = s3Event{}
	decodeStrict(t, S3EventBody(), &ev)
	if ev.Records == nil {
		t.Errorf("an event without records has no Records array")
	}
}
