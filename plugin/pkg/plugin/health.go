package plugin

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// HealthDetails are the JSON details of a health check result.
type HealthDetails struct {
	// URL is the Prometheus API base queried.
	URL string `json:"url,omitempty"`
	// Reachable is true when VictoriaMetrics answered a query.
	Reachable bool `json:"reachable"`
	// Dedup is "1ms" (right), "wrong" or "unknown": VictoriaMetrics'
	// -dedup.minScrapeInterval, which exact reports need at 1ms.
	Dedup string `json:"dedup,omitempty"`
	// Newest is the minute of the newest flow log data, if any in the
	// last day.
	Newest *time.Time `json:"newest,omitempty"`
	// AgeSeconds is how old Newest is.
	AgeSeconds float64 `json:"ageSeconds,omitempty"`
	// Problems say what is wrong; Warnings what may be.
	Problems []string `json:"problems,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// VerboseMessage repeats problems and warnings one a line, for
	// Grafana's expandable details.
	VerboseMessage string `json:"verboseMessage,omitempty"`
}

// CheckHealth answers "Save & test": OK when VictoriaMetrics answers
// queries, deduplicates at 1ms (or the setting cannot be read: a warning)
// and holds flow log data from the last 24 hours (older than
// report.StaleAfter: a warning); ERROR with what is wrong otherwise —
// invalid settings, VictoriaMetrics unreachable or refusing the
// credentials, a wrong -dedup.minScrapeInterval, no data. The message
// never holds a secret.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if err := d.ready(); err != nil {
		return d.healthResult(backend.HealthStatusError, err.Error(), HealthDetails{Problems: []string{err.Error()}}), nil
	}
	h := d.engine.Health(ctx)
	det := HealthDetails{URL: h.URL, Reachable: h.Reachable, Dedup: h.Dedup, Problems: h.Problems, Warnings: h.Warnings}
	if !h.Newest.IsZero() {
		newest := h.Newest
		det.Newest, det.AgeSeconds = &newest, h.Age.Seconds()
	}
	status := backend.HealthStatusOk
	if !h.OK || h.Newest.IsZero() {
		// No data in the last day (or it could not be looked up): the
		// data source cannot show anything.
		status = backend.HealthStatusError
	}
	return d.healthResult(status, h.Message(), det), nil
}

// healthResult builds a result, with the secrets removed (from each text
// before it is marshalled, so that the details stay valid JSON).
func (d *Datasource) healthResult(status backend.HealthStatus, msg string, det HealthDetails) *backend.CheckHealthResult {
	redact := func(texts []string) []string {
		out := make([]string, 0, len(texts))
		for _, t := range texts {
			out = append(out, d.redactor.String(t))
		}
		return out
	}
	det.URL = d.redactor.String(det.URL)
	det.Problems, det.Warnings = redact(det.Problems), redact(det.Warnings)
	det.VerboseMessage = strings.Join(append(append([]string{}, det.Problems...), det.Warnings...), "\n")
	js, err := json.Marshal(det)
	if err != nil {
		js = nil // HealthDetails always marshals
	}
	return &backend.CheckHealthResult{Status: status, Message: d.redactor.String(msg), JSONDetails: js}
}
