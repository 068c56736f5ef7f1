package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

const (
	acct   = "111122223333"
	bucket = "flowlogs"
)

// newS3 returns an S3 source on the test server, with quick retries.
func newS3(t testing.TB, srv *testserver.S3Server, prefix string, mod ...func(*S3Config)) *S3 {
	t.Helper()
	cfg := S3Config{
		Name: "s3", Bucket: bucket, Prefix: prefix, Region: srv.Region, Endpoint: srv.Endpoint(), PathStyle: true,
		Credentials: S3Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey},
		MaxAttempts: 3, MaxBackoff: 100 * time.Millisecond,
	}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := NewS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// awsKey returns a key in the AWS layout: plain, or Hive-compatible with
// hourly partitions.
func awsKey(prefix, account, region string, hive bool, t time.Time, ext string) string {
	name := fmt.Sprintf("%s_vpcflowlogs_%s_fl-0123456789abcdef0_%s_%08x%s", account, region, t.Format("20060102T1504Z"), t.Unix(), ext)
	if hive {
		return fmt.Sprintf("%sAWSLogs/aws-account-id=%s/aws-service=vpcflowlogs/aws-region=%s/year=%s/month=%s/day=%s/hour=%s/%s",
			prefix, account, region, t.Format("2006"), t.Format("01"), t.Format("02"), t.Format("15"), name)
	}
	return fmt.Sprintf("%sAWSLogs/%s/vpcflowlogs/%s/%s/%s", prefix, account, region, t.Format("2006/01/02"), name)
}

const fullHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id flow-direction"

// gzipLog returns a gzipped flow log text: the header, then n records.
func gzipLog(t testing.TB, header string, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	fmt.Fprintln(zw, header)
	fields := strings.Fields(header)
	for i := range n {
		vals := map[string]string{
			"version": "5", "account-id": acct, "interface-id": fmt.Sprintf("eni-%04d", i%7), "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2",
			"srcport": "443", "dstport": fmt.Sprint(1024 + i%50000), "protocol": "6", "packets": "10", "bytes": fmt.Sprint(1000 + i),
			"start": "1764201600", "end": "1764201660", "action": "ACCEPT", "log-status": "OK", "vpc-id": "vpc-1", "flow-direction": "ingress",
		}
		line := make([]string, len(fields))
		for j, f := range fields {
			line[j] = vals[f]
		}
		fmt.Fprintln(zw, strings.Join(line, " "))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func keysOf(objs []Object) []string {
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	return keys
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// layoutObjects are flow logs in both layouts, under two destination
// prefixes, over several days, and objects that are not flow logs.
func layoutObjects(t testing.TB) map[string][]byte {
	data := gzipLog(t, fullHeader, 3)
	objs := map[string][]byte{}
	for _, d := range []string{"2026-10-31 23:55", "2026-11-25 10:00", "2026-11-26 00:05", "2026-11-27 13:40"} {
		tm := day(d)
		objs[awsKey("", acct, "us-east-1", false, tm, ".log.gz")] = data
		objs[awsKey("", "444455556666", "eu-west-1", false, tm, ".log.gz")] = data
		objs[awsKey("", acct, "eu-west-1", true, tm, ".log.parquet")] = data
		objs[awsKey("team-a/", acct, "us-east-1", false, tm, ".log")] = data
	}
	for _, k := range []string{
		"readme.txt",
		"AWSLogs/" + acct + "/CloudTrail/us-east-1/2026/11/27/trail.json.gz",
		"AWSLogs/" + acct + "/vpcflowlogs/us-east-1/2026/11/27/notes.txt",
		"AWSLogs/" + acct + "/vpcflowlogs/us-east-1/2026/11/27/half.log.gz.tmp",
		"other/x.log.gz", // a flow log name outside the layout
	} {
		objs[k] = []byte("x")
	}
	return objs
}

func TestS3List(t *testing.T) {
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	objs := layoutObjects(t)
	srv.PutAll(t, bucket, objs)
	want := func(prefix string) []string {
		var keys []string
		for k := range objs {
			if strings.HasPrefix(k, prefix) && IsFlowLog(k) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		return keys
	}
	f := func(prefix string, pageSize int32, wantN int) {
		t.Helper()
		s := newS3(t, srv, prefix, func(c *S3Config) { c.PageSize = pageSize })
		got, err := s.List(context.Background())
		if err != nil {
			t.Fatalf("List(prefix %q): %v", prefix, err)
		}
		if keys := keysOf(got); !slices.Equal(keys, want(prefix)) || len(keys) != wantN {
			t.Errorf("List(prefix %q, page %d) = %d keys %q, want %d", prefix, pageSize, len(keys), keys, wantN)
		}
		for _, o := range got {
			if len(o.Version) != 32 || strings.Contains(o.Version, `"`) || o.Size != int64(len(objs[o.Key])) || o.ModTime.IsZero() {
				t.Errorf("%s: version %q size %d time %v", o.Key, o.Version, o.Size, o.ModTime)
			}
		}
		if pageSize > 0 && s.ListRequests() < int64(wantN)/int64(pageSize) {
			t.Errorf("prefix %q: %d list requests for %d keys by %d", prefix, s.ListRequests(), wantN, pageSize)
		}
	}
	f("", 0, 17) // 16 in the layouts, other/x.log.gz
	f("", 2, 17)
	f("team-a/", 3, 4)
	f("AWSLogs/"+acct+"/", 0, 4)
	f("AWSLogs/aws-account-id=", 1, 4)
	f("nothing/", 0, 0)
}

func TestS3ListSince(t *testing.T) {
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	objs := layoutObjects(t)
	srv.PutAll(t, bucket, objs)
	f := func(prefix, since string, want ...string) {
		t.Helper()
		s := newS3(t, srv, prefix, func(c *S3Config) { c.PageSize = 2 })
		got, err := s.ListSince(context.Background(), day(since))
		if err != nil {
			t.Fatalf("ListSince(prefix %q, %s): %v", prefix, since, err)
		}
		slices.Sort(want)
		if keys := keysOf(got); !slices.Equal(keys, want) {
			t.Errorf("ListSince(prefix %q, %s) =\n%q\nwant\n%q", prefix, since, keys, want)
		}
	}
	last := day("2026-11-27 13:40")
	prev := day("2026-11-26 00:05")
	// Every layout and account; not team-a/ (another destination), not
	// other/.
	f("", "2026-11-27 00:00",
		awsKey("", acct, "us-east-1", false, last, ".log.gz"),
		awsKey("", "444455556666", "eu-west-1", false, last, ".log.gz"),
		awsKey("", acct, "eu-west-1", true, last, ".log.parquet"))
	// The time of day does not matter: whole days.
	f("", "2026-11-26 23:59",
		awsKey("", acct, "us-east-1", false, last, ".log.gz"),
		awsKey("", acct, "us-east-1", false, prev, ".log.gz"),
		awsKey("", "444455556666", "eu-west-1", false, last, ".log.gz"),
		awsKey("", "444455556666", "eu-west-1", false, prev, ".log.gz"),
		awsKey("", acct, "eu-west-1", true, last, ".log.parquet"),
		awsKey("", acct, "eu-west-1", true, prev, ".log.parquet"))
	f("team-a/", "2026-11-26 00:00", awsKey("team-a/", acct, "us-east-1", false, last, ".log"), awsKey("team-a/", acct, "us-east-1", false, prev, ".log"))
	f("team-a", "2026-11-27 00:00", awsKey("team-a/", acct, "us-east-1", false, last, ".log")) // a '/' is added
	// Prefixes inside the layout, complete or not.
	f("AWSLogs/"+acct+"/vpcflowlogs/", "2026-11-27 00:00", awsKey("", acct, "us-east-1", false, last, ".log.gz"))
	f("AWSLogs/4444", "2026-11-27 00:00", awsKey("", "444455556666", "eu-west-1", false, last, ".log.gz"))
	f("AWSLogs/aws-account-id="+acct+"/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/", "2026-11-27 00:00",
		awsKey("", acct, "eu-west-1", true, last, ".log.parquet"))
	f("AWSLogs/"+acct+"/vpcflowlogs/us-east-1/2026/10/", "2026-11-01 00:00") // a month before the day
	f("AWSLogs/"+acct+"/vpcflowlogs/us-east-1/2026/10/31/", "2026-10-01 00:00", awsKey("", acct, "us-east-1", false, day("2026-10-31 23:55"), ".log.gz"))
	// Month and year boundaries.
	var all []string
	for k := range objs {
		if _, region := KeyContext(k); region != "" && IsFlowLog(k) && strings.HasPrefix(k, "AWSLogs/") {
			all = append(all, k)
		}
	}
	f("", "2026-10-31 00:00", all...)
	f("", "2025-12-31 00:00", all...)
	f("", "2026-11-28 00:00")
}

func mustList(t testing.TB, s *S3) []Object {
	t.Helper()
	objs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestS3OpenDelete(t *testing.T) {
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	key := awsKey("", acct, "us-east-1", false, day("2026-11-27 10:00"), ".log.gz")
	srv.Put(t, bucket, key, []byte("first"))
	s := newS3(t, srv, "")
	ctx := context.Background()
	objs := mustList(t, s)
	if len(objs) != 1 {
		t.Fatalf("%d objects", len(objs))
	}
	old := objs[0]
	read := func(o Object) (string, error) {
		rc, err := s.Open(ctx, o)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	if got, err := read(old); err != nil || got != "first" {
		t.Fatalf("read = %q, %v", got, err)
	}
	if got, err := read(Object{Key: key}); err != nil || got != "first" {
		t.Fatalf("read without a version = %q, %v", got, err)
	}

	// Replaced: the listed version can be neither read nor deleted.
	srv.Put(t, bucket, key, []byte("second"))
	changed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrChanged) || Classify(err) != StatusChanged || !strings.Contains(err.Error(), "s3://"+bucket+"/"+key) {
			t.Errorf("%s of a replaced object: %v (%s), want ErrChanged naming the object", what, err, Classify(err))
		}
	}
	_, err := read(old)
	changed("open", err)
	_, _, err = s.OpenAt(ctx, old)
	changed("OpenAt", err)
	changed("delete", s.Delete(ctx, old))
	if keys := srv.Keys(t, bucket, ""); len(keys) != 1 {
		t.Fatalf("the replaced object was deleted: %q", keys)
	}

	cur := mustList(t, s)[0]
	if cur.Version == old.Version {
		t.Fatalf("same version %q after a replace", cur.Version)
	}
	if err := s.Delete(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Fatalf("not deleted: %q", keys)
	}
	// Gone: deleting again is fine, opening is not.
	for _, o := range []Object{cur, {Key: key}, {Key: "never/existed.log"}} {
		if err := s.Delete(ctx, o); err != nil {
			t.Errorf("delete of a missing object %+v: %v", o, err)
		}
	}
	_, err = read(cur)
	if !errors.Is(err, fs.ErrNotExist) || Classify(err) != StatusNotFound {
		t.Errorf("open of a missing object: %v (%s)", err, Classify(err))
	}
}

func TestS3Classify(t *testing.T) {
	srv := testserver.S3(t, testserver.S3IAM())
	srv.CreateBucket(t, bucket)
	srv.Put(t, bucket, "AWSLogs/a.log", []byte("x"))
	srv.CreateUser(t, "nobody", "nobody-secret")
	const secret = "s3cr3t-that-must-not-leak"
	f := func(name string, want Status, mod func(*S3Config)) {
		t.Helper()
		s := newS3(t, srv, "", mod)
		_, err := s.List(context.Background())
		if got := Classify(err); got != want {
			t.Errorf("%s: Classify = %s, want %s: %v", name, got, want, err)
		}
		var ae *AccessError
		if !errors.As(err, &ae) || ae.Status != want {
			t.Errorf("%s: not an *AccessError of %s: %#v", name, want, err)
			return
		}
		msg := err.Error()
		if !strings.Contains(msg, "list s3://") || strings.Contains(msg, secret) || strings.Contains(msg, srv.SecretKey) {
			t.Errorf("%s: message %q: want the operation and bucket, no secret", name, msg)
		}
		t.Logf("%s: %v", name, err)
	}
	f("wrong secret", StatusBadCredentials, func(c *S3Config) { c.Credentials.SecretAccessKey = secret })
	f("unknown key", StatusBadCredentials, func(c *S3Config) {
		c.Credentials = S3Credentials{AccessKeyID: "AKIAUNKNOWN0000", SecretAccessKey: secret}
	})
	f("missing bucket", StatusNoSuchBucket, func(c *S3Config) { c.Bucket = "no-such-bucket" })
	f("wrong region", StatusWrongRegion, func(c *S3Config) { c.Region = "eu-west-1" })
	f("denied", StatusAccessDenied, func(c *S3Config) {
		c.Credentials = S3Credentials{AccessKeyID: "nobody", SecretAccessKey: "nobody-secret"}
	})

	// No credentials anywhere in the default chain.
	noCredentials(t)
	s := newS3(t, srv, "", func(c *S3Config) { c.Credentials = S3Credentials{} })
	if _, err := s.List(context.Background()); Classify(err) != StatusNoCredentials {
		t.Errorf("no credentials: %s: %v", Classify(err), err)
	}
	// The default chain finds them in the environment.
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	s = newS3(t, srv, "", func(c *S3Config) { c.Credentials = S3Credentials{} })
	if objs, err := s.List(context.Background()); err != nil || len(objs) != 1 {
		t.Errorf("credentials from the environment: %v, %v", objs, err)
	}
}

// noCredentials empties the AWS default chain for the test.
func noCredentials(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials", "AWS_CONFIG_FILE": dir + "/config",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
	} {
		t.Setenv(k, v)
	}
}

func TestS3NewErrors(t *testing.T) {
	f := func(cfg S3Config, want string) {
		t.Helper()
		_, err := NewS3(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewS3(%+v) = %v, want an error with %q", cfg.Bucket, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "topsecret") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	f(S3Config{}, "bucket: required")
	f(S3Config{Bucket: "s3://b/p"}, "without s3://")
	f(S3Config{Bucket: "b", Credentials: S3Credentials{SecretAccessKey: "topsecret"}}, "go together")
	f(S3Config{Bucket: "b", Credentials: S3Credentials{ExternalID: "x"}}, "needs role_arn")
	f(S3Config{Bucket: "b", PageSize: 5000}, "page size")
}

// TestS3Retries stops the server while requests are on their way: they
// are retried until it is back.
func TestS3Retries(t *testing.T) {
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	key := awsKey("", acct, "us-east-1", false, day("2026-11-27 10:00"), ".log.gz")
	srv.Put(t, bucket, key, []byte("data"))
	s := newS3(t, srv, "", func(c *S3Config) { c.MaxAttempts = 40; c.MaxBackoff = 250 * time.Millisecond })
	ctx := context.Background()
	// restartAfter stops the server now and starts it again after d.
	restartAfter := func(d time.Duration) func() {
		srv.Kill()
		done := make(chan error, 1)
		go func() {
			time.Sleep(d)
			done <- srv.TryStart()
		}()
		return func() {
			t.Helper()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	wait := restartAfter(time.Second)
	start := time.Now()
	objs, err := s.List(ctx)
	wait()
	if err != nil || len(objs) != 1 {
		t.Fatalf("List across a restart: %v, %v", objs, err)
	}
	t.Logf("List waited %v for the server", time.Since(start).Round(time.Millisecond))

	wait = restartAfter(500 * time.Millisecond)
	rc, err := s.Open(ctx, objs[0])
	wait()
	if err != nil {
		t.Fatalf("Open across a restart: %v", err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "data" {
		t.Fatalf("read %q, %v", b, err)
	}

	wait = restartAfter(500 * time.Millisecond)
	err = s.Delete(ctx, objs[0])
	wait()
	if err != nil {
		t.Fatalf("Delete across a restart: %v", err)
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Errorf("left %q", keys)
	}

	// Without enough attempts, the error says it is worth retrying later.
	quick := newS3(t, srv, "", func(c *S3Config) { c.MaxAttempts = 2 })
	srv.Stop()
	_, err = quick.List(ctx)
	srv.Start()
	if Classify(err) != StatusTransient || !strings.Contains(err.Error(), "list s3://"+bucket+"/") {
		t.Errorf("List with the server down: %s: %v", Classify(err), err)
	}
}

// TestS3ResumeRead kills the server in the middle of a read: the read
// resumes where it stopped once the server is back, and the bytes are
// those of the object.
func TestS3ResumeRead(t *testing.T) {
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	data := make([]byte, 48<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>12)
	}
	key := awsKey("", acct, "us-east-1", false, day("2026-11-27 10:00"), ".log")
	srv.Put(t, bucket, key, data)
	s := newS3(t, srv, "", func(c *S3Config) { c.MaxAttempts = 40; c.MaxBackoff = 250 * time.Millisecond })
	o := mustList(t, s)[0]
	rc, err := s.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, rc, 1<<20); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	done := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		done <- srv.TryStart()
	}()
	n, err := io.Copy(h, rc)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("read after the kill: %v (at %d)", err, 1<<20+n)
	}
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("read %d bytes that differ from the object's", 1<<20+n)
	}
	if r := rc.(*s3Reader); r.resumes == 0 {
		t.Logf("the read did not need to resume (the kill came after the client had every byte)")
	} else {
		t.Logf("resumed %d times", r.resumes)
	}
}

// memSink keeps generated objects in memory.
type memSink struct {
	mu   sync.Mutex
	objs map[string][]byte
}

type memObject struct {
	bytes.Buffer
	key  string
	sink *memSink
}

func (m *memSink) Create(key string) (io.WriteCloser, error) {
	return &memObject{key: key, sink: m}, nil
}

func (o *memObject) Close() error {
	o.sink.mu.Lock()
	defer o.sink.mu.Unlock()
	o.sink.objs[o.key] = o.Bytes()
	return nil
}

// generated returns generated flow log objects.
func generated(t testing.TB, cfg generate.Config) map[string][]byte {
	t.Helper()
	sink := &memSink{objs: map[string][]byte{}}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	}
	if _, err := generate.Generate(cfg, sink); err != nil {
		t.Fatal(err)
	}
	return sink.objs
}

// TestS3Decode decodes objects of every encoding through the source, as
// the pipeline does, and compares with decoding them from memory.
func TestS3Decode(t *testing.T) {
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	v8, err := flowlog.ParseFormat("v8")
	if err != nil {
		t.Fatal(err)
	}
	objs := generated(t, generate.Config{Records: 60000, Seed: 1, Format: v8, Parquet: true, Hive: true, VPCs: 1})
	maps.Copy(objs, generated(t, generate.Config{Records: 20000, Seed: 2, VPCs: 1}))
	maps.Copy(objs, generated(t, generate.Config{Records: 5000, Seed: 3, Plain: true, VPCs: 1}))
	srv.PutAll(t, bucket, objs)
	s := newS3(t, srv, "", func(c *S3Config) { c.BlockSize = 64 << 10 })
	listed := mustList(t, s)
	if len(listed) != len(objs) {
		t.Fatalf("listed %d of %d objects", len(listed), len(objs))
	}
	sum := func(st *decode.Stats) [3]uint64 { return [3]uint64{uint64(st.Records), st.Bytes, st.Packets} }
	kinds := map[string]int{}
	for _, o := range listed {
		want, err := decode.Stream(o.Key, bytes.NewReader(objs[o.Key]), decode.Options{}, func(*flowlog.Record) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		rc, err := s.Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode.Stream(o.Key, rc, decode.Options{TempDir: t.TempDir()}, func(*flowlog.Record) error { return nil })
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		if sum(got) != sum(want) || got.Compression != want.Compression {
			t.Errorf("%s: %v %s through S3, %v %s from memory", o.Key, sum(got), got.Compression, sum(want), want.Compression)
		}
		kinds[got.Compression]++
		if sq, ok := rc.(*seqReader); ok {
			t.Logf("%s: %d bytes read with %d range GETs of %d KiB", o.Key, o.Size, sq.ranged.gets, s.cfg.BlockSize>>10)
		}
	}
	if len(kinds) != 3 {
		t.Errorf("encodings decoded: %v, want gzip, none and parquet", kinds)
	}
}

// TestS3ListMany lists more keys than one page holds.
func TestS3ListMany(t *testing.T) {
	if testing.Short() {
		t.Skip("puts 2500 objects")
	}
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	const n = 2500
	objs := map[string][]byte{}
	start := day("2026-11-20 00:00")
	for i := range n {
		objs[awsKey("", acct, "us-east-1", false, start.Add(time.Duration(i)*5*time.Minute), ".log.gz")] = []byte("x")
	}
	objs["AWSLogs/skip.txt"] = []byte("x")
	srv.PutAll(t, bucket, objs)
	f := func(pageSize int32, wantRequests int64) {
		t.Helper()
		s := newS3(t, srv, "", func(c *S3Config) { c.PageSize = pageSize })
		began := time.Now()
		got := mustList(t, s)
		took := time.Since(began)
		if len(got) != n || !slices.IsSortedFunc(got, func(a, b Object) int { return strings.Compare(a.Key, b.Key) }) {
			t.Fatalf("page size %d: %d objects, want %d sorted", pageSize, len(got), n)
		}
		if s.ListRequests() != wantRequests {
			t.Errorf("page size %d: %d requests, want %d", pageSize, s.ListRequests(), wantRequests)
		}
		t.Logf("List of %d objects, page size %d: %v in %d requests", n, pageSize, took.Round(time.Millisecond), s.ListRequests())
	}
	f(0, 3)
	f(100, 26)
	s := newS3(t, srv, "")
	began := time.Now()
	got, err := s.ListSince(context.Background(), start.AddDate(0, 0, 8)) // the last day and a half
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ListSince of the last %d objects: %v in %d requests", len(got), time.Since(began).Round(time.Millisecond), s.ListRequests())
	if want := n - 8*288; len(got) != want {
		t.Errorf("ListSince: %d objects, want %d", len(got), want)
	}
}

// TestS3Check runs the bucket test on good and bad buckets.
func TestS3Check(t *testing.T) {
	srv := testserver.S3(t, testserver.S3IAM(), testserver.S3Versioning())
	now := day("2026-11-27 15:00")
	logs := func(header string) map[string][]byte {
		return map[string][]byte{
			awsKey("", acct, "us-east-1", false, day("2026-11-27 13:40"), ".log.gz"): gzipLog(t, header, 5),
			awsKey("", acct, "us-east-1", true, day("2026-11-27 13:45"), ".log.gz"):  gzipLog(t, header, 5),
		}
	}
	good := logs(fullHeader)
	// Buckets, each with its objects.
	buckets := map[string]map[string][]byte{
		"good":       good,
		"empty":      {},
		"versioned":  good,
		"shared":     layoutObjects(t),
		"no-vpc":     logs("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"),
		"no-status":  logs("interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action vpc-id flow-direction"),
		"default-v2": logs(flowlog.DefaultFormat().String()),
		"headless":   {awsKey("", acct, "us-east-1", false, day("2026-11-27 13:40"), ".log"): []byte("2 " + acct + " eni-1 10.0.0.1 10.0.0.2 443 1024 6 10 1000 1764201600 1764201660 ACCEPT OK\n")},
		"denied":     good,
		"read-only":  good,
		"no-put":     good,
	}
	for name, objs := range buckets {
		srv.CreateBucket(t, name)
		srv.PutAll(t, name, objs)
	}
	srv.EnableVersioning(t, "versioned")
	srv.CreateUser(t, "reader", "reader-secret")
	srv.CreateUser(t, "ingester", "ingester-secret")
	policy := func(bucket, user string, actions ...string) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[%q]},"Action":["%s"],"Resource":["arn:aws:s3:::%s","arn:aws:s3:::%s/*"]}]}`,
			user, strings.Join(actions, `","`), bucket, bucket)
	}
	srv.PutBucketPolicy(t, "read-only", policy("read-only", "reader", "s3:ListBucket", "s3:GetObject"))
	srv.PutBucketPolicy(t, "no-put", policy("no-put", "ingester", "s3:ListBucket", "s3:GetObject", "s3:DeleteObject", "s3:GetBucketVersioning"))

	type want struct {
		results string            // the results in check order, "PASS PASS …"
		details map[string]string // check name → a part of its detail
	}
	allPass := "PASS PASS PASS PASS PASS PASS PASS PASS"
	f := func(name string, opts CheckOptions, w want, mod ...func(*S3Config)) {
		t.Helper()
		s := newS3(t, srv, "", append([]func(*S3Config){func(c *S3Config) { c.Bucket = name }}, mod...)...)
		opts.Now = now
		checks := s.Check(context.Background(), opts)
		var results []string
		var names []string
		for _, c := range checks {
			results = append(results, string(c.Result))
			names = append(names, c.Name)
			if strings.Contains(c.Detail, "-secret") || strings.Contains(c.Detail, "s3cr3t") {
				t.Errorf("%s: %s shows a secret: %s", name, c.Name, c.Detail)
			}
		}
		wantNames := []string{CheckCredentials, CheckBucket, CheckList, CheckGet, CheckVersioning, CheckDelete, CheckHeader, CheckOtherWriters}
		if !slices.Equal(names, wantNames) || strings.Join(results, " ") != w.results {
			t.Errorf("%s: results %s, want %s", name, strings.Join(results, " "), w.results)
		}
		for _, c := range checks {
			if part, ok := w.details[c.Name]; ok && !strings.Contains(c.Detail, part) {
				t.Errorf("%s: %s detail %q lacks %q", name, c.Name, c.Detail, part)
			}
		}
		if t.Failed() || testing.Verbose() {
			for _, c := range checks {
				t.Logf("%s: %-13s %s %s", name, c.Name, c.Result, c.Detail)
			}
		}
		worst := CheckPass
		for _, r := range []CheckResult{CheckWarn, CheckSkip, CheckFail} {
			if strings.Contains(w.results, string(r)) {
				worst = r
			}
		}
		if got := WorstResult(checks); got != worst {
			t.Errorf("%s: WorstResult %s, want %s", name, got, worst)
		}
		// The delete check leaves nothing behind.
		if strings.HasPrefix(name, "no-such") {
			return
		}
		for _, k := range srv.Keys(t, name, "") {
			if strings.Contains(k, markerPrefix) {
				t.Errorf("%s: the marker %s is left", name, k)
			}
		}
	}
	f("good", CheckOptions{}, want{allPass, map[string]string{
		CheckList: "2 flow logs", CheckDelete: "wrote and deleted the marker vpcflow-access-check-",
		CheckHeader: "has log-status, vpc-id, interface-id and flow-direction"}})
	f("empty", CheckOptions{}, want{"PASS PASS WARN WARN PASS PASS WARN PASS", map[string]string{CheckList: "no flow log yet"}})
	f("versioned", CheckOptions{}, want{"PASS PASS PASS PASS FAIL PASS PASS PASS", map[string]string{
		CheckVersioning: "noncurrent version", CheckDelete: "removed its 2 versions and delete markers"}})
	f("versioned", CheckOptions{KeepObjects: true}, want{allPass, map[string]string{CheckDelete: "not needed"}})
	f("shared", CheckOptions{}, want{"PASS PASS PASS PASS PASS PASS PASS WARN", map[string]string{
		CheckOtherWriters: "5 of the 21 keys", CheckList: "17 flow logs"}})
	f("shared", CheckOptions{MaxKeys: 5}, want{"PASS PASS PASS PASS PASS PASS PASS WARN", map[string]string{
		CheckList: "the first 6 keys", CheckOtherWriters: "the first 6 keys"}}, func(c *S3Config) { c.PageSize = 3 })
	f("shared", CheckOptions{}, want{allPass, nil}, func(c *S3Config) { c.Prefix = "team-a/" })
	f("no-vpc", CheckOptions{}, want{"PASS PASS PASS PASS PASS PASS WARN PASS", map[string]string{
		CheckHeader: "without vpc-id, these reports are empty: VPCs and exporters; without flow-direction, these reports are empty: traffic path"}})
	f("default-v2", CheckOptions{}, want{"PASS PASS PASS PASS PASS PASS WARN PASS", map[string]string{CheckHeader: "without vpc-id"}})
	f("no-status", CheckOptions{}, want{"PASS PASS PASS PASS PASS PASS FAIL PASS", map[string]string{
		CheckHeader: "the decoder rejects every object lacking log-status; without log-status, these reports are empty: log status"}})
	f("headless", CheckOptions{}, want{"PASS PASS PASS PASS PASS PASS WARN PASS", map[string]string{CheckHeader: "no header line"}})
	f("no-such-bucket", CheckOptions{}, want{"PASS FAIL SKIP SKIP SKIP SKIP SKIP SKIP", map[string]string{
		CheckBucket: `bucket "no-such-bucket" does not exist`, CheckList: "not run: the bucket check failed"}})
	f("good", CheckOptions{}, want{"PASS FAIL SKIP SKIP SKIP SKIP SKIP SKIP", map[string]string{CheckBucket: "S3 rejects the credentials"}},
		func(c *S3Config) { c.Credentials.SecretAccessKey = "wrong-s3cr3t" })
	f("good", CheckOptions{}, want{"PASS FAIL SKIP SKIP SKIP SKIP SKIP SKIP", map[string]string{
		CheckBucket: "the bucket is in region us-east-1, not eu-west-1"}}, func(c *S3Config) { c.Region = "eu-west-1" })
	f("denied", CheckOptions{}, want{"PASS WARN FAIL SKIP SKIP SKIP SKIP SKIP", map[string]string{
		CheckBucket: "exists, but HeadBucket is denied", CheckList: "not allowed s3:ListBucket"}},
		func(c *S3Config) {
			c.Credentials = S3Credentials{AccessKeyID: "reader", SecretAccessKey: "reader-secret"}
		})
	f("read-only", CheckOptions{}, want{"PASS PASS PASS PASS WARN FAIL PASS PASS", map[string]string{
		CheckVersioning: "s3:GetBucketVersioning", CheckDelete: "not allowed s3:DeleteObject"}},
		func(c *S3Config) {
			c.Credentials = S3Credentials{AccessKeyID: "reader", SecretAccessKey: "reader-secret"}
		})
	f("no-put", CheckOptions{}, want{allPass, map[string]string{CheckDelete: "checked on a key that does not exist"}},
		func(c *S3Config) {
			c.Credentials = S3Credentials{AccessKeyID: "ingester", SecretAccessKey: "ingester-secret"}
		})

	t.Run("no credentials", func(t *testing.T) {
		noCredentials(t)
		s := newS3(t, srv, "", func(c *S3Config) { c.Bucket = "good"; c.Credentials = S3Credentials{} })
		checks := s.Check(context.Background(), CheckOptions{Now: now})
		if checks[0].Result != CheckFail || !strings.Contains(checks[0].Detail, "the AWS default chain") || WorstResult(checks) != CheckFail {
			t.Errorf("no credentials: %+v", checks)
		}
	})
}

// faultProxy stands between the client and versitygw and spoils the first
// requests with fault.
type faultProxy struct {
	*httptest.Server
	faults   atomic.Int64 // requests still to spoil
	requests atomic.Int64
}

func newFaultProxy(t *testing.T, target string, fault func(w http.ResponseWriter, r *http.Request)) *faultProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u) // keeps the Host header the client signed
	p := &faultProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if p.faults.Add(-1) >= 0 {
			fault(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func s3Error(status int, code string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message><RequestId>r</RequestId></Error>`, code)
	}
}

// TestS3RetriesFaults checks that throttling, server errors, reset
// connections and timeouts are retried, and what is left when retries run
// out.
func TestS3RetriesFaults(t *testing.T) {
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	srv.Put(t, bucket, awsKey("", acct, "us-east-1", false, day("2026-11-27 10:00"), ".log.gz"), []byte("data"))
	reset := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
	slow := func(w http.ResponseWriter, r *http.Request) { time.Sleep(1500 * time.Millisecond) }
	f := func(name string, fault func(http.ResponseWriter, *http.Request), faults int64, want Status) {
		wantReq := min(faults+1, 4)
		if want.Access() {
			wantReq = 1
		}
		t.Helper()
		p := newFaultProxy(t, srv.Endpoint(), fault)
		p.faults.Store(faults)
		s := newS3(t, srv, "", func(c *S3Config) {
			c.Endpoint = p.URL
			c.MaxAttempts = 4
			c.MaxBackoff = 50 * time.Millisecond
			if name == "timeout" {
				c.ReadTimeout = 500 * time.Millisecond // the default is a minute
			}
		})
		objs, err := s.List(context.Background())
		if got := Classify(err); got != want {
			t.Errorf("%s ×%d: %s (%v), want %s", name, faults, got, err, want)
		}
		if err == nil && len(objs) != 1 {
			t.Errorf("%s ×%d: %d objects", name, faults, len(objs))
		}
		if err != nil && !strings.Contains(err.Error(), "list s3://"+bucket+"/") {
			t.Errorf("%s: the error does not name the bucket: %v", name, err)
		}
		if p.requests.Load() != wantReq {
			t.Errorf("%s ×%d: %d requests, want %d", name, faults, p.requests.Load(), wantReq)
		}
	}
	f("SlowDown", s3Error(503, "SlowDown"), 3, StatusOK)
	f("InternalError", s3Error(500, "InternalError"), 3, StatusOK)
	f("BadGateway", s3Error(502, "BadGateway"), 3, StatusOK)
	f("RequestTimeout", s3Error(400, "RequestTimeout"), 3, StatusOK)
	f("reset", reset, 3, StatusOK)
	f("timeout", slow, 2, StatusOK)
	f("SlowDown", s3Error(503, "SlowDown"), 10, StatusTransient)
	f("InternalError", s3Error(500, "InternalError"), 10, StatusTransient)
	f("reset", reset, 10, StatusTransient)
	f("timeout", slow, 10, StatusTransient)
	// Not retried: what the operator has to fix.
	f("AccessDenied", s3Error(403, "AccessDenied"), 1, StatusAccessDenied)
	f("PermanentRedirect", s3Error(301, "PermanentRedirect"), 1, StatusWrongRegion)
	f("InvalidAccessKeyId", s3Error(403, "InvalidAccessKeyId"), 1, StatusBadCredentials)
	f("ExpiredToken", s3Error(400, "ExpiredToken"), 1, StatusBadCredentials)
}

func TestClassify(t *testing.T) {
	f := func(err error, want Status) {
		t.Helper()
		if got := Classify(err); got != want {
			t.Errorf("Classify(%v) = %s, want %s", err, got, want)
		}
	}
	f(nil, StatusOK)
	f(context.Canceled, StatusCanceled)
	f(fmt.Errorf("list: %w", context.DeadlineExceeded), StatusTransient)
	f(fmt.Errorf("get: %w", ErrChanged), StatusChanged)
	f(&AccessError{Status: StatusWrongRegion}, StatusWrongRegion)
	f(fmt.Errorf("x: %w", &AccessError{Status: StatusNoSuchBucket}), StatusNoSuchBucket)
	f(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, StatusTransient)
	f(fmt.Errorf("read: %w", syscall.ECONNRESET), StatusTransient)
	f(io.ErrUnexpectedEOF, StatusTransient)
	f(errors.New("get identity: failed to refresh cached credentials, no EC2 IMDS role found"), StatusNoCredentials)
	f(errors.New("something else"), StatusOther)
	for _, s := range []Status{StatusAccessDenied, StatusNoSuchBucket, StatusWrongRegion, StatusBadCredentials, StatusNoCredentials} {
		if !s.Access() || s.Transient() {
			t.Errorf("%s: Access %v, Transient %v", s, s.Access(), s.Transient())
		}
	}
	if StatusTransient.Access() || !StatusTransient.Transient() || StatusChanged.Access() {
		t.Error("transient or changed taken for an access problem")
	}
}

func TestMaskKey(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := maskKey(in); got != want {
			t.Errorf("maskKey(%q) = %q, want %q", in, got, want)
		}
	}
	f("AKIAIOSFODNN7EXAMPLE", "AKIA…MPLE")
	f("short", "…")
	f("", "…")
}

// fakeSTS answers AssumeRole with the given credentials, or with
// AccessDenied when they are empty, and records the requests' forms. The
// session token is empty: versitygw refuses tokens it did not issue.
func fakeSTS(t *testing.T, access, secret string) (*httptest.Server, *[]url.Values) {
	var (
		mu    sync.Mutex
		forms []url.Values
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		forms = append(forms, r.PostForm)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		if access == "" {
			w.WriteHeader(403)
			fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: sts:AssumeRole</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
			return
		}
		fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken></SessionToken><Expiration>%s</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/flowlogs/vpcflow-collector</Arn><AssumedRoleId>AROA:vpcflow-collector</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`, access, secret, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(srv.Close)
	return srv, &forms
}

// TestS3AssumeRole assumes a role (through a fake STS) with an external id.
func TestS3AssumeRole(t *testing.T) {
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	srv.Put(t, bucket, awsKey("", acct, "us-east-1", false, day("2026-11-27 10:00"), ".log.gz"), []byte("data"))
	const role = "arn:aws:iam::111122223333:role/flowlogs"
	f := func(name string, sts *httptest.Server, forms *[]url.Values, creds S3Credentials, want Status) {
		t.Helper()
		t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
		s := newS3(t, srv, "", func(c *S3Config) { c.Credentials = creds })
		_, err := s.List(context.Background())
		if got := Classify(err); got != want {
			t.Errorf("%s: %s (%v), want %s", name, got, err, want)
		}
		if len(*forms) == 0 {
			t.Fatalf("%s: STS not asked", name)
		}
		form := (*forms)[0]
		if form.Get("Action") != "AssumeRole" || form.Get("RoleArn") != role || form.Get("ExternalId") != creds.ExternalID || form.Get("RoleSessionName") != "vpcflow-collector" {
			t.Errorf("%s: AssumeRole form %v", name, form)
		}
		checks := s.Check(context.Background(), CheckOptions{})
		if c := checks[0]; (c.Result == CheckPass) != (want == StatusOK) || !strings.Contains(c.Detail, "role "+role) {
			t.Errorf("%s: credentials check %+v", name, c)
		}
	}
	noCredentials(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIABASE0000000000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "base-secret")
	sts, forms := fakeSTS(t, srv.AccessKey, srv.SecretKey)
	f("assumed", sts, forms, S3Credentials{RoleARN: role, ExternalID: "ext-42"}, StatusOK)
	sts, forms = fakeSTS(t, "", "")
	f("denied", sts, forms, S3Credentials{RoleARN: role}, StatusNoCredentials)
	sts, forms = fakeSTS(t, srv.AccessKey, srv.SecretKey)
	f("static then role", sts, forms, S3Credentials{AccessKeyID: "AKIASTATIC00000000", SecretAccessKey: "static-secret", RoleARN: role, ExternalID: "x"}, StatusOK)
}

func TestS3CredentialsString(t *testing.T) {
	c := S3Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI", SessionToken: "FwoGZXIvYXdzE", RoleARN: "arn:aws:iam::1:role/r", ExternalID: "ext-9"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", S3Config{Credentials: c}), fmt.Sprintf("%#v", S3Config{Credentials: c})} {
		if strings.Contains(s, "wJalr") || strings.Contains(s, "FwoGZ") || strings.Contains(s, "ext-9") || strings.Contains(s, "IOSFODNN") {
			t.Errorf("printed credentials show a secret: %s", s)
		}
		if !strings.Contains(s, "AKIA…MPLE") || !strings.Contains(s, "role arn:aws:iam::1:role/r") {
			t.Errorf("printed credentials lack the key's ends or the role: %s", s)
		}
	}
	if got := fmt.Sprint(S3Credentials{}); got != "{the AWS default chain}" {
		t.Errorf("empty credentials print as %s", got)
	}
}
