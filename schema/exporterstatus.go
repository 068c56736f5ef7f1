package schema

import "time"

// The exporter status series: the collector's status of each exporter (a
// VPC, by account, region and VPC id) it knows, written by `run` beside
// the families and outside their ledger (docs/pipeline.md, Overload and
// limits), read by the exporters report:
//
//	vpcflow_exporter_collector_status{account_id, region, vpc_id, source, instance, status} 1
//
// One sample per exporter, source and collector at most every
// ExporterStatusEvery while `run` runs (and once at the end of `run
// --once`), stamped at the time it was taken (milliseconds). Its status
// is one of ExporterStatuses. A reader takes, per exporter, source and
// instance, the status of the newest sample in the range plus a lookback
// of ExporterStatusLookback.
const (
	// ExporterStatusMetric is the series' name.
	ExporterStatusMetric = "vpcflow_exporter_collector_status"
	// LabelSource holds the name of the source (sources[].name) whose
	// flow logs hold the exporter's records.
	LabelSource = "source"
	// LabelInstance holds the collector's instance index (instance.index,
	// "0" for a single collector): several collectors on one source
	// each write their own status.
	LabelInstance = "instance"
	// LabelExporterStatus holds the status (ExporterStatuses).
	LabelExporterStatus = "status"
)

// ExporterStatuses are the values of the exporter status series' status
// label: the status of the exporter's source as the collector's
// /api/v1/sources shows it, except disabled_limit, which also marks an
// exporter over limits.max_exporters (its records are dropped).
//
//   - enabled: collected;
//   - credentials: its source could not be set up;
//   - unresourced: its source is paused because the collector cannot keep
//     up (overload.max_lag);
//   - disabled: its source is disabled by the configuration;
//   - disabled_limit: the exporter is over limits.max_exporters, or its
//     source over limits.max_sources ("disabled (limit)");
//   - error: its source's latest listing failed.
var ExporterStatuses = []string{ExporterStatusEnabled, "credentials", "unresourced", "disabled", "disabled_limit", "error"}

// ExporterStatusEvery is how often the collector writes the exporter
// status series while it runs.
const ExporterStatusEvery = time.Minute

// ExporterStatusLookback is how far before a range's start a reader looks
// for exporter status samples: a few writing intervals, so that a range
// shorter than one still finds the status before it.
const ExporterStatusLookback = 5 * ExporterStatusEvery

// ExporterStatusEnabled is the status of an exporter that is collected.
const ExporterStatusEnabled = "enabled"
