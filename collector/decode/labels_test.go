package decode_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// A v5 record, as in the conformance file v5-services-path.
const (
	v5Header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status " +
		"vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id " +
		"pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
	v5Good = "5 123456789012 eni-0e2f4e6ef4ad5fb41 10.0.0.71 52.95.128.179 34210 443 6 15 15044 1616729292 1616729349 ACCEPT OK " +
		"vpc-abcdefab012345678 subnet-0c50d5af6bf6bbc7a i-0b62a8b7a2ba8b27d 19 IPv4 10.0.0.71 52.95.128.179 us-east-1 use1-az4 outpost op-0123456789abcdef0 " +
		"AMAZON_APPFLOW S3 egress 8"
)

// v5With returns v5Good with field set to value.
func v5With(field, value string) string {
	cols, vals := strings.Fields(v5Header), strings.Fields(v5Good)
	for i, c := range cols {
		if c == field {
			vals[i] = value
		}
	}
	return strings.Join(vals, " ")
}

// TestOverlongLabelValues: a 5,000-character interface id or vpc id (which
// VictoriaMetrics would drop from some families without a word) is a bad
// line naming the field, and the rest of the object decodes, in text, gzip
// and Parquet objects alike.
func TestOverlongLabelValues(t *testing.T) {
	longENI := "eni-" + strings.Repeat("0a", 2500)
	longVPC := "vpc-" + strings.Repeat("b", 5000)
	check := func(t *testing.T, st *decode.Stats, got []string, want []string) {
		t.Helper()
		if len(got) != 3 || st.Records != 3 {
			t.Fatalf("%d records (stats %d), want the 3 good ones", len(got), st.Records)
		}
		if st.BadLines != 2 || st.Problems[flowlog.ProblemMalformed] != 2 || len(st.Samples) != 2 {
			t.Fatalf("bad lines %d, problems %v, samples %v; want 2 malformed", st.BadLines, st.Problems, st.Samples)
		}
		for i, s := range st.Samples {
			if s.Field != want[i] || !strings.Contains(s.String(), "malformed value in "+want[i]) || !strings.Contains(s.Detail, "bytes; want") {
				t.Errorf("sample %d: %q, want a malformed %s with what is wanted", i, s, want[i])
			}
			if len(s.Value) > 40 {
				t.Errorf("sample %d keeps %d bytes of the value", i, len(s.Value))
			}
		}
	}
	t.Run("text", func(t *testing.T) {
		data := v5Header + "\n" + v5Good + "\n" + v5With("interface-id", longENI) + "\n" + v5Good + "\n" +
			v5With("vpc-id", longVPC) + "\n" + v5Good + "\n"
		for _, in := range [][]byte{[]byte(data), gz(t, data)} {
			got, st, err := decodeAll(t, in, decode.Options{})
			if err != nil {
				t.Fatal(err)
			}
			check(t, st, got, []string{"interface-id", "vpc-id"})
			if st.Samples[0].Line != 3 || st.Samples[1].Line != 5 {
				t.Errorf("samples on lines %d and %d, want 3 and 5", st.Samples[0].Line, st.Samples[1].Line)
			}
		}
	})
	t.Run("parquet", func(t *testing.T) {
		cols := append(v2Columns[:len(v2Columns):len(v2Columns)], column{"vpc_id", "string"})
		row := func(eni, vpc string) []any {
			r := append(v2Row("ACCEPT", 3, 300), vpc)
			r[2] = eni
			return r
		}
		good := row("eni-1235b8ca123456789", "vpc-abcdefab012345678")
		data := writeParquet(t, cols, [][]any{good, row(longENI, "vpc-1"), good, row("eni-1", longVPC), good})
		got, st, err := decodeAll(t, data, decode.Options{})
		if err != nil {
			t.Fatal(err)
		}
		check(t, st, got, []string{"interface_id", "vpc_id"})
	})
}

// TestMalformedFields checks every text field that can become a label: a
// value that does not have its AWS shape is a bad line naming the field.
func TestMalformedFields(t *testing.T) {
	f := func(field, value string) {
		t.Helper()
		t.Run(field+"="+value[:min(len(value), 20)], func(t *testing.T) {
			data := v5Header + "\n" + v5Good + "\n" + v5With(field, value) + "\n"
			got, st, err := decodeAll(t, []byte(data), decode.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || st.BadLines != 1 || st.Problems[flowlog.ProblemMalformed] != 1 || st.Samples[0].Field != field {
				t.Fatalf("%d good, bad %d %v; want one malformed %s", len(got), st.BadLines, st.Samples, field)
			}
		})
	}
	f("account-id", "12345678901")
	f("account-id", "acct-1")
	f("interface-id", "eni-XYZ")
	f("interface-id", "0e2f4e6ef4ad5fb41")
	f("vpc-id", "vpc-"+strings.Repeat("a", 33))
	f("subnet-id", "sub-0c50d5af6bf6bbc7a")
	f("instance-id", "i-0B62A8B7A2BA8B27D")
	f("type", "IP/4")
	f("region", "US-EAST-1")
	f("region", "us-east-1"+strings.Repeat("1", 30))
	f("az-id", "use1_az4")
	f("sublocation-type", "Outpost")
	f("sublocation-id", "op_0123")
	f("pkt-src-aws-service", "amazon")
	f("pkt-dst-aws-service", strings.Repeat("S", 65))
	f("action", "drop")
	f("action", "DROP!")
	f("action", strings.Repeat("D", 17))

	// Absent values stay valid, and so do values AWS may add.
	data := v5Header + "\n" + v5With("account-id", "unknown") + "\n" + v5With("pkt-src-aws-service", "NEW_SERVICE_2") + "\n" +
		"5 123456789012 eni-0e2f4e6ef4ad5fb41 - - - - - - - 1616729292 1616729349 - NODATA - - - - - - - - - - - - - - -\n" +
		v5With("action", "DROP") + "\n" + v5With("action", "NEW_ACTION_2") + "\n"
	got, st, err := decodeAll(t, []byte(data), decode.Options{})
	if err != nil || len(got) != 5 || st.BadLines != 0 {
		t.Fatalf("%d good, %v, bad lines %v; want 5 good", len(got), err, st.Samples)
	}
}

// TestActionOutOfShape checks that an action value out of the action shape
// is a bad line (a bad row in Parquet) whose sample names the line or row,
// its byte offset, the field, the value and the shape wanted.
func TestActionOutOfShape(t *testing.T) {
	wantDetail := "5 bytes; want " + flowlog.Action.Shape()
	t.Run("text", func(t *testing.T) {
		data := v5Header + "\n" + v5With("action", "DROP") + "\n" + v5With("action", "Drop!") + "\n"
		got, st, err := decodeAll(t, []byte(data), decode.Options{})
		if err != nil || len(got) != 1 || len(st.Samples) != 1 {
			t.Fatalf("%d good, error %v, samples %v", len(got), err, st.Samples)
		}
		off := len(v5Header) + 1 + len(v5With("action", "DROP")) + 1
		want := fmt.Sprintf("line 3 (byte %d): malformed value in action %q: %s", off, "Drop!", wantDetail)
		if s := st.Samples[0].String(); s != want {
			t.Errorf("sample %q, want %q", s, want)
		}
	})
	t.Run("parquet", func(t *testing.T) {
		data := writeParquet(t, v2Columns, [][]any{v2Row("DROP", 1, 2), v2Row("Drop!", 1, 2)})
		got, st, err := decodeAll(t, data, decode.Options{})
		if err != nil || len(got) != 1 || len(st.Samples) != 1 {
			t.Fatalf("%d good, error %v, samples %v", len(got), err, st.Samples)
		}
		want := fmt.Sprintf("row 2: malformed value in action %q: %s", "Drop!", wantDetail)
		if s := st.Samples[0].String(); s != want {
			t.Errorf("sample %q, want %q", s, want)
		}
	})
}
