package aggregate_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestCoarseCellsWriteTheSameSamples: the tables that keep five-minute
// cells (src, dst, app, status) write, batch by batch, the very samples the
// same records write with every table in minutes (Minutely), folded or not:
// a five-minute cell sums the minute shares five minute cells would hold,
// and keep sets are decided per hour. Generated records span up to eleven
// minutes, many across five-minute boundaries.
func TestCoarseCellsWriteTheSameSamples(t *testing.T) {
	format, err := flowlog.ParseFormat("v5")
	if err != nil {
		t.Fatal(err)
	}
	type pair struct{ coarse, fine *aggregate.Aggregate }
	newPair := func() pair {
		p := pair{aggregate.New(), aggregate.New()}
		p.fine.Minutely()
		return p
	}
	var batches []pair
	var object pair
	objects, lastKey := 0, ""
	flush := func() {
		if object.coarse == nil {
			return
		}
		if objects%3 == 1 {
			batches = append(batches, newPair())
		}
		b := batches[len(batches)-1]
		b.coarse.Merge(object.coarse)
		b.fine.Merge(object.fine)
		object = pair{}
	}
	cfg := generate.Config{Records: 30_000, Seed: 5, Format: format, Plain: true, Duration: 2 * time.Hour, ENIs: 40, VPCs: 2,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Observe = func(key string, r *flowlog.Record) {
		if key != lastKey {
			flush()
			object, lastKey = newPair(), key
			objects++
		}
		object.coarse.Add(r, &aggregate.Context{})
		object.fine.Add(r, &aggregate.Context{})
	}
	if _, err := generate.Generate(cfg, discard{}); err != nil {
		t.Fatal(err)
	}
	flush()
	if len(batches) < 5 {
		t.Fatalf("%d batches: the test needs more", len(batches))
	}
	render := func(series []vmclient.Series) []string {
		var out []string
		for _, s := range series {
			for _, smp := range s.Samples {
				out = append(out, fmt.Sprint(s.Labels, smp.Timestamp, smp.Value))
			}
		}
		slices.Sort(out)
		return out
	}
	for i, b := range batches {
		if b.coarse.Cells() >= b.fine.Cells() {
			t.Errorf("batch %d: %d cells coarse, %d in minutes: want fewer", i, b.coarse.Cells(), b.fine.Cells())
		}
		// The minutes the ledger gives the batch a slot in: among those it
		// named before, and every minute written at among them.
		minutes, fineMinutes := b.coarse.Minutes(), b.fine.Minutes()
		for _, m := range minutes {
			if _, ok := slices.BinarySearch(fineMinutes, m); !ok {
				t.Errorf("batch %d: minute %d named, not named with minute cells", i, m)
			}
		}
		meta, owners := b.fine.Learned()
		res := b.fine.Resolve(func(iface string) (aggregate.Meta, bool) { m, ok := meta[iface]; return m, ok },
			func(vpc, addr string) (string, bool) { o, ok := owners[aggregate.OwnerKey(vpc, addr)]; return o, ok })
		for _, fold := range []aggregate.Fold{{}, {TopK: 3}, {TopK: 1}} {
			series := b.coarse.Series(&res, i, fold)
			for _, sr := range series {
				for _, smp := range sr.Samples {
					if _, ok := slices.BinarySearch(minutes, (smp.Timestamp-int64(i))/60_000); !ok {
						t.Fatalf("batch %d: %v written at %d, a minute Minutes does not name", i, sr.Labels, smp.Timestamp)
					}
				}
			}
			got, want := render(series), render(b.fine.Series(&res, i, fold))
			if !slices.Equal(got, want) {
				t.Fatalf("batch %d, fold %+v: %d samples coarse, %d in minutes; first differences:\n%s", i, fold, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

// firstDiff shows the first samples two sorted renderings do not share.
func firstDiff(got, want []string) string {
	var b strings.Builder
	for _, s := range got {
		if _, ok := slices.BinarySearch(want, s); !ok {
			fmt.Fprintf(&b, "+ %s\n", s)
			if b.Len() > 2000 {
				break
			}
		}
	}
	for _, s := range want {
		if _, ok := slices.BinarySearch(got, s); !ok {
			fmt.Fprintf(&b, "- %s\n", s)
			if b.Len() > 4000 {
				break
			}
		}
	}
	return b.String()
}
