// Package schema is the single source of truth for the metric families the
// collector writes and the report engine, the plugin and the dashboards
// read: their names, their labels, their steps and the conventions of their
// values.
package schema

import "time"

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

// PairServicePrefix begins the pair family's src_interface or
// dst_interface when the peer is no interface but an AWS service the
// record names (pkt-src-aws-service, pkt-dst-aws-service): "aws:S3",
// "aws:DYNAMODB" (and "aws:other" for the services folded by the
// per-batch bound). A peer that is neither stays Absent.
const PairServicePrefix = "aws:"

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
	// TopK families keep, per group and hour, the label sets the collector
	// chose when the hour began (the K largest of the hour before and of
	// the first batch with data for the hour: docs/pipeline.md, Bounded
	// families) and fold the rest into label sets whose labels outside the
	// group are Other, so that totals stay exact. Group names the labels
	// of the group.
	TopK  bool
	Group []string
	// Step is the time between the family's samples: each sample holds
	// the amounts of the Step-long interval it is stamped at the start of
	// (plus the batch's slot, in milliseconds). Queries over the family
	// align their ranges and steps to it.
	Step time.Duration
	// Derived families are not counted from records: each of their label
	// sets holds the sum of family Of's label sets that share its labels
	// (every Labels entry is also a label of Of). They are written with the
	// same batch and slot as Of, summed before Of is folded, so they are as
	// exact (a derived family may be bounded itself: TopK), and they let
	// reports read totals from a few series instead of many.
	Derived bool
	Of      int
	// Help describes the family.
	Help string
}

// Steps of the families (Family.Step): the per-interface and address
// families hold five-minute intervals (a quiet fleet has about one record per
// interface and minute: a minute step wrote a sample per record and
// metric), the VPC-wide families minutes.
const (
	StepInterface = 5 * time.Minute
	StepVPC       = time.Minute
)

// Family IDs, in the order Families returns them.
const (
	Interface = iota
	Service
	Pair
	Src
	Dst
	App
	Status
	Total
	PairTotal
	AppTotal
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
			Step:    StepInterface,
			Help:    "Traffic per network interface, action, direction, traffic path and reject reason.",
		},
		Service: {
			Name:    "vpcflow_service",
			Labels:  common("src_service", "dst_service", "action", "flow_direction"),
			Traffic: true,
			Step:    StepVPC,
			Help:    "Traffic per AWS service at either end (pkt-src-aws-service, pkt-dst-aws-service).",
		},
		Pair: {
			Name:    "vpcflow_pair",
			Labels:  common("src_interface", "dst_interface", "action"),
			Traffic: true,
			TopK:    true,
			Group:   common("action"),
			Step:    StepInterface,
			Help:    "Traffic between network interfaces; intra-VPC traffic logged at both ends counts once (top K per VPC, action and hour).",
		},
		Src: {
			Name:    "vpcflow_src",
			Labels:  common("interface_id", "action", "src_addr"),
			Traffic: true,
			TopK:    true,
			Group:   common("action"),
			Step:    StepInterface,
			Help:    "Traffic per source address seen at a network interface (top K per VPC, action and hour).",
		},
		Dst: {
			Name:    "vpcflow_dst",
			Labels:  common("interface_id", "action", "dst_addr"),
			Traffic: true,
			TopK:    true,
			Group:   common("action"),
			Step:    StepInterface,
			Help:    "Traffic per destination address seen at a network interface (top K per VPC, action and hour).",
		},
		App: {
			Name:    "vpcflow_app",
			Labels:  common("interface_id", "protocol", "port", "action", "flow_direction"),
			Traffic: true,
			TopK:    true,
			Group:   common("action"),
			Step:    StepInterface,
			Help:    "Traffic per protocol and application port (the lower of the two ports) at a network interface (top K per VPC, action and hour).",
		},
		Status: {
			Name:   "vpcflow_status_records",
			Labels: common("interface_id", "log_status"),
			Step:   StepInterface,
			Help:   "Records per log status (OK, NODATA, SKIPDATA): SKIPDATA means AWS lost records.",
		},
		Total: {
			Name:    "vpcflow_total",
			Labels:  common("action", "flow_direction"),
			Traffic: true,
			Derived: true,
			Of:      Interface,
			Step:    StepVPC,
			Help:    "Traffic per VPC, action and direction: the totals of every traffic record (and of the interface, service, src, dst and app families).",
		},
		PairTotal: {
			Name:    "vpcflow_pair_total",
			Labels:  common("action"),
			Traffic: true,
			Derived: true,
			Of:      Pair,
			Step:    StepVPC,
			Help:    "The pair family's totals per VPC and action.",
		},
		AppTotal: {
			Name:    "vpcflow_app_total",
			Labels:  common("protocol", "port", "action", "flow_direction"),
			Traffic: true,
			Derived: true,
			Of:      App,
			TopK:    true,
			Group:   common("action"),
			Step:    StepInterface,
			Help:    "Traffic per VPC, protocol and application port: the app family without interfaces, summed before the app family's folding, then bounded itself (top K per VPC, action and hour).",
		},
	}
}

// DerivedFrom returns the IDs of the derived families whose Of is family
// of, in ID order (none for most families).
func DerivedFrom(of int) []int {
	var out []int
	for id, f := range Families() {
		if f.Derived && f.Of == of {
			out = append(out, id)
		}
	}
	return out
}

// MetricNames returns the names of a family's series: Name plus each
// suffix for a traffic family, Name alone for the status family.
func (f Family) MetricNames() []string {
	if !f.Traffic {
		return []string{f.Name}
	}
	return []string{f.Name + SuffixBytes, f.Name + SuffixPackets, f.Name + SuffixFlows}
}
