package pipeline

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// factExporter is the ledger's fact kind of the exporters met: key
// aggregate.ExporterKey, value its rank (decimal), the order in which the
// collector first met it.
const factExporter = "exporter"

// loadRank takes in an exporter fact of the ledger.
func (p *Pipeline) loadRank(key string, value []byte) error {
	r, err := strconv.Atoi(string(value))
	if err != nil {
		return fmt.Errorf("fact %s %s: rank %q: %w", factExporter, key, value, err)
	}
	p.ranks[key] = r
	return nil
}

// admitted says whether an exporter of the given rank is within
// Options.MaxExporters.
func (p *Pipeline) admitted(rank int) bool {
	return p.opts.MaxExporters <= 0 || rank < p.opts.MaxExporters
}

// maxRanked bounds the exporters ranked, in memory and in the ledger: a
// bucket can name any number of VPCs. Beyond it an exporter met for the
// first time gets no rank: over limits.max_exporters when a limit is set
// (its records dropped, counted in the totals only), collected otherwise.
const maxRanked = 100_000

// limitExporters decides which exporters of a batch are over
// Options.MaxExporters: the exporters met for the first time are ranked
// after those met before (in key order among themselves), and those
// ranked MaxExporters or later are dropped, last added first. It returns
// the keys dropped (sorted: for the batch's Resolution.Drop, which a
// replay applies as recorded), the ledger facts of the new ranks (written
// with the batch), and the records dropped. The ranks are kept whatever
// the limit, so that raising it takes back the VPCs in the order they
// came.
func (p *Pipeline) limitExporters(src *sourceRun, exps []aggregate.Exporter) (drop []string, facts []ledger.Fact, records int64) {
	byKey := make(map[string]aggregate.Exporter, len(exps))
	var fresh []string
	p.mu.Lock()
	for _, e := range exps {
		k := e.Key()
		byKey[k] = e
		if _, ok := p.ranks[k]; !ok {
			fresh = append(fresh, k)
		}
	}
	slices.Sort(fresh)
	for _, k := range fresh {
		r := len(p.ranks)
		if r >= p.rankBound() {
			break // unranked: see maxRanked
		}
		p.ranks[k] = r
		facts = append(facts, ledger.Fact{Kind: factExporter, Key: k, Value: []byte(strconv.Itoa(r))})
	}
	var newlyDropped []string
	for k, e := range byKey {
		r, ranked := p.ranks[k]
		if ranked && p.admitted(r) || !ranked && p.opts.MaxExporters <= 0 {
			continue
		}
		drop = append(drop, k)
		records += e.Records
		if !ranked {
			continue // no record of its own: the bound is there for them
		}
		if _, ok := p.dropped[k]; !ok {
			newlyDropped = append(newlyDropped, k)
		}
		p.dropped[k] += e.Records
	}
	p.mu.Unlock()
	slices.Sort(drop)
	slices.Sort(newlyDropped)
	for _, k := range newlyDropped {
		e := byKey[k]
		p.log.Warn("exporter disabled (limit): its records are dropped", "source", src.Name(), "account_id", e.Account, "region", e.Region, "vpc_id", e.VPC,
			"limit", "limits.max_exporters", "max_exporters", p.opts.MaxExporters)
		src.log().Warn("exporter disabled (limit): its records are dropped", "account_id", e.Account, "region", e.Region, "vpc_id", e.VPC,
			"limit", "limits.max_exporters", "max_exporters", p.opts.MaxExporters)
	}
	p.stats.Dropped.Add(records)
	return drop, facts, records
}

// exporterStatus returns the status of an exporter in the exporters view,
// and the records it had dropped; p.mu is held.
func (p *Pipeline) exporterStatus(account, region, vpc string) (sourcestate.Status, int64) {
	k := aggregate.ExporterKey(account, region, vpc)
	r, ranked := p.ranks[k]
	if ranked && !p.admitted(r) || !ranked && p.opts.MaxExporters > 0 && len(p.ranks) >= p.rankBound() {
		return sourcestate.StatusDisabledLimit, p.dropped[k]
	}
	return sourcestate.StatusEnabled, 0
}

// rankBound returns how many exporters may be ranked (maxRanked, or the
// tests' bound).
func (p *Pipeline) rankBound() int {
	if p.maxRanked > 0 {
		return p.maxRanked
	}
	return maxRanked
}
