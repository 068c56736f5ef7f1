package flowlog

import (
	"encoding/binary"
	"math/bits"
)

// Text fields become label values (account-id, interface-id, vpc-id, …), and
// a label value over 4 KiB is dropped by VictoriaMetrics without telling the
// writer. So every text field that can become a label is checked against the
// shape AWS documents for it, with a small length bound: strict where AWS is
// strict (resource ids, account ids), tolerant where AWS adds values over time
// (service names, reject reasons, zone ids) — a character class and a bound
// rather than a closed list. No value over MaxLabelBytes passes.

// MaxLabelBytes bounds the length of every text field that can become a
// label. VictoriaMetrics drops a series whose label value is over 4 KiB;
// the longest value AWS writes in these fields is about 40 bytes.
const MaxLabelBytes = 64

// maxHexDigits bounds the hex part of a resource id ("eni-" + hex). AWS
// writes 8 (old) or 17 hex digits; room is left for a longer id format.
const maxHexDigits = 32

// shapes gives each text field that can become a label its maximum length
// in bytes and a description of its values (validString has the checks).
var shapes = [NumFields]struct {
	max  int
	desc string
}{
	AccountID:        {12, `12 digits, or "unknown"`},
	InterfaceID:      {4 + maxHexDigits, `"eni-" and 1 to 32 lowercase hex digits`},
	VPCID:            {4 + maxHexDigits, `"vpc-" and 1 to 32 lowercase hex digits`},
	SubnetID:         {7 + maxHexDigits, `"subnet-" and 1 to 32 lowercase hex digits`},
	InstanceID:       {2 + maxHexDigits, `"i-" and 1 to 32 lowercase hex digits`},
	Region:           {32, "a region name like us-east-1: a lowercase letter first, a digit last, lowercase letters, digits and '-', at most 32 bytes"},
	AZID:             {32, "a zone id like use1-az1: lowercase letters, digits and '-', a letter or digit at each end, at most 32 bytes"},
	SublocationType:  {32, "lowercase letters (wavelength, outpost, localzone), at most 32 bytes"},
	SublocationID:    {MaxLabelBytes, "a sublocation id like op-0123456789abcdef0: lowercase letters, digits and '-', a letter or digit at each end, at most 64 bytes"},
	PktSrcAWSService: {MaxLabelBytes, "a service name like AMAZON or S3: an upper-case letter, then upper-case letters, digits and '_', at most 64 bytes"},
	PktDstAWSService: {MaxLabelBytes, "a service name like AMAZON or S3: an upper-case letter, then upper-case letters, digits and '_', at most 64 bytes"},
	RejectReason:     {MaxLabelBytes, "a reason like BPA: an upper-case letter, then upper-case letters, digits and '_', at most 64 bytes"},
	Type:             {16, "a letter, then letters and digits (IPv4, IPv6, EFA), at most 16 bytes"},
	Action:           {MaxActionBytes, "an upper-case letter, then upper-case letters, digits and '_' (ACCEPT, REJECT, DROP), at most 16 bytes"},
}

// MaxActionBytes bounds the length of an action value: AWS's are four to
// six letters, and any value of the action shape becomes a label.
const MaxActionBytes = 16

// Shape describes the values a text field (or the action) accepts, for
// messages; "" for fields that are not checked.
func (f Field) Shape() string {
	if f >= NumFields || fields[f].kind != KindString && f != Action {
		return ""
	}
	return shapes[f].desc
}

// validAction reports whether v has the action shape: an upper-case letter,
// then upper-case letters, digits and '_', at most MaxActionBytes. Values
// of this shape that are not known actions are kept (ActionOther).
func validAction(v []byte) bool {
	n := len(v)
	return n > 0 && n <= MaxActionBytes && v[0]-'A' < 26 && allOf(v, &upperWordClass)
}

// SetString sets the text field f (Kind KindString) from v, which must not be
// "-" (absent), and returns ProblemMalformed when v does not have the shape
// AWS documents for f (see Shape). v is kept, not copied.
func (r *Record) SetString(f Field, v []byte) Problem {
	r.Text[f] = v
	r.Present |= 1 << f
	if !validString(f, v) {
		return ProblemMalformed
	}
	return NoProblem
}

// ValidString reports whether v, the text of the field f, has the shape AWS
// documents for f (see Shape); any value of a field that is not checked
// passes. SetString sets a field with this check.
func ValidString(f Field, v []byte) bool { return validString(f, v) }

// checkedText is the set of text fields whose values are checked: every one
// but the ecs-* fields, which are not labels.
const checkedText = Set(1<<AccountID | 1<<InterfaceID | 1<<VPCID | 1<<SubnetID | 1<<InstanceID | 1<<Type |
	1<<Region | 1<<AZID | 1<<SublocationType | 1<<SublocationID | 1<<PktSrcAWSService | 1<<PktDstAWSService |
	1<<RejectReason)

// rareText are the checked text fields that most records leave absent.
const rareText = checkedText &^ Set(1<<AccountID|1<<InterfaceID|1<<VPCID|1<<SubnetID|1<<InstanceID|1<<Type|1<<Region|1<<AZID)

// CheckText checks the present text fields that can become labels, as
// SetString does, for a decoder that sets Text itself; it returns
// ProblemMalformed and the first field whose value does not have its shape.
// It is on the decoder's hot path: the common fields are checked in line,
// eight bytes at a time.
func (r *Record) CheckText() (Problem, Field) {
	p := r.Present
	switch {
	case p.Has(AccountID) && !validAccount(r.Text[AccountID]):
		return ProblemMalformed, AccountID
	case p.Has(InterfaceID) && !hexID(r.Text[InterfaceID], 'e'|'n'<<8|'i'<<16|'-'<<24, 4):
		return ProblemMalformed, InterfaceID
	case p.Has(VPCID) && !hexID(r.Text[VPCID], 'v'|'p'<<8|'c'<<16|'-'<<24, 4):
		return ProblemMalformed, VPCID
	case p.Has(SubnetID) && !hexID(r.Text[SubnetID], 's'|'u'<<8|'b'<<16|'n'<<24|'e'<<32|'t'<<40|'-'<<48, 7):
		return ProblemMalformed, SubnetID
	case p.Has(InstanceID) && !hexID(r.Text[InstanceID], 'i'|'-'<<8, 2):
		return ProblemMalformed, InstanceID
	case p.Has(Type) && !validType(r.Text[Type]):
		return ProblemMalformed, Type
	case p.Has(Region) && !validRegion(r.Text[Region]):
		return ProblemMalformed, Region
	case p.Has(AZID) && !validZone(r.Text[AZID], 32):
		return ProblemMalformed, AZID
	}
	for s := uint64(p & rareText); s != 0; s &= s - 1 {
		if f := Field(bits.TrailingZeros64(s)); !validString(f, r.Text[f]) {
			return ProblemMalformed, f
		}
	}
	return NoProblem, 0
}

// validString reports whether v has the shape of the text field f. It is
// on the decoder's hot path: the common fields are tested eight bytes at a
// time with constants the compiler folds in.
func validString(f Field, v []byte) bool {
	n := len(v)
	switch f {
	case AccountID:
		return validAccount(v)
	case InterfaceID:
		return hexID(v, 'e'|'n'<<8|'i'<<16|'-'<<24, 4)
	case VPCID:
		return hexID(v, 'v'|'p'<<8|'c'<<16|'-'<<24, 4)
	case SubnetID:
		return hexID(v, 's'|'u'<<8|'b'<<16|'n'<<24|'e'<<32|'t'<<40|'-'<<48, 7)
	case InstanceID:
		return hexID(v, 'i'|'-'<<8, 2)
	case Type:
		return validType(v)
	case Region:
		return validRegion(v)
	case AZID:
		return validZone(v, 32)
	case SublocationID:
		return validZone(v, MaxLabelBytes)
	case SublocationType:
		return n > 0 && n <= 32 && allOf(v, &lowerClass)
	case PktSrcAWSService, PktDstAWSService, RejectReason:
		return n > 0 && n <= MaxLabelBytes && v[0]-'A' < 26 && allOf(v, &upperWordClass)
	case Action:
		return validAction(v)
	}
	return true
}

// validAccount reports whether v is 12 digits, or "unknown".
func validAccount(v []byte) bool {
	if len(v) == 12 { // two words, overlapping
		return notDigit(binary.LittleEndian.Uint64(v))|notDigit(binary.LittleEndian.Uint64(v[4:])) == 0
	}
	return string(v) == "unknown"
}

// validType reports whether v is IPv4, IPv6, or another name of at most 16
// letters and digits.
func validType(v []byte) bool {
	n := len(v)
	return n == 4 && (string(v) == "IPv4" || string(v) == "IPv6") ||
		n > 0 && n <= 16 && (v[0]|0x20)-'a' < 26 && allOf(v, &alnumClass)
}

// validRegion reports whether v is a region name like us-east-1.
func validRegion(v []byte) bool {
	n := len(v)
	return n > 0 && n <= 32 && v[0]-'a' < 26 && v[n-1]-'0' < 10 && allLowerWord(v)
}

// validZone reports whether v is a zone or sublocation id like use1-az1 of
// at most max bytes.
func validZone(v []byte, max int) bool {
	n := len(v)
	return n > 0 && n <= max && isLowerAlnum(v[0]) && isLowerAlnum(v[n-1]) && allLowerWord(v)
}

// hexID reports whether v is a prefix of plen (2 to 7) bytes, given little
// endian in prefix, then 1 to maxHexDigits lowercase hex digits. AWS ids
// have 17 digits (8 in old ones): that case is three words, checked at once.
func hexID(v []byte, prefix uint64, plen int) bool {
	n := len(v)
	if n != plen+17 || n < 16 {
		return hexIDSlow(v, prefix, plen)
	}
	pmask := uint64(1)<<(8*uint(plen)&63) - 1 // the prefix's bytes in a word
	w := binary.LittleEndian.Uint64(v)
	return w&pmask == prefix && (notHex(w)&^pmask|notHex(binary.LittleEndian.Uint64(v[8:]))|notHex(binary.LittleEndian.Uint64(v[n-8:]))) == 0
}

// hexIDSlow is hexID for ids of other lengths.
func hexIDSlow(v []byte, prefix uint64, plen int) bool {
	n := len(v)
	if n <= plen || n > plen+maxHexDigits {
		return false
	}
	var p [8]byte
	binary.LittleEndian.PutUint64(p[:], prefix)
	return string(v[:plen]) == string(p[:plen]) && allOf(v[plen:], &hexClass)
}

// allLowerWord reports whether v holds only lowercase letters, digits and
// '-'.
func allLowerWord(v []byte) bool {
	n := len(v)
	if n >= 8 && n <= 16 {
		return notLowerWord(binary.LittleEndian.Uint64(v))|notLowerWord(binary.LittleEndian.Uint64(v[n-8:])) == 0
	}
	return allOf(v, &lowerWordClass)
}

// notDigit, notHex and notLowerWord are charClass.outside for their
// classes, with constant ranges.
func notDigit(x uint64) uint64 {
	y := x & lows
	in := (y + ones*(0x80-'0')) &^ (y + ones*(0x7f-'9'))
	return ^(in &^ x) & highs
}

func notHex(x uint64) uint64 {
	y := x & lows
	in := (y+ones*(0x80-'0'))&^(y+ones*(0x7f-'9')) | (y+ones*(0x80-'a'))&^(y+ones*(0x7f-'f'))
	return ^(in &^ x) & highs
}

func notLowerWord(x uint64) uint64 {
	y := x & lows
	in := (y+ones*(0x80-'0'))&^(y+ones*(0x7f-'9')) | (y+ones*(0x80-'a'))&^(y+ones*(0x7f-'z')) |
		(y+ones*(0x80-'-'))&^(y+ones*(0x7f-'-'))
	return ^(in &^ x) & highs
}

func isLowerAlnum(c byte) bool { return c-'a' < 26 || c-'0' < 10 }

// charClass is a set of up to three ranges of ASCII bytes, tested eight
// bytes at a time: for a range [lo, hi], add is 0x80-lo and sub 0x7f-hi in
// every byte, so that, on the low seven bits of a byte, adding add sets its
// high bit when the byte is at least lo, and adding sub when it is above
// hi. Nothing carries from one byte into the next. Bytes above 0x7f are in
// no class.
type charClass struct {
	add, sub [3]uint64
	table    [256]bool // the same test a byte at a time, for short values
}

func newClass(ranges ...[2]byte) charClass {
	var c charClass
	for i := range c.add {
		r := ranges[min(i, len(ranges)-1)]
		c.add[i] = ones * uint64(0x80-r[0])
		c.sub[i] = ones * uint64(0x7f-r[1])
		for b := int(r[0]); b <= int(r[1]); b++ {
			c.table[b] = true
		}
	}
	return c
}

var (
	digitClass     = newClass([2]byte{'0', '9'})
	hexClass       = newClass([2]byte{'0', '9'}, [2]byte{'a', 'f'})
	lowerWordClass = newClass([2]byte{'0', '9'}, [2]byte{'a', 'z'}, [2]byte{'-', '-'})
	lowerClass     = newClass([2]byte{'a', 'z'})
	upperWordClass = newClass([2]byte{'0', '9'}, [2]byte{'A', 'Z'}, [2]byte{'_', '_'})
	alnumClass     = newClass([2]byte{'0', '9'}, [2]byte{'A', 'Z'}, [2]byte{'a', 'z'})
)

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	lows  = 0x7f7f7f7f7f7f7f7f
)

// outside returns a word whose high bit of byte k is set when byte k of x is
// not in the class.
func (c *charClass) outside(x uint64) uint64 {
	y := x & lows
	in := (y+c.add[0])&^(y+c.sub[0]) | (y+c.add[1])&^(y+c.sub[1]) | (y+c.add[2])&^(y+c.sub[2])
	return ^(in &^ x) & highs
}

// allOf reports whether every byte of v is in class c.
func allOf(v []byte, c *charClass) bool {
	n := len(v)
	if n < 8 {
		for _, b := range v {
			if !c.table[b] {
				return false
			}
		}
		return true
	}
	var bad uint64
	for i := 0; i+8 < n; i += 8 {
		bad |= c.outside(binary.LittleEndian.Uint64(v[i:]))
	}
	// The last eight bytes, overlapping the word before when n is not a
	// multiple of eight: checking a byte twice does no harm.
	return bad|c.outside(binary.LittleEndian.Uint64(v[n-8:])) == 0
}
