package apptest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// syncFixture is what an account's EC2 server describes: a VPC, a
// subnet, two named interfaces (one attached to an instance) and a zone.
func syncFixture(n int) testserver.EC2Data {
	id := func(prefix string, i int) string { return fmt.Sprintf("%s%017x", prefix, n<<8|i) }
	return testserver.EC2Data{
		AvailabilityZones: []testserver.AvailabilityZone{{Name: "us-east-1a", ID: "use1-az6", Region: "us-east-1"}},
		VPCs:              []testserver.VPC{{ID: id("vpc-", 0), Tags: []testserver.EC2Tag{{Key: "Name", Value: "prod"}, {Key: "Team", Value: "net"}}}},
		Subnets:           []testserver.Subnet{{ID: id("subnet-", 0), VPCID: id("vpc-", 0), AZ: "us-east-1a", AZID: "use1-az6"}},
		NetworkInterfaces: []testserver.NetworkInterface{
			{ID: id("eni-", 0), SubnetID: id("subnet-", 0), VPCID: id("vpc-", 0), AZ: "us-east-1a", InstanceID: id("i-", 0), Tags: []testserver.EC2Tag{{Key: "Name", Value: "web-1 eth0"}}},
			{ID: id("eni-", 1), SubnetID: id("subnet-", 0), VPCID: id("vpc-", 0), AZ: "us-east-1a", Description: "Interface for NAT Gateway nat-1", InterfaceType: "nat_gateway"},
		},
		Instances: []testserver.Instance{{ID: id("i-", 0), SubnetID: id("subnet-", 0), VPCID: id("vpc-", 0), AZ: "us-east-1a", Tags: []testserver.EC2Tag{{Key: "Name", Value: "web-1"}}}},
	}
}

// syncAccount is a sync.accounts entry for an EC2 server.
func syncAccount(id string, srv *testserver.EC2Server) string {
	return fmt.Sprintf("    - account_id: %q\n      regions: [us-east-1]\n      endpoint: %s\n      credentials: {access_key_id: AKIDTEST, secret_access_key: secret}\n", id, srv.URL)
}

// waitMetric waits until the status server's /metrics has the line.
func (c *collector) waitMetric(addr, line string) {
	c.t.Helper()
	c.waitFor(line+" on /metrics", 20*time.Second, func() bool {
		body, err := httpGet("http://" + addr + "/metrics")
		return err == nil && strings.Contains(string(body), line+"\n")
	})
}

// TestSyncInRun: run syncs the listed accounts at start beside the flow
// logs. An account without any Describe permission fails with the missing
// permissions named in the log and on /metrics, and holds nothing up: the
// flow logs are collected exactly and the other account's names are
// written, with the labels of the contract (docs/names.md).
func TestSyncInRun(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs := t.TempDir()
	tr := groundtruth.New()
	f, _ := flowlog.ParseFormat("v5")
	if _, err := generate.Generate(generate.Config{Records: 3000, Seed: 14, Format: f, Start: time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC),
		Duration: 20 * time.Minute, ENIs: 8, VPCs: 1, Observe: func(_ string, r *flowlog.Record) { tr.Observe(r) }}, generate.Dir(logs)); err != nil {
		t.Fatal(err)
	}
	tr.Finish()
	const ok, denied = "123456789012", "210987654321"
	ec2OK := testserver.EC2(t, syncFixture(1), testserver.EC2AccountOption(ok))
	ec2Denied := testserver.EC2(t, syncFixture(2), testserver.EC2AccountOption(denied))
	ec2Denied.Deny(testserver.EC2DescribeAvailabilityZones, testserver.EC2DescribeVpcs, testserver.EC2DescribeSubnets,
		testserver.EC2DescribeNetworkInterfaces, testserver.EC2DescribeInstances)
	config := WriteConfig(t, vm.URL, logs, t.TempDir(), "sync:\n  tags: [Team]\n  max_backoff: 1ms\n  accounts:\n"+syncAccount(ok, ec2OK)+syncAccount(denied, ec2Denied))
	c := startCollector(t, bin, nil, "run", "--config", config, "--log-format", "json")
	addr := c.statusAddr()

	c.waitMetric(addr, fmt.Sprintf(`vpcflow_sync_up{account_id="%s",region="us-east-1"} 1`, ok))
	c.waitMetric(addr, fmt.Sprintf(`vpcflow_sync_up{account_id="%s",region="us-east-1"} 0`, denied))
	c.waitMetric(addr, fmt.Sprintf(`vpcflow_sync_errors_total{account_id="%s",region="us-east-1",reason="access_denied"} 1`, denied))
	c.waitMetric(addr, fmt.Sprintf(`vpcflow_sync_entities{account_id="%s",region="us-east-1",entity_type="interface"} 2`, ok))
	for _, action := range awssync.Actions {
		if !strings.Contains(c.Log(), "permission ec2:"+action+" is missing") {
			t.Errorf("the log does not name ec2:%s:\n%s", action, c.Log())
		}
	}
	if !strings.Contains(c.Log(), `"msg":"entity sync failed"`) || !strings.Contains(c.Log(), `"reason":"access_denied"`) {
		t.Errorf("no failed sync with its reason in the log:\n%s", c.Log())
	}
	c.waitFor("the flow logs collected", 30*time.Second, func() bool { return len(present(t, logs)) == 0 })
	if err := c.stop(); err != nil {
		t.Fatalf("collector: %v\n%s", err, c.Log())
	}
	tr.Check(t, vm)

	waitTotals(t, vm, awssync.MetricName)
	got := map[string]map[string]string{}
	for _, s := range vm.Export(t, awssync.MetricName) {
		delete(s.Metric, "__name__")
		got[s.Metric["entity_id"]] = s.Metric
	}
	eni := fmt.Sprintf("eni-%017x", 1<<8) // syncFixture(1)'s first interface
	want := map[string]string{"account_id": ok, "region": "us-east-1", "entity_type": "interface", "entity_id": eni, "name": "web-1 eth0",
		"vpc_id": fmt.Sprintf("vpc-%017x", 1<<8), "subnet_id": fmt.Sprintf("subnet-%017x", 1<<8), "az_id": "use1-az6",
		"instance_id": fmt.Sprintf("i-%017x", 1<<8), "interface_type": "interface"}
	if len(got) != 6 || fmt.Sprint(got[eni]) != fmt.Sprint(want) || got[fmt.Sprintf("vpc-%017x", 1<<8)]["tag_Team"] != "net" {
		t.Errorf("entity series %v\nwant 6 of account %s, the interface's %v", got, ok, want)
	}
}

// TestSyncLearnsFromSources: without sync.accounts, run syncs the
// accounts and regions the s3 source's flow log folders show, with the
// source's credentials, and `sync --once` does the same and prints it. A
// source whose credentials describe another account than its logs' (a
// central log bucket) writes nothing and says what to configure.
func TestSyncLearnsFromSources(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	s3 := testserver.S3(t)
	s3.CreateBucket(t, "flowlogs")
	tr := groundtruth.New()
	objects := genS3(t, tr, 15, time.Date(2026, 4, 4, 0, 0, 0, 0, time.UTC), "", false)
	tr.Finish()
	s3.PutAll(t, "flowlogs", objects)
	var acct string
	for k := range objects {
		acct, _ = source.KeyContext(k)
	}
	ec2 := testserver.EC2(t, syncFixture(3), testserver.EC2AccountOption(acct))
	config := s3Config(t, vm.URL, t.TempDir(), s3Source(s3, "prod", "flowlogs", "", "    delete_after_ingest: false\n    on_first_run: backfill\n"))
	appendFile(t, config, fmt.Sprintf("sync:\n  endpoint: %s\n  max_backoff: 1ms\n", ec2.URL))

	c := startCollector(t, bin, s3Env(s3), "run", "--config", config, "--log-format", "json")
	addr := c.statusAddr()
	c.waitMetric(addr, fmt.Sprintf(`vpcflow_sync_up{account_id="%s",region="us-east-1"} 1`, acct))
	c.waitMetric(addr, fmt.Sprintf(`vpcflow_sync_entities{account_id="%s",region="us-east-1",entity_type="vpc"} 1`, acct))
	if err := c.stop(); err != nil {
		t.Fatalf("collector: %v\n%s", err, c.Log())
	}
	if got := waitTotals(t, vm, awssync.MetricName+`{account_id="`+acct+`"}`, "entity_type"); len(got) != 5 {
		t.Errorf("entity series of %s by kind: %v", acct, got)
	}

	stdout, stderr, code := runSyncOnce(t, bin, config, s3)
	if code != 0 || stdout != acct+"/us-east-1: 1 VPC, 1 subnet, 2 interfaces, 1 instance, 1 AZ synced (6 series written)\n" {
		t.Errorf("sync --once: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Without --once: it syncs at once and keeps going until SIGTERM.
	before := ec2.Requests(testserver.EC2DescribeVpcs)
	sc := startCollector(t, bin, s3Env(s3), "sync", "--config", config, "--log-format", "json", "--log-level", "info")
	sc.waitFor("a sync", 20*time.Second, func() bool { return strings.Contains(sc.Log(), `"msg":"entity sync done"`) })
	if err := sc.stop(); err != nil || ec2.Requests(testserver.EC2DescribeVpcs) != before+1 {
		t.Errorf("sync: %v, %d DescribeVpcs requests (want 1)\n%s", err, ec2.Requests(testserver.EC2DescribeVpcs)-before, sc.Log())
	}
	// The same source's credentials now describe another account.
	other := testserver.EC2(t, syncFixture(4), testserver.EC2AccountOption("999999999999"))
	config2 := s3Config(t, vm.URL, t.TempDir(), s3Source(s3, "prod", "flowlogs", "", "    delete_after_ingest: false\n    on_first_run: backfill\n"))
	appendFile(t, config2, fmt.Sprintf("sync:\n  endpoint: %s\n  max_backoff: 1ms\n", other.URL))
	stdout, stderr, code = runSyncOnce(t, bin, config2, s3)
	if code != 1 || !strings.Contains(stdout, acct+"/us-east-1: FAILED (wrong_account): the credentials (of source prod) describe the interfaces and instances of account 999999999999, not "+acct) ||
		!strings.Contains(stdout, "list "+acct+" in sync.accounts") {
		t.Errorf("sync --once with another account's credentials: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	vm.Flush()
	if got := vm.Totals(t, awssync.MetricName+`{entity_id=~".*0000000004.."}`); len(got) != 0 {
		t.Errorf("another account's entities written as %s's: %v", acct, got)
	}
}

// appendFile appends text to the file at path.
func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// runSyncOnce runs `sync --once` with s3's secret and returns its output
// and exit status.
func runSyncOnce(t *testing.T, bin, config string, s3 *testserver.S3Server) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, "sync", "--config", config, "--once")
	cmd.Env = append(os.Environ(), s3Env(s3)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// waitTotals returns vm.Totals of match once it has any series (samples
// stamped now show in an export once their second is over), or after 5
// seconds.
func waitTotals(t *testing.T, vm *testserver.VM, match string, groupBy ...string) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		vm.Flush()
		got := vm.Totals(t, match, groupBy...)
		if len(got) > 0 || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}
