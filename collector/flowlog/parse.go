package flowlog

import (
	"net/netip"
	"strconv"
	"unsafe"
)

// Problem says why a record (a line of a text object, a row of a Parquet
// object) was rejected. The zero Problem means the record is good.
type Problem uint8

// Problems.
const (
	NoProblem Problem = iota
	// ProblemFieldCount: the line has fewer or more fields than the header.
	ProblemFieldCount
	// ProblemNotNumber: a numeric field holds something else.
	ProblemNotNumber
	// ProblemNegative: a numeric field holds a negative number.
	ProblemNegative
	// ProblemOverflow: a numeric field is larger than the field allows.
	ProblemOverflow
	// ProblemBadAddr: an address field is not an IPv4 or IPv6 address.
	ProblemBadAddr
	// ProblemBadValue: log-status or flow-direction holds an unknown
	// word. (An unknown action is kept when it has the action shape, and
	// is ProblemMalformed when it does not.)
	ProblemBadValue
	// ProblemMissing: a traffic record (log-status OK) lacks a value
	// accounting needs, or a record lacks log-status.
	ProblemMissing
	// ProblemEndBeforeStart: end is earlier than start.
	ProblemEndBeforeStart
	// ProblemTimeRange: start or end lies outside 2000–2099, or the record
	// spans more than MaxSpan: not a capture window AWS writes.
	ProblemTimeRange
	// ProblemGarbage: the line holds control characters or invalid UTF-8.
	ProblemGarbage
	// ProblemLongLine: the line is longer than the decoder's limit.
	ProblemLongLine
	// ProblemMalformed: a text field that can become a label (or the
	// action) does not have the shape AWS documents for it (Field.Shape),
	// or is too long.
	ProblemMalformed
	// NumProblems is the number of problem kinds.
	NumProblems
)

var problemText = [NumProblems]string{
	NoProblem:             "ok",
	ProblemFieldCount:     "wrong field count",
	ProblemNotNumber:      "not a number",
	ProblemNegative:       "negative number",
	ProblemOverflow:       "number out of range",
	ProblemBadAddr:        "not an IP address",
	ProblemBadValue:       "unknown value",
	ProblemMissing:        "missing value",
	ProblemEndBeforeStart: "end before start",
	ProblemTimeRange:      "time out of range",
	ProblemGarbage:        "binary garbage",
	ProblemLongLine:       "line too long",
	ProblemMalformed:      "malformed value",
}

// String describes the problem in a few words.
func (p Problem) String() string {
	if p < NumProblems {
		return problemText[p]
	}
	return "problem " + strconv.Itoa(int(p))
}

// SetText sets field f from its text v, which must not be "-" (absent). It
// returns the problem when v is not a valid value for f. v is kept, not
// copied.
func (r *Record) SetText(f Field, v []byte) Problem {
	switch fields[f].kind {
	case KindUint:
		return r.SetNumber(f, v)
	case KindAddr:
		return r.SetAddr(f, v)
	case KindEnum:
		return r.SetEnum(f, v)
	}
	return r.SetString(f, v)
}

// SetNumber sets the numeric field f (Kind KindUint) from its decimal text.
func (r *Record) SetNumber(f Field, v []byte) Problem {
	r.Text[f] = v
	r.Present |= 1 << f
	var n uint64
	if len(v) == 0 || len(v) > 19 {
		var p Problem
		if n, p = parseUint(v, fields[f].max); p != NoProblem {
			return p
		}
	} else {
		for _, c := range v { // 19 digits cannot overflow uint64
			d := c - '0'
			if d > 9 {
				_, p := parseUint(v, fields[f].max)
				return p
			}
			n = n*10 + uint64(d)
		}
		if n > fields[f].max {
			return ProblemOverflow
		}
	}
	r.setUint(f, n)
	return NoProblem
}

// SetUint sets the numeric field f (Kind KindUint) to n, parsed by the
// caller from text.
func (r *Record) SetUint(f Field, text []byte, n uint64) Problem {
	r.Text[f] = text
	r.Present |= 1 << f
	if n > fields[f].max {
		return ProblemOverflow
	}
	r.setUint(f, n)
	return NoProblem
}

// SetAddr sets the address field f (Kind KindAddr) from its text, which
// must be an IPv4 or IPv6 address.
func (r *Record) SetAddr(f Field, v []byte) Problem {
	r.Text[f] = v
	r.Present |= 1 << f
	// pkt-srcaddr and pkt-dstaddr mostly repeat srcaddr and dstaddr, which
	// were checked already when they come first.
	if twin := addrTwin(f); twin != f && r.Present.Has(twin) && string(r.Text[twin]) == string(v) {
		return NoProblem
	}
	if !validAddr(v) {
		return ProblemBadAddr
	}
	return NoProblem
}

// addrTwin returns the address field that f usually repeats, or f.
func addrTwin(f Field) Field {
	switch f {
	case PktSrcAddr:
		return SrcAddr
	case PktDstAddr:
		return DstAddr
	}
	return f
}

// SetEnum sets action, log-status or flow-direction from its text. An
// action that is not a known value is kept as ActionOther when it has the
// action shape (Field.Shape), and is ProblemMalformed otherwise; an unknown
// log-status or flow-direction is ProblemBadValue.
func (r *Record) SetEnum(f Field, v []byte) Problem {
	r.Text[f] = v
	r.Present |= 1 << f
	switch f {
	case Action:
		switch string(v) {
		case "ACCEPT":
			r.Action = Accept
		case "REJECT":
			r.Action = Reject
		case "DROP":
			r.Action = Drop
		default:
			if !validAction(v) {
				return ProblemMalformed
			}
			r.Action = ActionOther
		}
	case LogStatus:
		switch string(v) {
		case "OK":
			r.LogStatus = StatusOK
		case "NODATA":
			r.LogStatus = StatusNoData
		case "SKIPDATA":
			r.LogStatus = StatusSkipData
		default:
			return ProblemBadValue
		}
	case FlowDirection:
		switch string(v) {
		case "ingress":
			r.FlowDirection = Ingress
		case "egress":
			r.FlowDirection = Egress
		default:
			return ProblemBadValue
		}
	}
	return NoProblem
}

// SetInt sets the numeric field f (Kind KindUint) from an integer, as Parquet
// stores it; buf receives the value's text and is returned extended, so one
// buffer can serve a whole record.
func (r *Record) SetInt(f Field, n int64, buf []byte) ([]byte, Problem) {
	r.Present |= 1 << f
	start := len(buf)
	buf = strconv.AppendInt(buf, n, 10)
	r.Text[f] = buf[start:len(buf):len(buf)]
	if n < 0 {
		return buf, ProblemNegative
	}
	if uint64(n) > fields[f].max {
		return buf, ProblemOverflow
	}
	r.setUint(f, uint64(n))
	return buf, NoProblem
}

func (r *Record) setUint(f Field, n uint64) {
	switch f {
	case Version:
		r.Version = uint8(n)
	case SrcPort:
		r.SrcPort = uint16(n)
	case DstPort:
		r.DstPort = uint16(n)
	case Protocol:
		r.Protocol = uint8(n)
	case TCPFlags:
		r.TCPFlags = uint16(n)
	case TrafficPath:
		r.TrafficPath = uint8(n)
	case Packets:
		r.Packets = n
	case Bytes:
		r.Bytes = n
	case Start:
		r.Start = int64(n)
	case End:
		r.End = int64(n)
	}
}

// Bounds of a record's times (Unix seconds): AWS capture windows are at most
// ten minutes long, and flow logs exist since 2015.
const (
	MinTime = 946684800  // 2000-01-01T00:00:00Z
	MaxTime = 4102444800 // 2100-01-01T00:00:00Z
	MaxSpan = 3600       // end − start
)

// Check validates the record as a whole once its fields are set: log-status,
// start and end must be present; a traffic record (OK) also needs bytes,
// packets and action; end must not be earlier than start, both must lie in
// [MinTime, MaxTime) and at most MaxSpan apart. It returns the problem and
// the field it concerns.
func (r *Record) Check() (Problem, Field) {
	const always = 1<<LogStatus | 1<<Start | 1<<End
	const traffic = always | 1<<Bytes | 1<<Packets | 1<<Action
	need := Set(always)
	if r.LogStatus == StatusOK {
		need = traffic
	}
	if r.Present&need != need {
		for _, f := range [...]Field{LogStatus, Bytes, Packets, Start, End, Action} {
			if need.Has(f) && !r.Present.Has(f) {
				return ProblemMissing, f
			}
		}
	}
	switch {
	case r.End < r.Start:
		return ProblemEndBeforeStart, End
	case r.Start < MinTime:
		return ProblemTimeRange, Start
	case r.End >= MaxTime:
		return ProblemTimeRange, End
	case r.End-r.Start > MaxSpan:
		return ProblemTimeRange, End
	}
	return NoProblem, 0
}

// parseUint parses a decimal number of at most max.
func parseUint(v []byte, max uint64) (uint64, Problem) {
	if len(v) == 0 {
		return 0, ProblemNotNumber
	}
	if v[0] == '-' {
		if len(v) > 1 && allDigits(v[1:]) {
			return 0, ProblemNegative
		}
		return 0, ProblemNotNumber
	}
	var n uint64
	if len(v) <= 19 { // 19 digits cannot overflow uint64
		for _, c := range v {
			d := c - '0'
			if d > 9 {
				return 0, ProblemNotNumber
			}
			n = n*10 + uint64(d)
		}
	} else {
		if !allDigits(v) {
			return 0, ProblemNotNumber
		}
		if len(v) > 20 { // longer than any uint64, even if it is leading zeros
			return 0, ProblemOverflow
		}
		for _, c := range v {
			d := uint64(c - '0')
			if n > (^uint64(0)-d)/10 {
				return 0, ProblemOverflow
			}
			n = n*10 + d
		}
	}
	if n > max {
		return 0, ProblemOverflow
	}
	return n, NoProblem
}

func allDigits(v []byte) bool {
	for _, c := range v {
		if c-'0' > 9 {
			return false
		}
	}
	return true
}

// validAddr reports whether v is an IPv4 or IPv6 address. IPv4 addresses,
// by far the most common, are checked in place without building one. It is
// not inlined: inside the decoder's large loop its counters would live on
// the stack.
//
//go:noinline
func validAddr(v []byte) bool {
	var n, digits, dots int
	for _, c := range v {
		if c-'0' <= 9 {
			n = n*10 + int(c-'0')
			digits++
			if n > 255 || digits > 3 {
				return validAddr6(v) // "2001:db8::1" starts with digits
			}
			continue
		}
		if c != '.' {
			return validAddr6(v)
		}
		if digits == 0 {
			return false
		}
		dots++
		n, digits = 0, 0
	}
	return dots == 3 && digits > 0
}

func validAddr6(v []byte) bool {
	_, ok := parseAddr6(v)
	return ok
}

// parseAddr parses an IPv4 address with a fast path, or an IPv6 address
// (zones are refused: flow logs never carry them).
func parseAddr(v []byte) (netip.Addr, bool) {
	var a [4]byte
	var n, digits, octet int
	for _, c := range v {
		switch {
		case c-'0' <= 9:
			n = n*10 + int(c-'0')
			digits++
			if n > 255 || digits > 3 {
				return parseAddr6(v) // "2001:db8::1" starts with digits
			}
		case c == '.':
			if digits == 0 || octet == 3 {
				return netip.Addr{}, false
			}
			a[octet] = byte(n)
			octet++
			n, digits = 0, 0
		case c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'f'):
			return parseAddr6(v)
		default:
			return netip.Addr{}, false
		}
	}
	if octet != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	a[3] = byte(n)
	return netip.AddrFrom4(a), true
}

func parseAddr6(v []byte) (netip.Addr, bool) {
	for _, c := range v {
		if c == '%' {
			return netip.Addr{}, false
		}
	}
	// netip.ParseAddr keeps no reference to its argument when there is no
	// zone, so the bytes can be viewed as a string without a copy.
	a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(v), len(v)))
	if err != nil || !a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}
