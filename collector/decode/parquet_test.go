package decode_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// column describes a Parquet column for writeParquet: its name and whether
// it holds INT32, INT64 or STRING values.
type column struct {
	name string
	kind string // "int32", "int64" or "string"
}

// writeParquet writes rows (one value per column: nil for null, an int64 or
// a string) as a Parquet object the way AWS lays them out: a flat schema of
// optional columns.
func writeParquet(t testing.TB, cols []column, rows [][]any) []byte {
	t.Helper()
	group := parquet.Group{}
	for _, c := range cols {
		var n parquet.Node
		switch c.kind {
		case "int32":
			n = parquet.Int(32)
		case "int64":
			n = parquet.Int(64)
		default:
			n = parquet.String()
		}
		group[c.name] = parquet.Optional(n)
	}
	schema := parquet.NewSchema("flowlogs", group)
	index := map[string]int{}
	for i, path := range schema.Columns() {
		index[path[0]] = i
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema)
	for _, r := range rows {
		row := make(parquet.Row, len(cols))
		for i, c := range cols {
			ci := index[c.name]
			var v parquet.Value
			switch x := r[i].(type) {
			case nil:
				v = parquet.NullValue().Level(0, 0, ci)
			case int64:
				if c.kind == "int32" {
					v = parquet.Int32Value(int32(x)).Level(0, 1, ci)
				} else {
					v = parquet.Int64Value(x).Level(0, 1, ci)
				}
			case string:
				v = parquet.ByteArrayValue([]byte(x)).Level(0, 1, ci)
			}
			row[ci] = v
		}
		if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var v2Columns = []column{
	{"version", "int32"}, {"account_id", "string"}, {"interface_id", "string"},
	{"srcaddr", "string"}, {"dstaddr", "string"}, {"srcport", "int32"}, {"dstport", "int32"},
	{"protocol", "int32"}, {"packets", "int64"}, {"bytes", "int64"}, {"start", "int64"},
	{"end", "int64"}, {"action", "string"}, {"log_status", "string"},
}

func v2Row(action string, packets, bytes int64) []any {
	return []any{int64(2), "123456789010", "eni-1235b8ca123456789", "172.31.16.139", "172.31.16.21",
		int64(20641), int64(22), int64(6), packets, bytes, int64(1418530010), int64(1418530070), action, "OK"}
}

func TestParquet(t *testing.T) {
	rows := [][]any{
		v2Row("ACCEPT", 20, 4249),
		v2Row("REJECT", 1, 40),
		{int64(2), "123456789010", "eni-1", nil, nil, nil, nil, nil, nil, nil, int64(1700000100), int64(1700000160), nil, "NODATA"},
		{int64(2), "123456789010", "eni-1", "-", "-", nil, nil, nil, nil, nil, int64(1700000100), int64(1700000160), "-", "SKIPDATA"},
		v2Row("ACCEPT", -3, 10), // bad: negative packets
		nil,                     // end before start, set below
	}
	rows[5] = v2Row("ACCEPT", 1, 10)
	rows[5][11] = int64(1418530009)
	data := writeParquet(t, v2Columns, rows)
	got, st, err := decodeAll(t, data, decode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"version":2,"account-id":"123456789010","interface-id":"eni-1235b8ca123456789","srcaddr":"172.31.16.139","dstaddr":"172.31.16.21","srcport":20641,"dstport":22,"protocol":6,"packets":20,"bytes":4249,"start":1418530010,"end":1418530070,"action":"ACCEPT","log-status":"OK"}`,
		`{"version":2,"account-id":"123456789010","interface-id":"eni-1235b8ca123456789","srcaddr":"172.31.16.139","dstaddr":"172.31.16.21","srcport":20641,"dstport":22,"protocol":6,"packets":1,"bytes":40,"start":1418530010,"end":1418530070,"action":"REJECT","log-status":"OK"}`,
		`{"version":2,"account-id":"123456789010","interface-id":"eni-1","start":1700000100,"end":1700000160,"log-status":"NODATA"}`,
		`{"version":2,"account-id":"123456789010","interface-id":"eni-1","start":1700000100,"end":1700000160,"log-status":"SKIPDATA"}`,
	}
	// The Parquet schema orders columns by name; compare as JSON objects.
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if !sameJSON(t, got[i], want[i]) {
			t.Errorf("record %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	if st.Compression != "parquet" || st.BadLines != 2 || st.Problems[flowlog.ProblemNegative] != 1 || st.Problems[flowlog.ProblemEndBeforeStart] != 1 {
		t.Fatalf("stats: compression %q, bad %d %v", st.Compression, st.BadLines, st.Samples)
	}
	if s := st.Samples[0].String(); s != `row 5: negative number in packets "-3"` {
		t.Errorf("sample %q", s)
	}
}

func TestParquetFromStreamIsSpooled(t *testing.T) {
	data := writeParquet(t, v2Columns, [][]any{v2Row("ACCEPT", 20, 4249)})
	dir := t.TempDir()
	// io.MultiReader hides ReadAt: the decoder must spool.
	st, err := decode.Stream("obj", io.MultiReader(bytes.NewReader(data)), decode.Options{TempDir: dir}, func(*flowlog.Record) error { return nil })
	if err != nil || st.Records != 1 {
		t.Fatalf("records %d, error %v", st.Records, err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Errorf("spool files left behind: %v", left)
	}
	// And from a file.
	path := filepath.Join(dir, "x.log.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := decode.File(path, decode.Options{}, func(*flowlog.Record) error { return nil }); err != nil || st.Records != 1 {
		t.Fatalf("file: records %d, error %v", st.Records, err)
	}
}

func TestParquetFailures(t *testing.T) {
	good := writeParquet(t, v2Columns, [][]any{v2Row("ACCEPT", 20, 4249), v2Row("ACCEPT", 2, 100)})
	f := func(name string, data []byte, want decode.Reason, mention string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			_, _, err := decodeAll(t, data, decode.Options{})
			var oe *decode.ObjectError
			if !errors.As(err, &oe) || oe.Reason != want || !strings.Contains(err.Error(), mention) {
				t.Fatalf("error %v, want an *ObjectError %q mentioning %q", err, want, mention)
			}
		})
	}
	f("truncated", good[:len(good)-20], decode.Truncated, "end marker")
	bigFooter := bytes.Clone(good)
	copy(bigFooter[len(bigFooter)-8:], []byte{0xff, 0xff, 0xff, 0x7f})
	f("footer longer than the object", bigFooter, decode.Unreadable, "footer")
	f("missing columns", writeParquet(t, v2Columns[:9], [][]any{v2Row("ACCEPT", 1, 1)[:9]}), decode.BadHeader, "bytes, start, end, action, log_status")
	damaged := bytes.Clone(good)
	for i := 4; i < len(damaged)/2; i++ {
		damaged[i] ^= 0xa5
	}
	f("damaged pages", damaged, decode.Unreadable, "s3://bucket/key.log.gz: unreadable at byte")
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	ma, mb := decodeJSON(t, []byte(a)), decodeJSON(t, []byte(b))
	return maps.Equal(ma, mb)
}

// TestParquetReadsAsText checks that the same records as a text object and
// as a Parquet object print the same JSON lines (what `vpcflow-collector
// decode` writes): extra columns are named as the text header names them
// ("interface_type" in Parquet is "interface-type"), and every action is
// kept as written in both.
func TestParquetReadsAsText(t *testing.T) {
	cols := append(slices.Clone(v2Columns), column{"interface_type", "string"}, column{"future_count", "int64"}, column{"note", "string"})
	rows := [][]any{
		append(v2Row("ACCEPT", 20, 4249), "interface", int64(7), "a_b"),
		append(v2Row("DROP", 3, 180), nil, nil, nil),
		append(v2Row("BLACKHOLE", 1, 40), "nat_gateway", int64(0), "-"),
		append(v2Row("REJECT", 2, 80), "-", int64(12), "x"),
	}
	// Parquet orders a flat schema's columns by name: the text object
	// takes that order, with the text header's names.
	order := make([]int, len(cols))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(cols[a].name, cols[b].name) })
	var text strings.Builder
	for j, i := range order {
		if j > 0 {
			text.WriteByte(' ')
		}
		text.WriteString(strings.ReplaceAll(cols[i].name, "_", "-"))
	}
	text.WriteByte('\n')
	for _, r := range rows {
		for j, i := range order {
			if j > 0 {
				text.WriteByte(' ')
			}
			if r[i] == nil {
				text.WriteByte('-')
				continue
			}
			fmt.Fprint(&text, r[i])
		}
		text.WriteByte('\n')
	}
	dir := t.TempDir()
	files := map[string][]byte{"text.log": []byte(text.String()), "text.log.parquet": writeParquet(t, cols, rows)}
	out := map[string]string{}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		var records, bad bytes.Buffer
		n, err := decode.WriteRecords(&records, &bad, []string{path}, decode.Options{}, func(err error) { t.Errorf("%s: %v", name, err) })
		if err != nil || n != 0 || bad.Len() != 0 {
			t.Fatalf("%s: %d failed, error %v, bad lines %q", name, n, err, bad.String())
		}
		out[name] = records.String()
	}
	if out["text.log"] != out["text.log.parquet"] {
		t.Errorf("text and Parquet decode differently:\ntext:\n%s\nparquet:\n%s", out["text.log"], out["text.log.parquet"])
	}
	want := `{"account-id":"123456789010","action":"BLACKHOLE","bytes":40,"dstaddr":"172.31.16.21","dstport":22,"end":1418530070,"future-count":"0","interface-id":"eni-1235b8ca123456789","interface-type":"nat_gateway","log-status":"OK","packets":1,"protocol":6,"srcaddr":"172.31.16.139","srcport":20641,"start":1418530010,"version":2}`
	if lines := strings.Split(out["text.log.parquet"], "\n"); len(lines) != len(rows)+1 || lines[2] != want {
		t.Errorf("Parquet records:\n%s\nwant the third\n%s", out["text.log.parquet"], want)
	}
}
