package report

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// exporters answers the exporters report's table: per VPC its traffic
// (the plan's metric, from the interface family) and, from the status
// family, the start of the first and last interval (of the status
// family's step) with records in the range and its status. A VPC that sent only NODATA records has a row with value 0.
func (x *exec) exporters(ctx context.Context, p *plan, from, to time.Time) (*Result, error) {
	d := to.Sub(from)
	vpc := p.rep.GroupBy
	status := selector(schema.Families()[schema.Status].Name, p.filters)
	var counts, first, last, traffic []vmclient.VectorSample
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
		run(&traffic, p.grouped(d)))
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
