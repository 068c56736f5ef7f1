package devtools

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpcflow/vpcflow/internal/launch"
	"github.com/vpcflow/vpcflow/internal/tools"
)

// s3Server is a versitygw started by a mage target (the benchmark, the
// demo), on a free loopback port with its posix data in a folder.
type s3Server struct {
	url, access, secret string
	dir                 string // the posix backend's root: a folder per bucket
	p                   *launch.Process
}

// startS3 starts the pinned versitygw (installed first if missing) with its
// data and log under dir.
func startS3(ctx context.Context, dir string) (*s3Server, error) {
	if err := tools.EnsureTools(ctx, "versitygw"); err != nil {
		return nil, err
	}
	bin, err := tools.ToolPath("versitygw")
	if err != nil {
		return nil, err
	}
	s := &s3Server{access: "vpcflowdemo", secret: "vpcflow-demo-secret-key", dir: launch.VersitygwRoot(dir)}
	s.p, err = launch.StartVersitygw(ctx, bin, dir, launch.VersitygwOptions{Access: s.access, Secret: s.secret})
	if err != nil {
		return nil, fmt.Errorf("start versitygw: %w\n%s", err, launch.LogNote(s.p))
	}
	s.url = s.p.URL()
	return s, nil
}

func (s *s3Server) stop() { s.p.Stop() }

func (s *s3Server) client() *s3.Client {
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(s.url),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(s.access, s.secret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
}

// upload creates bucket if needed and puts the files under dir into it,
// keyed by their paths relative to dir.
func (s *s3Server) upload(ctx context.Context, bucket, dir string) error {
	c := s.client()
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			return fmt.Errorf("create bucket %s: %w", bucket, err)
		}
	}
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	return s.put(ctx, bucket, dir, files)
}

// put uploads files (under dir) into bucket, eight at a time.
func (s *s3Server) put(ctx context.Context, bucket, dir string, files []string) error {
	c := s.client()
	work := make(chan string)
	var mu sync.Mutex
	var failed error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for f := range work {
				err := func() error {
					data, err := os.ReadFile(f)
					if err != nil {
						return err
					}
					rel, _ := filepath.Rel(dir, f)
					_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(filepath.ToSlash(rel)),
						Body: io.ReadSeeker(bytes.NewReader(data))})
					if err != nil {
						return fmt.Errorf("put %s: %w", rel, err)
					}
					return nil
				}()
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		})
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
	return failed
}
