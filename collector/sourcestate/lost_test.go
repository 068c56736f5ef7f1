package sourcestate

import (
	"testing"
	"time"
)

// TestTraceTime: traces hold the batch's start in milliseconds; those of
// older collectors, in seconds, still read.
func TestTraceTime(t *testing.T) {
	at := time.Date(2026, 12, 6, 8, 34, 24, 987_000_000, time.UTC)
	for _, tc := range []struct {
		v    float64
		want time.Time
	}{
		{float64(at.UnixMilli()), at},
		{float64(at.Unix()), at.Truncate(time.Second)},
		{0, time.Unix(0, 0).UTC()},
	} {
		if got := traceTime(tc.v); !got.Equal(tc.want) {
			t.Errorf("traceTime(%v) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
