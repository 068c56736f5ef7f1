package decode_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

const header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"

const good = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"

// decodeAll decodes data and returns the JSON of each good record.
func decodeAll(t *testing.T, data []byte, opts decode.Options) ([]string, *decode.Stats, error) {
	t.Helper()
	var got []string
	st, err := decode.Stream("s3://bucket/key.log.gz", bytes.NewReader(data), opts, func(r *flowlog.Record) error {
		got = append(got, string(flowlog.AppendJSON(nil, r)))
		return nil
	})
	return got, st, err
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBadLines(t *testing.T) {
	f := func(name, line string, want flowlog.Problem, field string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			data := header + "\n" + good + "\n" + line + "\n" + good + "\n"
			for _, compressed := range []bool{false, true} {
				in := []byte(data)
				if compressed {
					in = gz(t, data)
				}
				got, st, err := decodeAll(t, in, decode.Options{MaxLineBytes: 1000})
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if len(got) != 2 || st.Records != 2 || st.OK != 2 {
					t.Fatalf("got %d records (stats %d), want the 2 good ones", len(got), st.Records)
				}
				if st.BadLines != 1 || st.Problems[want] != 1 {
					t.Fatalf("bad lines %d, problems %v, want one %q", st.BadLines, st.Problems, want)
				}
				if len(st.Samples) != 1 {
					t.Fatalf("samples %v, want 1", st.Samples)
				}
				s := st.Samples[0]
				wantOff := int64(len(header) + 1 + len(good) + 1)
				if s.Line != 3 || s.Offset != wantOff || s.Problem != want || s.Field != field {
					t.Errorf("sample %+v, want line 3 at byte %d, %q in %q", s, wantOff, want, field)
				}
				if !strings.Contains(s.String(), "line 3") {
					t.Errorf("sample text %q does not name the line", s)
				}
			}
		})
	}
	replace2 := func(field, value, field2, value2 string) string {
		cols := strings.Fields(header)
		vals := strings.Fields(good)
		for i, c := range cols {
			switch c {
			case field:
				vals[i] = value
			case field2:
				vals[i] = value2
			}
		}
		return strings.Join(vals, " ")
	}
	replace := func(field, value string) string { return replace2(field, value, "", "") }
	f("too few fields", "2 123456789010 eni-1235b8ca123456789 172.31.16.139", flowlog.ProblemFieldCount, "")
	f("too many fields", good+" extra", flowlog.ProblemFieldCount, "")
	f("word for a number", replace("packets", "twenty"), flowlog.ProblemNotNumber, "packets")
	f("negative bytes", replace("bytes", "-5"), flowlog.ProblemNegative, "bytes")
	f("port overflow", replace("srcport", "70000"), flowlog.ProblemOverflow, "srcport")
	f("bytes beyond uint64", replace("bytes", "99999999999999999999999"), flowlog.ProblemOverflow, "bytes")
	f("bytes beyond int64", replace("bytes", "9223372036854775808"), flowlog.ProblemOverflow, "bytes")
	f("protocol overflow", replace("protocol", "256"), flowlog.ProblemOverflow, "protocol")
	f("hex number", replace("start", "0x10"), flowlog.ProblemNotNumber, "start")
	f("end before start", replace("end", "1418530009"), flowlog.ProblemEndBeforeStart, "end")
	f("start before 2000", replace("start", "100"), flowlog.ProblemTimeRange, "start")
	f("both before 2000", replace2("start", "100", "end", "160"), flowlog.ProblemTimeRange, "start")
	f("a window of a year", replace("end", "1450066070"), flowlog.ProblemTimeRange, "end")
	f("end in the 22nd century", replace2("start", "4102444799", "end", "4102444800"), flowlog.ProblemTimeRange, "end")
	f("NODATA without start", "2 123456789010 eni-1 - - - - - - - - 1418530070 - NODATA", flowlog.ProblemMissing, "start")
	f("bad address", replace("srcaddr", "172.31.16.300"), flowlog.ProblemBadAddr, "srcaddr")
	f("hex word for an address", replace("srcaddr", "cafe"), flowlog.ProblemBadAddr, "srcaddr")
	f("short IPv4 address", replace("dstaddr", "10.1"), flowlog.ProblemBadAddr, "dstaddr")
	f("address with a prefix", replace("srcaddr", "172.31.16.0/24"), flowlog.ProblemBadAddr, "srcaddr")
	f("address word", replace("dstaddr", "localhost"), flowlog.ProblemBadAddr, "dstaddr")
	f("address with zone", replace("dstaddr", "fe80::1%eth0"), flowlog.ProblemBadAddr, "dstaddr")
	// An action is kept whatever its word, when it has the action shape.
	f("action in lower case", replace("action", "drop"), flowlog.ProblemMalformed, "action")
	f("action with a digit first", replace("action", "4CCEPT"), flowlog.ProblemMalformed, "action")
	f("action with a dash", replace("action", "NO-ROUTE"), flowlog.ProblemMalformed, "action")
	f("action over 16 bytes", replace("action", "ABCDEFGHIJKLMNOPQ"), flowlog.ProblemMalformed, "action")
	f("action of 64 bytes", replace("action", strings.Repeat("A", 64)), flowlog.ProblemMalformed, "action")
	f("unknown log-status", replace("log-status", "MAYBE"), flowlog.ProblemBadValue, "log-status")
	f("log-status absent", replace("log-status", "-"), flowlog.ProblemMissing, "log-status")
	f("traffic without bytes", replace("bytes", "-"), flowlog.ProblemMissing, "bytes")
	f("traffic without action", replace("action", "-"), flowlog.ProblemMissing, "action")
	f("binary garbage", "\x01\x02\x03 not a record at all", flowlog.ProblemGarbage, "")
	f("NUL inside a field", replace("account-id", "1234\x005678"), flowlog.ProblemGarbage, "")
	f("tab separated", strings.ReplaceAll(good, " ", "\t"), flowlog.ProblemGarbage, "")
	f("invalid UTF-8", replace("interface-id", "eni-\xff\xfe"), flowlog.ProblemGarbage, "")
	f("over-long line", good+strings.Repeat(" x", 600), flowlog.ProblemLongLine, "")
	f("line longer than the read buffer", strings.Repeat("9", 600<<10), flowlog.ProblemLongLine, "")
}

func TestLinesThatAreFine(t *testing.T) {
	f := func(name, data string, want []string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			got, st, err := decodeAll(t, []byte(data), decode.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if st.BadLines != 0 {
				t.Fatalf("bad lines: %v", st.Samples)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
	const rec = `{"version":2,"account-id":"123456789010","interface-id":"eni-1235b8ca123456789","srcaddr":"172.31.16.139","dstaddr":"172.31.16.21","srcport":20641,"dstport":22,"protocol":6,"packets":20,"bytes":4249,"start":1418530010,"end":1418530070,"action":"ACCEPT","log-status":"OK"}`
	f("empty object", "", nil)
	f("header only", header+"\n", nil)
	f("no final line end", header+"\n"+good, []string{rec})
	f("CRLF", header+"\r\n"+good+"\r\n", []string{rec})
	f("blank lines", header+"\n\n"+good+"\n   \n", []string{rec})
	f("runs of spaces", header+"\n"+strings.ReplaceAll(good, " ", "  ")+"\n", []string{rec})
	f("headerless", good+"\n", []string{rec})
	f("subset in another order", "log-status action end start bytes packets interface-id\nOK REJECT 1700000020 1700000010 100 2 eni-1\n",
		[]string{`{"log-status":"OK","action":"REJECT","end":1700000020,"start":1700000010,"bytes":100,"packets":2,"interface-id":"eni-1"}`})
	f("unknown field kept", "interface-id future-field packets bytes start end action log-status\neni-1 hello 1 2 1700000003 1700000004 ACCEPT OK\n",
		[]string{`{"interface-id":"eni-1","future-field":"hello","packets":1,"bytes":2,"start":1700000003,"end":1700000004,"action":"ACCEPT","log-status":"OK"}`})
	f("largest values", "interface-id packets bytes start end action log-status srcport protocol\neni-1 9223372036854775807 0 1700000005 1700000005 REJECT OK 65535 255\n",
		[]string{`{"interface-id":"eni-1","packets":9223372036854775807,"bytes":0,"start":1700000005,"end":1700000005,"action":"REJECT","log-status":"OK","srcport":65535,"protocol":255}`})
	f("IPv6 and mapped IPv4", "interface-id srcaddr dstaddr packets bytes start end action log-status\neni-1 ::ffff:10.0.0.1 2001:db8::1 1 2 1700000003 1700000004 ACCEPT OK\n",
		[]string{`{"interface-id":"eni-1","srcaddr":"::ffff:10.0.0.1","dstaddr":"2001:db8::1","packets":1,"bytes":2,"start":1700000003,"end":1700000004,"action":"ACCEPT","log-status":"OK"}`})
	f("UTF-8 in an unknown field", "interface-id note packets bytes start end action log-status\neni-1 café 1 2 1700000003 1700000004 ACCEPT OK\n",
		[]string{`{"interface-id":"eni-1","note":"café","packets":1,"bytes":2,"start":1700000003,"end":1700000004,"action":"ACCEPT","log-status":"OK"}`})
	f("every action kept as written", "interface-id packets bytes start end action log-status\n"+
		"eni-1 1 2 1700000003 1700000004 DROP OK\n"+
		"eni-1 1 3 1700000003 1700000004 BLACKHOLE OK\n"+
		"eni-1 1 4 1700000003 1700000004 ABCDEFGHIJKLMNOP OK\n"+
		"eni-1 1 5 1700000003 1700000004 X_9 OK\n",
		[]string{
			`{"interface-id":"eni-1","packets":1,"bytes":2,"start":1700000003,"end":1700000004,"action":"DROP","log-status":"OK"}`,
			`{"interface-id":"eni-1","packets":1,"bytes":3,"start":1700000003,"end":1700000004,"action":"BLACKHOLE","log-status":"OK"}`,
			`{"interface-id":"eni-1","packets":1,"bytes":4,"start":1700000003,"end":1700000004,"action":"ABCDEFGHIJKLMNOP","log-status":"OK"}`,
			`{"interface-id":"eni-1","packets":1,"bytes":5,"start":1700000003,"end":1700000004,"action":"X_9","log-status":"OK"}`,
		})
}

func TestHeaderlessWithFormat(t *testing.T) {
	format, err := flowlog.ParseFormat("${interface-id} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id}")
	if err != nil {
		t.Fatal(err)
	}
	got, st, err := decodeAll(t, []byte("eni-9 3 300 1700000100 1700000160 ACCEPT OK vpc-1\n"), decode.Options{Format: format})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"interface-id":"eni-9","packets":3,"bytes":300,"start":1700000100,"end":1700000160,"action":"ACCEPT","log-status":"OK","vpc-id":"vpc-1"}`
	if len(got) != 1 || got[0] != want || st.Header {
		t.Fatalf("got %v (header %v), want %s", got, st.Header, want)
	}
}

func TestObjectFailures(t *testing.T) {
	body := header + "\n" + strings.Repeat(good+"\n", 5000)
	whole := gz(t, body)
	f := func(name string, data []byte, opts decode.Options, want decode.Reason) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			_, _, err := decodeAll(t, data, opts)
			var oe *decode.ObjectError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v, want an *ObjectError", err)
			}
			if oe.Reason != want {
				t.Errorf("reason %q, want %q (%v)", oe.Reason, want, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "s3://bucket/key.log.gz") || !strings.Contains(msg, "at byte") {
				t.Errorf("message %q should name the object and the byte offset", msg)
			}
		})
	}
	f("truncated gzip", whole[:len(whole)/2], decode.Options{}, decode.Truncated)
	f("gzip without its trailer", whole[:len(whole)-4], decode.Options{}, decode.Truncated)
	corrupt := bytes.Clone(whole)
	for i := len(corrupt) / 3; i < len(corrupt)/3+64; i++ {
		corrupt[i] ^= 0x5a
	}
	f("corrupt gzip data", corrupt, decode.Options{}, decode.Corrupt)
	badCRC := bytes.Clone(whole)
	badCRC[len(badCRC)-8] ^= 1
	f("gzip checksum mismatch", badCRC, decode.Options{}, decode.Corrupt)
	f("gzip magic then garbage", []byte("\x1f\x8bnot gzip at all"), decode.Options{}, decode.Corrupt)
	f("garbage after the gzip stream", append(bytes.Clone(whole), "trailing junk"...), decode.Options{}, decode.Corrupt)
	f("header lacks bytes", []byte("version interface-id packets start end action log-status\n2 eni-1 1 2 3 ACCEPT OK\n"), decode.Options{}, decode.BadHeader)
	f("header names a field twice", []byte(header+" bytes\n"), decode.Options{}, decode.BadHeader)
	short, _ := flowlog.ParseFormat("interface-id packets")
	f("headerless with a format lacking fields", []byte(good+"\n"), decode.Options{Format: short}, decode.BadHeader)
	f("parquet magic then garbage", []byte("PAR1 this is not parquet PAR1"), decode.Options{}, decode.Unreadable)
}

func TestHeaderErrorNamesFields(t *testing.T) {
	_, _, err := decodeAll(t, []byte("version interface-id packets start end log-status\n"), decode.Options{})
	if err == nil || !strings.Contains(err.Error(), "bytes, action") {
		t.Fatalf("error %v should list the missing fields", err)
	}
}

// failingReader returns data, then an error: a source that breaks.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestSourceErrorIsNotObjectError(t *testing.T) {
	broken := errors.New("connection reset by peer")
	whole := gz(t, header+"\n"+strings.Repeat(good+"\n", 5000))
	for name, data := range map[string][]byte{"gzip": whole[:len(whole)/2], "plain": []byte(header + "\n" + good + "\n")} {
		t.Run(name, func(t *testing.T) {
			_, err := decode.Stream("obj", &failingReader{data: data, err: broken}, decode.Options{}, func(*flowlog.Record) error { return nil })
			var oe *decode.ObjectError
			if errors.As(err, &oe) || !errors.Is(err, broken) {
				t.Fatalf("error %v: want the source's error, not an ObjectError", err)
			}
		})
	}
}

func TestFuncErrorStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	for _, data := range [][]byte{[]byte(header + "\n" + good + "\n" + good + "\n"), gz(t, header+"\n"+good+"\n"+good+"\n")} {
		n = 0
		_, err := decode.Stream("obj", bytes.NewReader(data), decode.Options{}, func(*flowlog.Record) error { n++; return stop })
		if err != stop || n != 1 {
			t.Fatalf("error %v after %d records, want the Func's own error after 1", err, n)
		}
	}
}

func TestMultiMemberGzip(t *testing.T) {
	data := append(gz(t, header+"\n"+good+"\n"), gz(t, good+"\n"+good+"\n")...)
	got, st, err := decodeAll(t, data, decode.Options{})
	if err != nil || len(got) != 3 || st.Compression != "gzip" {
		t.Fatalf("got %d records, %v, compression %q; want 3 from both members", len(got), err, st.Compression)
	}
}

func TestSamplesAreBounded(t *testing.T) {
	data := header + "\n" + strings.Repeat("garbage\n", 100)
	_, st, err := decodeAll(t, []byte(data), decode.Options{MaxSamples: 3})
	if err != nil {
		t.Fatal(err)
	}
	if st.BadLines != 100 || len(st.Samples) != 3 {
		t.Fatalf("bad lines %d, samples %d; want 100 and 3", st.BadLines, len(st.Samples))
	}
	if st.Samples[2].Line != 4 {
		t.Errorf("third sample is line %d, want 4", st.Samples[2].Line)
	}
}

func TestStats(t *testing.T) {
	data := header + "\n" +
		"2 123456789010 eni-a 10.0.0.1 10.0.0.2 1 2 6 10 1000 1700000100 1700000160 ACCEPT OK\n" +
		"2 123456789010 eni-a 10.0.0.1 10.0.0.2 1 2 6 5 500 1700000050 1700000200 REJECT OK\n" +
		"2 123456789010 eni-b - - - - - - - 1700000040 1700000100 - NODATA\n" +
		"2 123456789010 eni-c - - - - - - - 1700000030 1700000300 - SKIPDATA\n"
	_, st, err := decodeAll(t, gz(t, data), decode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d %d %d %d %d %d %d %d %d", 4, 2, 1, 1, 1500, 15, 1700000030, 1700000300, len(data))
	got := fmt.Sprintf("%d %d %d %d %d %d %d %d %d", st.Records, st.OK, st.NoData, st.SkipData, st.Bytes, st.Packets, st.FirstStart, st.LastEnd, st.DecodedBytes)
	if got != want {
		t.Fatalf("stats %s, want %s", got, want)
	}
	if st.StoredBytes >= st.DecodedBytes || st.StoredBytes == 0 {
		t.Errorf("stored bytes %d should be the compressed size", st.StoredBytes)
	}
}

// TestNoAllocationPerRecord checks that decoding costs the same number of
// allocations for 10 records as for 10,000: none per record.
func TestNoAllocationPerRecord(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector")
	}
	objects := func(n int) [][]byte {
		body := header + "\n" + strings.Repeat(good+"\n", n)
		return [][]byte{[]byte(body), gz(t, body)}
	}
	discard := func(*flowlog.Record) error { return nil }
	allocs := func(data []byte) float64 {
		return testing.AllocsPerRun(20, func() {
			if _, err := decode.Stream("obj", bytes.NewReader(data), decode.Options{}, discard); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := objects(10), objects(10000)
	for i, kind := range []string{"plain", "gzip"} {
		a, b := allocs(small[i]), allocs(large[i])
		if b > a {
			t.Errorf("%s: %.0f allocations for 10 records, %.0f for 10,000", kind, a, b)
		}
	}
}

// TestTypedValuesDoNotLeak checks that a record's typed values are its own:
// an absent field reads zero even when the record before had it, or when a
// bad line set it before being refused.
func TestTypedValuesDoNotLeak(t *testing.T) {
	data := "interface-id srcport bytes packets start end action log-status traffic-path flow-direction\n" +
		"eni-1 443 1000 10 1700000100 1700000160 REJECT OK 8 egress\n" +
		"eni-1 5 1000 10 1700000100 1700000160 ACCEPT OK 8 bogus\n" + // bad: flow-direction; srcport set first
		"eni-1 - - - 1700000100 1700000160 - NODATA - -\n" +
		"eni-1 80 20 1 1700000100 1700000160 ACCEPT OK - ingress\n" +
		"eni-1 81 30 1 1700000100 1700000160 DROP OK - ingress\n" +
		"eni-1 82 40 1 1700000100 1700000160 BLACKHOLE OK - egress\n" +
		"eni-1 83 50 1 1700000100 1700000160 drop OK - egress\n" + // bad: action out of shape
		"eni-1 84 60 1 1700000100 1700000160 REJECT OK - egress\n"
	type seen struct {
		srcPort, path uint64
		bytes         uint64
		action        flowlog.ActionValue
		dir           flowlog.Direction
	}
	var got []seen
	_, err := decode.Stream("obj", strings.NewReader(data), decode.Options{}, func(r *flowlog.Record) error {
		got = append(got, seen{uint64(r.SrcPort), uint64(r.TrafficPath), r.Bytes, r.Action, r.FlowDirection})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{443, 8, 1000, flowlog.Reject, flowlog.Egress},
		{0, 0, 0, flowlog.ActionNone, flowlog.DirectionNone},
		{80, 0, 20, flowlog.Accept, flowlog.Ingress},
		{81, 0, 30, flowlog.Drop, flowlog.Ingress},
		{82, 0, 40, flowlog.ActionOther, flowlog.Egress},
		{84, 0, 60, flowlog.Reject, flowlog.Egress},
	}
	if !slices.Equal(got, want) {
		t.Errorf("typed values %+v, want %+v", got, want)
	}
}

func TestLineLengthLimit(t *testing.T) {
	const max = 200
	pad := func(n int) string { // a good line of exactly n bytes, padded in an unknown field
		base := "eni-1 1 2 1700000003 1700000004 ACCEPT OK "
		return base + strings.Repeat("x", n-len(base))
	}
	head := "interface-id packets bytes start end action log-status note\n"
	for _, end := range []string{"\n", "\r\n"} {
		data := head + pad(max) + end + pad(max+1) + end
		got, st, err := decodeAll(t, []byte(data), decode.Options{MaxLineBytes: max})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || st.Problems[flowlog.ProblemLongLine] != 1 {
			t.Errorf("line end %q: %d good, %d long; want the %d-byte line kept and the %d-byte one refused",
				end, len(got), st.Problems[flowlog.ProblemLongLine], max, max+1)
		}
	}
}

func TestHeaderErrorPosition(t *testing.T) {
	data := "\n\n" + "version interface-id packets start end log-status\n"
	for _, compressed := range []bool{false, true} {
		in := []byte(data)
		if compressed {
			in = gz(t, data)
		}
		_, _, err := decodeAll(t, in, decode.Options{})
		var oe *decode.ObjectError
		if !errors.As(err, &oe) || oe.Reason != decode.BadHeader || oe.Line != 3 || oe.Offset <= 0 || oe.Offset > int64(len(in)) {
			t.Errorf("compressed %v: %v (line %d, byte %d), want a bad header on line 3 at a byte offset within the object",
				compressed, err, oe.Line, oe.Offset)
		}
	}
}
