package source

import (
	"context"
	"slices"
	"testing"

	"github.com/vpcflow/vpcflow/internal/testserver"
)

// TestS3Origins: the accounts and regions of the flow log folders, in
// both layouts, under the prefix or a prefix inside the layout, never
// another service's (CloudTrail) nor another destination's (team-a/).
func TestS3Origins(t *testing.T) {
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	srv.PutAll(t, bucket, layoutObjects(t))
	f := func(prefix string, want ...Origin) {
		t.Helper()
		s := newS3(t, srv, prefix, func(c *S3Config) { c.PageSize = 1 }) // a page per folder
		before := s.ListRequests()
		got, err := s.Origins(context.Background())
		if err != nil {
			t.Fatalf("Origins(prefix %q): %v", prefix, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Origins(prefix %q) = %v, want %v", prefix, got, want)
		}
		// Folders only: at most a request per folder of the three levels
		// (and the empty page that ends each listing), never the objects.
		if n := s.ListRequests() - before; n > 16 {
			t.Errorf("Origins(prefix %q): %d list requests", prefix, n)
		}
	}
	f("",
		Origin{acct, "eu-west-1"}, // the Hive-compatible layout
		Origin{acct, "us-east-1"},
		Origin{"444455556666", "eu-west-1"})
	f("team-a/", Origin{acct, "us-east-1"})
	f("team-a", Origin{acct, "us-east-1"}) // a '/' is added
	f("AWSLogs/4444", Origin{"444455556666", "eu-west-1"})
	f("AWSLogs/"+acct+"/vpcflowlogs/", Origin{acct, "us-east-1"})
	f("AWSLogs/aws-account-id="+acct+"/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2026/", Origin{acct, "eu-west-1"})
	f("AWSLogs/"+acct+"/vpcflowlogs/us-east-1/2026/10/", Origin{acct, "us-east-1"})
	f("nothing-here/")
}
