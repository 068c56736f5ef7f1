package testserver

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vpcflow/vpcflow/internal/tools"
)

// Default credentials and region of an S3Server.
const (
	S3AccessKey = "vpcflow-test"
	S3SecretKey = "vpcflow-test-secret"
	S3Region    = "us-east-1"
)

// s3HealthPath is the path versitygw answers 200 on, without
// authentication, once it serves requests.
const s3HealthPath = "/vpcflow-health"

// S3Server is a versitygw S3 gateway with the posix backend run by a test:
// buckets are folders of Dir, objects are files in them.
type S3Server struct {
	// AccessKey and SecretKey are the root user's credentials; Region is
	// the region the gateway expects requests to be signed for.
	AccessKey, SecretKey, Region string
	// Dir is the posix backend's root: one folder per bucket.
	Dir string

	t       testing.TB
	bin     string
	args    []string // every argument but --port
	addr    string
	logPath string
	iam     bool

	mu  sync.Mutex
	run *run // nil when stopped
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
	bin, err := tools.ToolPath("versitygw")
	if err != nil {
		t.Fatalf("find versitygw: %v", err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(RequireServersEnv) == "1" {
			t.Fatalf("versitygw is not installed at %s (%s=1): run `go tool mage tools`", bin, RequireServersEnv)
		}
		t.Skipf("versitygw is not installed at %s: run `go tool mage tools` to install versitygw", bin)
	}
	dir := t.TempDir()
	s := &S3Server{
		AccessKey: o.access,
		SecretKey: o.secret,
		Region:    o.region,
		Dir:       filepath.Join(dir, "data"),
		t:         t,
		bin:       bin,
		logPath:   filepath.Join(dir, "versitygw.log"),
		iam:       o.iam,
	}
	mkdir := func(p string) string {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatalf("start versitygw: %v", err)
		}
		return p
	}
	mkdir(s.Dir)
	s.args = []string{"--health", s3HealthPath, "--region", o.region, "--quiet"}
	if o.iam {
		s.args = append(s.args, "--iam-dir", mkdir(filepath.Join(dir, "iam")))
	}
	s.args = append(s.args, "posix")
	if o.versioning {
		s.args = append(s.args, "--versioning-dir", mkdir(filepath.Join(dir, "versions")))
	}
	s.args = append(s.args, s.Dir)
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("versitygw log tail (%s):\n%s", s.logPath, s.LogTail())
		}
	})
	// A free port may be taken between our probe and versitygw's listen:
	// try a second one before giving up.
	for attempt := 1; ; attempt++ {
		port, err := tools.FreePort()
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		s.addr = "127.0.0.1:" + strconv.Itoa(port)
		err = s.TryStart()
		if err == nil {
			return s
		}
		if attempt == 2 || !s.bindFailed() {
			t.Fatalf("start versitygw: %v\nlog tail (%s):\n%s", err, s.logPath, s.LogTail())
		}
	}
}

// Endpoint returns the gateway's base URL, http://127.0.0.1:PORT, the same
// across Stop and Start.
func (s *S3Server) Endpoint() string { return "http://" + s.addr }

// Start starts versitygw again after Stop or Kill, on the same port and
// folder. Call it from the test's goroutine: it fails the test on error.
func (s *S3Server) Start() {
	s.t.Helper()
	if err := s.TryStart(); err != nil {
		s.t.Fatalf("restart versitygw: %v\nlog tail (%s):\n%s", err, s.logPath, s.LogTail())
	}
}

// TryStart is Start returning its error instead of failing the test: use
// it from other goroutines (restarting a server while a client retries).
func (s *S3Server) TryStart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != nil {
		return fmt.Errorf("versitygw at %s is already running", s.addr)
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fmt.Fprintf(logFile, "=== vpcflow testserver: starting on %s\n", s.addr)
	cmd := exec.Command(s.bin, append([]string{"--port", s.addr}, s.args...)...)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.AccessKey, "ROOT_SECRET_ACCESS_KEY="+s.SecretKey)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	r := &run{cmd: cmd, exited: make(chan struct{})}
	s.run = r
	go func() {
		r.err = cmd.Wait()
		logFile.Close()
		close(r.exited)
	}()
	if err := s.waitReady(r); err != nil {
		s.stopLocked(false)
		return err
	}
	return nil
}

// waitReady polls the health path until it answers 200, the process exits,
// or healthTimeout passes.
func (s *S3Server) waitReady(r *run) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(healthTimeout)
	for {
		resp, err := client.Get(s.Endpoint() + s3HealthPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-r.exited:
			return fmt.Errorf("versitygw on %s exited before it was ready: %v", s.addr, r.err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw on %s not ready after %s: GET %s: %v", s.addr, healthTimeout, s3HealthPath, err)
		}
	}
}

// bindFailed reports whether the log says the listen address was taken.
func (s *S3Server) bindFailed() bool {
	return strings.Contains(s.LogTail(), "address already in use")
}

// Stop stops versitygw gracefully (SIGTERM, then SIGKILL after 5 s),
// keeping its folder for Start. Stopping a stopped server does nothing.
func (s *S3Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(false)
}

// Kill stops versitygw with SIGKILL, cutting the connections it serves:
// a server dying mid-request. Start brings it back.
func (s *S3Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(true)
}

func (s *S3Server) stopLocked(kill bool) {
	r := s.run
	if r == nil {
		return
	}
	s.run = nil
	if kill {
		_ = r.cmd.Process.Kill()
		<-r.exited
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(stopTimeout):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// Running reports whether the versitygw process is running.
func (s *S3Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.run != nil
}

// LogTail returns the last lines of versitygw's log (all runs of it).
func (s *S3Server) LogTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

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
