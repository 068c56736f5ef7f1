package aggregate

import (
	"cmp"
	"slices"
	"strings"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/schema"
	"github.com/vpcflow/vpcflow/collector/storage"
)

// Resolution says what a batch's records do not: the metadata of interfaces
// whose records lack some, and which interface an address belongs to. It is
// decided once per batch, from the batch's own records and from what earlier
// batches taught, and recorded with the batch, so that a replay resolves
// exactly the same way.
type Resolution struct {
	Meta   map[string]Meta   `json:"meta,omitempty"`   // interface id → metadata
	Owners map[string]string `json:"owners,omitempty"` // address → interface id
}

// Learned returns what the aggregate's records say of interfaces (their
// VPC, subnet, AZ, instance) and of addresses (the interface that sent
// egress records from them or received ingress records at them).
func (a *Aggregate) Learned() (meta map[string]Meta, owners map[string]string) {
	meta = make(map[string]Meta, len(a.meta))
	for iface, m := range a.meta {
		meta[a.str(iface)] = Meta{VPC: a.str(m.vpc), Subnet: a.str(m.subnet), AZ: a.str(m.az), Instance: a.str(m.instance)}
	}
	owners = make(map[string]string, len(a.owners))
	for addr, iface := range a.owners {
		owners[a.str(addr)] = a.str(iface)
	}
	return meta, owners
}

// Resolve builds the Resolution of the aggregate from what is known: meta
// and owner look up an interface's metadata and an address's owner. Only
// what the aggregate needs is kept: metadata of interfaces some of whose
// records lack a field, owners of peer addresses.
func (a *Aggregate) Resolve(meta func(iface string) (Meta, bool), owner func(addr string) (string, bool)) Resolution {
	res := Resolution{Meta: map[string]Meta{}, Owners: map[string]string{}}
	for _, t := range a.tupleV {
		if t.iface == absent || (t.vpc != absent && t.subnet != absent && t.az != absent && t.instance != absent) {
			continue
		}
		if m, ok := meta(a.str(t.iface)); ok {
			res.Meta[a.str(t.iface)] = m
		}
	}
	look := func(addr uint32) {
		if addr == absent {
			return
		}
		s := a.str(addr)
		if _, done := res.Owners[s]; done {
			return
		}
		if iface, ok := owner(s); ok {
			res.Owners[s] = iface
		}
	}
	for _, k := range a.peer.keys {
		look(k.a)
		look(k.b)
	}
	return res
}

// out is one label set of a family's output.
type out struct {
	labels []string
	cells  []cell
}

// family collects a family's output label sets.
type family struct {
	def   schema.Family
	index map[string]int
	rows  []out
	key   strings.Builder
}

func newFamily(def schema.Family) *family { return &family{def: def, index: map[string]int{}} }

// add adds cells to the label set labels (values in the family's label
// order).
func (f *family) add(labels []string, cells []cell) {
	f.key.Reset()
	for _, l := range labels {
		f.key.WriteString(l)
		f.key.WriteByte(0xff)
	}
	k := f.key.String()
	i, ok := f.index[k]
	if !ok {
		i = len(f.rows)
		f.index[k] = i
		f.rows = append(f.rows, out{labels: slices.Clone(labels)})
	}
	for _, c := range cells {
		f.rows[i].cells = addCell(f.rows[i].cells, c)
	}
}

// resolved is a tuple's labels with the Resolution's metadata filled in.
type resolved struct {
	account, region, vpc, subnet, az, iface, instance string
}

func (a *Aggregate) resolveTuple(t tuple, res *Resolution) resolved {
	r := resolved{a.str(t.account), a.str(t.region), a.str(t.vpc), a.str(t.subnet), a.str(t.az), a.str(t.iface), a.str(t.instance)}
	if m, ok := res.Meta[r.iface]; ok {
		fill := func(v *string, with string) {
			if *v == schema.Absent && with != "" {
				*v = with
			}
		}
		fill(&r.vpc, m.VPC)
		fill(&r.subnet, m.Subnet)
		fill(&r.az, m.AZ)
		fill(&r.instance, m.Instance)
	}
	return r
}

// Series returns the aggregate as samples: per metric and label set, one
// sample per minute at minute_start + slot milliseconds, valued the minute's
// total. Families with a top-K bound keep, per group and minute, the topK
// largest label sets (by bytes, then packets, flows and labels) and fold the
// rest into label sets whose non-group labels are "other". Zero values are
// not written.
func (a *Aggregate) Series(res *Resolution, slot int, topK int) []storage.Series {
	defs := schema.Families()
	tuples := make([]resolved, len(a.tupleV))
	for i, t := range a.tupleV {
		tuples[i] = a.resolveTuple(t, res)
	}
	owner := func(addr uint32) string {
		if iface, ok := res.Owners[a.str(addr)]; ok {
			return iface
		}
		return schema.Absent
	}
	fams := make([]*family, schema.NumFamilies)
	for i := range fams {
		fams[i] = newFamily(defs[i])
	}
	labels := make([]string, 0, 16)
	base := func(t resolved) []string { return append(labels[:0], t.account, t.region, t.vpc) }

	for i, k := range a.iface.keys {
		t := tuples[k.tuple]
		path := schema.Absent
		if k.path != 0 {
			path = uintLabel(uint32(k.path) + 1)
		}
		fams[schema.Interface].add(append(base(t), t.subnet, t.az, t.iface, t.instance, k.action.String(), k.dir.String(), path, a.str(k.reject)), a.iface.cells[i])
	}
	for i, k := range a.service.keys {
		t := tuples[k.tuple]
		fams[schema.Service].add(append(base(t), a.str(k.src), a.str(k.dst), k.action.String(), k.dir.String()), a.service.cells[i])
	}
	for i, k := range a.peer.keys {
		t := tuples[k.tuple]
		var src, dst string
		switch {
		case k.dir == flowlog.Egress || (k.dir == flowlog.DirectionNone && owner(k.a) == t.iface && t.iface != schema.Absent):
			peer := k.a
			if k.dir == flowlog.DirectionNone {
				peer = k.b
			}
			src, dst = t.iface, owner(peer)
		case owner(k.a) != schema.Absent:
			continue // from a known interface: its egress twin counts
		default:
			src, dst = schema.Absent, t.iface
		}
		fams[schema.Pair].add(append(base(t), src, dst, k.action.String()), a.peer.cells[i])
	}
	for i, k := range a.src.keys {
		t := tuples[k.tuple]
		fams[schema.Src].add(append(base(t), t.iface, k.action.String(), a.str(k.addr)), a.src.cells[i])
	}
	for i, k := range a.dst.keys {
		t := tuples[k.tuple]
		fams[schema.Dst].add(append(base(t), t.iface, k.action.String(), a.str(k.addr)), a.dst.cells[i])
	}
	for i, k := range a.app.keys {
		t := tuples[k.tuple]
		fams[schema.App].add(append(base(t), t.iface, uintLabel(uint32(k.proto)), uintLabel(k.port), k.action.String(), k.dir.String()), a.app.cells[i])
	}
	for i, k := range a.status.keys {
		t := tuples[k.tuple]
		fams[schema.Status].add(append(base(t), t.iface, k.status.String()), a.status.cells[i])
	}

	var series []storage.Series
	for _, f := range fams {
		if f.def.TopK && topK > 0 {
			f.foldTopK(topK)
		}
		series = f.emit(series, slot)
	}
	return series
}

// foldTopK keeps, per group of labels and minute, the k largest label sets
// and folds the others into one whose non-group labels are "other".
func (f *family) foldTopK(k int) {
	inGroup := make([]bool, len(f.def.Labels))
	for i, l := range f.def.Labels {
		inGroup[i] = slices.Contains(f.def.Group, l)
	}
	type member struct {
		row  int
		cell int
	}
	groups := map[string][]member{}
	var key strings.Builder
	for r, row := range f.rows {
		key.Reset()
		for i, l := range row.labels {
			if inGroup[i] {
				key.WriteString(l)
				key.WriteByte(0xff)
			}
		}
		g := key.String()
		for c, cl := range row.cells {
			mk := g + string(rune(0)) + minuteKey(cl.minute)
			groups[mk] = append(groups[mk], member{r, c})
		}
	}
	keys := make([]string, 0, len(groups))
	for g, ms := range groups {
		if len(ms) > k {
			keys = append(keys, g)
		}
	}
	slices.Sort(keys) // fold in a fixed order: the output must not depend on map order
	for _, g := range keys {
		ms := groups[g]
		slices.SortFunc(ms, func(x, y member) int {
			cx, cy := f.rows[x.row].cells[x.cell], f.rows[y.row].cells[y.cell]
			if c := cmp.Compare(cy.bytes, cx.bytes); c != 0 {
				return c
			}
			if c := cmp.Compare(cy.packets, cx.packets); c != 0 {
				return c
			}
			if c := cmp.Compare(cy.flows, cx.flows); c != 0 {
				return c
			}
			return slices.Compare(f.rows[x.row].labels, f.rows[y.row].labels)
		})
		var folded cell
		for _, m := range ms[k:] {
			c := &f.rows[m.row].cells[m.cell]
			folded.minute = c.minute
			folded.bytes += c.bytes
			folded.packets += c.packets
			folded.flows += c.flows
			*c = cell{minute: c.minute} // emptied: zero values are not written
		}
		other := slices.Clone(f.rows[ms[0].row].labels)
		for i := range other {
			if !inGroup[i] {
				other[i] = schema.Other
			}
		}
		f.add(other, []cell{folded})
	}
}

// minuteKey renders a minute for a map key.
func minuteKey(m int64) string {
	var b [8]byte
	for i := range b {
		b[i] = byte(m >> (8 * i))
	}
	return string(b[:])
}

// emit appends the family's series: one per metric and label set, samples
// ordered by time, zero values left out.
func (f *family) emit(series []storage.Series, slot int) []storage.Series {
	names := f.def.MetricNames()
	for _, row := range f.rows { // cells are kept in minute order
		for m, name := range names {
			var samples []storage.Sample
			for _, c := range row.cells {
				v := c.flows // the status family counts records in flows
				if f.def.Traffic {
					v = [3]uint64{c.bytes, c.packets, c.flows}[m]
				}
				if v == 0 {
					continue
				}
				samples = append(samples, storage.Sample{Timestamp: c.minute*60_000 + int64(slot), Value: float64(v)})
			}
			if len(samples) == 0 {
				continue
			}
			labels := make([]storage.Label, 0, len(row.labels)+1)
			labels = append(labels, storage.Label{Name: "__name__", Value: name})
			for i, l := range f.def.Labels {
				labels = append(labels, storage.Label{Name: l, Value: row.labels[i]})
			}
			series = append(series, storage.Series{Labels: labels, Samples: samples})
		}
	}
	return series
}
