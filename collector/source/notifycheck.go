package source

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Names of the checks the bucket test adds for a source reading a queue
// (Notify.Check).
const (
	CheckQueue        = "queue"         // the queue answers: its attributes, its redrive policy
	CheckQueueReceive = "queue-receive" // receiving is allowed
	CheckQueueDelete  = "queue-delete"  // changing visibility and deleting are allowed
	CheckNotification = "notification"  // the bucket's notification configuration points at the queue
)

// checkReceipt is the receipt handle the queue-delete check sends: SQS
// authorizes the request before it looks at the handle, so an allowed
// action fails with ReceiptHandleIsInvalid and no message is touched.
const checkReceipt = "vpcflow-access-check"

// Check runs the bucket's checks (S3.Check), then the queue's: its
// attributes can be read (sqs:GetQueueAttributes) and it has a redrive
// policy; receiving is allowed (a ReceiveMessage of one message, made
// visible again at once: its receive count grows by one);
// ChangeMessageVisibility and DeleteMessage are allowed (sent with a
// receipt handle that is not one: SQS checks the permission first, then
// refuses the handle, so no message is touched); and the bucket's
// notification configuration sends ObjectCreated events to the queue,
// where it can be read (s3:GetBucketNotification).
func (n *Notify) Check(ctx context.Context, opts CheckOptions) []Check {
	out := n.s3.Check(ctx, opts)
	add := func(name string, r CheckResult, format string, args ...any) {
		out = append(out, Check{Name: name, Result: r, Detail: fmt.Sprintf(format, args...)})
	}
	q := n.cfg.QueueURL
	attrs, err := n.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		add(CheckQueue, CheckFail, "queue %s: %s", q, sqsHint(err, "sqs:GetQueueAttributes"))
		for _, name := range []string{CheckQueueReceive, CheckQueueDelete, CheckNotification} {
			add(name, CheckSkip, "not run: the queue check failed")
		}
		return out
	}
	a := attrs.Attributes
	arn := a[string(sqstypes.QueueAttributeNameQueueArn)]
	detail := fmt.Sprintf("queue %s answers: %s messages waiting, %s in flight, visibility timeout %s s (the collector asks for %s and extends it while an object is in flight)",
		arn, a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"], a["VisibilityTimeout"], n.cfg.VisibilityTimeout)
	var redrive struct {
		Target string          `json:"deadLetterTargetArn"`
		Max    json.RawMessage `json:"maxReceiveCount"`
	}
	if p := a[string(sqstypes.QueueAttributeNameRedrivePolicy)]; p != "" && json.Unmarshal([]byte(p), &redrive) == nil && redrive.Target != "" {
		add(CheckQueue, CheckPass, "%s; redrive policy: after %s receives to %s", detail, strings.Trim(string(redrive.Max), `"`), redrive.Target)
	} else {
		add(CheckQueue, CheckWarn, "%s; no redrive policy: a message that cannot be parsed comes back forever; give the queue a dead-letter queue (maxReceiveCount 5, say)", detail)
	}

	// The shortest visibility SQS takes on a receive is 1 s (0 is the
	// queue's own); the message is then made visible again at once.
	rcv, err := n.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q), MaxNumberOfMessages: 1, VisibilityTimeout: 1, WaitTimeSeconds: 0})
	switch {
	case err != nil:
		add(CheckQueueReceive, CheckFail, "%s", sqsHint(err, "sqs:ReceiveMessage"))
	case len(rcv.Messages) > 0:
		_, err := n.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q), ReceiptHandle: rcv.Messages[0].ReceiptHandle, VisibilityTimeout: 0})
		if err != nil {
			add(CheckQueueReceive, CheckWarn, "received a message, but could not make it visible again (%s): it is back within a second anyway; its receive count grew by one", sqsHint(err, "sqs:ChangeMessageVisibility"))
			break
		}
		add(CheckQueueReceive, CheckPass, "received a message and made it visible again at once: its receive count grew by one")
	default:
		add(CheckQueueReceive, CheckPass, "receiving allowed (no message waiting)")
	}

	var denied, unsure []string
	_, verr := n.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q), ReceiptHandle: aws.String(checkReceipt), VisibilityTimeout: 0})
	_, derr := n.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q), ReceiptHandle: aws.String(checkReceipt)})
	for _, c := range []struct {
		action string
		err    error
	}{{"sqs:ChangeMessageVisibility", verr}, {"sqs:DeleteMessage", derr}} {
		switch code := apiCode(c.err); {
		case c.err == nil, code == "ReceiptHandleIsInvalid", code == "InvalidParameterValue":
		case code == "AccessDenied", strings.Contains(code, "AccessDenied"):
			denied = append(denied, c.action)
		default:
			unsure = append(unsure, fmt.Sprintf("%s: %v", c.action, c.err))
		}
	}
	switch {
	case len(denied) > 0:
		add(CheckQueueDelete, CheckFail, "access denied: the credentials are not allowed %s on %s (messages would never be deleted, and come back)", strings.Join(denied, " and "), arn)
	case len(unsure) > 0:
		add(CheckQueueDelete, CheckWarn, "could not tell: %s (checked with a receipt handle that is not one; a real message is never deleted by the test)", strings.Join(unsure, "; "))
	default:
		add(CheckQueueDelete, CheckPass, "sqs:ChangeMessageVisibility and sqs:DeleteMessage allowed (checked with a receipt handle that is not one: SQS refuses it after the permission check, no message touched)")
	}

	nc, err := n.s3.client.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String(n.s3.Bucket())})
	if err != nil {
		why := err.Error()
		switch {
		case apiCode(err) == "NotImplemented":
			why = "the S3 server does not implement GetBucketNotificationConfiguration"
		case Classify(err) == StatusAccessDenied:
			why = "access denied: the credentials are not allowed s3:GetBucketNotification, which only this check needs"
		}
		add(CheckNotification, CheckWarn, "the bucket's notification configuration cannot be read (%s): make sure it sends s3:ObjectCreated:* events under %q to %s",
			why, n.s3.Prefix(), arn)
		return out
	}
	var topics []string
	for _, c := range nc.QueueConfigurations {
		if aws.ToString(c.QueueArn) != arn {
			continue
		}
		created := slices.ContainsFunc(c.Events, func(e s3types.Event) bool { return strings.HasPrefix(string(e), "s3:ObjectCreated:") })
		if created {
			add(CheckNotification, CheckPass, "the bucket sends ObjectCreated events to %s (configuration %s)", arn, aws.ToString(c.Id))
			return out
		}
	}
	for _, c := range nc.TopicConfigurations {
		topics = append(topics, aws.ToString(c.TopicArn))
	}
	if len(topics) > 0 {
		add(CheckNotification, CheckWarn, "the bucket sends its events to SNS topics %s, not to the queue directly: check that the queue is subscribed to the topic", strings.Join(topics, ", "))
		return out
	}
	add(CheckNotification, CheckFail, "the bucket's notification configuration sends no ObjectCreated events to %s: add an event notification for s3:ObjectCreated:* (prefix %q, suffix .log.gz) with the queue as destination", arn, n.s3.Prefix())
	return out
}

// sqsHint describes an SQS (or S3) error, naming the IAM action a denial
// is about.
func sqsHint(err error, action string) string {
	code := apiCode(err)
	switch {
	case strings.Contains(code, "AccessDenied"):
		return fmt.Sprintf("access denied: the credentials are not allowed %s (%s)", action, code)
	case strings.Contains(code, "NonExistentQueue"), code == "QueueDoesNotExist":
		return "the queue does not exist: check queue_url and region"
	}
	return err.Error()
}
