package report

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// exporters answers the exporters report's table: per VPC its traffic
// (the plan's metric, from the interface family) and, from the status
// family, the start of the first and last interval (of the status
// family's step) with records in the range and its status. A VPC that sent only NODATA records has a row with value 0.
// From the exporter status series, each row also has the collector's
// status of the VPC (collector_status), and a VPC the collector knows
// without records stored in the range (over limits.max_exporters, or its
// source paused) has a row with value 0 and status "-".
func (x *exec) exporters(ctx context.Context, p *plan, from, to time.Time) (*Result, error) {
	d := to.Sub(from)
	vpc := p.rep.GroupBy
	status := selector(schema.Families()[schema.Status].Name, p.filters)
	var counts, first, last, traffic, collector []vmclient.VectorSample
	run := func(dst *[]vmclient.VectorSample, expr string) func(context.Context) error {
		return func(ctx context.Context) error {
			var err error
			*dst, err = x.instant(ctx, expr, to)
			return err
		}
	}
	err := parallel(ctx,
		run(&counts, by("sum", append(slices.Clone(vpc), labelLogStatus), rollup("sum_over_time", status, d))),
		run(&first, by("min", vpc, rollup("tfirst_over_time", status, d))),
		run(&last, by("max", vpc, rollup("tlast_over_time", status, d))),
		run(&traffic, p.grouped(d)),
		run(&collector, collectorStatusQuery(p.filters, d)))
	if err != nil {
		return nil, err
	}

	type exporter struct {
		row               Row
		ok, skip          float64
		first, last       int64 // ms
		hasFirst, hasLast bool
		withRecords       bool
	}
	byKey := map[string]*exporter{}
	get := func(ls map[string]string) *exporter {
		k := key(ls, vpc)
		e := byKey[k]
		if e == nil {
			e = &exporter{row: Row{Labels: project(ls, vpc)}}
			byKey[k] = e
		}
		return e
	}
	for _, s := range counts {
		e := get(s.Labels)
		e.withRecords = true
		switch s.Labels[labelLogStatus] {
		case logStatusOK:
			e.ok += s.Value
		case logStatusSkipData:
			e.skip += s.Value
		}
	}
	// tfirst_over_time and tlast_over_time give seconds with milliseconds.
	for _, s := range first {
		e := get(s.Labels)
		e.first, e.hasFirst = int64(math.Round(s.Value*1000)), true
	}
	for _, s := range last {
		e := get(s.Labels)
		e.last, e.hasLast = int64(math.Round(s.Value*1000)), true
	}
	for _, s := range traffic {
		e := get(s.Labels)
		e.row.Value += s.Value
	}
	// The collector's status of each VPC; a VPC it knows without traffic
	// stored in the range (over limits.max_exporters, or its source paused
	// all along) has a row of its own, unless a filter on a label the
	// status series lacks (interface_id) says nothing of it.
	statuses := collectorStatuses(collector, vpc, from)
	onlyVPCs := !slices.ContainsFunc(p.filters, func(f Filter) bool { return !slices.Contains(exporterStatusLabels, f.Label) })
	for k, cs := range statuses {
		if byKey[k] == nil && (!onlyVPCs || !cs.listed) {
			continue
		}
		get(cs.labels)
	}
	// Samples sit at their interval's start plus a slot: the interval's
	// start, at the status family's step (old data's minutes included).
	step := schema.Families()[schema.Status].Step
	minute := func(ms int64, ok bool) string {
		if !ok {
			return schema.Absent
		}
		return floorTime(time.UnixMilli(ms), step).Format(time.RFC3339)
	}
	res := p.result(from, to)
	rows := make([]Row, 0, len(byKey))
	for _, e := range byKey {
		st := ExporterOK
		switch {
		case e.skip > 0:
			st = ExporterSkipData
		case e.ok == 0 && e.withRecords:
			st = ExporterNoData
		case !e.withRecords && !e.hasFirst && e.row.Value == 0:
			st = schema.Absent // known to the collector only
		}
		e.row.Labels[ColumnCollectorStatus] = schema.Absent
		if cs, ok := statuses[key(e.row.Labels, vpc)]; ok {
			e.row.Labels[ColumnCollectorStatus] = cs.text
		}
		e.row.Labels[ColumnFirstSeen] = minute(e.first, e.hasFirst)
		e.row.Labels[ColumnLastSeen] = minute(e.last, e.hasLast)
		e.row.Labels[ColumnStatus] = st
		rows = append(rows, e.row)
		res.Total += e.row.Value
	}
	sortRows(rows, res.Columns)
	if p.top > 0 && len(rows) > p.top {
		o := Row{Labels: otherLabels(vpc), Other: true}
		for _, r := range rows[p.top:] {
			o.Value += r.Value
		}
		for _, c := range p.rep.Extra {
			o.Labels[c] = schema.Absent
		}
		rows = append(rows[:p.top], o)
		sortRows(rows, res.Columns)
	}
	res.Rows = rows
	p.rate(res)
	return res, nil
}

// exporterStatusLabels are the labels of the exporter status series a
// filter of the exporters report may name.
var exporterStatusLabels = []string{schema.LabelAccount, schema.LabelRegion, schema.LabelVPC}

// collectorStatusQuery returns the query of the exporter status series
// over a range of length d and the lookback before it: the time of the
// newest sample of each VPC, source, collector and status. Filters on
// labels the series lacks are left out (the rows it joins are filtered).
func collectorStatusQuery(filters []Filter, d time.Duration) string {
	var fs []Filter
	for _, f := range filters {
		if slices.Contains(exporterStatusLabels, f.Label) {
			fs = append(fs, f)
		}
	}
	group := []string{schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, schema.LabelSource, schema.LabelInstance, schema.LabelExporterStatus}
	return by("max", group, rollup("tlast_over_time", selector(schema.ExporterStatusMetric, fs), d+schema.ExporterStatusLookback))
}

// collectorStatus is the collector's status of one VPC.
type collectorStatus struct {
	labels map[string]string // the VPC's group-by labels
	text   string            // the distinct statuses, joined
	// listed: the VPC has a status sample within the range and none of
	// its statuses is enabled: it is listed even without traffic.
	listed bool
}

// collectorStatuses returns, per VPC (key over vpc, the group-by labels),
// the collector's status from the samples of collectorStatusQuery: per
// source and collector the status of the newest sample (the larger status
// on a tie), and the distinct ones of the VPC in the order of
// schema.ExporterStatuses (unknown ones after them, sorted).
func collectorStatuses(samples []vmclient.VectorSample, vpc []string, from time.Time) map[string]collectorStatus {
	type writer struct{ vpc, source, instance string }
	type seen struct {
		at     float64
		status string
	}
	newest := map[writer]seen{}
	labels := map[string]map[string]string{}
	for _, s := range samples {
		k := key(s.Labels, vpc)
		labels[k] = project(s.Labels, vpc)
		w := writer{k, s.Labels[schema.LabelSource], s.Labels[schema.LabelInstance]}
		n := seen{s.Value, s.Labels[schema.LabelExporterStatus]}
		if old, ok := newest[w]; !ok || n.at > old.at || n.at == old.at && n.status > old.status {
			newest[w] = n
		}
	}
	type acc struct {
		statuses []string
		inRange  bool
	}
	byVPC := map[string]*acc{}
	for w, n := range newest {
		a := byVPC[w.vpc]
		if a == nil {
			a = &acc{}
			byVPC[w.vpc] = a
		}
		a.statuses = append(a.statuses, n.status)
		// tlast_over_time gives seconds with milliseconds.
		if int64(math.Round(n.at*1000)) >= from.UnixMilli() {
			a.inRange = true
		}
	}
	rank := func(s string) int {
		if i := slices.Index(schema.ExporterStatuses, s); i >= 0 {
			return i
		}
		return len(schema.ExporterStatuses)
	}
	out := make(map[string]collectorStatus, len(byVPC))
	for k, a := range byVPC {
		slices.SortFunc(a.statuses, func(x, y string) int {
			if c := rank(x) - rank(y); c != 0 {
				return c
			}
			return strings.Compare(x, y)
		})
		a.statuses = slices.Compact(a.statuses)
		out[k] = collectorStatus{labels: labels[k], text: strings.Join(a.statuses, CollectorStatusSeparator),
			listed: a.inRange && !slices.Contains(a.statuses, schema.ExporterStatusEnabled)}
	}
	return out
}
