// Package schema is the single source of truth for the metric families the
// collector writes and the report engine, the plugin and the dashboards
// read: their names, their labels and the conventions of their values.
package schema

// Label names shared by every family.
const (
	LabelAccount = "account_id"
	LabelRegion  = "region"
	LabelVPC     = "vpc_id"
)

// Absent is the value of a label whose field the record lacks.
const Absent = "-"

// Other is the value of the labels of a top-K family's folded remainder.
const Other = "other"

// Metric suffixes of the traffic families: every traffic family has one
// series of each per label set.
const (
	SuffixBytes   = "_bytes"
	SuffixPackets = "_packets"
	SuffixFlows   = "_flows"
)

// Family describes one metric family.
type Family struct {
	// Name is the metric name prefix, such as "vpcflow_interface".
	Name string
	// Labels are the family's label names, in a fixed order (the common
	// account_id, region, vpc_id first).
	Labels []string
	// Traffic families have _bytes, _packets and _flows series; the status
	// family has one series, Name itself, counting records.
	Traffic bool
	// TopK families keep the K largest label sets per group and minute and
	// fold the rest into Other; Group names the labels of the group.
	TopK  bool
	Group []string
	// Help describes the family.
	Help string
}

// Family IDs, in the order Families returns them.
const (
	Interface = iota
	Service
	Pair
	Src
	Dst
	App
	Status
	NumFamilies
)

// Families returns the metric families (a fresh copy each time).
func Families() []Family {
	common := func(more ...string) []string {
		return append([]string{LabelAccount, LabelRegion, LabelVPC}, more...)
	}
	return []Family{
		Interface: {
			Name:    "vpcflow_interface",
			Labels:  common("subnet_id", "az_id", "interface_id", "instance_id", "action", "flow_direction", "traffic_path", "reject_reason"),
			Traffic: true,
			Help:    "Traffic per network interface, action, direction, traffic path and reject reason.",
		},
		Service: {
			Name:    "vpcflow_service",
			Labels:  common("src_service", "dst_service", "action", "flow_direction"),
			Traffic: true,
			Help:    "Traffic per AWS service at either end (pkt-src-aws-service, pkt-dst-aws-service).",
		},
		Pair: {
			Name:    "vpcflow_pair",
			Labels:  common("src_interface", "dst_interface", "action"),
			Traffic: true,
			TopK:    true,
			Group:   common("action"),
			Help:    "Traffic between network interfaces; intra-VPC traffic logged at both ends counts once.",
		},
		Src: {
			Name:    "vpcflow_src",
			Labels:  common("interface_id", "action", "src_addr"),
			Traffic: true,
			TopK:    true,
			Group:   common("interface_id", "action"),
			Help:    "Traffic per source address seen at a network interface (top K per interface, action and minute).",
		},
		Dst: {
			Name:    "vpcflow_dst",
			Labels:  common("interface_id", "action", "dst_addr"),
			Traffic: true,
			TopK:    true,
			Group:   common("interface_id", "action"),
			Help:    "Traffic per destination address seen at a network interface (top K per interface, action and minute).",
		},
		App: {
			Name:    "vpcflow_app",
			Labels:  common("interface_id", "protocol", "port", "action", "flow_direction"),
			Traffic: true,
			TopK:    true,
			Group:   common("interface_id", "action"),
			Help:    "Traffic per protocol and application port (the lower of the two ports) at a network interface.",
		},
		Status: {
			Name:   "vpcflow_status_records",
			Labels: common("interface_id", "log_status"),
			Help:   "Records per log status (OK, NODATA, SKIPDATA): SKIPDATA means AWS lost records.",
		},
	}
}

// MetricNames returns the names of a family's series: Name plus each
// suffix for a traffic family, Name alone for the status family.
func (f Family) MetricNames() []string {
	if !f.Traffic {
		return []string{f.Name}
	}
	return []string{f.Name + SuffixBytes, f.Name + SuffixPackets, f.Name + SuffixFlows}
}
