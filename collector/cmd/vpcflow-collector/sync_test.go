package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// ec2Fixture is what an account's EC2 server describes: 3 VPCs, 12
// subnets, 240 interfaces, 180 instances and 6 zones, as the issue's
// example line.
func ec2Fixture(n int) testserver.EC2Data {
	id := func(prefix string, i int) string { return fmt.Sprintf("%s%017x", prefix, n<<20|i) }
	var d testserver.EC2Data
	for i := range 6 {
		d.AvailabilityZones = append(d.AvailabilityZones, testserver.AvailabilityZone{Name: fmt.Sprintf("us-east-1%c", 'a'+i), ID: fmt.Sprintf("use1-az%d", i+1), Region: "us-east-1"})
	}
	for i := range 3 {
		d.VPCs = append(d.VPCs, testserver.VPC{ID: id("vpc-", i), Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("vpc %d", i)}}})
	}
	for i := range 12 {
		z := d.AvailabilityZones[i%6]
		d.Subnets = append(d.Subnets, testserver.Subnet{ID: id("subnet-", i), VPCID: d.VPCs[i%3].ID, AZ: z.Name, AZID: z.ID})
	}
	for i := range 180 {
		n := d.Subnets[i%12]
		d.Instances = append(d.Instances, testserver.Instance{ID: id("i-", i), SubnetID: n.ID, VPCID: n.VPCID, AZ: n.AZ,
			Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("web-%d", i)}}})
	}
	for i := range 240 {
		n := d.Subnets[i%12]
		eni := testserver.NetworkInterface{ID: id("eni-", i), SubnetID: n.ID, VPCID: n.VPCID, AZ: n.AZ, Description: fmt.Sprintf("interface %d", i)}
		if i < 180 {
			eni.InstanceID = d.Instances[i].ID
		}
		d.NetworkInterfaces = append(d.NetworkInterfaces, eni)
	}
	return d
}

// syncConfig writes a configuration with a folder source and the sync
// section's body (indented by two spaces).
func syncConfig(t *testing.T, vmURL, sync string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("state_dir: %s\nstorage: {url: %s}\nsources: [{name: local, type: dir, path: %s}]\nsync:\n%s",
		filepath.Join(dir, "state"), vmURL, filepath.Join(dir, "logs"), sync)
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// account is a sync.accounts entry for an EC2 server.
func account(id string, srv *testserver.EC2Server) string {
	return fmt.Sprintf("    - account_id: %q\n      regions: [us-east-1]\n      endpoint: %s\n      credentials: {access_key_id: AKIDTEST, secret_access_key: secret}\n", id, srv.URL)
}

// TestSyncOnce: `sync --once` syncs every account·region, prints what it
// synced, writes the series, and exits 1 when one failed (naming the
// missing permission and what reports lose) or when there was nothing to
// sync; `test` lists the missing permission.
func TestSyncOnce(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	const a, b = "123456789012", "210987654321"
	ec2A := testserver.EC2(t, ec2Fixture(1), testserver.EC2AccountOption(a))
	ec2B := testserver.EC2(t, ec2Fixture(2), testserver.EC2AccountOption(b))
	head := "  max_backoff: 1ms\n  accounts:\n"

	cfg := syncConfig(t, vm.URL, head+account(a, ec2A)+account(b, ec2B))
	stdout, stderr, code := runCLI(t, "sync", "--config", cfg, "--once")
	want := a + "/us-east-1: 3 VPCs, 12 subnets, 240 interfaces, 180 instances, 6 AZs synced (441 series written)\n" +
		b + "/us-east-1: 3 VPCs, 12 subnets, 240 interfaces, 180 instances, 6 AZs synced (441 series written)\n"
	if code != 0 || stdout != want {
		t.Fatalf("sync --once: exit %d, stdout\n%s\nwant\n%s\nstderr %s", code, stdout, want, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr %q: the log has warnings and errors only", stderr)
	}
	// Stamped now: an export sees them once the second they are in is
	// over.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	vm.Flush()
	if got := vm.Totals(t, awssync.MetricName, "account_id", "entity_type"); len(got) != 10 || got[a+"|interface"] != 240 || got[b+"|az"] != 6 {
		t.Errorf("entity series by account and kind: %v", got)
	}

	// Account b lacks ec2:DescribeInstances: the rest is written, the
	// line says what is missing and what reports lose, the exit is 1.
	ec2B.Deny(testserver.EC2DescribeInstances)
	stdout, stderr, code = runCLI(t, "sync", "--config", cfg, "--once")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], a+"/us-east-1: 3 VPCs") ||
		!strings.HasPrefix(lines[1], b+"/us-east-1: 3 VPCs, 12 subnets, 240 interfaces, 0 instances, 6 AZs synced (261 series written); FAILED (access_denied): ") ||
		!strings.Contains(lines[1], "permission ec2:DescribeInstances is missing") || !strings.Contains(lines[1], "reports lose instance names") ||
		!strings.Contains(stderr, "vpcflow-collector: 1 of 2 account·regions failed") {
		t.Errorf("sync --once with a permission missing: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}

	// `test` checks the permissions with DryRun: a WARN per missing one.
	stdout, stderr, code = runCLI(t, "test", "--config", cfg, "--skip-storage")
	passA := regexp.MustCompile(`(?m)^PASS +sync ` + a + `/us-east-1 +describe-permissions +ec2:DescribeAvailabilityZones, ec2:DescribeVpcs, ec2:DescribeSubnets, ec2:DescribeNetworkInterfaces, ec2:DescribeInstances allowed \(DryRun\), with the credentials of sync.accounts\[0\]$`)
	warnB := regexp.MustCompile(`(?m)^WARN +sync ` + b + `/us-east-1 +describe-permissions +ec2:DescribeInstances missing \(UnauthorizedOperation\): grant it to the credentials of sync.accounts\[1\]; without it reports lose instance names: reports by instance show i- ids$`)
	if code != 0 || !passA.MatchString(stdout) || !warnB.MatchString(stdout) || strings.Count(stdout, "sync ") != 2 {
		t.Errorf("test: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}

	// Nothing to sync: an account without regions, and no s3 source
	// whose folders would show them.
	cfg = syncConfig(t, vm.URL, "  accounts: [{account_id: '"+a+"'}]\n")
	stdout, stderr, code = runCLI(t, "sync", "--config", cfg, "--once")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "no account and region to sync") {
		t.Errorf("sync --once with nothing to sync: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, _, code = runCLI(t, "test", "--config", cfg, "--skip-storage")
	if code != 0 || !regexp.MustCompile(`(?m)^WARN +sync +accounts +no account and region to check`).MatchString(stdout) {
		t.Errorf("test with nothing to sync: exit %d, stdout %s", code, stdout)
	}
	// The sync off.
	cfg = syncConfig(t, vm.URL, "  enabled: false\n")
	if _, stderr, code := runCLI(t, "sync", "--config", cfg, "--once"); code != 1 || !strings.Contains(stderr, "the entity sync is off") {
		t.Errorf("sync --once with the sync off: exit %d, stderr %q", code, stderr)
	}
	if stdout, _, code := runCLI(t, "test", "--config", cfg, "--skip-storage"); code != 0 || strings.Contains(stdout, "sync") {
		t.Errorf("test with the sync off: exit %d, stdout %s", code, stdout)
	}
}
