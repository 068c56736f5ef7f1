// Package groundtruth computes, from generated flow log records and without
// the collector's own aggregation code, the totals every metric family must
// hold once the records are stored: the yardstick of the end-to-end and
// fault tests.
package groundtruth

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
)

// Truth holds the families' totals over the whole time range, computed
// directly from records the way docs/pipeline.md (Metric families) and
// schema.Families define them.
type Truth struct {
	// Sums[metric name][label values joined by "|", in the family's label
	// order] = total, for every family: the derived ones (such as
	// vpcflow_total) hold the projections of the family they sum, the pair
	// family and its derived one once Finish has run.
	Sums map[string]map[string]float64
	// Hourly[metric name]["label values@Unix hour"] = total, for the
	// metrics of the top-K families: their keep sets are per group and
	// hour, so a label set kept in an hour holds exactly these amounts.
	// Amounts are spread over the hours a record covers as the collector
	// spreads them over minutes (in proportion, cumulative shares rounded
	// down; the flow to the hour of the start).
	Hourly map[string]map[string]float64
	// records kept for the pair family, which needs every address's owner
	// first.
	peers []peerRecord
	// Conflicts lists addresses two interfaces claim: the pair family is
	// then not well defined, and the data generator is at fault.
	Conflicts []string
	// Owners, once Finish has run, maps [VPC, address] to the interface
	// the address belongs to, over every record: what an inventory of the
	// interfaces' private addresses (the entity sync) would say.
	Owners map[[2]string]string
}

type peerRecord struct {
	account, region, vpc, iface, action string
	dir                                 flowlog.Direction
	src, dst                            string
	srcSvc, dstSvc                      string // pkt-src-aws-service, pkt-dst-aws-service
	bytes, packets                      uint64
	start, end                          int64
}

// New returns an empty Truth.
func New() *Truth {
	return &Truth{Sums: map[string]map[string]float64{}, Hourly: map[string]map[string]float64{}}
}

// hourly names the metrics of the top-K families.
var hourly = func() map[string]bool {
	out := map[string]bool{}
	for _, f := range schema.Families() {
		if f.TopK {
			for _, name := range f.MetricNames() {
				out[name] = true
			}
		}
	}
	return out
}()

// hourShares spreads v over the hours [start, end) covers, in proportion:
// the share up to each hour's end is floor(v × covered / (end − start)),
// as the collector's minute shares add up to at that minute. A record
// with end ≤ start, or within one hour, goes whole to the hour of start.
func hourShares(start, end int64, v uint64) map[int64]uint64 {
	first := floorHour(start)
	if end <= start || floorHour(end-1) == first {
		return map[int64]uint64{first: v}
	}
	out := map[int64]uint64{}
	d := new(big.Int).SetInt64(end - start)
	var prev uint64
	for h := first; h <= floorHour(end-1); h++ {
		covered := min(end, (h+1)*3600) - start
		share := new(big.Int).Mul(new(big.Int).SetUint64(v), big.NewInt(covered))
		cum := share.Div(share, d).Uint64()
		out[h] = cum - prev
		prev = cum
	}
	return out
}

func floorHour(sec int64) int64 {
	h := sec / 3600
	if sec%3600 != 0 && sec < 0 {
		h--
	}
	return h
}

// addHourly adds a record's amounts, spread over its hours, to a label set
// of a top-K family's metrics (and to the derived metrics summing them).
func (t *Truth) addHourly(family string, labels []string, start, end int64, bytes, packets uint64) {
	key := func(ls []string, h int64) string { return strings.Join(ls, "|") + "@" + strconv.FormatInt(h, 10) }
	put := func(metric string, h int64, v float64) {
		if !hourly[metric] {
			return
		}
		m := t.Hourly[metric]
		if m == nil {
			m = map[string]float64{}
			t.Hourly[metric] = m
		}
		m[key(labels, h)] += v
		for _, d := range derivations[metric] {
			if !hourly[d.metric] {
				continue
			}
			sel := make([]string, len(d.index))
			for i, j := range d.index {
				sel[i] = labels[j]
			}
			dm := t.Hourly[d.metric]
			if dm == nil {
				dm = map[string]float64{}
				t.Hourly[d.metric] = dm
			}
			dm[key(sel, h)] += v
		}
	}
	for h, v := range hourShares(start, end, bytes) {
		put(family+schema.SuffixBytes, h, float64(v))
	}
	for h, v := range hourShares(start, end, packets) {
		put(family+schema.SuffixPackets, h, float64(v))
	}
	put(family+schema.SuffixFlows, floorHour(start), 1)
}

// derivation is a derived family's metric that sums another metric: the
// positions of its labels among that metric's.
type derivation struct {
	metric string
	index  []int
}

// derivations maps a metric name to the derived metrics summing it
// (schema.Family.Derived): vpcflow_interface_bytes to vpcflow_total_bytes,
// and so on.
var derivations = func() map[string][]derivation {
	defs := schema.Families()
	out := map[string][]derivation{}
	for _, d := range defs {
		if !d.Derived {
			continue
		}
		of := defs[d.Of]
		for i, name := range of.MetricNames() {
			out[name] = append(out[name], derivation{d.MetricNames()[i], positions(of.Labels, d.Labels)})
		}
	}
	return out
}()

// add adds v to a label set of a metric, and to the projection of the
// label set onto each derived metric summing it: a derived family is
// Project of its family's sums, whether or not Finish has run.
func (t *Truth) add(metric string, labels []string, v float64) {
	t.addOne(metric, labels, v)
	for _, d := range derivations[metric] {
		sel := make([]string, len(d.index))
		for i, j := range d.index {
			sel[i] = labels[j]
		}
		t.addOne(d.metric, sel, v)
	}
}

func (t *Truth) addOne(metric string, labels []string, v float64) {
	m := t.Sums[metric]
	if m == nil {
		m = map[string]float64{}
		t.Sums[metric] = m
	}
	m[strings.Join(labels, "|")] += v
}

func text(r *flowlog.Record, f flowlog.Field) string {
	if v, ok := r.Get(f); ok {
		return string(v)
	}
	return schema.Absent
}

func (t *Truth) traffic(family string, labels []string, r *flowlog.Record) {
	t.add(family+schema.SuffixBytes, labels, float64(r.Bytes))
	t.add(family+schema.SuffixPackets, labels, float64(r.Packets))
	t.add(family+schema.SuffixFlows, labels, 1)
	if hourly[family+schema.SuffixBytes] {
		start, end := span(r)
		t.addHourly(family, labels, start, end, r.Bytes, r.Packets)
	}
}

// span returns a record's start and end (0 when absent, as the collector
// takes them).
func span(r *flowlog.Record) (start, end int64) {
	if r.Present.Has(flowlog.Start) {
		start = r.Start
	}
	if r.Present.Has(flowlog.End) {
		end = r.End
	}
	return start, end
}

// Observe takes in one record. Records must carry account-id and region
// themselves (as v5 and v8 records do).
func (t *Truth) Observe(r *flowlog.Record) {
	acct, region, vpc, iface := text(r, flowlog.AccountID), text(r, flowlog.Region), text(r, flowlog.VPCID), text(r, flowlog.InterfaceID)
	common := []string{acct, region, vpc}
	with := func(more ...string) []string { return append(append([]string{}, common...), more...) }
	t.add("vpcflow_status_records", with(iface, r.LogStatus.String()), 1)
	if r.LogStatus != flowlog.StatusOK {
		return
	}
	action, dir := text(r, flowlog.Action), r.FlowDirection.String() // every action as written
	t.traffic("vpcflow_interface", with(text(r, flowlog.SubnetID), text(r, flowlog.AZID), iface, text(r, flowlog.InstanceID),
		action, dir, text(r, flowlog.TrafficPath), text(r, flowlog.RejectReason)), r)
	t.traffic("vpcflow_service", with(text(r, flowlog.PktSrcAWSService), text(r, flowlog.PktDstAWSService), action, dir), r)
	t.traffic("vpcflow_src", with(iface, action, text(r, flowlog.SrcAddr)), r)
	t.traffic("vpcflow_dst", with(iface, action, text(r, flowlog.DstAddr)), r)
	port := schema.Absent
	if r.Present.Has(flowlog.SrcPort) && r.Present.Has(flowlog.DstPort) {
		port = strconv.Itoa(int(min(r.SrcPort, r.DstPort)))
	}
	t.traffic("vpcflow_app", with(iface, text(r, flowlog.Protocol), port, action, dir), r)
	start, end := span(r)
	t.peers = append(t.peers, peerRecord{acct, region, vpc, iface, action, r.FlowDirection,
		text(r, flowlog.SrcAddr), text(r, flowlog.DstAddr), text(r, flowlog.PktSrcAWSService), text(r, flowlog.PktDstAWSService),
		r.Bytes, r.Packets, start, end})
}

// Finish computes the pair family once every record is observed: an egress record at X counts X → the
// owner of its destination (else its AWS service, "aws:S3", else -); an ingress record at X counts
// - (or its source's AWS service) → X, unless its
// source belongs to a known interface (whose egress record counted it). An
// address belongs to the interface that sent egress records from it or
// received ingress records at it.
func (t *Truth) Finish() {
	// Owners are per VPC (private ranges repeat across VPCs); an address
	// unknown in a VPC falls back to its one owner in any VPC, if it has
	// exactly one.
	owner := map[[2]string]string{}
	t.Owners = owner
	byAddr := map[string]map[string]bool{}
	claim := func(vpc, addr, iface string) {
		if o, ok := owner[[2]string{vpc, addr}]; ok && o != iface {
			t.Conflicts = append(t.Conflicts, addr+" in "+vpc+" by "+o+" and "+iface)
		}
		owner[[2]string{vpc, addr}] = iface
		if byAddr[addr] == nil {
			byAddr[addr] = map[string]bool{}
		}
		byAddr[addr][iface] = true
	}
	for _, p := range t.peers {
		switch p.dir {
		case flowlog.Egress:
			claim(p.vpc, p.src, p.iface)
		case flowlog.Ingress:
			claim(p.vpc, p.dst, p.iface)
		}
	}
	lookup := func(vpc, addr string) (string, bool) {
		if o, ok := owner[[2]string{vpc, addr}]; ok {
			return o, true
		}
		if len(byAddr[addr]) == 1 {
			for o := range byAddr[addr] {
				return o, true
			}
		}
		return "", false
	}
	// A peer no interface owns is the AWS service the record names for
	// it, if any.
	service := func(svc string) string {
		if svc == schema.Absent || svc == "" {
			return schema.Absent
		}
		return schema.PairServicePrefix + svc
	}
	for _, p := range t.peers {
		var src, dst string
		switch p.dir {
		case flowlog.Egress:
			src, dst = p.iface, service(p.dstSvc)
			if o, ok := lookup(p.vpc, p.dst); ok {
				dst = o
			}
		default:
			if _, known := lookup(p.vpc, p.src); known {
				continue
			}
			src, dst = service(p.srcSvc), p.iface
		}
		labels := []string{p.account, p.region, p.vpc, src, dst, p.action}
		t.add("vpcflow_pair_bytes", labels, float64(p.bytes))
		t.add("vpcflow_pair_packets", labels, float64(p.packets))
		t.add("vpcflow_pair_flows", labels, 1)
		t.addHourly("vpcflow_pair", labels, p.start, p.end, p.bytes, p.packets)
	}
}

// Store is where Check reads the stored totals: a VictoriaMetrics single
// node (*testserver.VM) or cluster (*testserver.Cluster, through
// vmselect).
type Store interface {
	// Flush makes every sample acknowledged so far queryable.
	Flush()
	// Totals sums the sample values of the series matching match, keyed by
	// the values of the groupBy labels joined with "|".
	Totals(tb testing.TB, match string, groupBy ...string) map[string]float64
	// Export returns the series matching match with their samples.
	Export(tb testing.TB, match string) []testserver.ExportedSeries
}

var (
	_ Store = (*testserver.VM)(nil)
	_ Store = (*testserver.Cluster)(nil)
)

// Check compares the stored totals of the given families (all when none is
// given) with the truth, reporting differences as test errors. A family
// without top K must hold every label set's totals. A top-K family
// (schema.Family.TopK) folds, per group and hour, the label sets outside
// its keep set into the group's other label set: it must hold every
// group's totals in every hour, and each label set it keeps in an hour
// exactly that hour's amounts (Hourly); which label sets it keeps is the
// collector's decision (docs/pipeline.md, Bounded families).
func (t *Truth) Check(tb testing.TB, vm Store, families ...int) {
	tb.Helper()
	vm.Flush()
	defs := schema.Families()
	if len(families) == 0 {
		for i := range defs {
			families = append(families, i)
		}
	}
	for _, i := range families {
		f := defs[i]
		for _, name := range f.MetricNames() {
			if !f.TopK {
				got := vm.Totals(tb, name, f.Labels...)
				want := t.Sums[name]
				if diff := Compare(got, want); diff != "" {
					tb.Errorf("%s differs from the ground truth (%d label sets stored, %d expected):\n%s", name, len(got), len(want), diff)
				}
				continue
			}
			t.checkFolded(tb, vm, f, name)
		}
	}
}

// checkFolded checks a top-K family's metric: per group and hour the
// totals, per kept label set and hour its amounts.
func (t *Truth) checkFolded(tb testing.TB, vm Store, f schema.Family, name string) {
	tb.Helper()
	stored := map[string]float64{} // "labels@hour"
	key := make([]string, len(f.Labels))
	for _, s := range vm.Export(tb, name) {
		for i, l := range f.Labels {
			key[i] = s.Metric[l]
		}
		k := strings.Join(key, "|")
		for j, v := range s.Values {
			stored[k+"@"+strconv.FormatInt(floorHour(s.Timestamps[j]/1000), 10)] += v
		}
	}
	want := t.Hourly[name]
	// Per group and hour: exact.
	group := append(slices.Clone(f.Group), "@")
	labels := append(slices.Clone(f.Labels), "@")
	if diff := Compare(Project(atSplit(stored), labels, group), Project(atSplit(want), labels, group)); diff != "" {
		tb.Errorf("%s per %v and hour differs from the ground truth:\n%s", name, f.Group, diff)
	}
	// Every label set kept in an hour: exact.
	own := positions(f.Labels, ownLabels(f))
	var diffs []string
	kept := 0
	for k, v := range stored {
		labels, _, _ := strings.Cut(k, "@")
		parts := strings.Split(labels, "|")
		other := true
		for _, j := range own {
			other = other && parts[j] == schema.Other
		}
		if other {
			continue
		}
		kept++
		if w := want[k]; v != w {
			diffs = append(diffs, fmt.Sprintf("  %s: got %v, want %v", k, v, w))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		if len(diffs) > 10 {
			diffs = append(diffs[:10], fmt.Sprintf("  … %d more", len(diffs)-10))
		}
		tb.Errorf("%s: %d of %d label sets kept in an hour differ from their truth in that hour:\n%s", name, len(diffs), kept, strings.Join(diffs, "\n"))
	}
}

// atSplit turns "labels@hour" keys into "labels|hour" ones, the hour a
// label of its own ("@"), for Project.
func atSplit(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[strings.Replace(k, "@", "|", 1)] += v
	}
	return out
}

// ownLabels returns the labels of a top-K family outside its group.
func ownLabels(f schema.Family) []string {
	var out []string
	for _, l := range f.Labels {
		if !slices.Contains(f.Group, l) {
			out = append(out, l)
		}
	}
	return out
}

// Compare lists up to ten differences between two totals maps; "" when
// they are equal.
func Compare(got, want map[string]float64) string {
	var diffs []string
	for k, w := range want {
		if g := got[k]; g != w {
			diffs = append(diffs, fmt.Sprintf("  %s: got %v, want %v", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("  %s: got %v, want nothing", k, g))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("  … %d more", len(diffs)-10))
	}
	return strings.Join(diffs, "\n")
}

// Project sums totals keyed by all of labels into totals keyed by keep.
func Project(sums map[string]float64, labels, keep []string) map[string]float64 {
	idx := positions(labels, keep)
	out := map[string]float64{}
	for key, v := range sums {
		parts := strings.Split(key, "|")
		sel := make([]string, len(idx))
		for i, j := range idx {
			sel[i] = parts[j]
		}
		out[strings.Join(sel, "|")] += v
	}
	return out
}

// positions returns the position in labels of each of keep (0 for one
// labels lacks).
func positions(labels, keep []string) []int {
	idx := make([]int, len(keep))
	for i, k := range keep {
		for j, l := range labels {
			if l == k {
				idx[i] = j
			}
		}
	}
	return idx
}
