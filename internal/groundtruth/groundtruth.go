// Package groundtruth computes, from generated flow log records and without
// the collector's own aggregation code, the totals every metric family must
// hold once the records are stored: the yardstick of the end-to-end and
// fault tests.
package groundtruth

import (
	"fmt"
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
	// records kept for the pair family, which needs every address's owner
	// first.
	peers []peerRecord
	// Conflicts lists addresses two interfaces claim: the pair family is
	// then not well defined, and the data generator is at fault.
	Conflicts []string
}

type peerRecord struct {
	account, region, vpc, iface, action string
	dir                                 flowlog.Direction
	src, dst                            string
	bytes, packets                      float64
}

// New returns an empty Truth.
func New() *Truth { return &Truth{Sums: map[string]map[string]float64{}} }

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
	action, dir := r.Action.String(), r.FlowDirection.String()
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
	t.peers = append(t.peers, peerRecord{acct, region, vpc, iface, action, r.FlowDirection,
		text(r, flowlog.SrcAddr), text(r, flowlog.DstAddr), float64(r.Bytes), float64(r.Packets)})
}

// Finish computes the pair family once every record is observed: an egress record at X counts X → the
// owner of its destination; an ingress record at X counts - → X, unless its
// source belongs to a known interface (whose egress record counted it). An
// address belongs to the interface that sent egress records from it or
// received ingress records at it.
func (t *Truth) Finish() {
	// Owners are per VPC (private ranges repeat across VPCs); an address
	// unknown in a VPC falls back to its one owner in any VPC, if it has
	// exactly one.
	owner := map[[2]string]string{}
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
	for _, p := range t.peers {
		var src, dst string
		switch p.dir {
		case flowlog.Egress:
			src, dst = p.iface, schema.Absent
			if o, ok := lookup(p.vpc, p.dst); ok {
				dst = o
			}
		default:
			if _, known := lookup(p.vpc, p.src); known {
				continue
			}
			src, dst = schema.Absent, p.iface
		}
		labels := []string{p.account, p.region, p.vpc, src, dst, p.action}
		t.add("vpcflow_pair_bytes", labels, p.bytes)
		t.add("vpcflow_pair_packets", labels, p.packets)
		t.add("vpcflow_pair_flows", labels, 1)
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
}

var (
	_ Store = (*testserver.VM)(nil)
	_ Store = (*testserver.Cluster)(nil)
)

// Check compares the stored totals of the given families (all when none is
// given) with the truth, reporting differences as test errors.
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
			got := vm.Totals(tb, name, f.Labels...)
			want := t.Sums[name]
			if diff := Compare(got, want); diff != "" {
				tb.Errorf("%s differs from the ground truth (%d label sets stored, %d expected):\n%s", name, len(got), len(want), diff)
			}
		}
	}
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
