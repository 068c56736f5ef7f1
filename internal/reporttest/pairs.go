package reporttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/testserver"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// PairStep is the step of the pair family, the step of the reports of
// Pairs.
const PairStep = schema.StepInterface

// LoadPairs starts a VictoriaMetrics holding Pairs(n, from), from
// 2026-06-01 00:00 UTC, and returns it with the range [from, to) that
// holds them.
func LoadPairs(t testing.TB, n int) (vm *testserver.VM, from, to time.Time) {
	t.Helper()
	vm = testserver.VictoriaMetrics(t)
	from = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	to = from.Add(2 * PairStep)
	Write(t, vm.URL, Pairs(n, from)...)
	vm.Flush()
	return vm, from, to
}

// Pairs returns n hand-made label sets of the pair family, for tests of
// reports with many rows: label set i (0 ≤ i < n) is the traffic from
// PairSrc(i) to PairDst(i), accepted, in one VPC, with a sample at from
// and one a PairStep later (from is a multiple of PairStep), holding
// (i+1)·100 and (i+1)·200 bytes, i+1 and 2(i+1) packets, 1 and 2 flows.
// So the pair-interface report over [from, from+2·PairStep) has n rows,
// row i worth (i+1)·300 bytes, no two alike. Write them with Write, which
// adds the derived pair totals the report's Other reads.
func Pairs(n int, from time.Time) []vmclient.Series {
	series := make([]vmclient.Series, 0, 3*n)
	for i := range n {
		set := map[string]string{
			schema.LabelAccount: "111111111111", schema.LabelRegion: "us-east-1", schema.LabelVPC: "vpc-0a1",
			"src_interface": PairSrc(i), "dst_interface": PairDst(i), "action": "ACCEPT",
		}
		for j, name := range schema.Families()[schema.Pair].MetricNames() {
			v := float64([]int{100 * (i + 1), i + 1, 1}[j])
			series = append(series, Series(name, schema.Pair, set,
				vmclient.Sample{Timestamp: from.UnixMilli() + 7, Value: v},
				vmclient.Sample{Timestamp: from.Add(PairStep).UnixMilli() + 7, Value: 2 * v}))
		}
	}
	return series
}

// PairSrc is the source interface of label set i of Pairs: eni- and i in
// 17 digits, as long as an AWS interface ID.
func PairSrc(i int) string { return fmt.Sprintf("eni-%017d", i) }

// PairDst is the destination interface of label set i of Pairs.
func PairDst(i int) string { return fmt.Sprintf("eni-%017d", 50_000_000+i) }
