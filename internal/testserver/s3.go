package testserver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vpcflow/vpcflow/internal/launch"
)

// Default credentials and region of an S3Server.
const (
	S3AccessKey = "vpcflow-test"
	S3SecretKey = "vpcflow-test-secret"
	S3Region    = "us-east-1"
)

// S3Server is a versitygw S3 gateway with the posix backend run by a test:
// buckets are folders of Dir, objects are files in them.
type S3Server struct {
	// AccessKey and SecretKey are the root user's credentials; Region is
	// the region the gateway expects requests to be signed for.
	AccessKey, SecretKey, Region string
	// Dir is the posix backend's root: one folder per bucket.
	Dir string

	t   testing.TB
	bin string
	iam bool
	p   *launch.Process
}

// S3Option changes how S3 starts versitygw.
type S3Option func(*s3Options)

type s3Options struct {
	versioning bool
	iam        bool
	access     string
	secret     string
	region     string
}

// S3Versioning starts versitygw with a versioning folder
// (`posix --versioning-dir`): without one, buckets cannot be versioned.
func S3Versioning() S3Option { return func(o *s3Options) { o.versioning = true } }

// S3IAM starts versitygw with its internal IAM service (`--iam-dir`), so
// that CreateUser can add users besides the root one.
func S3IAM() S3Option { return func(o *s3Options) { o.iam = true } }

// S3Credentials replaces the root user's default credentials.
func S3Credentials(access, secret string) S3Option {
	return func(o *s3Options) { o.access, o.secret = access, secret }
}

// S3RegionOption makes the gateway expect requests signed for region
// instead of us-east-1.
func S3RegionOption(region string) S3Option { return func(o *s3Options) { o.region = region } }

// S3 starts the pinned versitygw (`versitygw --port 127.0.0.1:PORT posix
// DIR`, the root credentials in its environment rather than on its command
// line) with a fresh folder, waits until it answers, and stops it when the
// test ends. When the binary is missing, the test is skipped, or fails if
// VPCFLOW_REQUIRE_SERVERS=1.
func S3(t testing.TB, opts ...S3Option) *S3Server {
	t.Helper()
	o := s3Options{access: S3AccessKey, secret: S3SecretKey, region: S3Region}
	for _, opt := range opts {
		opt(&o)
	}
	bin := requireTool(t, "versitygw", "versitygw")
	dir := t.TempDir()
	s := &S3Server{
		AccessKey: o.access,
		SecretKey: o.secret,
		Region:    o.region,
		Dir:       launch.VersitygwRoot(dir),
		t:         t,
		bin:       bin,
		iam:       o.iam,
	}
	t.Cleanup(func() {
		if s.p == nil {
			return
		}
		s.Stop()
		if t.Failed() {
			t.Logf("versitygw %s", launch.LogNote(s.p))
		}
	})
	p, err := launch.StartVersitygw(context.Background(), bin, dir, launch.VersitygwOptions{
		Access: o.access, Secret: o.secret, Region: o.region, Versioning: o.versioning, IAM: o.iam,
	})
	s.p = p
	if err != nil {
		t.Fatalf("start versitygw: %v\n%s", err, launch.LogNote(p))
	}
	return s
}

// Endpoint returns the gateway's base URL, http://127.0.0.1:PORT, the same
// across Stop and Start.
func (s *S3Server) Endpoint() string { return s.p.URL() }

// Start starts versitygw again after Stop or Kill, on the same port and
// folder. Call it from the test's goroutine: it fails the test on error.
func (s *S3Server) Start() {
	s.t.Helper()
	if err := s.TryStart(); err != nil {
		s.t.Fatalf("restart versitygw: %v\n%s", err, launch.LogNote(s.p))
	}
}

// TryStart is Start returning its error instead of failing the test: use
// it from other goroutines (restarting a server while a client retries).
func (s *S3Server) TryStart() error { return s.p.Start(context.Background()) }

// Stop stops versitygw gracefully (SIGTERM, then SIGKILL after 5 s),
// keeping its folder for Start. Stopping a stopped server does nothing.
func (s *S3Server) Stop() { s.p.Stop() }

// Kill stops versitygw with SIGKILL, cutting the connections it serves:
// a server dying mid-request. Start brings it back.
func (s *S3Server) Kill() { s.p.Kill() }

// Running reports whether the versitygw process is running.
func (s *S3Server) Running() bool { return s.p.Running() }

// LogTail returns the last lines of versitygw's log (all runs of it).
func (s *S3Server) LogTail() string { return s.p.LogTail() }

// Client returns an S3 client of the root user: path-style addressing, the
// server's region, few retries.
func (s *S3Server) Client() *s3.Client { return s.ClientFor(s.AccessKey, s.SecretKey) }

// ClientFor is Client with other credentials (a user made by CreateUser,
// or wrong ones).
func (s *S3Server) ClientFor(access, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
		// Checksums only when an operation requires them, as most
		// S3-compatible servers expect.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
}

// CreateBucket creates the named buckets. It fails the test on error.
func (s *S3Server) CreateBucket(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := s.Client().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Fatalf("create bucket %s: %v", name, err)
		}
	}
}

// EnableVersioning turns versioning on for the bucket (the server must run
// with S3Versioning). It fails the test on error.
func (s *S3Server) EnableVersioning(t testing.TB, bucket string) {
	t.Helper()
	_, err := s.Client().PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		t.Fatalf("enable versioning on %s: %v", bucket, err)
	}
}

// Put stores data under key and returns its ETag (without quotes). It fails
// the test on error.
func (s *S3Server) Put(t testing.TB, bucket, key string, data []byte) string {
	t.Helper()
	out, err := s.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket),
		Key:    aws.String(key),
		Body:   bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
	return strings.Trim(aws.ToString(out.ETag), `"`)
}

// PutAll stores each key's data, eight at a time. It fails the test on
// the first error.
func (s *S3Server) PutAll(t testing.TB, bucket string, objects map[string][]byte) {
	t.Helper()
	client := s.Client()
	keys := make(chan string)
	errs := make(chan error, len(objects))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for key := range keys {
				_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: aws.String(bucket),
					Key:    aws.String(key),
					Body:   bytes.NewReader(objects[key]),
				})
				if err != nil {
					errs <- fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
				}
			}
		})
	}
	for key := range objects {
		keys <- key
	}
	close(keys)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// Delete removes the object under key. It fails the test on error.
func (s *S3Server) Delete(t testing.TB, bucket, key string) {
	t.Helper()
	if _, err := s.Client().DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("delete s3://%s/%s: %v", bucket, key, err)
	}
}

// Keys returns every key in the bucket under prefix, in order. It fails the
// test on error.
func (s *S3Server) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list s3://%s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// CreateUser adds a user with the "user" role through versitygw's admin
// interface (the server must run with S3IAM). A user sees only the buckets
// it owns or a bucket policy opens to it. It fails the test on error.
func (s *S3Server) CreateUser(t testing.TB, access, secret string) {
	t.Helper()
	if !s.iam {
		t.Fatal("CreateUser needs a server started with S3IAM()")
	}
	cmd := exec.Command(s.bin, "admin", "--endpoint-url", s.Endpoint(), "--region", s.Region,
		"create-user", "--access", access, "--secret", secret, "--role", "user")
	cmd.Env = append(os.Environ(), "ADMIN_ACCESS_KEY_ID="+s.AccessKey, "ADMIN_SECRET_ACCESS_KEY="+s.SecretKey)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("versitygw admin create-user %s: %v\n%s", access, err, out)
	}
}

// PutBucketPolicy sets the bucket's policy document. It fails the test on
// error.
func (s *S3Server) PutBucketPolicy(t testing.TB, bucket, policy string) {
	t.Helper()
	if _, err := s.Client().PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatalf("put bucket policy on %s: %v", bucket, err)
	}
}
