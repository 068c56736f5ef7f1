package entitysync_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/entitysync"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

const (
	account = testserver.EC2Account // what the EC2 server answers as the owner
	region  = "us-east-1"
)

// hexID returns prefix and 17 hex digits made of n: an id shaped as AWS's.
func hexID(prefix string, n int) string { return fmt.Sprintf("%s%017x", prefix, n) }

// fixture is 2 zones, 2 VPCs, 3 subnets, 4 interfaces (2 attached to one
// instance, a NAT gateway's) and 2 instances, named, some with a Team
// tag.
func fixture() testserver.EC2Data {
	var d testserver.EC2Data
	d.AvailabilityZones = []testserver.AvailabilityZone{{Name: "us-east-1a", ID: "use1-az6", Region: region}, {Name: "us-east-1b", ID: "use1-az1", Region: region}}
	for i := range 2 {
		d.VPCs = append(d.VPCs, testserver.VPC{ID: hexID("vpc-", i), Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("vpc %d", i)}, {Key: "Team", Value: "net"}}})
	}
	for i := range 3 {
		z := d.AvailabilityZones[i%2]
		d.Subnets = append(d.Subnets, testserver.Subnet{ID: hexID("subnet-", i), VPCID: d.VPCs[i%2].ID, AZ: z.Name, AZID: z.ID, Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("subnet %d", i)}}})
	}
	for i := range 4 {
		n := d.Subnets[i%3]
		eni := testserver.NetworkInterface{ID: hexID("eni-", i), SubnetID: n.ID, VPCID: n.VPCID, AZ: n.AZ, Description: fmt.Sprintf("interface %d", i),
			PrivateIPs: []string{fmt.Sprintf("10.1.0.%d", 10+i)}, Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("eni %d", i)}}}
		switch i {
		case 0, 1:
			eni.InstanceID = hexID("i-", 0)
		case 2:
			eni.InterfaceType = "nat_gateway"
		}
		d.NetworkInterfaces = append(d.NetworkInterfaces, eni)
	}
	for i := range 2 {
		n := d.Subnets[i]
		d.Instances = append(d.Instances, testserver.Instance{ID: hexID("i-", i), SubnetID: n.ID, VPCID: n.VPCID, AZ: n.AZ,
			Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("web-%d", i)}, {Key: "Team", Value: "web"}}})
	}
	return d
}

// keys are the static credentials every test target uses.
var keys = source.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}

// target returns the target of ec2 for an account.
func target(ec2 *testserver.EC2Server, acct string) entitysync.Target {
	return entitysync.Target{Account: acct, Region: region, Credentials: keys, Endpoint: ec2.URL, From: "sync.accounts[0]"}
}

// config returns a sync section listing the targets' accounts and
// regions, with quick retries.
func config(targets ...entitysync.Target) entitysync.Config {
	on := true
	c := entitysync.DefaultConfig()
	c.Enabled, c.Tags, c.MaxBackoff, c.Timeout = &on, []string{"Team"}, time.Millisecond, 20*time.Second
	for _, t := range targets {
		c.Accounts = append(c.Accounts, entitysync.Account{AccountID: t.Account, Regions: []string{t.Region}, Credentials: t.Credentials, Endpoint: t.Endpoint})
	}
	return c
}

// store returns a vmclient for vm.
func store(t *testing.T, vm *testserver.VM) *vmclient.Client {
	t.Helper()
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// infoSeries returns the vpcflow_entity_info series in vm, each as its
// entity_id, its labels but __name__, and its sample times.
type infoSeries struct {
	labels map[string]string
	times  []int64
}

func info(t *testing.T, vm *testserver.VM, match string) map[string][]infoSeries {
	t.Helper()
	vm.Flush()
	out := map[string][]infoSeries{}
	for _, s := range vm.Export(t, match) {
		delete(s.Metric, "__name__")
		for _, v := range s.Values {
			if v != 1 {
				t.Errorf("%v: value %v, want 1", s.Metric, v)
			}
		}
		out[s.Metric["entity_id"]] = append(out[s.Metric["entity_id"]], infoSeries{s.Metric, s.Timestamps})
	}
	for _, ss := range out {
		slices.SortFunc(ss, func(a, b infoSeries) int { return int(a.times[0] - b.times[0]) })
	}
	return out
}

// TestRoundWritesSeries: a round describes the account·region and
// writes one vpcflow_entity_info series per entity, with the labels of
// the contract (docs/names.md), stamped at the sync's start.
func TestRoundWritesSeries(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ec2 := testserver.EC2(t, fixture())
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	var printed []string
	r := entitysync.New(entitysync.Options{Config: config(target(ec2, account)), Store: store(t, vm), Now: func() time.Time { return at },
		OnOutcome: func(o entitysync.Outcome) { printed = append(printed, o.String()) }})
	outs := r.Round(context.Background())
	if len(outs) != 1 || !outs[0].OK() {
		t.Fatalf("outcomes %v", outs)
	}
	want := account + "/us-east-1: 2 VPCs, 3 subnets, 4 interfaces, 2 instances, 2 AZs synced (13 series written)"
	if len(printed) != 1 || printed[0] != want {
		t.Errorf("printed %q, want %q", printed, want)
	}
	got := info(t, vm, awssync.MetricName)
	if len(got) != 13 {
		t.Fatalf("%d entities in VictoriaMetrics, want 13: %v", len(got), got)
	}
	base := map[string]string{"account_id": account, "region": region}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for id, wantLabels := range map[string]map[string]string{
		hexID("vpc-", 1):    with("entity_type", "vpc", "entity_id", hexID("vpc-", 1), "name", "vpc 1", "tag_Team", "net"),
		hexID("subnet-", 2): with("entity_type", "subnet", "entity_id", hexID("subnet-", 2), "name", "subnet 2", "vpc_id", hexID("vpc-", 0), "az_id", "use1-az6"),
		hexID("eni-", 1): with("entity_type", "interface", "entity_id", hexID("eni-", 1), "name", "eni 1", "description", "interface 1",
			"vpc_id", hexID("vpc-", 1), "subnet_id", hexID("subnet-", 1), "az_id", "use1-az1", "instance_id", hexID("i-", 0), "interface_type", "interface"),
		hexID("eni-", 2): with("entity_type", "interface", "entity_id", hexID("eni-", 2), "name", "eni 2", "description", "interface 2",
			"vpc_id", hexID("vpc-", 0), "subnet_id", hexID("subnet-", 2), "az_id", "use1-az6", "interface_type", "nat_gateway"),
		hexID("i-", 1): with("entity_type", "instance", "entity_id", hexID("i-", 1), "name", "web-1", "tag_Team", "web",
			"vpc_id", hexID("vpc-", 1), "subnet_id", hexID("subnet-", 1), "az_id", "use1-az1"),
		"use1-az1": with("entity_type", "az", "entity_id", "use1-az1", "name", "us-east-1b"),
	} {
		ss := got[id]
		if len(ss) != 1 || !reflect.DeepEqual(ss[0].labels, wantLabels) || !slices.Equal(ss[0].times, []int64{at.UnixMilli()}) {
			t.Errorf("%s: %v\nwant labels %v at %d", id, ss, wantLabels, at.UnixMilli())
		}
	}
	st := r.Status().Targets()
	if len(st) != 1 || !st[0].Up || st[0].Runs != 1 || st[0].LastSuccess.IsZero() || st[0].Entities[awssync.KindInterface] != 4 || st[0].Entities[awssync.KindAZ] != 2 {
		t.Errorf("status %+v", st)
	}
}

// TestDirectoryFilled: each account·region synced fills the directory
// the pipeline reads pair owners from; a sync that could not describe the
// interfaces, or that described another account's, leaves it as it was.
func TestDirectoryFilled(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ec2 := testserver.EC2(t, fixture())
	dir := awssync.NewDirectory()
	r := entitysync.New(entitysync.Options{Config: config(target(ec2, account)), Store: store(t, vm), Directory: dir})
	if outs := r.Round(context.Background()); len(outs) != 1 || !outs[0].OK() {
		t.Fatalf("outcomes %v", outs)
	}
	owner := func() string { o, _ := dir.Owner(hexID("vpc-", 1), "10.1.0.11"); return o }
	if got, want := owner(), hexID("eni-", 1); got != want {
		t.Errorf("owner of 10.1.0.11 = %q, want %q", got, want)
	}
	if m, ok := dir.Interface(hexID("eni-", 2)); !ok || m.VPC != hexID("vpc-", 0) || m.Subnet != hexID("subnet-", 2) {
		t.Errorf("interface eni 2: %+v, %v", m, ok)
	}

	// Denied: the interfaces it knew stay.
	ec2.Deny(testserver.EC2DescribeNetworkInterfaces)
	if o := r.SyncOne(context.Background(), target(ec2, account)); o.OK() {
		t.Fatalf("outcome %v, want the permission missing", o)
	}
	if got := owner(); got != hexID("eni-", 1) {
		t.Errorf("after a denied sync: owner %q, want it kept", got)
	}
	// Allowed again, the interface gone: forgotten.
	ec2.Allow(testserver.EC2DescribeNetworkInterfaces)
	d := fixture()
	d.NetworkInterfaces = slices.DeleteFunc(d.NetworkInterfaces, func(n testserver.NetworkInterface) bool { return n.ID == hexID("eni-", 1) })
	ec2.Load(d)
	if o := r.SyncOne(context.Background(), target(ec2, account)); !o.OK() {
		t.Fatalf("outcome %v", o)
	}
	if got := owner(); got != "" {
		t.Errorf("after the interface went: owner %q, want none", got)
	}
}

// TestRenameAndDelete: an interface renamed between two syncs keeps its
// old name for the time before and has its new one after; an instance
// deleted keeps its samples up to the last sync that saw it. A reader
// following docs/names.md (last_over_time over the range plus the
// interval) finds the name each had over each range.
func TestRenameAndDelete(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ec2 := testserver.EC2(t, fixture())
	t1 := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	t2 := t1.Add(time.Hour)
	now := t1
	cfg := config(target(ec2, account))
	vmc := store(t, vm)
	r := entitysync.New(entitysync.Options{Config: cfg, Store: vmc, Now: func() time.Time { return now }})
	if outs := r.Round(context.Background()); !outs[0].OK() {
		t.Fatal(outs[0])
	}
	d := fixture()
	eni, gone := hexID("eni-", 3), hexID("i-", 1)
	d.NetworkInterfaces[3].Tags = []testserver.EC2Tag{{Key: "Name", Value: "eni 3 renamed"}}
	d.Instances = d.Instances[:1]
	ec2.Load(d)
	now = t2
	if outs := r.Round(context.Background()); !outs[0].OK() {
		t.Fatal(outs[0])
	}
	got := info(t, vm, awssync.MetricName)
	if ss := got[eni]; len(ss) != 2 || ss[0].labels["name"] != "eni 3" || !slices.Equal(ss[0].times, []int64{t1.UnixMilli()}) ||
		ss[1].labels["name"] != "eni 3 renamed" || !slices.Equal(ss[1].times, []int64{t2.UnixMilli()}) {
		t.Errorf("renamed interface: %v", ss)
	}
	if ss := got[gone]; len(ss) != 1 || !slices.Equal(ss[0].times, []int64{t1.UnixMilli()}) {
		t.Errorf("deleted instance: %v", ss)
	}
	if ss := got[hexID("i-", 0)]; len(ss) != 1 || !slices.Equal(ss[0].times, []int64{t1.UnixMilli(), t2.UnixMilli()}) {
		t.Errorf("an instance kept: %v", ss)
	}

	// The reader's join: the names over [from, to) are
	// last_over_time(vpcflow_entity_info[to - from + interval]) at to.
	names := func(id string, from, to time.Time) []string {
		t.Helper()
		window := to.Sub(from) + cfg.Interval
		res, err := vmc.Instant(context.Background(), fmt.Sprintf(`last_over_time(%s{entity_id=%q}[%ds])`, awssync.MetricName, id, int(window.Seconds())), to)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range res {
			out = append(out, s.Labels["name"])
		}
		slices.Sort(out)
		return out
	}
	f := func(id string, from, to time.Time, want ...string) {
		t.Helper()
		if got := names(id, from, to); !slices.Equal(got, want) {
			t.Errorf("names of %s over [%s, %s): %q, want %q", id, from.Format(time.TimeOnly), to.Format(time.TimeOnly), got, want)
		}
	}
	half := 30 * time.Minute
	f(eni, t1, t1.Add(half), "eni 3")                              // before the rename
	f(eni, t2, t2.Add(half), "eni 3 renamed")                      // after it
	f(eni, t1, t2.Add(half), "eni 3", "eni 3 renamed")             // across it: both, the latest sample names it now
	f(gone, t1, t1.Add(half), "web-1")                             // while it existed
	f(gone, t2.Add(cfg.Interval+time.Minute), t2.Add(2*time.Hour)) // long after it was deleted: no name
}

// TestThrottlingRetried: EC2 throttling (RequestLimitExceeded) is
// retried with backoff and the sync succeeds; past the attempts it fails
// with the reason throttled.
func TestThrottlingRetried(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ec2 := testserver.EC2(t, fixture())
	cfg := config(target(ec2, account))
	r := entitysync.New(entitysync.Options{Config: cfg, Store: store(t, vm)})
	ec2.Throttle(4)
	if o := r.SyncOne(context.Background(), target(ec2, account)); !o.OK() || o.Series != 13 {
		t.Fatalf("throttled 4 times: %v", o)
	}
	if n := ec2.Requests(testserver.EC2DescribeAvailabilityZones); n != 5 {
		t.Errorf("DescribeAvailabilityZones sent %d times, want 5 (4 throttled)", n)
	}
	cfg.MaxAttempts = 2
	r = entitysync.New(entitysync.Options{Config: cfg, Store: store(t, vm)})
	ec2.Throttle(1000)
	o := r.SyncOne(context.Background(), target(ec2, account))
	if o.OK() || o.Reason() != entitysync.ReasonThrottled || !strings.Contains(o.Err.Error(), "RequestLimitExceeded") {
		t.Errorf("throttled past the attempts: %v (reason %s)", o, o.Reason())
	}
}

// TestFailures: each failure is classified and kept for /metrics; a
// missing permission leaves what the other actions found written, a
// wrong account writes nothing.
func TestFailures(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	tests := []struct {
		name       string
		setup      func(*testserver.EC2Server, *entitysync.Target)
		store      func(*testing.T) entitysync.Writer
		reason     string
		msg        []string
		series     int
		wantKinds  map[awssync.Kind]int // the entities kept for /metrics
		serverOpts []testserver.EC2Option
	}{
		{name: "missing permission", setup: func(s *testserver.EC2Server, _ *entitysync.Target) { s.Deny(testserver.EC2DescribeInstances) },
			reason: entitysync.ReasonAccessDenied, series: 11,
			msg:       []string{"permission ec2:DescribeInstances is missing", "reports lose instance names"},
			wantKinds: map[awssync.Kind]int{awssync.KindVPC: 2, awssync.KindSubnet: 3, awssync.KindInterface: 4, awssync.KindAZ: 2}},
		{name: "wrong account", serverOpts: []testserver.EC2Option{testserver.EC2AccountOption("999999999999")},
			reason: entitysync.ReasonWrongAccount,
			msg:    []string{"describe the interfaces and instances of account 999999999999, not " + account, "nothing written", "list " + account + " in sync.accounts"}},
		{name: "credentials", setup: func(_ *testserver.EC2Server, tg *entitysync.Target) {
			tg.Credentials = source.Credentials{AccessKeyIDEnv: "VPCFLOW_TEST_NO_SUCH_VAR", SecretAccessKey: "x"}
		}, reason: entitysync.ReasonCredentials, msg: []string{"credentials.access_key_id", "VPCFLOW_TEST_NO_SUCH_VAR"}},
		{name: "unreachable", setup: func(_ *testserver.EC2Server, tg *entitysync.Target) { tg.Endpoint = closedURL(t) },
			reason: entitysync.ReasonUnreachable, msg: []string{"connection refused"}},
		{name: "storage", store: func(t *testing.T) entitysync.Writer {
			c, err := vmclient.New(vmclient.Config{URL: closedURL(t)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, reason: entitysync.ReasonStorage, msg: []string{"write the entity series"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ec2 := testserver.EC2(t, fixture(), tt.serverOpts...)
			tg := target(ec2, account)
			if tt.setup != nil {
				tt.setup(ec2, &tg)
			}
			var w entitysync.Writer = store(t, vm)
			if tt.store != nil {
				w = tt.store(t)
			}
			cfg := config(tg)
			cfg.MaxAttempts, cfg.Timeout = 2, 3*time.Second
			var log bytes.Buffer
			r := entitysync.New(entitysync.Options{Config: cfg, Store: w, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			o := r.SyncOne(context.Background(), tg)
			if o.OK() || o.Reason() != tt.reason || o.Series != tt.series {
				t.Fatalf("outcome %v: reason %q series %d, want %q and %d", o, o.Reason(), o.Series, tt.reason, tt.series)
			}
			for _, m := range tt.msg {
				if !strings.Contains(o.Err.Error(), m) || !strings.Contains(log.String(), m) {
					t.Errorf("error %q (log %q) should say %q", o.Err, log.String(), m)
				}
			}
			if !strings.Contains(log.String(), "reason="+tt.reason) {
				t.Errorf("log %q lacks the reason", log.String())
			}
			st := r.Status().Targets()
			if len(st) != 1 || st[0].Up || st[0].Errors[tt.reason] != 1 || !st[0].LastSuccess.IsZero() || st[0].LastError == "" {
				t.Errorf("status %+v", st)
			}
			for _, k := range entitysync.Kinds {
				if st[0].Entities[k] != tt.wantKinds[k] {
					t.Errorf("status entities %v, want %v", st[0].Entities, tt.wantKinds)
					break
				}
			}
		})
	}
}

// closedURL returns the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// TestMetricsIntoVictoriaMetrics: /metrics' sync series parse in a real
// VictoriaMetrics (its Prometheus text parser) and say what happened:
// per account·region up, since, last success, duration, entities per
// kind, runs and errors by reason (every reason, 0 included).
func TestMetricsIntoVictoriaMetrics(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	st := entitysync.NewStatus()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ok := entitysync.Target{Account: "123456789012", Region: "us-east-1"}
	bad := entitysync.Target{Account: "210987654321", Region: "eu-west-1"}
	res := awssync.Result{VPCs: make([]awssync.Entity, 3), Subnets: make([]awssync.Entity, 12), Interfaces: make([]awssync.Entity, 240),
		Instances: make([]awssync.Entity, 180), AZs: make([]awssync.Entity, 6)}
	st.Record(entitysync.Outcome{Target: ok, Start: t0, Duration: 2 * time.Second, Result: res, Series: 441})
	st.Record(entitysync.Outcome{Target: bad, Start: t0, Duration: time.Second, Err: &awssync.AccessError{Action: awssync.DescribeVpcs, Code: "UnauthorizedOperation"}})
	st.Record(entitysync.Outcome{Target: bad, Start: t0.Add(time.Hour), Duration: time.Second, Err: fmt.Errorf("x: %w", context.DeadlineExceeded)})
	var page bytes.Buffer
	st.WriteMetrics(&page)
	resp, err := http.Post(vm.URL+"/api/v1/import/prometheus?timestamp=1772359500000", "text/plain", &page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("import: %s %s", resp.Status, body)
	}
	vm.Flush()
	tests := []struct {
		match, group string
		want         map[string]float64
	}{
		{entitysync.MetricUp, "account_id", map[string]float64{"123456789012": 1, "210987654321": 0}},
		{entitysync.MetricStateSince, "account_id", map[string]float64{"123456789012": 1772359202, "210987654321": 1772359201}},
		{entitysync.MetricLastSuccess, "account_id", map[string]float64{"123456789012": 1772359202}},
		{entitysync.MetricLastAttempt, "region", map[string]float64{"us-east-1": 1772359202, "eu-west-1": 1772362801}},
		{entitysync.MetricDuration, "account_id", map[string]float64{"123456789012": 2, "210987654321": 1}},
		{entitysync.MetricEntities + `{account_id="123456789012"}`, "entity_type", map[string]float64{"vpc": 3, "subnet": 12, "interface": 240, "instance": 180, "az": 6}},
		{entitysync.MetricEntities + `{account_id="210987654321"}`, "entity_type", map[string]float64{"vpc": 0, "subnet": 0, "interface": 0, "instance": 0, "az": 0}},
		{entitysync.MetricRuns, "account_id", map[string]float64{"123456789012": 1, "210987654321": 2}},
		{entitysync.MetricErrors + `{account_id="210987654321"}`, "reason", map[string]float64{"credentials": 0, "wrong_account": 0, "storage": 0,
			"auth_failure": 0, "access_denied": 1, "throttled": 0, "timeout": 1, "unreachable": 0, "other": 0}},
		{entitysync.MetricErrors + `{account_id="123456789012"}`, "", map[string]float64{"": 0}},
	}
	for _, tt := range tests {
		got := vm.Totals(t, tt.match, tt.group)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s by %s: %v, want %v", tt.match, tt.group, got, tt.want)
		}
	}
}

// TestTargets: which account·regions are synced with which credentials.
func TestTargets(t *testing.T) {
	on := true
	off := false
	s3 := func(name, key string) source.Config {
		return source.Config{Name: name, Type: source.TypeS3, Credentials: source.Credentials{AccessKeyID: key, SecretAccessKey: "s"}}
	}
	sources := []source.Config{
		{Name: "folder", Type: source.TypeDir},
		s3("prod", "PROD"),
		s3("audit", "AUDIT"),
		{Name: "old", Type: source.TypeS3, Enabled: &off, Credentials: source.Credentials{AccessKeyID: "OLD", SecretAccessKey: "s"}},
	}
	learned := []entitysync.Learned{
		{Source: "audit", Account: "111111111111", Region: "eu-west-1"},
		{Source: "prod", Account: "111111111111", Region: "eu-west-1"}, // prod is first in the configuration: its keys
		{Source: "prod", Account: "111111111111", Region: "us-east-1"},
		{Source: "prod", Account: "111111111111", Region: "us-east-1"}, // seen twice
		{Source: "folder", Account: "222222222222", Region: "us-east-1"},
		{Source: "old", Account: "333333333333", Region: "us-east-1"},
		{Source: "prod", Account: "-", Region: "us-east-1"},               // no account in the records
		{Source: "prod", Account: "44444444444", Region: "us-east-1"},     // 11 digits
		{Source: "prod", Account: "555555555555", Region: "US East 1"},    // not a region
		{Source: "nowhere", Account: "666666666666", Region: "us-east-1"}, // a source no longer configured
	}
	type row struct{ target, key, endpoint, from string }
	f := func(c entitysync.Config, want ...row) {
		t.Helper()
		var got []row
		for _, tg := range c.Targets(sources, learned) {
			got = append(got, row{tg.String(), tg.Credentials.AccessKeyID, tg.Endpoint, tg.From})
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("targets\n%v\nwant\n%v", got, want)
		}
	}
	c := entitysync.Config{Enabled: &on, Endpoint: "http://ec2"}
	// Learned: the s3 sources' accounts and regions with their keys.
	f(c, row{"111111111111/eu-west-1", "PROD", "http://ec2", "source prod"}, row{"111111111111/us-east-1", "PROD", "http://ec2", "source prod"})
	// Listed: only those, their regions or the learned ones, their keys
	// and endpoint.
	c.Accounts = []entitysync.Account{
		{AccountID: "222222222222", Regions: []string{"us-west-2", "ap-south-1"}, Credentials: source.Credentials{AccessKeyID: "B"}, Endpoint: "http://b"},
		{AccountID: "111111111111", Credentials: source.Credentials{AccessKeyID: "A"}},
		{AccountID: "777777777777", Credentials: source.Credentials{AccessKeyID: "C"}}, // no regions, none learned
	}
	f(c, row{"111111111111/eu-west-1", "A", "http://ec2", "sync.accounts[1]"}, row{"111111111111/us-east-1", "A", "http://ec2", "sync.accounts[1]"},
		row{"222222222222/ap-south-1", "B", "http://b", "sync.accounts[0]"}, row{"222222222222/us-west-2", "B", "http://b", "sync.accounts[0]"})
}

// TestDiscoverAndRun: without sync.accounts, Run finds the accounts and
// regions in the s3 sources' folders and syncs them at once with the
// source's keys; one that first shows in the records stored is synced
// within the check interval; a failed one is tried again; Run ends with
// its context.
func TestDiscoverAndRun(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	s3 := testserver.S3(t)
	s3.CreateBucket(t, "logs")
	s3.Put(t, "logs", "AWSLogs/"+account+"/vpcflowlogs/us-east-1/2026/03/01/"+account+"_vpcflowlogs_us-east-1_fl-1_20260301T1000Z_1.log.gz", []byte("x"))
	s3.Put(t, "logs", "AWSLogs/"+account+"/CloudTrail/eu-west-1/2026/03/01/trail.json.gz", []byte("x")) // not a flow log folder
	ec2 := testserver.EC2(t, fixture())
	sources := []source.Config{{Name: "prod", Type: source.TypeS3, Bucket: "logs", Region: s3.Region, Endpoint: s3.Endpoint(), PathStyle: true,
		Credentials: source.Credentials{AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey}}}
	learned, errs := entitysync.Discover(context.Background(), sources, 10*time.Second)
	if len(errs) > 0 || !reflect.DeepEqual(learned, []entitysync.Learned{{Source: "prod", Account: account, Region: "us-east-1"}}) {
		t.Fatalf("Discover = %v, %v", learned, errs)
	}

	cfg := config()
	cfg.Endpoint = ec2.URL // one round at start: the rest is the checks'
	var mu sync.Mutex
	var fromRecords []entitysync.Learned
	var outcomes []entitysync.Outcome
	r := entitysync.New(entitysync.Options{Config: cfg, Sources: sources, Store: store(t, vm),
		Learned:    func() []entitysync.Learned { mu.Lock(); defer mu.Unlock(); return slices.Clone(fromRecords) },
		OnOutcome:  func(o entitysync.Outcome) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() },
		CheckEvery: 50 * time.Millisecond, RetryAfter: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	wait := func(what string, ok func([]entitysync.Outcome) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			got := slices.Clone(outcomes)
			mu.Unlock()
			if ok(got) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: outcomes %v", what, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	has := func(tg string, okWanted bool) func([]entitysync.Outcome) bool {
		return func(os []entitysync.Outcome) bool {
			return slices.ContainsFunc(os, func(o entitysync.Outcome) bool { return o.Target.String() == tg && o.OK() == okWanted })
		}
	}
	wait("the folder's account·region synced with the source's keys", has(account+"/us-east-1", true))
	mu.Lock()
	if o := outcomes[0]; o.Target.From != "source prod" || o.Target.Credentials.AccessKeyID != s3.AccessKey {
		t.Errorf("first outcome %v from %s", o, o.Target.From)
	}
	mu.Unlock()
	// Records of another region show: the next check syncs it (denied
	// DescribeVpcs makes it fail), and syncs it again RetryAfter later.
	ec2.Deny(testserver.EC2DescribeVpcs)
	mu.Lock()
	fromRecords = append(fromRecords, entitysync.Learned{Source: "prod", Account: account, Region: "eu-west-1"})
	mu.Unlock()
	wait("the account·region new in the records synced (and failing)", has(account+"/eu-west-1", false))
	ec2.Allow(testserver.EC2DescribeVpcs)
	wait("the failed account·region tried again", has(account+"/eu-west-1", true))
	mu.Lock()
	for _, o := range outcomes {
		if o.Target.String() == account+"/us-east-1" && len(outcomes) > 0 && o.Start != outcomes[0].Start {
			t.Errorf("the synced account·region was synced again before the interval: %v", o)
		}
	}
	mu.Unlock()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

// TestCheck: the DryRun check names each missing permission and what
// reports lose without it; one that cannot be made is an error.
func TestCheck(t *testing.T) {
	ec2 := testserver.EC2(t, fixture())
	cfg := config(target(ec2, account))
	ec2.Deny(testserver.EC2DescribeNetworkInterfaces, testserver.EC2DescribeAvailabilityZones)
	missing, err := cfg.Check(context.Background(), target(ec2, account), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range missing {
		got = append(got, m.String())
	}
	want := []string{
		"ec2:DescribeAvailabilityZones (UnauthorizedOperation): reports lose " + awssync.Loses(awssync.DescribeAvailabilityZones),
		"ec2:DescribeNetworkInterfaces (UnauthorizedOperation): reports lose " + awssync.Loses(awssync.DescribeNetworkInterfaces),
	}
	if !slices.Equal(got, want) {
		t.Errorf("missing %q, want %q", got, want)
	}
	if ec2.Requests(testserver.EC2DescribeVpcs) != 1 {
		t.Errorf("DescribeVpcs sent %d times, want one DryRun", ec2.Requests(testserver.EC2DescribeVpcs))
	}
	tg := target(ec2, account)
	tg.Endpoint = closedURL(t)
	cfg.MaxAttempts = 1
	if _, err := cfg.Check(context.Background(), tg, 10*time.Second); err == nil {
		t.Error("no error from an endpoint nothing listens on")
	}
}
