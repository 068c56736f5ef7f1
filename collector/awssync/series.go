package awssync

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/vmclient"
)

// MetricName is the name of the series Series writes.
const MetricName = "vpcflow_entity_info"

// MaxTextBytes bounds the free-text label values (name, description,
// tags): AWS allows 256 characters in a tag value and 255 in a
// description. A longer value is cut at a character boundary and ends in
// "…". VictoriaMetrics drops a series with a label value over 4 KiB.
const MaxTextBytes = 256

// MaxInterfaceTypeBytes bounds the interface_type label.
const MaxInterfaceTypeBytes = 64

// The labels of the series, besides the tag_<key> ones.
const (
	LabelAccountID     = "account_id"
	LabelRegion        = "region"
	LabelKind          = "entity_type" // the kind (DESIGN.md's contract names the labels entity_type and entity_id)
	LabelID            = "entity_id"
	LabelName          = "name"
	LabelDescription   = "description"
	LabelVPCID         = "vpc_id"
	LabelSubnetID      = "subnet_id"
	LabelAZID          = "az_id"
	LabelInstanceID    = "instance_id"
	LabelInterfaceType = "interface_type"
)

// idField is the flow log field whose shape an entity's id has, by kind.
var idField = map[Kind]flowlog.Field{
	KindVPC:       flowlog.VPCID,
	KindSubnet:    flowlog.SubnetID,
	KindInterface: flowlog.InterfaceID,
	KindInstance:  flowlog.InstanceID,
	KindAZ:        flowlog.AZID,
}

// validAccount reports whether v is an account id: 12 digits.
func validAccount(v string) bool {
	return len(v) == 12 && flowlog.ValidString(flowlog.AccountID, []byte(v))
}

// Series returns the vpcflow_entity_info series of the result's entities,
// value 1 at time at, for account (12 digits) and the result's region, with
// the labels
// account_id, region, entity_type (the kind), entity_id, name, description, vpc_id, subnet_id,
// az_id, instance_id, interface_type and tag_<key> (TagLabel) for the
// configured tags; a label whose value is empty is left out.
//
// Every value is checked before it becomes a label. Ids and relations must
// have the shape AWS documents (the flow log decoder's checks: vpc- and
// 1 to 32 lowercase hex digits …): an entity whose id does not is left
// out, a relation that does not is left out of the entity's labels. The
// interface type is lowercase letters, digits, '_' and '-', at most
// MaxInterfaceTypeBytes, else left out. Free text (name, description, tag
// values) is made valid UTF-8 (U+FFFD for bad bytes), its control
// characters replaced by spaces, trimmed, and cut to MaxTextBytes. An
// account or region without its shape gives no series at all.
func Series(result Result, account string, at time.Time) []vmclient.Series {
	region := result.Region
	if !validAccount(account) || !flowlog.ValidString(flowlog.Region, []byte(region)) {
		return nil
	}
	ts := at.UnixMilli()
	var out []vmclient.Series
	for _, e := range result.All() {
		f, ok := idField[e.Kind]
		if !ok || !flowlog.ValidString(f, []byte(e.ID)) {
			continue
		}
		labels := []vmclient.Label{
			{Name: "__name__", Value: MetricName},
			{Name: LabelAccountID, Value: account},
			{Name: LabelRegion, Value: region},
			{Name: LabelKind, Value: string(e.Kind)},
			{Name: LabelID, Value: e.ID},
		}
		add := func(name, v string) {
			if v != "" {
				labels = append(labels, vmclient.Label{Name: name, Value: v})
			}
		}
		check := func(name string, f flowlog.Field, v string) {
			if v != "" && flowlog.ValidString(f, []byte(v)) {
				labels = append(labels, vmclient.Label{Name: name, Value: v})
			}
		}
		add(LabelName, Text(e.Name))
		add(LabelDescription, Text(e.Description))
		check(LabelVPCID, flowlog.VPCID, e.VPCID)
		check(LabelSubnetID, flowlog.SubnetID, e.SubnetID)
		check(LabelAZID, flowlog.AZID, e.AZID)
		check(LabelInstanceID, flowlog.InstanceID, e.InstanceID)
		if validInterfaceType(e.InterfaceType) {
			add(LabelInterfaceType, e.InterfaceType)
		}
		keys := make([]string, 0, len(e.Tags))
		for k := range e.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			add(TagLabel(k), Text(e.Tags[k]))
		}
		out = append(out, vmclient.Series{Labels: labels, Samples: []vmclient.Sample{{Timestamp: ts, Value: 1}}})
	}
	return out
}

// validInterfaceType reports whether v is an interface type such as
// nat_gateway: lowercase letters, digits, '_' and '-', at most
// MaxInterfaceTypeBytes.
func validInterfaceType(v string) bool {
	if v == "" || len(v) > MaxInterfaceTypeBytes {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Text returns v bounded for a label: valid UTF-8 (U+FFFD for each run of
// bad bytes), control characters (and the line and paragraph separators
// U+2028, U+2029) replaced by spaces, trimmed of spaces,
// and at most MaxTextBytes bytes, cut at a character boundary and ending
// in "…" when cut.
func Text(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	v = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, v)
	v = strings.TrimSpace(v)
	if len(v) <= MaxTextBytes {
		return v
	}
	const ellipsis = "…"
	n := MaxTextBytes - len(ellipsis)
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return strings.TrimSpace(v[:n]) + ellipsis
}
