package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// S3Config configures an S3 source.
type S3Config struct {
	// Name is the source's configured name.
	Name string
	// Bucket is the bucket AWS delivers the flow logs to.
	Bucket string
	// Prefix is the flow log destination's folder in the bucket (what
	// follows the bucket name in the flow log's destination ARN), or any
	// key prefix inside the AWS layout; empty for the whole bucket.
	Prefix string
	// Region is the bucket's region. Empty takes the AWS default chain's
	// (AWS_REGION, the shared config), else DefaultS3Region.
	Region string
	// Endpoint replaces the AWS endpoint (an S3-compatible server, a VPC
	// endpoint), as a URL such as http://127.0.0.1:7070.
	Endpoint string
	// PathStyle addresses buckets as ENDPOINT/BUCKET rather than
	// BUCKET.ENDPOINT, as most S3-compatible servers want.
	PathStyle bool
	// Credentials are static keys and a role to assume; the zero value is
	// the AWS default chain.
	Credentials S3Credentials

	// MaxAttempts bounds the attempts of one S3 request (retries on 503
	// SlowDown, 5xx, timeouts, refused or reset connections); default
	// DefaultS3MaxAttempts.
	MaxAttempts int
	// MaxBackoff bounds the wait between two attempts, which grows
	// exponentially with jitter from 50 ms (1 s after throttling); default
	// DefaultS3MaxBackoff.
	MaxBackoff time.Duration
	// ReadTimeout fails a connection that delivers no byte for that long;
	// default DefaultS3ReadTimeout.
	ReadTimeout time.Duration
	// PageSize is the number of keys asked for per list request (S3's
	// maximum and default is 1000).
	PageSize int32
	// ListConcurrency is how many list requests ListSince runs at once;
	// default DefaultS3ListConcurrency.
	ListConcurrency int
	// BlockSize is the size of the range requests of OpenAt and of Parquet
	// objects; default DefaultS3BlockSize.
	BlockSize int64
}

// S3Credentials say how the S3 source authenticates. The secrets are
// values, resolved by the caller (from a file, the environment …); the
// source never writes them to an error or a log.
type S3Credentials struct {
	// AccessKeyID and SecretAccessKey are static keys, with SessionToken
	// for temporary ones. Empty uses the AWS default chain: environment,
	// shared config and credentials files (AWS_PROFILE), web identity,
	// ECS task role, EC2 instance role.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// RoleARN is a role assumed (with STS AssumeRole) with the credentials
	// above, with ExternalID when the role's trust policy asks for one.
	RoleARN    string
	ExternalID string
}

// String describes the credentials without their secrets, so that
// printing a configuration never shows them.
func (c S3Credentials) String() string {
	var parts []string
	if c.AccessKeyID != "" {
		parts = append(parts, "access key "+maskKey(c.AccessKeyID))
	}
	if c.SecretAccessKey != "" {
		parts = append(parts, "secret [redacted]")
	}
	if c.SessionToken != "" {
		parts = append(parts, "session token [redacted]")
	}
	if c.RoleARN != "" {
		parts = append(parts, "role "+c.RoleARN)
	}
	if c.ExternalID != "" {
		parts = append(parts, "external id [redacted]")
	}
	if len(parts) == 0 {
		return "{the AWS default chain}"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// GoString is String, for %#v.
func (c S3Credentials) GoString() string { return c.String() }

// Defaults of S3Config.
const (
	DefaultS3Region          = "us-east-1"
	DefaultS3MaxAttempts     = 10
	DefaultS3MaxBackoff      = 20 * time.Second
	DefaultS3ReadTimeout     = time.Minute
	DefaultS3ListConcurrency = 8
	DefaultS3BlockSize       = 1 << 20
)

// S3 is a source of flow log objects in an S3 bucket, under a prefix.
// Object keys are the full S3 keys (prefix included); an object's Version
// is its ETag, without the quotes.
type S3 struct {
	cfg         S3Config
	region      string
	client      *s3.Client
	credentials aws.CredentialsProvider
	// credsKind says where the credentials come from, for the bucket test.
	credsKind string
	// listRequests counts list requests sent, for tests and figures.
	listRequests atomic.Int64
}

var _ Source = (*S3)(nil)

// NewS3 returns an S3 source. It checks the configuration but sends no
// request: credentials are obtained on first use (Check tells whether they
// resolve).
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	switch {
	case cfg.Bucket == "":
		return nil, errors.New("s3 source: bucket: required")
	case strings.ContainsAny(cfg.Bucket, "/ "):
		return nil, fmt.Errorf("s3 source: bucket %q: a bucket name, without s3:// or a folder (use prefix)", cfg.Bucket)
	}
	if err := cfg.Credentials.Check(); err != nil {
		return nil, fmt.Errorf("s3 source: %w", err)
	}
	if cfg.PageSize < 0 || cfg.PageSize > 1000 {
		return nil, fmt.Errorf("s3 source: page size %d: want 1 to 1000", cfg.PageSize)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultS3MaxAttempts
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultS3MaxBackoff
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultS3ReadTimeout
	}
	if cfg.ListConcurrency <= 0 {
		cfg.ListConcurrency = DefaultS3ListConcurrency
	}
	if cfg.BlockSize <= 0 {
		cfg.BlockSize = DefaultS3BlockSize
	}

	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 10 * time.Second }).
		WithTransportOptions(func(tr *http.Transport) {
			tr.ResponseHeaderTimeout = cfg.ReadTimeout
			tr.MaxIdleConnsPerHost = 32
		}).
		WithReadTimeout(cfg.ReadTimeout)
	awsCfg, kind, err := LoadAWSConfig(ctx, cfg.Credentials, cfg.Region,
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer { return newRetryer(cfg.MaxAttempts, cfg.MaxBackoff) }),
	)
	if err != nil {
		return nil, fmt.Errorf("s3 source %s: %w", cfg.Name, err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.HTTPClient = BufferRequestBodies(o.HTTPClient)
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Checksums on uploads only when S3 requires them: the source only
		// writes the bucket test's marker, and S3-compatible servers do
		// not all take the trailing checksums of the newer SDKs.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		// Range GETs carry no whole-object checksum: no log line about it.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return &S3{cfg: cfg, region: awsCfg.Region, client: client, credentials: awsCfg.Credentials, credsKind: kind}, nil
}

// Check reports credentials that do not go together: an access key id
// without a secret access key or the reverse, an external id without a
// role. Its errors name the fields, never a value.
func (c S3Credentials) Check() error {
	switch {
	case (c.AccessKeyID == "") != (c.SecretAccessKey == ""):
		return errors.New("credentials: the access key id and the secret access key go together")
	case c.ExternalID != "" && c.RoleARN == "":
		return errors.New("credentials: external_id needs role_arn")
	}
	return nil
}

// LoadAWSConfig returns the AWS configuration that authenticates with
// creds (checked by Check first) for region, and says where the
// credentials come from ("static keys", "the AWS default chain", "role …
// assumed with …"), for messages. Static keys replace the default chain;
// a RoleARN is assumed through STS (session name vpcflow-collector, with
// the ExternalID) with the keys or the chain, and its credentials are
// cached. An empty region takes the default chain's (AWS_REGION, the
// shared config), else DefaultS3Region. opts (an HTTP client, a retryer …)
// are applied after the region and the keys. It sends no request: the
// credentials are obtained on first use. Errors of the shared config name
// files and profiles, never a secret. Every AWS client of the collector
// (the S3 source, the entity sync) authenticates through it.
func LoadAWSConfig(ctx context.Context, creds S3Credentials, region string, opts ...func(*config.LoadOptions) error) (aws.Config, string, error) {
	if err := creds.Check(); err != nil {
		return aws.Config{}, "", err
	}
	var load []func(*config.LoadOptions) error
	if region != "" {
		load = append(load, config.WithRegion(region))
	}
	kind := "the AWS default chain"
	if creds.AccessKeyID != "" {
		load = append(load, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)))
		kind = "static keys"
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, append(load, opts...)...)
	if err != nil {
		return aws.Config{}, "", fmt.Errorf("load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultS3Region
	}
	if creds.RoleARN != "" {
		stsClient := sts.NewFromConfig(awsCfg, func(o *sts.Options) { o.HTTPClient = BufferRequestBodies(o.HTTPClient) })
		awsCfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, creds.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "vpcflow-collector"
			if creds.ExternalID != "" {
				o.ExternalID = aws.String(creds.ExternalID)
			}
		}))
		kind = "role " + creds.RoleARN + " assumed with " + kind
	}
	return awsCfg, kind, nil
}

// newRetryer is the SDK's standard retryer with more attempts: exponential
// backoff with full jitter, retrying throttling (503 SlowDown), 5xx,
// timeouts, refused and reset connections. The retry quota (a client-wide
// circuit breaker) is off: each request gets its attempts.
func newRetryer(attempts int, maxBackoff time.Duration) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = maxBackoff
		o.RateLimiter = ratelimit.None
	})
}

// maskKey shows the start and end of an access key id.
func maskKey(id string) string {
	if len(id) <= 8 {
		return "…"
	}
	return id[:4] + "…" + id[len(id)-4:]
}

// Name returns the source's name.
func (s *S3) Name() string { return s.cfg.Name }

// Bucket returns the bucket's name.
func (s *S3) Bucket() string { return s.cfg.Bucket }

// Prefix returns the prefix listed.
func (s *S3) Prefix() string { return s.cfg.Prefix }

// Region returns the region requests are signed for.
func (s *S3) Region() string { return s.region }

// ListRequests returns the number of list requests (pages) sent so far.
func (s *S3) ListRequests() int64 { return s.listRequests.Load() }

// Client returns the S3 client, configured with the source's endpoint,
// credentials and retries.
func (s *S3) Client() *s3.Client { return s.client }

// List returns the flow log objects under the prefix (see IsFlowLog),
// ordered by key, listing every key under the prefix page by page. For a
// bucket where objects are kept after ingest, ListSince lists less.
func (s *S3) List(ctx context.Context) ([]Object, error) {
	var out []Object
	err := s.listTree(ctx, s.cfg.Prefix, func(o s3types.Object) {
		if key := aws.ToString(o.Key); IsFlowLog(key) {
			out = append(out, objectOf(o))
		}
	})
	if err != nil {
		return nil, err
	}
	sortObjects(out)
	return out, nil
}

func sortObjects(objs []Object) {
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
}

func objectOf(o s3types.Object) Object {
	return Object{
		Key:     aws.ToString(o.Key),
		Version: strings.Trim(aws.ToString(o.ETag), `"`),
		Size:    aws.ToInt64(o.Size),
		ModTime: aws.ToTime(o.LastModified),
	}
}

// listTree calls fn for every object under prefix, page by page.
func (s *S3) listTree(ctx context.Context, prefix string, fn func(s3types.Object)) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(prefix)}
	if s.cfg.PageSize > 0 {
		in.MaxKeys = aws.Int32(s.cfg.PageSize)
	}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		s.listRequests.Add(1)
		page, err := p.NextPage(ctx)
		if err != nil {
			return s.wrapErr("list", prefix, err)
		}
		for _, o := range page.Contents {
			fn(o)
		}
	}
	return nil
}

// listLevel returns the "folders" (common prefixes, ending with '/') and
// the objects directly under prefix.
func (s *S3) listLevel(ctx context.Context, prefix string) (dirs []string, objs []s3types.Object, err error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	if s.cfg.PageSize > 0 {
		in.MaxKeys = aws.Int32(s.cfg.PageSize)
	}
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		s.listRequests.Add(1)
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, s.wrapErr("list", prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			dirs = append(dirs, aws.ToString(cp.Prefix))
		}
		objs = append(objs, page.Contents...)
	}
	return dirs, objs, nil
}

// quoted returns an ETag as If-Match wants it.
func quoted(etag string) *string {
	if etag == "" {
		return nil
	}
	return aws.String(`"` + etag + `"`)
}

// Open opens the object for reading, failing with ErrChanged when its ETag
// is no longer the one listed (GetObject with If-Match), and with
// fs.ErrNotExist when it is gone. ctx governs the reads as well.
//
// A text object (gzip or not) is streamed with one GET; when the
// connection breaks mid-way, reading resumes where it stopped with a range
// GET of the same ETag. A Parquet object (.log.parquet) is read with range
// GETs (see OpenAt): the reader also has ReadAt and Size, so that the
// decoder reads it at random offsets without spooling it to disk.
func (s *S3) Open(ctx context.Context, o Object) (io.ReadCloser, error) {
	if strings.HasSuffix(o.Key, ".parquet") {
		ra, err := s.openAt(ctx, o)
		if err != nil {
			return nil, err
		}
		return &seqReader{ranged: ra}, nil
	}
	r := &s3Reader{s: s, ctx: ctx, key: o.Key, etag: o.Version, size: -1}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// OpenAt returns the object as an io.ReaderAt and its size, failing with
// ErrChanged when its ETag is no longer the one listed. Reads are range
// GETs of BlockSize bytes with If-Match, a few blocks cached; an object
// replaced since fails the read with ErrChanged. ctx governs the reads.
func (s *S3) OpenAt(ctx context.Context, o Object) (io.ReaderAt, int64, error) {
	ra, err := s.openAt(ctx, o)
	if err != nil {
		return nil, 0, err
	}
	return ra, ra.size, nil
}

// Delete removes the object once its data is stored, unless its ETag is
// no longer the one listed (then it fails with ErrChanged: the new data is
// still to be read). An object already gone is not an error.
//
// The ETag is checked twice: with a HeadObject first, then with If-Match
// on the DeleteObject itself, which makes the check atomic on servers that
// support conditional deletes (versitygw does; AWS documents them). On a server that ignores If-Match on deletes, an
// object replaced between the two requests would be deleted unread; AWS
// never rewrites a flow log key (each holds a timestamp and a hash), so
// only another writer reusing keys could lose data that way.
func (s *S3) Delete(ctx context.Context, o Object) error {
	_, err := s.remove(ctx, o)
	return err
}

// remove is Delete, telling whether the object was gone already.
func (s *S3) remove(ctx context.Context, o Object) (gone bool, err error) {
	if o.Version != "" {
		_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
			Bucket: aws.String(s.cfg.Bucket), Key: aws.String(o.Key), IfMatch: quoted(o.Version),
		})
		switch Classify(err) {
		case StatusOK:
		case StatusNotFound:
			return true, nil
		default:
			return false, s.wrapErr("delete", o.Key, err)
		}
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.cfg.Bucket), Key: aws.String(o.Key), IfMatch: quoted(o.Version),
	})
	if err != nil && apiCode(err) == "NotImplemented" && o.Version != "" {
		// A server without conditional deletes: the HeadObject above
		// checked the ETag.
		_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(o.Key)})
	}
	switch Classify(err) {
	case StatusOK:
		return false, nil
	case StatusNotFound:
		return true, nil
	}
	return false, s.wrapErr("delete", o.Key, err)
}
