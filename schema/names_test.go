package schema

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

// TestValueNames pins the table of value names once, whole: the labels
// that have names, which of them are coded, and every name. Every label
// named is a label of some family.
func TestValueNames(t *testing.T) {
	want := []ValueNames{
		{"protocol", true, map[string]string{"1": "ICMP", "6": "TCP", "17": "UDP", "47": "GRE", "50": "ESP", "51": "AH", "58": "ICMPv6", "132": "SCTP"}},
		{"traffic_path", true, map[string]string{
			"1": "Another resource in the same VPC", "2": "Internet gateway or gateway VPC endpoint", "3": "Virtual private gateway",
			"4": "Intra-region VPC peering connection", "5": "Inter-region VPC peering connection", "6": "Local gateway",
			"7": "Gateway VPC endpoint (Nitro)", "8": "Internet gateway (Nitro)",
		}},
		{"flow_direction", false, map[string]string{"ingress": "Ingress", "egress": "Egress"}},
		{"action", false, map[string]string{"ACCEPT": "Accepted", "REJECT": "Rejected", "DROP": "Dropped"}},
		{"reject_reason", false, map[string]string{"BPA": "Block Public Access"}},
	}
	got := AllValueNames()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AllValueNames() = %v\nwant %v", got, want)
	}
	// A fresh copy each time.
	got[0].Names["6"] = "changed"
	if n := ValueName("protocol", "6"); n != "TCP" {
		t.Errorf("changing a copy changed the table: %q", n)
	}
	var labels []string
	for _, f := range Families() {
		labels = append(labels, f.Labels...)
	}
	for _, v := range want {
		if !slices.Contains(labels, v.Label) {
			t.Errorf("label %s of the names is no family's", v.Label)
		}
		for _, value := range slices.Sorted(maps.Keys(v.Names)) {
			if got := ValueName(v.Label, value); got != v.Names[value] {
				t.Errorf("ValueName(%s, %s) = %q, want %q", v.Label, value, got, v.Names[value])
			}
		}
	}
}

// TestValueName: every value of a named label has its name, the absent
// and folded values theirs whatever the label; a series or row name
// shows the names of coded labels only.
func TestValueName(t *testing.T) {
	f := func(label, value, name, series string) {
		t.Helper()
		if got := ValueName(label, value); got != name {
			t.Errorf("ValueName(%q, %q) = %q, want %q", label, value, got, name)
		}
		if got := SeriesValue(label, value); got != series {
			t.Errorf("SeriesValue(%q, %q) = %q, want %q", label, value, got, series)
		}
	}
	f("protocol", "6", "TCP", "TCP")
	f("protocol", "99", "", "99")
	f("traffic_path", "8", "Internet gateway (Nitro)", "Internet gateway (Nitro)")
	f("action", "REJECT", "Rejected", "REJECT")
	f("action", "DROP", "Dropped", "DROP")
	f("action", "BLACKHOLE", "", "BLACKHOLE") // an action AWS does not document: its own value
	f("flow_direction", "egress", "Egress", "egress")
	f("reject_reason", "BPA", "Block Public Access", "BPA")
	f("interface_id", "eni-0a1", "", "eni-0a1")
	f("port", "6", "", "6") // names belong to a label
	f("port", "443", "", "443")
	f("protocol", Absent, AbsentName, Absent)
	f("traffic_path", Absent, AbsentName, Absent)
	f("src_addr", Absent, AbsentName, Absent)
	f("src_addr", Other, OtherName, Other)
	f("protocol", Other, OtherName, Other)
	f("src_addr", "", "", Absent)
}
