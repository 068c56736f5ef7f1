package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// StaleAfter is the age of the newest flow log data beyond which Health
// warns: AWS delivers flow logs every 5 or 10 minutes, and the collector
// adds its own delay.
const StaleAfter = 30 * time.Minute

// Health is what Engine.Health found.
type Health struct {
	// URL is the Prometheus API base queried.
	URL string `json:"url"`
	// OK is true when VictoriaMetrics answers queries and its
	// -dedup.minScrapeInterval is not known to be wrong.
	OK bool `json:"ok"`
	// Reachable is true when a query was answered.
	Reachable bool `json:"reachable"`
	// Dedup is "1ms" when -dedup.minScrapeInterval is right, "unknown" when
	// it could not be read, "wrong" otherwise.
	Dedup string `json:"dedup"`
	// Newest is the minute of the newest flow log data (the status family
	// counts every record); zero when there is none in the last day.
	Newest time.Time `json:"newest,omitzero"`
	// Age is how old Newest is.
	Age time.Duration `json:"age,omitempty"`
	// Problems say what is wrong (OK is false).
	Problems []string `json:"problems,omitempty"`
	// Warnings say what may be wrong (dedup setting unknown, old or no
	// data).
	Warnings []string `json:"warnings,omitempty"`
}

// Message sums the health up in one line.
func (h Health) Message() string {
	var b strings.Builder
	if h.OK {
		fmt.Fprintf(&b, "VictoriaMetrics at %s answers queries", h.URL)
		if h.Dedup == "1ms" {
			b.WriteString(", deduplicates at 1ms")
		}
		if !h.Newest.IsZero() {
			fmt.Fprintf(&b, ", newest flow log data at %s (%s ago)", h.Newest.Format(time.RFC3339), h.Age.Round(time.Second))
		}
	} else {
		b.WriteString(strings.Join(h.Problems, "; "))
	}
	for _, w := range h.Warnings {
		b.WriteString("; warning: ")
		b.WriteString(w)
	}
	return b.String()
}

// Health checks that VictoriaMetrics answers queries, that its
// -dedup.minScrapeInterval is the 1ms the collector's exactly-once writes
// need (read from /flags: at the single node, or at the vmselect root; a
// setting that cannot be read is a warning), and how old the newest flow
// log data is. What fails is in Problems, never with credentials.
func (e *Engine) Health(ctx context.Context) Health {
	c := e.client
	h := Health{URL: c.QueryURL(), Dedup: "unknown"}
	now := e.now()
	if _, err := c.Instant(ctx, "vector(1)", now); err != nil {
		h.Problems = append(h.Problems, err.Error())
		return h
	}
	h.Reachable, h.OK = true, true

	err := c.CheckDedup(ctx)
	var unknown *vmclient.DedupUnknownError
	switch {
	case err == nil:
		h.Dedup = "1ms"
	case errors.As(err, &unknown):
		h.Warnings = append(h.Warnings, fmt.Sprintf("cannot read -dedup.minScrapeInterval at %s (%v): reports are exact only with -dedup.minScrapeInterval=1ms", unknown.URL, unknown.Err))
	default:
		h.Dedup, h.OK = "wrong", false
		h.Problems = append(h.Problems, err.Error())
	}

	// The newest sample: a short window first, which is cheap.
	status := schema.Families()[schema.Status].Name
	for _, d := range []time.Duration{time.Hour, 24 * time.Hour} {
		s, err := c.Instant(ctx, by("max", nil, rollup("tlast_over_time", status, d)), now)
		if err != nil {
			h.Warnings = append(h.Warnings, fmt.Sprintf("cannot find the newest flow log data: %v", err))
			break
		}
		if len(s) > 0 && !math.IsNaN(s[0].Value) {
			h.Newest = time.UnixMilli(int64(math.Round(s[0].Value * 1000))).UTC().Truncate(time.Minute)
			h.Age = now.Sub(h.Newest)
			if h.Age > StaleAfter {
				h.Warnings = append(h.Warnings, fmt.Sprintf("the newest flow log data is %s old (at %s): is the collector running?", h.Age.Round(time.Minute), h.Newest.Format(time.RFC3339)))
			}
			break
		}
		if d == 24*time.Hour {
			h.Warnings = append(h.Warnings, "no flow log data in the last 24h: is the collector running and writing here?")
		}
	}
	return h
}
