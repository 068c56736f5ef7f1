package decode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

var parquetMagic = []byte("PAR1")

// parquetBatch is how many rows are read at a time.
const parquetBatch = 256

// decodeParquetStream decodes a Parquet object, spooling it to a temporary
// file when r cannot be read at random offsets.
func decodeParquetStream(name string, r io.Reader, src *countingReader, br *bufio.Reader, opts *Options, st *Stats, fn Func) error {
	ra, size, err := randomAccess(r)
	if err != nil {
		return sourceError(name, 0, err)
	}
	if ra == nil {
		f, err := os.CreateTemp(opts.TempDir, "vpcflow-*.parquet")
		if err != nil {
			return fmt.Errorf("spool %s: %w", name, err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		size, err = io.Copy(f, br)
		if err != nil {
			if src.err != nil {
				return sourceError(name, src.n, src.err)
			}
			return fmt.Errorf("spool %s to %s: %w", name, f.Name(), err)
		}
		ra = f
	}
	return decodeParquet(name, ra, size, opts, st, fn)
}

// randomAccess returns r as an io.ReaderAt with its size when it is one.
func randomAccess(r io.Reader) (io.ReaderAt, int64, error) {
	switch v := r.(type) {
	case *os.File:
		fi, err := v.Stat()
		if err != nil {
			return nil, 0, err
		}
		if fi.Mode().IsRegular() {
			return v, fi.Size(), nil
		}
	case interface {
		io.ReaderAt
		Size() int64
	}:
		return v, v.Size(), nil
	}
	return nil, 0, nil
}

// trackingReaderAt remembers the source's own errors and how far reads went.
type trackingReaderAt struct {
	r    io.ReaderAt
	size int64
	end  int64
	err  error
}

var errOutside = errors.New("read outside the object (damaged offsets)")

func (t *trackingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > t.size {
		return 0, errOutside // the object's offsets are wrong, not the source
	}
	n, err := t.r.ReadAt(p, off)
	if e := off + int64(n); e > t.end {
		t.end = e
	}
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// parquetDecoder holds the state of one Parquet object.
type parquetDecoder struct {
	name  string
	ra    *trackingReaderAt
	opts  *Options
	st    *Stats
	fn    Func
	rec   flowlog.Record
	cols  []flowlog.Field
	extra []int
	buf   []byte
	row   int64
}

// decodeParquet decodes the Parquet object held by ra.
func decodeParquet(name string, ra io.ReaderAt, size int64, opts *Options, st *Stats, fn Func) error {
	st.StoredBytes, st.DecodedBytes = size, size
	st.Header = true
	d := &parquetDecoder{name: name, ra: &trackingReaderAt{r: ra, size: size}, opts: opts, st: st, fn: fn}
	footer, err := d.checkFooter(size)
	if err != nil {
		return err
	}
	if err := d.checkFooterThrift(size, footer); err != nil {
		return err
	}
	var file *parquet.File
	err = guard(func() (err error) {
		file, err = parquet.OpenFile(d.ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		return err
	})
	if err != nil {
		return d.fail(err)
	}
	if err := d.useSchema(file.Schema()); err != nil {
		return err
	}
	var cerr error
	if err := guard(func() error { cerr = d.checkPages(file.Metadata(), size, size-8-footer); return nil }); err != nil {
		return d.fail(err)
	}
	if cerr != nil {
		return cerr
	}
	rows := make([]parquet.Row, parquetBatch)
	for _, rg := range file.RowGroups() {
		if err := d.rowGroup(rg, rows); err != nil {
			return err
		}
	}
	return nil
}

// guard runs a call into the Parquet library, turning a panic (which a
// damaged file can cause) into an error: the object fails, not the process.
func guard(call func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet library failed: %v", p)
		}
	}()
	return call()
}

func (d *parquetDecoder) rowGroup(rg parquet.RowGroup, rows []parquet.Row) (err error) {
	var rr parquet.Rows
	if err := guard(func() error { rr = rg.Rows(); return nil }); err != nil {
		return d.fail(err)
	}
	defer func() {
		if cerr := guard(rr.Close); cerr != nil && err == nil {
			err = d.fail(cerr)
		}
	}()
	for {
		var n int
		var rerr error
		if err := guard(func() error { n, rerr = rr.ReadRows(rows); return nil }); err != nil {
			return d.fail(err)
		}
		for i := range n {
			if err := d.process(rows[i]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return d.fail(rerr)
		}
	}
}

// checkFooter checks the end marker and the footer's length, and returns
// the length.
func (d *parquetDecoder) checkFooter(size int64) (int64, error) {
	var tail [8]byte
	if size < 12 {
		return 0, &ObjectError{Object: d.name, Reason: Unreadable, Offset: size, Err: errors.New("too short to be Parquet")}
	}
	if _, err := d.ra.ReadAt(tail[:], size-8); err != nil && err != io.EOF {
		return 0, d.fail(err)
	}
	footer := int64(binary.LittleEndian.Uint32(tail[:4]))
	switch {
	case !bytes.Equal(tail[4:], parquetMagic):
		return 0, &ObjectError{Object: d.name, Reason: Truncated, Offset: size, Err: errors.New("the Parquet end marker is missing")}
	case footer > size-12:
		return 0, &ObjectError{Object: d.name, Reason: Unreadable, Offset: size - 8,
			Err: fmt.Errorf("the Parquet footer of %d bytes does not fit in %d", footer, size)}
	}
	return footer, nil
}

func (d *parquetDecoder) fail(err error) error {
	if d.ra.err != nil {
		return sourceError(d.name, d.ra.end, d.ra.err)
	}
	return &ObjectError{Object: d.name, Reason: Unreadable, Offset: d.ra.end, Err: err}
}

func (d *parquetDecoder) useSchema(schema *parquet.Schema) error {
	paths := schema.Columns()
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = strings.Join(p, ".")
	}
	format, err := flowlog.NewParquetFormat(names)
	if err != nil {
		return &ObjectError{Object: d.name, Reason: BadHeader, Err: fmt.Errorf("schema: %w", err)}
	}
	d.st.Format = format
	d.rec.Format = format
	if missing := format.MissingRequired(); len(missing) > 0 {
		return &ObjectError{Object: d.name, Reason: BadHeader,
			Err: fmt.Errorf("schema lacks %s, which traffic accounting needs", flowlog.FieldList(missing, true))}
	}
	d.cols = make([]flowlog.Field, format.Len())
	d.extra = make([]int, format.Len())
	for i := range format.Len() {
		d.cols[i] = format.Field(i)
		d.extra[i] = format.ExtraIndex(i)
	}
	return nil
}

// process handles one row.
func (d *parquetDecoder) process(row parquet.Row) error {
	d.row++
	r := &d.rec
	r.Reset(len(d.st.Format.Unknown()))
	d.buf = d.buf[:0]
	for _, v := range row {
		col := v.Column()
		if v.IsNull() || col < 0 || col >= len(d.cols) {
			continue
		}
		f := d.cols[col]
		var p flowlog.Problem
		switch v.Kind() {
		case parquet.Int32, parquet.Int64:
			n := v.Int64()
			if f != flowlog.Unknown && f.Kind() == flowlog.KindUint {
				d.buf, p = r.SetInt(f, n, d.buf)
				break
			}
			start := len(d.buf)
			d.buf = strconv.AppendInt(d.buf, n, 10)
			p = d.set(f, col, d.buf[start:len(d.buf):len(d.buf)])
		case parquet.ByteArray, parquet.FixedLenByteArray:
			b := v.ByteArray()
			if len(b) == 1 && b[0] == '-' {
				continue
			}
			if !validText(b) {
				p = flowlog.ProblemGarbage
				break
			}
			p = d.set(f, col, b)
		default:
			start := len(d.buf)
			d.buf = append(d.buf, v.String()...)
			p = d.set(f, col, d.buf[start:len(d.buf):len(d.buf)])
		}
		if p != flowlog.NoProblem {
			d.bad(p, f)
			return nil
		}
	}
	if p, f := r.Check(); p != flowlog.NoProblem {
		d.bad(p, f)
		return nil
	}
	d.st.count(r)
	return d.fn(r)
}

func (d *parquetDecoder) set(f flowlog.Field, col int, v []byte) flowlog.Problem {
	if f == flowlog.Unknown {
		d.rec.Extra[d.extra[col]] = v
		return flowlog.NoProblem
	}
	return d.rec.SetText(f, v)
}

func (d *parquetDecoder) bad(p flowlog.Problem, f flowlog.Field) {
	b := d.st.bad(d.opts, p)
	if b == nil {
		return
	}
	b.Line, b.Offset = d.row, -1
	if f != flowlog.Unknown {
		b.Field = f.ParquetName()
		if v, ok := d.rec.Get(f); ok && p != flowlog.ProblemMissing {
			b.Value = sample(v, 40)
			if p == flowlog.ProblemMalformed {
				b.Detail = malformed(f, v)
			}
		}
	}
}

// validText reports whether b holds no control characters and is valid UTF-8.
func validText(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	return ascii || utf8.Valid(b)
}
