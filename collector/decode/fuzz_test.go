package decode_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// addConformanceSeeds adds every conformance file, and for gzip ones also
// their decompressed text, to the corpus.
func addConformanceSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "conformance", "*.log*"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			var plain bytes.Buffer
			_, _ = plain.ReadFrom(zr)
			f.Add(plain.Bytes())
		}
	}
}

// checkObject decodes data and checks what must hold for any input: no
// panic, only *ObjectErrors (the source is memory), consistent counts, valid
// JSON, and that every good record written back as text decodes to the same
// record with no bad line.
func checkObject(t *testing.T, data []byte) {
	const maxSamples = 3
	opts := decode.Options{MaxLineBytes: 4096, MaxSamples: maxSamples}
	var jsons []string
	var text []byte
	st, err := decode.Stream("fuzz", bytes.NewReader(data), opts, func(r *flowlog.Record) error {
		if p, f := r.Check(); p != flowlog.NoProblem {
			t.Fatalf("record passed with problem %v in %v", p, f)
		}
		j := flowlog.AppendJSON(nil, r)
		if !json.Valid(j) {
			t.Fatalf("invalid JSON %q", j)
		}
		jsons = append(jsons, string(j))
		text = append(flowlog.AppendText(text, r), '\n')
		return nil
	})
	if err != nil {
		var oe *decode.ObjectError
		if !errors.As(err, &oe) {
			t.Fatalf("error %v is not an *ObjectError", err)
		}
		return
	}
	if st.OK+st.NoData+st.SkipData != st.Records || int(st.Records) != len(jsons) {
		t.Fatalf("counts: ok %d nodata %d skipdata %d records %d seen %d", st.OK, st.NoData, st.SkipData, st.Records, len(jsons))
	}
	if len(st.Samples) > maxSamples || int64(len(st.Samples)) > st.BadLines {
		t.Fatalf("%d samples for %d bad lines", len(st.Samples), st.BadLines)
	}
	if st.Compression != "none" || len(jsons) == 0 {
		return
	}
	again := append([]byte(st.Format.String()+"\n"), text...)
	var back []string
	st2, err := decode.Stream("fuzz-again", bytes.NewReader(again), opts, func(r *flowlog.Record) error {
		back = append(back, string(flowlog.AppendJSON(nil, r)))
		return nil
	})
	if err != nil || st2.BadLines != 0 || len(back) != len(jsons) {
		t.Fatalf("re-decode of %q: error %v, bad %d %v, %d records for %d", again, err, st2.BadLines, st2.Samples, len(back), len(jsons))
	}
	for i := range back {
		if back[i] != jsons[i] {
			t.Fatalf("record %d changed:\n%s\n%s", i, jsons[i], back[i])
		}
	}
}

func FuzzText(f *testing.F) {
	addConformanceSeeds(f)
	f.Add([]byte(header + "\n" + good + "\n"))
	f.Add([]byte(good + "\r\n" + good))
	f.Add([]byte("interface-id x packets bytes start end action log-status\neni-1 - 1 2 1700000003 1700000004 ACCEPT OK\n"))
	f.Add(gz(f, header+"\n"+good+"\n"))
	// Label fields out of shape, and a header over the line limit.
	f.Add([]byte(v5Header + "\n" + v5Good + "\n" + v5With("interface-id", "eni-"+strings.Repeat("a", 40)) + "\n" +
		v5With("account-id", "unknown") + "\n" + v5With("az-id", "use1_az1") + "\n"))
	f.Add([]byte(header + strings.Repeat(" x", 2100) + "\n" + good + "\n"))
	// Every action kept as written (DROP, values AWS does not document),
	// and actions out of the action shape.
	f.Add([]byte(v5Header + "\n" + v5With("action", "DROP") + "\n" + v5With("action", "BLACKHOLE") + "\n" +
		v5With("action", "NO_ROUTE_16BYTES") + "\n" + v5With("action", "drop") + "\n" + v5With("action", "TOO_LONG_ACTION_X") + "\n" +
		v5With("action", "9X") + "\n"))
	f.Fuzz(checkObject)
}

func FuzzParquet(f *testing.F) {
	f.Add(writeParquet(f, v2Columns, [][]any{v2Row("ACCEPT", 20, 4249), v2Row("REJECT", 1, 40)}))
	f.Add(writeParquet(f, append(v2Columns[:len(v2Columns):len(v2Columns)], column{"vpc_id", "string"}, column{"traffic_path", "int32"}),
		[][]any{append(v2Row("ACCEPT", 3, 300), "vpc-1", int64(8))}))
	// Every action kept as written, actions out of shape, and an extra
	// column named as its text header would name it.
	f.Add(writeParquet(f, append(v2Columns[:len(v2Columns):len(v2Columns)], column{"interface_type", "string"}),
		[][]any{append(v2Row("DROP", 3, 300), "interface"), append(v2Row("BLACKHOLE", 1, 40), nil),
			append(v2Row("drop", 1, 40), "nat_gateway"), append(v2Row("TOO_LONG_ACTION_X", 1, 40), "-")}))
	// Damaged objects that once made parquet-go allocate gigabytes.
	files, _ := filepath.Glob(filepath.Join("testdata", "parquet", "*.parquet"))
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(checkObject)
}
