package source_test

import (
	"fmt"
	"testing"

	"github.com/vpcflow/vpcflow/collector/source"
)

func TestShareKey(t *testing.T) {
	for _, tt := range []struct{ key, want string }{
		{"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/01/123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d_20260101T0005Z_1d8cb872.log.gz", "fl-0a1b2c3d"},
		{"p/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/month=01/day=01/hour=00/123456789012_vpcflowlogs_eu-west-1_fl-99_20260101T0005Z_1d8cb872.log.parquet", "fl-99"},
		{"logs/a.log.gz", "logs/a.log.gz"},
		{"123456789012_vpcflowlogs_us-east-1_notfl_20260101T0005Z_1.log.gz", "123456789012_vpcflowlogs_us-east-1_notfl_20260101T0005Z_1.log.gz"},
		{"x_vpcflowlogs_r_fl-1", "x_vpcflowlogs_r_fl-1"}, // no time nor hash: not the AWS name
	} {
		if got := source.ShareKey(tt.key); got != tt.want {
			t.Errorf("ShareKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestShareSplits checks that every object goes to exactly one instance of
// a count, that a flow log's objects all go to the same instance, and that
// the flow logs spread over the instances.
func TestShareSplits(t *testing.T) {
	key := func(fl string, i int) string {
		return fmt.Sprintf("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/01/123456789012_vpcflowlogs_us-east-1_%s_20260101T%02d05Z_%08x.log.gz", fl, i%24, i)
	}
	for _, count := range []int{1, 2, 3, 7} {
		used := map[int]bool{}
		for f := range 64 {
			fl := fmt.Sprintf("fl-%08x", f*7919)
			owner := -1
			for i := range 20 {
				var owners []int
				for idx := range count {
					if (source.Share{Index: idx, Count: count}).Owns(key(fl, i)) {
						owners = append(owners, idx)
					}
				}
				if len(owners) != 1 {
					t.Fatalf("count %d: %s owned by %v, want one instance", count, key(fl, i), owners)
				}
				if owner >= 0 && owners[0] != owner {
					t.Fatalf("count %d: flow log %s split between instances %d and %d", count, fl, owner, owners[0])
				}
				owner = owners[0]
			}
			used[owner] = true
		}
		if len(used) != count {
			t.Errorf("count %d: 64 flow logs went to %d instances", count, len(used))
		}
	}
	if !(source.Share{}).Owns("anything") || !(source.Share{Index: 0, Count: 1}).Owns("x") {
		t.Error("a share of one instance must own every object")
	}
	objs := []source.Object{{Key: key("fl-1", 1)}, {Key: key("fl-2", 1)}, {Key: "a"}, {Key: "b"}, {Key: "c"}}
	n := 0
	for idx := range 2 {
		n += len(source.Share{Index: idx, Count: 2}.Filter(objs))
	}
	if n != len(objs) {
		t.Errorf("Filter over 2 instances kept %d objects, want %d", n, len(objs))
	}
}
