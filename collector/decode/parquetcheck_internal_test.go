package decode

import (
	"errors"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

func TestThriftStructLen(t *testing.T) {
	header := format.PageHeader{Type: format.DataPage, UncompressedPageSize: 100, CompressedPageSize: 80}
	header.DataPageHeader.Valid = true
	header.DataPageHeader.V.NumValues = 7
	header.DataPageHeader.V.Statistics.MinValue = []byte("eni-0123456789abcdef0")
	valid, err := thrift.Marshal(new(thrift.CompactProtocol), &header)
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string, b []byte, wantLen int, wantErr string) {
		t.Helper()
		n, err := thriftStructLen(b)
		switch {
		case wantErr == "" && (err != nil || n != wantLen):
			t.Errorf("%s: %d, %v; want %d", name, n, err, wantLen)
		case wantErr == "short" && !errors.Is(err, errShort):
			t.Errorf("%s: %d, %v; want errShort", name, n, err)
		case wantErr != "" && wantErr != "short" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: %d, %v; want an error about %q", name, n, err, wantErr)
		}
	}
	f("page header", valid, len(valid), "")
	f("page header and page", append(append([]byte{}, valid...), "page bytes"...), len(valid), "")
	f("cut page header", valid[:len(valid)-3], 0, "short")
	f("empty", nil, 0, "short")
	f("empty struct", []byte{0}, 1, "")
	// Field 1, binary, of 2^31-1 bytes: 2 GiB declared in 7 bytes.
	f("binary longer than the input", []byte{0x18, 0xff, 0xff, 0xff, 0xff, 0x07, 'x', 0}, 0, "short")
	f("binary length out of range", []byte{0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0}, 0, "out of range")
	// Field 1, list of i32 with 2^31-1 elements.
	f("list longer than the input", []byte{0x19, 0xf5, 0xff, 0xff, 0xff, 0xff, 0x07, 1, 0}, 0, "short")
	f("list of three i32", []byte{0x19, 0x35, 2, 4, 6, 0}, 6, "")
	f("list of bools", []byte{0x19, 0x21, 1, 2, 0}, 5, "")
	f("map of one i32 to binary", []byte{0x1b, 1, 0x58, 2, 1, 'x', 0}, 7, "")
	f("map larger than the input", []byte{0x1b, 0xff, 0xff, 0x03, 0x58, 0}, 0, "short")
	f("unknown type", []byte{0x1e, 0}, 0, "unknown thrift type")
	f("long varint", append([]byte{0x15}, strings.Repeat("\xff", 11)...), 0, "longer than 10 bytes")
	deep := strings.Repeat("\x1c", 40) + strings.Repeat("\x00", 41) // structs in structs
	f("nested too deep", []byte(deep), 0, "deeper than")
	ok := strings.Repeat("\x1c", 10) + strings.Repeat("\x00", 11)
	f("nested", []byte(ok), len(ok), "")
	f("field id in a varint", []byte{0x05, 0x04, 0x02, 0}, 4, "")
}

func TestDecodeLimit(t *testing.T) {
	f := func(o Options, stored, want int64) {
		t.Helper()
		o = o.withDefaults()
		if got, why := o.decodeLimit(stored); got != want || (want >= 0) != (why != "") {
			t.Errorf("%+v, %d stored: %d (%q), want %d", o, stored, got, why, want)
		}
	}
	f(Options{}, 1000, ExpansionFloor)
	f(Options{}, 1<<30, DefaultMaxObjectBytes)
	f(Options{}, 10<<20, 200*10<<20)
	f(Options{MaxExpansion: -1}, 1000, DefaultMaxObjectBytes)
	f(Options{MaxObjectBytes: 5000}, 1000, 5000)
	f(Options{MaxObjectBytes: -1, MaxExpansion: -1}, 1000, -1)
	f(Options{MaxObjectBytes: -1}, 1<<62, -1)
}
