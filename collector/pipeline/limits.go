package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/vpcflow/vpcflow/collector/decode"
)

// Defaults of the memory bounds (docs/pipeline.md, Memory). A cell is one
// label set of one family in one minute (aggregate.Aggregate.Cells). The
// largest object of a generated day of 2,000 interfaces in 10 VPCs
// (4,000,000 records, 2,880 objects) holds 36,580 cells, its largest batch
// of 16 objects 229,304; one VPC of 2,000 interfaces sending 700,000
// records in five minutes (one 23 MB object) makes 2,900,060.
const (
	DefaultMaxObjectCells = 4_000_000
	DefaultMaxBatchCells  = 2_000_000
	DefaultMaxInterfaces  = 100_000
	DefaultMaxAddresses   = 200_000
)

// TooLarge is the decode.ObjectError reason of an object whose aggregate
// holds more cells than Options.MaxObjectCells.
const TooLarge decode.Reason = "too large"

// errTooLarge stops the decoding of an object whose aggregate went over
// the per-object bound.
var errTooLarge = errors.New("too many cells")

// tooLarge is the error of an object whose aggregate went over the
// per-object bound: an *decode.ObjectError, so the object is quarantined.
func tooLarge(name string, st *decode.Stats, cells, bound int) error {
	return &decode.ObjectError{Object: name, Reason: TooLarge, Offset: st.StoredBytes,
		Err: fmt.Errorf("%d cells (label sets × intervals) after %d records, more than the per-object bound of %d (aggregation.max_object_cells)",
			cells, st.Records, bound)}
}

// checkEvery is how many records an object's decoding goes between two
// looks at its context and at the look-ahead bound.
const checkEvery = 1024

// ctxReader fails its reads once ctx is done, so that a stop interrupts the
// decoding of an object whose source does not watch ctx (a local file).
// decode.Stream takes a failed read for a source error, never for a damaged
// object.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ctxFile is a ctxReader over a regular file that keeps its random access
// (ReadAt and Size), which decode.Stream uses to read Parquet in place.
type ctxFile struct {
	ctxReader
	f    *os.File
	size int64
}

func (c ctxFile) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.f.ReadAt(p, off)
}

func (c ctxFile) Size() int64 { return c.size }

// withContext returns r reading only while ctx is not done.
func withContext(ctx context.Context, r io.Reader) io.Reader {
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return ctxFile{ctxReader{ctx, f}, f, fi.Size()}
		}
	}
	return ctxReader{ctx, r}
}

// errBatchFull stops the decoding of an object that cannot go into the
// batch being formed: the batch's cells and the object's, so far, are
// already over the batch bound.
var errBatchFull = errors.New("the batch is full")

// lookahead bounds the memory of the objects of a batch being decoded.
// While the objects after the one the batch waits for (the head) hold more
// than limit cells, their decoding waits; the head never waits, so the
// batch always moves on, and waiting changes when an object is decoded,
// never its result. With a split bound, an object whose cells would take
// the batch over it is not decoded further: the batch will close before it
// (the batch's cells only grow, and so do the object's).
type lookahead struct {
	mu    sync.Mutex
	cond  *sync.Cond
	limit int
	split int   // the batch bound; 0: the batch takes every object
	batch int   // cells of the batch so far
	head  int   // the object the batch waits for
	held  []int // cells of each object's aggregate, as last told
	ahead int   // cells held by the objects after the head
	done  bool  // the context ended: nobody waits
}

// newLookahead returns the bounds over n objects; it stops holding anyone
// back once ctx is done.
func newLookahead(ctx context.Context, n, limit, split int) (*lookahead, func() bool) {
	l := &lookahead{limit: limit, split: split, held: make([]int, n)}
	l.cond = sync.NewCond(&l.mu)
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
		l.cond.Broadcast()
	})
	return l, stop
}

// grow tells that object i's aggregate holds cells (0 once dropped). When
// they grew, it waits while i is not the head and the objects after the
// head hold more than the limit. It returns false when the object cannot
// go into the batch.
func (l *lookahead) grow(i, cells int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	grew := cells > l.held[i]
	if i > l.head {
		l.ahead += cells - l.held[i]
	}
	l.held[i] = cells
	for {
		if l.full(cells) {
			return false
		}
		if !grew || i <= l.head || l.ahead <= l.limit || l.done {
			return true
		}
		l.cond.Wait()
	}
}

// full says whether an object of cells would take the batch over the split
// bound.
func (l *lookahead) full(cells int) bool {
	return l.split > 0 && l.batch > 0 && l.batch+cells > l.split
}

// taken moves the head past object i, whose aggregate the batch took or
// dropped, leaving the batch with batch cells.
func (l *lookahead) taken(i, batch int) {
	l.mu.Lock()
	l.head = i + 1
	l.batch = batch
	if l.head < len(l.held) {
		l.ahead -= l.held[l.head]
	}
	l.mu.Unlock()
	l.cond.Broadcast()
}
