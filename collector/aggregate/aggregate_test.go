package aggregate

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/vmclient"
)

func TestSplit(t *testing.T) {
	f := func(start, end int64, bytes, packets uint64, want []cell) {
		t.Helper()
		got := split(nil, start, end, bytes, packets)
		if !slices.Equal(got, want) {
			t.Errorf("split(%d, %d, %d, %d) = %v, want %v", start, end, bytes, packets, got, want)
		}
	}
	f(120, 120, 100, 10, []cell{{2, 100, 10, 1}})            // no duration
	f(130, 170, 100, 10, []cell{{2, 100, 10, 1}})            // within a minute
	f(130, 180, 100, 10, []cell{{2, 100, 10, 1}})            // ends on the boundary
	f(150, 210, 60, 6, []cell{{2, 30, 3, 1}, {3, 30, 3, 0}}) // half and half
	// 7 packets over ten minutes: cumulative floor(7k/10) is 0 1 2 2 3 4 4 5 6 7.
	f(0, 600, 100, 7, []cell{{0, 10, 0, 1}, {1, 10, 1, 0}, {2, 10, 1, 0}, {3, 10, 0, 0}, {4, 10, 1, 0}, {5, 10, 1, 0}, {6, 10, 0, 0}, {7, 10, 1, 0}, {8, 10, 1, 0}, {9, 10, 1, 0}})
	f(-30, 30, 10, 2, []cell{{-1, 5, 1, 1}, {0, 5, 1, 0}}) // before 1970 still floors
}

// TestSplitKeepsTotals checks, over random records, that the shares add up
// to the exact totals, lie in consecutive minutes, and are proportional to
// the overlap within one unit.
func TestSplitKeepsTotals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		start := rng.Int64N(1e6)
		end := start + rng.Int64N(1300)
		bytes := rng.Uint64N(1 << 62)
		if rng.IntN(4) == 0 {
			bytes = math.MaxInt64
		}
		packets := rng.Uint64N(1000)
		shares := split(nil, start, end, bytes, packets)
		var b, p, fl uint64
		for i, s := range shares {
			b += s.bytes
			p += s.packets
			fl += s.flows
			if i > 0 && s.minute != shares[i-1].minute+1 {
				t.Fatalf("minutes not consecutive: %v", shares)
			}
			if end > start {
				lo, hi := max(start, s.minute*60), min(end, (s.minute+1)*60)
				exact := float64(bytes) * float64(hi-lo) / float64(end-start)
				if math.Abs(float64(s.bytes)-exact) > 1+exact*1e-12 {
					t.Fatalf("share %v of %d bytes over [%d,%d): want about %.0f", s, bytes, start, end, exact)
				}
			}
		}
		if b != bytes || p != packets || fl != 1 || shares[0].minute != floorDiv(start, 60) {
			t.Fatalf("split(%d, %d, %d, %d) = %v: totals %d %d %d", start, end, bytes, packets, shares, b, p, fl)
		}
	}
}

// v5 is the format of the records rec builds: read only.
var v5, _ = flowlog.ParseFormat("v5")

// rec builds a v5 record from "field=value" pairs.
func rec(t *testing.T, pairs ...string) *flowlog.Record {
	t.Helper()
	r := &flowlog.Record{Format: v5}
	r.Reset(0)
	for _, p := range pairs {
		name, value, _ := strings.Cut(p, "=")
		f, ok := flowlog.Lookup(name)
		if !ok {
			t.Fatalf("no field %q", name)
		}
		if prob := r.SetText(f, []byte(value)); prob != flowlog.NoProblem {
			t.Fatalf("%s: %v", p, prob)
		}
	}
	return r
}

// totals sums series values per metric name and label values given.
func totals(series []vmclient.Series, name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range series {
		var metric string
		values := map[string]string{}
		for _, l := range s.Labels {
			if l.Name == "__name__" {
				metric = l.Value
			}
			values[l.Name] = l.Value
		}
		if metric != name {
			continue
		}
		key := make([]string, len(labels))
		for i, l := range labels {
			key[i] = values[l]
		}
		for _, smp := range s.Samples {
			out[strings.Join(key, "|")] += smp.Value
		}
	}
	return out
}

func base(iface, dir, src, dst string, bytes int) []string {
	return []string{"version=5", "account-id=111122223333", "interface-id=" + iface, "srcaddr=" + src, "dstaddr=" + dst,
		"srcport=40000", "dstport=443", "protocol=6", "packets=2", fmt.Sprintf("bytes=%d", bytes), "start=600", "end=660",
		"action=ACCEPT", "log-status=OK", "vpc-id=vpc-1", "subnet-id=subnet-1", "az-id=use1-az1", "region=us-east-1",
		"flow-direction=" + dir}
}

func TestPairsCountIntraVPCOnce(t *testing.T) {
	a := New()
	ctx := &Context{}
	// A (10.0.0.1) talks to B (10.0.0.2): logged at both ends, both ways.
	a.Add(rec(t, append(base("eni-a", "egress", "10.0.0.1", "10.0.0.2", 100), "traffic-path=1")...), ctx)
	a.Add(rec(t, base("eni-b", "ingress", "10.0.0.1", "10.0.0.2", 100)...), ctx)
	a.Add(rec(t, append(base("eni-b", "egress", "10.0.0.2", "10.0.0.1", 40), "traffic-path=1")...), ctx)
	a.Add(rec(t, base("eni-a", "ingress", "10.0.0.2", "10.0.0.1", 40)...), ctx)
	// The internet to A, and A to the internet.
	a.Add(rec(t, base("eni-a", "ingress", "203.0.113.9", "10.0.0.1", 7)...), ctx)
	a.Add(rec(t, append(base("eni-a", "egress", "10.0.0.1", "198.51.100.1", 5), "traffic-path=8")...), ctx)

	meta, owners := a.Learned()
	res := a.Resolve(func(i string) (Meta, bool) { m, ok := meta[i]; return m, ok }, func(vpc, addr string) (string, bool) { o, ok := owners[OwnerKey(vpc, addr)]; return o, ok })
	got := totals(a.Series(&res, 0, Fold{TopK: 1000}), "vpcflow_pair_bytes", "src_interface", "dst_interface")
	want := map[string]float64{"eni-a|eni-b": 100, "eni-b|eni-a": 40, "-|eni-a": 7, "eni-a|-": 5}
	if !maps.Equal(got, want) {
		t.Errorf("pairs %v, want %v", got, want)
	}
	// The interface family counts every record.
	if got := totals(a.Series(&res, 0, Fold{TopK: 1000}), "vpcflow_interface_bytes", "interface_id"); got["eni-a"] != 100+40+7+5 || got["eni-b"] != 140 {
		t.Errorf("interface bytes %v", got)
	}
}

// TestPairsNameAWSServices: a peer no interface owns is the AWS service
// the record names for it (the destination's of an egress record, the
// source's of an ingress one), else "-"; an interface owning the address
// wins over the service field.
func TestPairsNameAWSServices(t *testing.T) {
	a := New()
	ctx := &Context{}
	a.Add(rec(t, append(base("eni-a", "egress", "10.0.0.1", "52.216.0.1", 100), "pkt-dst-aws-service=S3", "pkt-src-aws-service=EC2")...), ctx)
	a.Add(rec(t, append(base("eni-a", "ingress", "52.94.0.1", "10.0.0.1", 30), "pkt-src-aws-service=DYNAMODB", "pkt-dst-aws-service=S3")...), ctx)
	a.Add(rec(t, base("eni-a", "egress", "10.0.0.1", "198.51.100.1", 5)...), ctx)                                // no service: -
	a.Add(rec(t, append(base("eni-a", "egress", "10.0.0.1", "10.0.0.2", 7), "pkt-dst-aws-service=EC2")...), ctx) // B owns it
	a.Add(rec(t, base("eni-b", "egress", "10.0.0.2", "198.51.100.2", 1)...), ctx)
	meta, owners := a.Learned()
	res := a.Resolve(func(i string) (Meta, bool) { m, ok := meta[i]; return m, ok }, func(vpc, addr string) (string, bool) { o, ok := owners[OwnerKey(vpc, addr)]; return o, ok })
	for _, fold := range []Fold{{}, {TopK: 1000}} {
		got := totals(a.Series(&res, 0, fold), "vpcflow_pair_bytes", "src_interface", "dst_interface")
		want := map[string]float64{"eni-a|aws:S3": 100, "aws:DYNAMODB|eni-a": 30, "eni-a|-": 5, "eni-a|eni-b": 7, "eni-b|-": 1}
		if !maps.Equal(got, want) {
			t.Errorf("fold %+v: pairs %v, want %v", fold, got, want)
		}
	}
}

func TestFillInFromOtherRecords(t *testing.T) {
	a := New()
	ctx := &Context{}
	full := base("eni-a", "egress", "10.0.0.1", "198.51.100.1", 10)
	a.Add(rec(t, full...), ctx)
	// The same interface, without its VPC, subnet and AZ.
	var bare []string
	for _, p := range full {
		if !strings.HasPrefix(p, "vpc-id") && !strings.HasPrefix(p, "subnet-id") && !strings.HasPrefix(p, "az-id") {
			bare = append(bare, p)
		}
	}
	a.Add(rec(t, bare...), ctx)
	meta, _ := a.Learned()
	res := a.Resolve(func(i string) (Meta, bool) { m, ok := meta[i]; return m, ok }, func(string, string) (string, bool) { return "", false })
	got := totals(a.Series(&res, 0, Fold{TopK: 1000}), "vpcflow_interface_bytes", "vpc_id", "subnet_id", "az_id")
	if want := map[string]float64{"vpc-1|subnet-1|use1-az1": 20}; !maps.Equal(got, want) {
		t.Errorf("filled in %v, want %v", got, want)
	}
	if res.Meta["eni-a"].VPC != "vpc-1" {
		t.Errorf("resolution %+v should carry eni-a's VPC", res)
	}
}

func TestContextFromKey(t *testing.T) {
	a := New()
	// A v2 record has no region: the object's key gives it.
	format := flowlog.DefaultFormat()
	r := &flowlog.Record{Format: format}
	r.Reset(0)
	for f, v := range map[flowlog.Field]string{flowlog.InterfaceID: "eni-1", flowlog.Bytes: "9", flowlog.Packets: "1",
		flowlog.Start: "0", flowlog.End: "0", flowlog.Action: "REJECT", flowlog.LogStatus: "OK"} {
		r.SetText(f, []byte(v))
	}
	a.Add(r, &Context{Account: "999", Region: "eu-west-1"})
	got := totals(a.Series(&Resolution{}, 0, Fold{TopK: 1000}), "vpcflow_interface_bytes", "account_id", "region", "vpc_id", "action")
	if want := map[string]float64{"999|eu-west-1|-|REJECT": 9}; !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestTopKFoldsExactly(t *testing.T) {
	a := New()
	ctx := &Context{}
	var total float64
	for i := range 50 {
		b := (i + 1) * 10
		total += float64(b)
		a.Add(rec(t, base("eni-a", "ingress", fmt.Sprintf("203.0.113.%d", i), "10.0.0.1", b)...), ctx)
	}
	series := a.Series(&Resolution{}, 7, Fold{TopK: 5})
	got := totals(series, "vpcflow_src_bytes", "src_addr")
	if len(got) != 6 {
		t.Fatalf("%d source addresses, want 5 and other: %v", len(got), got)
	}
	var sum float64
	for _, v := range got {
		sum += v
	}
	if sum != total || got["203.0.113.49"] != 500 || got["other"] != total-500-490-480-470-460 {
		t.Errorf("folded %v: sum %v want %v", got, sum, total)
	}
	for _, s := range series {
		for _, smp := range s.Samples {
			if smp.Timestamp%60000 != 7 {
				t.Fatalf("sample at %d: not at the slot", smp.Timestamp)
			}
		}
	}
}

// TestMergeIsAddition checks that records aggregated in two parts and merged
// give the same series as all of them in one.
func TestMergeIsAddition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var recs [][]string
	for range 500 {
		// Interface eni-N has the address 10.0.0.N: no address has two
		// owners, so the result cannot depend on the order of records.
		n, peer := rng.IntN(5), rng.IntN(20)
		iface, own, other := fmt.Sprintf("eni-%d", n), fmt.Sprintf("10.0.0.%d", n), fmt.Sprintf("10.0.0.%d", peer)
		src, dst, dir := own, other, "egress"
		if rng.IntN(2) == 0 {
			src, dst, dir = other, own, "ingress"
		}
		r := base(iface, dir, src, dst, rng.IntN(5000))
		r[10] = fmt.Sprintf("start=%d", 600+rng.IntN(900))
		r[11] = fmt.Sprintf("end=%d", 1600+rng.IntN(900))
		recs = append(recs, r)
	}
	whole, left, right := New(), New(), New()
	for i, r := range recs {
		whole.Add(rec(t, r...), &Context{})
		if i%3 == 0 {
			left.Add(rec(t, r...), &Context{})
		} else {
			right.Add(rec(t, r...), &Context{})
		}
	}
	merged := New()
	merged.Merge(left)
	merged.Merge(right)
	resolve := func(a *Aggregate) Resolution {
		meta, owners := a.Learned()
		return a.Resolve(func(i string) (Meta, bool) { m, ok := meta[i]; return m, ok }, func(vpc, addr string) (string, bool) { o, ok := owners[OwnerKey(vpc, addr)]; return o, ok })
	}
	r1, r2 := resolve(whole), resolve(merged)
	a, b := render(whole.Series(&r1, 3, Fold{TopK: 4})), render(merged.Series(&r2, 3, Fold{TopK: 4}))
	if a != b {
		t.Errorf("merged series differ from the whole:\n%s\n---\n%s", a, b)
	}
	if whole.Records != merged.Records || !slices.Equal(whole.Minutes(), merged.Minutes()) {
		t.Errorf("records %d vs %d, minutes %v vs %v", whole.Records, merged.Records, whole.Minutes(), merged.Minutes())
	}
}

// TestCells checks the cell count against the tables it counts, as
// records are added, merged and reset.
func TestCells(t *testing.T) {
	count := func(a *Aggregate) int {
		n := 0
		for _, cs := range [][][]cell{a.iface.cells, a.service.cells, a.peer.cells, a.src.cells, a.dst.cells, a.app.cells, a.status.cells} {
			for _, c := range cs {
				n += len(c)
			}
		}
		return n
	}
	recs := derivedRecords()
	whole, left, right := New(), New(), New()
	for i, r := range recs {
		whole.Add(rec(t, r...), &Context{})
		if got, want := whole.Cells(), count(whole); got != want {
			t.Fatalf("after %d records: Cells() = %d, the tables hold %d", i+1, got, want)
		}
		if i%2 == 0 {
			left.Add(rec(t, r...), &Context{})
		} else {
			right.Add(rec(t, r...), &Context{})
		}
	}
	// One record over ten minutes: a label set of a family kept in minutes
	// (interface, service and pair: their VPC totals are at minutes) is ten
	// cells; of one kept in five minutes (src, dst, app) two; the status
	// family one. Minutely makes every family minutes.
	recLong := with(base("eni-a", "egress", "10.0.0.1", "10.0.0.2", 100), "start=600", "end=1200")
	long := New()
	long.Add(rec(t, recLong...), &Context{})
	if got := long.Cells(); got != 3*10+3*2+1 {
		t.Errorf("one record over ten minutes: %d cells, want 37 (ten in each of three families, two in three, one status)", got)
	}
	long.Reset()
	long.Minutely()
	long.Add(rec(t, recLong...), &Context{})
	if got := long.Cells(); got != 6*10+1 {
		t.Errorf("one record over ten minutes, Minutely: %d cells, want 61 (ten in each of six families, one status)", got)
	}
	long.Reset()
	long.Add(rec(t, recLong...), &Context{})
	if got := long.Cells(); got != 3*10+3*2+1 {
		t.Errorf("after Reset: %d cells, want 37 again", got)
	}
	merged := New()
	merged.Merge(left)
	merged.Merge(right)
	if merged.Cells() != whole.Cells() || merged.Cells() != count(merged) || whole.Cells() < len(recs) {
		t.Errorf("merged: Cells() = %d, tables %d; whole %d", merged.Cells(), count(merged), whole.Cells())
	}
	merged.Reset()
	if merged.Cells() != 0 {
		t.Errorf("after Reset: %d cells", merged.Cells())
	}
}

// render prints series in a canonical order.
func render(series []vmclient.Series) string {
	var lines []string
	for _, s := range series {
		var b strings.Builder
		for _, l := range s.Labels {
			fmt.Fprintf(&b, "%s=%s,", l.Name, l.Value)
		}
		for _, smp := range s.Samples {
			fmt.Fprintf(&b, " %d:%v", smp.Timestamp, smp.Value)
		}
		lines = append(lines, b.String())
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestAddSharesKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		var cells []cell
		want := map[int64]uint64{}
		for range rng.IntN(20) {
			start := rng.Int64N(3600)
			shares := split(nil, start, start+rng.Int64N(700), uint64(rng.IntN(1000)), 1)
			cells = addShares(cells, shares)
			for _, s := range shares {
				want[s.minute] += s.bytes
			}
		}
		if !slices.IsSortedFunc(cells, func(a, b cell) int { return int(a.minute - b.minute) }) || len(cells) != len(want) {
			t.Fatalf("cells %v not sorted or not one per minute (%d minutes)", cells, len(want))
		}
		for i := 1; i < len(cells); i++ {
			if cells[i].minute == cells[i-1].minute {
				t.Fatalf("minute %d twice", cells[i].minute)
			}
		}
		for _, c := range cells {
			if c.bytes != want[c.minute] {
				t.Fatalf("minute %d: %d bytes, want %d", c.minute, c.bytes, want[c.minute])
			}
		}
	}
}

// TestOwnersArePerVPC: two VPCs use the same private address; an ingress
// record in one VPC from that address is not mistaken for traffic from the
// other VPC's interface.
func TestOwnersArePerVPC(t *testing.T) {
	a := New()
	ctx := &Context{}
	inVPC := func(vpc string, p []string) []string {
		out := append([]string(nil), p...)
		for i, kv := range out {
			if strings.HasPrefix(kv, "vpc-id=") {
				out[i] = "vpc-id=" + vpc
			}
		}
		return out
	}
	// In vpc-1, eni-a owns 172.31.0.5 (it sends from it).
	a.Add(rec(t, inVPC("vpc-1", base("eni-a", "egress", "172.31.0.5", "198.51.100.1", 10))...), ctx)
	// In vpc-2, eni-b receives from 172.31.0.5: another host, unknown.
	a.Add(rec(t, inVPC("vpc-2", base("eni-b", "ingress", "172.31.0.5", "172.31.9.9", 7))...), ctx)
	meta, owners := a.Learned()
	res := a.Resolve(func(i string) (Meta, bool) { m, ok := meta[i]; return m, ok },
		func(vpc, addr string) (string, bool) { o, ok := owners[OwnerKey(vpc, addr)]; return o, ok })
	got := totals(a.Series(&res, 0, Fold{TopK: 1000}), "vpcflow_pair_bytes", "vpc_id", "src_interface", "dst_interface")
	want := map[string]float64{"vpc-1|eni-a|-": 10, "vpc-2|-|eni-b": 7}
	if !maps.Equal(got, want) {
		t.Errorf("pairs %v, want %v", got, want)
	}
}

// TestSlab: clones are copies with their spare room and no more (an
// append past it leaves the slab), whatever their size against the slab's
// arrays, which start small and grow.
func TestSlab(t *testing.T) {
	var s slab
	var held [][]cell
	for i, n := range []int{1, 3, 63, 64, 65, 200, 256, 257, 1000, 2, 5} {
		cs := make([]cell, n)
		for j := range cs {
			cs[j] = cell{minute: int64(i*10000 + j), bytes: uint64(j)}
		}
		got := s.clone(cs, 1)
		if !slices.Equal(got, cs) || cap(got) != n+1 {
			t.Fatalf("clone of %d cells: len %d cap %d, equal %v", n, len(got), cap(got), slices.Equal(got, cs))
		}
		held = append(held, got)
	}
	if c := cap(s.free); c > slabCells || c < firstSlabCells {
		t.Errorf("slab array of %d cells", c)
	}
	// Appending into one clone's spare room leaves the others as they were.
	for i := range held {
		held[i] = append(held[i], cell{minute: -1})
	}
	for i, h := range held {
		for j, c := range h[:len(h)-1] {
			if c.minute < 0 || c.bytes != uint64(j) {
				t.Fatalf("clone %d changed at %d: %+v", i, j, c)
			}
		}
	}
}
