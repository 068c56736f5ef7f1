package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vpcflow/vpcflow/report"
)

// rejectedOnly narrows a report to rejected traffic (REJECT or DROP).
var rejectedOnly = []report.Filter{report.RejectedOnly()}

// overview has a row per report of the registry, in registry order (the
// thirteen Scrutinizer reports first): its rate over time and its top 10
// over the range. A report added to the registry gets its row here.
func overview(b *board) {
	b.d.Description("Every vpcflow report (the Scrutinizer report types first): traffic over time in bits/s and the top 10 over the range in IEC bytes. " +
		"The variables narrow every panel whose report has their label.")
	b.useVariables(varAccount, varRegion, varVPC, varInterface, varAction)
	for _, rep := range report.Reports() {
		b.row(rep.Title)
		b.pair(flow{report: rep.ID})
	}
}

// vpcDetail is the exporter view of one VPC: its flow log's status, its
// traffic, interfaces, availability zones, subnets, services and top
// talkers.
func vpcDetail(b *board) {
	b.d.Description("One VPC (an exporter, as a router is for NetFlow): its flow log's status, traffic, interfaces, availability zones, subnets, AWS services and top talkers.")
	b.useVariables(varAccount, varRegion, varVPC.asSingle())

	b.row("Flow log")
	b.table(flow{report: report.ReportExporters, title: "Flow log status", w: 24, h: 5,
		description: "First and last five-minute interval with records in the range, the status: ok, nodata (only NODATA records) or skipdata (AWS skipped records), " +
			"and the collector's status of the VPC (collector_status): enabled, unresourced (its source paused: the collector cannot keep up), disabled_limit (over limits.max_exporters: its records are dropped) …"})
	b.series(flow{report: report.ReportAction, title: "Traffic by action", w: 12})
	b.series(flow{report: report.ReportLogStatus, title: "Records by log status", mode: report.ModeTotal, w: 12,
		description: "Records per step."})

	b.row("Interfaces")
	b.pair(flow{report: report.ReportInterface, top: 20})
	b.pair(flow{report: report.ReportInstances, top: 20})

	b.row("Availability zones and subnets")
	b.pair(flow{report: report.ReportAvailabilityZones})
	b.pair(flow{report: report.ReportSubnets, top: 20})

	b.row("AWS services")
	b.pair(flow{report: report.ReportSrcServiceDstService})

	b.row("Top talkers")
	b.table(flow{report: report.ReportTopSources, title: "Top sources", top: 20})
	b.table(flow{report: report.ReportTopDestinations, title: "Top destinations", top: 20})
	b.table(flow{report: report.ReportApplications, title: "Top applications", top: 20})
	b.table(flow{report: report.ReportPairInterface, title: "Top interface pairs", top: 20, w: 12})
	b.table(flow{report: report.ReportActionInterfaceSrc, title: "Top sources per interface and action", top: 20, w: 12})

	b.row("Traffic path")
	b.pair(flow{report: report.ReportTrafficPath})
}

// interfaceDetail is one network interface: its traffic, peers,
// applications and the interfaces it talks to.
func interfaceDetail(b *board) {
	b.d.Description("One network interface: its traffic by action, log status, sources and destinations, applications, reject reasons, traffic paths and the interfaces it talks to.")
	b.useVariables(varAccount, varRegion, varVPC, varInterface.asSingle())

	b.row("Traffic")
	b.series(flow{report: report.ReportAction, title: "Traffic by action", w: 12})
	b.series(flow{report: report.ReportLogStatus, title: "Records by log status", mode: report.ModeTotal, w: 12,
		description: "Records per step."})

	b.row("Sources and destinations")
	b.table(flow{report: report.ReportActionInterfaceSrc, title: "Sources by action", top: 20, w: 12})
	b.table(flow{report: report.ReportActionInterfaceDst, title: "Destinations by action", top: 20, w: 12})
	b.table(flow{report: report.ReportApplications, title: "Applications", top: 20})
	b.table(flow{report: report.ReportRejectReasons, title: "Reject reasons"})
	b.table(flow{report: report.ReportTrafficPath, title: "Traffic paths (egress)"})

	b.row("Interface pairs")
	b.table(flow{report: report.ReportPairInterfaceAction, title: "Sent to", top: 20, w: 12,
		filters: []report.Filter{{Label: "src_interface", Op: report.OpEqual, Value: "$" + varInterface.name}}})
	b.table(flow{report: report.ReportPairInterfaceAction, title: "Received from", top: 20, w: 12,
		filters: []report.Filter{{Label: "dst_interface", Op: report.OpEqual, Value: "$" + varInterface.name}}})
}

// rejected is the traffic security groups and network ACLs rejected: by
// VPC, interface, source, destination, application and reject reason,
// counted in flows.
func rejected(b *board) {
	b.d.Description("Traffic rejected by security groups and network ACLs or dropped (action REJECT or DROP), in flows: by VPC, interface, source, destination, application and reject reason.")
	b.useVariables(varAccount, varRegion, varVPC, varInterface)
	flows := report.MetricFlows

	b.row("Rejected flows")
	b.pair(flow{report: report.ReportVPCs, title: "Rejected flows by VPC", metric: flows, filters: rejectedOnly})
	b.pair(flow{report: report.ReportInterface, title: "Rejected flows by interface", metric: flows, top: 20, filters: rejectedOnly})

	b.row("Who and what")
	b.table(flow{report: report.ReportTopSources, title: "Rejected sources", metric: flows, top: 20, filters: rejectedOnly})
	b.table(flow{report: report.ReportTopDestinations, title: "Rejected destinations", metric: flows, top: 20, filters: rejectedOnly})
	b.table(flow{report: report.ReportApplications, title: "Rejected applications", metric: flows, top: 20, filters: rejectedOnly})
	b.table(flow{report: report.ReportActionInterfaceSrc, title: "Rejected sources per interface", metric: flows, top: 20, w: 12, filters: rejectedOnly})
	b.table(flow{report: report.ReportActionInterfaceDst, title: "Rejected destinations per interface", metric: flows, top: 20, w: 12, filters: rejectedOnly})

	b.row("Why")
	// The reject-reasons report is rejected traffic only by itself.
	b.pair(flow{report: report.ReportRejectReasons, title: "Rejected flows by reject reason", metric: flows})

	b.row("Rejected bytes")
	b.series(flow{report: report.ReportVPCs, title: "Rejected traffic by VPC", filters: rejectedOnly, w: 24, h: 8})
}

// networkMap is the traffic between interfaces as a node graph (the pair
// report in the plugin's node_graph format), and its edges as a table.
func networkMap(b *board) {
	b.d.Description("The network map: traffic between network interfaces (grouped by VPC and subnet, named from the entity sync), the internet and unknown addresses, " +
		"over the time range: the top 50 edges with their rejected share, the rest summarised. The variables narrow the traffic counted.")
	b.useVariables(varAccount, varRegion, varVPC, varAction)

	b.row("Network map")
	b.nodeGraph(flow{report: report.ReportPairInterface, title: "Traffic between interfaces"})
	b.graphTable(flow{report: report.ReportPairInterface, title: "Edges — top 50 and the rest"})
}

// collectorHealth reads the collector's own /metrics, scraped into
// VictoriaMetrics (the Prometheus data source), and the SKIPDATA records
// AWS reported (the plugin's log-status report).
func collectorHealth(b *board) {
	b.d.Description("The collector's own metrics (its /metrics scraped into VictoriaMetrics): status, lag and backlog per source, objects per stage, " +
		"quarantines, bad lines, exporters, storage, entity sync, overload and limits; and the SKIPDATA records AWS wrote into the flow logs.")
	b.d.WithVariable(dashboard.NewQueryVariableBuilder("source").
		Label("Source").
		Datasource(PrometheusRef()).
		Query(dashboard.StringOrMap{String: ptr("label_values(vpcflow_source_status, source)")}).
		Definition("label_values(vpcflow_source_status, source)").
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(allValue).
		Current(allSelected()))
	src := `source=~"$source"`

	b.row("Sources")
	b.promTable(prom{title: "Status per source", w: 8,
		description: "enabled: collected; error: listing or reading fails (the message is in /api/v1/sources and the source log); credentials: its credentials do not resolve; " +
			"unresourced: paused because the collector cannot keep up (overload.max_lag); disabled: enabled: false; disabled (limit): over limits.max_sources.",
		expr: `max by (source, status) (vpcflow_source_status{` + src + `}) == 1`},
		true, sourceStatusColors())
	b.promSeries(prom{title: "Lag", w: 8, unit: "s", legend: "{{source}}",
		description: "Now minus the newest record end stored, per source. AWS delivers flow logs every 5 or 10 minutes, so 10 to 20 minutes is normal.",
		expr:        `max by (source) (vpcflow_source_lag_seconds{` + src + `})`}, false)
	b.promSeries(prom{title: "Backlog", w: 8, unit: "short", legend: "{{source}}",
		description: "Objects listed and not yet ingested.",
		expr:        `sum by (source) (vpcflow_source_backlog_objects{` + src + `})`}, false)

	b.row("Objects")
	b.promSeries(prom{title: "Objects per stage", w: 12, unit: "count:objects/s", legend: "{{stage}}",
		description: "listed, downloaded, ingested, deleted, quarantined, purged (deleted unread by the first run).",
		expr:        `sum by (stage) (rate(vpcflow_source_objects_total{` + src + `}[$__rate_interval]))`}, false)
	b.promSeries(prom{title: "Quarantined objects", w: 6, unit: "count:objects", legend: "{{source}}",
		description: "Objects that could not be decoded to their end: recorded, never deleted, never retried on their own (vpcflow-collector quarantine list).",
		expr:        `sum by (source) (increase(vpcflow_source_objects_total{stage="quarantined",` + src + `}[$__interval]))`}, true)
	b.promStat(prom{title: "Quarantined in range", w: 6, unit: "count:objects",
		expr: `sum(increase(vpcflow_source_objects_total{stage="quarantined",` + src + `}[$__range]))`},
		base("green"), step(1, "red"))

	b.row("Records")
	b.promSeries(prom{title: "Records ingested", w: 8, unit: "count:records/s", legend: "{{source}}",
		expr: `sum by (source) (rate(vpcflow_source_records_total{` + src + `}[$__rate_interval]))`}, false)
	b.promSeries(prom{title: "Flow log bytes read", w: 8, unit: "binBps", legend: "{{source}}",
		description: "Stored (compressed) size of the ingested objects.",
		expr:        `sum by (source) (rate(vpcflow_source_bytes_total{` + src + `}[$__rate_interval]))`}, false)
	b.promSeries(prom{title: "Bad lines", w: 8, unit: "count:lines", legend: "{{source}}",
		description: "Lines skipped as malformed; the first few per object are sampled into the source log.",
		expr:        `sum by (source) (increase(vpcflow_source_bad_lines_total{` + src + `}[$__interval]))`}, true)

	b.row("Flow logs")
	b.series(flow{report: report.ReportLogStatus, title: "SKIPDATA records", mode: report.ModeTotal, w: 12, h: 8,
		filters:     []report.Filter{{Label: "log_status", Op: report.OpEqual, Value: "SKIPDATA"}},
		description: "SKIPDATA records per step: AWS skipped records for the interval (a capacity constraint or an internal error), so traffic is missing. From the flow logs themselves, through the VPC Flow Logs data source."})
	b.promTable(prom{title: "Exporters: time since last record", w: 12, unit: "s",
		description: "Per VPC (each VPC's flow log is an exporter), now minus the end of its newest stored record.",
		expr:        `time() - max by (source, account_id, region, vpc_id) (vpcflow_exporter_last_seen_timestamp_seconds{` + src + `})`},
		false, nil)

	b.row("Collector")
	b.promStat(prom{title: "Collector up", w: 4, unit: "short",
		description: "1 when VictoriaMetrics' last scrape of the collector's /metrics succeeded.",
		expr:        `sum(up{job="vpcflow-collector"})`},
		base("red"), step(1, "green"))
	b.promSeries(prom{title: "Samples written", w: 10, unit: "count:samples/s", legend: "samples",
		description: "Samples the collector wrote to VictoriaMetrics (each batch counts its own).",
		expr:        `sum(rate(vpcflow_collector_samples_written_total[$__rate_interval]))`}, false)
	b.promTable(prom{title: "Collector", w: 10,
		description: "Role and version of each collector process scraped.",
		expr:        `vpcflow_collector_info`}, true, nil)

	b.row("Storage")
	b.promStat(prom{title: "Storage up", w: 4, unit: "short",
		description: "0 while the collector's writes to VictoriaMetrics (or its checks of the storage nodes) fail: the flow logs wait in their sources, nothing is deleted.",
		expr:        `min(vpcflow_collector_storage_up)`},
		base("red"), step(1, "green"))
	b.promSeries(prom{title: "Batches waiting to be saved", w: 10, unit: "short", legend: "{{instance}}",
		description: "Batches VictoriaMetrics acknowledged and has not yet saved to disk (it keeps recent samples in memory for seconds): their objects are deleted once it has.",
		expr:        `sum by (instance) (vpcflow_collector_batches_unsaved)`}, false)
	b.promSeries(prom{title: "Storage restarts seen", w: 10, unit: "short", legend: "{{instance}}",
		description: "Storage restarts the collector saw; each sends the batches the storage may have lost back to be written again.",
		expr:        `sum by (instance) (increase(vpcflow_collector_storage_restarts_total[$__interval]))`}, true)

	b.row("Entity sync")
	b.promStat(prom{title: "Syncs failing", w: 4, unit: "short",
		description: "Account·regions whose latest entity sync failed: their reports lose names (docs/names.md).",
		expr:        `count(vpcflow_sync_up == 0) or vector(0)`},
		base("green"), step(1, "red"))
	b.promTable(prom{title: "Failing syncs", w: 10, unit: "s",
		description: "Each account and region whose latest entity sync failed, and for how long; the alert \"Entity sync failing\" fires at 3 hours. " +
			"Sync errors gives the reason, the collector's log the message, `vpcflow-collector test` the missing permissions.",
		expr: `max by (account_id, region) (time() - vpcflow_sync_state_since_timestamp_seconds and vpcflow_sync_up == 0)`},
		false, nil)
	b.promTable(prom{title: "Time since the last successful sync", w: 10, unit: "s",
		description: "Per account and region. The sync runs at start and every sync.interval (default 1h).",
		expr:        `time() - max by (account_id, region) (vpcflow_sync_last_success_timestamp_seconds)`},
		false, nil)
	b.promSeries(prom{title: "Entities synced", w: 8, unit: "short", legend: "{{entity_type}}",
		description: "VPCs, subnets, interfaces, instances and zones the latest sync of each account and region found.",
		expr:        `sum by (entity_type) (vpcflow_sync_entities)`}, false)
	b.promSeries(prom{title: "Sync errors", w: 8, unit: "short", legend: "{{account_id}} {{region}} {{reason}}",
		description: "Failed syncs by reason: access_denied (a Describe permission missing), auth_failure, wrong_account (the credentials describe another account), " +
			"credentials, throttled, timeout, unreachable, storage, other.",
		expr: `sum by (account_id, region, reason) (increase(vpcflow_sync_errors_total[$__interval])) > 0`}, true)
	b.promSeries(prom{title: "Sync duration", w: 8, unit: "s", legend: "{{account_id}} {{region}}",
		description: "How long the latest sync of each account and region took, its write included.",
		expr:        `max by (account_id, region) (vpcflow_sync_last_duration_seconds)`}, false)

	// Last, so that the panels above keep their ids (alert rules link them).
	b.row("Overload and limits")
	b.promTable(prom{title: "Paused and limited sources", w: 6,
		description: "unresourced: paused because the collector cannot keep up (a source's oldest waiting object older than overload.max_lag): the most recently added sources " +
			"are paused first and resumed, most recently paused first, once the others caught up; the reason is in /api/v1/sources. " +
			"disabled (limit): over limits.max_sources. The alert \"Collector overloaded\" fires on a paused source.",
		expr: `max by (source, status) (vpcflow_source_status{status=~"unresourced|disabled_limit",` + src + `}) == 1`},
		true, sourceStatusColors())
	b.promSeries(prom{title: "Backlog age", w: 6, unit: "s", legend: "{{source}}",
		description: "How old the oldest object listed and not yet ingested is, per source (what overload.max_lag bounds; 0 when none waits).",
		expr:        `max by (source) (vpcflow_source_backlog_age_seconds{` + src + `})`}, false)
	b.promTable(prom{title: "Exporters over the limit", w: 6,
		description: "VPCs over limits.max_exporters, disabled (limit): their records are dropped (vpcflow_collector_records_dropped_total).",
		expr:        `max by (source, account_id, region, vpc_id, status) (vpcflow_exporter_status{status="disabled_limit",` + src + `}) == 1`},
		true, sourceStatusColors())
	b.promSeries(prom{title: "Records dropped (limit)", w: 6, unit: "count:records", legend: "{{limit}}",
		description: "Records dropped because their VPC is over limits.max_exporters.",
		expr:        `sum by (limit) (increase(vpcflow_collector_records_dropped_total[$__interval]))`}, true)
}

// sourceStatusColors colours the status column of the source and
// exporter tables, with "disabled (limit)" as people read it.
func sourceStatusColors() map[string]map[string]string {
	return map[string]map[string]string{"status": {"enabled": "green", "error": "red", "credentials": "orange", "unresourced": "orange",
		"disabled": "text", "disabled_limit": "text|disabled (limit)"}}
}
