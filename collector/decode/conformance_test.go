package decode_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// conformanceDirs are the copies of the shared conformance files: the one
// committed with the package, and the team's shared folder beside the clone
// when it exists (so a change there is noticed at once).
func conformanceDirs() map[string]string {
	dirs := map[string]string{"repo": filepath.Join("testdata", "conformance")}
	shared := filepath.Join("..", "..", "..", "shared", "conformance")
	if _, err := os.Stat(shared); err == nil {
		dirs["shared"] = shared
	}
	return dirs
}

func TestConformance(t *testing.T) {
	for copyName, dir := range conformanceDirs() {
		inputs, err := filepath.Glob(filepath.Join(dir, "*.log*"))
		if err != nil || len(inputs) == 0 {
			t.Fatalf("no conformance inputs in %s: %v", dir, err)
		}
		for _, in := range inputs {
			base := strings.TrimSuffix(strings.TrimSuffix(in, ".gz"), ".log")
			t.Run(copyName+"/"+filepath.Base(base), func(t *testing.T) {
				if want, err := os.ReadFile(base + ".expected-error"); err == nil {
					checkFails(t, in, string(want))
					return
				}
				checkDecodes(t, in, base+".expected.jsonl")
			})
		}
	}
}

func checkDecodes(t *testing.T, in, expected string) {
	t.Helper()
	want := readJSONLines(t, expected)
	var got []map[string]any
	st, err := decode.File(in, decode.Options{}, func(r *flowlog.Record) error {
		got = append(got, decodeJSON(t, flowlog.AppendJSON(nil, r)))
		return nil
	})
	if err != nil {
		t.Fatalf("decode %s: %v", in, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decode %s:\n got %v\nwant %v", in, got, want)
	}
	if st.Records != int64(len(want)) {
		t.Errorf("Stats.Records = %d, want %d", st.Records, len(want))
	}
}

// checkFails checks that an object fails as a whole with the reason its
// .expected-error file names ("truncated or corrupt" allows either).
func checkFails(t *testing.T, in, why string) {
	t.Helper()
	_, err := decode.File(in, decode.Options{}, func(*flowlog.Record) error { return nil })
	var oe *decode.ObjectError
	if !errors.As(err, &oe) {
		t.Fatalf("decode %s: error %v, want an *ObjectError (%s)", in, err, strings.TrimSpace(why))
	}
	if oe.Object != in || oe.Offset <= 0 || !strings.Contains(err.Error(), in) {
		t.Errorf("error %q should name the object and a byte offset", err)
	}
	allowed := strings.TrimSpace(strings.SplitN(why, ":", 2)[0])
	if !strings.Contains(allowed, string(oe.Reason)) {
		t.Errorf("reason %q, want one of %q", oe.Reason, allowed)
	}
}

func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		out = append(out, decodeJSON(t, sc.Bytes()))
	}
	return out
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("bad JSON %s: %v", b, err)
	}
	return m
}
