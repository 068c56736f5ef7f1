package flowlog

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the record as one JSON object: keys are the field names
// of the record's format as AWS writes them, numeric fields (version,
// srcport, dstport, protocol, packets, bytes, start, end, tcp-flags,
// traffic-path) are JSON numbers, every other field is a string, and absent
// fields are omitted. Columns that are not known fields appear under their
// own names, as a text header names them (Format.Unknown): the extra column
// "interface_type" of a Parquet object is "interface-type".
func AppendJSON(dst []byte, r *Record) []byte {
	format := r.Format
	dst = append(dst, '{')
	first := true
	key := func(name string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
	}
	for i := 0; i < format.Len(); i++ {
		f := format.Field(i)
		if f == Unknown {
			x := format.ExtraIndex(i)
			v := r.Extra[x]
			if v == nil {
				continue
			}
			key(format.unknown[x])
			dst = appendJSONString(dst, v)
			continue
		}
		if !r.Present.Has(f) {
			continue
		}
		key(f.String())
		if f.Kind() == KindUint {
			dst = strconv.AppendUint(dst, r.Uint(f), 10)
			continue
		}
		dst = appendJSONString(dst, r.Text[f])
	}
	return append(dst, '}')
}

// Uint returns the value of the numeric field f (zero when absent).
func (r *Record) Uint(f Field) uint64 {
	switch f {
	case Version:
		return uint64(r.Version)
	case SrcPort:
		return uint64(r.SrcPort)
	case DstPort:
		return uint64(r.DstPort)
	case Protocol:
		return uint64(r.Protocol)
	case TCPFlags:
		return uint64(r.TCPFlags)
	case TrafficPath:
		return uint64(r.TrafficPath)
	case Packets:
		return r.Packets
	case Bytes:
		return r.Bytes
	case Start:
		return uint64(r.Start)
	case End:
		return uint64(r.End)
	}
	return 0
}

const hex = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping quotes, backslashes
// and control characters and replacing invalid UTF-8 with U+FFFD.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))])) // a short conversion: no allocation
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendText appends the record as one line of a text object in the record's
// format, without the line end: values separated by single spaces, "-" for an
// absent value. Numeric fields are written from their typed values, every
// other field from its text.
func AppendText(dst []byte, r *Record) []byte {
	format := r.Format
	for i := 0; i < format.Len(); i++ {
		if i > 0 {
			dst = append(dst, ' ')
		}
		f := format.Field(i)
		var v []byte
		switch {
		case f == Unknown:
			v = r.Extra[format.ExtraIndex(i)]
		case !r.Present.Has(f):
		case f.Kind() == KindUint:
			dst = strconv.AppendUint(dst, r.Uint(f), 10)
			continue
		default:
			v = r.Text[f]
		}
		if len(v) == 0 {
			dst = append(dst, '-')
			continue
		}
		dst = append(dst, v...)
	}
	return dst
}
