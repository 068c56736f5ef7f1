package awssync_test

import (
	"testing"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/awssync"
)

// TestDirectory checks the owners and interfaces a directory answers:
// by VPC, by address alone when one interface holds it, IPv6 in any
// spelling, nothing out of shape, and an update replacing what its
// account and region said before.
func TestDirectory(t *testing.T) {
	const (
		vpc1, vpc2 = "vpc-01111111111111111", "vpc-02222222222222222"
		a, b, c    = "eni-0aaaaaaaaaaaaaaaa", "eni-0bbbbbbbbbbbbbbbb", "eni-0cccccccccccccccc"
	)
	d := awssync.NewDirectory()
	d.Update("111111111111", awssync.Result{Region: "us-east-1", Interfaces: []awssync.Entity{
		{Kind: awssync.KindInterface, ID: a, VPCID: vpc1, SubnetID: "subnet-0a", AZID: "use1-az1", InstanceID: "i-XYZ",
			Addresses: []string{"10.0.0.1", "2600:1F18:47B:A102:0:0:0:8", "not an address", "fe80::1%eth0"}},
		{Kind: awssync.KindInterface, ID: b, VPCID: vpc2, Addresses: []string{"10.0.0.1", "10.0.0.2"}},
		{Kind: awssync.KindInterface, ID: "eni-BAD", VPCID: vpc1, Addresses: []string{"10.0.0.9"}},
		{Kind: awssync.KindInterface, ID: c, VPCID: "vpc-?", Addresses: []string{"10.0.0.3"}},
	}})
	for _, tc := range []struct {
		vpc, addr, want string
	}{
		{vpc1, "10.0.0.1", a},
		{vpc2, "10.0.0.1", b},
		{"vpc-03333333333333333", "10.0.0.1", ""}, // two VPCs hold it: not by address alone
		{vpc1, "10.0.0.2", b},                     // one interface holds it, in a peered VPC
		{vpc1, "2600:1f18:47b:a102::8", a},
		{"", "2600:1f18:47b:a102::8", a},
		{vpc1, "10.0.0.9", ""}, // malformed interface id
		{"", "10.0.0.3", ""},   // no VPC: no owner
		{vpc1, "garbage", ""},
	} {
		got, ok := d.Owner(tc.vpc, tc.addr)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Owner(%q, %q) = %q, %v; want %q", tc.vpc, tc.addr, got, ok, tc.want)
		}
	}
	if m, ok := d.Interface(a); !ok || m != (aggregate.Meta{VPC: vpc1, Subnet: "subnet-0a", AZ: "use1-az1"}) {
		// i-XYZ is not an instance id: left out
		t.Errorf("Interface(a) = %+v, %v", m, ok)
	}
	if m, ok := d.Interface(c); !ok || m.VPC != "" {
		t.Errorf("Interface(c) = %+v, %v; want it without its malformed VPC", m, ok)
	}

	// Another region adds; the same region again replaces.
	d.Update("111111111111", awssync.Result{Region: "eu-west-1", Interfaces: []awssync.Entity{{Kind: awssync.KindInterface, ID: c, VPCID: vpc2, Addresses: []string{"10.9.9.9"}}}})
	if got, _ := d.Owner(vpc2, "10.9.9.9"); got != c {
		t.Errorf("after another region: Owner = %q, want %q", got, c)
	}
	d.Update("111111111111", awssync.Result{Region: "us-east-1"}) // a and b deleted
	if got, ok := d.Owner(vpc1, "10.0.0.1"); ok {
		t.Errorf("after the interfaces went: Owner = %q", got)
	}
	if n, addrs := d.Len(); n != 1 || addrs != 1 {
		t.Errorf("Len = %d, %d; want 1, 1", n, addrs)
	}
}
