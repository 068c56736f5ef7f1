package generate

import (
	"bytes"
	"testing"
	"time"
)

func TestParseStart(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"2026-03-01T10:00:00Z", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), ""},
		{" 2026-03-01T12:00:00+02:00 ", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), ""},
		{"1772359200", time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), ""},
		{"yesterday", time.Time{}, `"yesterday" is neither RFC 3339 (2026-01-02T15:04:05Z) nor Unix seconds`},
		{"now-1h", time.Time{}, `"now-1h" is neither RFC 3339 (2026-01-02T15:04:05Z) nor Unix seconds`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStart(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("%v (%v), want %v in UTC", got, err, tt.want)
			}
		})
	}
}

func TestSummaryWriteText(t *testing.T) {
	cfg := Config{Start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Duration: 30 * time.Minute}
	for _, tt := range []struct {
		name string
		sum  Summary
		took time.Duration
		want string
	}{
		{"some", Summary{Objects: 12, Records: 5000, OK: 4900, NoData: 75, SkipData: 25, Bytes: 3 << 29, Packets: 123456, StoredBytes: 2_345_678}, 1500 * time.Millisecond,
			"wrote 12 objects under /out: 5000 records (ok=4900 nodata=75 skipdata=25) describing 1.5 GiB in 123456 packets, " +
				"2026-03-01T10:00:00Z to 2026-03-01T10:30:00Z; 2.3 MB stored, in 1.5s\n"},
		{"none", Summary{}, 0,
			"wrote 0 objects under /out: 0 records (ok=0 nodata=0 skipdata=0) describing 0.0 GiB in 0 packets, 2026-03-01T10:00:00Z to 2026-03-01T10:30:00Z; 0.0 MB stored, in 0.0s\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.sum.WriteText(&b, "/out", cfg, tt.took)
			if b.String() != tt.want {
				t.Errorf("got  %q\nwant %q", b.String(), tt.want)
			}
		})
	}
}
