package pipeline

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/ledger"
)

// Fact kinds in the ledger.
const (
	factMeta  = "meta"
	factOwner = "owner"
)

// knowledge is what earlier batches taught the pipeline: the metadata of
// interfaces and the interface each address of a VPC belongs to, loaded
// from the ledger's facts at start and kept there as the batches teach
// more. Each table is bounded: beyond its bound the entries least recently
// seen (taught by a batch, or used to resolve one) are forgotten, in memory
// and, by facts that delete them, in the ledger. Forgetting never changes a
// recorded batch, whose aggregate.Resolution holds what it used: a replay
// writes the same samples.
type knowledge struct {
	maxMeta, maxOwners int
	// gen counts the batches taught; an entry's seen is the last that saw
	// it (0: loaded from the ledger).
	gen    uint64
	meta   map[string]metaEntry  // by interface
	owners map[string]ownerEntry // by aggregate.OwnerKey
	// byAddr is, per address alone, its owner when every VPC agrees (""
	// when they do not).
	byAddr map[string]string
	// dir, if not nil, answers what the records have not taught.
	dir Directory
}

type metaEntry struct {
	meta aggregate.Meta
	seen uint64
}

type ownerEntry struct {
	iface string
	seen  uint64
}

func (e metaEntry) lastSeen() uint64  { return e.seen }
func (e ownerEntry) lastSeen() uint64 { return e.seen }

func newKnowledge(maxMeta, maxOwners int, dir Directory) *knowledge {
	return &knowledge{maxMeta: maxMeta, maxOwners: maxOwners,
		meta: map[string]metaEntry{}, owners: map[string]ownerEntry{}, byAddr: map[string]string{}, dir: dir}
}

// loadMeta and loadOwner take in a fact of the ledger.
func (k *knowledge) loadMeta(iface string, m aggregate.Meta) { k.meta[iface] = metaEntry{meta: m} }
func (k *knowledge) loadOwner(key, iface string)             { k.setOwner(key, iface, 0) }

// learn takes in what a batch's records say of interfaces and addresses,
// and returns it as facts for the ledger.
func (k *knowledge) learn(agg *aggregate.Aggregate) []ledger.Fact {
	k.gen++
	meta, owners := agg.Learned()
	facts := make([]ledger.Fact, 0, len(meta)+len(owners))
	for iface, m := range meta {
		merged := mergeMeta(k.meta[iface].meta, m)
		k.meta[iface] = metaEntry{merged, k.gen}
		v, _ := json.Marshal(merged)
		facts = append(facts, ledger.Fact{Kind: factMeta, Key: iface, Value: v})
	}
	for key, iface := range owners {
		k.setOwner(key, iface, k.gen)
		facts = append(facts, ledger.Fact{Kind: factOwner, Key: key, Value: []byte(iface)})
	}
	return facts
}

func mergeMeta(old, m aggregate.Meta) aggregate.Meta {
	keep := func(v, o string) string {
		if v == "" || v == "-" {
			return o
		}
		return v
	}
	return aggregate.Meta{VPC: keep(m.VPC, old.VPC), Subnet: keep(m.Subnet, old.Subnet), AZ: keep(m.AZ, old.AZ), Instance: keep(m.Instance, old.Instance)}
}

// lookupMeta returns what is known of an interface (the current batch saw
// it): what records taught, its gaps filled in by the directory.
func (k *knowledge) lookupMeta(iface string) (aggregate.Meta, bool) {
	e, ok := k.meta[iface]
	if ok && e.seen != k.gen {
		e.seen = k.gen
		k.meta[iface] = e
	}
	if k.dir != nil {
		if d, found := k.dir.Interface(iface); found {
			return mergeMeta(d, e.meta), true
		}
	}
	return e.meta, ok
}

// setOwner records that the address of key (an aggregate.OwnerKey) belongs
// to iface, as batch seen saw.
func (k *knowledge) setOwner(key, iface string, seen uint64) {
	k.owners[key] = ownerEntry{iface, seen}
	_, addr, _ := strings.Cut(key, " ")
	if prev, ok := k.byAddr[addr]; ok && prev != iface {
		iface = "" // VPCs disagree: the address alone names no interface
	}
	k.byAddr[addr] = iface
}

// lookupOwner returns the interface an address of a VPC belongs to: as
// learned in that VPC (which the current batch then saw), else as the
// directory says, else the one interface it belongs to in any VPC (traffic
// to a peered VPC), if there is only one.
func (k *knowledge) lookupOwner(vpc, addr string) (string, bool) {
	key := aggregate.OwnerKey(vpc, addr)
	if e, ok := k.owners[key]; ok {
		if e.seen != k.gen {
			e.seen = k.gen
			k.owners[key] = e
		}
		return e.iface, true
	}
	if k.dir != nil {
		if iface, ok := k.dir.Owner(vpc, addr); ok {
			return iface, true
		}
	}
	if o := k.byAddr[addr]; o != "" {
		return o, true
	}
	return "", false
}

// forget brings the tables back within their bounds, once the current
// batch has been taught and resolved: when one is over its bound, its
// entries least recently seen (then by key) are forgotten until it holds
// a tenth less than the bound, so that this happens once every many
// batches. What the current batch saw is kept, so a table may exceed its
// bound by what one batch sees. It returns the facts that delete the
// forgotten entries from the ledger.
func (k *knowledge) forget() []ledger.Fact {
	facts := evict(k.meta, k.maxMeta, k.gen, factMeta, nil)
	n := len(facts)
	if facts = evict(k.owners, k.maxOwners, k.gen, factOwner, facts); len(facts) > n {
		clear(k.byAddr)
		for key, e := range k.owners {
			k.setOwner(key, e.iface, e.seen)
		}
	}
	return facts
}

// evict forgets the least recently seen entries of m, not seen by batch
// gen, when m holds more than bound; it appends their deletion facts to
// facts.
func evict[E interface{ lastSeen() uint64 }](m map[string]E, bound int, gen uint64, kind string, facts []ledger.Fact) []ledger.Fact {
	if len(m) <= bound {
		return facts
	}
	type entry struct {
		key  string
		seen uint64
	}
	old := make([]entry, 0, len(m))
	for key, e := range m {
		if e.lastSeen() < gen {
			old = append(old, entry{key, e.lastSeen()})
		}
	}
	slices.SortFunc(old, func(a, b entry) int {
		if c := cmp.Compare(a.seen, b.seen); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	for _, e := range old[:min(len(old), len(m)-(bound-bound/10))] {
		delete(m, e.key)
		facts = append(facts, ledger.Fact{Kind: kind, Key: e.key}) // no value: deleted
	}
	return facts
}

// learn takes in what a batch's records say of interfaces and addresses,
// and returns it as facts for the ledger. What the batch saw is kept over
// what it did not when the bounds make the pipeline forget (knowledge.forget).
func (p *Pipeline) learn(agg *aggregate.Aggregate) []ledger.Fact {
	return p.known.learn(agg)
}
