package decode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// text decodes the lines of a text object. It is an io.Writer: the inflater
// (or the source's reader, for plain text) pushes the text into it chunk by
// chunk, and lines are decoded where they lie in the chunk, without a copy.
// Only a line cut by a chunk boundary is copied, into carry.
type text struct {
	name string
	opts *Options
	st   *Stats
	fn   Func

	rec    flowlog.Record
	cols   []flowlog.Field
	kinds  []flowlog.Kind
	extra  []int
	nExtra int

	spans []int  // field offsets of the current line, reused
	carry []byte // the start of a line cut by a chunk boundary

	// A line longer than the limit is skipped as it streams by.
	skipping bool
	longHead []byte // its first bytes, for the sample
	longLen  int64  // its length so far

	line       int64 // lines read so far
	off        int64 // decompressed offset of the next line
	headerSeen bool
}

func newText(name string, opts *Options, st *Stats, fn Func) *text {
	return &text{name: name, opts: opts, st: st, fn: fn}
}

// decodeGzip inflates the source and decodes the text inside.
func decodeGzip(name string, src *countingReader, bufs *buffers, opts *Options, st *Stats, fn Func) error {
	br := bufs.src
	stored := func() int64 { return src.n - int64(br.Buffered()) }
	t := newText(name, opts, st, fn)
	var err error
	if bufs.zr == nil {
		bufs.zr, err = gzip.NewReader(br)
	} else {
		err = bufs.zr.Reset(br)
	}
	if err == nil {
		_, err = bufs.zr.WriteTo(t)
	}
	if err == nil {
		err = t.finish()
	}
	st.StoredBytes = stored()
	st.DecodedBytes = t.off
	if err != nil {
		return t.fail(err, src, stored)
	}
	return nil
}

// decodePlain decodes text read from br as it is.
func decodePlain(name string, src *countingReader, br *bufio.Reader, opts *Options, st *Stats, fn Func) error {
	t := newText(name, opts, st, fn)
	_, err := br.WriteTo(t)
	if err == nil {
		err = t.finish()
	}
	st.StoredBytes = src.n - int64(br.Buffered())
	st.DecodedBytes = st.StoredBytes
	if err != nil {
		return t.fail(err, src, func() int64 { return st.StoredBytes })
	}
	return nil
}

// fail turns an error met while reading into what Stream returns: the
// Func's own error, a source error (worth a retry), or an *ObjectError.
func (t *text) fail(err error, src *countingReader, stored func() int64) error {
	if e, ok := unwrapFn(err); ok {
		return e
	}
	var oe *ObjectError
	if errors.As(err, &oe) {
		return oe
	}
	if src.err != nil {
		return sourceError(t.name, stored(), src.err)
	}
	reason := Corrupt
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		reason = Truncated
		err = errors.New("compressed stream ends early")
	}
	return &ObjectError{Object: t.name, Reason: reason, Offset: stored(), Line: t.line, Err: err}
}

// Write decodes the complete lines of p and keeps the incomplete last one
// for the next call. It fails only with the Func's error or a header error.
func (t *text) Write(p []byte) (int, error) {
	n := len(p)
	if len(t.carry) > 0 || t.skipping {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.stash(p)
			return n, nil
		}
		t.stash(p[:i+1])
		if err := t.endCarried(); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			t.stash(p)
			break
		}
		if err := t.nextLine(p[:i+1]); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	return n, nil
}

// finish decodes a last line that has no line end.
func (t *text) finish() error {
	if len(t.carry) > 0 || t.skipping {
		return t.endCarried()
	}
	return nil
}

// stash keeps part of a line cut by a chunk boundary, or counts it when the
// line is already too long.
func (t *text) stash(p []byte) {
	if !t.skipping && len(t.carry)+len(p) > t.opts.MaxLineBytes+2 {
		t.skipping = true
		t.longHead = append(append(t.longHead[:0], t.carry[:min(len(t.carry), 128)]...), p[:min(len(p), 128)]...)
		t.longLen = int64(len(t.carry))
		t.carry = t.carry[:0]
	}
	if t.skipping {
		t.longLen += int64(len(p))
		return
	}
	t.carry = append(t.carry, p...)
}

// endCarried decodes the carried line once its end has arrived.
func (t *text) endCarried() error {
	if t.skipping {
		t.skipping = false
		t.line++
		t.badLine(t.off, flowlog.ProblemLongLine, flowlog.Unknown, nil, t.longHead)
		t.off += t.longLen
		return nil
	}
	err := t.nextLine(t.carry)
	t.carry = t.carry[:0]
	return err
}

// nextLine decodes one line, with its line end.
func (t *text) nextLine(line []byte) error {
	t.line++
	off := t.off
	t.off += int64(len(line))
	if len(line) > t.opts.MaxLineBytes+2 {
		t.badLine(off, flowlog.ProblemLongLine, flowlog.Unknown, nil, line)
		return nil
	}
	return t.process(line, off)
}

// process handles one line, with its line end.
func (t *text) process(line []byte, off int64) error {
	body := line
	if n := len(body); n > 0 && body[n-1] == '\n' {
		body = body[:n-1]
	}
	if n := len(body); n > 0 && body[n-1] == '\r' {
		body = body[:n-1]
	}
	if isBlank(body) {
		return nil
	}
	if !t.headerSeen {
		t.headerSeen = true
		if looksLikeHeader(body) {
			return t.useHeader(body)
		}
		if err := t.useFormat(t.opts.Format); err != nil {
			return err
		}
	}
	if p, f := t.parse(body); p != flowlog.NoProblem {
		var v []byte
		if f != flowlog.Unknown && p != flowlog.ProblemMissing {
			v = t.rec.Text[f]
		}
		t.badLine(off, p, f, v, body)
		return nil
	}
	t.st.count(&t.rec)
	if err := t.fn(&t.rec); err != nil {
		return fnError{err}
	}
	return nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' {
			return false
		}
	}
	return true
}

// looksLikeHeader reports whether a first line is a header: every token is
// a name (a letter, then letters, digits, '-' or '_') and at least one names a
// known field. Data lines always hold numbers or addresses, so they never
// qualify.
func looksLikeHeader(line []byte) bool {
	known := false
	for _, tok := range strings.Fields(string(line)) {
		for i := 0; i < len(tok); i++ {
			c := tok[i] | 0x20
			letter := c >= 'a' && c <= 'z'
			if !letter && (i == 0 || !(tok[i] >= '0' && tok[i] <= '9' || tok[i] == '-' || tok[i] == '_')) {
				return false
			}
		}
		if _, ok := flowlog.Lookup(tok); ok {
			known = true
		}
	}
	return known
}

func (t *text) useHeader(line []byte) error {
	format, err := flowlog.NewFormat(strings.Fields(string(line)))
	if err != nil {
		return &ObjectError{Object: t.name, Reason: BadHeader, Line: 1, Err: err}
	}
	t.st.Header = true
	return t.useFormat(format)
}

func (t *text) useFormat(format *flowlog.Format) error {
	t.st.Format = format
	t.rec.Format = format
	if missing := format.Missing(flowlog.Required); len(missing) > 0 {
		names := make([]string, len(missing))
		for i, f := range missing {
			names[i] = f.String()
		}
		what := "header"
		if !t.st.Header {
			what = "configured format (the object has no header line)"
		}
		return &ObjectError{Object: t.name, Reason: BadHeader, Line: 1,
			Err: fmt.Errorf("%s lacks %s, which traffic accounting needs", what, strings.Join(names, ", "))}
	}
	n := format.Len()
	t.cols = make([]flowlog.Field, n)
	t.kinds = make([]flowlog.Kind, n)
	t.extra = make([]int, n)
	for i := range n {
		f := format.Field(i)
		t.cols[i] = f
		t.extra[i] = format.ExtraIndex(i)
		if f != flowlog.Unknown {
			t.kinds[i] = f.Kind()
		}
	}
	t.nExtra = len(format.Unknown())
	t.spans = make([]int, 0, 2*(n+1))
	return nil
}

// parse splits a line (without its line end) into fields and sets the
// record. It returns the first problem found and the field it concerns.
func (t *text) parse(line []byte) (flowlog.Problem, flowlog.Field) {
	ends, garbage, nonASCII := t.split(line)
	if garbage {
		return flowlog.ProblemGarbage, flowlog.Unknown
	}
	if len(ends) != 2*len(t.cols) {
		return flowlog.ProblemFieldCount, flowlog.Unknown
	}
	if nonASCII && !utf8.Valid(line) {
		return flowlog.ProblemGarbage, flowlog.Unknown
	}
	r := &t.rec
	r.Reset(t.nExtra)
	for col, f := range t.cols {
		v := line[ends[2*col]:ends[2*col+1]:ends[2*col+1]]
		if len(v) == 1 && v[0] == '-' {
			continue
		}
		var p flowlog.Problem
		switch t.kinds[col] {
		case flowlog.KindString:
			if f == flowlog.Unknown {
				r.Extra[t.extra[col]] = v
				continue
			}
			r.Text[f] = v
			r.Present |= 1 << f
			continue
		case flowlog.KindUint:
			if n, ok := digits(line, ends[2*col], ends[2*col+1]); ok {
				p = r.SetUint(f, v, n)
			} else {
				p = r.SetNumber(f, v) // long, short of room, or not a number
			}
		case flowlog.KindAddr:
			p = r.SetAddr(f, v)
		default:
			p = r.SetEnum(f, v)
		}
		if p != flowlog.NoProblem {
			return p, f
		}
	}
	return r.Check()
}

// split finds the fields of a line: pairs of start and end offsets, at most
// one pair more than the format has columns (enough to tell that a line has
// too many). It reports control characters (garbage) and bytes above 0x7f (to
// be checked as UTF-8).
//
// The usual line is printable ASCII. For it, split runs without
// data-dependent branches: scan64 turns 64 bytes into a word with one bit per
// space, and the fields are read off the set bits. A line with any other
// byte is split again by splitSlow, which tells control characters from
// UTF-8.
func (t *text) split(line []byte) (spans []int, garbage, nonASCII bool) {
	limit := 2 * (len(t.cols) + 1)
	spans = t.spans[:0]
	start := 0
	var special uint64
	for base := 0; base < len(line); base += 64 {
		var word, sp uint64
		if base+64 <= len(line) {
			word, sp = scan64((*[64]byte)(line[base:]))
		} else {
			pad := padding
			copy(pad[:], line[base:])
			word, sp = scan64(&pad)
		}
		special |= sp
		for word != 0 {
			pos := base + bits.TrailingZeros64(word)
			word &= word - 1
			if pos > start { // runs of spaces separate fields like one
				if len(spans) == limit {
					break
				}
				spans = append(spans, start, pos)
			}
			start = pos + 1
		}
	}
	if special != 0 {
		return t.splitSlow(line)
	}
	if start < len(line) && len(spans) < limit {
		spans = append(spans, start, len(line))
	}
	return spans, false, false
}

// digits parses line[s:e] as a decimal number of 1 to 16 digits, eight at a
// time, when line has eight bytes from s (and from e-8) to read. It reports
// false for anything else, including what is not a number: the caller then
// takes the slow path, which says why.
func digits(line []byte, s, e int) (uint64, bool) {
	n := e - s
	if n < 1 || n > 16 || s+8 > len(line) {
		return 0, false
	}
	if n <= 8 {
		return digits8(binary.LittleEndian.Uint64(line[s:]), n)
	}
	if e-8 < 0 {
		return 0, false
	}
	hi, ok1 := digits8(binary.LittleEndian.Uint64(line[s:]), n-8)
	lo, ok2 := digits8(binary.LittleEndian.Uint64(line[e-8:]), 8)
	if !ok1 || !ok2 {
		return 0, false
	}
	return hi*100000000 + lo, true
}

// digits8 parses the first n (1 to 8) bytes of x, loaded little endian, as
// decimal digits.
func digits8(x uint64, n int) (uint64, bool) {
	const ones, highs, lows = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	keep := ^uint64(0) >> (64 - 8*n)
	y := x & lows
	isDigit := (y + ones*(0x80-'0')) &^ (y + ones*(0x80-'9'-1)) &^ x & highs // '0' ≤ byte ≤ '9'
	if ^isDigit&highs&keep != 0 {
		return 0, false
	}
	x = ((x - ones*'0') & keep) << (64 - 8*n) // right-aligned: leading zeros first
	x = (x*10 + x>>8) & 0x00FF00FF00FF00FF
	x = (x*100 + x>>16) & 0x0000FFFF0000FFFF
	x = (x*10000 + x>>32) & 0xFFFFFFFF
	return x, true
}

// padding fills the end of a line's last block: printable, not a space.
var padding = func() (p [64]byte) {
	for i := range p {
		p[i] = 'x'
	}
	return p
}()

// scan64 returns a word whose bit k says that b[k] is a space, and a word
// that is non-zero when some byte of b is below 0x20 or above 0x7e (then the
// space word is not to be trusted).
func scan64(b *[64]byte) (spaces, special uint64) {
	s0, p0 := scan8(binary.LittleEndian.Uint64(b[0:]))
	s1, p1 := scan8(binary.LittleEndian.Uint64(b[8:]))
	s2, p2 := scan8(binary.LittleEndian.Uint64(b[16:]))
	s3, p3 := scan8(binary.LittleEndian.Uint64(b[24:]))
	s4, p4 := scan8(binary.LittleEndian.Uint64(b[32:]))
	s5, p5 := scan8(binary.LittleEndian.Uint64(b[40:]))
	s6, p6 := scan8(binary.LittleEndian.Uint64(b[48:]))
	s7, p7 := scan8(binary.LittleEndian.Uint64(b[56:]))
	spaces = s0 | s1<<8 | s2<<16 | s3<<24 | s4<<32 | s5<<40 | s6<<48 | s7<<56
	special = (p0 | p1 | p2 | p3 | p4 | p5 | p6 | p7) & 0x8080808080808080
	return spaces, special
}

// scan8 returns one bit per space of the eight bytes of x (bit k for byte
// k), and a word whose high bits flag bytes below 0x20 or above 0x7e.
func scan8(x uint64) (spaces, special uint64) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	const gather = 0x0102040810204080           // moves the high bit of each byte into the top byte
	special = ^(x + ones*0x60) | (x + ones) | x // bytes < 0x20, ≥ 0x7f
	sp := ^(x + ones*0x5f) & highs              // bytes ≤ 0x20: spaces, when nothing is special
	return (sp >> 7) * gather >> 56, special
}

// splitSlow splits a line holding bytes outside printable ASCII, byte by
// byte: control characters spoil the line, other bytes must form UTF-8.
func (t *text) splitSlow(line []byte) (spans []int, garbage, nonASCII bool) {
	limit := 2 * (len(t.cols) + 1)
	spans = t.spans[:0]
	start := -1
	for i, c := range line {
		switch {
		case c == ' ':
			if start >= 0 && len(spans) < limit {
				spans = append(spans, start, i)
			}
			start = -1
			continue
		case c < 0x20 || c == 0x7f:
			return nil, true, false
		case c >= 0x80:
			nonASCII = true
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 && len(spans) < limit {
		spans = append(spans, start, len(line))
	}
	return spans, false, nonASCII
}

func (t *text) badLine(off int64, p flowlog.Problem, f flowlog.Field, v, line []byte) {
	if len(t.st.Samples) >= t.opts.MaxSamples {
		t.st.BadLines++
		t.st.Problems[p]++
		return
	}
	b := BadLine{Line: t.line, Offset: off, Problem: p, Text: sample(line, 120)}
	if f != flowlog.Unknown {
		b.Field = f.String()
	}
	if v != nil {
		b.Value = sample(v, 40)
	}
	if p == flowlog.ProblemFieldCount {
		b.Detail = fmt.Sprintf("%d fields where the format has %d", len(strings.Fields(string(line))), len(t.cols))
	}
	t.st.bad(t.opts, b)
}
