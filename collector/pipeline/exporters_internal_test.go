package pipeline

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// TestRankedExportersBounded: a bucket naming more VPCs than the ranking
// bound leaves the ranks (and their ledger facts) at the bound. With a
// limit, the unranked VPCs are dropped and shown over the limit; without
// one, they are collected.
func TestRankedExportersBounded(t *testing.T) {
	exps := func(from, n int) []aggregate.Exporter {
		var out []aggregate.Exporter
		for i := from; i < from+n; i++ {
			out = append(out, aggregate.Exporter{Account: "123456789012", Region: "us-east-1", VPC: fmt.Sprintf("vpc-%017x", i), Records: 1})
		}
		return out
	}
	for _, limit := range []int{0, 3} {
		p := &Pipeline{ranks: map[string]int{}, dropped: map[string]int64{}, opts: Options{MaxExporters: limit},
			log: slog.New(slog.DiscardHandler), maxRanked: 5}
		src := &sourceRun{Source: &sourcestate.Source{Source: source.NewDir("s", t.TempDir())}}
		facts := 0
		drops := 0
		for b := range 4 {
			drop, f, _ := p.limitExporters(src, exps(4*b, 4))
			facts += len(f)
			drops += len(drop)
		}
		if len(p.ranks) != 5 || facts != 5 {
			t.Errorf("limit %d: %d exporters ranked, %d rank facts; want the bound, 5", limit, len(p.ranks), facts)
		}
		if want := map[int]int{0: 0, 3: 13}[limit]; drops != want || len(p.dropped) > 2 {
			t.Errorf("limit %d: %d dropped, %d with a record of their own; want %d and at most 2", limit, drops, len(p.dropped), want)
		}
		st, _ := p.exporterStatus("123456789012", "us-east-1", fmt.Sprintf("vpc-%017x", 15))
		if want := map[int]sourcestate.Status{0: sourcestate.StatusEnabled, 3: sourcestate.StatusDisabledLimit}[limit]; st != want {
			t.Errorf("limit %d: an unranked VPC is %s, want %s", limit, st, want)
		}
	}
}
