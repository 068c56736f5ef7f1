package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// maxResumes bounds how often one object's reading resumes after a broken
// connection (each resume is itself a request with the retryer's
// attempts).
const maxResumes = 8

// s3Reader streams an object with one GET, resuming with a range GET of
// the same ETag where a broken connection stopped it.
type s3Reader struct {
	s    *S3
	ctx  context.Context
	key  string
	etag string // "" until the first answer when no version was listed

	body    io.ReadCloser
	off     int64 // bytes delivered
	size    int64 // -1 until known
	resumes int
	err     error // sticky
}

// open sends the GET (a range GET from off after the first), with If-Match.
func (r *s3Reader) open() error {
	in := &s3.GetObjectInput{Bucket: aws.String(r.s.cfg.Bucket), Key: aws.String(r.key), IfMatch: quoted(r.etag)}
	if r.off > 0 {
		in.Range = aws.String("bytes=" + strconv.FormatInt(r.off, 10) + "-")
	}
	out, err := r.s.client.GetObject(r.ctx, in)
	if err != nil {
		if r.off > 0 {
			return r.s.wrapErr("get", r.key, fmt.Errorf("resume at byte %d: %w", r.off, err))
		}
		return r.s.wrapErr("get", r.key, err)
	}
	if r.etag == "" {
		r.etag = strings.Trim(aws.ToString(out.ETag), `"`)
	}
	if r.size < 0 && out.ContentLength != nil {
		r.size = r.off + *out.ContentLength
	}
	r.body = out.Body
	return nil
}

// Read reads the body, resuming after a broken connection.
func (r *s3Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		if r.body == nil {
			if err := r.open(); err != nil {
				r.err = err
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, io.EOF) && (r.size < 0 || r.off >= r.size):
			r.err = io.EOF
			return n, io.EOF
		case r.ctx.Err() != nil:
			r.err = fmt.Errorf("get s3://%s/%s at byte %d: %w", r.s.cfg.Bucket, r.key, r.off, r.ctx.Err())
			return n, r.err
		case !resumable(err):
			// Such as a checksum mismatch: reading again cannot help.
			r.err = fmt.Errorf("get s3://%s/%s at byte %d: %w", r.s.cfg.Bucket, r.key, r.off, err)
			return n, r.err
		case r.size >= 0 && r.off >= r.size:
			// Every byte arrived; the connection broke after them.
			r.err = io.EOF
			return n, io.EOF
		}
		r.body.Close()
		r.body = nil
		if r.resumes++; r.resumes > maxResumes {
			r.err = fmt.Errorf("get s3://%s/%s at byte %d: %w (the connection broke %d times)", r.s.cfg.Bucket, r.key, r.off, err, r.resumes)
			return n, r.err
		}
		if n > 0 {
			return n, nil
		}
	}
}

// resumable reports whether a read of a body failed for the connection
// (reset, closed early, timed out), so that reading again from where it
// stopped may work.
func resumable(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || transientNetError(err) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// Close closes the current body.
func (r *s3Reader) Close() error {
	if r.err == nil {
		r.err = errors.New("read after close")
	}
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}

// maxCachedBlocks bounds the blocks a rangeReader keeps: a Parquet reader
// reads a few column chunks of a row group side by side.
const maxCachedBlocks = 16

// rangeReader reads an object at random offsets with range GETs of whole
// blocks, keeping the most recently used ones. It is safe for concurrent
// use.
type rangeReader struct {
	s         *S3
	ctx       context.Context
	key, etag string
	size      int64
	blockSize int64

	mu     sync.Mutex
	blocks map[int64]*block
	tick   uint64
	gets   int // range GETs sent, for tests
}

type block struct {
	data []byte
	used uint64
}

// openAt checks the object's ETag and size with a HeadObject (If-Match) and
// returns a rangeReader over it.
func (s *S3) openAt(ctx context.Context, o Object) (*rangeReader, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s.cfg.Bucket), Key: aws.String(o.Key), IfMatch: quoted(o.Version),
	})
	if err != nil {
		return nil, s.wrapErr("get", o.Key, err)
	}
	etag := o.Version
	if etag == "" {
		etag = strings.Trim(aws.ToString(out.ETag), `"`)
	}
	return &rangeReader{
		s: s, ctx: ctx, key: o.Key, etag: etag, size: aws.ToInt64(out.ContentLength),
		blockSize: s.cfg.BlockSize, blocks: map[int64]*block{},
	}, nil
}

// ReadAt reads len(p) bytes at off, or fewer with io.EOF at the end.
func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("get s3://%s/%s: negative offset %d", r.s.cfg.Bucket, r.key, off)
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= r.size {
			return n, io.EOF
		}
		idx := at / r.blockSize
		data, err := r.block(idx)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], data[at-idx*r.blockSize:])
	}
	return n, nil
}

// Size returns the object's size.
func (r *rangeReader) Size() int64 { return r.size }

// block returns block idx, from the cache or with a range GET.
func (r *rangeReader) block(idx int64) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tick++
	if b, ok := r.blocks[idx]; ok {
		b.used = r.tick
		return b.data, nil
	}
	start := idx * r.blockSize
	end := min(start+r.blockSize, r.size) // exclusive
	data := make([]byte, end-start)
	var err error
	for attempt := 0; attempt <= maxResumes; attempt++ {
		if err = r.fetch(data, start); err == nil || !resumable(err) || r.ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if len(r.blocks) >= maxCachedBlocks {
		var oldest int64
		var used uint64
		for i, b := range r.blocks {
			if used == 0 || b.used < used {
				oldest, used = i, b.used
			}
		}
		delete(r.blocks, oldest)
	}
	r.blocks[idx] = &block{data: data, used: r.tick}
	return data, nil
}

// fetch reads len(data) bytes at start with one range GET.
func (r *rangeReader) fetch(data []byte, start int64) error {
	r.gets++
	rng := fmt.Sprintf("bytes=%d-%d", start, start+int64(len(data))-1)
	out, err := r.s.client.GetObject(r.ctx, &s3.GetObjectInput{
		Bucket: aws.String(r.s.cfg.Bucket), Key: aws.String(r.key), IfMatch: quoted(r.etag), Range: aws.String(rng),
	})
	if err != nil {
		if Classify(err) == StatusTransient {
			return fmt.Errorf("get s3://%s/%s %s: %w", r.s.cfg.Bucket, r.key, rng, err)
		}
		return r.s.wrapErr("get", r.key, err)
	}
	defer out.Body.Close()
	if _, err := io.ReadFull(out.Body, data); err != nil {
		return fmt.Errorf("get s3://%s/%s %s: %w", r.s.cfg.Bucket, r.key, rng, err)
	}
	return nil
}

// seqReader reads a rangeReader from start to end too; it has ReadAt and
// Size for the decoder's Parquet reading.
type seqReader struct {
	ranged *rangeReader
	off    int64
}

// Read reads the next bytes.
func (q *seqReader) Read(p []byte) (int, error) {
	n, err := q.ranged.ReadAt(p, q.off)
	q.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil
	}
	return n, err
}

// ReadAt reads at an offset (see rangeReader).
func (q *seqReader) ReadAt(p []byte, off int64) (int, error) { return q.ranged.ReadAt(p, off) }

// Size returns the object's size.
func (q *seqReader) Size() int64 { return q.ranged.size }

// Close drops the cached blocks.
func (q *seqReader) Close() error {
	q.ranged.mu.Lock()
	q.ranged.blocks = map[int64]*block{}
	q.ranged.mu.Unlock()
	return nil
}
