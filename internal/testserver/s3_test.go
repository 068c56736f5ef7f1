package testserver

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func get(t *testing.T, c *s3.Client, bucket, key string) (string, error) {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestS3(t *testing.T) {
	srv := S3(t)
	srv.CreateBucket(t, "logs")
	etag := srv.Put(t, "logs", "a/1.log", []byte("one"))
	if etag == "" || strings.Contains(etag, `"`) {
		t.Errorf("Put returned ETag %q", etag)
	}
	srv.PutAll(t, "logs", map[string][]byte{"a/2.log": []byte("two"), "b/3.log": []byte("three")})
	if got, want := srv.Keys(t, "logs", ""), []string{"a/1.log", "a/2.log", "b/3.log"}; !slices.Equal(got, want) {
		t.Errorf("keys %q, want %q", got, want)
	}
	if got := srv.Keys(t, "logs", "a/"); len(got) != 2 {
		t.Errorf("keys under a/: %q", got)
	}
	c := srv.Client()
	if got, err := get(t, c, "logs", "b/3.log"); err != nil || got != "three" {
		t.Errorf("get b/3.log = %q, %v", got, err)
	}

	// A wrong secret and a missing bucket are told apart.
	if _, err := get(t, srv.ClientFor(srv.AccessKey, "wrong"), "logs", "a/1.log"); apiCode(err) != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := get(t, c, "nope", "a/1.log"); apiCode(err) != "NoSuchBucket" {
		t.Errorf("missing bucket: %v", err)
	}

	// Stop, Kill and Start keep the port and the data.
	endpoint := srv.Endpoint()
	srv.Stop()
	if srv.Running() {
		t.Fatal("running after Stop")
	}
	if _, err := c.ListBuckets(context.Background(), &s3.ListBucketsInput{}); err == nil {
		t.Error("listing works after Stop")
	}
	srv.Stop() // no-op
	srv.Start()
	if srv.Endpoint() != endpoint {
		t.Errorf("endpoint after restart %s, want %s", srv.Endpoint(), endpoint)
	}
	srv.Kill()
	srv.Start()
	if got, err := get(t, c, "logs", "a/1.log"); err != nil || got != "one" {
		t.Errorf("get a/1.log after restarts = %q, %v", got, err)
	}
	srv.Delete(t, "logs", "a/1.log")
	if got := srv.Keys(t, "logs", ""); len(got) != 2 {
		t.Errorf("keys after a delete: %q", got)
	}
	if tail := srv.LogTail(); !strings.Contains(tail, "starting on") {
		t.Errorf("log tail lacks our marker:\n%s", tail)
	}
}

func TestS3Versioning(t *testing.T) {
	srv := S3(t, S3Versioning())
	srv.CreateBucket(t, "logs")
	srv.EnableVersioning(t, "logs")
	out, err := srv.Client().GetBucketVersioning(context.Background(), &s3.GetBucketVersioningInput{Bucket: aws.String("logs")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != s3types.BucketVersioningStatusEnabled {
		t.Errorf("versioning status %q", out.Status)
	}
	srv.Put(t, "logs", "k.log", []byte("v1"))
	srv.Put(t, "logs", "k.log", []byte("v2"))
	srv.Delete(t, "logs", "k.log")
	vs, err := srv.Client().ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String("logs")})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs.Versions) != 2 || len(vs.DeleteMarkers) != 1 {
		t.Errorf("%d versions and %d delete markers, want 2 and 1", len(vs.Versions), len(vs.DeleteMarkers))
	}
}

func TestS3IAM(t *testing.T) {
	srv := S3(t, S3IAM())
	srv.CreateBucket(t, "logs")
	srv.Put(t, "logs", "k.log", []byte("data"))
	srv.CreateUser(t, "reader", "reader-secret")
	reader := srv.ClientFor("reader", "reader-secret")
	if _, err := get(t, reader, "logs", "k.log"); apiCode(err) != "AccessDenied" {
		t.Fatalf("user without a grant reads: %v", err)
	}
	srv.PutBucketPolicy(t, "logs", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["reader"]},
		"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/*"]}]}`)
	if got, err := get(t, reader, "logs", "k.log"); err != nil || got != "data" {
		t.Errorf("user with a read grant: %q, %v", got, err)
	}
	_, err := reader.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("logs"), Key: aws.String("k.log")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("user without a delete grant deletes: %v", err)
	}
}

func TestS3Options(t *testing.T) {
	srv := S3(t, S3Credentials("ak", "sk"), S3RegionOption("eu-west-1"))
	if srv.AccessKey != "ak" || srv.SecretKey != "sk" || srv.Region != "eu-west-1" {
		t.Fatalf("options not applied: %+v", srv)
	}
	srv.CreateBucket(t, "bkt")
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint()), UsePathStyle: true,
		Credentials: srv.Client().Options().Credentials})
	_, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("bkt")})
	if apiCode(err) != "AuthorizationHeaderMalformed" {
		t.Errorf("request signed for another region: %v", err)
	}
}
