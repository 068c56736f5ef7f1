package decode

import (
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

	carry []byte // the start of a line cut by a chunk boundary

	// A line longer than the limit is skipped as it streams by.
	skipping bool
	longHead []byte // its first bytes, for the sample
	longLen  int64  // its length so far

	line       int64 // lines read so far
	off        int64 // decompressed offset of the next line
	headerSeen bool

	decoded int64        // text bytes received so far
	gzipped bool         // the text is inflated from gzip
	stored  func() int64 // bytes of the object read so far, as stored
}

func newText(name string, bufs *buffers, opts *Options, st *Stats, fn Func) *text {
	return &text{name: name, opts: opts, st: st, fn: fn, carry: bufs.carry[:0]}
}

// done hands the carry buffer back for the next object.
func (t *text) done(bufs *buffers) {
	if cap(t.carry) <= maxPooledCarry {
		bufs.carry = t.carry[:0]
	}
}

// maxPooledCarry bounds the carry buffer kept between objects: a rare long
// line must not pin its memory.
const maxPooledCarry = 64 << 10

// decodeText decodes a text object read through bufs.src, inflating it first
// when gzipped.
func decodeText(name string, src *countingReader, bufs *buffers, gzipped bool, opts *Options, st *Stats, fn Func) error {
	br := bufs.src
	t := newText(name, bufs, opts, st, fn)
	defer t.done(bufs)
	// Where decoding is in the object as stored: for plain text, the text
	// decoded so far (what bufio holds is being written, so it cannot tell).
	stored := func() int64 { return t.off }
	if gzipped {
		stored = func() int64 { return src.n - int64(br.Buffered()) }
	}
	t.gzipped, t.stored = gzipped, stored
	var from io.WriterTo = br
	var err error
	if gzipped {
		if bufs.zr == nil {
			bufs.zr, err = gzip.NewReader(br)
		} else {
			err = bufs.zr.Reset(br)
		}
		from = bufs.zr
	}
	if err == nil {
		_, err = from.WriteTo(t)
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

// headerError is a header (or configured format) that cannot be used; fail
// turns it into an *ObjectError with the stored offset.
type headerError struct{ err error }

func (e headerError) Error() string { return e.err.Error() }

// fail turns an error met while reading into what Stream returns: the
// Func's own error, a source error (worth a retry), or an *ObjectError.
func (t *text) fail(err error, src *countingReader, stored func() int64) error {
	if e, ok := unwrapFn(err); ok {
		return e
	}
	var he headerError
	if errors.As(err, &he) {
		return &ObjectError{Object: t.name, Reason: BadHeader, Offset: stored(), Line: t.line, Err: he.err}
	}
	var se sizeError
	if errors.As(err, &se) {
		return &ObjectError{Object: t.name, Reason: TooLarge, Offset: stored(), Line: t.line, Err: se.err}
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
// for the next call. It fails only with the Func's error, a header error or
// a size error.
func (t *text) Write(p []byte) (int, error) {
	n := len(p)
	t.decoded += int64(n)
	if err := t.checkSize(); err != nil {
		return 0, err
	}
	if len(t.carry) > 0 || t.skipping {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return n, t.stash(p)
		}
		if err := t.stash(p[:i+1]); err != nil {
			return 0, err
		}
		if err := t.endCarried(); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if err := t.stash(p); err != nil {
				return 0, err
			}
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
func (t *text) stash(p []byte) error {
	if !t.skipping && len(t.carry)+len(p) > t.opts.MaxLineBytes+2 {
		t.skipping = true
		t.longHead = append(t.longHead[:0], t.carry[:min(len(t.carry), longHeadBytes)]...)
		t.longHead = append(t.longHead, p[:min(len(p), longHeadBytes-len(t.longHead))]...)
		t.longLen = int64(len(t.carry))
		t.carry = t.carry[:0]
		if !t.headerSeen {
			if err := t.longFirstLine(t.longHead, true, t.line+1); err != nil {
				return err
			}
		}
	}
	if t.skipping {
		t.longLen += int64(len(p))
		return nil
	}
	t.carry = append(t.carry, p...)
	return nil
}

// longHeadBytes is how much of an over-long line is kept: for its sample,
// and to tell a header from a data line.
const longHeadBytes = 256

// longFirstLine handles a line longer than Options.MaxLineBytes met before
// the header was decided; head is its start (cut, when the line is longer)
// and line its number. When the start reads as a header (names only, one of
// them a known field), the object fails: its columns cannot be known, and
// decoding it with the configured format would give every record wrong
// fields. Otherwise the line is a bad line (counted by the caller) of a
// headerless object.
func (t *text) longFirstLine(head []byte, cut bool, line int64) error {
	toks := spaceFields(head)
	if len(toks) == 0 {
		return nil // blank so far: the header is still to come
	}
	if headerStart(toks, cut && head[len(head)-1] != ' ') {
		t.line = line
		return headerError{fmt.Errorf("the first line is longer than %d bytes (Options.MaxLineBytes) and reads as a header (%s…): its columns cannot be known",
			t.opts.MaxLineBytes, sample(head, 60))}
	}
	t.headerSeen = true
	return t.useFormat(t.opts.Format)
}

// headerStart reports whether the tokens of the start of a line read as a
// header: every one a name, as in looksLikeHeader, and one that is complete
// a known field; the last token is not complete when lastCut.
func headerStart(toks []string, lastCut bool) bool {
	known := false
	for i, tok := range toks {
		if !isName(tok) {
			return false
		}
		if _, ok := flowlog.Lookup(tok); ok && (i < len(toks)-1 || !lastCut) {
			known = true
		}
	}
	return known
}

// isName reports whether tok is a letter, then letters, digits, '-' or '_'.
func isName(tok string) bool {
	for i := 0; i < len(tok); i++ {
		c := tok[i] | 0x20
		letter := c >= 'a' && c <= 'z'
		if !letter && (i == 0 || !(tok[i] >= '0' && tok[i] <= '9' || tok[i] == '-' || tok[i] == '_')) {
			return false
		}
	}
	return len(tok) > 0
}

// checkSize fails the object once it decodes to more than the options
// allow: more than MaxObjectBytes, or, for gzip, more than MaxExpansion
// times what has been read of the object once past ExpansionFloor.
func (t *text) checkSize() error {
	o := t.opts
	if o.MaxObjectBytes > 0 && t.decoded > o.MaxObjectBytes {
		return sizeError{fmt.Errorf("decodes to more than %d bytes (Options.MaxObjectBytes)", o.MaxObjectBytes)}
	}
	if !t.gzipped || o.MaxExpansion <= 0 || t.decoded <= ExpansionFloor {
		return nil
	}
	if stored := t.stored(); stored < (1<<62)/o.MaxExpansion && t.decoded > o.MaxExpansion*stored {
		return sizeError{fmt.Errorf("expands more than %d times (Options.MaxExpansion): %d bytes of text from %d bytes stored",
			o.MaxExpansion, t.decoded, stored)}
	}
	return nil
}

// sizeError is an object that decodes to more than the options allow; fail
// turns it into an *ObjectError.
type sizeError struct{ err error }

func (e sizeError) Error() string { return e.err.Error() }

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
	body := trimLineEnd(line)
	if len(body) > t.opts.MaxLineBytes {
		if !t.headerSeen {
			if err := t.longFirstLine(body[:min(len(body), longHeadBytes)], len(body) > longHeadBytes, t.line); err != nil {
				return err
			}
		}
		t.badLine(off, flowlog.ProblemLongLine, flowlog.Unknown, nil, body)
		return nil
	}
	return t.process(body, off)
}

// trimLineEnd drops a final "\n" or "\r\n".
func trimLineEnd(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// process handles one line, without its line end, found at offset off.
func (t *text) process(body []byte, off int64) error {
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
	for _, tok := range spaceFields(line) {
		if !isName(tok) {
			return false
		}
		if _, ok := flowlog.Lookup(tok); ok {
			known = true
		}
	}
	return known
}

// spaceFields splits a line at runs of spaces, as data lines are split.
func spaceFields(line []byte) []string {
	return strings.FieldsFunc(string(line), func(r rune) bool { return r == ' ' })
}

func (t *text) useHeader(line []byte) error {
	format, err := flowlog.NewFormat(spaceFields(line))
	if err != nil {
		return headerError{err}
	}
	t.st.Header = true
	return t.useFormat(format)
}

func (t *text) useFormat(format *flowlog.Format) error {
	t.st.Format = format
	t.rec.Format = format
	if missing := format.MissingRequired(); len(missing) > 0 {
		what := "header"
		if !t.st.Header {
			what = "configured format (the object has no header line)"
		}
		return headerError{fmt.Errorf("%s lacks %s, which traffic accounting needs", what, flowlog.FieldList(missing, false))}
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
	return nil
}

// parse splits a line (without its line end) into fields and sets the
// record. It returns the first problem found and the field it concerns.
//
// It reads the line 64 bytes at a time: scan64 turns them into a word with
// one bit per space, and each field is decoded as its ending space is found,
// with no data-dependent branch to find it. The end of the line counts as a
// space (a sentinel in the padded last block).
func (t *text) parse(line []byte) (flowlog.Problem, flowlog.Field) {
	r := &t.rec
	r.Reset(t.nExtra)
	cols, kinds := t.cols, t.kinds
	col, start := 0, 0
	var high uint64
	for base := 0; base <= len(line); base += 64 {
		var word, ctrl, hi uint64
		if base+64 <= len(line) {
			word, ctrl, hi = scan64((*[64]byte)(line[base:]))
		} else {
			pad := padding
			copy(pad[:], line[base:])
			pad[len(line)-base] = ' '
			word, ctrl, hi = scan64(&pad)
		}
		if ctrl != 0 {
			return flowlog.ProblemGarbage, flowlog.Unknown
		}
		high |= hi
		for word != 0 {
			pos := base + bits.TrailingZeros64(word)
			word &= word - 1
			s, e := start, pos
			start = pos + 1
			if e == s { // runs of spaces separate fields like one
				continue
			}
			if col == len(cols) {
				return flowlog.ProblemFieldCount, flowlog.Unknown
			}
			f, kind := cols[col], kinds[col]
			col++
			if e-s == 1 && line[s] == '-' {
				continue
			}
			v := line[s:e:e]
			var p flowlog.Problem
			switch kind {
			case flowlog.KindString:
				if f == flowlog.Unknown {
					r.Extra[t.extra[col-1]] = v
					continue
				}
				r.Text[f] = v // checked once the line is split (CheckText)
				r.Present |= 1 << f
				continue
			case flowlog.KindUint:
				if n, ok := digits(line, s, e); ok {
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
				if !utf8.Valid(line) { // a bad line (cold): garbage comes first
					return flowlog.ProblemGarbage, flowlog.Unknown
				}
				return p, f
			}
		}
	}
	if col != len(cols) {
		return flowlog.ProblemFieldCount, flowlog.Unknown
	}
	if high != 0 && !utf8.Valid(line) {
		return flowlog.ProblemGarbage, flowlog.Unknown
	}
	// The text fields that can become labels are checked here, in one
	// call, rather than each as it is split: a call inside the loop above
	// costs the loop its registers.
	if p, f := r.CheckText(); p != flowlog.NoProblem {
		return p, f
	}
	return r.Check()
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

// scan64 returns a word whose bit k says that b[k] is a space, a word that
// is non-zero when some byte of b is a control character (below 0x20, or
// 0x7f), and one that is non-zero when some byte is above 0x7f.
func scan64(b *[64]byte) (spaces, ctrl, high uint64) {
	s0, c0 := scan8(binary.LittleEndian.Uint64(b[0:]))
	s1, c1 := scan8(binary.LittleEndian.Uint64(b[8:]))
	s2, c2 := scan8(binary.LittleEndian.Uint64(b[16:]))
	s3, c3 := scan8(binary.LittleEndian.Uint64(b[24:]))
	s4, c4 := scan8(binary.LittleEndian.Uint64(b[32:]))
	s5, c5 := scan8(binary.LittleEndian.Uint64(b[40:]))
	s6, c6 := scan8(binary.LittleEndian.Uint64(b[48:]))
	s7, c7 := scan8(binary.LittleEndian.Uint64(b[56:]))
	spaces = s0 | s1<<8 | s2<<16 | s3<<24 | s4<<32 | s5<<40 | s6<<48 | s7<<56
	ctrl = c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7
	high = (binary.LittleEndian.Uint64(b[0:]) | binary.LittleEndian.Uint64(b[8:]) |
		binary.LittleEndian.Uint64(b[16:]) | binary.LittleEndian.Uint64(b[24:]) |
		binary.LittleEndian.Uint64(b[32:]) | binary.LittleEndian.Uint64(b[40:]) |
		binary.LittleEndian.Uint64(b[48:]) | binary.LittleEndian.Uint64(b[56:])) & 0x8080808080808080
	return spaces, ctrl, high
}

// scan8 returns one bit per space of the eight bytes of x (bit k for byte
// k) and a word whose high bits flag its control characters. Bytes above 0x7f
// are neither: the low seven bits are worked on, so nothing carries from one
// byte into the next.
func scan8(x uint64) (spaces, ctrl uint64) {
	const ones, highs, lows = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	const gather = 0x0102040810204080 // moves the high bit of each byte into the top byte
	y := x & lows
	ctrl = (^(y + ones*0x60) | (y + ones)) &^ x & highs // ASCII below 0x20, or 0x7f
	sp := ^(y + ones*0x5f) &^ x & highs                 // ASCII up to 0x20: with no control character, the spaces
	return (sp >> 7) * gather >> 56, ctrl
}

func (t *text) badLine(off int64, p flowlog.Problem, f flowlog.Field, v, line []byte) {
	b := t.st.bad(t.opts, p)
	if b == nil {
		return
	}
	b.Line, b.Offset, b.Text = t.line, off, sample(line, 120)
	if f != flowlog.Unknown {
		b.Field = f.String()
	}
	if v != nil {
		b.Value = sample(v, 40)
	}
	if p == flowlog.ProblemMalformed {
		b.Detail = malformed(f, v)
	}
	if p == flowlog.ProblemFieldCount {
		b.Detail = fmt.Sprintf("%d fields where the format has %d", len(spaceFields(line)), len(t.cols))
	}
}
