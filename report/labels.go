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
// in the range. label must be one the report can filter on. A filter on a
// label holding entity ids may give a name, as in Run.
func (e *Engine) LabelValues(ctx context.Context, report, label string, filters []Filter, from, to time.Time) ([]string, error) {
	values, _, _, err := e.labelValues(ctx, report, label, filters, from, to)
	return values, err
}

// LabelValue is a value of a label and, when it is the id of an entity, the
// entity's name.
type LabelValue struct {
	// Value is the label's raw value (an id, for a label holding ids).
	Value string
	// Name is the name of the entity whose id Value is, as the reports
	// show it over the same range (Engine.Names); "" when the label holds
	// no entity ids (EntityTypeOf), or the id has no known name.
	Name string
}

// NamedLabelValues is LabelValues with the names of the values of a label
// holding entity ids (interface_id, vpc_id, …): a dashboard variable's
// choices shown as "web-1 (eni-0a1)" (NameAndID) whose values stay the ids.
// A label of another kind gets its values without names, and no names
// query.
func (e *Engine) NamedLabelValues(ctx context.Context, report, label string, filters []Filter, from, to time.Time) ([]LabelValue, error) {
	values, from, to, err := e.labelValues(ctx, report, label, filters, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]LabelValue, len(values))
	for i, v := range values {
		out[i].Value = v
	}
	t := EntityTypeOf(label)
	if t == "" || len(values) == 0 {
		return out, nil
	}
	names, err := e.Names(ctx, from, to, map[EntityType][]string{t: values})
	if err != nil {
		return nil, fmt.Errorf("report %s: label values of %s: %w", report, label, err)
	}
	for i := range out {
		out[i].Name = names[t][out[i].Value]
	}
	return out, nil
}

// labelValues is LabelValues, and the range aligned.
func (e *Engine) labelValues(ctx context.Context, report, label string, filters []Filter, from, to time.Time) ([]string, time.Time, time.Time, error) {
	p, err := Query{Report: report, Filters: filters}.check()
	if err != nil {
		return nil, from, to, err
	}
	if valid := p.rep.Filterable(); !slices.Contains(valid, label) {
		return nil, from, to, fmt.Errorf("report %s: no label %q; valid labels: %v", p.rep.ID, label, valid)
	}
	from, to, err = Align(from, to, p.rep.Step())
	if err != nil {
		return nil, from, to, fmt.Errorf("report %s: label values: %w", p.rep.ID, err)
	}
	x := &exec{e: e}
	if err := x.resolveNames(ctx, p, from, to); err != nil {
		return nil, from, to, fmt.Errorf("report %s: label values of %s: %w", p.rep.ID, label, err)
	}
	names := p.rep.FamilyDef().MetricNames()
	if p.rep.exporters() {
		names = append(names, schema.Families()[schema.Status].MetricNames()...)
	}
	sel := selector("", append(slices.Clone(p.filters), namesFilter(names)))
	expr := by("count", []string{label}, rollup("count_over_time", sel, to.Sub(from)))
	samples, err := x.instant(ctx, expr, to)
	if err != nil {
		return nil, from, to, fmt.Errorf("report %s: label values of %s: %w", p.rep.ID, label, err)
	}
	values := make([]string, 0, len(samples))
	for _, s := range samples {
		values = append(values, s.Labels[label])
	}
	slices.Sort(values)
	return slices.Compact(values), from, to, nil
}
