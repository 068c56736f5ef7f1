package generate

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ParseStart reads a start time (Config.Start) given as RFC 3339 or as
// Unix seconds.
func ParseStart(s string) (time.Time, error) {
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(sec, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-01-02T15:04:05Z) nor Unix seconds", s)
	}
	return t.UTC(), nil
}

// WriteText prints the summary as one line: what Generate wrote under
// dir from cfg (its time range included), and how long that took.
func (s Summary) WriteText(w io.Writer, dir string, cfg Config, took time.Duration) {
	fmt.Fprintf(w,
		"wrote %d objects under %s: %d records (ok=%d nodata=%d skipdata=%d) describing %.1f GiB in %d packets, %s to %s; %.1f MB stored, in %.1fs\n",
		s.Objects, dir, s.Records, s.OK, s.NoData, s.SkipData, float64(s.Bytes)/(1<<30), s.Packets,
		cfg.Start.Format(time.RFC3339), cfg.Start.Add(cfg.Duration).Format(time.RFC3339),
		float64(s.StoredBytes)/1e6, took.Seconds())
}
