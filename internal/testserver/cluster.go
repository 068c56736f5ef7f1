package testserver

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/launch"
	"github.com/vpcflow/vpcflow/internal/tools"
)

// ClusterTenant is the tenant of Cluster's InsertURL and SelectURL, and
// the one Export and Totals read.
const ClusterTenant = "0"

// defaultStorageFlags are the flags each vmstorage starts with besides its
// data folder and addresses: deduplication at 1 ms (stored samples), no
// retention limit for historical timestamps.
var defaultStorageFlags = []string{
	"-dedup.minScrapeInterval=1ms",
	"-retentionPeriod=100y",
}

// defaultSelectFlags are vmselect's: deduplication at 1 ms (across
// vmstorage nodes, at query time), no caching or latency offset, so that
// just-written samples are queryable at once.
var defaultSelectFlags = []string{
	"-dedup.minScrapeInterval=1ms",
	"-search.disableCache",
	"-search.latencyOffset=0s",
}

// vminsertForward is how long vminsert may keep rows it acknowledged
// before it sends them on: each vmstorage's buffer is sent on a 200 ms
// ticker (with up to 10% jitter) in VictoriaMetrics' cluster version.
const vminsertForward = 250 * time.Millisecond

// ClusterOptions configures VictoriaMetricsClusterWith. Extra flags
// ("-name=value") are added to the defaults; one naming a default flag
// replaces it.
type ClusterOptions struct {
	// Nodes is the number of vmstorage nodes; default 2.
	Nodes int
	// StorageFlags are added to every vmstorage's flags.
	StorageFlags []string
	// NodeFlags[i] are added to vmstorage i's, after StorageFlags.
	NodeFlags map[int][]string
	// InsertFlags and SelectFlags are added to vminsert's and vmselect's.
	// With -httpAuth.username and -httpAuth.password among SelectFlags,
	// vmselect asks for basic auth, which the Cluster's own reads through
	// it (the start's wait, Export, Totals) send.
	InsertFlags, SelectFlags []string
}

// Cluster is a VictoriaMetrics cluster run by a test: vmstorage nodes, one
// vminsert and one vmselect, on 127.0.0.1.
type Cluster struct {
	// WriteURL is vminsert's base URL, http://127.0.0.1:PORT.
	WriteURL string
	// QueryURL is vmselect's base URL, http://127.0.0.1:PORT.
	QueryURL string
	// Storage are the vmstorage nodes, in the order of vminsert's and
	// vmselect's -storageNode lists.
	Storage []*StorageNode

	t           testing.TB
	insert, sel *launch.Process
	// selectUser and selectPassword are vmselect's basic auth, if any.
	selectUser, selectPassword string
}

// StorageNode is one vmstorage of a Cluster.
type StorageNode struct {
	// URL is the node's HTTP base URL, http://127.0.0.1:PORT: its /metrics,
	// /health and /internal/force_flush.
	URL string

	c *Cluster
	p *launch.Process
}

// VictoriaMetricsCluster starts a VictoriaMetrics cluster of nodes
// vmstorage (each with its own data folder and -dedup.minScrapeInterval=1ms
// -retentionPeriod=100y, plus extraStorageFlags), a vminsert and a vmselect
// (-dedup.minScrapeInterval=1ms -search.disableCache
// -search.latencyOffset=0s), waits until vmselect reaches every vmstorage
// and each accepts vminsert's connection, and stops them when the test
// ends.
//
// The binaries (tools.VMClusterVersion) are unpacked once into the
// cache from $VPCFLOW_VM_CLUSTER_DIR, by default ../shared/vm-cluster
// beside the repository root (tools.EnsureVMCluster). When that folder
// is absent and the cache lacks them, the test is skipped, even with
// VPCFLOW_REQUIRE_SERVERS=1: the cluster versions cannot be installed by
// `go tool mage tools`.
func VictoriaMetricsCluster(t testing.TB, nodes int, extraStorageFlags ...string) *Cluster {
	t.Helper()
	return VictoriaMetricsClusterWith(t, ClusterOptions{Nodes: nodes, StorageFlags: extraStorageFlags})
}

// VictoriaMetricsClusterWith is VictoriaMetricsCluster with per-node
// flags, and flags for vminsert and vmselect.
func VictoriaMetricsClusterWith(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	if o.Nodes <= 0 {
		o.Nodes = 2
	}
	binDir := clusterBinaries(t)
	dir := t.TempDir()
	c := &Cluster{t: t}
	t.Cleanup(func() {
		// vminsert and vmselect first: they would log the nodes going.
		for _, p := range c.procs() {
			p.Stop()
		}
		if t.Failed() {
			for _, p := range c.procs() {
				t.Logf("%s %s", p.Name(), launch.LogNote(p))
			}
		}
	})
	fail := func(p *launch.Process, err error) {
		t.Helper()
		t.Fatalf("start the VictoriaMetrics cluster: %v\n%s", err, launch.LogNote(p))
	}

	var insertNodes, selectNodes []string
	for i := range o.Nodes {
		name := "vmstorage " + strconv.Itoa(i)
		flags := mergeFlags(mergeFlags(defaultStorageFlags, o.StorageFlags), o.NodeFlags[i])
		p, err := launch.StartOnFreePorts(context.Background(), 3, func(ports []int) *launch.Process {
			http, ins, sel := launch.Loopback(ports[0]), launch.Loopback(ports[1]), launch.Loopback(ports[2])
			return vmProcess(name, filepath.Join(binDir, "vmstorage"), http, filepath.Join(dir, "vmstorage-"+strconv.Itoa(i)+".log"),
				append([]string{"-vminsertAddr=" + ins, "-vmselectAddr=" + sel, "-storageDataPath=" + filepath.Join(dir, "vmstorage-"+strconv.Itoa(i))}, flags...))
		})
		if p != nil {
			c.Storage = append(c.Storage, &StorageNode{URL: p.URL(), c: c, p: p})
		}
		if err != nil {
			fail(p, err)
		}
		insertNodes = append(insertNodes, flagValueOf(p.Args(), "vminsertAddr"))
		selectNodes = append(selectNodes, flagValueOf(p.Args(), "vmselectAddr"))
	}
	front := func(name string, defaults, extra []string, nodes []string) *launch.Process {
		t.Helper()
		flags := append([]string{"-storageNode=" + strings.Join(nodes, ",")}, mergeFlags(defaults, extra)...)
		p, err := launch.StartOnFreePorts(context.Background(), 1, func(ports []int) *launch.Process {
			return vmProcess(name, filepath.Join(binDir, name), launch.Loopback(ports[0]), filepath.Join(dir, name+".log"), flags)
		})
		if err != nil {
			fail(p, err)
		}
		return p
	}
	c.insert = front("vminsert", nil, o.InsertFlags, insertNodes)
	c.WriteURL = c.insert.URL()
	c.sel = front("vmselect", defaultSelectFlags, o.SelectFlags, selectNodes)
	c.selectUser, c.selectPassword = flagValueOf(c.sel.Args(), "httpAuth.username"), flagValueOf(c.sel.Args(), "httpAuth.password")
	c.QueryURL = c.sel.URL()
	if err := c.waitWhole(true); err != nil {
		t.Fatalf("start the VictoriaMetrics cluster: %v", err)
	}
	return c
}

// clusterBinaries returns the folder of the unpacked cluster binaries, or
// skips the test when they are not to be found.
func clusterBinaries(t testing.TB) string {
	t.Helper()
	src, err := tools.VMClusterDir(context.Background())
	if err != nil {
		t.Fatalf("find the VictoriaMetrics cluster binaries: %v", err)
	}
	dir, err := tools.EnsureVMCluster(src)
	if errors.Is(err, tools.ErrVMClusterMissing) {
		t.Skipf("VictoriaMetrics cluster binaries not found in %s (%v): put vminsert.gz, vmselect.gz and vmstorage.gz of %s there, "+
			"or name their folder in %s; this skips even with %s=1, since `go tool mage tools` cannot install them",
			src, err, tools.VMClusterVersion, tools.VMClusterDirEnv, RequireServersEnv)
	}
	if err != nil {
		t.Fatalf("unpack the VictoriaMetrics cluster binaries: %v", err)
	}
	return dir
}

// vmProcess is a VictoriaMetrics cluster program listening on addr for
// HTTP, with flags after -httpListenAddr.
func vmProcess(name, bin, addr, logPath string, flags []string) *launch.Process {
	return launch.New(launch.Spec{
		Name:       name,
		Bin:        bin,
		Args:       append([]string{"-httpListenAddr=" + addr}, flags...),
		Addr:       addr,
		HealthPath: "/health",
		HealthBody: "OK",
		LogPath:    logPath,
	})
}

// flagValueOf returns the value of -name=value in args.
func flagValueOf(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			return v
		}
	}
	return ""
}

// procs returns the cluster's processes, vminsert and vmselect first.
func (c *Cluster) procs() []*launch.Process {
	var ps []*launch.Process
	for _, p := range []*launch.Process{c.insert, c.sel} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	for _, n := range c.Storage {
		ps = append(ps, n.p)
	}
	return ps
}

// waitWhole waits until vmselect reaches every vmstorage (an export,
// which refuses partial answers, works) and, with conns, until each
// vmstorage counts a connection from vminsert (at start; after a restart
// vminsert reconnects only when it next has rows to send).
func (c *Cluster) waitWhole(conns bool) error {
	deadline := time.Now().Add(launch.HealthTimeout)
	for {
		err := c.whole(conns)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not whole after %s: %w", launch.HealthTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) whole(conns bool) error {
	if _, err := exportBodyAs(c.SelectURL()+"/api/v1/export", `{__name__="vpcflow_testserver_probe"}`, c.selectUser, c.selectPassword); err != nil {
		return fmt.Errorf("vmselect: %w", err)
	}
	if !conns {
		return nil
	}
	for _, n := range c.Storage {
		body, err := httpGet(n.URL+"/metrics", nil)
		if err != nil {
			return fmt.Errorf("%s: %w", n.p.Name(), err)
		}
		if !slices.ContainsFunc(strings.Split(string(body), "\n"), func(l string) bool {
			v, ok := strings.CutPrefix(l, "vm_vminsert_conns ")
			return ok && v != "0"
		}) {
			return fmt.Errorf("%s: no connection from vminsert yet", n.p.Name())
		}
	}
	return nil
}

// InsertURL returns vminsert's Prometheus remote write URL for
// ClusterTenant: WriteURL/insert/0/prometheus/api/v1/write.
func (c *Cluster) InsertURL() string {
	return c.WriteURL + "/insert/" + ClusterTenant + "/prometheus/api/v1/write"
}

// SelectURL returns vmselect's Prometheus API base for ClusterTenant:
// QueryURL/select/0/prometheus.
func (c *Cluster) SelectURL() string {
	return c.QueryURL + "/select/" + ClusterTenant + "/prometheus"
}

// StorageNodes returns the vmstorage nodes' HTTP base URLs.
func (c *Cluster) StorageNodes() []string {
	urls := make([]string, len(c.Storage))
	for i, n := range c.Storage {
		urls[i] = n.URL
	}
	return urls
}

// Flush makes every sample acknowledged so far queryable: it waits until
// vminsert has sent on what it acknowledged (it forwards every 200 ms),
// then asks each running vmstorage to flush (/internal/force_flush). It
// fails the test on error.
func (c *Cluster) Flush() {
	c.t.Helper()
	time.Sleep(vminsertForward)
	for _, n := range c.Storage {
		if n.Running() {
			n.Flush()
		}
	}
}

// Export returns every series of ClusterTenant matching the series
// selector match over all time, through vmselect (which deduplicates
// the samples of all nodes at 1 ms and refuses to answer without every
// vmstorage). It does not flush: call Flush first for fresh samples.
func (c *Cluster) Export(t testing.TB, match string) []ExportedSeries {
	t.Helper()
	body, err := exportBodyAs(c.SelectURL()+"/api/v1/export", match, c.selectUser, c.selectPassword)
	if err != nil {
		t.Fatal(err)
	}
	return parseExport(t, match, body)
}

// Totals is VM.Totals through vmselect: every exported sample value of the
// series matching match, summed by the values of the groupBy labels joined
// with "|".
func (c *Cluster) Totals(t testing.TB, match string, groupBy ...string) map[string]float64 {
	t.Helper()
	return totals(c.Export(t, match), groupBy)
}

// Flush flushes the node's in-memory samples to disk and makes them
// queryable (/internal/force_flush). It fails the test on error.
func (n *StorageNode) Flush() {
	n.c.t.Helper()
	if _, err := httpGet(n.URL+"/internal/force_flush", nil); err != nil {
		n.c.t.Fatalf("flush %s: %v", n.p.Name(), err)
	}
}

// Kill kills the vmstorage with SIGKILL, as a crash would: the samples it
// acknowledged to vminsert but had not yet saved to disk are lost. Start
// starts it again. Killing a stopped node does nothing.
func (n *StorageNode) Kill() { n.p.Kill() }

// Stop stops the vmstorage gracefully (SIGTERM, then SIGKILL after 5 s),
// keeping its data for Start. Stopping a stopped node does nothing.
func (n *StorageNode) Stop() { n.p.Stop() }

// Start starts the vmstorage again after Stop or Kill, on the same ports
// and data folder, and waits until vmselect reaches it again (when every
// other node runs). vminsert
// reconnects when it next has rows for it (it sends those rows to the
// other nodes meanwhile). Call it from the test's goroutine: it fails the
// test on error.
func (n *StorageNode) Start() {
	n.c.t.Helper()
	if err := n.TryStart(); err != nil {
		n.c.t.Fatal(err)
	}
}

// TryStart is Start returning its error instead of failing the test: use
// it from other goroutines.
func (n *StorageNode) TryStart() error {
	if err := n.p.Start(context.Background()); err != nil {
		return fmt.Errorf("restart %s: %w\n%s", n.p.Name(), err, launch.LogNote(n.p))
	}
	for _, other := range n.c.Storage {
		if !other.Running() {
			return nil // vmselect cannot answer whole
		}
	}
	if err := n.c.waitWhole(false); err != nil {
		return fmt.Errorf("restart %s: %w", n.p.Name(), err)
	}
	return nil
}

// Running reports whether the vmstorage process is running.
func (n *StorageNode) Running() bool { return n.p.Running() }

// LogTail returns the last lines of the vmstorage's log (all runs of it).
func (n *StorageNode) LogTail() string { return n.p.LogTail() }

// KillInsert kills vminsert with SIGKILL, as a crash would: rows it
// acknowledged and had not yet sent on to the vmstorage nodes are lost.
func (c *Cluster) KillInsert() { c.insert.Kill() }

// StartInsert starts vminsert again, on the same address, and waits until
// it is healthy. Call it from the test's goroutine: it fails the test on
// error.
func (c *Cluster) StartInsert() {
	c.t.Helper()
	if err := c.insert.Start(context.Background()); err != nil {
		c.t.Fatalf("restart vminsert: %v\n%s", err, launch.LogNote(c.insert))
	}
}
