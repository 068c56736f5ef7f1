package groundtruth

import (
	"io"
	"maps"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/schema"
)

type discard struct{}

func (discard) Create(string) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestDerivedSums checks that the derived families' sums are the
// projections of their families' (the pair family's once Finish has run),
// over generated records of several formats.
func TestDerivedSums(t *testing.T) {
	defs := schema.Families()
	for _, tc := range []struct {
		format string
		seed   int64
	}{
		{"v5", 1},
		{"v8", 2},
		{"${version} ${account-id} ${region} ${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${packets} ${start} ${end} ${action} ${log-status}", 3},
	} {
		t.Run(tc.format, func(t *testing.T) {
			format, err := flowlog.ParseFormat(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			tr := New()
			_, err = generate.Generate(generate.Config{Records: 3000, Seed: tc.seed, Format: format, Plain: true,
				Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ENIs: 12, VPCs: 2,
				Observe: func(_ string, r *flowlog.Record) { tr.Observe(r) }}, discard{})
			if err != nil {
				t.Fatal(err)
			}
			check := func(when string, finished bool) {
				for _, d := range defs {
					if !d.Derived {
						continue
					}
					of := defs[d.Of]
					for m, name := range d.MetricNames() {
						want := Project(tr.Sums[of.MetricNames()[m]], of.Labels, d.Labels)
						if diff := Compare(tr.Sums[name], want); diff != "" {
							t.Errorf("%s: %s is not the projection of %s:\n%s", when, name, of.MetricNames()[m], diff)
						}
						if len(want) == 0 && (finished || d.Of != schema.Pair) {
							t.Errorf("%s: no %s", when, of.MetricNames()[m])
						}
					}
				}
			}
			check("before Finish", false)
			tr.Finish()
			check("after Finish", true)
		})
	}
}

// TestHourShares: amounts spread over hours in proportion, cumulative
// shares rounded down, the whole of a record within one hour in it.
func TestHourShares(t *testing.T) {
	for _, tc := range []struct {
		start, end int64
		v          uint64
		want       map[int64]uint64
	}{
		{600, 660, 100, map[int64]uint64{0: 100}},
		{3590, 3610, 20, map[int64]uint64{0: 10, 1: 10}},
		{3500, 3800, 7, map[int64]uint64{0: 2, 1: 5}},
		{3500, 7300, 3, map[int64]uint64{0: 0, 1: 2, 2: 1}},
		{7200, 7200, 9, map[int64]uint64{2: 9}},
		{7300, 7200, 9, map[int64]uint64{2: 9}},
		{-10, 10, 4, map[int64]uint64{-1: 2, 0: 2}},
	} {
		if got := hourShares(tc.start, tc.end, tc.v); !maps.Equal(got, tc.want) {
			t.Errorf("hourShares(%d, %d, %d) = %v, want %v", tc.start, tc.end, tc.v, got, tc.want)
		}
	}
}
