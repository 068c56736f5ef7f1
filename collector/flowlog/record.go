package flowlog

import "net/netip"

// ActionValue is the value of the record's action field: one of the known
// values, or ActionOther for any other value of the action shape (see
// Field.Shape), whose text only the record holds (Record.Text[Action]).
// Every value is kept as written: AWS may add actions, as it added DROP.
type ActionValue uint8

// Actions.
const (
	ActionNone ActionValue = iota // absent ("-"), as on NODATA and SKIPDATA records
	Accept
	Reject
	Drop
	// ActionOther is a value of the action shape that is none of the
	// above; Record.Text[Action] holds it.
	ActionOther
	// NumActions is the number of ActionValues.
	NumActions
)

// String returns the action as AWS writes it; "-" for ActionNone, and "?"
// for ActionOther, whose text is the record's (Record.Text[Action]).
func (a ActionValue) String() string {
	switch a {
	case Accept:
		return "ACCEPT"
	case Reject:
		return "REJECT"
	case Drop:
		return "DROP"
	case ActionOther:
		return "?"
	}
	return "-"
}

// Status is the value of the record's log-status field.
type Status uint8

// Log statuses.
const (
	StatusNone Status = iota // absent ("-")
	StatusOK
	StatusNoData   // no traffic to or from the interface in the window
	StatusSkipData // AWS skipped records in the window: data was lost
)

// String returns the status as AWS writes it.
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusNoData:
		return "NODATA"
	case StatusSkipData:
		return "SKIPDATA"
	}
	return "-"
}

// Direction is the value of the record's flow-direction field.
type Direction uint8

// Flow directions.
const (
	DirectionNone Direction = iota // absent ("-")
	Ingress
	Egress
)

// String returns the direction as AWS writes it.
func (d Direction) String() string {
	switch d {
	case Ingress:
		return "ingress"
	case Egress:
		return "egress"
	}
	return "-"
}

// Values are the typed values of a record: its numbers and enumerated fields.
// An absent field's value is zero.
type Values struct {
	Version     uint8
	SrcPort     uint16
	DstPort     uint16
	Protocol    uint8
	TCPFlags    uint16
	TrafficPath uint8
	Packets     uint64
	Bytes       uint64
	Start       int64 // Unix seconds
	End         int64 // Unix seconds

	Action        ActionValue
	LogStatus     Status
	FlowDirection Direction
}

// Record is one decoded flow log record. Decoders reuse one Record for every
// record of an object: byte slices point into the decoder's buffers and stay
// valid only until the next record is decoded. Copy what must outlive it.
//
// A field is present when Present has it; an absent field ("-") has a zero
// typed value. Numeric and enum fields are typed (Values); every field that
// is present has its text in Text. Addresses are checked while decoding and
// kept as text (labels use the text as AWS wrote it); Addr parses one when
// needed.
type Record struct {
	// Format is the object's column list: what Extra's values are named.
	Format *Format
	// Present is the set of known fields that have a value.
	Present Set
	Values

	// Text holds the value of each present field as written; the text of
	// an absent field is stale and must not be read (use Get).
	Text [NumFields][]byte
	// Extra holds the values of the columns that are not known fields, in
	// Format.Unknown order; nil for an absent ("-") value.
	Extra [][]byte
}

// Reset clears the record for reuse, keeping its buffers.
func (r *Record) Reset(extra int) {
	r.Present = 0
	r.Values = Values{}
	if cap(r.Extra) < extra {
		r.Extra = make([][]byte, extra)
	}
	r.Extra = r.Extra[:extra]
	clear(r.Extra)
}

// Get returns the text of field f and whether it is present.
func (r *Record) Get(f Field) ([]byte, bool) {
	if !r.Present.Has(f) {
		return nil, false
	}
	return r.Text[f], true
}

// Addr returns the value of the address field f (srcaddr, dstaddr,
// pkt-srcaddr or pkt-dstaddr) and whether it is present and valid.
func (r *Record) Addr(f Field) (netip.Addr, bool) {
	v, ok := r.Get(f)
	if !ok || f.Kind() != KindAddr {
		return netip.Addr{}, false
	}
	return parseAddr(v)
}
