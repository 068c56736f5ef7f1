package generate

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
)

// role is what kind of resource owns a network interface.
type role uint8

const (
	roleApp      role = iota // EC2 instance serving an application
	roleDB                   // EC2 instance running a database
	roleECS                  // ECS task (awsvpc networking)
	roleLambda               // Lambda function's Hyperplane interface
	roleEndpoint             // interface VPC endpoint
	roleResolver             // Route 53 Resolver endpoint
	roleNAT                  // NAT gateway
	roleLB                   // load balancer node
	numRoles
)

// headRoles are the roles of a VPC's first interfaces, so that even a small
// VPC has the resources the traffic model needs.
var headRoles = []role{roleApp, roleDB, roleNAT, roleLB, roleApp, roleEndpoint, roleECS, roleResolver, roleLambda, roleDB, roleApp, roleECS}

// tailRoleWeights are the odds of each role for the remaining interfaces.
var tailRoleWeights = [numRoles]float64{
	roleApp: 40, roleDB: 10, roleECS: 15, roleLambda: 12, roleEndpoint: 6, roleResolver: 2, roleNAT: 3, roleLB: 6,
}

// roleActivity scales an interface's activity by its role: gateways and
// load balancers carry the traffic of many hosts.
var roleActivity = [numRoles]float64{
	roleApp: 1, roleDB: 1.5, roleECS: 1, roleLambda: 0.6, roleEndpoint: 0.8, roleResolver: 0.5, roleNAT: 3, roleLB: 3,
}

// iface is a network interface (ENI).
type iface struct {
	id       string // eni-…
	instance string // i-…, "" when the interface has no instance
	vpc      *vpc
	subnet   *subnet
	role     role
	addr     netip.Addr // primary private IPv4 address
	addr6    netip.Addr // IPv6 address; zero when it has none
	port     uint16     // the port it serves on (servers)
	weight   float64    // activity
	index    int        // position in its VPC
	dormant  bool       // never has traffic: only NODATA lines name it

	sublocType, sublocID string
	ecs                  *[numECSFields]string // ECS task metadata; nil when not a task
}

// numECSFields is the number of ecs-* fields (version 7).
const numECSFields = 10

// subnet is a subnet of a VPC.
type subnet struct {
	id     string
	az     string // AZ id, like use1-az4
	public bool   // routes to an internet gateway
	third  int    // third octet of its /20
	next   int    // next host number to give out
	gap    int    // largest step between host numbers
	v6     netip.Prefix
}

// vpc is a VPC with one flow log.
type vpc struct {
	index     int
	id        string
	account   string
	flowLogID string
	window    int64 // maximum aggregation interval, seconds
	octet     byte  // the VPC's CIDR is 10.octet.0.0/16
	subnets   []*subnet
	ifaces    []*iface
	weight    float64 // total activity
	vpn       bool    // has a VPN connection to an on-premises network
	gatewayEP bool    // has S3 and DynamoDB gateway endpoints

	sets  [numSets]weighted
	kinds weighted // conversation kinds, by index
	idle  weighted // interfaces that NODATA lines name
}

// The sets of interfaces that conversations pick from.
const (
	setClients      = iota // app, ECS and Lambda: initiate connections
	setDBs                 // database servers
	setServices            // app and ECS: serve other hosts and load balancers
	setEndpoints           // interface VPC endpoints
	setResolvers           // Route 53 Resolver endpoints
	setNATs                // NAT gateways
	setLBs                 // load balancer nodes
	setPrivateHosts        // hosts in private subnets (reach the internet through NAT)
	setPublicHosts         // app instances in public subnets
	setScanTargets         // interfaces with an internet-facing address
	setV6Hosts             // interfaces with an IPv6 address
	numSets
)

// weighted picks items with odds proportional to their weights.
type weighted struct {
	items []int
	cum   []float64
}

func (w *weighted) add(item int, weight float64) {
	total := 0.0
	if n := len(w.cum); n > 0 {
		total = w.cum[n-1]
	}
	w.items = append(w.items, item)
	w.cum = append(w.cum, total+weight)
}

func (w *weighted) empty() bool { return len(w.items) == 0 || w.cum[len(w.cum)-1] <= 0 }

func (w *weighted) pick(rng *rand.Rand) int {
	x := rng.Float64() * w.cum[len(w.cum)-1]
	lo, hi := 0, len(w.cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if w.cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return w.items[lo]
}

// topology is the generated estate: accounts, VPCs, subnets, interfaces and
// the outside world they talk to.
type topology struct {
	region string
	vpcs   []*vpc

	clients  []netip.Addr // internet users of the load balancers
	servers  []netip.Addr // internet servers the hosts call
	scanners []netip.Addr // internet scanners
	admins   []netip.Addr // administrators' addresses (SSH to bastions)
	servers6 []netip.Addr // IPv6 internet servers
	onPrem   []netip.Addr // on-premises hosts behind the VPN
	services [numServices][]netip.Addr
}

// AWS services as flow logs name them in pkt-src-aws-service and
// pkt-dst-aws-service.
const (
	svcNone = iota
	svcS3
	svcDynamoDB
	svcAmazon
	svcEC2
	svcCloudFront
	svcRoute53HealthChecks
	svcEC2InstanceConnect
	numServices
)

var serviceNames = [numServices]string{
	svcS3:                  "S3",
	svcDynamoDB:            "DYNAMODB",
	svcAmazon:              "AMAZON",
	svcEC2:                 "EC2",
	svcCloudFront:          "CLOUDFRONT",
	svcRoute53HealthChecks: "ROUTE53_HEALTHCHECKS",
	svcEC2InstanceConnect:  "EC2_INSTANCE_CONNECT",
}

// servicePrefixes are public AWS address ranges of each service (from AWS's
// ip-ranges.json for us-east-1; used whatever the region).
var servicePrefixes = [numServices][]string{
	svcS3:                  {"52.216.0.0/15", "3.5.0.0/19", "54.231.0.0/16", "16.182.0.0/16"},
	svcDynamoDB:            {"3.218.180.0/22", "52.94.0.0/22", "52.119.224.0/20"},
	svcAmazon:              {"54.239.0.0/16", "52.46.128.0/19", "72.21.192.0/19"},
	svcEC2:                 {"3.80.0.0/12", "54.144.0.0/14", "44.192.0.0/11"},
	svcCloudFront:          {"130.176.0.0/17", "64.252.64.0/18"},
	svcRoute53HealthChecks: {"54.243.31.192/26", "107.23.255.0/26"},
	svcEC2InstanceConnect:  {"18.206.107.24/29"},
}

// newTopology builds the estate of cfg; the same cfg gives the same estate.
func newTopology(cfg *Config) (*topology, error) {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x746f706f6c6f6779)) // "topology"
	t := &topology{region: cfg.Region}

	accounts := make([]string, cfg.Accounts)
	for i := range accounts {
		accounts[i] = fmt.Sprintf("%012d", 100000000000+rng.Int64N(900000000000))
	}
	azs := azIDs(cfg.Region)

	// Interfaces per VPC: skewed, at least minIfacesPerVPC each.
	counts := apportion(cfg.ENIs-minIfacesPerVPC*cfg.VPCs, cfg.VPCs, func(i int) float64 {
		return 1 / math.Pow(float64(i+1), 0.7)
	})
	octets := rng.Perm(256)
	for v := range cfg.VPCs {
		vp := &vpc{
			index:     v,
			id:        "vpc-" + hexID(rng),
			account:   accounts[v%len(accounts)],
			flowLogID: "fl-" + hexID(rng),
			window:    600,
			octet:     byte(octets[v%256]),
			vpn:       v == 0 || rng.IntN(2) == 0,
			gatewayEP: v == 0 || rng.IntN(3) != 0,
		}
		switch {
		case v == 1:
			vp.window = 60
		case v > 1 && rng.IntN(2) == 0:
			vp.window = 60
		}
		t.addSubnets(rng, vp, azs)
		if err := t.addIfaces(rng, vp, counts[v]+minIfacesPerVPC, cfg.Region); err != nil {
			return nil, err
		}
		t.vpcs = append(t.vpcs, vp)
	}
	t.weighIfaces(rng)

	t.clients = publicAddrs(rng, 4000)
	t.servers = publicAddrs(rng, 400)
	t.scanners = publicAddrs(rng, 600)
	t.admins = publicAddrs(rng, 12)
	for range 60 {
		t.servers6 = append(t.servers6, randomV6(rng, [4]byte{0x26, 0x06, 0x47, 0x00}))
	}
	for range 64 {
		t.onPrem = append(t.onPrem, netip.AddrFrom4([4]byte{172, byte(16 + rng.IntN(4)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))}))
	}
	for s := svcS3; s < numServices; s++ {
		for range 48 {
			p := netip.MustParsePrefix(servicePrefixes[s][rng.IntN(len(servicePrefixes[s]))])
			t.services[s] = append(t.services[s], randomIn(rng, p))
		}
	}
	for _, vp := range t.vpcs {
		t.prepare(vp)
	}
	return t, nil
}

// minIfacesPerVPC is the fewest interfaces a VPC gets.
const minIfacesPerVPC = 2

// addSubnets gives vp a public and one or two private subnets in each of
// three availability zones.
func (t *topology) addSubnets(rng *rand.Rand, vp *vpc, azs []string) {
	order := rng.Perm(len(azs))
	prefix6 := [16]byte{0x26, 0x00, 0x1f, 0x18, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}
	for a := range min(3, len(azs)) {
		az := azs[order[a]]
		private := 1 + rng.IntN(2)
		for k := range 1 + private {
			sn := &subnet{
				id:     "subnet-" + hexID(rng),
				az:     az,
				public: k == 0,
				third:  len(vp.subnets) * 16,
				next:   4, // AWS reserves the first four addresses
			}
			if sn.public {
				p := prefix6
				p[7] = byte(len(vp.subnets))
				sn.v6 = netip.PrefixFrom(netip.AddrFrom16(p), 64)
			}
			vp.subnets = append(vp.subnets, sn)
		}
	}
}

// addIfaces gives vp n interfaces.
func (t *topology) addIfaces(rng *rand.Rand, vp *vpc, n int, region string) error {
	var public, private []*subnet
	for _, sn := range vp.subnets {
		if sn.public {
			public = append(public, sn)
		} else {
			private = append(private, sn)
		}
	}
	for _, sn := range vp.subnets {
		// Spread hosts over the subnet's /20 when there are few of them.
		sn.gap = max(1, 2000/n)
	}
	var roundRobin [numRoles]int
	for i := range n {
		r := tailRole(rng)
		if i < len(headRoles) {
			r = headRoles[i]
		}
		e := &iface{id: "eni-" + hexID(rng), vpc: vp, role: r, index: i}
		onPublic := r == roleNAT || r == roleLB || (r == roleApp && rng.IntN(10) < 3)
		pool := private
		if onPublic {
			pool = public
		}
		// Round robin over the subnets, skipping full ones.
		for k := 0; ; k++ {
			if k == len(pool) {
				return fmt.Errorf("too many interfaces for the subnets of %s", vp.id)
			}
			e.subnet = pool[roundRobin[r]%len(pool)]
			roundRobin[r]++
			if e.subnet.next < 4095 {
				break
			}
		}
		host := e.subnet.next
		e.subnet.next += 1 + rng.IntN(e.subnet.gap)
		e.addr = netip.AddrFrom4([4]byte{10, vp.octet, byte(e.subnet.third + host>>8), byte(host)})
		if onPublic && r != roleNAT {
			e.addr6 = randomV6(rng, [4]byte{})
			b := e.addr6.As16()
			p := e.subnet.v6.Addr().As16()
			copy(b[:8], p[:8])
			e.addr6 = netip.AddrFrom16(b)
		}
		switch r {
		case roleApp, roleDB:
			e.instance = "i-" + hexID(rng)
			if rng.IntN(50) == 0 {
				e.sublocType, e.sublocID = "outpost", "op-"+hexID(rng)
			}
		case roleECS:
			e.ecs = ecsTask(rng, vp, region, e)
		}
		e.port = servicePort(rng, r)
		// A few interfaces sit idle: stopped tasks, spare instances, unused
		// endpoints.
		switch r {
		case roleApp, roleECS, roleLambda, roleEndpoint:
			e.dormant = i >= 4 && rng.IntN(12) == 0
		}
		vp.ifaces = append(vp.ifaces, e)
	}
	// Every VPC of some size has an idle interface for NODATA lines.
	for i := n - 1; i >= 4 && n >= 6; i-- {
		e := vp.ifaces[i]
		if e.dormant {
			break
		}
		if e.role == roleApp || e.role == roleECS || e.role == roleLambda {
			e.dormant = true
			break
		}
	}
	return nil
}

func tailRole(rng *rand.Rand) role {
	total := 0.0
	for _, w := range tailRoleWeights {
		total += w
	}
	x := rng.Float64() * total
	for r, w := range tailRoleWeights {
		if x < w {
			return role(r)
		}
		x -= w
	}
	return roleApp
}

// servicePort is the port an interface of role r serves on.
func servicePort(rng *rand.Rand, r role) uint16 {
	x := rng.IntN(100)
	switch r {
	case roleDB:
		switch {
		case x < 45:
			return 5432
		case x < 75:
			return 3306
		case x < 95:
			return 6379
		}
		return 27017
	case roleApp:
		switch {
		case x < 50:
			return 8080
		case x < 70:
			return 443
		case x < 85:
			return 80
		case x < 93:
			return 9090
		}
		return 50051
	case roleECS:
		switch {
		case x < 60:
			return 8080
		case x < 85:
			return 3000
		}
		return 8000
	case roleEndpoint, roleLB:
		return 443
	case roleResolver:
		return 53
	}
	return 0
}

var (
	ecsClusters = []string{"prod-web", "prod-workers", "payments"}
	ecsServices = []string{"web-api", "checkout", "worker", "auth", "search", "notifications"}
)

// ecsTask makes the ECS metadata of a task interface. Half the tasks run on
// Fargate (no instance), half on EC2 container instances.
func ecsTask(rng *rand.Rand, vp *vpc, region string, e *iface) *[numECSFields]string {
	cluster := ecsClusters[rng.IntN(len(ecsClusters))]
	service := ecsServices[rng.IntN(len(ecsServices))]
	arn := "arn:aws:ecs:" + region + ":" + vp.account + ":"
	taskID := hexN(rng, 32)
	var m [numECSFields]string
	m[0] = arn + "cluster/" + cluster
	m[1] = cluster
	fargate := rng.IntN(2) == 0
	if fargate {
		m[4] = taskID + "-" + fmt.Sprintf("%010d", rng.Int64N(1e10))
	} else {
		e.instance = "i-" + hexID(rng)
		ci := hexN(rng, 32)
		m[2] = arn + "container-instance/" + cluster + "/" + ci
		m[3] = ci
		m[4] = hexN(rng, 64)
	}
	if rng.IntN(10) < 3 {
		m[5] = hexN(rng, 64)
	}
	m[6] = service
	m[7] = arn + "task-definition/" + service + ":" + fmt.Sprint(1+rng.IntN(60))
	m[8] = arn + "task/" + cluster + "/" + taskID
	m[9] = taskID
	return &m
}

// weighIfaces gives every interface a Zipf-like activity: a random ranking,
// scaled by role. A VPC's weight is its interfaces' total.
func (t *topology) weighIfaces(rng *rand.Rand) {
	var all []*iface
	for _, vp := range t.vpcs {
		all = append(all, vp.ifaces...)
	}
	rank := rng.Perm(len(all))
	for i, e := range all {
		if e.dormant {
			continue
		}
		e.weight = roleActivity[e.role] / math.Pow(float64(rank[i]+1), 1.1)
		e.vpc.weight += e.weight
	}
}

// prepare fills vp's pick sets.
func (t *topology) prepare(vp *vpc) {
	for i, e := range vp.ifaces {
		if e.dormant {
			vp.idle.add(i, 1)
			continue
		}
		add := func(set int) { vp.sets[set].add(i, e.weight) }
		switch e.role {
		case roleApp, roleECS:
			add(setClients)
			add(setServices)
		case roleLambda:
			add(setClients)
		case roleDB:
			add(setDBs)
		case roleEndpoint:
			add(setEndpoints)
		case roleResolver:
			add(setResolvers)
		case roleNAT:
			add(setNATs)
		case roleLB:
			add(setLBs)
		}
		if !e.subnet.public && e.role <= roleLambda {
			add(setPrivateHosts)
		}
		if e.subnet.public && e.role == roleApp {
			add(setPublicHosts)
		}
		if e.role == roleLB || (e.subnet.public && e.role == roleApp) {
			vp.sets[setScanTargets].add(i, 1) // scanners sweep every address alike
		}
		if e.addr6.IsValid() {
			add(setV6Hosts)
		}
	}
	// NODATA names the dormant interfaces or, when there are none, the
	// quieter half of the others (quiet in the window it covers).
	if vp.idle.empty() {
		median := medianWeight(vp.ifaces)
		for i, e := range vp.ifaces {
			if e.weight <= median {
				vp.idle.add(i, 1)
			}
		}
	}
	for k := range numKinds {
		w := kinds[k].weight
		for _, set := range kinds[k].needs {
			if vp.sets[set].empty() {
				w = 0
			}
		}
		if k == kindVPN && !vp.vpn {
			w = 0
		}
		vp.kinds.add(k, w)
	}
}

func medianWeight(ifaces []*iface) float64 {
	w := make([]float64, len(ifaces))
	for i, e := range ifaces {
		w[i] = e.weight
	}
	slices.Sort(w)
	return w[len(w)/2]
}

// azIDs returns the availability zone ids of a region: "us-east-1" has
// use1-az1 … use1-az6, other regions three zones.
func azIDs(region string) []string {
	prefix := azPrefix(region)
	n := 3
	if region == "us-east-1" {
		n = 6
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-az%d", prefix, i+1)
	}
	return ids
}

// azPrefix abbreviates a region name the way AZ ids do: us-east-1 → use1,
// ap-southeast-2 → apse2, eu-central-1 → euc1, us-gov-west-1 → usgw1.
func azPrefix(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) < 3 {
		return strings.ReplaceAll(region, "-", "")
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for _, p := range parts[1 : len(parts)-1] {
		for _, dir := range []string{"north", "south", "east", "west", "central"} {
			if strings.HasPrefix(p, dir) {
				b.WriteByte(dir[0])
				p = p[len(dir):]
			}
		}
		if p != "" {
			b.WriteByte(p[0])
		}
	}
	b.WriteString(parts[len(parts)-1])
	return b.String()
}

// hexID returns the 17 hex digits of a new-style AWS resource id.
func hexID(rng *rand.Rand) string {
	return fmt.Sprintf("0%016x", rng.Uint64())
}

// hexN returns n random hex digits.
func hexN(rng *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[rng.IntN(16)]
	}
	return string(b)
}

// publicAddrs returns n distinct-looking public IPv4 addresses.
func publicAddrs(rng *rand.Rand, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = randomPublic(rng)
	}
	return out
}

// randomPublic returns a random globally routable IPv4 address.
func randomPublic(rng *rand.Rand) netip.Addr {
	for {
		a := netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
		if !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() && !reserved(a) {
			return a
		}
	}
}

var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

func reserved(a netip.Addr) bool {
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// randomIn returns a random host address inside the IPv4 prefix p.
func randomIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	size := uint32(1) << (32 - p.Bits())
	n := base + 1 + uint32(rng.IntN(int(max(1, size-2))))
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// randomV6 returns a random IPv6 address starting with the given 4 bytes.
func randomV6(rng *rand.Rand, head [4]byte) netip.Addr {
	var b [16]byte
	copy(b[:4], head[:])
	x, y := rng.Uint64(), rng.Uint64()
	for i := range 4 {
		b[4+i] = byte(x >> (8 * i))
	}
	for i := range 8 {
		b[8+i] = byte(y >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// apportion splits total into n integer parts proportional to weight(i),
// by largest remainder; ties go to the lower index.
func apportion(total, n int, weight func(i int) float64) []int {
	out := make([]int, n)
	if n == 0 || total <= 0 {
		return out
	}
	w := make([]float64, n)
	sum := 0.0
	for i := range w {
		w[i] = weight(i)
		sum += w[i]
	}
	rem := make([]float64, n)
	order := make([]int, n)
	given := 0
	for i := range w {
		exact := float64(total) * w[i] / sum
		out[i] = int(exact)
		rem[i] = exact - float64(out[i])
		order[i] = i
		given += out[i]
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for i := 0; given < total; i++ {
		out[order[i%n]]++
		given++
	}
	return out
}
