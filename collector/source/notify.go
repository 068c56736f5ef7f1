package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// NotifyConfig names the SQS queue an s3 source takes its objects from: S3
// event notifications (ObjectCreated) the bucket sends to the queue,
// directly or through an SNS topic, instead of listing the bucket.
type NotifyConfig struct {
	// QueueURL is the queue's URL
	// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME).
	QueueURL string `yaml:"queue_url"`
	// Region is the queue's region; default the one its URL names, else the
	// source's.
	Region string `yaml:"region"`
	// Credentials for SQS; none (all fields empty) means the source's.
	Credentials Credentials `yaml:"credentials"`
	// Endpoint replaces the SQS endpoint (a VPC endpoint, a test server).
	Endpoint string `yaml:"endpoint"`
	// WaitTime is a receive's long poll, 1 s to 20 s; default
	// DefaultNotifyWaitTime.
	WaitTime time.Duration `yaml:"wait_time"`
	// VisibilityTimeout is how long a received message stays invisible to
	// other readers; the collector extends it (a heartbeat) while the
	// message's object is in flight. Default DefaultNotifyVisibility; at
	// least 2 s.
	VisibilityTimeout time.Duration `yaml:"visibility_timeout"`
	// InFlightTimeout is how long the messages of an object the pipeline
	// read stay invisible (extended by the heartbeat the same way): a
	// collector killed with the object's batch written but not committed
	// has this long to come back with its state_dir and replay it before
	// another reader takes the messages (and writes the object again at
	// its own slot: counted twice). Default DefaultNotifyInFlight; at
	// least VisibilityTimeout, at most 12h (SQS's bound).
	InFlightTimeout time.Duration `yaml:"in_flight_timeout"`
	// MaxMessages bounds the messages held at once (received, their objects
	// not yet stored); default DefaultNotifyMaxMessages. What one collector
	// holds, the others sharing the queue cannot take: a few batches'
	// worth spreads the work.
	MaxMessages int `yaml:"max_messages"`
	// Receivers is how many receives (of up to 10 messages each) are in
	// flight at once; default DefaultNotifyReceivers.
	Receivers int `yaml:"receivers"`
}

// Defaults of NotifyConfig.
const (
	DefaultNotifyWaitTime    = 20 * time.Second
	DefaultNotifyVisibility  = 2 * time.Minute
	DefaultNotifyInFlight    = time.Hour
	DefaultNotifyMaxMessages = 100
	DefaultNotifyReceivers   = 2
)

// IsSet reports whether a queue is configured.
func (n *NotifyConfig) IsSet() bool { return n != nil && n.QueueURL != "" }

// withDefaults returns the configuration with its zero fields set.
func (n NotifyConfig) withDefaults() NotifyConfig {
	if n.WaitTime <= 0 {
		n.WaitTime = DefaultNotifyWaitTime
	}
	n.WaitTime = min(max(n.WaitTime, time.Second), 20*time.Second)
	if n.VisibilityTimeout <= 0 {
		n.VisibilityTimeout = DefaultNotifyVisibility
	}
	n.VisibilityTimeout = max(n.VisibilityTimeout, 2*time.Second)
	if n.InFlightTimeout <= 0 {
		n.InFlightTimeout = DefaultNotifyInFlight
	}
	n.InFlightTimeout = min(max(n.InFlightTimeout, n.VisibilityTimeout), 12*time.Hour)
	if n.MaxMessages <= 0 {
		n.MaxMessages = DefaultNotifyMaxMessages
	}
	if n.Receivers <= 0 {
		n.Receivers = DefaultNotifyReceivers
	}
	return n
}

// QueueRegion returns the region a queue URL names
// (https://sqs.eu-west-1.amazonaws.com/… or the legacy
// https://eu-west-1.queue.amazonaws.com/…), or "".
func QueueRegion(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.Hostname(), ".")
	switch {
	case len(parts) >= 4 && parts[0] == "sqs" && strings.Contains(parts[1], "-"):
		return parts[1]
	case len(parts) >= 4 && parts[1] == "queue" && strings.Contains(parts[0], "-"):
		return parts[0]
	}
	return ""
}

// NotifyStats count what a notify source did with its queue's messages.
type NotifyStats struct {
	// QueueURL is the queue read.
	QueueURL string `json:"queue_url"`
	// Received counts the messages received (a message received again
	// after its visibility timeout counts again); Deleted those deleted
	// (their objects stored, gone, or nothing in them for the source);
	// Ignored the messages with nothing for the source (test events, other
	// buckets, other events, keys that are not flow logs), deleted too;
	// Poison the messages that could not be parsed, left to the queue's
	// redrive policy.
	Received int64 `json:"received"`
	Deleted  int64 `json:"deleted"`
	Ignored  int64 `json:"ignored"`
	Poison   int64 `json:"poison"`
	// Held is the messages held now (received, their objects not yet
	// stored).
	Held int64 `json:"held"`
	// Lag is the queue's ApproximateNumberOfMessages (visible, waiting),
	// read about once a minute; -1 until read.
	Lag int64 `json:"lag"`
	// LastError is the latest failed receive, or "".
	LastError string `json:"last_error,omitempty"`
}

// BucketLister is a source whose List returns what event notifications
// announced rather than what the bucket holds (Notify): ListBucket lists
// the bucket, for a first run's purge or backfill.
type BucketLister interface {
	ListBucket(ctx context.Context) ([]Object, error)
}

// ListBucket lists what src holds: its bucket for a BucketLister, else
// List.
func ListBucket(ctx context.Context, src Source) ([]Object, error) {
	if bl, ok := src.(BucketLister); ok {
		return bl.ListBucket(ctx)
	}
	return src.List(ctx)
}

// Dropper is a source that holds something for each object it lists (a
// queue message) until the collector is done with the object: Drop says
// the object will not be read nor deleted (it is quarantined), so that
// the hold goes, without taking the object off the queue.
type Dropper interface {
	Drop(ctx context.Context, o Object)
}

// Notify is an S3 source whose objects are announced by S3 event
// notifications in an SQS queue. Background receivers long-poll the queue
// (started by the first List) and hold the messages, at most
// NotifyConfig.MaxMessages; List returns the objects they announce; a
// heartbeat extends the messages' visibility while they are held. A
// message is deleted once every object it announces is deleted (Delete),
// released (Release, for a source that keeps its objects), or found gone
// (Open, Delete); one that cannot be parsed is left alone, for the queue's
// redrive policy to move to its dead-letter queue. Any number of
// collectors may read one queue: each message goes to one of them at a
// time.
type Notify struct {
	s3      *S3
	cfg     NotifyConfig
	client  *sqs.Client
	log     *slog.Logger
	ctx     context.Context // the lifetime of the receivers
	started sync.Once

	mu       sync.Mutex
	held     map[string]*heldObject // by key and version (heldKey)
	messages int                    // held messages
	reserved int                    // room taken by receives in flight
	space    chan struct{}          // closed and replaced when messages drop
	arrived  chan struct{}          // signalled when an object is announced
	lastList time.Time
	listed   int // objects the last List returned for the first time
	lists    int // List calls
	lastErr  string

	received, deleted, ignored, poison atomic.Int64
	lag                                atomic.Int64
}

// heldObject is an announced object and the messages announcing it.
type heldObject struct {
	obj    Object
	msgs   []*message
	opened bool // the pipeline read it: held whatever the listings
	listed bool // a List returned it
}

// message is a held queue message.
type message struct {
	id, receipt string
	receives    int
	deadline    time.Time // when it becomes visible again
	pending     int       // its objects not finished yet
	inFlight    bool      // an object of it was read: held InFlightTimeout
	keep        bool      // an object of it was dropped: not deleted
}

var (
	_ Source       = (*Notify)(nil)
	_ BucketLister = (*Notify)(nil)
	_ Dropper      = (*Notify)(nil)
	_ Checker      = (*Notify)(nil)
)

func heldKey(key, version string) string { return key + "\x00" + version }

// NewNotify returns an S3 source reading its objects from the queue cfg
// names. ctx bounds the background receivers' life. It sends no request.
func NewNotify(ctx context.Context, s3src *S3, cfg NotifyConfig) (*Notify, error) {
	if cfg.QueueURL == "" {
		return nil, errors.New("notify: queue_url: required")
	}
	if u, err := url.Parse(cfg.QueueURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notify: queue_url %q: want the queue's https URL", cfg.QueueURL)
	}
	cfg = cfg.withDefaults()
	region := cfg.Region
	if region == "" {
		region = QueueRegion(cfg.QueueURL)
	}
	if region == "" {
		region = s3src.Region()
	}
	creds := s3src.cfg.Credentials
	if cfg.Credentials != (Credentials{}) {
		c, err := cfg.Credentials.AWS()
		if err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		creds = c
	}
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 10 * time.Second }).
		WithTransportOptions(func(tr *http.Transport) {
			// A long poll answers after up to WaitTime.
			tr.ResponseHeaderTimeout = cfg.WaitTime + 30*time.Second
			tr.MaxIdleConnsPerHost = cfg.Receivers + 4
		})
	awsCfg, _, err := LoadAWSConfig(ctx, creds, region,
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer { return newRetryer(DefaultS3MaxAttempts, 5*time.Second) }),
	)
	if err != nil {
		return nil, fmt.Errorf("notify %s: %w", s3src.Name(), err)
	}
	client := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		o.HTTPClient = BufferRequestBodies(o.HTTPClient)
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	n := &Notify{s3: s3src, cfg: cfg, client: client, log: slog.Default(), ctx: context.WithoutCancel(ctx),
		held: map[string]*heldObject{}, space: make(chan struct{}), arrived: make(chan struct{}, 1)}
	if ctx.Done() != nil {
		// The receivers stop with ctx; WithoutCancel keeps its values only.
		var cancel context.CancelFunc
		n.ctx, cancel = context.WithCancel(n.ctx)
		context.AfterFunc(ctx, cancel)
	}
	n.lag.Store(-1)
	return n, nil
}

// SetLogger sets where the source logs what it does with messages
// (default slog.Default()); call it before the first List.
func (n *Notify) SetLogger(l *slog.Logger) {
	if l != nil {
		n.log = l
	}
}

// Name returns the source's name.
func (n *Notify) Name() string { return n.s3.Name() }

// S3 returns the bucket source it reads the objects from.
func (n *Notify) S3() *S3 { return n.s3 }

// QueueURL returns the queue's URL.
func (n *Notify) QueueURL() string { return n.cfg.QueueURL }

// Origins returns the accounts and regions of the bucket's flow log
// folders (S3.Origins).
func (n *Notify) Origins(ctx context.Context) ([]Origin, error) { return n.s3.Origins(ctx) }

// ListBucket lists the bucket (S3.List), for a first run's purge or
// backfill.
func (n *Notify) ListBucket(ctx context.Context) ([]Object, error) { return n.s3.List(ctx) }

// Stats returns the source's message counters.
func (n *Notify) Stats() NotifyStats {
	n.mu.Lock()
	held, lastErr := n.messages, n.lastErr
	n.mu.Unlock()
	return NotifyStats{QueueURL: n.cfg.QueueURL, Received: n.received.Load(), Deleted: n.deleted.Load(), Ignored: n.ignored.Load(),
		Poison: n.poison.Load(), Held: int64(held), Lag: n.lag.Load(), LastError: lastErr}
}

// idleAfter is how long after the last List the source keeps receiving
// and holding messages whose objects are not in flight: a source no
// longer listed (disabled, replaced by a reload) lets them go.
func (n *Notify) idleAfter() time.Duration { return max(2*n.cfg.VisibilityTimeout, time.Minute) }

// List returns the objects the held messages announce, ordered by key,
// starting the receivers on the first call. It does not wait for the
// queue, except when it holds nothing new (not returned before) and either
// it is the first call or the previous call returned new objects: then it
// receives once itself, with a short poll, so that a run that stops when
// nothing is left (run --once) looks at the queue once more before.
func (n *Notify) List(ctx context.Context) ([]Object, error) {
	n.started.Do(n.start)
	n.mu.Lock()
	n.lastList = time.Now()
	fresh := 0
	for _, h := range n.held {
		if !h.listed {
			fresh++
		}
	}
	quick := fresh == 0 && (n.lists == 0 || n.listed > 0)
	n.lists++
	n.mu.Unlock()
	if quick {
		if err := n.receive(ctx, time.Second); err != nil && ctx.Err() == nil {
			return nil, err
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Object, 0, len(n.held))
	n.listed = 0
	for _, h := range n.held {
		out = append(out, h.obj)
		if !h.listed {
			h.listed = true
			n.listed++
		}
	}
	sortObjects(out)
	return out, nil
}

// Open opens the object (S3.Open). An object that is gone, or no longer
// the version announced (its new version has a notification of its own),
// has its messages deleted, with a log line.
func (n *Notify) Open(ctx context.Context, o Object) (io.ReadCloser, error) {
	var hold []*message
	n.mu.Lock()
	if h := n.held[heldKey(o.Key, o.Version)]; h != nil {
		h.opened = true
		for _, m := range h.msgs {
			if !m.inFlight {
				m.inFlight = true
				hold = append(hold, m)
			}
		}
	}
	n.mu.Unlock()
	// From here the object may go into a batch: its messages stay hidden
	// for InFlightTimeout, so that a collector killed before its batch is
	// committed can come back and replay it before anyone else takes them.
	n.changeVisibility(hold, n.cfg.InFlightTimeout)
	rc, err := n.s3.Open(ctx, o)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		n.log.Warn("notified object is gone: its message is deleted", "source", n.Name(), "key", o.Key)
		n.finish(ctx, o, false)
	case errors.Is(err, ErrChanged):
		n.log.Warn("notified object was replaced (the new version has its own notification): its message is deleted", "source", n.Name(), "key", o.Key, "version", o.Version)
		n.finish(ctx, o, false)
	}
	return rc, err
}

// Delete deletes the object (S3.Delete), then the messages that announced
// it. An object already gone, or replaced, also has its messages deleted,
// with a log line.
func (n *Notify) Delete(ctx context.Context, o Object) error {
	gone, err := n.s3.remove(ctx, o)
	switch {
	case err == nil && gone:
		n.log.Warn("notified object was already gone when deleted: its message is deleted", "source", n.Name(), "key", o.Key)
	case errors.Is(err, ErrChanged):
		n.log.Warn("notified object was replaced before its delete (the new version has its own notification): its message is deleted", "source", n.Name(), "key", o.Key, "version", o.Version)
	case err != nil:
		return err // held: the pipeline tries again
	}
	n.finish(ctx, o, false)
	return err
}

// Release deletes the messages that announced an object stored but kept
// (a source that does not delete its objects).
func (n *Notify) Release(ctx context.Context, o Object) error {
	n.finish(ctx, o, false)
	return nil
}

// Drop lets go of the messages that announced an object the collector will
// not read (quarantined): they are not deleted, and come back after their
// visibility timeout, until the queue's redrive policy moves them to the
// dead-letter queue.
func (n *Notify) Drop(ctx context.Context, o Object) {
	n.log.Warn("notified object not read: its message is left to the queue's redrive policy", "source", n.Name(), "key", o.Key)
	n.finish(ctx, o, true)
}

// finish ends the hold of an object: its messages that announce nothing
// else pending are deleted, unless keep (or an earlier drop) says to leave
// them.
func (n *Notify) finish(ctx context.Context, o Object, keep bool) {
	n.mu.Lock()
	h := n.held[heldKey(o.Key, o.Version)]
	if h == nil {
		n.mu.Unlock()
		return
	}
	delete(n.held, heldKey(o.Key, o.Version))
	var del, back []*message
	for _, m := range h.msgs {
		m.keep = m.keep || keep
		if m.pending--; m.pending == 0 {
			n.messages--
			if !m.keep {
				del = append(del, m)
			} else if m.inFlight {
				back = append(back, m)
			}
		}
	}
	n.wake()
	n.mu.Unlock()
	for _, m := range del {
		n.deleteMessage(ctx, m.id, m.receipt)
	}
	// A message left to the queue (its object quarantined) comes back
	// after the visibility timeout, not the in-flight hold.
	n.changeVisibility(back, n.cfg.VisibilityTimeout)
}

// wake tells the receivers that messages left. Call with n.mu held.
func (n *Notify) wake() {
	close(n.space)
	n.space = make(chan struct{})
}

// deleteMessage deletes a message, logging a failure (the message then
// comes back: its object is found gone or ingested, and it is deleted
// again).
func (n *Notify) deleteMessage(ctx context.Context, id, receipt string) {
	_, err := n.client.DeleteMessage(context.WithoutCancel(ctx), &sqs.DeleteMessageInput{QueueUrl: aws.String(n.cfg.QueueURL), ReceiptHandle: aws.String(receipt)})
	if err != nil {
		n.log.Warn("message not deleted: it will be received again", "source", n.Name(), "queue", n.cfg.QueueURL, "message_id", id, "err", err)
		return
	}
	n.deleted.Add(1)
}

// start starts the receivers and the heartbeat.
func (n *Notify) start() {
	for range n.cfg.Receivers {
		go n.receiveLoop()
	}
	go n.heartbeatLoop()
}

// active reports whether the source was listed lately.
func (n *Notify) active() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return time.Since(n.lastList) < n.idleAfter()
}

// receiveLoop receives messages while there is room for them and the
// source is listed, backing off after failures.
func (n *Notify) receiveLoop() {
	backoff := time.Second
	for n.ctx.Err() == nil {
		n.mu.Lock()
		full, space := n.messages >= n.cfg.MaxMessages, n.space
		n.mu.Unlock()
		if full || !n.active() {
			select {
			case <-n.ctx.Done():
				return
			case <-space:
			case <-time.After(time.Second):
			}
			continue
		}
		if err := n.receive(n.ctx, n.cfg.WaitTime); err != nil {
			if n.ctx.Err() != nil {
				return
			}
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = time.Second
	}
}

// receive receives up to 10 messages (no more than there is room for),
// waiting up to wait for them, and takes them in.
func (n *Notify) receive(ctx context.Context, wait time.Duration) error {
	// Room is reserved, so that receives side by side stay within the
	// bound together.
	n.mu.Lock()
	room := min(n.cfg.MaxMessages-n.messages-n.reserved, 10)
	if room > 0 {
		n.reserved += room
	}
	n.mu.Unlock()
	if room <= 0 {
		return nil
	}
	defer func() {
		n.mu.Lock()
		n.reserved -= room
		n.mu.Unlock()
	}()
	vis := n.cfg.VisibilityTimeout
	out, err := n.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(n.cfg.QueueURL),
		MaxNumberOfMessages:         int32(room),
		WaitTimeSeconds:             int32(wait / time.Second),
		VisibilityTimeout:           int32(vis / time.Second),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	at := time.Now()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = fmt.Errorf("receive from %s: %w", n.cfg.QueueURL, err)
		n.mu.Lock()
		n.lastErr = err.Error()
		n.mu.Unlock()
		n.log.Error("notifications not received, will try again", "source", n.Name(), "err", err)
		return err
	}
	n.mu.Lock()
	n.lastErr = ""
	n.mu.Unlock()
	for _, m := range out.Messages {
		n.take(ctx, m, at.Add(vis))
	}
	return nil
}

// take takes in a received message: it holds the objects it announces
// for this source, deletes it when it announces none, and leaves it alone
// when it cannot be parsed.
func (n *Notify) take(ctx context.Context, m sqstypes.Message, deadline time.Time) {
	n.received.Add(1)
	id, receipt := aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle)
	receives, _ := strconv.Atoi(m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)])
	ev, err := ParseNotification(aws.ToString(m.Body))
	if err != nil {
		n.poison.Add(1)
		n.log.Error("notification cannot be parsed: the message is left to the queue's redrive policy (dead-letter queue after maxReceiveCount)",
			"source", n.Name(), "queue", n.cfg.QueueURL, "message_id", id, "receive_count", receives, "err", err)
		return
	}
	if ev.TestEvent {
		n.ignored.Add(1)
		n.log.Info("S3 test event ignored", "source", n.Name(), "message_id", id, "bucket", ev.Bucket)
		n.deleteMessage(ctx, id, receipt)
		return
	}
	var objs []Object
	for _, r := range ev.Records {
		reason := ""
		switch {
		case !strings.HasPrefix(r.EventName, "ObjectCreated:"):
			reason = "event " + r.EventName + " is not ObjectCreated"
		case r.Bucket != n.s3.Bucket():
			reason = "another bucket, " + r.Bucket
		case !strings.HasPrefix(r.Object.Key, n.s3.Prefix()):
			reason = "outside the source's prefix"
		case !IsFlowLog(r.Object.Key):
			reason = "not a flow log key"
		}
		if reason != "" {
			n.log.Info("notification record ignored", "source", n.Name(), "message_id", id, "bucket", r.Bucket, "key", r.Object.Key, "event", r.EventName, "reason", reason)
			continue
		}
		if !slices.ContainsFunc(objs, func(o Object) bool { return o.Key == r.Object.Key && o.Version == r.Object.Version }) {
			objs = append(objs, r.Object)
		}
	}
	if len(objs) == 0 {
		n.ignored.Add(1)
		n.deleteMessage(ctx, id, receipt)
		return
	}
	msg := &message{id: id, receipt: receipt, receives: receives, deadline: deadline, pending: len(objs)}
	n.mu.Lock()
	n.messages++
	for _, o := range objs {
		k := heldKey(o.Key, o.Version)
		h := n.held[k]
		if h == nil {
			h = &heldObject{obj: o}
			n.held[k] = h
		}
		h.msgs = append(h.msgs, msg)
	}
	n.mu.Unlock()
	select {
	case n.arrived <- struct{}{}:
	default: // signalled already
	}
}

// Presplit says that the collector instances sharing the queue need not
// split its objects (source.Presplit).
func (n *Notify) Presplit() {}

// Arrived is signalled when a message announces an object: a collector
// waiting for work lists at once instead of at its next interval.
func (n *Notify) Arrived() <-chan struct{} { return n.arrived }

// heartbeatLoop extends the visibility of the held messages before it
// runs out, lets go of those of a source no longer listed, and reads the
// queue's lag now and then.
func (n *Notify) heartbeatLoop() {
	vis := n.cfg.VisibilityTimeout
	tick := time.NewTicker(max(vis/4, 100*time.Millisecond))
	defer tick.Stop()
	var lagAt time.Time
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		n.heartbeat(now)
		if now.Sub(lagAt) >= time.Minute {
			lagAt = now
			n.readLag()
		}
	}
}

// heartbeat extends the messages due within half their timeout, and lets
// go of the objects of an idle source that are not in flight.
func (n *Notify) heartbeat(now time.Time) {
	vis := n.cfg.VisibilityTimeout
	n.mu.Lock()
	idle := now.Sub(n.lastList) >= n.idleAfter()
	seen := map[*message]bool{}
	var due, dueInFlight, release []*message
	for k, h := range n.held {
		if idle && !h.opened {
			// Not listed for long: hand the messages back to the queue.
			delete(n.held, k)
			for _, m := range h.msgs {
				m.keep = true
				if m.pending--; m.pending == 0 {
					n.messages--
					release = append(release, m)
				}
			}
			continue
		}
		for _, m := range h.msgs {
			if seen[m] || m.pending == 0 {
				continue
			}
			seen[m] = true
			switch {
			case m.inFlight && m.deadline.Sub(now) < n.cfg.InFlightTimeout/2:
				dueInFlight = append(dueInFlight, m)
			case !m.inFlight && m.deadline.Sub(now) < vis/2:
				due = append(due, m)
			}
		}
	}
	if len(release) > 0 {
		n.wake()
	}
	n.mu.Unlock()
	n.changeVisibility(release, 0)
	n.changeVisibility(due, vis)
	n.changeVisibility(dueInFlight, n.cfg.InFlightTimeout)
}

// changeVisibility sets the messages' visibility timeout, 10 at a time.
// A message whose timeout ran out, or which was received again by another
// reader, cannot be extended: it is left to come back.
func (n *Notify) changeVisibility(msgs []*message, timeout time.Duration) {
	for len(msgs) > 0 {
		chunk := msgs[:min(len(msgs), 10)]
		msgs = msgs[len(chunk):]
		in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(n.cfg.QueueURL)}
		for i, m := range chunk {
			in.Entries = append(in.Entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.receipt), VisibilityTimeout: int32(timeout / time.Second)})
		}
		at := time.Now()
		out, err := n.client.ChangeMessageVisibilityBatch(n.ctx, in)
		if err != nil {
			if n.ctx.Err() == nil {
				n.log.Warn("message visibility not extended", "source", n.Name(), "queue", n.cfg.QueueURL, "messages", len(chunk), "err", err)
			}
			continue
		}
		failed := map[string]string{}
		for _, f := range out.Failed {
			failed[aws.ToString(f.Id)] = aws.ToString(f.Code) + ": " + aws.ToString(f.Message)
		}
		n.mu.Lock()
		for i, m := range chunk {
			if why, ok := failed[strconv.Itoa(i)]; ok {
				n.log.Warn("message visibility not extended: another reader may take it", "source", n.Name(), "message_id", m.id, "err", why)
				continue
			}
			m.deadline = at.Add(timeout)
		}
		n.mu.Unlock()
	}
}

// readLag reads the queue's waiting messages.
func (n *Notify) readLag() {
	out, err := n.client.GetQueueAttributes(n.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(n.cfg.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return
	}
	if v, err := strconv.ParseInt(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], 10, 64); err == nil {
		n.lag.Store(v)
	}
}
