package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"golang.org/x/sync/errgroup"

	"github.com/vpcflow/vpcflow/plugin/pkg/models"
	"github.com/vpcflow/vpcflow/report"
)

// FromAlert reports whether req comes from Grafana's alerting engine (alert
// and recording rules): Grafana marks those requests with the header
// FromAlert: true (backend.FromAlertHeaderName), which the SDK passes in
// QueryDataRequest.Headers (as it is, or as a forwarded http_ header).
func FromAlert(req *backend.QueryDataRequest) bool {
	for k, v := range req.Headers {
		k = strings.TrimPrefix(strings.ToLower(k), "http_")
		if k == strings.ToLower(backend.FromAlertHeaderName) && strings.EqualFold(strings.TrimSpace(v), "true") {
			return true
		}
	}
	return false
}

// QueryData runs each query through the report engine, at most
// MaxConcurrentQueries at a time, and answers each with its frames or its
// error:
//
//   - time_series: one frame per series (FrameTypeTimeSeriesMulti);
//   - table: one frame, a row per label set and Other (FrameTypeNumericLong;
//     the exporters report, with time columns, FrameTypeTable);
//   - node_graph (the pair reports): the edges and nodes frames of
//     Grafana's node graph panel (NodeGraphFrames);
//   - alert queries (see FromAlert), whatever their format: one
//     FrameTypeNumericWide frame, one number per label set over the range.
//
// A query the user must change (unknown report, label or metric, a bad
// regular expression, the node_graph format for a report without two
// ends, a top over report.MaxEdges for a node graph or over
// report.MaxSeries for a time series, or
// top 0 over a range with more label sets than that, a time range without
// a whole step of the data it reads, invalid settings) fails with a plugin
// error and status 400; a failure of
// VictoriaMetrics with a downstream error and status 502 (504 on a
// timeout).
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	alert := FromAlert(req)
	out := make([]backend.DataResponse, len(req.Queries))
	var g errgroup.Group
	g.SetLimit(MaxConcurrentQueries)
	for i, q := range req.Queries {
		g.Go(func() error {
			out[i] = d.query(ctx, q, alert)
			return nil
		})
	}
	_ = g.Wait() // every function returns nil: errors are per query
	resp := backend.NewQueryDataResponse()
	for i, q := range req.Queries {
		resp.Responses[q.RefID] = out[i]
	}
	return resp, nil
}

// query answers one query.
func (d *Datasource) query(ctx context.Context, dq backend.DataQuery, alert bool) backend.DataResponse {
	if err := d.ready(); err != nil {
		return badRequest(err)
	}
	q, err := models.ParseQuery(dq.JSON)
	if err != nil {
		return badRequest(err)
	}
	rq := q.ReportQuery()
	// The data's step: the range is rounded down to it, and time series
	// come at a multiple of it whatever interval Grafana asks for.
	base, err := rq.Step()
	if err != nil {
		return badRequest(err)
	}
	from, to, err := report.Align(dq.TimeRange.From, dq.TimeRange.To, base)
	if err != nil {
		return badRequest(fmt.Errorf("report %s: %w", q.Report, err))
	}
	tr := report.TimeRange{From: from, To: to}
	switch {
	case alert:
		rq.Format = report.FormatTable
	case rq.Format == report.FormatTimeSeries:
		tr.Step = Step(from, to, dq.Interval, dq.MaxDataPoints, base)
	}
	began := time.Now()
	res, err := d.engine.Run(ctx, rq, tr)
	if errors.Is(err, report.ErrTooManySeries) {
		return badRequest(err) // a time series of every label set, where there are too many
	}
	if errors.Is(err, report.ErrTooManyIDs) {
		return badRequest(err) // a filter by name of more ids than a query can list
	}
	if err != nil {
		err = d.redact(err)
		d.logger(ctx).Warn("Query failed", "refId", dq.RefID, "report", q.Report, "error", err.Error())
		return storageError(err)
	}
	d.logger(ctx).Debug("Query", "refId", dq.RefID, "report", q.Report, "format", string(rq.Format), "alert", alert,
		"step", tr.Step.String(), "queries", len(res.Queries), "duration", time.Since(began).String())
	switch {
	case alert:
		return backend.DataResponse{Frames: NumericFrames(res)}
	case res.Format == report.FormatTimeSeries:
		return backend.DataResponse{Frames: TimeSeriesFrames(res)}
	case res.Format == report.FormatNodeGraph:
		return backend.DataResponse{Frames: NodeGraphFrames(res)}
	default:
		return backend.DataResponse{Frames: TableFrames(res)}
	}
}

// badRequest answers a query the user must change.
func badRequest(err error) backend.DataResponse {
	r := backend.ErrorResponseWithErrorSource(backend.PluginError(err))
	r.Status = backend.StatusBadRequest
	return r
}

// storageError answers a query VictoriaMetrics failed.
func storageError(err error) backend.DataResponse {
	r := backend.ErrorResponseWithErrorSource(backend.DownstreamError(err))
	r.Status = backend.StatusBadGateway
	if errors.Is(err, context.DeadlineExceeded) {
		r.Status = backend.StatusTimeout
	}
	return r
}

// Step returns the step of a time series over [from, to) (whole steps of
// base, as report.Align gives them) for a query's interval and
// MaxDataPoints, over data of step base (report.Query.Step: one minute, or
// five for the five-minute families; 0 is a minute): the interval rounded
// up to a multiple of base (base at least), raised until the steps the
// report engine cuts [from, to) into (at the multiples of the step since
// the Unix epoch) are at most maxPoints, and at most report.MaxPoints.
// maxPoints 0 means no limit but report.MaxPoints; a limit below 2 counts
// as 2, since a range that does not start on a step boundary spans two
// steps however long they are. So a panel of five-minute data gets points
// every five minutes (or a multiple) whatever its interval: a shorter step
// would cut the data's intervals.
func Step(from, to time.Time, interval time.Duration, maxPoints int64, base time.Duration) time.Duration {
	if base <= 0 {
		base = time.Minute
	}
	limit := int64(report.MaxPoints)
	if maxPoints > 0 && maxPoints < limit {
		limit = max(maxPoints, 2)
	}
	step := report.StepFor(from, to, interval, base)
	if need := (to.Sub(from) + time.Duration(limit) - 1) / time.Duration(limit); need > step {
		step = (need + base - 1) / base * base
	}
	for Steps(from, to, step) > limit {
		step += base
	}
	return step
}

// Steps returns how many steps the report engine cuts [from, to) into: one
// per multiple of step since the Unix epoch that the range touches.
func Steps(from, to time.Time, step time.Duration) int64 {
	ms := step.Milliseconds()
	if ms <= 0 || !to.After(from) {
		return 0
	}
	f, t := from.UnixMilli(), to.UnixMilli()
	return (t+ms-1)/ms - f/ms
}
