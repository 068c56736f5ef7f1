package decode

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Before parquet-go reads a Parquet object, its own sizes are checked against
// its length: parquet-go allocates what the footer and the page headers
// declare (a string of 2 GiB in a page header's statistics, a list of a
// billion row groups, a page of 2 GiB) before it finds out that the bytes are
// not there. So the footer and every page header are walked first (thriftWalk:
// no length beyond the bytes left), every column chunk must lie inside the
// object and its pages inside the chunk, and what the pages declare must fit
// in Options.MaxObjectBytes and Options.MaxExpansion.

// Limits of the checks.
const (
	maxThriftDepth = 32      // nesting of Thrift structs and containers
	maxPageHeader  = 1 << 20 // bytes of one page header (statistics included)
	bytesPerValue  = 16      // what a declared value costs at least, decoded
)

// errShort says that a Thrift value runs past the bytes at hand.
var errShort = errors.New("thrift value runs past the end of its bytes")

// thriftWalk walks Thrift compact-protocol values in b without allocating.
type thriftWalk struct {
	b   []byte
	pos int
}

// thriftStructLen returns the length of the Thrift struct at the start of b,
// or an error when it is not one a decoder can read without allocating more
// than b holds: errShort when b ends inside it.
func thriftStructLen(b []byte) (int, error) {
	w := thriftWalk{b: b}
	if err := w.structure(0); err != nil {
		return 0, err
	}
	return w.pos, nil
}

func (w *thriftWalk) left() int { return len(w.b) - w.pos }

func (w *thriftWalk) byte() (byte, error) {
	if w.pos >= len(w.b) {
		return 0, errShort
	}
	w.pos++
	return w.b[w.pos-1], nil
}

func (w *thriftWalk) skip(n int) error {
	if n < 0 || n > w.left() {
		return errShort
	}
	w.pos += n
	return nil
}

func (w *thriftWalk) uvarint() (uint64, error) {
	var x uint64
	for shift := 0; shift < 64; shift += 7 {
		c, err := w.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, errors.New("thrift varint longer than 10 bytes")
}

// size reads a length or a count and checks that n items of at least min
// bytes each fit in what is left.
func (w *thriftWalk) size(min int) (int, error) {
	n, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(w.left()/min) {
		if n > 1<<31 {
			return 0, fmt.Errorf("thrift length %d is out of range", n)
		}
		return 0, errShort
	}
	return int(n), nil
}

func (w *thriftWalk) structure(depth int) error {
	if depth > maxThriftDepth {
		return fmt.Errorf("thrift values nested deeper than %d", maxThriftDepth)
	}
	for {
		h, err := w.byte()
		if err != nil {
			return err
		}
		if h == 0 { // stop
			return nil
		}
		if h>>4 == 0 { // the field id follows
			if _, err := w.uvarint(); err != nil {
				return err
			}
		}
		if err := w.value(h&0x0f, depth); err != nil {
			return err
		}
	}
}

// value walks one value of compact type t, as a struct field.
func (w *thriftWalk) value(t byte, depth int) error {
	switch t {
	case 1, 2: // true, false: in the field header
		return nil
	case 3: // i8
		return w.skip(1)
	case 4, 5, 6: // i16, i32, i64
		_, err := w.uvarint()
		return err
	case 7: // double
		return w.skip(8)
	case 8: // binary
		n, err := w.size(1)
		if err != nil {
			return err
		}
		return w.skip(n)
	case 9, 10: // list, set
		h, err := w.byte()
		if err != nil {
			return err
		}
		n, et := int(h>>4), h&0x0f
		if n == 15 {
			if n, err = w.size(1); err != nil {
				return err
			}
		} else if n > w.left() {
			return errShort
		}
		for range n {
			if err := w.element(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 11: // map
		n, err := w.size(2)
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		for range n {
			if err := w.element(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.element(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 12: // struct
		return w.structure(depth + 1)
	case 13: // uuid
		return w.skip(16)
	}
	return fmt.Errorf("unknown thrift type %d", t)
}

// element walks one element of a container: booleans take a byte there.
func (w *thriftWalk) element(t byte, depth int) error {
	if depth > maxThriftDepth {
		return fmt.Errorf("thrift values nested deeper than %d", maxThriftDepth)
	}
	if t == 1 || t == 2 {
		return w.skip(1)
	}
	return w.value(t, depth)
}

// checkFooterThrift walks the footer's metadata before parquet-go decodes it.
func (d *parquetDecoder) checkFooterThrift(size, footer int64) error {
	buf := make([]byte, footer) // footer < size: checked before
	if _, err := d.ra.ReadAt(buf, size-8-footer); err != nil && err != io.EOF {
		return d.fail(err)
	}
	if _, err := thriftStructLen(buf); err != nil {
		if errors.Is(err, errShort) {
			err = errors.New("the file metadata runs past the footer")
		}
		return &ObjectError{Object: d.name, Reason: Unreadable, Offset: size - 8 - footer, Err: fmt.Errorf("parquet footer: %w", err)}
	}
	return nil
}

// checkPages checks every column chunk of the file's row groups against the
// object's size (dataEnd: where the footer starts) and walks its page
// headers, adding up what they declare against the options' limits.
func (d *parquetDecoder) checkPages(md *format.FileMetaData, size, dataEnd int64) error {
	limit, why := d.opts.decodeLimit(size)
	var declared int64
	var buf []byte
	for g := range md.RowGroups {
		rg := &md.RowGroups[g]
		if rg.NumRows < 0 {
			return d.unreadable(0, fmt.Errorf("row group %d has %d rows", g, rg.NumRows))
		}
		for c := range rg.Columns {
			cm := &rg.Columns[c].MetaData
			start := cm.DataPageOffset
			if cm.DictionaryPageOffset != 0 {
				start = cm.DictionaryPageOffset
			}
			end := start + cm.TotalCompressedSize
			if start < 4 || cm.TotalCompressedSize < 0 || end > dataEnd || end < start {
				return d.unreadable(start, fmt.Errorf("column chunk %d of row group %d lies outside the data (bytes %d to %d of %d)",
					c, g, start, end, dataEnd))
			}
			for pos := start; pos < end; {
				h, n, err := d.pageHeader(pos, end, &buf)
				if err != nil {
					return err
				}
				body := int64(h.CompressedPageSize)
				if body < 0 || h.UncompressedPageSize < 0 || body > end-pos-int64(n) {
					return d.unreadable(pos, fmt.Errorf("page of %d bytes (%d uncompressed) does not fit in its column chunk (%d bytes left)",
						body, h.UncompressedPageSize, end-pos-int64(n)))
				}
				values := int64(0)
				switch {
				case h.DataPageHeader.Valid:
					values = int64(h.DataPageHeader.V.NumValues)
				case h.DictionaryPageHeader.Valid:
					values = int64(h.DictionaryPageHeader.V.NumValues)
				case h.DataPageHeaderV2.Valid:
					v2 := &h.DataPageHeaderV2.V
					values = max(int64(v2.NumValues), int64(v2.NumRows), int64(v2.NumNulls))
					if v2.DefinitionLevelsByteLength < 0 || v2.RepetitionLevelsByteLength < 0 ||
						int64(v2.DefinitionLevelsByteLength)+int64(v2.RepetitionLevelsByteLength) > body {
						return d.unreadable(pos, errors.New("page levels do not fit in the page"))
					}
				}
				if values < 0 {
					return d.unreadable(pos, fmt.Errorf("page of %d values", values))
				}
				declared += int64(h.UncompressedPageSize) + values*bytesPerValue
				if limit >= 0 && declared > limit {
					return &ObjectError{Object: d.name, Reason: TooLarge, Offset: pos,
						Err: fmt.Errorf("its pages declare more than %s", why)}
				}
				pos += int64(n) + body
			}
		}
	}
	return nil
}

// pageHeader reads and checks the page header at pos, which must end before
// end, and returns it with its length. buf is reused from page to page.
func (d *parquetDecoder) pageHeader(pos, end int64, buf *[]byte) (*format.PageHeader, int, error) {
	want := int64(4 << 10)
	for {
		n := min(want, end-pos)
		if int64(cap(*buf)) < n {
			*buf = make([]byte, n)
		}
		b := (*buf)[:n]
		if _, err := d.ra.ReadAt(b, pos); err != nil && err != io.EOF {
			return nil, 0, d.fail(err)
		}
		hl, err := thriftStructLen(b)
		if errors.Is(err, errShort) && n < end-pos && n < maxPageHeader {
			want *= 8 // a longer header (statistics): read more
			continue
		}
		if err != nil {
			if errors.Is(err, errShort) {
				err = errors.New("the page header runs past its column chunk")
			}
			return nil, 0, d.unreadable(pos, fmt.Errorf("page header: %w", err))
		}
		h := new(format.PageHeader)
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), b[:hl], h); err != nil {
			return nil, 0, d.unreadable(pos, fmt.Errorf("page header: %w", err))
		}
		return h, hl, nil
	}
}

func (d *parquetDecoder) unreadable(off int64, err error) error {
	return &ObjectError{Object: d.name, Reason: Unreadable, Offset: off, Err: err}
}
