package report

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vpcflow/vpcflow/schema"
)

// LabelValues returns the values label takes in the series the report
// reads over [from, to) (rounded down to the report's step, Report.Step,
// as Align does), with the report's fixed
// filters and the given ones applied: the choices of a dashboard variable.
// A value counts when any of the report family's metrics has a sample of it
// in the range. label must be one the report can filter on.
func (e *Engine) LabelValues(ctx context.Context, report, label string, filters []Filter, from, to time.Time) ([]string, error) {
	p, err := Query{Report: report, Filters: filters}.check()
	if err != nil {
		return nil, err
	}
	if valid := p.rep.Filterable(); !slices.Contains(valid, label) {
		return nil, fmt.Errorf("report %s: no label %q; valid labels: %v", p.rep.ID, label, valid)
	}
	from, to, err = Align(from, to, p.rep.Step())
	if err != nil {
		return nil, fmt.Errorf("report %s: label values: %w", p.rep.ID, err)
	}
	names := p.rep.FamilyDef().MetricNames()
	if p.rep.exporters() {
		names = append(names, schema.Families()[schema.Status].MetricNames()...)
	}
	sel := selector("", append(slices.Clone(p.filters), namesFilter(names)))
	expr := by("count", []string{label}, rollup("count_over_time", sel, to.Sub(from)))
	x := &exec{e: e}
	samples, err := x.instant(ctx, expr, to)
	if err != nil {
		return nil, fmt.Errorf("report %s: label values of %s: %w", p.rep.ID, label, err)
	}
	values := make([]string, 0, len(samples))
	for _, s := range samples {
		values = append(values, s.Labels[label])
	}
	slices.Sort(values)
	return slices.Compact(values), nil
}
