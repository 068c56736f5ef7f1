package awssync_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/smithy-go"
	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
	"slices"
)

// hexID returns prefix and 17 hex digits made of n: an id shaped as AWS's.
func hexID(prefix string, n int) string { return fmt.Sprintf("%s%017x", prefix, n) }

// fixture is what the tests load: 3 zones, 4 VPCs, 11 subnets, 13
// interfaces (6 attached to 3 instances, a NAT gateway's, a Lambda's) and
// 7 instances (two sharing a reservation), with Name, Team and other tags.
func fixture() testserver.EC2Data {
	var d testserver.EC2Data
	d.AvailabilityZones = []testserver.AvailabilityZone{{Name: "us-east-1a", ID: "use1-az6", Region: "us-east-1"}, {Name: "us-east-1b", ID: "use1-az1", Region: "us-east-1"}, {Name: "us-east-1c", ID: "use1-az2", Region: "us-east-1"}}
	for i := range 4 {
		v := testserver.VPC{ID: hexID("vpc-", i), CIDR: fmt.Sprintf("10.%d.0.0/16", i), Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("vpc %d", i)}, {Key: "Team", Value: "net"}, {Key: "other", Value: "x"}}}
		if i == 2 {
			v.Tags = nil
		}
		d.VPCs = append(d.VPCs, v)
	}
	for i := range 11 {
		z := d.AvailabilityZones[i%3]
		d.Subnets = append(d.Subnets, testserver.Subnet{ID: hexID("subnet-", i), VPCID: d.VPCs[i%4].ID, AZ: z.Name, AZID: z.ID, Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("subnet %d", i)}, {Key: "Environment", Value: "prod"}}})
	}
	for i := range 13 {
		n := d.Subnets[i%11]
		eni := testserver.NetworkInterface{ID: hexID("eni-", i), SubnetID: n.ID, VPCID: n.VPCID, AZ: n.AZ, Description: fmt.Sprintf("interface %d", i), PrivateIPs: []string{fmt.Sprintf("10.0.%d.10", i)}, Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("eni %d", i)}}}
		switch {
		case i < 6:
			eni.InstanceID = hexID("i-", i/2)
		case i == 6:
			eni.InterfaceType = "nat_gateway"
		case i == 7:
			eni.InterfaceType, eni.Tags = "lambda", nil
		case i == 8:
			eni.PrivateIPs = append(eni.PrivateIPs, "10.0.8.11")
			eni.IPv6 = []string{"2600:1f18:47b:a102::8"}
		}
		d.NetworkInterfaces = append(d.NetworkInterfaces, eni)
	}
	for i := range 7 {
		n := d.Subnets[i]
		in := testserver.Instance{ID: hexID("i-", i), SubnetID: n.ID, VPCID: n.VPCID, AZ: n.AZ, Tags: []testserver.EC2Tag{{Key: "Name", Value: fmt.Sprintf("web-%d", i)}, {Key: "Team", Value: "web"}}}
		if i >= 5 {
			in.ReservationID = "r-shared"
		}
		d.Instances = append(d.Instances, in)
	}
	return d
}

// tagsOf returns the tags among ts whose keys are in keys (nil for none),
// and the Name tag's value.
func tagsOf(ts []testserver.EC2Tag, keys []string) (map[string]string, string) {
	var out map[string]string
	var name string
	for _, t := range ts {
		if t.Key == "Name" {
			name = t.Value
		}
		for _, k := range keys {
			if k == t.Key {
				if out == nil {
					out = map[string]string{}
				}
				out[k] = t.Value
			}
		}
	}
	return out, name
}

// expected returns what a sync of d with the tag keys must find, built
// from the loaded data (the server answers an interface's zone by name:
// its id comes from the zones).
func expected(d testserver.EC2Data, keys []string) awssync.Result {
	r := awssync.Result{Region: "us-east-1"}
	zoneID := map[string]string{}
	for _, z := range d.AvailabilityZones {
		zoneID[z.Name] = z.ID
		r.AZs = append(r.AZs, awssync.Entity{Kind: awssync.KindAZ, ID: z.ID, Name: z.Name})
	}
	for _, v := range d.VPCs {
		tags, name := tagsOf(v.Tags, keys)
		r.VPCs = append(r.VPCs, awssync.Entity{Kind: awssync.KindVPC, ID: v.ID, Name: name, Tags: tags, OwnerID: testserver.EC2Account})
	}
	for _, n := range d.Subnets {
		tags, name := tagsOf(n.Tags, keys)
		r.Subnets = append(r.Subnets, awssync.Entity{Kind: awssync.KindSubnet, ID: n.ID, Name: name, VPCID: n.VPCID, AZID: n.AZID, Tags: tags, OwnerID: testserver.EC2Account})
	}
	for _, n := range d.NetworkInterfaces {
		tags, name := tagsOf(n.Tags, keys)
		typ := n.InterfaceType
		if typ == "" {
			typ = "interface"
		}
		r.Interfaces = append(r.Interfaces, awssync.Entity{Kind: awssync.KindInterface, ID: n.ID, Name: name, Description: n.Description,
			VPCID: n.VPCID, SubnetID: n.SubnetID, AZID: zoneID[n.AZ], InstanceID: n.InstanceID, InterfaceType: typ, Tags: tags, OwnerID: testserver.EC2Account,
			Addresses: append(slices.Clone(n.PrivateIPs), n.IPv6...)})
	}
	// Instances come back by reservation, in the order each reservation
	// first appears: the fixture's shared reservation is the last.
	for _, in := range d.Instances {
		tags, name := tagsOf(in.Tags, keys)
		r.Instances = append(r.Instances, awssync.Entity{Kind: awssync.KindInstance, ID: in.ID, Name: name,
			VPCID: in.VPCID, SubnetID: in.SubnetID, AZID: zoneID[in.AZ], Tags: tags, OwnerID: testserver.EC2Account})
	}
	return r
}

// newSyncer returns a Syncer of srv with static keys and backoff bounded
// to a millisecond.
func newSyncer(t *testing.T, srv *testserver.EC2Server, mod func(*awssync.Config)) *awssync.Syncer {
	t.Helper()
	cfg := awssync.DefaultConfig()
	cfg.Endpoint, cfg.Region = srv.URL, "us-east-1"
	cfg.Credentials = source.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}
	cfg.MaxBackoff = time.Millisecond
	if mod != nil {
		mod(&cfg)
	}
	s, err := awssync.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func pages(n, size int) int {
	if size == 0 || n == 0 {
		return 1
	}
	return (n + size - 1) / size
}

// TestSyncPages syncs the fixture over pages of several sizes (the
// server's and the client's MaxResults) and wants exactly the loaded
// entities, each page requested once.
func TestSyncPages(t *testing.T) {
	d := fixture()
	keys := []string{"Team", "Environment", "Name"}
	want := expected(d, keys)
	reservations := 6 // 5 instances alone, 2 sharing one
	for _, tc := range []struct {
		name       string
		serverPage int   // EC2PageSize
		clientPage int32 // Config.PageSize (MaxResults)
		perPage    int   // entities a page
	}{
		{"one page", 0, 1000, 1000},
		{"server pages of 2", 2, 1000, 2},
		{"server pages of 3", 3, 1000, 3},
		{"MaxResults 5", 0, 5, 5},
		{"MaxResults 5, server 4", 4, 5, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testserver.EC2(t, d, testserver.EC2PageSize(tc.serverPage))
			s := newSyncer(t, srv, func(c *awssync.Config) { c.Tags, c.PageSize = keys, tc.clientPage })
			got, err := s.Sync(context.Background())
			if err != nil {
				t.Fatalf("Sync: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Sync:\n got %+v\nwant %+v", got, want)
			}
			if got, want := got.Summary(), "4 VPCs, 11 subnets, 13 interfaces, 7 instances, 3 AZs synced"; got != want {
				t.Errorf("Summary = %q, want %q", got, want)
			}
			for action, n := range map[string]int{
				testserver.EC2DescribeVpcs:              pages(len(d.VPCs), tc.perPage),
				testserver.EC2DescribeSubnets:           pages(len(d.Subnets), tc.perPage),
				testserver.EC2DescribeNetworkInterfaces: pages(len(d.NetworkInterfaces), tc.perPage),
				testserver.EC2DescribeInstances:         pages(reservations, tc.perPage),
				testserver.EC2DescribeAvailabilityZones: 1,
			} {
				if got := srv.Requests(action); got != n {
					t.Errorf("%s requests = %d, want %d", action, got, n)
				}
			}
		})
	}
}

// TestSyncEmpty syncs an account with nothing in it.
func TestSyncEmpty(t *testing.T) {
	srv := testserver.EC2(t, testserver.EC2Data{})
	got, err := newSyncer(t, srv, nil).Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if want := (awssync.Result{Region: "us-east-1"}); !reflect.DeepEqual(got, want) {
		t.Errorf("Sync = %+v, want %+v", got, want)
	}
	if got, want := got.Summary(), "0 VPCs, 0 subnets, 0 interfaces, 0 instances, 0 AZs synced"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

// TestSyncThrottled throttles the first requests: the retryer's attempts
// see the sync through, and past them the sync fails with EC2's
// RequestLimitExceeded, not an access error.
func TestSyncThrottled(t *testing.T) {
	d := fixture()
	want := expected(d, nil)
	for _, tc := range []struct {
		throttle, attempts int
		ok                 bool
	}{
		{0, 3, true},
		{1, 3, true},
		{2, 3, true},
		{3, 3, false},
		{7, 8, true},
		{8, 8, false},
	} {
		t.Run(fmt.Sprintf("throttle %d of %d attempts", tc.throttle, tc.attempts), func(t *testing.T) {
			srv := testserver.EC2(t, d, testserver.EC2PageSize(5))
			s := newSyncer(t, srv, func(c *awssync.Config) { c.MaxAttempts = tc.attempts })
			srv.Throttle(tc.throttle)
			got, err := s.Sync(context.Background())
			// The zones are asked first: the throttled requests are theirs.
			if n, want := srv.Requests(testserver.EC2DescribeAvailabilityZones), min(tc.throttle+1, tc.attempts); n != want {
				t.Errorf("DescribeAvailabilityZones requests = %d, want %d", n, want)
			}
			if !tc.ok {
				var api smithy.APIError
				var ae *awssync.AccessError
				if err == nil || !errors.As(err, &api) || api.ErrorCode() != "RequestLimitExceeded" || errors.As(err, &ae) {
					t.Fatalf("Sync error = %v, want RequestLimitExceeded", err)
				}
				if !strings.Contains(err.Error(), "DescribeAvailabilityZones") {
					t.Errorf("Sync error %q does not name the action", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Sync: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Sync:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestSyncDenied denies actions: each refusal is an *AccessError naming
// the permission and what reports lose, and the other kinds are still
// synced in full.
func TestSyncDenied(t *testing.T) {
	d := fixture()
	full := expected(d, nil)
	for _, tc := range []struct {
		denied []string
		want   func(r *awssync.Result)
	}{
		{[]string{testserver.EC2DescribeVpcs}, func(r *awssync.Result) { r.VPCs = nil }},
		{[]string{testserver.EC2DescribeSubnets}, func(r *awssync.Result) { r.Subnets = nil }},
		{[]string{testserver.EC2DescribeNetworkInterfaces}, func(r *awssync.Result) { r.Interfaces = nil }},
		{[]string{testserver.EC2DescribeInstances}, func(r *awssync.Result) { r.Instances = nil }},
		// Without the zones, the subnets still map zone names to ids.
		{[]string{testserver.EC2DescribeAvailabilityZones}, func(r *awssync.Result) { r.AZs = nil }},
		{[]string{testserver.EC2DescribeVpcs, testserver.EC2DescribeInstances}, func(r *awssync.Result) { r.VPCs, r.Instances = nil, nil }},
	} {
		t.Run(strings.Join(tc.denied, "+"), func(t *testing.T) {
			srv := testserver.EC2(t, d, testserver.EC2PageSize(4))
			srv.Deny(tc.denied...)
			got, err := newSyncer(t, srv, nil).Sync(context.Background())
			want := full
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Sync:\n got %+v\nwant %+v", got, want)
			}
			if err == nil {
				t.Fatal("Sync: no error")
			}
			errs := awssync.AccessErrors(err)
			if len(errs) != len(tc.denied) {
				t.Fatalf("Sync error %q: %d refusals, want %d", err, len(errs), len(tc.denied))
			}
			for _, action := range tc.denied {
				perm := "ec2:" + action
				found := false
				for _, ae := range errs {
					if ae.Permission() == perm {
						found = true
						if ae.Code != "UnauthorizedOperation" || ae.Loses() == "" {
							t.Errorf("%s: code %q, loses %q", perm, ae.Code, ae.Loses())
						}
					}
				}
				if !found {
					t.Errorf("Sync error %q: no refusal of %s", err, perm)
				}
				if msg := err.Error(); !strings.Contains(msg, "permission "+perm+" is missing") || !strings.Contains(msg, awssync.Loses(action)) {
					t.Errorf("Sync error %q does not name %s and what reports lose", msg, perm)
				}
			}
		})
	}
}

// TestAccessErrorAuthFailure classifies EC2's AuthFailure (credentials
// not accepted), which the test server does not answer, as an access
// error naming the permission.
func TestAccessErrorAuthFailure(t *testing.T) {
	e := &awssync.AccessError{Action: awssync.DescribeSubnets, Code: "AuthFailure", Err: &smithy.GenericAPIError{Code: "AuthFailure", Message: "AWS was not able to validate the provided access credentials"}}
	msg := e.Error()
	for _, want := range []string{"ec2:DescribeSubnets", "AuthFailure", "subnet names", "not accepted"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	var api smithy.APIError
	if !errors.As(e, &api) || api.ErrorCode() != "AuthFailure" {
		t.Errorf("AccessError does not unwrap to the API error")
	}
}

// TestCheckPermissions denies some actions and wants exactly those
// missing, in Actions order, with one DryRun request per action.
func TestCheckPermissions(t *testing.T) {
	for _, tc := range []struct {
		denied []string
		want   []string // permissions, in Actions order
	}{
		{nil, nil},
		{[]string{testserver.EC2DescribeVpcs}, []string{"ec2:DescribeVpcs"}},
		{[]string{testserver.EC2DescribeInstances, testserver.EC2DescribeSubnets}, []string{"ec2:DescribeSubnets", "ec2:DescribeInstances"}},
		{awssync.Actions, []string{"ec2:DescribeAvailabilityZones", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances"}},
	} {
		t.Run(strings.Join(tc.denied, "+"), func(t *testing.T) {
			srv := testserver.EC2(t, fixture())
			srv.Deny(tc.denied...)
			missing, err := newSyncer(t, srv, nil).CheckPermissions(context.Background())
			if err != nil {
				t.Fatalf("CheckPermissions: %v", err)
			}
			var got []string
			for _, m := range missing {
				got = append(got, m.Permission)
				action := strings.TrimPrefix(m.Permission, "ec2:")
				if m.Code != "UnauthorizedOperation" || m.Loses != awssync.Loses(action) || m.Loses == "" {
					t.Errorf("%+v: want UnauthorizedOperation and what reports lose", m)
				}
				if s := m.String(); !strings.Contains(s, m.Permission) || !strings.Contains(s, m.Loses) {
					t.Errorf("String() = %q", s)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("missing = %v, want %v", got, tc.want)
			}
			for _, a := range awssync.Actions {
				if n := srv.Requests(a); n != 1 {
					t.Errorf("%s requests = %d, want 1", a, n)
				}
			}
		})
	}
}

// TestCheckPermissionsUnknown throttles past the retries: the permissions
// are unknown, which is an error, not "all permitted".
func TestCheckPermissionsUnknown(t *testing.T) {
	srv := testserver.EC2(t, fixture())
	srv.Throttle(100)
	missing, err := newSyncer(t, srv, func(c *awssync.Config) { c.MaxAttempts = 2 }).CheckPermissions(context.Background())
	if err == nil || !strings.Contains(err.Error(), "RequestLimitExceeded") {
		t.Errorf("CheckPermissions = %v, %v: want RequestLimitExceeded", missing, err)
	}
}

func labels(s vmclient.Series) map[string]string {
	m := map[string]string{}
	for _, l := range s.Labels {
		if _, dup := m[l.Name]; dup {
			panic("duplicate label " + l.Name)
		}
		m[l.Name] = l.Value
	}
	return m
}

// TestSeriesGolden checks the labels of a synced example exactly.
func TestSeriesGolden(t *testing.T) {
	d := testserver.EC2Data{
		AvailabilityZones: []testserver.AvailabilityZone{{Name: "eu-west-1a", ID: "euw1-az3", Region: "eu-west-1"}},
		VPCs:              []testserver.VPC{{ID: "vpc-0a1b2c3d4e5f60718", Tags: []testserver.EC2Tag{{Key: "Name", Value: "prod"}, {Key: "Team", Value: "platform"}}}},
		Subnets:           []testserver.Subnet{{ID: "subnet-0123456789abcdef0", VPCID: "vpc-0a1b2c3d4e5f60718", AZ: "eu-west-1a", AZID: "euw1-az3", Tags: []testserver.EC2Tag{{Key: "Name", Value: "prod private a"}}}},
		NetworkInterfaces: []testserver.NetworkInterface{
			{ID: "eni-0fedcba9876543210", SubnetID: "subnet-0123456789abcdef0", VPCID: "vpc-0a1b2c3d4e5f60718", AZ: "eu-west-1a", Description: "Primary network interface", InstanceID: "i-0aaaabbbbccccdddd", Tags: []testserver.EC2Tag{{Key: "Name", Value: "web-1 eth0"}, {Key: "aws:cloudformation:stack-name", Value: "web"}}},
			{ID: "eni-1fedcba9876543210", SubnetID: "subnet-0123456789abcdef0", VPCID: "vpc-0a1b2c3d4e5f60718", AZ: "eu-west-1a", Description: "Interface for NAT Gateway nat-0123", InterfaceType: "nat_gateway"},
		},
		Instances: []testserver.Instance{{ID: "i-0aaaabbbbccccdddd", SubnetID: "subnet-0123456789abcdef0", VPCID: "vpc-0a1b2c3d4e5f60718", AZ: "eu-west-1a", Tags: []testserver.EC2Tag{{Key: "Name", Value: "web-1"}, {Key: "Team", Value: "web"}}}},
	}
	srv := testserver.EC2(t, d)
	s := newSyncer(t, srv, func(c *awssync.Config) {
		c.Region, c.Tags = "eu-west-1", []string{"Team", "aws:cloudformation:stack-name"}
	})
	res, err := s.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	series := awssync.Series(res, "123456789012", at)
	base := map[string]string{"__name__": "vpcflow_entity_info", "account_id": "123456789012", "region": "eu-west-1"}
	with := func(m map[string]string) map[string]string {
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	want := []map[string]string{
		with(map[string]string{"entity_type": "vpc", "entity_id": "vpc-0a1b2c3d4e5f60718", "name": "prod", "tag_Team": "platform"}),
		with(map[string]string{"entity_type": "subnet", "entity_id": "subnet-0123456789abcdef0", "name": "prod private a", "vpc_id": "vpc-0a1b2c3d4e5f60718", "az_id": "euw1-az3"}),
		with(map[string]string{"entity_type": "interface", "entity_id": "eni-0fedcba9876543210", "name": "web-1 eth0", "description": "Primary network interface",
			"vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_id": "subnet-0123456789abcdef0", "az_id": "euw1-az3", "instance_id": "i-0aaaabbbbccccdddd",
			"interface_type": "interface", "tag_aws_cloudformation_stack_name": "web"}),
		with(map[string]string{"entity_type": "interface", "entity_id": "eni-1fedcba9876543210", "description": "Interface for NAT Gateway nat-0123",
			"vpc_id": "vpc-0a1b2c3d4e5f60718", "subnet_id": "subnet-0123456789abcdef0", "az_id": "euw1-az3", "interface_type": "nat_gateway"}),
		with(map[string]string{"entity_type": "instance", "entity_id": "i-0aaaabbbbccccdddd", "name": "web-1", "vpc_id": "vpc-0a1b2c3d4e5f60718",
			"subnet_id": "subnet-0123456789abcdef0", "az_id": "euw1-az3", "tag_Team": "web"}),
		with(map[string]string{"entity_type": "az", "entity_id": "euw1-az3", "name": "eu-west-1a"}),
	}
	if len(series) != len(want) {
		t.Fatalf("%d series, want %d: %+v", len(series), len(want), series)
	}
	for i, s := range series {
		if got := labels(s); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("series %d labels:\n got %v\nwant %v", i, got, want[i])
		}
		if want := []vmclient.Sample{{Timestamp: at.UnixMilli(), Value: 1}}; !reflect.DeepEqual(s.Samples, want) {
			t.Errorf("series %d samples = %v, want %v", i, s.Samples, want)
		}
	}
}

// TestSeriesHostile gives Series hostile values, synced through the
// server where EC2 would answer them: every label is bounded, valid UTF-8
// and free of control characters; malformed ids leave the entity out and
// malformed relations the label.
func TestSeriesHostile(t *testing.T) {
	long := strings.Repeat("é", 5*1024) // 10 KiB
	vpc := "vpc-0a1b2c3d4e5f60718"
	for _, tc := range []struct {
		name    string
		entity  awssync.Entity
		account string
		want    map[string]string // labels beside __name__, account_id, region; nil: no series
	}{
		{"10 KiB name", awssync.Entity{Kind: awssync.KindVPC, ID: vpc, Name: long},
			"123456789012", map[string]string{"entity_type": "vpc", "entity_id": vpc, "name": strings.Repeat("é", 126) + "…"}},
		{"10 KiB description and tag", awssync.Entity{Kind: awssync.KindInterface, ID: "eni-0fedcba9876543210", Description: strings.Repeat("x", 10240), Tags: map[string]string{"Team": long}},
			"123456789012", map[string]string{"entity_type": "interface", "entity_id": "eni-0fedcba9876543210", "description": strings.Repeat("x", 253) + "…", "tag_Team": strings.Repeat("é", 126) + "…"}},
		{"control characters", awssync.Entity{Kind: awssync.KindVPC, ID: vpc, Name: "\tprod\nvpc\x00\x1b[31m\u0085\u2028x\x7f "},
			"123456789012", map[string]string{"entity_type": "vpc", "entity_id": vpc, "name": "prod vpc  [31m  x"}},
		{"invalid UTF-8", awssync.Entity{Kind: awssync.KindVPC, ID: vpc, Name: "a\xff\xfeb"},
			"123456789012", map[string]string{"entity_type": "vpc", "entity_id": vpc, "name": "a\uFFFDb"}},
		{"only control characters", awssync.Entity{Kind: awssync.KindVPC, ID: vpc, Name: "\x00\x01\n"},
			"123456789012", map[string]string{"entity_type": "vpc", "entity_id": vpc}},
		{"malformed id", awssync.Entity{Kind: awssync.KindVPC, ID: "vpc-0A1B\n", Name: "x"}, "123456789012", nil},
		{"id of another kind", awssync.Entity{Kind: awssync.KindSubnet, ID: vpc, Name: "x"}, "123456789012", nil},
		{"overlong id", awssync.Entity{Kind: awssync.KindInstance, ID: "i-" + strings.Repeat("a", 33)}, "123456789012", nil},
		{"unknown kind", awssync.Entity{Kind: "bucket", ID: vpc}, "123456789012", nil},
		{"malformed relations", awssync.Entity{Kind: awssync.KindInterface, ID: "eni-0fedcba9876543210", VPCID: "vpc-xyz", SubnetID: "subnet-" + strings.Repeat("0", 40),
			AZID: "use1 az1", InstanceID: "i-", InterfaceType: "NAT gateway\n"},
			"123456789012", map[string]string{"entity_type": "interface", "entity_id": "eni-0fedcba9876543210"}},
		{"overlong interface type", awssync.Entity{Kind: awssync.KindInterface, ID: "eni-0fedcba9876543210", InterfaceType: strings.Repeat("a", 65)},
			"123456789012", map[string]string{"entity_type": "interface", "entity_id": "eni-0fedcba9876543210"}},
		{"malformed account", awssync.Entity{Kind: awssync.KindVPC, ID: vpc}, "12345678901x", nil},
		{"unknown account", awssync.Entity{Kind: awssync.KindVPC, ID: vpc}, "unknown", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			series := awssync.Series(awssync.Result{Region: "us-east-1", VPCs: []awssync.Entity{tc.entity}}, tc.account, time.Unix(0, 0))
			if tc.want == nil {
				if len(series) != 0 {
					t.Fatalf("series %+v, want none", series)
				}
				return
			}
			if len(series) != 1 {
				t.Fatalf("%d series, want 1", len(series))
			}
			got := labels(series[0])
			for k, v := range got {
				if len(v) > awssync.MaxTextBytes || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					t.Errorf("label %s = %q: not bounded", k, v)
				}
			}
			want := map[string]string{"__name__": "vpcflow_entity_info", "account_id": tc.account, "region": "us-east-1"}
			for k, v := range tc.want {
				want[k] = v
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("labels:\n got %q\nwant %q", got, want)
			}
		})
	}

	// The same through the server and a sync: a 10 KiB Name tag with
	// a newline (XML cannot carry most other control characters).
	srv := testserver.EC2(t, testserver.EC2Data{VPCs: []testserver.VPC{{ID: vpc, Tags: []testserver.EC2Tag{{Key: "Name", Value: "a\n" + long}, {Key: "Team", Value: long}}}}})
	res, err := newSyncer(t, srv, func(c *awssync.Config) { c.Tags = []string{"Team"} }).Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	series := awssync.Series(res, "123456789012", time.Unix(0, 0))
	if len(series) != 1 {
		t.Fatalf("%d series, want 1", len(series))
	}
	got := labels(series[0])
	if want := "a " + strings.Repeat("é", 125) + "…"; got["name"] != want {
		t.Errorf("name = %q (%d bytes), want %q", got["name"], len(got["name"]), want)
	}
	if want := strings.Repeat("é", 126) + "…"; got["tag_Team"] != want {
		t.Errorf("tag_Team = %q, want %q", got["tag_Team"], want)
	}
	if awssync.Series(awssync.Result{Region: "US-EAST-1", VPCs: res.VPCs}, "123456789012", time.Unix(0, 0)) != nil {
		t.Error("a malformed region gave series")
	}
}

// TestText checks the bound on free text at the edges.
func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"web-1", "web-1"},
		{"  web 1 ", "web 1"},
		{strings.Repeat("a", 256), strings.Repeat("a", 256)},
		{strings.Repeat("a", 257), strings.Repeat("a", 253) + "…"},
		{strings.Repeat("a", 252) + "日本", strings.Repeat("a", 252) + "…"}, // 258 bytes: the 3-byte rune at 252 does not fit
		{"日本語", "日本語"},
		{"a\u202eb", "a\u202eb"}, // a format character, not a control: kept
	} {
		if got := awssync.Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestConfig checks Validate and New's refusals; errors name the field,
// never a secret.
func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*awssync.Config)
		want string // in the error; "" for none
	}{
		{"ok", func(*awssync.Config) {}, ""},
		{"no region", func(c *awssync.Config) { c.Region = "" }, "region: required"},
		{"bad region", func(c *awssync.Config) { c.Region = "US East" }, `region "US East"`},
		{"page size", func(c *awssync.Config) { c.PageSize = 4 }, "page_size 4"},
		{"empty tag", func(c *awssync.Config) { c.Tags = []string{"Name", ""} }, "tags[1]: empty"},
		{"long tag", func(c *awssync.Config) { c.Tags = []string{strings.Repeat("k", 129)} }, "tags[0]: tag key of 129 bytes"},
		{"tag labels collide", func(c *awssync.Config) { c.Tags = []string{"cost-center", "cost:center"} }, `tags[1] "cost:center": label tag_cost_center`},
		{"key without secret", func(c *awssync.Config) { c.Credentials.SecretAccessKey = "" }, "the access key id and the secret access key go together"},
		{"external id without role", func(c *awssync.Config) { c.Credentials.ExternalID = "hush" }, "external_id needs role_arn"},
		{"secret from a missing env", func(c *awssync.Config) {
			c.Credentials.SecretAccessKey, c.Credentials.SecretAccessKeyEnv = "", "VPCFLOW_TEST_NO_SUCH_VARIABLE"
		}, "credentials.secret_access_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := awssync.DefaultConfig()
			cfg.Region = "us-east-1"
			cfg.Credentials = source.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "topsecret"}
			tc.mod(&cfg)
			_, err := awssync.New(context.Background(), cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("New error = %v, want %q", err, tc.want)
			case err != nil && (strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "hush")):
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}

// TestTagLabel checks tag label names.
func TestTagLabel(t *testing.T) {
	for in, want := range map[string]string{
		"Name":                          "tag_Name",
		"cost-center":                   "tag_cost_center",
		"aws:cloudformation:stack-name": "tag_aws_cloudformation_stack_name",
		"team é":                        "tag_team__",
	} {
		if got := awssync.TagLabel(in); got != want {
			t.Errorf("TagLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
