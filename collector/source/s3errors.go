package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vpcflow/vpcflow/vmclient"
)

// Status classifies the outcome of an S3 request: whether it is worth
// retrying, and if not, what the operator has to fix.
type Status string

// Statuses of S3 requests.
const (
	// StatusOK is no error.
	StatusOK Status = "ok"
	// StatusTransient is worth retrying later: throttling (503 SlowDown),
	// a server error (5xx), a timeout or a broken connection.
	StatusTransient Status = "transient"
	// StatusCanceled is a request whose context was canceled.
	StatusCanceled Status = "canceled"
	// StatusAccessDenied is a 403: the credentials are valid but an IAM,
	// bucket or KMS key policy does not allow the action.
	StatusAccessDenied Status = "access-denied"
	// StatusNoSuchBucket is a bucket that does not exist.
	StatusNoSuchBucket Status = "no-such-bucket"
	// StatusWrongRegion is a bucket in another region than the one
	// configured (301 PermanentRedirect, AuthorizationHeaderMalformed).
	StatusWrongRegion Status = "wrong-region"
	// StatusBadCredentials is credentials S3 rejects: an unknown access key
	// (InvalidAccessKeyId), a wrong secret (SignatureDoesNotMatch), an
	// expired or invalid session token.
	StatusBadCredentials Status = "bad-credentials"
	// StatusNoCredentials is credentials that could not be obtained: none
	// in the AWS default chain, or a role that could not be assumed.
	StatusNoCredentials Status = "no-credentials"
	// StatusNotFound is an object that does not exist (NoSuchKey).
	StatusNotFound Status = "not-found"
	// StatusChanged is an object that is no longer the version asked for
	// (412 PreconditionFailed); the error wraps ErrChanged.
	StatusChanged Status = "changed"
	// StatusOther is any other error: not worth retrying as is.
	StatusOther Status = "other"
)

// Access reports whether the status is an access problem the operator must
// fix: denied, no such bucket, wrong region, bad or missing credentials.
func (s Status) Access() bool {
	switch s {
	case StatusAccessDenied, StatusNoSuchBucket, StatusWrongRegion, StatusBadCredentials, StatusNoCredentials:
		return true
	}
	return false
}

// Transient reports whether a later retry may succeed as is.
func (s Status) Transient() bool { return s == StatusTransient }

// AccessError is an S3 request that failed for an access problem (see
// Status.Access). Its message names the operation, bucket and key and what
// to fix; it never holds a secret.
type AccessError struct {
	Status Status
	// Op is the source's operation ("list", "get", "delete", …) and
	// API the S3 operation (ListObjectsV2, GetObject, …) when known.
	Op, API string
	Bucket  string
	Key     string // the key or prefix concerned; may be empty
	// Code and HTTPStatus are S3's error code and HTTP status, when it
	// answered.
	Code       string
	HTTPStatus int
	// Region is the region the request was signed for; BucketRegion the
	// bucket's, when S3 said (x-amz-bucket-region).
	Region, BucketRegion string
	// Err is the SDK's error.
	Err error
}

// Error describes the problem and what to fix.
func (e *AccessError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s s3://%s/%s: %s", e.Op, e.Bucket, e.Key, e.Hint())
	var answer []string
	if e.API != "" {
		answer = append(answer, "S3 "+e.API)
	}
	if e.HTTPStatus != 0 {
		answer = append(answer, fmt.Sprint(e.HTTPStatus))
	}
	if e.Code != "" {
		answer = append(answer, e.Code)
	}
	if len(answer) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(answer, " "))
	} else if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	return b.String()
}

// Unwrap returns the SDK's error.
func (e *AccessError) Unwrap() error { return e.Err }

// Hint says in a sentence what is wrong and what to do about it.
func (e *AccessError) Hint() string {
	switch e.Status {
	case StatusAccessDenied:
		if action := iamAction(e.API, e.Op); action != "" {
			return fmt.Sprintf("access denied: the credentials are not allowed %s on bucket %s (IAM policy, bucket policy, or the KMS key policy of encrypted objects)", action, e.Bucket)
		}
		return fmt.Sprintf("access denied on bucket %s (IAM policy, bucket policy, or the KMS key policy of encrypted objects)", e.Bucket)
	case StatusNoSuchBucket:
		return fmt.Sprintf("bucket %q does not exist: check the bucket name", e.Bucket)
	case StatusWrongRegion:
		if e.BucketRegion != "" {
			return fmt.Sprintf("the bucket is in region %s, not %s: set the source's region to %s", e.BucketRegion, e.Region, e.BucketRegion)
		}
		return fmt.Sprintf("the bucket is not in region %s: set the source's region to the bucket's", e.Region)
	case StatusBadCredentials:
		return "S3 rejects the credentials: the access key is unknown, the secret does not match it, or the session token expired"
	case StatusNoCredentials:
		return "no usable AWS credentials: set them in the source, or make them available to the AWS default chain (environment, shared config, instance or task role), and check that the role can be assumed"
	}
	return string(e.Status)
}

// iamAction names the IAM action an S3 operation needs.
func iamAction(api, op string) string {
	switch api {
	case "ListObjectsV2", "HeadBucket":
		return "s3:ListBucket"
	case "GetObject", "HeadObject":
		return "s3:GetObject"
	case "DeleteObject":
		return "s3:DeleteObject"
	case "PutObject":
		return "s3:PutObject"
	case "GetBucketVersioning":
		return "s3:GetBucketVersioning"
	case "ListObjectVersions":
		return "s3:ListBucketVersions"
	case "GetBucketLifecycleConfiguration":
		return "s3:GetLifecycleConfiguration"
	}
	switch op {
	case "list":
		return "s3:ListBucket"
	case "get", "open":
		return "s3:GetObject"
	case "delete":
		return "s3:DeleteObject"
	}
	return ""
}

// Classify tells what kind of failure err is: an access problem to fix, a
// transient failure worth retrying, a missing or changed object, or
// something else. Errors of this package's S3 source and the AWS SDK's own
// are both understood; nil is StatusOK.
func Classify(err error) Status {
	if err == nil {
		return StatusOK
	}
	var ae *AccessError
	if errors.As(err, &ae) {
		return ae.Status
	}
	if errors.Is(err, ErrChanged) {
		return StatusChanged
	}
	if errors.Is(err, context.Canceled) {
		return StatusCanceled
	}
	if credentialsFailed(err) {
		// Before the API codes: an STS AccessDenied inside is about the
		// role, not the bucket.
		return StatusNoCredentials
	}
	code, status := apiCode(err), httpStatus(err)
	switch code {
	case "AccessDenied", "AllAccessDisabled", "AccountProblem", "InvalidPayer":
		return StatusAccessDenied
	case "NoSuchBucket":
		return StatusNoSuchBucket
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "TemporaryRedirect":
		return StatusWrongRegion
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
		"XAdminUserNotFound": // versitygw's InvalidAccessKeyId
		return StatusBadCredentials
	case "NoSuchKey":
		return StatusNotFound
	case "PreconditionFailed":
		return StatusChanged
	}
	// HEAD answers have no body, hence no code: go by the status.
	switch {
	case status == http.StatusMovedPermanently:
		return StatusWrongRegion
	case status == http.StatusBadRequest && bucketRegion(err) != "":
		return StatusWrongRegion
	case status == http.StatusForbidden:
		return StatusAccessDenied
	case status == http.StatusNotFound && operation(err) == "HeadBucket":
		return StatusNoSuchBucket
	case status == http.StatusNotFound:
		return StatusNotFound
	case status == http.StatusPreconditionFailed:
		return StatusChanged
	case status == http.StatusTooManyRequests || status >= 500:
		return StatusTransient
	}
	if errors.Is(err, context.DeadlineExceeded) || transientNetError(err) {
		return StatusTransient
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return StatusTransient
	}
	if code != "" && retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() {
		return StatusTransient // SlowDown, RequestTimeout and other retryable codes
	}
	return StatusOther
}

// credentialsFailed reports whether err is the SDK failing to obtain
// credentials before sending a request.
func credentialsFailed(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "failed to refresh cached credentials") ||
		strings.Contains(msg, "failed to retrieve credentials") ||
		strings.Contains(msg, "get identity:")
}

// transientNetError reports whether err is a broken or refused connection.
func transientNetError(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err).Bool()
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func operation(err error) string {
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		return oe.OperationName
	}
	return ""
}

// expectingRegion finds the region in AuthorizationHeaderMalformed's
// message: "the region 'us-east-1' is wrong; expecting 'eu-west-1'".
var expectingRegion = regexp.MustCompile(`expecting ['"]?([a-z]{2}(?:-[a-z]+)+-[0-9]+)`)

// bucketRegion returns the bucket's region when S3 said it in its answer:
// in the x-amz-bucket-region header, or in the message of a request signed
// for another region.
func bucketRegion(err error) string {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" {
			return r
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "AuthorizationHeaderMalformed" {
		if m := expectingRegion.FindStringSubmatch(ae.ErrorMessage()); m != nil {
			return m[1]
		}
	}
	return ""
}

// wrapErr adds the operation, bucket and key to an S3 error: an
// *AccessError for access problems, ErrChanged for a changed object,
// fs.ErrNotExist for a missing one, the SDK's error otherwise. The message
// keeps no secret of the credentials, nor a credential header that a server
// or proxy echoed in its answer (the SDK quotes S3's <Message>).
func (s *S3) wrapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var out error
	switch st := Classify(err); {
	case st.Access():
		out = &AccessError{
			Status: st, Op: op, API: operation(err), Bucket: s.cfg.Bucket, Key: key,
			Code: apiCode(err), HTTPStatus: httpStatus(err),
			Region: s.region, BucketRegion: bucketRegion(err), Err: err,
		}
	case st == StatusChanged:
		out = fmt.Errorf("%s s3://%s/%s: %w", op, s.cfg.Bucket, key, ErrChanged)
	case st == StatusNotFound:
		out = fmt.Errorf("%s s3://%s/%s: %w (%w)", op, s.cfg.Bucket, key, fs.ErrNotExist, err)
	default:
		out = fmt.Errorf("%s s3://%s/%s: %w", op, s.cfg.Bucket, key, err)
	}
	c := s.cfg.Credentials
	return vmclient.NewRedactor(c.SecretAccessKey, c.SessionToken, c.ExternalID).Error(out)
}
