package deploycheck

import (
	"bufio"
	"bytes"
	"net"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/internal/tools"
)

// clusterEnvFile is the env file that points the collector and Grafana at
// the cluster profile.
var clusterEnvFile = []string{"deploy", "cluster", "cluster.env"}

// readEnvFile reads a Compose env file: VAR=value lines, # comments.
func readEnvFile(t *testing.T, parts ...string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(ReadFile(t, parts...)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^\w+$`).MatchString(k) {
			t.Fatalf("%s: line %q is not VAR=value", filepath.Join(parts...), line)
		}
		env[k] = v
	}
	return env
}

// flagsOf returns a service's command flags, -name=value, by name.
func flagsOf(t *testing.T, name string, s composeService) map[string]string {
	t.Helper()
	flags := map[string]string{}
	for _, arg := range s.Command {
		k, v, ok := strings.Cut(interpolate(t, arg), "=")
		if !ok || !strings.HasPrefix(k, "-") {
			t.Errorf("%s: argument %q is not -flag=value", name, arg)
			continue
		}
		if _, dup := flags[k]; dup {
			t.Errorf("%s: %s given twice", name, k)
		}
		flags[k] = v
	}
	return flags
}

// portOf returns the port of a listen address flag (":8482").
func portOf(t *testing.T, name, flag, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		t.Errorf("%s: %s=%q: want [HOST]:PORT", name, flag, addr)
	}
	return port
}

// checkCluster checks the cluster profile: two vmstorage nodes, a vminsert
// and a vmselect of the cluster version the tests run
// (tools.VMClusterVersion); each vmstorage keeps its data on a volume of
// its own, with a retention, and deduplicates at 1ms; vminsert and vmselect
// list every node's vminsert and vmselect port; vmselect deduplicates at
// 1ms; no replication (docs/guarantees.md). The env file
// deploy/cluster/cluster.env sets only variables docker-compose.yml reads,
// and with it the collector's configuration writes through vminsert,
// queries vmselect, lists every vmstorage's HTTP address as storage_nodes
// and vminsert as insert_nodes, and is the single-node configuration
// otherwise; Grafana's flow log data source reads vmselect in the
// collector's tenant, and its Prometheus data source the single node that
// scrapes the collector.
func checkCluster(t *testing.T, c compose) {
	image := func(name, program string) {
		t.Helper()
		if want := "victoriametrics/" + program + ":" + tools.VMClusterVersion; c.Services[name].Image != want {
			t.Errorf("%s: image %s, want the version the tests run (%s)", name, c.Services[name].Image, want)
		}
	}
	var nodes []string
	for name := range c.Services {
		if strings.HasPrefix(name, "vmstorage-") {
			nodes = append(nodes, name)
		}
	}
	slices.Sort(nodes)
	if len(nodes) != 2 {
		t.Fatalf("vmstorage services %v, want two", nodes)
	}
	var insertTargets, selectTargets, httpNodes []string
	volumes := map[string]bool{}
	for _, name := range nodes {
		s := c.Services[name]
		image(name, "vmstorage")
		flags := flagsOf(t, name, s)
		if flags["-dedup.minScrapeInterval"] != "1ms" {
			t.Errorf("%s: -dedup.minScrapeInterval=%q: the collector needs 1ms", name, flags["-dedup.minScrapeInterval"])
		}
		if flags["-retentionPeriod"] == "" {
			t.Errorf("%s: no -retentionPeriod", name)
		}
		m, ok := s.mountAt(t, flags["-storageDataPath"])
		if !ok || m.bind || volumes[m.source] {
			t.Errorf("%s: -storageDataPath=%s is not on a volume of its own: %+v", name, flags["-storageDataPath"], m)
		}
		volumes[m.source] = true
		insertTargets = append(insertTargets, name+":"+portOf(t, name, "-vminsertAddr", flags["-vminsertAddr"]))
		selectTargets = append(selectTargets, name+":"+portOf(t, name, "-vmselectAddr", flags["-vmselectAddr"]))
		httpNodes = append(httpNodes, "http://"+name+":"+portOf(t, name, "-httpListenAddr", flags["-httpListenAddr"]))
	}
	fronts := map[string]string{}
	for name, want := range map[string][]string{"vminsert": insertTargets, "vmselect": selectTargets} {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		image(name, name)
		flags := flagsOf(t, name, s)
		got := strings.Split(flags["-storageNode"], ",")
		if !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("%s: -storageNode=%s, want every vmstorage's %s port: %s", name, flags["-storageNode"], name, strings.Join(want, ","))
		}
		if _, ok := flags["-replicationFactor"]; ok {
			t.Errorf("%s: -replicationFactor: the docs say there is no replication", name)
		}
		deps := s.dependsOn(t)
		for _, n := range nodes {
			if _, ok := deps[n]; !ok {
				t.Errorf("%s: does not depend on %s", name, n)
			}
		}
		fronts[name] = "http://" + name + ":" + portOf(t, name, "-httpListenAddr", flags["-httpListenAddr"])
	}
	if f := flagsOf(t, "vmselect", c.Services["vmselect"]); f["-dedup.minScrapeInterval"] != "1ms" {
		t.Errorf("vmselect: -dedup.minScrapeInterval=%q: the collector needs 1ms", f["-dedup.minScrapeInterval"])
	}

	// The env file sets variables docker-compose.yml reads.
	env := readEnvFile(t, clusterEnvFile...)
	composeText := string(ReadFile(t, "docker-compose.yml"))
	for k := range env {
		if !strings.Contains(composeText, "${"+k+":") && !strings.Contains(composeText, "${"+k+"}") {
			t.Errorf("%s sets %s, which docker-compose.yml does not read", filepath.Join(clusterEnvFile...), k)
		}
	}

	// The collector, with the env file: through vminsert and vmselect.
	col := c.Services["collector"]
	cfgPath := col.Command[2]
	single, _ := col.mountAt(t, cfgPath)
	m, ok := col.mountAtEnv(t, cfgPath, env)
	if !ok || filepath.Clean(m.source) == filepath.Clean(single.source) {
		t.Fatalf("with %s, the collector's configuration is %+v, the single node's", filepath.Join(clusterEnvFile...), m)
	}
	cfg, singleCfg := loadConfig(t, m.source), loadConfig(t, single.source)
	st := cfg.Storage
	if st.URL != "" || st.WriteURL != fronts["vminsert"] || st.QueryURL != fronts["vmselect"] {
		t.Errorf("%s: storage url %q write_url %q query_url %q, want write_url %s and query_url %s", m.source, st.URL, st.WriteURL, st.QueryURL, fronts["vminsert"], fronts["vmselect"])
	}
	if !slices.Equal(slices.Sorted(slices.Values(st.StorageNodes)), httpNodes) {
		t.Errorf("%s: storage_nodes %v, want every vmstorage: %v", m.source, st.StorageNodes, httpNodes)
	}
	if !slices.Equal(st.InsertNodes, []string{fronts["vminsert"]}) {
		t.Errorf("%s: insert_nodes %v, want [%s]", m.source, st.InsertNodes, fronts["vminsert"])
	}
	if cfg.StateDir != singleCfg.StateDir || cfg.Server.Listen != singleCfg.Server.Listen || !reflect.DeepEqual(cfg.Sources, singleCfg.Sources) {
		t.Errorf("%s: state_dir, server.listen or sources differ from %s's", m.source, single.source)
	}
	tenant := st.Tenant
	if tenant == "" {
		tenant = "0"
	}

	// Grafana, with the env file: the flow log data through vmselect.
	g := c.Services["grafana"]
	const dsTarget = "/etc/grafana/provisioning/datasources"
	ds, ok := g.mountAtEnv(t, dsTarget, env)
	if sds, _ := g.mountAt(t, dsTarget); !ok || !ds.readOnly || filepath.Clean(ds.source) == filepath.Clean(sds.source) {
		t.Fatalf("with %s, Grafana's data sources are %+v, the single node's", filepath.Join(clusterEnvFile...), ds)
	}
	checkDatasources(t, []string{filepath.Clean(ds.source), "vpcflow.yaml"}, fronts["vmselect"], tenant, "http://victoriametrics:8428")
}
