// Package decode streams AWS VPC flow log objects into flowlog.Records: text
// objects with or without gzip (detected by magic bytes, not by name) and
// Parquet objects. Decoding runs in constant memory whatever the object's
// size, skips and samples bad lines, and fails an object as a whole, with an
// *ObjectError naming it and the byte offset, when it cannot be read to its
// end.
package decode

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// Options tune decoding. The zero value is ready to use. With its yaml
// tags it is the collector configuration's decode section (the bounds of
// what one object may decode to); the format is each source's.
type Options struct {
	// Format decodes text objects that have no header line; nil means the
	// AWS default format (version 2).
	Format *flowlog.Format `yaml:"-"`
	// MaxLineBytes is the longest text line accepted; longer lines are
	// skipped as bad. Zero means DefaultMaxLineBytes.
	MaxLineBytes int `yaml:"-"`
	// MaxSamples is how many bad lines per object are kept as samples.
	// Zero means DefaultMaxSamples; negative keeps none.
	MaxSamples int `yaml:"-"`
	// TempDir is where a Parquet object read from a stream that cannot seek
	// is spooled; empty means os.TempDir().
	TempDir string `yaml:"-"`
	// MaxObjectBytes bounds what one object may decode to: its text after
	// decompression, or what a Parquet object's pages declare (their
	// uncompressed sizes, and at least 16 bytes a value). An object beyond it
	// fails as a whole (TooLarge). Zero means DefaultMaxObjectBytes;
	// negative means no bound.
	MaxObjectBytes int64 `yaml:"max_object_bytes"`
	// MaxExpansion bounds how many times its stored size an object may
	// decode to, once it decodes to more than ExpansionFloor bytes: a gzip
	// object that inflates a thousandfold is a decompression bomb, not a
	// flow log. Zero means DefaultMaxExpansion; negative means no bound.
	MaxExpansion int64 `yaml:"max_expansion"`
}

// Defaults for Options.
const (
	DefaultMaxLineBytes = 32 << 10
	DefaultMaxSamples   = 5
	// DefaultMaxObjectBytes is 16 GiB: AWS closes a flow log file at 75 MB
	// (gzip flow logs compress 5 to 15 times), and the project's own
	// benchmark decodes a 1 GiB object holding 8.3 GiB of text.
	DefaultMaxObjectBytes = 16 << 30
	// DefaultMaxExpansion is 200: gzip flow logs expand 5 to 15 times,
	// deflate at most about 1,030 times.
	DefaultMaxExpansion = 200
	// ExpansionFloor is the decoded size under which MaxExpansion does not
	// apply, so that a small, very repetitive object is never refused.
	ExpansionFloor = 64 << 20
)

// readBufferSize is the size of the buffer over the source: what the inflater
// reads from, or what plain text is pushed to the line splitter in.
const readBufferSize = 256 << 10

func (o Options) withDefaults() Options {
	if o.Format == nil {
		o.Format = flowlog.DefaultFormat()
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.MaxSamples == 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	if o.MaxSamples < 0 {
		o.MaxSamples = 0
	}
	if o.MaxObjectBytes == 0 {
		o.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if o.MaxExpansion == 0 {
		o.MaxExpansion = DefaultMaxExpansion
	}
	return o
}

// decodeLimit returns how many bytes an object of stored bytes may decode
// to, and says why in a few words; the bytes are -1 for no bound.
func (o *Options) decodeLimit(stored int64) (int64, string) {
	limit, why := int64(-1), ""
	if o.MaxObjectBytes > 0 {
		limit, why = o.MaxObjectBytes, fmt.Sprintf("the limit of %d bytes an object (Options.MaxObjectBytes)", o.MaxObjectBytes)
	}
	if o.MaxExpansion > 0 && stored < (1<<62)/o.MaxExpansion {
		if e := max(ExpansionFloor, o.MaxExpansion*stored); limit < 0 || e < limit {
			limit, why = e, fmt.Sprintf("%d times its stored size of %d bytes (Options.MaxExpansion)", o.MaxExpansion, stored)
		}
	}
	return limit, why
}

// Func receives each good record of an object. The record and every byte
// slice it holds are reused for the next record: copy what must be kept.
// Returning an error stops decoding; Stream returns that error unchanged.
type Func func(r *flowlog.Record) error

// Stream decodes the object read from r, naming it name in errors and
// samples, and calls fn for each good record. It detects gzip and Parquet by
// their magic bytes; anything else is plain text. A Parquet object needs
// random access: when r is not an *os.File or does not have ReadAt and Size
// (like *bytes.Reader and *io.SectionReader), it is spooled to a temporary
// file first.
//
// The returned Stats are never nil; when the error is an *ObjectError the
// object failed as a whole and none of the records fn saw may count. Other
// errors come from the source (worth a retry) or from fn.
func Stream(name string, r io.Reader, opts Options, fn Func) (*Stats, error) {
	opts = opts.withDefaults()
	st := &Stats{}
	st.begin(name)
	defer st.end()

	src := &countingReader{r: r}
	bufs := getBuffers()
	defer bufs.release()
	br := bufs.src
	br.Reset(src)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		st.Compression = "gzip"
		return st, decodeText(name, src, bufs, true, &opts, st, fn)
	case bytes.Equal(magic, parquetMagic):
		st.Compression = "parquet"
		return st, decodeParquetStream(name, r, src, br, &opts, st, fn)
	}
	st.Compression = "none"
	return st, decodeText(name, src, bufs, false, &opts, st, fn)
}

// File decodes the object stored in the file at path.
func File(path string, opts Options, fn Func) (*Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		st := &Stats{Object: path}
		return st, fmt.Errorf("open flow log: %w", err)
	}
	defer f.Close()
	return Stream(path, f, opts, fn)
}

// buffers are the read buffers of one Stream call, reused by later calls:
// decoding many small objects must not cost an allocation of each.
type buffers struct {
	src   *bufio.Reader // over the source
	zr    *gzip.Reader  // reset for each gzip object
	carry []byte        // the text decoder's buffer for lines cut by a chunk boundary
}

var bufferPool = sync.Pool{New: func() any {
	return &buffers{src: bufio.NewReaderSize(nil, readBufferSize)}
}}

func getBuffers() *buffers { return bufferPool.Get().(*buffers) }

func (b *buffers) release() {
	b.src.Reset(nil)
	bufferPool.Put(b)
}

// countingReader counts the bytes read from the source and remembers the
// source's own error, so that a failed read is told apart from a damaged
// object.
type countingReader struct {
	r   io.Reader
	n   int64
	err error // first error other than io.EOF returned by r
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// sourceError wraps a failed read of the source: not the object's fault.
func sourceError(name string, off int64, err error) error {
	return fmt.Errorf("read %s at byte %d: %w", name, off, err)
}

// fnError marks the error returned by a Func, so it is passed through as is.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

func unwrapFn(err error) (error, bool) {
	var fe fnError
	if errors.As(err, &fe) {
		return fe.err, true
	}
	return nil, false
}
