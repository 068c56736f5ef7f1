package generate

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

var testStart = time.Date(2025, 3, 14, 22, 30, 0, 0, time.UTC)

func mustFormat(t testing.TB, s string) *flowlog.Format {
	t.Helper()
	f, err := flowlog.ParseFormat(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// memSink keeps objects in memory, in creation order.
type memSink struct {
	keys []string
	data map[string]*bytes.Buffer
}

func (m *memSink) Create(key string) (io.WriteCloser, error) {
	if m.data == nil {
		m.data = map[string]*bytes.Buffer{}
	}
	if _, ok := m.data[key]; ok {
		return nil, fmt.Errorf("key %s created twice", key)
	}
	b := &bytes.Buffer{}
	m.keys = append(m.keys, key)
	m.data[key] = b
	return nopCloser{b}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// discardSink throws objects away.
type discardSink struct{}

func (discardSink) Create(string) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }

func TestDeterminism(t *testing.T) {
	f := func(name string, cfg Config) {
		t.Run(name, func(t *testing.T) {
			var a, b, c memSink
			if _, err := Generate(cfg, &a); err != nil {
				t.Fatal(err)
			}
			if _, err := Generate(cfg, &b); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.keys, b.keys) {
				t.Fatalf("keys differ between runs:\n%v\n%v", a.keys, b.keys)
			}
			for _, k := range a.keys {
				if !bytes.Equal(a.data[k].Bytes(), b.data[k].Bytes()) {
					t.Fatalf("object %s differs between runs", k)
				}
			}
			cfg.Seed++
			if _, err := Generate(cfg, &c); err != nil {
				t.Fatal(err)
			}
			if slices.Equal(a.keys, c.keys) {
				t.Errorf("another seed gives the same keys")
			}
			same := 0
			for i, k := range a.keys {
				if i < len(c.keys) && bytes.Equal(a.data[k].Bytes(), c.data[c.keys[i]].Bytes()) {
					same++
				}
			}
			if same > 0 {
				t.Errorf("another seed gives %d identical objects", same)
			}
		})
	}
	f("gzip-v5", Config{Records: 20000, Seed: 1, Start: testStart, Format: mustFormat(t, "v5")})
	f("plain-v2", Config{Records: 5000, Seed: 7, Start: testStart, Plain: true, VPCs: 5, Accounts: 2, ENIs: 80})
	f("parquet-v8-hive", Config{Records: 8000, Seed: 3, Start: testStart, Format: mustFormat(t, "v8"), Parquet: true, Hive: true})
}

func TestReadBack(t *testing.T) {
	f := func(name string, cfg Config, compression string) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var keys []string
			want := map[string][]string{}
			cfg.Observe = func(key string, r *flowlog.Record) {
				if len(keys) == 0 || keys[len(keys)-1] != key {
					keys = append(keys, key)
				}
				want[key] = append(want[key], string(flowlog.AppendJSON(nil, r)))
			}
			sum, err := Generate(cfg, Dir(dir))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Objects != len(keys) {
				t.Errorf("Summary.Objects = %d, observed %d objects", sum.Objects, len(keys))
			}
			if sum.Records != int64(cfg.Records) {
				t.Errorf("Summary.Records = %d, want %d", sum.Records, cfg.Records)
			}
			var total decode.Stats
			var stored int64
			format := cfg.Format
			if format == nil {
				format = flowlog.DefaultFormat()
			}
			for _, key := range keys {
				path := filepath.Join(dir, filepath.FromSlash(key))
				var got []string
				st, err := decode.File(path, decode.Options{}, func(r *flowlog.Record) error {
					got = append(got, string(flowlog.AppendJSON(nil, r)))
					return nil
				})
				if err != nil {
					t.Fatalf("decode %s: %v", key, err)
				}
				if st.BadLines != 0 {
					t.Fatalf("decode %s: %d bad lines: %v", key, st.BadLines, st.Samples)
				}
				if st.Compression != compression || !st.Header {
					t.Errorf("%s: compression %q header %v, want %q with header", key, st.Compression, st.Header, compression)
				}
				if st.Format.String() != format.String() && st.Format.String() != strings.ReplaceAll(format.String(), "-", "_") {
					t.Errorf("%s: columns %q, want %q", key, st.Format, format)
				}
				if !slices.Equal(got, want[key]) {
					for i := range min(len(got), len(want[key])) {
						if got[i] != want[key][i] {
							t.Fatalf("%s record %d:\n got %s\nwant %s", key, i+1, got[i], want[key][i])
						}
					}
					t.Fatalf("%s: decoded %d records, generated %d", key, len(got), len(want[key]))
				}
				total.Merge(st)
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				stored += fi.Size()
			}
			if total.Records != sum.Records || total.OK != sum.OK || total.NoData != sum.NoData ||
				total.SkipData != sum.SkipData || total.Bytes != sum.Bytes || total.Packets != sum.Packets {
				t.Errorf("decoded totals %+v differ from summary %+v", total, sum)
			}
			if stored != sum.StoredBytes {
				t.Errorf("Summary.StoredBytes = %d, files hold %d", sum.StoredBytes, stored)
			}
			if compression != "parquet" && total.DecodedBytes != sum.TextBytes {
				t.Errorf("Summary.TextBytes = %d, decoded %d", sum.TextBytes, total.DecodedBytes)
			}
		})
	}
	f("gzip-v2", Config{Records: 6000, Seed: 11, Start: testStart}, "gzip")
	f("plain-v5", Config{Records: 6000, Seed: 12, Start: testStart, Plain: true, Format: mustFormat(t, "v5")}, "none")
	f("gzip-v8", Config{Records: 6000, Seed: 13, Start: testStart, Format: mustFormat(t, "v8"), ENIs: 120, VPCs: 4, Accounts: 2}, "gzip")
	f("gzip-custom-order", Config{Records: 4000, Seed: 14, Start: testStart,
		Format: mustFormat(t, "log-status action flow-direction traffic-path end start bytes packets interface-id pkt-dstaddr dstaddr srcaddr pkt-dst-aws-service tcp-flags ecs-task-id reject-reason")}, "gzip")
	f("parquet-v5-hive", Config{Records: 6000, Seed: 15, Start: testStart, Parquet: true, Hive: true, Format: mustFormat(t, "v5")}, "parquet")
	f("parquet-v8-region", Config{Records: 3000, Seed: 16, Start: testStart, Parquet: true, Format: mustFormat(t, "v8"), Region: "eu-west-2", Duration: 17 * time.Minute}, "parquet")
}

// obs is an observed record, with what the shape checks need.
type obs struct {
	key              string
	eni, instance    string
	status           flowlog.Status
	action           flowlog.ActionValue
	dir              flowlog.Direction
	src, dst         netip.Addr
	pktSrc, pktDst   netip.Addr
	srcPort, dstPort uint16
	proto            uint8
	flags            uint16
	path             bool
	packets, bytes   uint64
	start, end       int64
	version          uint8
	typ, srcSvc      string
	reason           string
	ecsTask          string
}

func observeAll(t *testing.T, cfg Config) ([]obs, Summary) {
	t.Helper()
	var out []obs
	cfg.Observe = func(key string, r *flowlog.Record) {
		o := obs{key: key, status: r.LogStatus, action: r.Action, dir: r.FlowDirection,
			srcPort: r.SrcPort, dstPort: r.DstPort, proto: r.Protocol, flags: r.TCPFlags,
			path: r.Present.Has(flowlog.TrafficPath), packets: r.Packets, bytes: r.Bytes,
			start: r.Start, end: r.End, version: r.Version}
		get := func(f flowlog.Field) string { v, _ := r.Get(f); return string(v) }
		addr := func(f flowlog.Field) netip.Addr { a, _ := r.Addr(f); return a }
		o.src, o.dst, o.pktSrc, o.pktDst = addr(flowlog.SrcAddr), addr(flowlog.DstAddr), addr(flowlog.PktSrcAddr), addr(flowlog.PktDstAddr)
		o.eni, o.instance, o.typ = get(flowlog.InterfaceID), get(flowlog.InstanceID), get(flowlog.Type)
		o.srcSvc, o.reason, o.ecsTask = get(flowlog.PktSrcAWSService), get(flowlog.RejectReason), get(flowlog.ECSTaskID)
		out = append(out, o)
	}
	sum, err := Generate(cfg, discardSink{})
	if err != nil {
		t.Fatal(err)
	}
	return out, sum
}

var (
	textKey = regexp.MustCompile(`^AWSLogs/(\d{12})/vpcflowlogs/us-east-1/(\d{4})/(\d{2})/(\d{2})/(\d{12})_vpcflowlogs_us-east-1_(fl-[0-9a-f]{17})_(\d{8}T\d{4}Z)_[0-9a-f]{8}\.log\.gz$`)
	hiveKey = regexp.MustCompile(`^AWSLogs/aws-account-id=(\d{12})/aws-service=vpcflowlogs/aws-region=us-east-1/year=(\d{4})/month=(\d{2})/day=(\d{2})/hour=(\d{2})/(\d{12})_vpcflowlogs_us-east-1_(fl-[0-9a-f]{17})_(\d{8}T\d{4}Z)_[0-9a-f]{8}\.log\.parquet$`)
)

func TestKeys(t *testing.T) {
	f := func(cfg Config, re *regexp.Regexp, wantObjects int) {
		var m memSink
		sum, err := Generate(cfg, &m)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Objects != wantObjects || len(m.keys) != wantObjects {
			t.Errorf("%d objects (%d keys), want %d", sum.Objects, len(m.keys), wantObjects)
		}
		logs := map[string]bool{}
		for _, k := range m.keys {
			g := re.FindStringSubmatch(k)
			if g == nil {
				t.Fatalf("key %q does not match %s", k, re)
			}
			ts, err := time.Parse("20060102T1504Z", g[len(g)-1])
			if err != nil {
				t.Fatal(err)
			}
			if ts.Before(cfg.Start) || !ts.Before(cfg.Start.Add(cfg.Duration)) {
				t.Errorf("key %q: time outside the data's span", k)
			}
			if dir := ts.Format("2006/01/02"); !strings.Contains(strings.NewReplacer("year=", "", "month=", "", "day=", "").Replace(k), dir) {
				t.Errorf("key %q: date directories do not match %s", k, dir)
			}
			if g[1] != g[len(g)-3] {
				t.Errorf("key %q: account differs between prefix and name", k)
			}
			logs[g[len(g)-2]] = true
		}
		if len(logs) != cfg.VPCs {
			t.Errorf("%d flow log ids, want one per VPC (%d)", len(logs), cfg.VPCs)
		}
	}
	// 2 hours over midnight: 24 intervals × 3 VPCs.
	f(Config{Records: 30000, Seed: 5, Start: testStart, Duration: 2 * time.Hour, VPCs: 3}, textKey, 72)
	f(Config{Records: 30000, Seed: 5, Start: testStart, Duration: 2 * time.Hour, VPCs: 4, ENIs: 40, Accounts: 3, Parquet: true, Hive: true}, hiveKey, 96)
}

func TestShape(t *testing.T) {
	const records = 60000
	recs, sum := observeAll(t, Config{Records: records, Seed: 42, Start: testStart, Format: mustFormat(t, "v8"), VPCs: 3, ENIs: 60})
	if len(recs) != records || sum.Records != records {
		t.Fatalf("observed %d records, summary %d, want %d", len(recs), sum.Records, records)
	}

	var ok, reject, noData, skipData, bpa, v6, noInstance, ecs int
	ifaceOf := map[netip.Addr]string{} // an interface's own address, from its egress records
	windows := map[string]int64{}      // flow log id → longest end - start
	enis := map[string]bool{}
	perENI := map[string]int{}
	for _, r := range recs {
		enis[r.eni] = true
		perENI[r.eni]++
		if r.instance == "" {
			noInstance++
		}
		if r.ecsTask != "" {
			ecs++
		}
		if r.version != 8 {
			t.Fatalf("version %d, want 8", r.version)
		}
		if r.end < r.start {
			t.Fatalf("end %d before start %d", r.end, r.start)
		}
		if r.start < testStart.Unix() || r.start >= testStart.Add(time.Hour).Unix() {
			t.Fatalf("start %d outside the hour generated", r.start)
		}
		log := strings.Split(r.key, "_")[3]
		windows[log] = max(windows[log], r.end-r.start)
		switch r.status {
		case flowlog.StatusNoData:
			noData++
			continue
		case flowlog.StatusSkipData:
			skipData++
			continue
		}
		ok++
		if r.action == flowlog.Reject {
			reject++
			if r.reason == "BPA" {
				bpa++
			}
		} else if r.reason != "" {
			t.Errorf("reject-reason %q on an ACCEPT record", r.reason)
		}
		if r.path != (r.dir == flowlog.Egress) {
			t.Fatalf("traffic-path present %v on a %s record", r.path, r.dir)
		}
		if r.packets == 0 || r.bytes < 40*r.packets || r.bytes > 1500*r.packets {
			t.Fatalf("%d bytes in %d packets", r.bytes, r.packets)
		}
		if r.typ == "IPv6" {
			v6++
			if !r.src.Is6() || !r.dst.Is6() {
				t.Errorf("IPv6 record with addresses %s %s", r.src, r.dst)
			}
		} else if !r.src.Is4() || !r.dst.Is4() || r.typ != "IPv4" {
			t.Errorf("type %q with addresses %s %s", r.typ, r.src, r.dst)
		}
		switch r.proto {
		case protoICMP:
			if r.srcPort != 0 || r.dstPort != 0 || r.flags != 0 {
				t.Errorf("ICMP record with ports %d %d flags %d", r.srcPort, r.dstPort, r.flags)
			}
		case protoUDP:
			if r.flags != 0 {
				t.Errorf("UDP record with tcp-flags %d", r.flags)
			}
		case protoTCP:
			if !slices.Contains([]uint16{0, 1, 2, 3, 4, 18, 19}, r.flags) {
				t.Errorf("TCP record with tcp-flags %d", r.flags)
			}
		default:
			t.Errorf("protocol %d", r.proto)
		}
		if r.dir == flowlog.Egress {
			ifaceOf[r.src] = r.eni
		}
		// Clients inside the VPC use Linux ephemeral ports.
		if slices.Contains([]uint16{5432, 3306, 6379, 27017, 53}, r.dstPort) && r.src.Is4() && r.src.As4()[0] == 10 &&
			(r.srcPort < 32768 || r.srcPort > 60999) {
			t.Errorf("client port %d to port %d", r.srcPort, r.dstPort)
		}
	}
	share := float64(reject) / float64(ok)
	t.Logf("OK %d, REJECT %.1f%%, BPA %d, NODATA %d, SKIPDATA %d, IPv6 %d, no instance %.1f%%, ECS %d, windows %v",
		ok, 100*share, bpa, noData, skipData, v6, 100*float64(noInstance)/float64(len(recs)), ecs, windows)
	if share < 0.05 || share > 0.15 {
		t.Errorf("REJECT share %.3f of OK records, want 0.05–0.15", share)
	}
	if noData == 0 || skipData == 0 || float64(noData+skipData) > 0.05*records {
		t.Errorf("NODATA %d, SKIPDATA %d: want some of each, under 5%%", noData, skipData)
	}
	if bpa == 0 || bpa > reject/4 {
		t.Errorf("%d BPA rejects of %d", bpa, reject)
	}
	if v6 == 0 || ecs == 0 {
		t.Errorf("%d IPv6 records, %d ECS records: want some", v6, ecs)
	}
	if noInstance == 0 || noInstance > len(recs)/2 {
		t.Errorf("%d of %d records without instance id: want a minority", noInstance, len(recs))
	}
	short, long := 0, 0
	for _, w := range windows {
		switch {
		case w <= 60:
			short++
		case w <= 600:
			long++
		default:
			t.Errorf("end - start = %d exceeds 600 s", w)
		}
	}
	if short == 0 || long == 0 {
		t.Errorf("aggregation windows %v: want both 60 s and 600 s flow logs", windows)
	}

	// Activity is skewed: the busiest tenth of the interfaces has over a
	// third of the records.
	counts := make([]int, 0, len(perENI))
	for _, n := range perENI {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	top := 0
	for _, n := range counts[:len(counts)/10] {
		top += n
	}
	if len(enis) != 60 || float64(top) < records/3.0 {
		t.Errorf("%d interfaces; the busiest tenth has %d of %d records", len(enis), top, records)
	}

	// Twins: an egress record at A to B's address has an ingress record at
	// B with the same 5-tuple and counts.
	type tuple struct {
		eni              string
		src, dst         netip.Addr
		srcPort, dstPort uint16
		proto            uint8
		packets, bytes   uint64
	}
	ingress := map[tuple]int{}
	for _, r := range recs {
		if r.status == flowlog.StatusOK && r.dir == flowlog.Ingress {
			ingress[tuple{r.eni, r.src, r.dst, r.srcPort, r.dstPort, r.proto, r.packets, r.bytes}]++
		}
	}
	intra, twins := 0, 0
	for _, r := range recs {
		b, ok := ifaceOf[r.dst]
		if r.status != flowlog.StatusOK || r.dir != flowlog.Egress || !ok || r.pktDst != r.dst || r.pktSrc != r.src {
			continue
		}
		intra++
		if ingress[tuple{b, r.src, r.dst, r.srcPort, r.dstPort, r.proto, r.packets, r.bytes}] > 0 {
			twins++
		}
	}
	if intra < records/10 || float64(twins) < 0.95*float64(intra) {
		t.Errorf("%d of %d intra-VPC egress records have an ingress twin", twins, intra)
	}

	// NAT gateways: pkt-dstaddr differs from dstaddr on some records.
	nat := 0
	for _, r := range recs {
		if r.status == flowlog.StatusOK && (r.pktDst != r.dst || r.pktSrc != r.src) {
			nat++
		}
	}
	if nat == 0 {
		t.Errorf("no record with pkt-srcaddr or pkt-dstaddr differing from srcaddr/dstaddr")
	}
}

func TestConfigErrors(t *testing.T) {
	f := func(cfg Config, want string) {
		t.Helper()
		_, err := Generate(cfg, discardSink{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one containing %q", err, want)
		}
	}
	f(Config{Records: 10}, "start time is required")
	f(Config{Records: 10, Start: testStart, Format: mustFormat(t, "srcaddr dstaddr bytes")}, "lacks required fields")
	f(Config{Records: 10, Start: testStart, Format: mustFormat(t, flowlog.DefaultFormat().String()+" interface-type")}, "not flow log fields")
	f(Config{Records: 10, Start: testStart, ENIs: 5, VPCs: 3}, "too few")
	f(Config{Records: 10, Start: testStart, Accounts: 4}, "accounts")
	f(Config{Records: -1, Start: testStart}, "negative")
}

func TestAZPrefix(t *testing.T) {
	f := func(region, want string) {
		t.Helper()
		if got := azPrefix(region); got != want {
			t.Errorf("azPrefix(%q) = %q, want %q", region, got, want)
		}
	}
	f("us-east-1", "use1")
	f("us-west-2", "usw2")
	f("eu-central-1", "euc1")
	f("ap-southeast-2", "apse2")
	f("ap-northeast-1", "apne1")
	f("sa-east-1", "sae1")
	f("us-gov-west-1", "usgw1")
	f("il-central-1", "ilc1")
}

func BenchmarkGenerate(b *testing.B) {
	f := func(name string, cfg Config) {
		b.Run(name, func(b *testing.B) {
			cfg.Start = testStart
			cfg.Seed = 1
			var sum Summary
			for b.Loop() {
				var err error
				if sum, err = Generate(cfg, discardSink{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cfg.Records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(sum.StoredBytes)/float64(sum.Records), "B/record")
			if sum.TextBytes > 0 && sum.StoredBytes != sum.TextBytes {
				b.ReportMetric(float64(sum.TextBytes)/float64(sum.StoredBytes), "ratio")
			}
		})
	}
	v5 := mustFormat(b, "v5")
	f("gzip-v2", Config{Records: 500000})
	f("gzip-v5", Config{Records: 500000, Format: v5})
	f("plain-v5", Config{Records: 500000, Format: v5, Plain: true})
	f("parquet-v5", Config{Records: 500000, Format: v5, Parquet: true})
}
