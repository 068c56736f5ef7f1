package reporttest

import (
	"maps"
	"slices"
	"testing"

	"github.com/vpcflow/vpcflow/vmclient"
)

// TestTopOf: the largest values first, ties broken label by label as the
// report engine breaks them ("eni-1" before "eni-10", though "eni-1|"
// sorts after "eni-10" as text), the rest summed.
func TestTopOf(t *testing.T) {
	want := map[string]float64{"eni-10|ACCEPT": 5, "eni-1|REJECT": 5, "eni-1|ACCEPT": 5, "eni-2|ACCEPT": 9, "eni-3|ACCEPT": 1}
	f := func(n int, top map[string]float64, rest float64) {
		t.Helper()
		gotTop, gotRest := TopOf(want, n)
		if !maps.Equal(gotTop, top) || gotRest != rest {
			t.Errorf("TopOf(%d) = %v, %v; want %v, %v", n, gotTop, gotRest, top, rest)
		}
	}
	f(0, map[string]float64{}, 25)
	f(1, map[string]float64{"eni-2|ACCEPT": 9}, 16)
	f(2, map[string]float64{"eni-2|ACCEPT": 9, "eni-1|ACCEPT": 5}, 11)
	f(3, map[string]float64{"eni-2|ACCEPT": 9, "eni-1|ACCEPT": 5, "eni-1|REJECT": 5}, 6)
	f(4, map[string]float64{"eni-2|ACCEPT": 9, "eni-1|ACCEPT": 5, "eni-1|REJECT": 5, "eni-10|ACCEPT": 5}, 1)
	f(9, want, 0)
}

// TestDiff: equal sets give "", a key missing from got differs even where
// want is 0.
func TestDiff(t *testing.T) {
	f := func(got, want map[string]float64, diff string) {
		t.Helper()
		if d := Diff(got, want); d != diff {
			t.Errorf("Diff(%v, %v) = %q, want %q", got, want, d, diff)
		}
	}
	f(nil, nil, "")
	f(map[string]float64{"a": 1, "b": 0}, map[string]float64{"a": 1, "b": 0}, "")
	f(map[string]float64{"a": 1}, map[string]float64{"a": 1, "b": 0}, "  b: got NaN, want 0")
	f(map[string]float64{"a": 2, "c": 1}, map[string]float64{"a": 1}, "  a: got 2, want 1\n  c: got 1, want nothing")
}

// TestRestep: a five-minute family's minute samples are summed per
// interval at its start plus the slot; samples already on their step,
// one-minute families and other series pass as they are.
func TestRestep(t *testing.T) {
	const m = 60_000
	f := func(name string, in, want []vmclient.Sample) {
		t.Helper()
		var got []vmclient.Sample
		Restep(func(labels []vmclient.Label, samples []vmclient.Sample) {
			got = append(got, samples...)
		})([]vmclient.Label{{Name: "__name__", Value: name}}, in)
		if !slices.Equal(got, want) {
			t.Errorf("%s %v: %v, want %v", name, in, got, want)
		}
	}
	s := func(ts int64, v float64) vmclient.Sample { return vmclient.Sample{Timestamp: ts, Value: v} }
	slot := int64(59999)
	// Minutes 0–6 of a batch at slot 59999: 0–4 into the interval at 0, 5–6 at 5.
	in := []vmclient.Sample{s(0*m+slot, 1), s(1*m+slot, 2), s(4*m+slot, 4), s(5*m+slot, 8), s(6*m+slot, 16)}
	f("vpcflow_src_bytes", in, []vmclient.Sample{s(slot, 7), s(5*m+slot, 24)})
	f("vpcflow_status_records", in, []vmclient.Sample{s(slot, 7), s(5*m+slot, 24)})
	f("vpcflow_src_bytes", []vmclient.Sample{s(5*m+slot, 24), s(slot, 7)}, []vmclient.Sample{s(slot, 7), s(5*m+slot, 24)}) // out of order
	f("vpcflow_src_bytes", []vmclient.Sample{s(slot, 7), s(5*m+slot, 24)}, []vmclient.Sample{s(slot, 7), s(5*m+slot, 24)}) // on its step
	f("vpcflow_total_bytes", in, in)                                                                                       // a one-minute family
	f("vpcflow_service_flows", in, in)
	f("vpcflow_collector_ledger", in, in) // no family
}
