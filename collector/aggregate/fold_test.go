package aggregate

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/schema"
)

// peerRecords are ingress records at eni-a from n internet sources, source
// i sending (i+1)*10 bytes in minute 10 (at 600 s) and, for the first three,
// as much again an hour later.
func peerRecords(t *testing.T, n int) (*Aggregate, Resolution) {
	t.Helper()
	var recs [][]string
	for i := range n {
		src := fmt.Sprintf("203.0.113.%d", i)
		recs = append(recs, base("eni-a", "ingress", src, "10.0.0.1", (i+1)*10))
		if i < 3 {
			recs = append(recs, with(base("eni-a", "ingress", src, "10.0.0.1", (i+1)*10), "start=4200", "end=4260"))
		}
	}
	return aggregated(t, recs)
}

// TestKeepFolds: with explicit keep sets, a kept label set holds exactly
// its own amounts in its hour, the others of the group and hour are in
// other, the group's totals are exact, and a group and hour without a keep
// set keeps nothing.
func TestKeepFolds(t *testing.T) {
	a, res := peerRecords(t, 10)
	group := "111122223333|us-east-1|vpc-1|ACCEPT"
	hour0 := GroupHour{Family: schema.Src, Group: group, Hour: 0}
	hour1 := GroupHour{Family: schema.Src, Group: group, Hour: 1}
	for _, tc := range []struct {
		name string
		keep Keep
		want map[string]float64 // src_addr@hour start
	}{
		{"two kept in the first hour, one in the second", Keep{
			hour0: {"eni-a|203.0.113.9", "eni-a|203.0.113.0"},
			hour1: {"eni-a|203.0.113.1"},
		}, map[string]float64{
			"203.0.113.9@0": 100, "203.0.113.0@0": 10, "other@0": 550 - 110,
			"203.0.113.1@3600000": 20, "other@3600000": 10 + 30,
		}},
		{"the second hour has no keep set", Keep{
			hour0: {"eni-a|203.0.113.9"},
		}, map[string]float64{"203.0.113.9@0": 100, "other@0": 450, "other@3600000": 60}},
		{"nothing kept", Keep{}, map[string]float64{"other@0": 550, "other@3600000": 60}},
		{"kept labels the aggregate lacks", Keep{hour0: {"eni-a|192.0.2.1"}}, map[string]float64{"other@0": 550, "other@3600000": 60}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := samplesPer(a.Series(&res, 0, Fold{Keep: tc.keep}), time.Hour, "vpcflow_src_bytes", "src_addr")
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			// The families bounded by the group keep exact totals, and
			// the unbounded ones are untouched.
			all := a.Series(&res, 0, Fold{})
			folded := a.Series(&res, 0, Fold{Keep: tc.keep})
			for _, name := range []string{"vpcflow_src_bytes", "vpcflow_dst_packets", "vpcflow_app_flows", "vpcflow_app_total_bytes", "vpcflow_pair_bytes"} {
				if g, w := samplesPer(folded, time.Hour, name, "vpc_id", "action"), samplesPer(all, time.Hour, name, "vpc_id", "action"); !maps.Equal(g, w) {
					t.Errorf("%s per group: %v, unfolded %v", name, g, w)
				}
			}
			if g, w := samples(folded, "vpcflow_interface_bytes", "interface_id"), samples(all, "vpcflow_interface_bytes", "interface_id"); !maps.Equal(g, w) {
				t.Errorf("interface family folded: %v, want %v", g, w)
			}
		})
	}
}

// TestKeepTopKeepsTheLargest: KeepTop keeps, per group and hour, the k
// largest label sets (ties by labels), so the largest peer of a group is
// never folded.
func TestKeepTopKeepsTheLargest(t *testing.T) {
	a, res := peerRecords(t, 10)
	out := a.Output(&res)
	keep := out.KeepTop(2)
	group := "111122223333|us-east-1|vpc-1|ACCEPT"
	if got := keep[GroupHour{schema.Src, group, 0}]; !slices.Equal(got, []string{"eni-a|203.0.113.9", "eni-a|203.0.113.8"}) {
		t.Errorf("src, first hour: %v", got)
	}
	if got := keep[GroupHour{schema.Src, group, 1}]; !slices.Equal(got, []string{"eni-a|203.0.113.2", "eni-a|203.0.113.1"}) {
		t.Errorf("src, second hour: %v", got)
	}
	// One destination (10.0.0.1) per hour: kept with any k.
	if got := keep[GroupHour{schema.Dst, group, 0}]; !slices.Equal(got, []string{"eni-a|10.0.0.1"}) {
		t.Errorf("dst: %v", got)
	}
	if got := keep[GroupHour{schema.AppTotal, group, 0}]; !slices.Equal(got, []string{"6|443|ingress"}) {
		t.Errorf("app_total: %v", got)
	}
	for gh, ts := range out.Candidates() {
		LargestFirst(ts, len(ts))
		if !slices.IsSortedFunc(ts, Larger) {
			t.Errorf("%v: candidates not largest first", gh)
		}
		if !schema.Families()[gh.Family].TopK {
			t.Errorf("%v: candidates of a family without top K", gh)
		}
	}
	got := samplesPer(a.Series(&res, 0, Fold{TopK: 1}), time.Hour, "vpcflow_src_bytes", "src_addr")
	if want := map[string]float64{"203.0.113.9@0": 100, "other@0": 450, "203.0.113.2@3600000": 30, "other@3600000": 30}; !maps.Equal(got, want) {
		t.Errorf("top 1: %v, want %v", got, want)
	}
}

// TestSteps: the five-minute families sum a record's minutes per interval,
// stamped at the interval's start plus the slot; the VPC-wide totals keep
// the minutes; Minutes names every timestamp's minute.
func TestSteps(t *testing.T) {
	// 600 bytes over 10:03 to 10:09 (seconds 603*60…): 100 a minute.
	a, res := aggregated(t, [][]string{with(base("eni-a", "egress", "10.0.0.1", "198.51.100.1", 600), "start=36180", "end=36540")})
	series := a.Series(&res, 42, Fold{TopK: 10})
	if got, want := samples(series, "vpcflow_interface_bytes", "interface_id"), map[string]float64{
		"eni-a@36000042": 200, "eni-a@36300042": 400}; !maps.Equal(got, want) {
		t.Errorf("interface: %v, want %v", got, want)
	}
	got := samples(series, "vpcflow_total_bytes", "vpc_id")
	if len(got) != 6 || got["vpc-1@36180042"] != 100 || got["vpc-1@36480042"] != 100 {
		t.Errorf("total: %v, want 100 in each of the 6 minutes from 36180 s", got)
	}
	if got, want := a.Minutes(), []int64{600, 603, 604, 605, 606, 607, 608}; !slices.Equal(got, want) {
		t.Errorf("minutes %v, want %v", got, want)
	}
	// Replaying a batch recorded before the steps: every family at the
	// minute.
	legacy := samples(a.Series(&res, 42, Fold{LegacyTopK: 1000}), "vpcflow_interface_bytes", "interface_id")
	if len(legacy) != 6 || legacy["eni-a@36180042"] != 100 {
		t.Errorf("legacy interface: %v", legacy)
	}
}

// TestLegacyFold: a batch recorded before the bounded families folds as it
// did then, per interface, action and minute.
func TestLegacyFold(t *testing.T) {
	a, res := peerRecords(t, 10)
	got := samples(a.Series(&res, 0, Fold{LegacyTopK: 2}), "vpcflow_src_bytes", "interface_id", "src_addr")
	want := map[string]float64{"eni-a|203.0.113.9@600000": 100, "eni-a|203.0.113.8@600000": 90, "eni-a|other@600000": 550 - 190,
		"eni-a|203.0.113.2@4200000": 30, "eni-a|203.0.113.1@4200000": 20, "eni-a|other@4200000": 10}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// app_total was not bounded then.
	if got := samples(a.Series(&res, 0, Fold{LegacyTopK: 1}), "vpcflow_app_total_bytes", "port"); got["443@600000"] != 550 {
		t.Errorf("legacy app_total: %v", got)
	}
}

// TestKeepJSON: a Keep goes into a batch's snapshot and comes back.
func TestKeepJSON(t *testing.T) {
	keep := Keep{
		{schema.Src, "1|r|vpc-1|ACCEPT", 493000}: {"eni-a|10.0.0.1"},
		{schema.Pair, "1|r|vpc-1|REJECT", -1}:    {"-|eni-b", "eni-b|-"},
		{schema.AppTotal, "1|r|vpc|2|-", 493001}: nil,
	}
	b, err := json.Marshal(keep)
	if err != nil {
		t.Fatal(err)
	}
	var back Keep
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(keep, back, func(x, y []string) bool { return slices.Equal(x, y) }) {
		t.Errorf("%s came back as %v", b, back)
	}
	for _, bad := range []string{`{"x":[]}`, `{"1|g":[]}`, `{"99|g|1":[]}`, `{"1|g|h":[]}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
