package models

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vpcflow/vpcflow/report"
)

// Defaults of a query, the same as the frontend's DEFAULT_QUERY
// (plugin/src/types.ts). The metric has no fixed default: a query without
// one counts the report's default metric (bytes, or records for log-status).
const (
	DefaultReport = report.ReportAction
	DefaultMode   = report.ModeRate
	DefaultTop    = 10
	DefaultFormat = report.FormatTimeSeries
)

// Query is the query model the frontend saves (FlowQuery in
// plugin/src/types.ts): the report engine's query, report.Query, whose
// JSON it is, with the frontend's defaults (DefaultReport, DefaultMode,
// DefaultTop, DefaultFormat) filled in by ParseQuery where the engine
// would take its own. Names (report.Query.Names) is on unless the query's
// JSON says "names": false.
type Query report.Query

// rawQuery reads a query's JSON, telling a missing top from top 0.
type rawQuery struct {
	report.Query
	Top *json.Number `json:"top"`
	// Names is report.Query.Names, which is not part of its JSON: absent
	// means true (the frontend does not set it; a provisioned or
	// hand-written query may turn names off).
	Names *bool `json:"names"`
}

// ParseQuery reads a query's JSON (backend.DataQuery.JSON), fills in the
// defaults of missing fields, drops blank filter rows, takes a filter
// without an operator as =, and validates it against the report registry
// (report.Query.Validate). Errors say what to change.
func ParseQuery(raw []byte) (Query, error) {
	var r rawQuery
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r); err != nil {
			return Query{}, fmt.Errorf("query: not the JSON the query editor saves: %w", err)
		}
	}
	q := Query{
		Report: strings.TrimSpace(r.Report),
		Metric: r.Metric,
		Mode:   r.Mode,
		Top:    DefaultTop,
		Format: r.Format,
		Names:  r.Names == nil || *r.Names,
	}
	if q.Report == "" {
		q.Report = DefaultReport
	}
	if q.Mode == "" {
		q.Mode = DefaultMode
	}
	if q.Format == "" {
		q.Format = DefaultFormat
	}
	if r.Top != nil {
		n, err := r.Top.Int64()
		if err != nil || n < 0 {
			return Query{}, fmt.Errorf("query: top %s: want a whole number, 0 (every row) or more", r.Top)
		}
		q.Top = int(n)
	}
	for i, f := range r.Filters {
		f.Label, f.Op = strings.TrimSpace(f.Label), report.Op(strings.TrimSpace(string(f.Op)))
		switch {
		case f.Label == "" && f.Value == "":
			continue // a blank row of the editor
		case f.Label == "":
			return Query{}, fmt.Errorf("query: filter %d (value %q) has no label: choose one or remove the filter", i+1, f.Value)
		}
		if f.Op == "" {
			f.Op = report.OpEqual
		}
		q.Filters = append(q.Filters, f)
	}
	if err := q.ReportQuery().Validate(); err != nil {
		return Query{}, fmt.Errorf("query: %w", err)
	}
	return q, nil
}

// ReportQuery returns the query for the report engine.
func (q Query) ReportQuery() report.Query { return report.Query(q) }

// ParseFilters reads the label-values resource's filter parameter: a JSON
// array of {label, op, value} (empty or missing means none). Blank rows
// are dropped and a missing operator is =, as in ParseQuery.
func ParseFilters(raw string) ([]report.Filter, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var fs []report.Filter
	if err := json.Unmarshal([]byte(raw), &fs); err != nil {
		return nil, fmt.Errorf("filter: want a JSON array of {\"label\", \"op\", \"value\"}: %w", err)
	}
	var out []report.Filter
	for i, f := range fs {
		f.Label, f.Op = strings.TrimSpace(f.Label), report.Op(strings.TrimSpace(string(f.Op)))
		switch {
		case f.Label == "" && f.Value == "":
			continue
		case f.Label == "":
			return nil, fmt.Errorf("filter %d (value %q) has no label", i+1, f.Value)
		}
		if f.Op == "" {
			f.Op = report.OpEqual
		}
		out = append(out, f)
	}
	return out, nil
}
