package aggregate

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// Resolution says what a batch's records do not: the metadata of interfaces
// whose records lack some, and which interface an address belongs to. It is
// decided once per batch, from the batch's own records and from what earlier
// batches taught, and recorded with the batch, so that a replay resolves
// exactly the same way.
type Resolution struct {
	Meta map[string]Meta `json:"meta,omitempty"` // interface id → metadata
	// Owners maps OwnerKey(vpc, address) to the interface the address
	// belongs to.
	Owners map[string]string `json:"owners,omitempty"`
	// Drop lists the exporters (ExporterKey, as Exporters names them)
	// whose records are left out of every family: those over the
	// collector's limits.max_exporters when the batch was recorded.
	Drop []string `json:"drop,omitempty"`
}

// OwnerKey names an address within a VPC, as Learned and Resolution key
// address owners: private ranges repeat across VPCs, so an address alone
// does not name an interface.
func OwnerKey(vpc, addr string) string { return vpc + " " + addr }

// Learned returns what the aggregate's records say of interfaces (their
// VPC, subnet, AZ, instance) and of addresses (the interface that sent
// egress records from them or received ingress records at them, keyed by
// OwnerKey).
func (a *Aggregate) Learned() (meta map[string]Meta, owners map[string]string) {
	meta = make(map[string]Meta, len(a.meta))
	for iface, m := range a.meta {
		meta[a.str(iface)] = Meta{VPC: a.str(m.vpc), Subnet: a.str(m.subnet), AZ: a.str(m.az), Instance: a.str(m.instance)}
	}
	owners = make(map[string]string, len(a.owners))
	for k, iface := range a.owners {
		owners[OwnerKey(a.str(k.vpc), a.str(k.addr))] = a.str(iface)
	}
	return meta, owners
}

// Resolve builds the Resolution of the aggregate from what is known: meta
// looks up an interface's metadata, owner the interface an address of a VPC
// belongs to. Only what the aggregate needs is kept: metadata of interfaces
// some of whose records lack a field, owners of peer addresses.
func (a *Aggregate) Resolve(meta func(iface string) (Meta, bool), owner func(vpc, addr string) (string, bool)) Resolution {
	res := Resolution{Meta: map[string]Meta{}, Owners: map[string]string{}}
	for _, t := range a.tupleV {
		if t.iface == absent || (t.vpc != absent && t.subnet != absent && t.az != absent && t.instance != absent) {
			continue
		}
		if m, ok := meta(a.str(t.iface)); ok {
			res.Meta[a.str(t.iface)] = m
		}
	}
	look := func(t tuple, addr uint32) {
		if addr == absent {
			return
		}
		vpc := a.str(t.vpc)
		if m, ok := res.Meta[a.str(t.iface)]; ok && t.vpc == absent && m.VPC != "" {
			vpc = m.VPC // as the output will fill it in
		}
		key := OwnerKey(vpc, a.str(addr))
		if _, done := res.Owners[key]; done {
			return
		}
		if iface, ok := owner(vpc, a.str(addr)); ok {
			res.Owners[key] = iface
		}
	}
	for _, k := range a.peer.keys {
		t := a.tupleV[k.tuple]
		look(t, k.a)
		look(t, k.b)
	}
	return res
}

// maxLabels is the most labels a family has (the interface family: 11).
const maxLabels = 11

// rowKey is a label set of a family: its values as string ids, in the
// family's label order.
type rowKey [maxLabels]uint32

// rows collects a family's output label sets and their minutes.
type rows struct {
	def   schema.Family
	index map[rowKey]uint32
	keys  []rowKey
	cells [][]cell
	slab  slab
}

func newRows(def schema.Family, sizeHint int) *rows {
	return &rows{def: def, index: make(map[rowKey]uint32, sizeHint)}
}

// add adds cells to the label set k.
func (r *rows) add(k rowKey, cells []cell) {
	i, ok := r.index[k]
	if !ok {
		r.index[k] = uint32(len(r.keys))
		r.keys = append(r.keys, k)
		r.cells = append(r.cells, r.slab.clone(cells, 0))
		return
	}
	r.cells[i] = mergeCells(r.cells[i], cells)
}

// output turns the aggregate's tables into label sets, with a Resolution
// applied: tuples filled in, peers replaced by the interfaces owning them.
type output struct {
	a      *Aggregate
	tuples []tuple // resolved
	// dropped is true for the tuples of the exporters Resolution.Drop
	// names.
	dropped []bool
	owners  map[ownerKey]uint32
	consts  map[string]uint32
}

// boundedLabels returns the label values (string ids) of the words of
// the bounded labels, by word: actions, reject reasons, services (see
// vocab.labels). Unknown values are ranked by their amounts in a family
// that counts every traffic record once: the interface family for actions
// and reject reasons, the service family for services, whose unknown
// values are ranked by the traffic from or to them.
func (o *output) boundedLabels() (actions, rejects, services []uint32) {
	a := o.a
	var actSums, rejectSums, serviceSums []tally
	if n, m := a.actions.unknown(), a.rejects.unknown(); n+m > 0 {
		actSums, rejectSums = make([]tally, n), make([]tally, m)
		firstAct, firstReject := a.actions.firstUnknown(), a.rejects.firstUnknown()
		for i, k := range a.iface.keys {
			if k.action >= firstAct {
				actSums[k.action-firstAct].add(a.iface.cells[i])
			}
			if k.reject >= firstReject {
				rejectSums[k.reject-firstReject].add(a.iface.cells[i])
			}
		}
	}
	if n := a.services.unknown(); n > 0 {
		serviceSums = make([]tally, n)
		first := a.services.firstUnknown()
		for i, k := range a.service.keys {
			if k.src >= first {
				serviceSums[k.src-first].add(a.service.cells[i])
			}
			if k.dst >= first && k.dst != k.src {
				serviceSums[k.dst-first].add(a.service.cells[i])
			}
		}
	}
	return a.actions.labels(o, actSums), a.rejects.labels(o, rejectSums), a.services.labels(o, serviceSums)
}

// id interns a label value.
func (o *output) id(s string) uint32 {
	if id, ok := o.consts[s]; ok {
		return id
	}
	id := o.a.strs.idString(s)
	o.consts[s] = id
	return id
}

// owner returns the interface owning an address of a VPC, or absent.
func (o *output) owner(vpc, addr uint32) uint32 {
	if iface, ok := o.owners[ownerKey{vpc, addr}]; ok {
		return iface
	}
	return absent
}

func newOutput(a *Aggregate, res *Resolution) *output {
	o := &output{a: a, tuples: make([]tuple, len(a.tupleV)), dropped: make([]bool, len(a.tupleV)), owners: map[ownerKey]uint32{}, consts: map[string]uint32{}}
	drop := make(map[string]bool, len(res.Drop))
	for _, k := range res.Drop {
		drop[k] = true
	}
	for i, t := range a.tupleV {
		if len(drop) > 0 {
			o.dropped[i] = drop[ExporterKey(a.str(t.account), a.str(t.region), a.str(t.vpc))]
		}
		if m, ok := res.Meta[a.str(t.iface)]; ok && t.iface != absent {
			fill := func(v *uint32, with string) {
				if *v == absent && with != "" && with != schema.Absent {
					*v = o.id(with)
				}
			}
			fill(&t.vpc, m.VPC)
			fill(&t.subnet, m.Subnet)
			fill(&t.az, m.AZ)
			fill(&t.instance, m.Instance)
		}
		o.tuples[i] = t
	}
	for key, iface := range res.Owners {
		vpc, addr, _ := strings.Cut(key, " ")
		o.owners[ownerKey{o.id(vpc), o.id(addr)}] = o.id(iface)
	}
	return o
}

// Emitter receives series one at a time; it may not keep labels or samples,
// which are reused for the next series (vmclient.Batch.Add qualifies).
type Emitter func(labels []vmclient.Label, samples []vmclient.Sample)

// Series returns the aggregate's series (see Emit), each with its own
// slices.
func (a *Aggregate) Series(res *Resolution, slot int, fold Fold) []vmclient.Series {
	var out []vmclient.Series
	a.Emit(res, slot, fold, func(labels []vmclient.Label, samples []vmclient.Sample) {
		out = append(out, vmclient.Series{Labels: slices.Clone(labels), Samples: slices.Clone(samples)})
	})
	return out
}

// Emit hands the aggregate to emit as samples (Output, then Output.Emit).
func (a *Aggregate) Emit(res *Resolution, slot int, fold Fold, emit Emitter) {
	a.Output(res).Emit(slot, fold, emit)
}

// Output is an aggregate's label sets per family, with a Resolution
// applied, before folding: what Candidates ranks and Emit writes.
type Output struct {
	a    *Aggregate
	rows [schema.NumFamilies]*rows
}

// Output resolves the aggregate's label sets (tuples filled in, peers
// replaced by the interfaces owning them) and projects the derived
// families, before any folding.
func (a *Aggregate) Output(res *Resolution) *Output {
	o := newOutput(a, res)
	out := &Output{a: a}
	defs := schema.Families()
	dir := func(d flowlog.Direction) uint32 { return o.id(d.String()) }
	actions, rejects, services := o.boundedLabels()
	act := func(v word) uint32 { return actions[v] }
	for fam := range schema.NumFamilies {
		if defs[fam].Derived {
			continue // projected from the family they sum
		}
		var r *rows
		switch fam {
		case schema.Interface:
			r = newRows(defs[fam], len(a.iface.keys))
			for i, k := range a.iface.keys {
				if o.dropped[k.tuple] {
					continue
				}
				t := o.tuples[k.tuple]
				path := uint32(absent)
				if k.path != 0 {
					path = o.id(uintLabel(uint32(k.path) + 1))
				}
				r.add(rowKey{t.account, t.region, t.vpc, t.subnet, t.az, t.iface, t.instance, act(k.action), dir(k.dir), path, rejects[k.reject]}, a.iface.cells[i])
			}
		case schema.Service:
			r = newRows(defs[fam], len(a.service.keys))
			for i, k := range a.service.keys {
				if o.dropped[k.tuple] {
					continue
				}
				t := o.tuples[k.tuple]
				r.add(rowKey{t.account, t.region, t.vpc, services[k.src], services[k.dst], act(k.action), dir(k.dir)}, a.service.cells[i])
			}
		case schema.Pair:
			// A peer no interface owns is its AWS service where the
			// record names one (schema.PairServicePrefix + the service label,
			// bounded as src_service and dst_service are), else absent.
			svcPeer := make(map[word]uint32)
			peerOf := func(vpc, addr uint32, svc word) uint32 {
				if owner := o.owner(vpc, addr); owner != absent || svc == 0 {
					return owner
				}
				id, ok := svcPeer[svc]
				if !ok {
					id = o.id(schema.PairServicePrefix + o.a.str(services[svc]))
					svcPeer[svc] = id
				}
				return id
			}
			r = newRows(defs[fam], len(a.peer.keys))
			for i, k := range a.peer.keys {
				if o.dropped[k.tuple] {
					continue
				}
				t := o.tuples[k.tuple]
				var src, dst uint32
				switch {
				case k.dir == flowlog.Egress:
					src, dst = t.iface, peerOf(t.vpc, k.a, k.aSvc)
				case k.dir == flowlog.DirectionNone && t.iface != absent && o.owner(t.vpc, k.a) == t.iface:
					src, dst = t.iface, peerOf(t.vpc, k.b, k.bSvc) // no direction, but the source is this interface
				case o.owner(t.vpc, k.a) != absent:
					continue // from a known interface: its egress twin counts
				default:
					src, dst = peerOf(t.vpc, absent, k.aSvc), t.iface
				}
				r.add(rowKey{t.account, t.region, t.vpc, src, dst, act(k.action)}, a.peer.cells[i])
			}
		case schema.Src, schema.Dst:
			tab := &a.src
			if fam == schema.Dst {
				tab = &a.dst
			}
			r = newRows(defs[fam], len(tab.keys))
			for i, k := range tab.keys {
				if o.dropped[k.tuple] {
					continue
				}
				t := o.tuples[k.tuple]
				r.add(rowKey{t.account, t.region, t.vpc, t.iface, act(k.action), k.addr}, tab.cells[i])
			}
		case schema.App:
			r = newRows(defs[fam], len(a.app.keys))
			for i, k := range a.app.keys {
				if o.dropped[k.tuple] {
					continue
				}
				t := o.tuples[k.tuple]
				r.add(rowKey{t.account, t.region, t.vpc, t.iface, o.id(uintLabel(uint32(k.proto))), o.id(uintLabel(k.port)), act(k.action), dir(k.dir)}, a.app.cells[i])
			}
		case schema.Status:
			r = newRows(defs[fam], len(a.status.keys))
			for i, k := range a.status.keys {
				if o.dropped[k.tuple] {
					continue
				}
				t := o.tuples[k.tuple]
				r.add(rowKey{t.account, t.region, t.vpc, t.iface, o.id(k.status.String())}, a.status.cells[i])
			}
		default:
			panic("aggregate: no output for family " + defs[fam].Name)
		}
		out.rows[fam] = r
		// Project before folding: a derived family's labels need not be
		// the group's, and folding moves amounts to other label sets.
		for _, d := range schema.DerivedFrom(fam) {
			out.rows[d] = r.project(defs[d])
		}
	}
	o.id(schema.Other) // interned now: Emit may fold
	return out
}

// Emit hands the output to emit as samples: per metric and label set, one
// sample per interval of the family's step (schema.Family.Step) that has
// amounts, at the interval's start + slot milliseconds, valued the
// interval's total. fold bounds the top-K families (see Fold); derived
// families were summed before folding, so the totals are exact. Families
// are emitted in schema order, each counted family followed by the
// families derived from it. Zero values are not written. Emit uses the
// output up (it folds the families in place and lets each one's memory go
// once emitted): call it once.
func (out *Output) Emit(slot int, fold Fold, emit Emitter) {
	a := out.a
	defs := schema.Families()
	other := a.strs.ids[schema.Other]
	var keep map[GroupHour]map[string]bool
	if fold.LegacyTopK == 0 && (fold.Keep != nil || fold.TopK > 0) {
		if keep = fold.Keep.sets(); fold.Keep == nil {
			keep = out.KeepTop(fold.TopK).sets()
		}
	}
	for fam := range schema.NumFamilies {
		if defs[fam].Derived {
			continue // emitted with the family they sum
		}
		for _, id := range append([]int{fam}, schema.DerivedFrom(fam)...) {
			r := out.rows[id]
			step := r.def.Step
			switch {
			case fold.LegacyTopK > 0:
				step = time.Minute
				if group, ok := legacyGroups[id]; ok {
					r.foldTopK(fold.LegacyTopK, group, other, a)
				}
			case keep != nil && r.def.TopK:
				r.foldKept(id, keep, other, a)
			}
			r.emit(a, slot, step, emit)
			out.rows[id] = nil
		}
	}
}

// project returns the label sets of r summed by the labels of def, a
// family derived from r's, in the order they first occur in r (so the
// output is as deterministic as r's).
func (r *rows) project(def schema.Family) *rows {
	var idx [maxLabels]int // position in r's labels of each of def's
	for i, l := range def.Labels {
		idx[i] = slices.Index(r.def.Labels, l)
		if idx[i] < 0 {
			panic("aggregate: derived family " + def.Name + " has label " + l + ", which " + r.def.Name + " lacks")
		}
	}
	out := newRows(def, 0)
	n := len(def.Labels)
	for i, key := range r.keys {
		var k rowKey
		for j, at := range idx[:n] {
			k[j] = key[at]
		}
		out.add(k, r.cells[i])
	}
	return out
}

// groupMinute is a group of a top-K family in one minute.
type groupMinute struct {
	group  rowKey // the group's labels; the others zero
	minute int64
}

// legacyGroups are the groups of the top-K families before they were
// bounded per VPC and hour, by family: what foldTopK folds per minute when
// a batch recorded then is replayed.
var legacyGroups = map[int][]string{
	schema.Pair: {schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, "action"},
	schema.Src:  {schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, "interface_id", "action"},
	schema.Dst:  {schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, "interface_id", "action"},
	schema.App:  {schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, "interface_id", "action"},
}

// foldTopK keeps, per group (the labels of group) and minute, the k largest
// label sets and folds the others into one whose non-group labels are
// other: the folding of batches recorded before the bounded families.
func (r *rows) foldTopK(k int, groupLabels []string, other uint32, a *Aggregate) {
	var mask rowKey // 1 for a group label
	for i, l := range r.def.Labels {
		if slices.Contains(groupLabels, l) {
			mask[i] = 1
		}
	}
	group := func(key rowKey, minute int64) groupMinute {
		g := groupMinute{minute: minute}
		for i := range key {
			g.group[i] = key[i] * mask[i]
		}
		return g
	}
	// Count first: most groups stay within k, and then nothing else is
	// needed.
	counts := map[groupMinute]int{}
	over := false
	for i, key := range r.keys {
		for _, c := range r.cells[i] {
			g := group(key, c.minute)
			counts[g]++
			over = over || counts[g] > k
		}
	}
	if !over {
		return
	}
	type member struct{ row, cell int }
	members := map[groupMinute][]member{}
	for i, key := range r.keys {
		for j, c := range r.cells[i] {
			if g := group(key, c.minute); counts[g] > k {
				members[g] = append(members[g], member{i, j})
			}
		}
	}
	groups := make([]groupMinute, 0, len(members))
	for g := range members {
		groups = append(groups, g)
	}
	// Fold in a fixed order: the output must not depend on map order.
	slices.SortFunc(groups, func(x, y groupMinute) int {
		if c := slices.Compare(x.group[:], y.group[:]); c != 0 {
			return c
		}
		return cmp.Compare(x.minute, y.minute)
	})
	// compareLabels orders label sets by their values, label by label, as
	// strings (ids follow the order strings were met in, which a merge may
	// change).
	compareLabels := func(x, y rowKey) int {
		for i := range r.def.Labels {
			if c := strings.Compare(a.str(x[i]), a.str(y[i])); c != 0 {
				return c
			}
		}
		return 0
	}
	for _, g := range groups {
		ms := members[g]
		slices.SortFunc(ms, func(x, y member) int {
			cx, cy := r.cells[x.row][x.cell], r.cells[y.row][y.cell]
			if c := cmp.Compare(cy.bytes, cx.bytes); c != 0 {
				return c
			}
			if c := cmp.Compare(cy.packets, cx.packets); c != 0 {
				return c
			}
			if c := cmp.Compare(cy.flows, cx.flows); c != 0 {
				return c
			}
			return compareLabels(r.keys[x.row], r.keys[y.row])
		})
		folded := cell{minute: g.minute}
		for _, m := range ms[k:] {
			c := &r.cells[m.row][m.cell]
			folded.bytes += c.bytes
			folded.packets += c.packets
			folded.flows += c.flows
			*c = cell{minute: c.minute} // emptied: zero values are not written
		}
		otherKey := r.keys[ms[0].row]
		for i := range r.def.Labels {
			if mask[i] == 0 {
				otherKey[i] = other
			}
		}
		r.add(otherKey, []cell{folded})
	}
}

// emit hands over the family's series: one per metric and label set, one
// sample per step interval, ordered by time, zero values left out.
func (r *rows) emit(a *Aggregate, slot int, step time.Duration, emit Emitter) {
	per := int64(step / time.Minute)
	names := r.def.MetricNames()
	labels := make([]vmclient.Label, len(r.def.Labels)+1)
	labels[0].Name = "__name__"
	for i, l := range r.def.Labels {
		labels[i+1].Name = l
	}
	var samples []vmclient.Sample
	for i, key := range r.keys { // cells are kept in minute order
		for j := range r.def.Labels {
			labels[j+1].Value = a.str(key[j])
		}
		for m, name := range names {
			samples = samples[:0]
			var v uint64
			var at int64 // the interval's first minute
			for j, c := range r.cells[i] {
				if b := floorDiv(c.minute, per) * per; j == 0 || b != at {
					samples = appendSample(samples, at, slot, v)
					at, v = b, 0
				}
				if r.def.Traffic {
					v += [3]uint64{c.bytes, c.packets, c.flows}[m]
				} else {
					v += c.flows // the status family counts records in flows
				}
			}
			samples = appendSample(samples, at, slot, v)
			if len(samples) > 0 {
				labels[0].Value = name
				emit(labels, samples)
			}
		}
	}
}

// appendSample appends the sample of the interval starting at minute, unless
// its value is zero.
func appendSample(samples []vmclient.Sample, minute int64, slot int, v uint64) []vmclient.Sample {
	if v == 0 {
		return samples
	}
	return append(samples, vmclient.Sample{Timestamp: minute*60_000 + int64(slot), Value: float64(v)})
}
