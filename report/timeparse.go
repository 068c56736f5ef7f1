package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime parses a command-line time: RFC 3339 (2026-03-01T10:00:00Z),
// Unix seconds (1772359200, decimals allowed), now, or now minus a duration
// (now-6h, now-30m, now-1h30m; d is a day of 24h and w a week, as in
// now-2d). now is the time "now" stands for.
func ParseTime(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now, nil
	case strings.HasPrefix(s, "now-"):
		d, err := parseDuration(s[len("now-"):])
		if err != nil {
			return time.Time{}, fmt.Errorf("time %q: %w", s, err)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs >= 0 {
		whole := int64(secs)
		return time.Unix(whole, int64((secs-float64(whole))*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 (2026-03-01T10:00:00Z), Unix seconds, now or now-DURATION (now-6h, now-30m, now-2d)", s)
}

// parseDuration is time.ParseDuration with d (24h) and w (7d) units.
func parseDuration(s string) (time.Duration, error) {
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("duration %q: want a number and a unit, such as 6h, 30m, 2d", s)
		}
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[rest[i]]
		if unit == 0 {
			break // the rest is Go's syntax
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("duration %q: want a number and a unit, such as 6h, 30m, 2d", s)
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("duration %q: want a positive duration", s)
	}
	return total, nil
}
