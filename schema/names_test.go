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
		{"action", false, map[string]string{"ACCEPT": "Accepted", "REJECT": "Rejected"}},
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

func TestValueName(t *testing.T) {
	f := func(label, value, want string) {
		t.Helper()
		if got := ValueName(label, value); got != want {
			t.Errorf("ValueName(%q, %q) = %q, want %q", label, value, got, want)
		}
	}
	f("protocol", "6", "TCP")
	f("traffic_path", "8", "Internet gateway (Nitro)")
	f("action", "REJECT", "Rejected")
	f("flow_direction", "egress", "Egress")
	f("reject_reason", "BPA", "Block Public Access")
	f("protocol", "99", "")
	f("interface_id", "eni-0a1", "")
	f("port", "6", "") // names belong to a label
	f("protocol", Absent, AbsentName)
	f("src_addr", Absent, AbsentName)
	f("src_addr", Other, OtherName)
	f("protocol", Other, OtherName)
	f("nolabel", "", "")
}

// TestSeriesValue: only coded labels' values are replaced by their names
// in series and row names.
func TestSeriesValue(t *testing.T) {
	f := func(label, value, want string) {
		t.Helper()
		if got := SeriesValue(label, value); got != want {
			t.Errorf("SeriesValue(%q, %q) = %q, want %q", label, value, got, want)
		}
	}
	f("protocol", "6", "TCP")
	f("protocol", "99", "99")
	f("protocol", Other, Other)
	f("traffic_path", "8", "Internet gateway (Nitro)")
	f("traffic_path", Absent, Absent)
	f("action", "REJECT", "REJECT")
	f("flow_direction", "egress", "egress")
	f("reject_reason", "BPA", "BPA")
	f("port", "443", "443")
	f("src_addr", "", Absent)
}
