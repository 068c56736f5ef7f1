package generate

import (
	"math"
	"math/rand/v2"
	"net/netip"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// flow is one generated record, kept compact: the interface supplies the
// metadata fields, and rendering turns it into text or a Parquet row.
type flow struct {
	eni              *iface
	status           flowlog.Status
	action           flowlog.ActionValue
	dir              flowlog.Direction
	bpa              bool  // reject-reason BPA
	proto            uint8 // IANA protocol number
	path             uint8 // traffic-path of an egress record; 0 when absent
	ssvc, dsvc       uint8 // AWS service of pkt-srcaddr and pkt-dstaddr
	tcpFlags         uint16
	srcPort, dstPort uint16
	src, dst         netip.Addr
	pktSrc, pktDst   netip.Addr
	packets, bytes   uint64
	start, end       int64
}

// Protocol numbers.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
)

// Traffic paths of egress records.
const (
	pathIntraVPC = 1 // through another resource in the same VPC
	pathIGW      = 2 // through an internet gateway or a gateway VPC endpoint
	pathVGW      = 3 // through a virtual private gateway
	pathGateway  = 7 // through a gateway VPC endpoint (Nitro instances)
	pathIGWNitro = 8 // through an internet gateway (Nitro instances)
)

// Conversation kinds: each is one connection (or probe) observed during one
// aggregation window, logged at every interface of the VPC it crosses.
const (
	kindDB       = iota // host → database, both interfaces logged
	kindService         // host → internal service (HTTP, gRPC)
	kindEndpoint        // host → interface VPC endpoint
	kindDNS             // host → Route 53 Resolver endpoint (UDP 53)
	kindLB              // internet → load balancer → target
	kindNAT             // private host → internet or AWS through a NAT gateway
	kindIGW             // public host → internet directly
	kindGateway         // private host → S3 or DynamoDB through a gateway endpoint
	kindInbound         // internet (admins, EC2 Instance Connect, users) → public host
	kindScan            // internet scanner → public interface, mostly rejected
	kindDenied          // host → host refused by a security group
	kindICMP            // ping between hosts
	kindV6              // IPv6 traffic to or from the internet
	kindVPN             // traffic to or from an on-premises network
	numKinds
)

type kindInfo struct {
	weight float64
	needs  []int // sets that must not be empty
}

// kinds weighs the conversation kinds. The weights set the traffic mix: with
// them about 10% of OK records are REJECT (mostly scans).
var kinds = [numKinds]kindInfo{
	kindDB:       {22, []int{setClients, setDBs}},
	kindService:  {10, []int{setClients, setServices}},
	kindEndpoint: {4, []int{setClients, setEndpoints}},
	kindDNS:      {4, []int{setClients, setResolvers}},
	kindLB:       {10, []int{setLBs, setServices}},
	kindNAT:      {10, []int{setPrivateHosts, setNATs}},
	kindIGW:      {4, []int{setPublicHosts}},
	kindGateway:  {8, []int{setPrivateHosts}},
	kindInbound:  {3, []int{setPublicHosts}},
	kindScan:     {36, []int{setScanTargets}},
	kindDenied:   {2, []int{setClients, setDBs}},
	kindICMP:     {1.5, []int{setClients, setDBs}},
	kindV6:       {1, []int{setV6Hosts}},
	kindVPN:      {2, []int{setServices}},
}

// leg is one direction of a connection.
type leg struct {
	src, dst       netip.Addr
	sport, dport   uint16
	packets, bytes uint64
	flags          uint16
}

// conv is the connection being generated.
type conv struct {
	proto      uint8
	start, dur int64
	fwd, rev   leg        // client → server, server → client
	client     netip.Addr // the client's address, for AWS service lookups
	server     netip.Addr
	clientSvc  uint8 // AWS service the client address belongs to
	serverSvc  uint8
	anchor     *iface // interface whose records use the connection's own times
	skew       int64  // start offset of the records at other interfaces
}

// shape describes the size and duration of a kind of connection.
type shape struct {
	minPkts, alpha float64    // Pareto packet count of the forward leg
	ratio          [2]float64 // reverse packets / forward packets
	fwdBpp, revBpp [2]float64 // bytes per packet of each leg
	long           float64    // share of long-lived flows (spanning the window)
	brief          int        // longest duration of a brief flow, seconds
}

var (
	shapeDB      = shape{2, 1.2, [2]float64{0.8, 1.6}, [2]float64{60, 400}, [2]float64{90, 1400}, 0.5, 5}
	shapeService = shape{3, 1.3, [2]float64{0.8, 1.5}, [2]float64{80, 600}, [2]float64{200, 1400}, 0.3, 8}
	shapeAPI     = shape{3, 1.15, [2]float64{0.8, 2}, [2]float64{80, 800}, [2]float64{300, 1450}, 0.2, 15}
	shapeWeb     = shape{4, 1.2, [2]float64{1, 2}, [2]float64{100, 700}, [2]float64{400, 1450}, 0.25, 20}
	shapeBulk    = shape{4, 1.05, [2]float64{0.4, 0.8}, [2]float64{120, 400}, [2]float64{1200, 1460}, 0.3, 30}
	shapeDNS     = shape{1, 3, [2]float64{1, 1}, [2]float64{60, 110}, [2]float64{90, 400}, 0.05, 1}
	shapeNTP     = shape{1, 4, [2]float64{1, 1}, [2]float64{76, 76}, [2]float64{76, 76}, 0, 1}
	shapeSSH     = shape{6, 1.3, [2]float64{0.9, 1.4}, [2]float64{52, 200}, [2]float64{52, 700}, 0.4, 30}
	shapeProbe   = shape{1, 3, [2]float64{0.5, 1}, [2]float64{44, 120}, [2]float64{40, 300}, 0, 3}
	shapePing    = shape{1, 1.5, [2]float64{1, 1}, [2]float64{84, 84}, [2]float64{84, 84}, 0.3, 10}
)

// scanPorts are the TCP ports scanners probe, by popularity.
var scanPorts = []uint16{22, 22, 22, 22, 22, 3389, 3389, 3389, 23, 23, 445, 445, 1433, 3306, 5900, 8080, 80, 443, 6379, 9200, 2375, 5432, 25, 8443, 21, 111, 8888, 7547}

// scanUDPPorts are the UDP ports scanners probe.
var scanUDPPorts = []uint16{53, 123, 161, 1900, 5060, 11211, 137}

// poolSize bounds the records waiting to be written. Records of a few
// conversations wait together and leave in random order, so that twin
// records are near each other but not adjacent, as in AWS objects.
const (
	poolSize = 32
	poolLow  = 16
)

// objectGen generates the records of one object: one VPC's flow log during
// one 5-minute interval.
type objectGen struct {
	rng    *rand.Rand
	topo   *topology
	vp     *vpc
	t0, t1 int64 // the interval, Unix seconds
	c      conv
	pool   [poolSize]flow
	n      int
}

// next returns the next traffic record (log-status OK).
func (g *objectGen) next(out *flow) {
	for g.n < poolLow {
		g.conversation()
	}
	i := g.rng.IntN(g.n)
	*out = g.pool[i]
	g.n--
	g.pool[i] = g.pool[g.n]
}

// statusRecord fills out with a NODATA or SKIPDATA record.
func (g *objectGen) statusRecord(out *flow, status flowlog.Status) {
	vp := g.vp
	var e *iface
	if status == flowlog.StatusNoData {
		e = vp.ifaces[vp.idle.pick(g.rng)]
	} else {
		e = vp.ifaces[g.rng.IntN(len(vp.ifaces))]
	}
	start := g.t0 + g.rng.Int64N(max(1, g.t1-g.t0))
	*out = flow{eni: e, status: status, start: start, end: start + vp.window - g.rng.Int64N(3)}
}

// conversation adds the records of one conversation to the pool.
func (g *objectGen) conversation() {
	g.c = conv{}
	switch g.vp.kinds.pick(g.rng) {
	case kindDB:
		g.database()
	case kindService:
		g.service()
	case kindEndpoint:
		c, s := g.iface(setClients), g.iface(setEndpoints)
		g.connect(protoTCP, c.addr, g.ephemeral(), s.addr, s.port)
		g.size(&shapeAPI)
		g.observe(c, s, pathIntraVPC, pathIntraVPC)
	case kindDNS:
		c, s := g.iface(setClients), g.iface(setResolvers)
		g.connect(protoUDP, c.addr, g.ephemeral(), s.addr, 53)
		g.size(&shapeDNS)
		g.observe(c, s, pathIntraVPC, pathIntraVPC)
	case kindLB:
		g.loadBalancer()
	case kindNAT:
		g.nat()
	case kindIGW:
		h := g.iface(setPublicHosts)
		g.outbound(h.addr)
		g.observe(h, nil, pathIGWNitro, 0)
	case kindGateway:
		g.gateway()
	case kindInbound:
		g.inbound()
	case kindScan:
		g.scan()
	case kindDenied:
		g.denied()
	case kindICMP:
		c, s := g.iface(setClients), g.iface(setDBs)
		g.connect(protoICMP, c.addr, 0, s.addr, 0)
		g.size(&shapePing)
		g.observe(c, s, pathIntraVPC, pathIntraVPC)
	case kindV6:
		g.ipv6()
	case kindVPN:
		g.vpn()
	}
}

// iface picks an interface of a set, by activity.
func (g *objectGen) iface(set int) *iface {
	return g.vp.ifaces[g.vp.sets[set].pick(g.rng)]
}

// skewed picks from a list so that the first entries come up most.
func (g *objectGen) skewed(list []netip.Addr) netip.Addr {
	u := g.rng.Float64()
	return list[int(u*u*u*float64(len(list)))]
}

// ephemeral returns a client port from the Linux ephemeral range.
func (g *objectGen) ephemeral() uint16 { return uint16(32768 + g.rng.IntN(61000-32768)) }

// pooledPort returns the client port of a pooled connection between two
// interfaces: the same few ports recur, as long-lived connections do.
func (g *objectGen) pooledPort(c, s *iface) uint16 {
	h := uint64(c.index)*0x9e3779b97f4a7c15 ^ uint64(s.index)*0xbf58476d1ce4e5b9 ^ uint64(g.rng.IntN(4))*0x94d049bb133111eb
	h ^= h >> 29
	return uint16(32768 + h%(61000-32768))
}

// connect starts a connection from client to server.
func (g *objectGen) connect(proto uint8, client netip.Addr, cport uint16, server netip.Addr, sport uint16) {
	c := &g.c
	c.proto = proto
	c.client, c.server = client, server
	c.fwd = leg{src: client, dst: server, sport: cport, dport: sport}
	c.rev = leg{src: server, dst: client, sport: sport, dport: cport}
	c.skew = g.rng.Int64N(2)
}

// size draws the packets, bytes, TCP flags and duration of the connection.
func (g *objectGen) size(s *shape) {
	c := &g.c
	rng := g.rng
	window := g.vp.window
	long := rng.Float64() < s.long
	limit := 3000 * float64(window) // about 36 Mbit/s at full size
	pf := s.minPkts * math.Pow(1-rng.Float64(), -1/s.alpha)
	if long {
		pf *= 4
	}
	pf = math.Min(pf, limit)
	pr := math.Max(1, pf*(s.ratio[0]+rng.Float64()*(s.ratio[1]-s.ratio[0])))
	c.fwd.packets = uint64(pf)
	c.rev.packets = uint64(pr)
	c.fwd.bytes = g.bytes(c.fwd.packets, s.fwdBpp)
	c.rev.bytes = g.bytes(c.rev.packets, s.revBpp)
	if long {
		c.dur = window - rng.Int64N(window/20+1)
	} else {
		c.dur = min(window, rng.Int64N(int64(s.brief)+1), int64(c.fwd.packets+c.rev.packets)-1)
	}
	c.start = g.t0 + rng.Int64N(max(1, g.t1-g.t0))
	if c.proto != protoTCP {
		return
	}
	x := rng.IntN(100)
	switch {
	case long && x < 80:
		c.fwd.flags, c.rev.flags = 0, 0
	case long && x < 90:
		c.fwd.flags, c.rev.flags = 1, 1 // FIN
	case long:
		c.fwd.flags, c.rev.flags = 2, 18 // SYN, SYN-ACK
	case x < 75:
		c.fwd.flags, c.rev.flags = 3, 19 // the whole connection in the window
	case x < 90:
		c.fwd.flags, c.rev.flags = 2, 18
	case x < 97:
		c.fwd.flags, c.rev.flags = 1, 1
	default:
		c.fwd.flags, c.rev.flags = 2, 4 // reset by the server
		c.rev.packets, c.rev.bytes = 1, 40
	}
}

// bytes returns the bytes of n packets of a size in the range bpp.
func (g *objectGen) bytes(n uint64, bpp [2]float64) uint64 {
	size := bpp[0] + g.rng.Float64()*(bpp[1]-bpp[0])
	return uint64(float64(n) * size)
}

// rec adds a record of leg l seen at interface e; the caller may adjust it
// (NAT gateways see other addresses than the packets carry).
func (g *objectGen) rec(e *iface, dir flowlog.Direction, l *leg, path uint8, action flowlog.ActionValue) *flow {
	c := &g.c
	if c.anchor == nil {
		c.anchor = e
	}
	start := c.start
	if e != c.anchor {
		start = min(start+c.skew, g.t1-1)
	}
	f := &g.pool[g.n]
	g.n++
	*f = flow{
		eni:      e,
		status:   flowlog.StatusOK,
		action:   action,
		dir:      dir,
		proto:    c.proto,
		tcpFlags: l.flags,
		srcPort:  l.sport,
		dstPort:  l.dport,
		src:      l.src,
		dst:      l.dst,
		pktSrc:   l.src,
		pktDst:   l.dst,
		packets:  l.packets,
		bytes:    l.bytes,
		start:    start,
		end:      start + c.dur,
		ssvc:     g.serviceOf(l.src),
		dsvc:     g.serviceOf(l.dst),
	}
	if dir == flowlog.Egress {
		f.path = path
	}
	return f
}

func (g *objectGen) serviceOf(a netip.Addr) uint8 {
	switch a {
	case g.c.client:
		return g.c.clientSvc
	case g.c.server:
		return g.c.serverSvc
	}
	return svcNone
}

// observe logs the connection at the client's interface and at the
// server's (nil when outside the VPC); pathC and pathS are their egress
// traffic paths.
func (g *objectGen) observe(client, server *iface, pathC, pathS uint8) {
	c := &g.c
	if client != nil {
		g.rec(client, flowlog.Egress, &c.fwd, pathC, flowlog.Accept)
		g.rec(client, flowlog.Ingress, &c.rev, 0, flowlog.Accept)
	}
	if server != nil {
		g.rec(server, flowlog.Ingress, &c.fwd, 0, flowlog.Accept)
		g.rec(server, flowlog.Egress, &c.rev, pathS, flowlog.Accept)
	}
}

// egressPath is the traffic path of an interface's egress to the internet.
func egressPath(e *iface) uint8 {
	switch {
	case e.role == roleNAT || e.role == roleLB:
		return pathIGW
	case e.subnet.public:
		return pathIGWNitro
	}
	return pathIntraVPC // through a NAT gateway
}

func (g *objectGen) database() {
	c, s := g.iface(setClients), g.iface(setDBs)
	port := g.ephemeral()
	if g.rng.IntN(10) < 7 {
		port = g.pooledPort(c, s)
	}
	g.connect(protoTCP, c.addr, port, s.addr, s.port)
	g.size(&shapeDB)
	g.observe(c, s, pathIntraVPC, pathIntraVPC)
}

func (g *objectGen) service() {
	c, s := g.iface(setClients), g.iface(setServices)
	if c == s {
		s = g.iface(setDBs)
	}
	g.connect(protoTCP, c.addr, g.ephemeral(), s.addr, s.port)
	g.size(&shapeService)
	g.observe(c, s, pathIntraVPC, pathIntraVPC)
}

// loadBalancer: a client on the internet (or CloudFront, or a Route 53
// health checker) calls a load balancer, which calls a target; or the load
// balancer health-checks a target.
func (g *objectGen) loadBalancer() {
	lb, target := g.iface(setLBs), g.iface(setServices)
	rng := g.rng
	if rng.IntN(10) == 0 {
		g.connect(protoTCP, lb.addr, g.ephemeral(), target.addr, target.port)
		g.size(&shapeProbe)
		g.observe(lb, target, pathIntraVPC, pathIntraVPC)
		return
	}
	var client netip.Addr
	svc := uint8(svcNone)
	switch x := rng.IntN(100); {
	case x < 85:
		client = g.skewed(g.topo.clients)
	case x < 95:
		svc = svcCloudFront
	default:
		svc = svcRoute53HealthChecks
	}
	if svc != svcNone {
		client = g.skewed(g.topo.services[svc])
	}
	port := uint16(443)
	if rng.IntN(5) == 0 {
		port = 80
	}
	g.connect(protoTCP, client, g.ephemeral(), lb.addr, port)
	g.c.clientSvc = svc
	g.size(&shapeWeb)
	g.observe(nil, lb, 0, pathIGW)
	// The proxied connection carries the same payload.
	front := g.c
	g.connect(protoTCP, lb.addr, g.ephemeral(), target.addr, target.port)
	g.c.fwd.packets, g.c.fwd.bytes, g.c.fwd.flags = front.fwd.packets, front.fwd.bytes, front.fwd.flags
	g.c.rev.packets, g.c.rev.bytes, g.c.rev.flags = front.rev.packets, front.rev.bytes, front.rev.flags
	g.c.start, g.c.dur = front.start, front.dur
	g.c.anchor = nil
	g.observe(lb, target, pathIntraVPC, pathIntraVPC)
}

// outbound connects host address a to a server on the internet.
func (g *objectGen) outbound(a netip.Addr) {
	switch x := g.rng.IntN(100); {
	case x < 80:
		g.connect(protoTCP, a, g.ephemeral(), g.skewed(g.topo.servers), 443)
		g.size(&shapeAPI)
	case x < 90:
		g.connect(protoTCP, a, g.ephemeral(), g.skewed(g.topo.servers), 80)
		g.size(&shapeAPI)
	case x < 95:
		g.connect(protoUDP, a, g.ephemeral(), g.skewed(g.topo.servers[:8]), 123)
		g.size(&shapeNTP)
	default:
		g.connect(protoTCP, a, g.ephemeral(), g.skewed(g.topo.servers), 22)
		g.size(&shapeSSH)
	}
}

// nat: a host in a private subnet reaches the internet or a public AWS
// service through a NAT gateway. The host's interface logs the connection
// as is; the NAT gateway's interface logs both sides of its translation,
// with pkt-srcaddr and pkt-dstaddr keeping the original addresses.
func (g *objectGen) nat() {
	h, n := g.iface(setPrivateHosts), g.iface(setNATs)
	rng := g.rng
	svc := uint8(svcNone)
	switch x := rng.IntN(100); {
	case x < 70:
	case x < 85:
		svc = svcAmazon
	case x < 93:
		svc = svcEC2
	default:
		svc = svcS3
	}
	if svc == svcNone {
		g.outbound(h.addr)
	} else {
		g.connect(protoTCP, h.addr, g.ephemeral(), g.skewed(g.topo.services[svc]), 443)
		g.c.serverSvc = svc
		shape := &shapeAPI
		if svc == svcS3 {
			shape = &shapeBulk
		}
		g.size(shape)
	}
	c := &g.c
	g.rec(h, flowlog.Egress, &c.fwd, pathIntraVPC, flowlog.Accept)
	g.rec(h, flowlog.Ingress, &c.rev, 0, flowlog.Accept)
	natPort := uint16(1024 + rng.IntN(65535-1024))
	f := g.rec(n, flowlog.Ingress, &c.fwd, 0, flowlog.Accept)
	f.dst = n.addr
	f = g.rec(n, flowlog.Egress, &c.fwd, pathIGW, flowlog.Accept)
	f.src, f.pktSrc, f.srcPort, f.ssvc = n.addr, n.addr, natPort, svcNone
	f = g.rec(n, flowlog.Ingress, &c.rev, 0, flowlog.Accept)
	f.dst, f.pktDst, f.dstPort, f.dsvc = n.addr, n.addr, natPort, svcNone
	f = g.rec(n, flowlog.Egress, &c.rev, pathIntraVPC, flowlog.Accept)
	f.src = n.addr
}

// gateway: a private host reaches S3 or DynamoDB through a gateway VPC
// endpoint, or through its NAT gateway when the VPC has none.
func (g *objectGen) gateway() {
	if !g.vp.gatewayEP && !g.vp.sets[setNATs].empty() {
		g.nat()
		return
	}
	h := g.iface(setPrivateHosts)
	svc, shape := uint8(svcS3), &shapeBulk
	if g.rng.IntN(100) < 35 {
		svc, shape = svcDynamoDB, &shapeAPI
	}
	g.connect(protoTCP, h.addr, g.ephemeral(), g.skewed(g.topo.services[svc]), 443)
	g.c.serverSvc = svc
	g.size(shape)
	if svc == svcS3 && g.rng.IntN(3) == 0 { // an upload: the bulk goes out
		g.c.fwd, g.c.rev = swapSizes(g.c.fwd, g.c.rev)
	}
	g.observe(h, nil, pathGateway, 0)
}

func swapSizes(a, b leg) (leg, leg) {
	a.packets, b.packets = b.packets, a.packets
	a.bytes, b.bytes = b.bytes, a.bytes
	return a, b
}

// inbound: administrators and EC2 Instance Connect reach bastions over
// SSH, users reach public web servers.
func (g *objectGen) inbound() {
	h := g.iface(setPublicHosts)
	switch x := g.rng.IntN(100); {
	case x < 45:
		g.connect(protoTCP, g.skewed(g.topo.admins), g.ephemeral(), h.addr, 22)
		g.size(&shapeSSH)
	case x < 65:
		g.connect(protoTCP, g.skewed(g.topo.services[svcEC2InstanceConnect]), g.ephemeral(), h.addr, 22)
		g.c.clientSvc = svcEC2InstanceConnect
		g.size(&shapeSSH)
	default:
		g.connect(protoTCP, g.skewed(g.topo.clients), g.ephemeral(), h.addr, 443)
		g.size(&shapeWeb)
	}
	g.observe(nil, h, 0, pathIGWNitro)
}

// scan: a scanner probes an internet-facing interface. Security groups
// reject most probes: one ingress record, a packet or two, no reply.
func (g *objectGen) scan() {
	t := g.iface(setScanTargets)
	rng := g.rng
	src := g.skewed(g.topo.scanners)
	sport := uint16(1024 + rng.IntN(65535-1024))
	switch x := rng.IntN(100); {
	case x < 88:
		port := scanPorts[rng.IntN(len(scanPorts))]
		g.connect(protoTCP, src, sport, t.addr, port)
		open := (t.role == roleLB && (port == 443 || port == 80)) || (t.role == roleApp && port == 22 && rng.IntN(8) == 0)
		if open {
			g.size(&shapeProbe)
			g.observe(nil, t, 0, egressPath(t))
			return
		}
		g.c.fwd.flags = 2
	case x < 94:
		g.connect(protoUDP, src, sport, t.addr, scanUDPPorts[rng.IntN(len(scanUDPPorts))])
	default:
		g.connect(protoICMP, src, 0, t.addr, 0)
	}
	c := &g.c
	c.fwd.packets = uint64(1 + rng.IntN(2))
	size := []uint64{40, 44, 60}[rng.IntN(3)]
	if c.proto == protoICMP {
		size = []uint64{60, 84}[rng.IntN(2)] // echo requests
	}
	c.fwd.bytes = c.fwd.packets * size
	c.start = g.t0 + rng.Int64N(max(1, g.t1-g.t0))
	c.dur = min(g.vp.window, rng.Int64N(int64(c.fwd.packets)*2))
	f := g.rec(t, flowlog.Ingress, &c.fwd, 0, flowlog.Reject)
	f.bpa = rng.IntN(100) < 8
}

// denied: a security group refuses a connection. Inside the VPC the client
// logs an accepted egress and the server a rejected ingress, without reply;
// now and then the client's own rules refuse an outbound connection.
func (g *objectGen) denied() {
	c := g.iface(setClients)
	rng := g.rng
	outbound := rng.IntN(100) < 15
	var s *iface
	if outbound {
		port := uint16(25)
		if rng.IntN(2) == 0 {
			port = 6667
		}
		g.connect(protoTCP, c.addr, g.ephemeral(), g.skewed(g.topo.servers), port)
	} else {
		s = g.iface(setDBs)
		port := s.port
		if rng.IntN(5) == 0 {
			port = []uint16{22, 3389, 5985}[rng.IntN(3)]
		}
		g.connect(protoTCP, c.addr, g.ephemeral(), s.addr, port)
	}
	x := &g.c
	x.fwd.packets = uint64(1 + rng.IntN(3)) // SYN and retries
	x.fwd.bytes = 60 * x.fwd.packets
	x.fwd.flags = 2
	x.start = g.t0 + rng.Int64N(max(1, g.t1-g.t0))
	x.dur = min(g.vp.window, int64(x.fwd.packets-1)*3)
	if outbound {
		g.rec(c, flowlog.Egress, &x.fwd, egressPath(c), flowlog.Reject)
		return
	}
	g.rec(c, flowlog.Egress, &x.fwd, pathIntraVPC, flowlog.Accept)
	g.rec(s, flowlog.Ingress, &x.fwd, 0, flowlog.Reject)
}

// ipv6: a dual-stack interface talks to the internet over IPv6.
func (g *objectGen) ipv6() {
	h := g.iface(setV6Hosts)
	peer := g.skewed(g.topo.servers6)
	if h.role == roleLB {
		g.connect(protoTCP, peer, g.ephemeral(), h.addr6, 443)
		g.size(&shapeWeb)
		g.observe(nil, h, 0, egressPath(h))
		return
	}
	g.connect(protoTCP, h.addr6, g.ephemeral(), peer, 443)
	g.size(&shapeAPI)
	g.observe(h, nil, egressPath(h), 0)
}

// vpn: on-premises clients call services in the VPC, and services call
// on-premises servers, through the virtual private gateway.
func (g *objectGen) vpn() {
	s := g.iface(setServices)
	peer := g.skewed(g.topo.onPrem)
	if g.rng.IntN(10) < 6 {
		g.connect(protoTCP, peer, g.ephemeral(), s.addr, s.port)
		g.size(&shapeService)
		g.observe(nil, s, 0, pathVGW)
		return
	}
	port := []uint16{1521, 445, 389, 443}[g.rng.IntN(4)]
	g.connect(protoTCP, s.addr, g.ephemeral(), peer, port)
	g.size(&shapeService)
	g.observe(s, nil, pathVGW, 0)
}
