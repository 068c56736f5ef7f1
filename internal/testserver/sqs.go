package testserver

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// SQSAccount and SQSRegion are the account ID and region an SQSServer
// names in its queue URLs and ARNs, unless SQSAccountOption or
// SQSRegionOption set others.
const (
	SQSAccount = "123456789012"
	SQSRegion  = "us-east-1"
)

// The actions SQSServer answers, as aws-sdk-go-v2's sqs client names them
// in X-Amz-Target (AmazonSQS.<action>).
const (
	SQSCreateQueue                  = "CreateQueue"
	SQSGetQueueURL                  = "GetQueueUrl"
	SQSGetQueueAttributes           = "GetQueueAttributes"
	SQSSendMessage                  = "SendMessage"
	SQSSendMessageBatch             = "SendMessageBatch"
	SQSReceiveMessage               = "ReceiveMessage"
	SQSChangeMessageVisibility      = "ChangeMessageVisibility"
	SQSChangeMessageVisibilityBatch = "ChangeMessageVisibilityBatch"
	SQSDeleteMessage                = "DeleteMessage"
	SQSDeleteMessageBatch           = "DeleteMessageBatch"
	SQSPurgeQueue                   = "PurgeQueue"
)

// SQS limits and defaults, as the SQS API Reference gives them.
const (
	// SQSMaxBatchEntries is the most entries of a batch action and the
	// most messages of a ReceiveMessage (MaxNumberOfMessages).
	SQSMaxBatchEntries = 10
	// SQSMaxWaitSeconds is the longest long poll (WaitTimeSeconds).
	SQSMaxWaitSeconds = 20
	// SQSMaxVisibilityTimeout is the longest visibility timeout, in
	// seconds: 12 hours, counted from the message's receipt.
	SQSMaxVisibilityTimeout = 43200
	// SQSDefaultVisibilityTimeout is a queue's visibility timeout when
	// CreateQueue does not set one, in seconds.
	SQSDefaultVisibilityTimeout = 30
	// SQSMaxMessageSize is the largest message body, and the largest
	// total of a SendMessageBatch's bodies, in bytes (1 MiB since 2025).
	SQSMaxMessageSize = 1 << 20
	// SQSMaxDelaySeconds is the longest DelaySeconds of a message.
	SQSMaxDelaySeconds = 900
	// SQSMaxReceiveCount is the largest maxReceiveCount of a redrive
	// policy.
	SQSMaxReceiveCount = 1000
	// SQSPurgeInterval is how long after a PurgeQueue the queue refuses
	// another with PurgeQueueInProgress.
	SQSPurgeInterval = 60 * time.Second
)

// SQSContentType is the Content-Type of the AWS JSON 1.0 protocol, for
// requests and answers.
const SQSContentType = "application/x-amz-json-1.0"

// FakeClock is a clock a test sets and moves by hand. An SQSServer given
// one (SQSClock) reads its time from it instead of the wall clock, so
// that a test of timeouts advances the clock instead of sleeping; moving
// the clock wakes whatever waits on it. It is safe for concurrent use.
type FakeClock struct {
	mu    sync.Mutex
	now   time.Time
	moved chan struct{}
}

// NewFakeClock returns a FakeClock reading start.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start, moved: make(chan struct{})}
}

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d (back when d is negative) and wakes its
// waiters.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	close(c.moved)
	c.moved = make(chan struct{})
}

// Set sets the clock to t and wakes its waiters.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	close(c.moved)
	c.moved = make(chan struct{})
}

// read returns the clock's time and a channel closed the next time the
// clock moves, read together so that no move falls between them.
func (c *FakeClock) read() (time.Time, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now, c.moved
}

// SQSOption configures SQS.
type SQSOption func(*sqsOptions)

type sqsOptions struct {
	account, region string
	clock           *FakeClock
}

// SQSClock makes the server read its time from c: visibility timeouts,
// delays, long polls, the purge interval and timestamps all follow c, and
// a long poll waiting for its WaitTimeSeconds ends only when c has moved
// past them (or a message arrives, or the request is canceled).
func SQSClock(c *FakeClock) SQSOption { return func(o *sqsOptions) { o.clock = c } }

// SQSAccountOption sets the account ID of the server's queues.
func SQSAccountOption(account string) SQSOption {
	return func(o *sqsOptions) { o.account = account }
}

// SQSRegionOption sets the region of the server's queue ARNs and of the
// S3 events it builds.
func SQSRegionOption(region string) SQSOption {
	return func(o *sqsOptions) { o.region = region }
}

// SQSServer is an in-process stand-in for Amazon SQS on 127.0.0.1,
// speaking the AWS JSON 1.0 protocol as aws-sdk-go-v2's sqs client sends
// and reads it: POST / with `X-Amz-Target: AmazonSQS.<Action>` and a JSON
// body in SQSContentType, answered in JSON with an x-amzn-RequestId
// header; errors as the SQS Developer Guide's "Interpreting Amazon SQS
// JSON API responses" shows them, a JSON body
// {"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"…"} with the
// error's HTTP status and an `x-amzn-query-error: <code>;Sender` header,
// from which the SDK (the service is awsQueryCompatible) takes the legacy
// error code that ErrorCode() answers (AWS.SimpleQueueService.NonExistentQueue).
// A request must carry a well-formed SigV4 Authorization header for sqs
// (any key, any signature).
//
// It keeps standard queues (not FIFO) in memory and answers the actions
// named by the SQS… constants:
//
//   - CreateQueue with the attributes VisibilityTimeout,
//     ReceiveMessageWaitTimeSeconds, RedrivePolicy (deadLetterTargetArn,
//     an existing queue of this server, and maxReceiveCount) and Policy
//     (kept, not enforced); asking again with the same attributes answers
//     the same URL, with another value QueueNameExists.
//   - GetQueueUrl, GetQueueAttributes (ApproximateNumberOfMessages,
//     ApproximateNumberOfMessagesNotVisible,
//     ApproximateNumberOfMessagesDelayed, QueueArn, CreatedTimestamp,
//     LastModifiedTimestamp and the settable ones; "All").
//   - SendMessage and SendMessageBatch, with DelaySeconds; the body's
//     characters are checked as SQS does (InvalidMessageContents).
//     Message attributes are not kept: a message carrying some is refused.
//   - ReceiveMessage: at most MaxNumberOfMessages (1–10) visible
//     messages, oldest sent first; with WaitTimeSeconds (or the queue's
//     ReceiveMessageWaitTimeSeconds) it waits until a message is visible
//     (sent, or back after its visibility timeout) or the wait ends; a
//     VisibilityTimeout overrides the queue's; MessageSystemAttributeNames
//     (or the older AttributeNames) select SenderId (the sender's access
//     key ID), SentTimestamp, ApproximateReceiveCount,
//     ApproximateFirstReceiveTimestamp, MessageGroupId and
//     DeadLetterQueueSourceArn.
//   - ChangeMessageVisibility(Batch), DeleteMessage(Batch) and PurgeQueue
//     (once every SQSPurgeInterval).
//
// A received message is invisible for the visibility timeout, then
// visible again: the next receive delivers it anew with its receive count
// one higher and a new receipt handle. When a message that has been
// received maxReceiveCount times is due again, it moves to the
// redrive policy's dead-letter queue instead (same ID, body, timestamps
// and receive count, plus DeadLetterQueueSourceArn). Receipt handles
// follow the API Reference:
//
//   - DeleteMessage with the latest handle of a message deletes it, even
//     after its visibility timeout ran out; with an older handle (the
//     message was received again since) it succeeds and deletes nothing
//     ("the request will succeed, but the message might not be deleted":
//     this server takes the case where it is not); with the handle of a
//     message already deleted, purged or moved, it succeeds.
//   - ChangeMessageVisibility with the latest handle of a message in
//     flight sets its visibility timeout, counted from now (0: visible at
//     once), up to SQSMaxVisibilityTimeout after the receipt; with the
//     latest handle of a message whose timeout ran out it succeeds and
//     changes nothing, as AWS does (LocalStack's AWS-validated tests,
//     localstack#9632); with an older handle or one of a message that is
//     gone it fails with InvalidParameterValue ("Message does not exist or
//     is not available for visibility timeout change").
//   - A handle this queue did not issue (malformed, or another queue's)
//     fails with ReceiptHandleIsInvalid.
//
// Messages are never dropped for their age (no retention period). Other
// SQS actions (DeleteQueue, SetQueueAttributes, ListQueues, …) answer
// UnsupportedOperation.
//
// It can throttle requests, deny actions and counts requests by action,
// as EC2Server does. Its errors are checked in this order:
// MissingAuthenticationToken (403) without an Authorization header,
// IncompleteSignature (400) for one that is not SigV4 for sqs,
// InvalidAction (400) for a request that is not the JSON protocol or has
// no AmazonSQS target; then, the request counted by action:
// RequestThrottled (403) while throttling, InvalidAction (400) for an
// action SQS does not have, UnsupportedOperation (400) for one this
// server does not answer, SerializationException (400) for a body that is
// not JSON, AccessDenied (400, as the SQS API Reference's Common Errors
// give it) for a denied action, then the action's own. It is safe for
// concurrent use.
type SQSServer struct {
	// URL is the server's base URL (http://127.0.0.1:port), for the
	// client's BaseEndpoint; queue URLs are URL/account/name.
	URL string

	opts   sqsOptions
	closed chan struct{}

	mu        sync.Mutex
	queues    map[string]*sqsQueue
	throttle  int
	denied    map[string]bool
	requests  map[string]int
	serial    int
	sequencer uint64
	changed   chan struct{}
	waiting   int
}

// sqsQueue is a standard queue: its settings and its messages, oldest
// sent first.
type sqsQueue struct {
	name, arn         string
	created, modified time.Time
	cfg               sqsQueueConfig
	msgs              []*sqsMessage
	lastPurge         time.Time
}

// sqsQueueConfig holds a queue's settable attributes.
type sqsQueueConfig struct {
	visibilityTimeout, waitSeconds int
	redrive                        *sqsRedrive
	policy                         string
}

// sqsRedrive is a queue's redrive policy.
type sqsRedrive struct {
	target string // the dead-letter queue's ARN
	max    int    // maxReceiveCount
}

// sqsMessage is a message in a queue. A message is visible when visibleAt
// is not after now; an invisible one is in flight once received, delayed
// before.
type sqsMessage struct {
	id, body, md5, sender, group, dlqSource string
	sent, firstReceive, received, visibleAt time.Time
	receives                                int
}

// SQS starts an SQSServer with no queues, closed when the test ends
// (long polls still waiting then answer at once).
func SQS(t testing.TB, opts ...SQSOption) *SQSServer {
	t.Helper()
	s := &SQSServer{
		opts:     sqsOptions{account: SQSAccount, region: SQSRegion},
		closed:   make(chan struct{}),
		queues:   map[string]*sqsQueue{},
		denied:   map[string]bool{},
		requests: map[string]int{},
		changed:  make(chan struct{}),
	}
	for _, o := range opts {
		o(&s.opts)
	}
	s.sequencer = uint64(s.now().UnixNano())
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.closed)
		srv.Close()
	})
	s.URL = srv.URL
	return s
}

// now returns the server's time: its FakeClock's, or the wall clock's.
func (s *SQSServer) now() time.Time {
	if s.opts.clock != nil {
		return s.opts.clock.Now()
	}
	return time.Now()
}

// notify wakes the long polls waiting for a change. Call with s.mu held.
func (s *SQSServer) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Throttle makes the next n requests (of any action, once authenticated)
// fail with RequestThrottled (HTTP 403), which the SDK's standard retryer
// retries.
func (s *SQSServer) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Deny makes the actions fail with AccessDenied, as when the caller's IAM
// policy does not allow them. IAM has no actions for the batch actions: a
// batch action is authorized as its single counterpart (sqs:SendMessage
// for SendMessageBatch, …), so denying either denies both.
func (s *SQSServer) Deny(actions ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range actions {
		s.denied[sqsIAMAction(a)] = true
	}
}

// Allow undoes Deny for the actions.
func (s *SQSServer) Allow(actions ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range actions {
		delete(s.denied, sqsIAMAction(a))
	}
}

// Requests returns how many authenticated requests named action (whatever
// their answer) the server has received.
func (s *SQSServer) Requests(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[action]
}

// Waiting returns how many ReceiveMessage long polls are waiting for a
// message: a test with a FakeClock waits for its poller to wait before
// moving the clock.
func (s *SQSServer) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// QueueURL returns the URL of the queue named name (which may not exist).
func (s *SQSServer) QueueURL(name string) string {
	return s.URL + "/" + s.opts.account + "/" + name
}

// QueueARN returns the ARN of the queue named name (which may not exist),
// as a redrive policy's deadLetterTargetArn names it.
func (s *SQSServer) QueueARN(name string) string {
	return "arn:aws:sqs:" + s.opts.region + ":" + s.opts.account + ":" + name
}

// CreateQueue creates the queue name with the attributes, as CreateQueue
// does, and returns its URL; it fails the test on error.
func (s *SQSServer) CreateQueue(t testing.TB, name string, attributes map[string]string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e := s.createQueue(name, attributes)
	if e != nil {
		t.Fatalf("create queue %s: %v", name, e)
	}
	return u
}

// Send sends a message with body to the queue name, as SendMessage does,
// and returns its ID; it fails the test on error.
func (s *SQSServer) Send(t testing.TB, queue, body string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queue]
	if q == nil {
		t.Fatalf("send to %s: no such queue", queue)
	}
	if e := checkSQSBody(body); e != nil {
		t.Fatalf("send to %s: %v", queue, e)
	}
	return s.enqueue(q, body, 0, "", "").id
}

// SQSCounts are a queue's message counts: visible, in flight (received,
// not yet visible again) and delayed (sent with a delay not yet over).
type SQSCounts struct {
	Visible, InFlight, Delayed int
}

// Counts returns the queue's message counts (the exact numbers behind
// GetQueueAttributes' approximate ones); it fails the test when the queue
// does not exist.
func (s *SQSServer) Counts(t testing.TB, queue string) SQSCounts {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queue]
	if q == nil {
		t.Fatalf("count %s: no such queue", queue)
	}
	return q.counts(s.now())
}

// counts returns q's message counts at now.
func (q *sqsQueue) counts(now time.Time) SQSCounts {
	var c SQSCounts
	for _, m := range q.msgs {
		switch {
		case !m.visibleAt.After(now):
			c.Visible++
		case m.receives > 0:
			c.InFlight++
		default:
			c.Delayed++
		}
	}
	return c
}

// sqsError is an SQS error answer: the HTTP status, the JSON body's
// __type and message, and the legacy (query protocol) code of the
// x-amzn-query-error header, which batch results also carry.
type sqsError struct {
	status          int
	typ, code, text string
}

func (e *sqsError) Error() string { return e.code + ": " + e.text }

// sqsErr returns an SQS error of the service's own (com.amazonaws.sqs#typ)
// or, when typ names its namespace, of the AWS platform.
func sqsErr(status int, typ, code, format string, args ...any) *sqsError {
	if !strings.Contains(typ, "#") {
		typ = "com.amazonaws.sqs#" + typ
	}
	return &sqsError{status, typ, code, fmt.Sprintf(format, args...)}
}

// The errors of the SQS model (aws-sdk-go-v2's service/sqs schemas: the
// HTTP status and awsQueryError code of each), and the common ones.
func errQueueDoesNotExist() *sqsError {
	return sqsErr(400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

func errReceiptHandleIsInvalid(h string) *sqsError {
	return sqsErr(404, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "The input receipt handle %q is not a valid receipt handle.", h)
}

func errInvalidParameterValue(format string, args ...any) *sqsError {
	return sqsErr(400, "InvalidParameterValueException", "InvalidParameterValue", format, args...)
}

func errMissingParameter(name string) *sqsError {
	return sqsErr(400, "MissingRequiredParameterException", "MissingParameter", "The request must contain the parameter %s.", name)
}

func errInvalidAttributeName(format string, args ...any) *sqsError {
	return sqsErr(400, "InvalidAttributeName", "InvalidAttributeName", format, args...)
}

func errInvalidAttributeValue(name string) *sqsError {
	return sqsErr(400, "InvalidAttributeValue", "InvalidAttributeValue", "Invalid value for the parameter %s.", name)
}

func errNotAvailableForVisibility(h string) *sqsError {
	return errInvalidParameterValue("Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", h)
}

// sigV4SQS matches a SigV4 Authorization header for sqs: algorithm,
// credential scope (key/date/region/sqs/aws4_request), signed headers and
// a hex signature. The first group is the access key ID.
var sigV4SQS = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/,\s]+)/\d{8}/[a-z0-9-]+/sqs/aws4_request, ?SignedHeaders=[a-z0-9-]+(;[a-z0-9-]+)*, ?Signature=[0-9a-f]{64}$`)

// sqsAuth returns the access key ID of a request's SigV4 Authorization
// header, or the error refusing a request without a well-formed one.
func sqsAuth(r *http.Request) (string, *sqsError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", sqsErr(403, "com.amazon.coral.service#MissingAuthenticationTokenException", "MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	m := sigV4SQS.FindStringSubmatch(auth)
	if m == nil {
		return "", sqsErr(400, "com.amazon.coral.service#IncompleteSignatureException", "IncompleteSignature", "The request signature does not conform to AWS standards: %q", auth)
	}
	return m[1], nil
}

// sqsActions are the actions SQSServer answers; sqsOtherActions the
// other actions of the SQS API, which it refuses as unsupported.
var (
	sqsActions = []string{
		SQSCreateQueue, SQSGetQueueURL, SQSGetQueueAttributes, SQSSendMessage, SQSSendMessageBatch,
		SQSReceiveMessage, SQSChangeMessageVisibility, SQSChangeMessageVisibilityBatch,
		SQSDeleteMessage, SQSDeleteMessageBatch, SQSPurgeQueue,
	}
	sqsOtherActions = []string{
		"AddPermission", "CancelMessageMoveTask", "DeleteQueue", "ListDeadLetterSourceQueues",
		"ListMessageMoveTasks", "ListQueueTags", "ListQueues", "RemovePermission",
		"SetQueueAttributes", "StartMessageMoveTask", "TagQueue", "UntagQueue",
	}
)

// sqsIAMAction returns the IAM action (without "sqs:") that authorizes
// action: a batch action's single counterpart.
func sqsIAMAction(action string) string {
	switch action {
	case SQSSendMessageBatch:
		return SQSSendMessage
	case SQSDeleteMessageBatch:
		return SQSDeleteMessage
	case SQSChangeMessageVisibilityBatch:
		return SQSChangeMessageVisibility
	}
	return action
}

// sqsRequest is the JSON body of every action the server answers: each
// reads its own fields.
type sqsRequest struct {
	QueueURL                    string            `json:"QueueUrl"`
	QueueName                   string            `json:"QueueName"`
	QueueOwnerAWSAccountID      string            `json:"QueueOwnerAWSAccountId"`
	Attributes                  map[string]string `json:"Attributes"`
	AttributeNames              []string          `json:"AttributeNames"`
	MessageSystemAttributeNames []string          `json:"MessageSystemAttributeNames"`
	MaxNumberOfMessages         *int64            `json:"MaxNumberOfMessages"`
	WaitTimeSeconds             *int64            `json:"WaitTimeSeconds"`
	ReceiveRequestAttemptID     string            `json:"ReceiveRequestAttemptId"`
	sqsEntry
	Entries []sqsEntry `json:"Entries"`
}

// sqsEntry is a batch entry, and the fields single actions share with
// them.
type sqsEntry struct {
	ID                      string                     `json:"Id"`
	MessageBody             *string                    `json:"MessageBody"`
	DelaySeconds            *int64                     `json:"DelaySeconds"`
	MessageAttributes       map[string]json.RawMessage `json:"MessageAttributes"`
	MessageSystemAttributes map[string]json.RawMessage `json:"MessageSystemAttributes"`
	MessageGroupID          string                     `json:"MessageGroupId"`
	MessageDeduplicationID  string                     `json:"MessageDeduplicationId"`
	ReceiptHandle           *string                    `json:"ReceiptHandle"`
	VisibilityTimeout       *int64                     `json:"VisibilityTimeout"`
}

// JSON answer shapes, as aws-sdk-go-v2's sqs deserializers read them.
type (
	sqsBatchError struct {
		ID          string `json:"Id"`
		SenderFault bool   `json:"SenderFault"`
		Code        string `json:"Code"`
		Message     string `json:"Message"`
	}
	sqsBatchOK struct {
		ID               string `json:"Id"`
		MessageID        string `json:"MessageId,omitempty"`
		MD5OfMessageBody string `json:"MD5OfMessageBody,omitempty"`
	}
	sqsBatchResult struct {
		Successful []sqsBatchOK    `json:"Successful"`
		Failed     []sqsBatchError `json:"Failed"`
	}
	sqsMessageOut struct {
		MessageID     string            `json:"MessageId"`
		ReceiptHandle string            `json:"ReceiptHandle"`
		MD5OfBody     string            `json:"MD5OfBody"`
		Body          string            `json:"Body"`
		Attributes    map[string]string `json:"Attributes,omitempty"`
	}
)

// nextID returns the server's next request ID, shaped like SQS's (a UUID).
func (s *SQSServer) nextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serial++
	return fmt.Sprintf("%08x-0000-5000-8000-%012x", s.serial, s.serial)
}

func (s *SQSServer) serve(w http.ResponseWriter, r *http.Request) {
	id := s.nextID()
	out, e := s.answer(r)
	if e != nil {
		writeSQSError(w, id, e)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeSQSError(w, id, sqsErr(500, "com.amazon.coral.service#InternalFailure", "InternalFailure", "marshal the answer: %v", err))
		return
	}
	w.Header().Set("Content-Type", SQSContentType)
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// writeSQSError writes an SQS error answer: status, headers (with
// x-amzn-query-error) and the JSON body.
func writeSQSError(w http.ResponseWriter, id string, e *sqsError) {
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.typ, e.text})
	w.Header().Set("Content-Type", SQSContentType)
	w.Header().Set("x-amzn-RequestId", id)
	w.Header().Set("x-amzn-query-error", e.code+";Sender")
	w.WriteHeader(e.status)
	w.Write(b)
}

// answer returns the value answering r, marshaled to JSON, or the error
// to answer.
func (s *SQSServer) answer(r *http.Request) (any, *sqsError) {
	if r.Method != http.MethodPost {
		return nil, sqsErr(405, "com.amazon.coral.service#InvalidHttpRequest", "InvalidHttpRequest", "The HTTP method %s is not allowed: the JSON protocol is POST /", r.Method)
	}
	sender, e := sqsAuth(r)
	if e != nil {
		return nil, e
	}
	if ct := r.Header.Get("Content-Type"); ct != SQSContentType {
		return nil, sqsErr(400, "com.amazon.coral.service#UnknownOperationException", "InvalidAction", "Content-Type %q: this server speaks only the AWS JSON 1.0 protocol (%s), not the query protocol", ct, SQSContentType)
	}
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	if !ok || action == "" {
		return nil, sqsErr(400, "com.amazon.coral.service#UnknownOperationException", "InvalidAction", "X-Amz-Target %q names no AmazonSQS action", r.Header.Get("X-Amz-Target"))
	}

	s.mu.Lock()
	s.requests[action]++
	if s.throttle > 0 {
		s.throttle--
		s.mu.Unlock()
		return nil, sqsErr(403, "RequestThrottled", "RequestThrottled", "Request is throttled.")
	}
	s.mu.Unlock()
	switch {
	case slices.Contains(sqsActions, action):
	case slices.Contains(sqsOtherActions, action):
		return nil, sqsErr(400, "UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "%s is not supported by this test server.", action)
	default:
		return nil, sqsErr(400, "com.amazon.coral.service#UnknownOperationException", "InvalidAction", "The action %s is not valid for this web service.", action)
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, 4*SQSMaxMessageSize))
	if err != nil {
		return nil, sqsErr(400, "com.amazon.coral.service#SerializationException", "SerializationException", "read the %s request: %v", action, err)
	}
	var req sqsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, sqsErr(400, "com.amazon.coral.service#SerializationException", "SerializationException", "decode the %s request: %v", action, err)
	}
	if e := s.authorize(action, &req); e != nil {
		return nil, e
	}

	switch action {
	case SQSCreateQueue:
		s.mu.Lock()
		defer s.mu.Unlock()
		u, e := s.createQueue(req.QueueName, req.Attributes)
		if e != nil {
			return nil, e
		}
		return map[string]string{"QueueUrl": u}, nil
	case SQSGetQueueURL:
		return s.getQueueURL(&req)
	case SQSGetQueueAttributes:
		return s.getQueueAttributes(&req)
	case SQSSendMessage:
		return s.sendMessage(&req, sender)
	case SQSSendMessageBatch:
		return s.sendMessageBatch(&req, sender)
	case SQSReceiveMessage:
		return s.receiveMessage(r, &req)
	case SQSChangeMessageVisibility:
		return s.changeMessageVisibility(&req)
	case SQSChangeMessageVisibilityBatch:
		return s.changeMessageVisibilityBatch(&req)
	case SQSDeleteMessage:
		return s.deleteMessage(&req)
	case SQSDeleteMessageBatch:
		return s.deleteMessageBatch(&req)
	case SQSPurgeQueue:
		return s.purgeQueue(&req)
	}
	return nil, sqsErr(500, "com.amazon.coral.service#InternalFailure", "InternalFailure", "action %s has no handler", action)
}

// authorize refuses a denied action with AccessDenied, naming the queue
// the request is about as IAM does.
func (s *SQSServer) authorize(action string, req *sqsRequest) *sqsError {
	iam := sqsIAMAction(action)
	s.mu.Lock()
	denied := s.denied[iam]
	s.mu.Unlock()
	if !denied {
		return nil
	}
	resource := "*"
	if req.QueueName != "" {
		resource = s.QueueARN(req.QueueName)
	} else if name, ok := s.queueName(req.QueueURL); ok {
		resource = s.QueueARN(name)
	}
	a := strings.ToLower(iam)
	return sqsErr(400, "com.amazon.coral.service#AccessDeniedException", "AccessDenied",
		"User: arn:aws:iam::%s:user/test is not authorized to perform: sqs:%s on resource: %s because no identity-based policy allows the sqs:%s action",
		s.opts.account, a, resource, a)
}

// queueName returns the queue name of a queue URL of this server's
// account: its path is /account/name, whatever its host (the server's
// own or sqs.<region>.amazonaws.com).
func (s *SQSServer) queueName(queueURL string) (string, bool) {
	u, err := url.Parse(queueURL)
	if err != nil {
		return "", false
	}
	account, name, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !ok || account != s.opts.account || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// queue returns the queue a request's QueueUrl names. Call with s.mu held.
func (s *SQSServer) queue(queueURL string) (*sqsQueue, *sqsError) {
	if queueURL == "" {
		return nil, errMissingParameter("QueueUrl")
	}
	name, ok := s.queueName(queueURL)
	if !ok || s.queues[name] == nil {
		return nil, errQueueDoesNotExist()
	}
	return s.queues[name], nil
}

// queueByARN returns the queue whose ARN is arn, or nil. Call with s.mu
// held.
func (s *SQSServer) queueByARN(arn string) *sqsQueue {
	for _, q := range s.queues {
		if q.arn == arn {
			return q
		}
	}
	return nil
}

// sqsQueueName is what a standard queue's name may be.
var sqsQueueName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// Queue attributes: those CreateQueue sets, those GetQueueAttributes also
// reads, and the other attributes of the SQS API, which the server does
// not support.
var (
	sqsSettableAttributes = []string{"VisibilityTimeout", "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "Policy"}
	sqsReadAttributes     = []string{
		"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
		"QueueArn", "CreatedTimestamp", "LastModifiedTimestamp",
	}
	sqsUnsupportedAttributes = []string{
		"DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "KmsMasterKeyId",
		"KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", "FifoQueue", "ContentBasedDeduplication",
		"DeduplicationScope", "FifoThroughputLimit", "RedriveAllowPolicy",
	}
)

// createQueue creates the queue name, or returns the URL of the one that
// exists when the attributes given agree with it. Call with s.mu held.
func (s *SQSServer) createQueue(name string, attrs map[string]string) (string, *sqsError) {
	if name == "" {
		return "", errMissingParameter("QueueName")
	}
	if strings.HasSuffix(name, ".fifo") {
		return "", errInvalidParameterValue("FIFO queues are not supported by this test server: %s", name)
	}
	if !sqsQueueName.MatchString(name) {
		return "", errInvalidParameterValue("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	cfg, e := s.queueConfig(attrs)
	if e != nil {
		return "", e
	}
	if q := s.queues[name]; q != nil {
		for _, k := range sqsSettableAttributes {
			if _, ok := attrs[k]; ok && q.cfg.attribute(k) != cfg.attribute(k) {
				return "", sqsErr(400, "QueueNameExists", "QueueAlreadyExists", "A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return s.QueueURL(name), nil
	}
	now := s.now()
	s.queues[name] = &sqsQueue{name: name, arn: s.QueueARN(name), created: now, modified: now, cfg: cfg}
	return s.QueueURL(name), nil
}

// queueConfig reads CreateQueue's attributes over the defaults. Call with
// s.mu held.
func (s *SQSServer) queueConfig(attrs map[string]string) (sqsQueueConfig, *sqsError) {
	cfg := sqsQueueConfig{visibilityTimeout: SQSDefaultVisibilityTimeout}
	for k, v := range attrs {
		switch k {
		case "VisibilityTimeout":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > SQSMaxVisibilityTimeout {
				return cfg, errInvalidAttributeValue(k)
			}
			cfg.visibilityTimeout = n
		case "ReceiveMessageWaitTimeSeconds":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > SQSMaxWaitSeconds {
				return cfg, errInvalidAttributeValue(k)
			}
			cfg.waitSeconds = n
		case "RedrivePolicy":
			rp, e := s.redrivePolicy(v)
			if e != nil {
				return cfg, e
			}
			cfg.redrive = rp
		case "Policy":
			cfg.policy = v
		default:
			if slices.Contains(sqsUnsupportedAttributes, k) {
				return cfg, errInvalidAttributeName("Attribute %s is not supported by this test server.", k)
			}
			return cfg, errInvalidAttributeName("Unknown Attribute %s.", k)
		}
	}
	return cfg, nil
}

// redrivePolicy reads a RedrivePolicy attribute: a JSON object naming an
// existing queue of this server (deadLetterTargetArn) and a
// maxReceiveCount (a number or a string of one) in 1..SQSMaxReceiveCount.
// Call with s.mu held.
func (s *SQSServer) redrivePolicy(v string) (*sqsRedrive, *sqsError) {
	var p struct {
		Target string          `json:"deadLetterTargetArn"`
		Max    json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return nil, errInvalidParameterValue("Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map.", v)
	}
	if p.Target == "" || len(p.Max) == 0 {
		return nil, errInvalidParameterValue("Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory attribute: %s.", v, map[bool]string{true: "deadLetterTargetArn", false: "maxReceiveCount"}[p.Target == ""])
	}
	n, err := strconv.Atoi(strings.Trim(string(p.Max), `"`))
	if err != nil || n < 1 || n > SQSMaxReceiveCount {
		return nil, errInvalidParameterValue("Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: %s, valid values are from 1 to %d both inclusive.", v, p.Max, SQSMaxReceiveCount)
	}
	if s.queueByARN(p.Target) == nil {
		return nil, errInvalidParameterValue("Value %s for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.", v)
	}
	return &sqsRedrive{target: p.Target, max: n}, nil
}

// attribute returns the value GetQueueAttributes answers for a settable
// attribute ("" when unset).
func (c sqsQueueConfig) attribute(name string) string {
	switch name {
	case "VisibilityTimeout":
		return strconv.Itoa(c.visibilityTimeout)
	case "ReceiveMessageWaitTimeSeconds":
		return strconv.Itoa(c.waitSeconds)
	case "RedrivePolicy":
		if c.redrive == nil {
			return ""
		}
		return fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, c.redrive.target, c.redrive.max)
	case "Policy":
		return c.policy
	}
	return ""
}

func (s *SQSServer) getQueueURL(req *sqsRequest) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	if (req.QueueOwnerAWSAccountID != "" && req.QueueOwnerAWSAccountID != s.opts.account) || s.queues[req.QueueName] == nil {
		return nil, errQueueDoesNotExist()
	}
	return map[string]string{"QueueUrl": s.QueueURL(req.QueueName)}, nil
}

func (s *SQSServer) getQueueAttributes(req *sqsRequest) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.queue(req.QueueURL)
	if e != nil {
		return nil, e
	}
	names := req.AttributeNames
	if slices.Contains(names, "All") {
		names = append(slices.Clone(sqsReadAttributes), sqsSettableAttributes...)
	}
	now := s.now()
	c := q.counts(now)
	out := map[string]string{}
	for _, k := range names {
		var v string
		switch k {
		case "ApproximateNumberOfMessages":
			v = strconv.Itoa(c.Visible)
		case "ApproximateNumberOfMessagesNotVisible":
			v = strconv.Itoa(c.InFlight)
		case "ApproximateNumberOfMessagesDelayed":
			v = strconv.Itoa(c.Delayed)
		case "QueueArn":
			v = q.arn
		case "CreatedTimestamp":
			v = strconv.FormatInt(q.created.Unix(), 10)
		case "LastModifiedTimestamp":
			v = strconv.FormatInt(q.modified.Unix(), 10)
		default:
			if !slices.Contains(sqsSettableAttributes, k) {
				if slices.Contains(sqsUnsupportedAttributes, k) {
					return nil, errInvalidAttributeName("Attribute %s is not supported by this test server.", k)
				}
				return nil, errInvalidAttributeName("Unknown Attribute %s.", k)
			}
			v = q.cfg.attribute(k)
		}
		if v != "" {
			out[k] = v
		}
	}
	return map[string]any{"Attributes": out}, nil
}

// sqsAllowed reports whether r is a character SQS accepts in a message:
// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to
// #x10FFFF.
func sqsAllowed(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// checkSQSBody checks a message body as SendMessage does.
func checkSQSBody(body string) *sqsError {
	if body == "" {
		return errMissingParameter("MessageBody")
	}
	if len(body) > SQSMaxMessageSize {
		return errInvalidParameterValue("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", SQSMaxMessageSize)
	}
	for i, r := range body {
		if (r == utf8.RuneError && !strings.HasPrefix(body[i:], "\uFFFD")) || !sqsAllowed(r) {
			return sqsErr(400, "InvalidMessageContents", "InvalidMessageContents",
				"Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r)
		}
	}
	return nil
}

// checkSend checks a message to send (SendMessage's fields or a batch
// entry's) and returns its delay.
func checkSend(m *sqsEntry) (time.Duration, *sqsError) {
	if m.MessageBody == nil {
		return 0, errMissingParameter("MessageBody")
	}
	if e := checkSQSBody(*m.MessageBody); e != nil {
		return 0, e
	}
	if len(m.MessageAttributes) > 0 || len(m.MessageSystemAttributes) > 0 {
		return 0, errInvalidParameterValue("Message attributes are not supported by this test server.")
	}
	if m.MessageDeduplicationID != "" {
		return 0, errInvalidParameterValue("Value %s for parameter MessageDeduplicationId is invalid. Reason: The request includes a parameter that is not valid for this queue type.", m.MessageDeduplicationID)
	}
	var delay int64
	if m.DelaySeconds != nil {
		delay = *m.DelaySeconds
		if delay < 0 || delay > SQSMaxDelaySeconds {
			return 0, errInvalidParameterValue("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= %d.", delay, SQSMaxDelaySeconds)
		}
	}
	return time.Duration(delay) * time.Second, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// md5Hex returns the hex MD5 of s, as SQS answers MD5OfMessageBody and
// MD5OfBody (which the SDK checks).
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sqsSenderS3 is the SenderId of the messages the helpers send in S3's
// or SNS's name (an IAM-user-ID-shaped constant).
const sqsSenderS3 = "AIDAS3EVENTNOTIFICATION"

// enqueue appends a message to q and wakes the long polls. Call with s.mu
// held.
func (s *SQSServer) enqueue(q *sqsQueue, body string, delay time.Duration, sender, group string) *sqsMessage {
	if sender == "" {
		sender = sqsSenderS3
	}
	now := s.now()
	m := &sqsMessage{id: newUUID(), body: body, md5: md5Hex(body), sender: sender, group: group, sent: now, visibleAt: now.Add(delay)}
	q.msgs = append(q.msgs, m)
	s.notify()
	return m
}

func (s *SQSServer) sendMessage(req *sqsRequest, sender string) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.queue(req.QueueURL)
	if e != nil {
		return nil, e
	}
	delay, e := checkSend(&req.sqsEntry)
	if e != nil {
		return nil, e
	}
	m := s.enqueue(q, *req.MessageBody, delay, sender, req.MessageGroupID)
	return map[string]string{"MessageId": m.id, "MD5OfMessageBody": m.md5}, nil
}

// sqsBatchID is what a batch entry's Id may be.
var sqsBatchID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// checkBatch checks a batch action's entries as a whole: their number and
// IDs.
func checkBatch(action string, entries []sqsEntry) *sqsError {
	if len(entries) == 0 {
		return sqsErr(400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one %sRequestEntry in the request.", action)
	}
	if len(entries) > SQSMaxBatchEntries {
		return sqsErr(400, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are %d. You have sent %d.", SQSMaxBatchEntries, len(entries))
	}
	seen := map[string]bool{}
	for _, en := range entries {
		if !sqsBatchID.MatchString(en.ID) {
			return sqsErr(400, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[en.ID] {
			return sqsErr(400, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id %s repeated.", en.ID)
		}
		seen[en.ID] = true
	}
	return nil
}

// batchFailure is a batch entry's failure.
func batchFailure(id string, e *sqsError) sqsBatchError {
	return sqsBatchError{ID: id, SenderFault: true, Code: e.code, Message: e.text}
}

func (s *SQSServer) sendMessageBatch(req *sqsRequest, sender string) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.queue(req.QueueURL)
	if e != nil {
		return nil, e
	}
	if e := checkBatch(SQSSendMessageBatch, req.Entries); e != nil {
		return nil, e
	}
	size := 0
	for _, en := range req.Entries {
		if en.MessageBody != nil {
			size += len(*en.MessageBody)
		}
	}
	if size > SQSMaxMessageSize {
		return nil, sqsErr(400, "BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", SQSMaxMessageSize, size)
	}
	res := sqsBatchResult{Successful: []sqsBatchOK{}, Failed: []sqsBatchError{}}
	for _, en := range req.Entries {
		delay, e := checkSend(&en)
		if e != nil {
			res.Failed = append(res.Failed, batchFailure(en.ID, e))
			continue
		}
		m := s.enqueue(q, *en.MessageBody, delay, sender, en.MessageGroupID)
		res.Successful = append(res.Successful, sqsBatchOK{ID: en.ID, MessageID: m.id, MD5OfMessageBody: m.md5})
	}
	return res, nil
}

// Message system attributes ReceiveMessage answers.
var sqsMessageAttributes = []string{
	"SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp",
	"SequenceNumber", "MessageDeduplicationId", "MessageGroupId", "AWSTraceHeader", "DeadLetterQueueSourceArn",
}

// sqsMillis returns t as SQS's message timestamps: epoch milliseconds.
func sqsMillis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// receiptHandle returns the receipt handle of the n-th receipt of message
// id from the queue arn. Shaped like SQS's (base64 after "AQEB"), it is
// read back by parseReceiptHandle.
func receiptHandle(arn, id string, n int) string {
	return "AQEB" + base64.StdEncoding.EncodeToString([]byte(arn+"|"+id+"|"+strconv.Itoa(n)))
}

// parseReceiptHandle reads a receipt handle of q's: the message ID and the
// receipt's number, or ReceiptHandleIsInvalid.
func parseReceiptHandle(q *sqsQueue, h string) (string, int, *sqsError) {
	rest, ok := strings.CutPrefix(h, "AQEB")
	if !ok {
		return "", 0, errReceiptHandleIsInvalid(h)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", 0, errReceiptHandleIsInvalid(h)
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 3 || parts[0] != q.arn || parts[1] == "" {
		return "", 0, errReceiptHandleIsInvalid(h)
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 1 {
		return "", 0, errReceiptHandleIsInvalid(h)
	}
	return parts[1], n, nil
}

// message returns q's message id and its index, or nil.
func (q *sqsQueue) message(id string) (*sqsMessage, int) {
	for i, m := range q.msgs {
		if m.id == id {
			return m, i
		}
	}
	return nil, -1
}

// receiveOptions are ReceiveMessage's checked parameters.
type receiveOptions struct {
	max        int
	wait       time.Duration
	visibility *time.Duration
	attrs      []string
}

// receiveParams checks ReceiveMessage's parameters; wait defaults to the
// queue's ReceiveMessageWaitTimeSeconds. Call with s.mu held.
func receiveParams(q *sqsQueue, req *sqsRequest) (receiveOptions, *sqsError) {
	o := receiveOptions{max: 1, wait: time.Duration(q.cfg.waitSeconds) * time.Second}
	if req.MaxNumberOfMessages != nil {
		n := *req.MaxNumberOfMessages
		if n < 1 || n > SQSMaxBatchEntries {
			return o, errInvalidParameterValue("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and %d, if provided.", n, SQSMaxBatchEntries)
		}
		o.max = int(n)
	}
	if req.WaitTimeSeconds != nil {
		n := *req.WaitTimeSeconds
		if n < 0 || n > SQSMaxWaitSeconds {
			return o, errInvalidParameterValue("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= %d, if provided.", n, SQSMaxWaitSeconds)
		}
		o.wait = time.Duration(n) * time.Second
	}
	if req.VisibilityTimeout != nil {
		n := *req.VisibilityTimeout
		if n < 0 || n > SQSMaxVisibilityTimeout {
			return o, errInvalidParameterValue("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= %d, if provided.", n, SQSMaxVisibilityTimeout)
		}
		d := time.Duration(n) * time.Second
		o.visibility = &d
	}
	for _, a := range append(slices.Clone(req.AttributeNames), req.MessageSystemAttributeNames...) {
		switch {
		case a == "All":
			o.attrs = sqsMessageAttributes
		case slices.Contains(sqsMessageAttributes, a):
			if !slices.Equal(o.attrs, sqsMessageAttributes) && !slices.Contains(o.attrs, a) {
				o.attrs = append(o.attrs, a)
			}
		default:
			return o, errInvalidAttributeName("Unknown Attribute %s.", a)
		}
	}
	return o, nil
}

// take receives up to o.max of q's visible messages, oldest sent first,
// moving to the dead-letter queue those received maxReceiveCount times
// already. Call with s.mu held.
func (s *SQSServer) take(q *sqsQueue, o receiveOptions, now time.Time) []sqsMessageOut {
	var out []sqsMessageOut
	visibility := time.Duration(q.cfg.visibilityTimeout) * time.Second
	if o.visibility != nil {
		visibility = *o.visibility
	}
	for i := 0; i < len(q.msgs) && len(out) < o.max; {
		m := q.msgs[i]
		if m.visibleAt.After(now) {
			i++
			continue
		}
		if rp := q.cfg.redrive; rp != nil && m.receives >= rp.max {
			if dlq := s.queueByARN(rp.target); dlq != nil && dlq != q {
				q.msgs = slices.Delete(q.msgs, i, i+1)
				m.dlqSource = q.arn
				m.visibleAt = now
				dlq.msgs = append(dlq.msgs, m)
				s.notify()
				continue
			}
		}
		m.receives++
		if m.firstReceive.IsZero() {
			m.firstReceive = now
		}
		m.received = now
		m.visibleAt = now.Add(visibility)
		msg := sqsMessageOut{MessageID: m.id, ReceiptHandle: receiptHandle(q.arn, m.id, m.receives), MD5OfBody: m.md5, Body: m.body}
		for _, a := range o.attrs {
			var v string
			switch a {
			case "SenderId":
				v = m.sender
			case "SentTimestamp":
				v = sqsMillis(m.sent)
			case "ApproximateReceiveCount":
				v = strconv.Itoa(m.receives)
			case "ApproximateFirstReceiveTimestamp":
				v = sqsMillis(m.firstReceive)
			case "MessageGroupId":
				v = m.group
			case "DeadLetterQueueSourceArn":
				v = m.dlqSource
			}
			if v != "" {
				if msg.Attributes == nil {
					msg.Attributes = map[string]string{}
				}
				msg.Attributes[a] = v
			}
		}
		out = append(out, msg)
		i++
	}
	return out
}

// nextVisible returns when the first of q's invisible messages becomes
// visible, or the zero time when none is invisible.
func (q *sqsQueue) nextVisible(now time.Time) time.Time {
	var next time.Time
	for _, m := range q.msgs {
		if m.visibleAt.After(now) && (next.IsZero() || m.visibleAt.Before(next)) {
			next = m.visibleAt
		}
	}
	return next
}

// receiveMessage answers ReceiveMessage: the visible messages at once, or,
// for a long poll, as soon as one is visible, or none once the wait is
// over (by the server's clock), the request is canceled or the server
// closes.
func (s *SQSServer) receiveMessage(r *http.Request, req *sqsRequest) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.queue(req.QueueURL)
	if e != nil {
		return nil, e
	}
	o, e := receiveParams(q, req)
	if e != nil {
		return nil, e
	}
	var deadline time.Time
	for first := true; ; first = false {
		now, moved := s.now(), (<-chan struct{})(nil)
		if s.opts.clock != nil {
			now, moved = s.opts.clock.read()
		}
		if first {
			deadline = now.Add(o.wait)
		}
		if msgs := s.take(q, o, now); len(msgs) > 0 {
			return map[string]any{"Messages": msgs}, nil
		}
		if !now.Before(deadline) {
			return map[string]any{}, nil
		}
		// Wake on a change (a message sent, made visible, deleted…), on
		// the fake clock's move, or, on the wall clock, when the wait
		// ends or the next invisible message becomes visible.
		var timer *time.Timer
		var timeout <-chan time.Time
		if moved == nil {
			d := deadline.Sub(now)
			if next := q.nextVisible(now); !next.IsZero() && next.Sub(now) < d {
				d = next.Sub(now)
			}
			timer = time.NewTimer(d)
			timeout = timer.C
		}
		changed := s.changed
		s.waiting++
		s.mu.Unlock()
		select {
		case <-changed:
		case <-moved:
		case <-timeout:
		case <-r.Context().Done():
		case <-s.closed:
		}
		if timer != nil {
			timer.Stop()
		}
		s.mu.Lock()
		s.waiting--
		select {
		case <-r.Context().Done():
			return map[string]any{}, nil
		case <-s.closed:
			return map[string]any{}, nil
		default:
		}
	}
}

// changeVisibility sets the visibility timeout of the message whose
// receipt handle is h (see SQSServer). Call with s.mu held.
func (s *SQSServer) changeVisibility(q *sqsQueue, h *string, timeout *int64) *sqsError {
	if h == nil {
		return errMissingParameter("ReceiptHandle")
	}
	if timeout == nil {
		return errMissingParameter("VisibilityTimeout")
	}
	id, n, e := parseReceiptHandle(q, *h)
	if e != nil {
		return e
	}
	if *timeout < 0 || *timeout > SQSMaxVisibilityTimeout {
		return errInvalidParameterValue("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= %d, if provided.", *timeout, SQSMaxVisibilityTimeout)
	}
	m, _ := q.message(id)
	if m == nil || m.receives != n {
		return errNotAvailableForVisibility(*h)
	}
	now := s.now()
	if !m.visibleAt.After(now) {
		return nil
	}
	end := now.Add(time.Duration(*timeout) * time.Second)
	if end.Sub(m.received) > SQSMaxVisibilityTimeout*time.Second {
		return errInvalidParameterValue("Value %d for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [%d seconds]", *timeout, SQSMaxVisibilityTimeout)
	}
	m.visibleAt = end
	s.notify()
	return nil
}

func (s *SQSServer) changeMessageVisibility(req *sqsRequest) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.queue(req.QueueURL)
	if e != nil {
		return nil, e
	}
	if e := s.changeVisibility(q, req.ReceiptHandle, req.VisibilityTimeout); e != nil {
		return nil, e
	}
	return struct{}{}, nil
}

func (s *SQSServer) changeMessageVisibilityBatch(req *sqsRequest) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.queue(req.QueueURL)
	if e != nil {
		return nil, e
	}
	if e := checkBatch(SQSChangeMessageVisibilityBatch, req.Entries); e != nil {
		return nil, e
	}
	res := sqsBatchResult{Successful: []sqsBatchOK{}, Failed: []sqsBatchError{}}
	for _, en := range req.Entries {
		if e := s.changeVisibility(q, en.ReceiptHandle, en.VisibilityTimeout); e != nil {
			res.Failed = append(res.Failed, batchFailure(en.ID, e))
			continue
		}
		res.Successful = append(res.Successful, sqsBatchOK{ID: en.ID})
	}
	return res, nil
}

// delete deletes the message whose receipt handle is h (see SQSServer).
// Call with s.mu held.
func (s *SQSServer) delete(q *sqsQueue, h *string) *sqsError {
	if h == nil {
		return errMissingParameter("ReceiptHandle")
	}
	id, n, e := parseReceiptHandle(q, *h)
	if e != nil {
		return e
	}
	if m, i := q.message(id); m != nil && m.receives == n {
		q.msgs = slices.Delete(q.msgs, i, i+1)
		s.notify()
	}
	return nil
}

func (s *SQSServer) deleteMessage(req *sqsRequest) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.queue(req.QueueURL)
	if e != nil {
		return nil, e
	}
	if e := s.delete(q, req.ReceiptHandle); e != nil {
		return nil, e
	}
	return struct{}{}, nil
}

func (s *SQSServer) deleteMessageBatch(req *sqsRequest) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.queue(req.QueueURL)
	if e != nil {
		return nil, e
	}
	if e := checkBatch(SQSDeleteMessageBatch, req.Entries); e != nil {
		return nil, e
	}
	res := sqsBatchResult{Successful: []sqsBatchOK{}, Failed: []sqsBatchError{}}
	for _, en := range req.Entries {
		if e := s.delete(q, en.ReceiptHandle); e != nil {
			res.Failed = append(res.Failed, batchFailure(en.ID, e))
			continue
		}
		res.Successful = append(res.Successful, sqsBatchOK{ID: en.ID})
	}
	return res, nil
}

func (s *SQSServer) purgeQueue(req *sqsRequest) (any, *sqsError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, e := s.queue(req.QueueURL)
	if e != nil {
		return nil, e
	}
	now := s.now()
	if !q.lastPurge.IsZero() && now.Sub(q.lastPurge) < SQSPurgeInterval {
		return nil, sqsErr(403, "PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", "Only one PurgeQueue operation on %s is allowed every %d seconds.", q.name, int(SQSPurgeInterval/time.Second))
	}
	q.lastPurge = now
	q.msgs = nil
	s.notify()
	return struct{}{}, nil
}

// S3 event notifications, as S3 sends them to an SQS queue, directly or
// through an SNS topic. See the Amazon S3 User Guide, "Event message
// structure" (notification-content-structure.html), and the Amazon SNS
// Developer Guide, "Amazon SNS message and JSON formats"
// (sns-message-and-json-formats.html).

// S3EventRecord is one record of an S3 event notification: what happened
// to which object. Empty fields take defaults (see S3EventBody).
type S3EventRecord struct {
	// EventName is the event type without its "s3:" prefix
	// ("ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload",
	// "ObjectRemoved:Delete", …); default "ObjectCreated:Put".
	EventName string
	// Region is the bucket's region (awsRegion).
	Region string
	// Time is when the event happened (eventTime, in milliseconds, UTC).
	Time time.Time
	// Bucket is the bucket's name and Key the object's key, as stored:
	// the body carries the key URL-encoded as S3 does (S3EventKey).
	Bucket, Key string
	// Size is the object's size in bytes and ETag its entity tag (hex,
	// no quotes); an ObjectRemoved event carries neither. The default
	// ETag is the hex MD5 of bucket/key/size.
	Size int64
	ETag string
	// VersionID is the object's version (versionId), left out when
	// empty.
	VersionID string
	// Sequencer orders the events of one key (a hex string, compared
	// after padding to equal length); the default derives from Time and
	// the record's index.
	Sequencer string
	// ConfigurationID names the bucket's notification configuration;
	// default "vpcflow-notification".
	ConfigurationID string
}

// S3EventKey returns key URL-encoded as S3 writes it in an event's
// s3.object.key: application/x-www-form-urlencoded ("red flower.jpg"
// becomes "red+flower.jpg"; letters, digits and ".-*_" kept, other bytes
// %XX in upper case, as Java's URLEncoder writes them), except that '/'
// is kept, as S3 is observed to send it (minio#11665). url.QueryUnescape
// reads it back.
func S3EventKey(key string) string {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-', c == '*', c == '_', c == '/':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// marshalNoEscape marshals v as compact JSON without escaping <, > and &
// (AWS's services do not).
func marshalNoEscape(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err)) // plain structs of strings and numbers
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// s3EventTime is the layout of an S3 event's time and of an SNS
// envelope's Timestamp.
const s3EventTime = "2006-01-02T15:04:05.000Z"

// randomHex returns n random bytes in upper-case hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// S3EventBody returns the body of the SQS message S3 sends for the
// records, as the S3 User Guide's "Event message structure" gives it
// (eventVersion 2.1):
//
//	{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":…,
//	"eventTime":"2026-12-06T10:00:00.000Z","eventName":"ObjectCreated:Put",
//	"userIdentity":{"principalId":…},"requestParameters":{"sourceIPAddress":…},
//	"responseElements":{"x-amz-request-id":…,"x-amz-id-2":…},
//	"s3":{"s3SchemaVersion":"1.0","configurationId":…,
//	"bucket":{"name":…,"ownerIdentity":{"principalId":…},"arn":"arn:aws:s3:::…"},
//	"object":{"key":…,"size":…,"eTag":…,"versionId":…,"sequencer":…}}}]}
//
// with the key URL-encoded (S3EventKey). Records without a Region take
// SQSRegion, without a Time the current time.
func S3EventBody(records ...S3EventRecord) string {
	type object struct {
		Key       string `json:"key"`
		Size      *int64 `json:"size,omitempty"`
		ETag      string `json:"eTag,omitempty"`
		VersionID string `json:"versionId,omitempty"`
		Sequencer string `json:"sequencer"`
	}
	type principal struct {
		PrincipalID string `json:"principalId"`
	}
	type bucket struct {
		Name          string    `json:"name"`
		OwnerIdentity principal `json:"ownerIdentity"`
		ARN           string    `json:"arn"`
	}
	type s3 struct {
		SchemaVersion   string `json:"s3SchemaVersion"`
		ConfigurationID string `json:"configurationId"`
		Bucket          bucket `json:"bucket"`
		Object          object `json:"object"`
	}
	type record struct {
		EventVersion      string            `json:"eventVersion"`
		EventSource       string            `json:"eventSource"`
		AWSRegion         string            `json:"awsRegion"`
		EventTime         string            `json:"eventTime"`
		EventName         string            `json:"eventName"`
		UserIdentity      principal         `json:"userIdentity"`
		RequestParameters map[string]string `json:"requestParameters"`
		ResponseElements  map[string]string `json:"responseElements"`
		S3                s3                `json:"s3"`
	}
	out := struct {
		Records []record `json:"Records"`
	}{Records: []record{}}
	for i, r := range records {
		if r.EventName == "" {
			r.EventName = "ObjectCreated:Put"
		}
		if r.Region == "" {
			r.Region = SQSRegion
		}
		if r.Time.IsZero() {
			r.Time = time.Now()
		}
		if r.Sequencer == "" {
			r.Sequencer = fmt.Sprintf("%016X%02X", r.Time.UnixNano(), i%256)
		}
		if r.ConfigurationID == "" {
			r.ConfigurationID = "vpcflow-notification"
		}
		o := object{Key: S3EventKey(r.Key), VersionID: r.VersionID, Sequencer: r.Sequencer}
		if !strings.HasPrefix(r.EventName, "ObjectRemoved:") {
			size := r.Size
			o.Size = &size
			o.ETag = r.ETag
			if o.ETag == "" {
				o.ETag = md5Hex(fmt.Sprintf("%s/%s/%d", r.Bucket, r.Key, r.Size))
			}
		}
		out.Records = append(out.Records, record{
			EventVersion:      "2.1",
			EventSource:       "aws:s3",
			AWSRegion:         r.Region,
			EventTime:         r.Time.UTC().Format(s3EventTime),
			EventName:         r.EventName,
			UserIdentity:      principal{"AWS:AIDAVPCFLOWTESTUSER"},
			RequestParameters: map[string]string{"sourceIPAddress": "127.0.0.1"},
			ResponseElements:  map[string]string{"x-amz-request-id": randomHex(8), "x-amz-id-2": base64.StdEncoding.EncodeToString([]byte(randomHex(28)))},
			S3: s3{
				SchemaVersion:   "1.0",
				ConfigurationID: r.ConfigurationID,
				Bucket:          bucket{Name: r.Bucket, OwnerIdentity: principal{"A1VPCFLOWOWNER"}, ARN: "arn:aws:s3:::" + r.Bucket},
				Object:          o,
			},
		})
	}
	return marshalNoEscape(out)
}

// S3TestEventBody returns the body of the s3:TestEvent message S3 sends
// when a bucket's notification configuration is set, as the S3 User
// Guide's "Event message structure" gives it:
//
//	{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"…","Bucket":"…",
//	"RequestId":"…","HostId":"…"}
func S3TestEventBody(bucket string, at time.Time) string {
	return marshalNoEscape(struct {
		Service   string `json:"Service"`
		Event     string `json:"Event"`
		Time      string `json:"Time"`
		Bucket    string `json:"Bucket"`
		RequestID string `json:"RequestId"`
		HostID    string `json:"HostId"`
	}{"Amazon S3", "s3:TestEvent", at.UTC().Format(s3EventTime), bucket, randomHex(8), base64.StdEncoding.EncodeToString([]byte(randomHex(28)))})
}

// SNSNotificationBody returns the body of the SQS message an SNS topic
// (topicARN, whose region it names) delivers to a subscribed queue without
// raw message delivery: the envelope the SNS Developer Guide's "Amazon SNS
// message and JSON formats" gives for a Notification, laid out as SNS
// does (indented, `"Key" : value`), with message in Message:
//
//	{
//	  "Type" : "Notification",
//	  "MessageId" : "…",
//	  "TopicArn" : "arn:aws:sns:…",
//	  "Subject" : "Amazon S3 Notification",
//	  "Message" : "{\"Records\":[…]}",
//	  "Timestamp" : "2026-12-06T10:00:00.000Z",
//	  "SignatureVersion" : "1",
//	  "Signature" : "…",
//	  "SigningCertURL" : "https://sns.…",
//	  "UnsubscribeURL" : "https://sns.…"
//	}
//
// The Subject is left out when empty; the signature is random, not
// verifiable.
func SNSNotificationBody(topicARN, subject, message string, at time.Time) string {
	region := "us-east-1"
	if parts := strings.Split(topicARN, ":"); len(parts) > 3 && parts[3] != "" {
		region = parts[3]
	}
	fields := [][2]string{
		{"Type", "Notification"},
		{"MessageId", newUUID()},
		{"TopicArn", topicARN},
		{"Subject", subject},
		{"Message", message},
		{"Timestamp", at.UTC().Format(s3EventTime)},
		{"SignatureVersion", "1"},
		{"Signature", base64.StdEncoding.EncodeToString([]byte(randomHex(128)))},
		{"SigningCertURL", "https://sns." + region + ".amazonaws.com/SimpleNotificationService-" + strings.ToLower(randomHex(16)) + ".pem"},
		{"UnsubscribeURL", "https://sns." + region + ".amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topicARN + ":" + newUUID()},
	}
	var lines []string
	for _, f := range fields {
		if f[0] == "Subject" && f[1] == "" {
			continue
		}
		lines = append(lines, fmt.Sprintf("  %q : %s", f[0], marshalNoEscape(f[1])))
	}
	return "{\n" + strings.Join(lines, ",\n") + "\n}"
}

// SNSS3Subject is the Subject of the SNS notifications S3 publishes.
const SNSS3Subject = "Amazon S3 Notification"

// s3Records fills the records' defaults from the server: its region, its
// clock, and an increasing sequencer. Call with s.mu held.
func (s *SQSServer) s3Records(records []S3EventRecord) []S3EventRecord {
	out := slices.Clone(records)
	for i := range out {
		if out[i].Region == "" {
			out[i].Region = s.opts.region
		}
		if out[i].Time.IsZero() {
			out[i].Time = s.now()
		}
		if out[i].Sequencer == "" {
			s.sequencer++
			out[i].Sequencer = fmt.Sprintf("%018X", s.sequencer)
		}
	}
	return out
}

// sendAs sends body to the queue name in S3's or SNS's name and returns
// the message's ID, failing the test on error.
func (s *SQSServer) sendAs(t testing.TB, queue string, body func() string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queue]
	if q == nil {
		t.Fatalf("send to %s: no such queue", queue)
	}
	b := body()
	if e := checkSQSBody(b); e != nil {
		t.Fatalf("send to %s: %v", queue, e)
	}
	return s.enqueue(q, b, 0, sqsSenderS3, "").id
}

// SendS3Event sends to the queue the notification S3 sends when an object
// is written (ObjectCreated:Put) in bucket under key with size bytes (see
// S3EventBody), and returns the message's ID; it fails the test on error.
func (s *SQSServer) SendS3Event(t testing.TB, queue, bucket, key string, size int64) string {
	t.Helper()
	return s.SendS3Events(t, queue, S3EventRecord{Bucket: bucket, Key: key, Size: size})
}

// SendS3Events sends to the queue one S3 notification holding the records
// (see S3EventBody; the server fills in its region, its clock's time and
// increasing sequencers), and returns the message's ID; it fails the test
// on error.
func (s *SQSServer) SendS3Events(t testing.TB, queue string, records ...S3EventRecord) string {
	t.Helper()
	return s.sendAs(t, queue, func() string { return S3EventBody(s.s3Records(records)...) })
}

// SendS3TestEvent sends to the queue the s3:TestEvent message S3 sends
// when bucket's notification configuration is set (see S3TestEventBody),
// and returns the message's ID; it fails the test on error.
func (s *SQSServer) SendS3TestEvent(t testing.TB, queue, bucket string) string {
	t.Helper()
	return s.sendAs(t, queue, func() string { return S3TestEventBody(bucket, s.now()) })
}

// SendSNSS3Events sends to the queue the message an SNS topic (topicARN)
// delivers when S3 publishes a notification of the records to it: the SNS
// envelope with Subject SNSS3Subject and the S3 event's JSON in Message
// (see SNSNotificationBody and S3EventBody). It returns the SQS message's
// ID and fails the test on error.
func (s *SQSServer) SendSNSS3Events(t testing.TB, queue, topicARN string, records ...S3EventRecord) string {
	t.Helper()
	return s.sendAs(t, queue, func() string {
		return SNSNotificationBody(topicARN, SNSS3Subject, S3EventBody(s.s3Records(records)...), s.now())
	})
}
