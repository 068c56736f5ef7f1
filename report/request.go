package report

import (
	"fmt"
	"time"
)

// Request is a report query as a command line gives it: the report, its
// range and its options as text.
type Request struct {
	// Report is a registry ID.
	Report string
	// From and To are the range's ends in ParseTime's syntax.
	From, To string
	// Metric and Mode are Query's; "" takes the defaults.
	Metric, Mode string
	// Top is Query.Top.
	Top int
	// Filters are in ParseFilter's syntax.
	Filters []string
}

// Parse checks the request and returns its table query and its range, with
// now the time "now" stands for; the range holds at least a whole step of
// the data the report reads (Query.Step, Align). Its errors name the fields as the report command's flags do
// (--from, --to, --filter).
func (r Request) Parse(now time.Time) (q Query, from, to time.Time, err error) {
	if from, err = ParseTime(r.From, now); err != nil {
		return q, from, to, fmt.Errorf("--from: %w", err)
	}
	if to, err = ParseTime(r.To, now); err != nil {
		return q, from, to, fmt.Errorf("--to: %w", err)
	}
	q = Query{Report: r.Report, Metric: Metric(r.Metric), Mode: Mode(r.Mode), Top: r.Top, Format: FormatTable}
	for _, s := range r.Filters {
		f, err := ParseFilter(s)
		if err != nil {
			return q, from, to, fmt.Errorf("--filter: %w", err)
		}
		q.Filters = append(q.Filters, f)
	}
	if err := q.Validate(); err != nil {
		return q, from, to, err
	}
	step, err := q.Step()
	if err != nil {
		return q, from, to, err
	}
	_, _, err = Align(from, to, step)
	return q, from, to, err
}
