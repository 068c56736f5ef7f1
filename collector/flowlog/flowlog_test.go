package flowlog

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseFormat(t *testing.T) {
	f := func(in, want string, wantErr bool) {
		t.Helper()
		got, err := ParseFormat(in)
		if wantErr {
			if err == nil {
				t.Errorf("ParseFormat(%q) = %v, want an error", in, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseFormat(%q): %v", in, err)
		}
		if got.String() != want {
			t.Errorf("ParseFormat(%q) = %q, want %q", in, got, want)
		}
	}
	v2 := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
	f("v2", v2, false)
	f(" V2 ", v2, false)
	f("v5", v2+" vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path", false)
	f("${version} ${vpc-id}", "version vpc-id", false)
	f("bytes,packets, start", "bytes packets start", false)
	f("log_status bytes", "log_status bytes", false)
	f("future-field bytes", "future-field bytes", false)
	f("", "", true)
	f("bytes bytes", "", true)
	f("log-status log_status", "", true)
	f("v9", "", true)
	f("hello world", "", true)
}

func TestVersionFormats(t *testing.T) {
	for v, want := range map[string]int{"v2": 14, "v3": 21, "v4": 25, "v5": 29, "v6": 29, "v7": 39, "v8": 40} {
		f, err := ParseFormat(v)
		if err != nil || f.Len() != want || len(f.MissingRequired()) != 0 {
			t.Errorf("%s: %d fields (err %v), want %d with every required one", v, f.Len(), err, want)
		}
	}
	if DefaultFormat().Len() != 14 {
		t.Errorf("default format has %d fields", DefaultFormat().Len())
	}
}

func TestLookup(t *testing.T) {
	for f := Field(0); f < NumFields; f++ {
		if got, ok := Lookup(f.String()); !ok || got != f {
			t.Errorf("Lookup(%q) = %v, %v", f.String(), got, ok)
		}
		if got, ok := Lookup(f.ParquetName()); !ok || got != f {
			t.Errorf("Lookup(%q) = %v, %v", f.ParquetName(), got, ok)
		}
	}
	if _, ok := Lookup("interface-type"); ok {
		t.Error("interface-type is not a known field")
	}
}

func TestParseUint(t *testing.T) {
	f := func(in string, max uint64, want uint64, wantP Problem) {
		t.Helper()
		got, p := parseUint([]byte(in), max)
		if got != want || p != wantP {
			t.Errorf("parseUint(%q, %d) = %d, %v; want %d, %v", in, max, got, p, want, wantP)
		}
	}
	f("0", 10, 0, NoProblem)
	f("007", 10, 7, NoProblem)
	f("65535", 65535, 65535, NoProblem)
	f("65536", 65535, 0, ProblemOverflow)
	f("9223372036854775807", maxInt64, maxInt64, NoProblem)
	f("9223372036854775808", maxInt64, 0, ProblemOverflow)
	f("18446744073709551615", maxInt64, 0, ProblemOverflow)
	f("18446744073709551616", maxInt64, 0, ProblemOverflow)
	f("99999999999999999999999", maxInt64, 0, ProblemOverflow)
	f("99999999999999999999x", maxInt64, 0, ProblemNotNumber)
	f("00000000000000000443", 65535, 443, NoProblem) // 20 digits: as long as a uint64
	f("000000000000000000443", 65535, 0, ProblemOverflow)
	f(strings.Repeat("0", 5000)+"443", 65535, 0, ProblemOverflow)
	f("-1", maxInt64, 0, ProblemNegative)
	f("-", maxInt64, 0, ProblemNotNumber)
	f("-x", maxInt64, 0, ProblemNotNumber)
	f("+1", maxInt64, 0, ProblemNotNumber)
	f("1e3", maxInt64, 0, ProblemNotNumber)
	f("", maxInt64, 0, ProblemNotNumber)
}

func TestParseAddr(t *testing.T) {
	f := func(in string, ok bool) {
		t.Helper()
		got, gotOK := parseAddr([]byte(in))
		if valid := validAddr([]byte(in)); valid != ok {
			t.Errorf("validAddr(%q) = %v, want %v", in, valid, ok)
		}
		if gotOK != ok {
			t.Fatalf("parseAddr(%q) ok = %v, want %v", in, gotOK, ok)
		}
		if ok {
			if want := netip.MustParseAddr(in); got != want {
				t.Errorf("parseAddr(%q) = %v, want %v", in, got, want)
			}
		}
	}
	f("10.0.0.1", true)
	f("255.255.255.255", true)
	f("0.0.0.0", true)
	f("2001:db8::1", true)
	f("::", true)
	f("::ffff:10.1.2.3", true)
	f("fe80::1:2:3:4", true)
	f("256.0.0.1", false)
	f("10.0.0", false)
	f("10.0.0.1.5", false)
	f("10..0.1", false)
	f("10.0.0.", false)
	f("1000.0.0.1", false)
	f("", false)
	f("fe80::1%eth0", false)
	f("localhost", false)
	f("abc", false)
	f("2001:db8::g", false)
	f("cafe", false)
	f("::::::", false)
	f("1.2", false)
	f("999.1.1.1", false)
	for _, in := range []string{"", "1", "localhost", "10.0.0.1/8", "fe80::1%eth0", "1 2", "::ffff:10.0.0.1x", "cafe", "1.2", "999.1.1.1"} {
		if validAddr([]byte(in)) {
			t.Errorf("validAddr(%q) = true", in)
		}
	}
}

func TestAppendJSONEscapes(t *testing.T) {
	format, err := NewFormat([]string{"interface-id", "weird", "vpc-id"})
	if err != nil {
		t.Fatal(err)
	}
	r := Record{Format: format}
	r.Reset(1)
	r.SetText(InterfaceID, []byte(`a"b\c`))
	r.Extra[0] = []byte("tab\there\x01\xff")
	out := AppendJSON(nil, &r)
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if m["interface-id"] != `a"b\c` || m["weird"] != "tab\there\x01\ufffd" || len(m) != 2 {
		t.Errorf("round trip: %q", m)
	}
}

func TestAppendText(t *testing.T) {
	format, _ := ParseFormat("interface-id srcport extra action bytes")
	r := Record{Format: format}
	r.Reset(1)
	r.SetText(InterfaceID, []byte("eni-1"))
	r.SetText(SrcPort, []byte("0080"))
	r.SetText(Action, []byte("REJECT"))
	if got, want := string(AppendText(nil, &r)), "eni-1 80 - REJECT -"; got != want {
		t.Errorf("AppendText = %q, want %q", got, want)
	}
}

func TestCheck(t *testing.T) {
	r := Record{}
	if p, f := r.Check(); p != ProblemMissing || f != LogStatus {
		t.Errorf("empty record: %v %v", p, f)
	}
	r.SetText(LogStatus, []byte("NODATA"))
	if p, f := r.Check(); p != ProblemMissing || f != Start {
		t.Errorf("NODATA without start: %v %v", p, f)
	}
	r.SetText(Start, []byte("1700000000"))
	r.SetText(End, []byte("1700000060"))
	if p, _ := r.Check(); p != NoProblem {
		t.Errorf("NODATA without traffic fields: %v", p)
	}
	r.SetText(LogStatus, []byte("OK"))
	if p, f := r.Check(); p != ProblemMissing || f != Bytes {
		t.Errorf("OK without bytes: %v %v", p, f)
	}
}

func TestSetAddrTwins(t *testing.T) {
	f := func(srcaddr, pkt string, want Problem) {
		t.Helper()
		var r Record
		r.Reset(0)
		if p := r.SetAddr(SrcAddr, []byte(srcaddr)); p != NoProblem {
			t.Fatalf("srcaddr %q: %v", srcaddr, p)
		}
		if p := r.SetAddr(PktSrcAddr, []byte(pkt)); p != want {
			t.Errorf("pkt-srcaddr %q after srcaddr %q: %v, want %v", pkt, srcaddr, p, want)
		}
	}
	f("10.0.0.1", "10.0.0.1", NoProblem)
	f("10.0.0.1", "10.0.0.2", NoProblem)
	f("10.0.0.1", "999.0.0.1", ProblemBadAddr)
	f("2001:db8::1", "2001:db8::1", NoProblem)
	var r Record
	if p := r.SetAddr(SrcAddr, []byte("999.0.0.1")); p != ProblemBadAddr {
		t.Errorf("srcaddr 999.0.0.1: %v", p)
	}
}

// TestSetAction checks that every action value of the action shape is kept
// as written (known ones typed, others ActionOther with their text), and
// that values out of shape are malformed, as the shape says.
func TestSetAction(t *testing.T) {
	f := func(v string, want ActionValue, wantProblem Problem) {
		t.Helper()
		var r Record
		r.Reset(0)
		p := r.SetText(Action, []byte(v))
		if p != wantProblem {
			t.Fatalf("SetText(action, %q) = %v, want %v", v, p, wantProblem)
		}
		if p != NoProblem {
			return
		}
		if r.Action != want || string(r.Text[Action]) != v || !r.Present.Has(Action) {
			t.Errorf("SetText(action, %q): action %v, text %q", v, r.Action, r.Text[Action])
		}
		if want != ActionOther && want.String() != v {
			t.Errorf("%v.String() = %q, want %q", want, want.String(), v)
		}
	}
	f("ACCEPT", Accept, NoProblem)
	f("REJECT", Reject, NoProblem)
	f("DROP", Drop, NoProblem)
	f("BLACKHOLE", ActionOther, NoProblem)
	f("A", ActionOther, NoProblem)
	f("NO_ROUTE_2", ActionOther, NoProblem)
	f("ABCDEFGHIJKLMNOP", ActionOther, NoProblem) // 16 bytes
	f("ABCDEFGHIJKLMNOPQ", ActionOther, ProblemMalformed)
	f("accept", ActionOther, ProblemMalformed)
	f("Drop", ActionOther, ProblemMalformed)
	f("_DROP", ActionOther, ProblemMalformed)
	f("9LIVES", ActionOther, ProblemMalformed)
	f("NO-ROUTE", ActionOther, ProblemMalformed)
	f("NO|ROUTE", ActionOther, ProblemMalformed) // "|" joins labels in keep sets
	f("DRÖP", ActionOther, ProblemMalformed)
	f(strings.Repeat("A", 5000), ActionOther, ProblemMalformed)
	if Action.Shape() == "" || !strings.Contains(Action.Shape(), "16 bytes") {
		t.Errorf("action shape %q", Action.Shape())
	}
	if ValidString(Action, []byte("drop")) || !ValidString(Action, []byte("DROP")) {
		t.Error("ValidString does not check the action shape")
	}
}

// TestNewParquetFormat checks that a Parquet schema's extra columns are
// named as a text header names them, unless another column has that name.
func TestNewParquetFormat(t *testing.T) {
	f, err := NewParquetFormat([]string{"version", "interface_type", "x-y", "x_y", "log_status", "plain", "a_b_c"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Unknown(), []string{"interface-type", "x-y", "x_y", "plain", "a-b-c"}; !slices.Equal(got, want) {
		t.Errorf("Unknown() = %q, want %q", got, want)
	}
	if f.Name(1) != "interface_type" || f.Field(4) != LogStatus || f.ExtraIndex(1) != 0 {
		t.Errorf("columns: %q %v %d", f.Name(1), f.Field(4), f.ExtraIndex(1))
	}
	if _, err := NewParquetFormat([]string{"log_status", "log-status"}); err == nil {
		t.Error("a field named twice was accepted")
	}
	// A text header keeps its names as written.
	text, _ := NewFormat([]string{"interface_type", "log-status"})
	if got := text.Unknown(); !slices.Equal(got, []string{"interface_type"}) {
		t.Errorf("text Unknown() = %q", got)
	}
}
