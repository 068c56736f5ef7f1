// Package aggregate turns flow log records into the pre-aggregated metric
// families of package schema: per label set and per interval (a minute, or
// the five minutes of the families written at that step: cellMinutes), the
// bytes, packets and flows of the records, with bytes and packets spread
// over the minutes each record covers.
//
// An Aggregate is built record by record (Add), merged with others (Merge:
// the objects of a batch are aggregated one by one and merged only when they
// decoded to their end), and finally turned into series (Series), with the
// fill-ins and pair owners of a Resolution, the top-K bound, and the bound
// on the values of the free-word labels (action, reject reason, services:
// MaxUnknownValues) applied. Its output depends only on its records and the
// Resolution, so a batch replayed after a crash produces the very same
// samples.
package aggregate

import (
	"encoding/binary"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/schema"
)

// Context carries what an object's key says of its records: the account
// and region of the flow log (AWS writes them into the key). A record's own
// account-id and region fields take precedence.
type Context struct {
	Account string
	Region  string
}

// absent is the interned id of schema.Absent.
const absent = 0

// interner maps strings to dense ids; id 0 is "-".
type interner struct {
	ids  map[string]uint32
	strs []string
}

func newInterner() interner {
	return interner{ids: map[string]uint32{"-": absent}, strs: []string{"-"}}
}

// id returns the id of b, adding it when new.
func (n *interner) id(b []byte) uint32 {
	if id, ok := n.ids[string(b)]; ok {
		return id
	}
	return n.add(string(b))
}

func (n *interner) idString(s string) uint32 {
	if id, ok := n.ids[s]; ok {
		return id
	}
	return n.add(s)
}

func (n *interner) add(s string) uint32 {
	id := uint32(len(n.strs))
	n.ids[s] = id
	n.strs = append(n.strs, s)
	return id
}

// tuple is the interface context of a record, as string ids: the labels the
// interface family carries before its per-record ones.
type tuple struct {
	account, region, vpc, subnet, az, iface, instance uint32
}

// Keys of the families. A direction, action, reject reason or service of
// 0 is absent; the last three are words of the aggregate's vocabs. Traffic
// paths are stored as their value, 0 when absent (AWS paths start at 1).
type (
	ifaceKey struct {
		tuple  uint32
		action word
		dir    flowlog.Direction
		path   uint8
		reject word
	}
	serviceKey struct {
		tuple    uint32
		src, dst word
		action   word
		dir      flowlog.Direction
	}
	// peerKey is the raw material of the pair family: the peer address of
	// an egress record (its destination) or of an ingress record (its
	// source). Without a direction, both addresses are kept: a and b are
	// the source and the destination. aSvc and bSvc are the AWS services
	// the record names for them (pkt-src-aws-service, pkt-dst-aws-service;
	// only the peer's for a direction), which name a peer no interface
	// owns.
	peerKey struct {
		tuple      uint32
		action     word
		dir        flowlog.Direction
		a, b       uint32
		aSvc, bSvc word
	}
	addrKey struct {
		tuple  uint32
		action word
		addr   uint32
	}
	appKey struct {
		tuple  uint32
		proto  uint16 // protocol + 1; 0 when absent
		port   uint32 // port + 1; 0 when absent
		action word
		dir    flowlog.Direction
	}
	statusKey struct {
		tuple  uint32
		status flowlog.Status
	}
)

// cell holds one interval of one label set (or one interval's part of a
// record): a minute, or the longer step of the families a table feeds
// (table.per); minute is the interval's first.
type cell struct {
	minute                int64 // Unix minute (seconds / 60)
	bytes, packets, flows uint64
}

// table is one family's label sets and their intervals.
type table[K comparable] struct {
	index map[K]uint32
	keys  []K
	cells [][]cell
	size  int   // cells in all: label sets × their intervals
	per   int64 // minutes a cell holds (cellMinutes)
	slab  slab
}

// slab hands out the first cells of label sets from shared arrays: one
// allocation for many label sets (most hold one to three cells).
type slab struct{ free []cell }

// slabCells is the size of a slab's largest arrays; the first is
// firstSlabCells, each next twice the last (an object's aggregate is often
// small, and the collector keeps dozens of them for reuse).
const (
	slabCells      = 4096
	firstSlabCells = 64
)

// clone returns a copy of cs with room for spare more cells; appending
// beyond that moves the cells out of the slab.
func (s *slab) clone(cs []cell, spare int) []cell {
	n := len(cs) + spare
	if n > slabCells/16 {
		return append(make([]cell, 0, n), cs...)
	}
	if cap(s.free)-len(s.free) < n {
		s.free = make([]cell, 0, max(n, min(max(2*cap(s.free), firstSlabCells), slabCells)))
	}
	at := len(s.free)
	s.free = s.free[:at+n]
	out := s.free[at : at+len(cs) : at+n]
	copy(out, cs)
	return out
}

// reset lets the slab's last array be handed out again: call it only when
// no cells it handed out are in use.
func (s *slab) reset() { s.free = s.free[:0] }

func newTable[K comparable](per int64) table[K] {
	return table[K]{index: map[K]uint32{}, per: per}
}

// cellMinutes returns, per family, the minutes a cell of its table holds: the
// shortest step of the family and of those derived from it (the interface
// and pair families keep minutes for their VPC-wide totals), so that a
// cell never straddles one of their samples' intervals. A five-minute cell
// sums the same minute shares the five minute cells would hold, so the
// samples are the same; it takes up to five times fewer cells, which is
// what the batch step's time goes with.
func cellMinutes() [schema.NumFamilies]int64 {
	defs := schema.Families()
	var pers [schema.NumFamilies]int64
	for fam := range pers {
		pers[fam] = int64(defs[fam].Step / time.Minute)
	}
	for fam, f := range defs {
		if f.Derived {
			pers[f.Of] = min(pers[f.Of], pers[fam])
		}
	}
	for fam := range pers {
		pers[fam] = max(pers[fam], 1)
	}
	return pers
}

// coarsen adds the minute shares of a record (consecutive minutes) into
// intervals of per minutes, appended to dst.
func coarsen(dst, shares []cell, per int64) []cell {
	for _, s := range shares {
		s.minute = floorDiv(s.minute, per) * per
		if n := len(dst); n > 0 && dst[n-1].minute == s.minute {
			d := &dst[n-1]
			d.bytes += s.bytes
			d.packets += s.packets
			d.flows += s.flows
			continue
		}
		dst = append(dst, s)
	}
	return dst
}

// add adds the shares of a record to the label set k.
func (t *table[K]) add(k K, shares []cell) {
	i, ok := t.index[k]
	if !ok {
		t.index[k] = uint32(len(t.keys))
		t.keys = append(t.keys, k)
		t.cells = append(t.cells, t.slab.clone(shares, 1)) // a record's shares are in time order, one an interval
		t.size += len(shares)
		return
	}
	n := len(t.cells[i])
	t.cells[i] = addShares(t.cells[i], shares)
	t.size += len(t.cells[i]) - n
}

// addShares adds a record's shares (consecutive minutes) into cells: the
// first is looked for from the end, the next ones follow it.
func addShares(cells []cell, shares []cell) []cell {
	if len(shares) == 0 {
		return cells
	}
	j := len(cells) - 1
	for j >= 0 && cells[j].minute > shares[0].minute {
		j--
	}
	for _, s := range shares {
		for j >= 0 && j < len(cells) && cells[j].minute < s.minute {
			j++
		}
		if j >= 0 && j < len(cells) && cells[j].minute == s.minute {
			c := &cells[j]
			c.bytes += s.bytes
			c.packets += s.packets
			c.flows += s.flows
			continue
		}
		// Not there: insert it before j (or append).
		j = max(j, 0)
		cells = append(cells, cell{})
		copy(cells[j+1:], cells[j:])
		cells[j] = s
	}
	return cells
}

// addCell adds c into the cell of its minute, keeping cells ordered by
// minute. Records come mostly in time order, so the minute is looked for
// from the end and a new one is mostly appended.
func addCell(cells []cell, c cell) []cell {
	j := len(cells) - 1
	for j >= 0 && cells[j].minute > c.minute {
		j--
	}
	if j >= 0 && cells[j].minute == c.minute {
		d := &cells[j]
		d.bytes += c.bytes
		d.packets += c.packets
		d.flows += c.flows
		return cells
	}
	cells = append(cells, cell{})
	copy(cells[j+2:], cells[j+1:])
	cells[j+1] = c
	return cells
}

func (t *table[K]) reset(per int64) {
	clear(t.index)
	t.keys = t.keys[:0]
	t.cells = t.cells[:0]
	t.size = 0
	t.per = per
	t.slab.reset()
}

// Meta is what a record says of its interface: filled into the records of
// the same interface that lack it.
type Meta struct {
	VPC, Subnet, AZ, Instance string
}

// Aggregate holds the families of a set of records.
type Aggregate struct {
	strs   interner
	tuples map[tuple]uint32
	tupleV []tuple
	// rawTuples maps the raw text of a record's tuple fields (tupleOf)
	// to its tuple.
	rawTuples map[string]uint32
	rawTuple  []byte
	// tupleEnd is the latest record end (Unix seconds) of each tuple,
	// tupleRecs its records.
	tupleEnd  []int64
	tupleRecs []int64

	iface   table[ifaceKey]
	service table[serviceKey]
	peer    table[peerKey]
	src     table[addrKey]
	dst     table[addrKey]
	app     table[appKey]
	status  table[statusKey]

	// Learned from the records: the metadata of interfaces, and the
	// interface each address belongs to (the source of an egress record,
	// the destination of an ingress one).
	meta   map[uint32]metaIDs  // by interface string id
	owners map[ownerKey]uint32 // (VPC, address) → interface id

	// The values of the bounded labels: actions (a known one's word is
	// its flowlog.ActionValue), reject reasons, and the AWS services of
	// src_service and dst_service (one vocabulary for both).
	actions, rejects, services vocab

	Records   int64 // records added (any log status)
	OKRecords int64 // traffic records added

	// shares are a record's minute shares, coarse the same in intervals
	// of coarsePer minutes: the tables with longer cells (table.per) all
	// take the same.
	shares, coarse []cell
	coarsePer      int64
	cellPer        [schema.NumFamilies]int64 // cellMinutes, computed once
	one            [1]cell                   // the status family's share
}

type metaIDs struct{ vpc, subnet, az, instance uint32 }

// ownerKey is an address within a VPC: private ranges repeat across VPCs
// (every default VPC is 172.31.0.0/16), so an address alone does not name
// an interface.
type ownerKey struct{ vpc, addr uint32 }

// New returns an empty Aggregate.
func New() *Aggregate {
	a := &Aggregate{}
	a.init()
	return a
}

func (a *Aggregate) init() {
	a.strs = newInterner()
	a.tuples = map[tuple]uint32{}
	a.rawTuples = map[string]uint32{}
	a.cellPer = cellMinutes()
	a.newTables()
	a.meta = map[uint32]metaIDs{}
	a.owners = map[ownerKey]uint32{}
	a.actions, a.rejects, a.services = newVocab(knownActions()), newVocab(knownRejectReasons), newVocab(knownServices)
}

// FreeTables lets the memory of the aggregate's label sets and cells go,
// keeping its strings, which an Output built from it still uses: call it
// once the Output is built, when only the Output is used (the aggregate
// then holds no records: Reset before adding more).
func (a *Aggregate) FreeTables() {
	a.newTables()
	a.rawTuples = map[string]uint32{}
	a.owners = map[ownerKey]uint32{}
}

// newTables gives the aggregate empty tables, at their cell lengths.
func (a *Aggregate) newTables() {
	per := &a.cellPer
	a.iface, a.service, a.peer = newTable[ifaceKey](per[schema.Interface]), newTable[serviceKey](per[schema.Service]), newTable[peerKey](per[schema.Pair])
	a.src, a.dst, a.app = newTable[addrKey](per[schema.Src]), newTable[addrKey](per[schema.Dst]), newTable[appKey](per[schema.App])
	a.status = newTable[statusKey](per[schema.Status])
	a.setCoarsePer()
}

// Reset empties the Aggregate, keeping its memory for reuse.
func (a *Aggregate) Reset() {
	clear(a.strs.ids)
	a.strs.ids["-"] = absent
	a.strs.strs = a.strs.strs[:1]
	clear(a.tuples)
	clear(a.rawTuples)
	a.tupleV = a.tupleV[:0]
	a.tupleEnd = a.tupleEnd[:0]
	a.tupleRecs = a.tupleRecs[:0]
	per := &a.cellPer
	a.iface.reset(per[schema.Interface])
	a.service.reset(per[schema.Service])
	a.peer.reset(per[schema.Pair])
	a.src.reset(per[schema.Src])
	a.dst.reset(per[schema.Dst])
	a.app.reset(per[schema.App])
	a.status.reset(per[schema.Status])
	a.setCoarsePer()
	clear(a.meta)
	clear(a.owners)
	a.actions.reset()
	a.rejects.reset()
	a.services.reset()
	a.Records, a.OKRecords = 0, 0
}

// pers returns the cell lengths of the tables, in minutes.
func (a *Aggregate) pers() []int64 {
	return []int64{a.iface.per, a.service.per, a.peer.per, a.src.per, a.dst.per, a.app.per, a.status.per}
}

// setCoarsePer sets coarsePer from the tables' cell lengths: every table
// holds minutes or one longer interval.
func (a *Aggregate) setCoarsePer() {
	a.coarsePer = 1
	for _, per := range a.pers() {
		if per > 1 && a.coarsePer > 1 && per != a.coarsePer {
			panic("aggregate: tables of more than one cell length beyond a minute")
		}
		a.coarsePer = max(a.coarsePer, per)
	}
}

// Minutely makes every table of an empty Aggregate keep minute cells: for
// a batch recorded before the families had steps, whose replay writes
// every family at minutes (Fold.LegacyTopK). Reset undoes it.
func (a *Aggregate) Minutely() {
	if a.Cells() != 0 {
		panic("aggregate: Minutely on an aggregate that holds records")
	}
	for _, per := range []*int64{&a.iface.per, &a.service.per, &a.peer.per, &a.src.per, &a.dst.per, &a.app.per, &a.status.per} {
		*per = 1
	}
	a.coarsePer = 1
}

// sharesFor returns the shares of the record being added for a table of
// per-minute cells: the minute shares, or the coarse ones.
func (a *Aggregate) sharesFor(per int64) []cell {
	if per == 1 {
		return a.shares
	}
	return a.coarse
}

// action returns the word of a traffic record's action: its ActionValue
// when known.
func (a *Aggregate) action(r *flowlog.Record) word {
	if r.Action != flowlog.ActionOther {
		return word(r.Action)
	}
	return a.actions.id(r.Text[flowlog.Action])
}

// text returns the id of field f's text, or absent.
func (a *Aggregate) text(r *flowlog.Record, f flowlog.Field) uint32 {
	if v, ok := r.Get(f); ok {
		return a.strs.id(v)
	}
	return absent
}

// tupleFields are the fields of a record's interface context (tuple).
var tupleFields = [...]flowlog.Field{flowlog.AccountID, flowlog.Region, flowlog.VPCID, flowlog.SubnetID, flowlog.AZID, flowlog.InterfaceID, flowlog.InstanceID}

// tupleOf returns the interned interface context of r. The raw text of
// its fields (and of ctx) is looked up first, in one map lookup: records
// of an interface repeat it, and interning each field costs a lookup of
// its own.
func (a *Aggregate) tupleOf(r *flowlog.Record, ctx *Context) uint32 {
	// Each value length-prefixed (length + 1; 0 when absent), so that no
	// two contexts share a text whatever their values hold.
	raw := a.rawTuple[:0]
	for _, f := range tupleFields {
		v, ok := r.Get(f)
		if !ok {
			raw = append(raw, 0)
			continue
		}
		raw = binary.AppendUvarint(raw, uint64(len(v))+1)
		raw = append(raw, v...)
	}
	raw = binary.AppendUvarint(raw, uint64(len(ctx.Account)))
	raw = append(raw, ctx.Account...)
	raw = binary.AppendUvarint(raw, uint64(len(ctx.Region)))
	raw = append(raw, ctx.Region...)
	a.rawTuple = raw
	if id, ok := a.rawTuples[string(raw)]; ok {
		return id
	}
	t := tuple{
		account:  a.text(r, flowlog.AccountID),
		region:   a.text(r, flowlog.Region),
		vpc:      a.text(r, flowlog.VPCID),
		subnet:   a.text(r, flowlog.SubnetID),
		az:       a.text(r, flowlog.AZID),
		iface:    a.text(r, flowlog.InterfaceID),
		instance: a.text(r, flowlog.InstanceID),
	}
	if t.account == absent && ctx.Account != "" {
		t.account = a.strs.idString(ctx.Account)
	}
	if t.region == absent && ctx.Region != "" {
		t.region = a.strs.idString(ctx.Region)
	}
	id, added := a.addTuple(t)
	if added {
		a.learnMeta(t)
	}
	a.rawTuples[string(raw)] = id
	return id
}

// addTuple returns the id of t, and whether it was added now.
func (a *Aggregate) addTuple(t tuple) (uint32, bool) {
	if id, ok := a.tuples[t]; ok {
		return id, false
	}
	id := uint32(len(a.tupleV))
	a.tuples[t] = id
	a.tupleV = append(a.tupleV, t)
	a.tupleEnd = append(a.tupleEnd, 0)
	a.tupleRecs = append(a.tupleRecs, 0)
	return id, true
}

// learnMeta remembers what a new interface context says of its interface.
func (a *Aggregate) learnMeta(t tuple) {
	if t.iface == absent || (t.vpc == absent && t.subnet == absent && t.az == absent && t.instance == absent) {
		return
	}
	m := a.meta[t.iface]
	m.vpc = pick(t.vpc, m.vpc)
	m.subnet = pick(t.subnet, m.subnet)
	m.az = pick(t.az, m.az)
	m.instance = pick(t.instance, m.instance)
	a.meta[t.iface] = m
}

// pick returns v unless it is absent.
func pick(v, old uint32) uint32 {
	if v == absent {
		return old
	}
	return v
}

// Add adds one record, whose object's key says ctx.
func (a *Aggregate) Add(r *flowlog.Record, ctx *Context) {
	a.Records++
	tup := a.tupleOf(r, ctx)
	a.tupleEnd[tup] = max(a.tupleEnd[tup], r.End)
	a.tupleRecs[tup]++
	var start int64
	if r.Present.Has(flowlog.Start) {
		start = r.Start
	}
	if r.LogStatus != flowlog.StatusOK {
		m := floorDiv(start, 60)
		a.one[0] = cell{minute: floorDiv(m, a.status.per) * a.status.per, flows: 1}
		a.status.add(statusKey{tup, r.LogStatus}, a.one[:])
		return
	}
	a.OKRecords++
	a.shares = split(a.shares[:0], start, r.End, r.Bytes, r.Packets)
	if a.coarsePer > 1 {
		a.coarse = coarsen(a.coarse[:0], a.shares, a.coarsePer)
	}
	a.one[0] = a.shares[0]
	a.one[0].minute = floorDiv(a.one[0].minute, a.status.per) * a.status.per
	a.status.add(statusKey{tup, r.LogStatus}, a.one[:])

	var path uint8
	if r.Present.Has(flowlog.TrafficPath) {
		path = r.TrafficPath
	}
	act := a.action(r)
	a.iface.add(ifaceKey{tup, act, r.FlowDirection, path, a.rejects.field(r, flowlog.RejectReason)}, a.sharesFor(a.iface.per))
	srcSvc, dstSvc := a.services.field(r, flowlog.PktSrcAWSService), a.services.field(r, flowlog.PktDstAWSService)
	a.service.add(serviceKey{tup, srcSvc, dstSvc, act, r.FlowDirection}, a.sharesFor(a.service.per))

	src, dst := a.text(r, flowlog.SrcAddr), a.text(r, flowlog.DstAddr)
	a.src.add(addrKey{tup, act, src}, a.sharesFor(a.src.per))
	a.dst.add(addrKey{tup, act, dst}, a.sharesFor(a.dst.per))

	t := a.tupleV[tup]
	switch r.FlowDirection {
	case flowlog.Egress:
		a.peer.add(peerKey{tup, act, flowlog.Egress, dst, absent, dstSvc, 0}, a.sharesFor(a.peer.per))
		if src != absent && t.iface != absent {
			a.owners[ownerKey{t.vpc, src}] = t.iface
		}
	case flowlog.Ingress:
		a.peer.add(peerKey{tup, act, flowlog.Ingress, src, absent, srcSvc, 0}, a.sharesFor(a.peer.per))
		if dst != absent && t.iface != absent {
			a.owners[ownerKey{t.vpc, dst}] = t.iface
		}
	default:
		a.peer.add(peerKey{tup, act, flowlog.DirectionNone, src, dst, srcSvc, dstSvc}, a.sharesFor(a.peer.per))
	}

	k := appKey{tuple: tup, action: act, dir: r.FlowDirection}
	if r.Present.Has(flowlog.Protocol) {
		k.proto = uint16(r.Protocol) + 1
	}
	sp, dp := r.Present.Has(flowlog.SrcPort), r.Present.Has(flowlog.DstPort)
	switch {
	case sp && dp:
		k.port = uint32(min(r.SrcPort, r.DstPort)) + 1
	case sp:
		k.port = uint32(r.SrcPort) + 1
	case dp:
		k.port = uint32(r.DstPort) + 1
	}
	a.app.add(k, a.sharesFor(a.app.per))
}

// Cells returns the size of the aggregate: its cells, one per label set of
// a family (before resolution and top-K folding) and interval of its table
// (a minute or five: cellMinutes) that label set has records in, over
// every family the records are counted in. The memory
// an aggregate takes, and the samples its batch writes, grow with it (see
// docs/pipeline.md, Memory); it depends only on the records, so a bound on
// it decides the same way every time.
func (a *Aggregate) Cells() int {
	return a.iface.size + a.service.size + a.peer.size + a.src.size + a.dst.size + a.app.size + a.status.size
}

// str returns the string of an id.
func (a *Aggregate) str(id uint32) string { return a.strs.strs[id] }

// Merge adds the records of o (aggregated on their own) to a. o is left as
// it was.
func (a *Aggregate) Merge(o *Aggregate) {
	if !slices.Equal(a.pers(), o.pers()) {
		panic("aggregate: Merge of aggregates with cells of other lengths (Minutely)")
	}
	a.Records += o.Records
	a.OKRecords += o.OKRecords
	// Translate o's string and tuple ids into a's.
	strMap := make([]uint32, len(o.strs.strs))
	for i, s := range o.strs.strs {
		strMap[i] = a.strs.idString(s)
	}
	tupMap := make([]uint32, len(o.tupleV))
	for i, t := range o.tupleV {
		nt := tuple{strMap[t.account], strMap[t.region], strMap[t.vpc], strMap[t.subnet], strMap[t.az], strMap[t.iface], strMap[t.instance]}
		id, _ := a.addTuple(nt)
		a.tupleEnd[id] = max(a.tupleEnd[id], o.tupleEnd[i])
		a.tupleRecs[id] += o.tupleRecs[i]
		tupMap[i] = id
	}
	for iface, m := range o.meta {
		cur := a.meta[strMap[iface]]
		cur.vpc = pick(strMap[m.vpc], cur.vpc)
		cur.subnet = pick(strMap[m.subnet], cur.subnet)
		cur.az = pick(strMap[m.az], cur.az)
		cur.instance = pick(strMap[m.instance], cur.instance)
		a.meta[strMap[iface]] = cur
	}
	for k, iface := range o.owners {
		a.owners[ownerKey{strMap[k.vpc], strMap[k.addr]}] = strMap[iface]
	}
	// o's words, its unknown values added in the order o met them.
	actMap, rejectMap, serviceMap := a.actions.mapFrom(&o.actions), a.rejects.mapFrom(&o.rejects), a.services.mapFrom(&o.services)
	act := func(x word) word { return actMap[x] }
	mergeTable(&a.iface, &o.iface, func(k ifaceKey) ifaceKey {
		return ifaceKey{tupMap[k.tuple], act(k.action), k.dir, k.path, rejectMap[k.reject]}
	})
	mergeTable(&a.service, &o.service, func(k serviceKey) serviceKey {
		return serviceKey{tupMap[k.tuple], serviceMap[k.src], serviceMap[k.dst], act(k.action), k.dir}
	})
	mergeTable(&a.peer, &o.peer, func(k peerKey) peerKey {
		return peerKey{tupMap[k.tuple], act(k.action), k.dir, strMap[k.a], strMap[k.b], serviceMap[k.aSvc], serviceMap[k.bSvc]}
	})
	addr := func(k addrKey) addrKey { return addrKey{tupMap[k.tuple], act(k.action), strMap[k.addr]} }
	mergeTable(&a.src, &o.src, addr)
	mergeTable(&a.dst, &o.dst, addr)
	mergeTable(&a.app, &o.app, func(k appKey) appKey {
		k.tuple = tupMap[k.tuple]
		k.action = act(k.action)
		return k
	})
	mergeTable(&a.status, &o.status, func(k statusKey) statusKey { return statusKey{tupMap[k.tuple], k.status} })
}

func mergeTable[K comparable](dst, src *table[K], mapKey func(K) K) {
	for i, k := range src.keys {
		nk := mapKey(k)
		j, ok := dst.index[nk]
		if !ok {
			dst.index[nk] = uint32(len(dst.keys))
			dst.keys = append(dst.keys, nk)
			dst.cells = append(dst.cells, dst.slab.clone(src.cells[i], 1)) // src is reused: copy
			dst.size += len(src.cells[i])
			continue
		}
		n := len(dst.cells[j])
		dst.cells[j] = mergeCells(dst.cells[j], src.cells[i])
		dst.size += len(dst.cells[j]) - n
	}
}

// mergeCells adds the ordered cells of src into the ordered cells of dst
// (one cell a minute in each), in time linear in both: many label sets
// of a batch may merge into one (the derived families), each over the
// batch's minutes.
func mergeCells(dst, src []cell) []cell {
	if len(src) == 0 {
		return dst
	}
	if len(dst) == 0 || src[0].minute > dst[len(dst)-1].minute {
		return append(dst, src...) // the usual case: a later object
	}
	// Count the minutes of src that dst lacks, then merge from the ends
	// into dst grown by that many.
	missing := 0
	for i, j := 0, 0; j < len(src); {
		switch {
		case i < len(dst) && dst[i].minute < src[j].minute:
			i++
		case i < len(dst) && dst[i].minute == src[j].minute:
			i, j = i+1, j+1
		default:
			missing, j = missing+1, j+1
		}
	}
	i, j := len(dst)-1, len(src)-1
	dst = slices.Grow(dst, missing)[:len(dst)+missing]
	for k := len(dst) - 1; j >= 0; k-- {
		switch {
		case i >= 0 && dst[i].minute > src[j].minute:
			dst[k], i = dst[i], i-1
		case i >= 0 && dst[i].minute == src[j].minute:
			c := dst[i]
			c.bytes += src[j].bytes
			c.packets += src[j].packets
			c.flows += src[j].flows
			dst[k], i, j = c, i-1, j-1
		default:
			dst[k], j = src[j], j-1
		}
	}
	return dst // dst[:k+1] was in place already
}

// Exporter is a VPC whose flow log the aggregate's records came from
// (each VPC is an exporter, as a router is for NetFlow).
type Exporter struct {
	Account, Region, VPC string
	// LastSeen is the latest end (Unix seconds) of the VPC's records.
	LastSeen int64
	// Records counts the VPC's records (any log status).
	Records int64
}

// Key returns the exporter's ExporterKey.
func (e Exporter) Key() string { return ExporterKey(e.Account, e.Region, e.VPC) }

// ExporterKey names an exporter (a VPC of an account and region) in
// Resolution.Drop: "account region vpc", each absent value "-".
func ExporterKey(account, region, vpc string) string { return account + " " + region + " " + vpc }

// Exporters returns the VPCs of the aggregate's records (as the records
// and their objects' keys name them, before any Resolution), in the order
// the aggregate first met them, with the latest record end and the
// records of each; records without a VPC count under "-".
func (a *Aggregate) Exporters() []Exporter {
	type vpcKey struct{ account, region, vpc uint32 }
	idx := map[vpcKey]int{}
	var out []Exporter
	for i, t := range a.tupleV {
		k := vpcKey{t.account, t.region, t.vpc}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, Exporter{Account: a.str(t.account), Region: a.str(t.region), VPC: a.str(t.vpc)})
		}
		out[j].LastSeen = max(out[j].LastSeen, a.tupleEnd[i])
		out[j].Records += a.tupleRecs[i]
	}
	return out
}

// Minutes returns the minutes the aggregate writes samples at, ascending:
// the minutes of its traffic records (the interface table's cells), the
// intervals of the status table's cells, and the first minute of every
// longer step interval (schema.Family.Step) they fall in. (A record
// without traffic, NODATA or SKIPDATA, counts only in the status family,
// at its five-minute step: with every table in minutes, Minutely, its own
// minute is named too, as before the families had steps.) The ledger gives a batch a
// slot free in each (ledger.BeginBatch): two batches writing to one
// five-minute interval share its first minute, so their samples never
// share a timestamp.
func (a *Aggregate) Minutes() []int64 {
	seen := map[int64]bool{}
	collect := func(cells [][]cell) {
		for _, cs := range cells {
			for _, c := range cs {
				seen[c.minute] = true
			}
		}
	}
	collect(a.iface.cells)
	collect(a.status.cells)
	steps := map[int64]bool{}
	for _, f := range schema.Families() {
		if per := int64(f.Step / time.Minute); per > 1 {
			steps[per] = true
		}
	}
	for m := range maps.Clone(seen) {
		for per := range steps {
			seen[floorDiv(m, per)*per] = true
		}
	}
	out := make([]int64, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// uintLabel formats a stored "value + 1" (0 = absent) label.
func uintLabel(v uint32) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatUint(uint64(v-1), 10)
}
