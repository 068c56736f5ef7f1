package schema

import "maps"

// AbsentName describes the value Absent ("-") in the value pickers: the
// record lacks the field.
const AbsentName = "absent"

// OtherName describes the value Other ("other") in the value pickers: the
// label sets a top-K family folds together.
const OtherName = "everything outside the top K"

// ValueNames are the readable names of one label's values. Label values
// stay the record's own (AWS writes numbers and codes); names are for
// people: the plugin's value pickers describe every value with a name, and
// series and row names show the name instead of the value where the label
// is Coded.
type ValueNames struct {
	// Label is the label name, such as "protocol".
	Label string
	// Coded labels hold numbers whose names replace them in series and
	// row names ("TCP/443", "Internet gateway (Nitro)"); the values of
	// other labels read well as they are ("ACCEPT", "egress"), and their
	// names only describe them in the pickers.
	Coded bool
	// Names maps a value to its name; values without one have none.
	Names map[string]string
}

// valueNames is the table ValueNames returns: read only.
var valueNames = []ValueNames{
	{Label: "protocol", Coded: true, Names: map[string]string{
		"1": "ICMP", "6": "TCP", "17": "UDP", "47": "GRE", "50": "ESP", "51": "AH", "58": "ICMPv6", "132": "SCTP",
	}},
	{Label: "traffic_path", Coded: true, Names: map[string]string{
		"1": "Another resource in the same VPC",
		"2": "Internet gateway or gateway VPC endpoint",
		"3": "Virtual private gateway",
		"4": "Intra-region VPC peering connection",
		"5": "Inter-region VPC peering connection",
		"6": "Local gateway",
		"7": "Gateway VPC endpoint (Nitro)",
		"8": "Internet gateway (Nitro)",
	}},
	{Label: "flow_direction", Names: map[string]string{"ingress": "Ingress", "egress": "Egress"}},
	{Label: "action", Names: map[string]string{"ACCEPT": "Accepted", "REJECT": "Rejected", "DROP": "Dropped"}},
	{Label: "reject_reason", Names: map[string]string{"BPA": "Block Public Access"}},
}

// valueNamesByLabel indexes valueNames by label: read only.
var valueNamesByLabel = func() map[string]ValueNames {
	out := make(map[string]ValueNames, len(valueNames))
	for _, v := range valueNames {
		out[v.Label] = v
	}
	return out
}()

// AllValueNames returns the names of label values, one entry per label
// that has any (a fresh copy each time).
func AllValueNames() []ValueNames {
	out := make([]ValueNames, len(valueNames))
	for i, v := range valueNames {
		out[i] = ValueNames{Label: v.Label, Coded: v.Coded, Names: maps.Clone(v.Names)}
	}
	return out
}

// ValueName returns the readable name of a label's value: the IANA name of
// a protocol number, the meaning of a traffic path, "Rejected" for action
// REJECT, …, and AbsentName for Absent and OtherName for Other, whatever
// the label; "" when the value has no name.
func ValueName(label, value string) string {
	if n, ok := valueNamesByLabel[label].Names[value]; ok {
		return n
	}
	switch value {
	case Absent:
		return AbsentName
	case Other:
		return OtherName
	}
	return ""
}

// SeriesValue returns a label's value as a series or row name shows it:
// the name of a Coded label's value when it has one, otherwise the value
// itself, Absent for an empty one.
func SeriesValue(label, value string) string {
	if v := valueNamesByLabel[label]; v.Coded {
		if n, ok := v.Names[value]; ok {
			return n
		}
	}
	if value == "" {
		return Absent
	}
	return value
}
