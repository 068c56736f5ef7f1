// Package report is the report engine: the registry of report types (the
// Scrutinizer reports and a few more), the query model shared with the
// Grafana plugin, its compilation into MetricsQL over the metric families of
// package schema, and a small VictoriaMetrics client that runs the queries
// and returns exact tables (top N rows plus an Other row) and time series.
//
// The plugin backend (QueryData, alerting, variables, health) and the
// `vpcflow-collector report` command run the very same code.
//
// # Time
//
// Every family has a step (schema.Family.Step: a minute, or five minutes
// for the per-interface and address families); a sample holds the amounts
// of the interval of that step it is stamped in, at interval_start + slot
// milliseconds. A query reads whole intervals of every family it reads: its
// range [From, To) is rounded down to its step (Query.Step, the longest
// step of the families its rows and totals come from; Align), time series
// steps are multiples of it (StepFor), and every query is evaluated at the
// end of its window minus one millisecond with a lookbehind window of the
// window's length, so that VictoriaMetrics' window (t-d, t] is [start, end)
// in milliseconds. Data written before the families had steps (a sample per
// minute in every family) is read by the same windows: each minute lies in
// exactly one interval. Queries are sent with nocache=1, which keeps
// VictoriaMetrics from moving the evaluation time (-search.latencyOffset,
// step alignment) and from serving cached partial results.
package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/schema"
)

// Report describes one report type of the registry.
type Report struct {
	// ID names the report in queries and on the command line, such as
	// "action-interface".
	ID string
	// Title is the report's display name (Scrutinizer's where it has one).
	Title string
	// Description says what the report shows.
	Description string
	// Family is the schema family the report reads (schema.Interface, …).
	Family int
	// GroupBy are the family labels a row is keyed by, in column order.
	GroupBy []string
	// Filters are applied to every query of the report besides the
	// query's own.
	Filters []Filter
	// Metrics are the metrics the report can count; the first is the
	// default.
	Metrics []Metric
	// FilterLabels are the labels a query may filter on; nil means every
	// label of the family.
	FilterLabels []string
	// Extra names the columns a table row has besides GroupBy (the
	// exporters report's first_seen, last_seen, status and
	// collector_status).
	Extra []string
}

// Report IDs.
const (
	ReportAction               = "action"
	ReportActionInterface      = "action-interface"
	ReportActionInterfaceDst   = "action-interface-dst"
	ReportActionInterfaceSrc   = "action-interface-src"
	ReportAvailabilityZones    = "availability-zones"
	ReportDstService           = "dst-service"
	ReportInterface            = "interface"
	ReportPairInterface        = "pair-interface"
	ReportPairInterfaceAction  = "pair-interface-action"
	ReportSrcService           = "src-service"
	ReportSrcServiceDstService = "src-service-dst-service"
	ReportTrafficPath          = "traffic-path"
	ReportVPCs                 = "vpcs"
	ReportApplications         = "applications"
	ReportTopSources           = "top-sources"
	ReportTopDestinations      = "top-destinations"
	ReportRejectReasons        = "reject-reasons"
	ReportSubnets              = "subnets"
	ReportInstances            = "instances"
	ReportLogStatus            = "log-status"
	ReportExporters            = "exporters"
)

// Label names and values the registry and the exporters report use.
const (
	labelAction        = "action"
	labelInterface     = "interface_id"
	labelFlowDirection = "flow_direction"
	labelLogStatus     = "log_status"
	directionEgress    = "egress"
	logStatusOK        = "OK"
	logStatusSkipData  = "SKIPDATA"
)

// RejectedActions are the actions of rejected traffic, as an OpMatch value
// on the action label: REJECT (refused by a security group or a network
// ACL) and DROP (dropped: it did not get through either). Other actions
// AWS may add count under their own label, in the reports by action, and
// not as rejected traffic.
const RejectedActions = "REJECT|DROP"

// RejectedOnly returns the filter that narrows a report to rejected traffic
// (RejectedActions): the reject-reasons report's, the Rejected traffic
// dashboard's and the rejected-flow alert rules'.
func RejectedOnly() Filter {
	return Filter{Label: labelAction, Op: OpMatch, Value: RejectedActions}
}

// Columns of the exporters report besides its group-by labels, and the
// values of its status column.
const (
	ColumnFirstSeen = "first_seen"
	ColumnLastSeen  = "last_seen"
	ColumnStatus    = "status"
	// ColumnCollectorStatus is the collector's status of the VPC
	// (schema.ExporterStatuses: enabled, unresourced, disabled_limit …),
	// from the newest exporter status sample (schema.ExporterStatusMetric)
	// in the range, or up to schema.ExporterStatusLookback before it; "-"
	// when there is none (a collector that does not write it, or a range
	// it did not run in). A VPC whose sources or collectors say different
	// things has each status, joined by CollectorStatusSeparator.
	ColumnCollectorStatus = "collector_status"

	ExporterOK       = "ok"
	ExporterNoData   = "nodata"
	ExporterSkipData = "skipdata"

	// CollectorStatusSeparator joins the statuses of a VPC in the
	// collector_status column.
	CollectorStatusSeparator = ", "
)

var traffic = []Metric{MetricBytes, MetricPackets, MetricFlows}

// registry is the list Reports returns, in display order.
var registry = []Report{
	{ID: ReportAction, Title: "Action", Family: schema.Interface, GroupBy: []string{"action"}, Metrics: traffic,
		Description: "Traffic per action: ACCEPT, REJECT (by security groups and network ACLs), DROP, and any other action as AWS writes it."},
	{ID: ReportActionInterface, Title: "Action with Interface", Family: schema.Interface, GroupBy: []string{"interface_id", "action"}, Metrics: traffic,
		Description: "Traffic per network interface and action."},
	{ID: ReportActionInterfaceDst, Title: "Action with Interface and Dst", Family: schema.Dst, GroupBy: []string{"interface_id", "action", "dst_addr"}, Metrics: traffic,
		Description: "Traffic per network interface, action and destination address (the collector keeps the largest label sets per VPC, action and hour; the rest is interface_id and dst_addr \"other\")."},
	{ID: ReportActionInterfaceSrc, Title: "Action with Interface and Src", Family: schema.Src, GroupBy: []string{"interface_id", "action", "src_addr"}, Metrics: traffic,
		Description: "Traffic per network interface, action and source address (the collector keeps the largest label sets per VPC, action and hour; the rest is interface_id and src_addr \"other\")."},
	{ID: ReportAvailabilityZones, Title: "Availability Zones", Family: schema.Interface, GroupBy: []string{"az_id"}, Metrics: traffic,
		Description: "Traffic per availability zone ID (az-id, such as use1-az1), as logged at the interface."},
	{ID: ReportDstService, Title: "Dst Service", Family: schema.Service, GroupBy: []string{"dst_service"}, Metrics: traffic,
		Description: "Traffic per AWS service at the destination (pkt-dst-aws-service; - when none)."},
	{ID: ReportInterface, Title: "Interface", Family: schema.Interface, GroupBy: []string{"interface_id"}, Metrics: traffic,
		Description: "Traffic per network interface."},
	{ID: ReportPairInterface, Title: "Pair Interface", Family: schema.Pair, GroupBy: []string{"src_interface", "dst_interface"}, Metrics: traffic,
		Description: "Traffic between network interfaces (- for an end outside the known interfaces); intra-VPC traffic logged at both ends counts once."},
	{ID: ReportPairInterfaceAction, Title: "Pair Interface Action", Family: schema.Pair, GroupBy: []string{"src_interface", "dst_interface", "action"}, Metrics: traffic,
		Description: "Traffic between network interfaces, per action."},
	{ID: ReportSrcService, Title: "Src Service", Family: schema.Service, GroupBy: []string{"src_service"}, Metrics: traffic,
		Description: "Traffic per AWS service at the source (pkt-src-aws-service; - when none)."},
	{ID: ReportSrcServiceDstService, Title: "Src Service-Dst Service", Family: schema.Service, GroupBy: []string{"src_service", "dst_service"}, Metrics: traffic,
		Description: "Traffic per pair of AWS services at the source and the destination."},
	{ID: ReportTrafficPath, Title: "Traffic Path", Family: schema.Interface, GroupBy: []string{"traffic_path"}, Metrics: traffic,
		Filters:     []Filter{{Label: labelFlowDirection, Op: OpEqual, Value: directionEgress}},
		Description: "Egress traffic per traffic path (1 same VPC, 2 internet or gateway endpoint, 3 virtual private gateway, 4 intra-region peering, 5 inter-region peering, 6 local gateway, 7 gateway VPC endpoint (Nitro), 8 internet gateway)."},
	{ID: ReportVPCs, Title: "VPCs", Family: schema.Interface, GroupBy: []string{"account_id", "region", "vpc_id"}, Metrics: traffic,
		Description: "Traffic per VPC (account, region and VPC ID)."},
	{ID: ReportApplications, Title: "Applications", Family: schema.App, GroupBy: []string{"protocol", "port"}, Metrics: traffic,
		Description: "Traffic per IP protocol number and application port (the lower of the two ports)."},
	{ID: ReportTopSources, Title: "Top Sources", Family: schema.Src, GroupBy: []string{"src_addr"}, Metrics: traffic,
		Description: "Traffic per source address (per VPC, action and hour the collector keeps the largest label sets; the rest is src_addr=\"other\")."},
	{ID: ReportTopDestinations, Title: "Top Destinations", Family: schema.Dst, GroupBy: []string{"dst_addr"}, Metrics: traffic,
		Description: "Traffic per destination address (per VPC, action and hour the collector keeps the largest label sets; the rest is dst_addr=\"other\")."},
	{ID: ReportRejectReasons, Title: "Reject Reasons", Family: schema.Interface, GroupBy: []string{"reject_reason"}, Metrics: traffic,
		Filters:     []Filter{RejectedOnly()},
		Description: "Rejected traffic (REJECT or DROP) per reject reason (reject-reason, v8: BPA for VPC Block Public Access; - when not given)."},
	{ID: ReportSubnets, Title: "Subnets", Family: schema.Interface, GroupBy: []string{"vpc_id", "subnet_id"}, Metrics: traffic,
		Description: "Traffic per subnet, with its VPC."},
	{ID: ReportInstances, Title: "Instances", Family: schema.Interface, GroupBy: []string{"instance_id"}, Metrics: traffic,
		Description: "Traffic per EC2 instance, over all its interfaces (- for interfaces without an instance: NAT gateways, load balancers, endpoints)."},
	{ID: ReportLogStatus, Title: "Log Status", Family: schema.Status, GroupBy: []string{"log_status"}, Metrics: []Metric{MetricRecords},
		Description: "Flow log records per log status: OK, NODATA (no traffic in the interval), SKIPDATA (AWS skipped records: a capacity or internal error)."},
	{ID: ReportExporters, Title: "Exporters", Family: schema.Interface, GroupBy: []string{"account_id", "region", "vpc_id"}, Metrics: []Metric{MetricFlows, MetricBytes, MetricPackets},
		FilterLabels: []string{schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, labelInterface},
		Extra:        []string{ColumnFirstSeen, ColumnLastSeen, ColumnStatus, ColumnCollectorStatus},
		Description: "Each VPC whose flow log sent records (an exporter, as a router is for NetFlow): first and last five-minute interval seen in the range, " +
			"its traffic, its status (ok, nodata: only NODATA records, no traffic; skipdata: AWS skipped records) " +
			"and the collector's status of it (collector_status: enabled; unresourced: its source is paused, the collector cannot keep up; " +
			"disabled_limit: over limits.max_exporters, its records dropped; credentials, error, disabled: its source's; - when no collector says). " +
			"A VPC the collector knows without records stored in the range (over the limit, or its source paused) is listed with 0."},
}

// Reports returns the registry, in display order (a fresh copy).
func Reports() []Report {
	out := make([]Report, len(registry))
	for i, r := range registry {
		out[i] = r.clone()
	}
	return out
}

func (r Report) clone() Report {
	r.GroupBy = slices.Clone(r.GroupBy)
	r.Filters = slices.Clone(r.Filters)
	r.Metrics = slices.Clone(r.Metrics)
	r.FilterLabels = slices.Clone(r.FilterLabels)
	r.Extra = slices.Clone(r.Extra)
	return r
}

// IDs returns the report IDs, in display order.
func IDs() []string {
	ids := make([]string, len(registry))
	for i, r := range registry {
		ids[i] = r.ID
	}
	return ids
}

// Lookup returns the report named id; the error lists the valid IDs.
func Lookup(id string) (Report, error) {
	for _, r := range registry {
		if r.ID == id {
			return r.clone(), nil
		}
	}
	return Report{}, fmt.Errorf("unknown report %q; valid reports: %s", id, strings.Join(IDs(), ", "))
}

// FamilyDef returns the schema family the report reads.
func (r Report) FamilyDef() schema.Family { return schema.Families()[r.Family] }

// Step returns the step of the report's family (for the exporters report,
// the longer of its family's and the status family's): LabelValues aligns
// its ranges to it. A query may read a family of a shorter step instead
// (Query.Step).
func (r Report) Step() time.Duration {
	s := r.FamilyDef().Step
	if r.exporters() {
		s = max(s, schema.Families()[schema.Status].Step)
	}
	return s
}

// DefaultMetric returns the metric a query counts when it names none.
func (r Report) DefaultMetric() Metric { return r.Metrics[0] }

// Columns returns the label keys of the report's table rows: GroupBy, then
// Extra.
func (r Report) Columns() []string { return append(slices.Clone(r.GroupBy), r.Extra...) }

// Filterable returns the labels a query of the report may filter on.
func (r Report) Filterable() []string {
	if r.FilterLabels != nil {
		return slices.Clone(r.FilterLabels)
	}
	return slices.Clone(r.FamilyDef().Labels)
}

// MetricName returns the name of the series the report reads for metric m,
// such as "vpcflow_interface_bytes".
func (r Report) MetricName(m Metric) string {
	f := r.FamilyDef()
	if !f.Traffic {
		return f.Name
	}
	return f.Name + "_" + string(m)
}

// exporters reports whether r is the exporters report, which joins the
// status family to its traffic.
func (r Report) exporters() bool { return r.ID == ReportExporters }
