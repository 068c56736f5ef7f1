package flowlog

import (
	"fmt"
	"strings"
)

// Format is the ordered list of columns of a flow log object: what its header
// line names, or what a headerless source is configured with. Columns whose
// name is not a known field are kept as extra attributes.
type Format struct {
	fields  []Field  // per column; Unknown for an extra attribute
	names   []string // per column, as written
	extra   []int    // per column: index into Record.Extra, or -1
	unknown []string // names of the extra attributes, in column order
	set     Set
}

// NewFormat builds a format from column names as they appear in a header line
// (or a Parquet schema: '_' is accepted for '-'). Names must be non-empty and
// unique.
func NewFormat(names []string) (*Format, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("format has no fields")
	}
	f := &Format{
		fields: make([]Field, len(names)),
		names:  make([]string, len(names)),
		extra:  make([]int, len(names)),
	}
	seen := make(map[string]bool, len(names))
	for i, name := range names {
		if name == "" {
			return nil, fmt.Errorf("format column %d has an empty name", i+1)
		}
		known, ok := Lookup(name)
		key := name
		if ok {
			key = known.String()
		}
		if seen[key] {
			return nil, fmt.Errorf("format names field %q twice", key)
		}
		seen[key] = true
		f.names[i] = name
		f.extra[i] = -1
		if ok {
			f.fields[i] = known
			f.set = f.set.With(known)
			continue
		}
		f.fields[i] = Unknown
		f.extra[i] = len(f.unknown)
		f.unknown = append(f.unknown, name)
	}
	return f, nil
}

// NewParquetFormat builds the format of a Parquet object from its column
// names, as NewFormat does, except that the extra attributes are named as a
// text header would name them: AWS names a Parquet column after its field
// with each '-' replaced by '_', so an extra column "interface_type" is
// the field "interface-type" (Unknown, and the keys AppendJSON writes), and
// a record reads the same from either format. A column whose text name
// another column already has (a schema holding both "a_b" and "a-b") keeps
// its name as written.
func NewParquetFormat(names []string) (*Format, error) {
	f, err := NewFormat(names)
	if err != nil {
		return nil, err
	}
	taken := make(map[string]bool, len(names))
	for _, name := range names {
		taken[name] = true
	}
	for i, name := range f.unknown {
		text := strings.ReplaceAll(name, "_", "-")
		if text == name || taken[text] {
			continue
		}
		taken[text] = true
		f.unknown[i] = text
	}
	return f, nil
}

// versionFormat returns the format that holds every field up to version v,
// in AWS order.
func versionFormat(v int) *Format {
	var names []string
	for f := Field(0); f < NumFields; f++ {
		if f.Version() <= v {
			names = append(names, f.String())
		}
	}
	format, err := NewFormat(names)
	if err != nil {
		panic(err) // the known field table is fixed and unique
	}
	return format
}

var defaultFormat = versionFormat(2)

// DefaultFormat returns the AWS default format (version 2): what headerless
// objects are decoded with unless configured otherwise. Formats are
// immutable, so the same one is returned every time.
func DefaultFormat() *Format { return defaultFormat }

// ParseFormat parses a format given by a version name ("v2" … "v8": every field
// up to that version, in AWS order) or by a list of field names separated by
// spaces or commas. The AWS console syntax "${version} ${account-id} …" is
// accepted too.
func ParseFormat(s string) (*Format, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2 && (s[0] == 'v' || s[0] == 'V') && s[1] >= '2' && s[1] <= '8' {
		return versionFormat(int(s[1] - '0')), nil
	}
	names := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	for i, n := range names {
		names[i] = strings.TrimSuffix(strings.TrimPrefix(n, "${"), "}")
	}
	f, err := NewFormat(names)
	if err != nil {
		return nil, fmt.Errorf("parse format %q: %w", s, err)
	}
	if f.set == 0 {
		return nil, fmt.Errorf("parse format %q: no known field (want v2 … v8 or field names such as version, bytes, log-status)", s)
	}
	return f, nil
}

// Len returns the number of columns.
func (f *Format) Len() int { return len(f.fields) }

// Field returns the known field of column i, or Unknown.
func (f *Format) Field(i int) Field { return f.fields[i] }

// Name returns the name of column i as written (in a Parquet schema, with
// '_' for '-').
func (f *Format) Name(i int) string { return f.names[i] }

// ExtraIndex returns, for a column that is not a known field, its index in
// Record.Extra; -1 for a known field.
func (f *Format) ExtraIndex(i int) int { return f.extra[i] }

// Set returns the known fields the format holds.
func (f *Format) Set() Set { return f.set }

// Has reports whether the format holds the known field x.
func (f *Format) Has(x Field) bool { return f.set.Has(x) }

// Unknown returns the names of the columns that are not known fields, in
// column order, as a text header names them (see NewParquetFormat);
// Record.Extra holds their values in the same order.
func (f *Format) Unknown() []string { return f.unknown }

// MissingRequired returns the fields traffic accounting needs (Required)
// that the format does not hold.
func (f *Format) MissingRequired() []Field { return f.Missing(required[:]) }

// Missing returns the fields of want that the format does not hold.
func (f *Format) Missing(want []Field) []Field {
	var out []Field
	for _, x := range want {
		if !f.Has(x) {
			out = append(out, x)
		}
	}
	return out
}

// String returns the column names separated by spaces, as a header line.
func (f *Format) String() string { return strings.Join(f.names, " ") }
