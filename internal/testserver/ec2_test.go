package testserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflow/vpcflow/collector/source"
)

// ec2Fixture is what the tests load: 7 VPCs, subnets, interfaces (some
// attached) and instances (two sharing a reservation), 3 zones.
func ec2Fixture() EC2Data {
	var d EC2Data
	for i := range 7 {
		d.VPCs = append(d.VPCs, VPC{ID: fmt.Sprintf("vpc-%02d", i), CIDR: fmt.Sprintf("10.%d.0.0/16", i), Tags: []EC2Tag{{"Name", fmt.Sprintf("vpc <%d> & co", i)}, {"env", "test"}}})
	}
	d.VPCs[3].Tags = nil
	zones := []AvailabilityZone{{"us-east-1a", "use1-az6", "us-east-1"}, {"us-east-1b", "use1-az1", "us-east-1"}, {"us-east-1c", "use1-az2", "us-east-1"}}
	d.AvailabilityZones = zones
	for i := range 11 {
		z := zones[i%3]
		d.Subnets = append(d.Subnets, Subnet{ID: fmt.Sprintf("subnet-%02d", i), VPCID: d.VPCs[i%7].ID, CIDR: fmt.Sprintf("10.%d.%d.0/24", i%7, i), AZ: z.Name, AZID: z.ID, Tags: []EC2Tag{{"Name", fmt.Sprintf("subnet %d", i)}}})
	}
	for i := range 9 {
		n := d.Subnets[i]
		eni := NetworkInterface{ID: fmt.Sprintf("eni-%02d", i), SubnetID: n.ID, VPCID: n.VPCID, AZ: n.AZ, Description: fmt.Sprintf("interface %d", i), PrivateIPs: []string{fmt.Sprintf("10.%d.%d.10", i%7, i), fmt.Sprintf("10.%d.%d.11", i%7, i)}, Tags: []EC2Tag{{"team", "net"}}}
		switch {
		case i < 6:
			eni.InstanceID = fmt.Sprintf("i-%02d", i/2) // two interfaces each for i-00..i-02
		case i == 6:
			eni.InterfaceType, eni.Description = "nat_gateway", "Interface for NAT Gateway nat-1"
		case i == 7:
			eni.InterfaceType, eni.PrivateIPs = "lambda", eni.PrivateIPs[:1]
		}
		d.NetworkInterfaces = append(d.NetworkInterfaces, eni)
	}
	for i := range 6 {
		n := d.Subnets[2*i]
		in := Instance{ID: fmt.Sprintf("i-%02d", i), SubnetID: n.ID, VPCID: n.VPCID, AZ: n.AZ, PrivateIPs: []string{fmt.Sprintf("10.%d.%d.10", (2*i)%7, 2*i)}, Tags: []EC2Tag{{"Name", fmt.Sprintf("web-%d", i)}}}
		if i == 4 || i == 5 {
			in.ReservationID = "r-shared"
		}
		d.Instances = append(d.Instances, in)
	}
	return d
}

// ec2Client returns the SDK's client for srv: static credentials,
// us-east-1, the standard retryer with at most attempts attempts and no
// backoff delay.
func ec2Client(srv *EC2Server, attempts int) *ec2.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		// As the collector's clients: the SDK's request body closed under
		// the transport cuts answers off (source.BufferRequestBodies).
		o.HTTPClient = source.BufferRequestBodies(awshttp.NewBuildableClient())
	})
}

func sdkTags(tags []ec2types.Tag) []EC2Tag {
	var out []EC2Tag
	for _, t := range tags {
		out = append(out, EC2Tag{aws.ToString(t.Key), aws.ToString(t.Value)})
	}
	return out
}

// describeAll lists everything through the SDK's paginators (limit 0: no
// MaxResults) and rebuilds an EC2Data from the answers, with the number
// of pages each took.
func describeAll(ctx context.Context, c *ec2.Client, limit int32) (EC2Data, map[string]int, error) {
	var d EC2Data
	pages := map[string]int{}
	vp := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{}, func(o *ec2.DescribeVpcsPaginatorOptions) { o.Limit = limit })
	for vp.HasMorePages() {
		out, err := vp.NextPage(ctx)
		if err != nil {
			return d, pages, fmt.Errorf("describe vpcs: %w", err)
		}
		pages[EC2DescribeVpcs]++
		for _, v := range out.Vpcs {
			d.VPCs = append(d.VPCs, VPC{ID: aws.ToString(v.VpcId), CIDR: aws.ToString(v.CidrBlock), Tags: sdkTags(v.Tags)})
		}
	}
	sp := ec2.NewDescribeSubnetsPaginator(c, &ec2.DescribeSubnetsInput{}, func(o *ec2.DescribeSubnetsPaginatorOptions) { o.Limit = limit })
	for sp.HasMorePages() {
		out, err := sp.NextPage(ctx)
		if err != nil {
			return d, pages, fmt.Errorf("describe subnets: %w", err)
		}
		pages[EC2DescribeSubnets]++
		for _, n := range out.Subnets {
			d.Subnets = append(d.Subnets, Subnet{ID: aws.ToString(n.SubnetId), VPCID: aws.ToString(n.VpcId), CIDR: aws.ToString(n.CidrBlock), AZ: aws.ToString(n.AvailabilityZone), AZID: aws.ToString(n.AvailabilityZoneId), Tags: sdkTags(n.Tags)})
		}
	}
	np := ec2.NewDescribeNetworkInterfacesPaginator(c, &ec2.DescribeNetworkInterfacesInput{}, func(o *ec2.DescribeNetworkInterfacesPaginatorOptions) { o.Limit = limit })
	for np.HasMorePages() {
		out, err := np.NextPage(ctx)
		if err != nil {
			return d, pages, fmt.Errorf("describe network interfaces: %w", err)
		}
		pages[EC2DescribeNetworkInterfaces]++
		for _, n := range out.NetworkInterfaces {
			eni := NetworkInterface{ID: aws.ToString(n.NetworkInterfaceId), SubnetID: aws.ToString(n.SubnetId), VPCID: aws.ToString(n.VpcId), AZ: aws.ToString(n.AvailabilityZone), Description: aws.ToString(n.Description), InterfaceType: string(n.InterfaceType), Tags: sdkTags(n.TagSet)}
			if eni.InterfaceType == "interface" {
				eni.InterfaceType = ""
			}
			for _, ip := range n.PrivateIpAddresses {
				eni.PrivateIPs = append(eni.PrivateIPs, aws.ToString(ip.PrivateIpAddress))
			}
			if len(eni.PrivateIPs) > 0 && (aws.ToString(n.PrivateIpAddress) != eni.PrivateIPs[0] || !aws.ToBool(n.PrivateIpAddresses[0].Primary)) {
				return d, pages, fmt.Errorf("%s: primary address %q, addresses %q", eni.ID, aws.ToString(n.PrivateIpAddress), eni.PrivateIPs)
			}
			if n.Attachment != nil {
				eni.InstanceID = aws.ToString(n.Attachment.InstanceId)
			}
			d.NetworkInterfaces = append(d.NetworkInterfaces, eni)
		}
	}
	ip := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{}, func(o *ec2.DescribeInstancesPaginatorOptions) { o.Limit = limit })
	for ip.HasMorePages() {
		out, err := ip.NextPage(ctx)
		if err != nil {
			return d, pages, fmt.Errorf("describe instances: %w", err)
		}
		pages[EC2DescribeInstances]++
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				x := Instance{ID: aws.ToString(in.InstanceId), SubnetID: aws.ToString(in.SubnetId), VPCID: aws.ToString(in.VpcId), Tags: sdkTags(in.Tags)}
				if rid := aws.ToString(r.ReservationId); rid != "r-"+strings.TrimPrefix(x.ID, "i-") {
					x.ReservationID = rid
				}
				if in.Placement != nil {
					x.AZ = aws.ToString(in.Placement.AvailabilityZone)
				}
				if in.PrivateIpAddress != nil {
					x.PrivateIPs = []string{*in.PrivateIpAddress}
				}
				if in.State == nil || in.State.Name != ec2types.InstanceStateNameRunning {
					return d, pages, fmt.Errorf("%s: state %v", x.ID, in.State)
				}
				d.Instances = append(d.Instances, x)
			}
		}
	}
	out, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		return d, pages, fmt.Errorf("describe availability zones: %w", err)
	}
	pages[EC2DescribeAvailabilityZones]++
	for _, z := range out.AvailabilityZones {
		d.AvailabilityZones = append(d.AvailabilityZones, AvailabilityZone{aws.ToString(z.ZoneName), aws.ToString(z.ZoneId), aws.ToString(z.RegionName)})
	}
	return d, pages, nil
}

// TestEC2Describe lists everything with the SDK's paginators, by pages of
// the server's size and of the client's MaxResults: the answers are the
// loaded entities, with their tags and relations, in as many pages as the
// sizes give.
func TestEC2Describe(t *testing.T) {
	want := ec2Fixture()
	tests := []struct {
		name     string
		pageSize int
		limit    int32
		// pages per action: VPCs (7), subnets (11), interfaces (9),
		// reservations (5), zones.
		pages [5]int
	}{
		{"unpaged", 0, 0, [5]int{1, 1, 1, 1, 1}},
		{"server pages of 2", 2, 0, [5]int{4, 6, 5, 3, 1}},
		{"MaxResults 5", 0, 5, [5]int{2, 3, 2, 1, 1}},
		{"MaxResults 5 under server pages of 3", 3, 5, [5]int{3, 4, 3, 2, 1}},
		{"MaxResults 6 over server pages of 10", 10, 6, [5]int{2, 2, 2, 1, 1}},
		{"one page exactly", 7, 0, [5]int{1, 2, 2, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := EC2(t, want, EC2PageSize(tt.pageSize))
			got, pages, err := describeAll(context.Background(), ec2Client(srv, 1), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("described\n%+v\nloaded\n%+v", got, want)
			}
			for i, a := range []string{EC2DescribeVpcs, EC2DescribeSubnets, EC2DescribeNetworkInterfaces, EC2DescribeInstances, EC2DescribeAvailabilityZones} {
				if pages[a] != tt.pages[i] || srv.Requests(a) != tt.pages[i] {
					t.Errorf("%s: %d pages in %d requests, want %d", a, pages[a], srv.Requests(a), tt.pages[i])
				}
			}
		})
	}
}

// TestEC2InstanceInterfaces checks that an instance's answer carries the
// interfaces attached to it, with their device indexes and addresses.
func TestEC2InstanceInterfaces(t *testing.T) {
	srv := EC2(t, ec2Fixture())
	out, err := ec2Client(srv, 1).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			for _, n := range in.NetworkInterfaces {
				var ips []string
				for _, ip := range n.PrivateIpAddresses {
					ips = append(ips, aws.ToString(ip.PrivateIpAddress))
				}
				got[aws.ToString(in.InstanceId)] = append(got[aws.ToString(in.InstanceId)], fmt.Sprintf("%s#%d %s %s", aws.ToString(n.NetworkInterfaceId), aws.ToInt32(n.Attachment.DeviceIndex), aws.ToString(n.SubnetId), strings.Join(ips, ",")))
			}
		}
	}
	want := map[string][]string{
		"i-00": {"eni-00#0 subnet-00 10.0.0.10,10.0.0.11", "eni-01#1 subnet-01 10.1.1.10,10.1.1.11"},
		"i-01": {"eni-02#0 subnet-02 10.2.2.10,10.2.2.11", "eni-03#1 subnet-03 10.3.3.10,10.3.3.11"},
		"i-02": {"eni-04#0 subnet-04 10.4.4.10,10.4.4.11", "eni-05#1 subnet-05 10.5.5.10,10.5.5.11"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("instance interfaces %q, want %q", got, want)
	}
}

// TestEC2Errors checks DryRun, denied actions, throttling with the SDK's
// standard retryer, and bad pagination parameters, as the SDK reports
// them.
func TestEC2Errors(t *testing.T) {
	calls := map[string]func(context.Context, *ec2.Client, bool) error{
		EC2DescribeVpcs: func(ctx context.Context, c *ec2.Client, dryRun bool) error {
			_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: aws.Bool(dryRun)})
			return err
		},
		EC2DescribeSubnets: func(ctx context.Context, c *ec2.Client, dryRun bool) error {
			_, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{DryRun: aws.Bool(dryRun)})
			return err
		},
		EC2DescribeNetworkInterfaces: func(ctx context.Context, c *ec2.Client, dryRun bool) error {
			_, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{DryRun: aws.Bool(dryRun)})
			return err
		},
		EC2DescribeInstances: func(ctx context.Context, c *ec2.Client, dryRun bool) error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: aws.Bool(dryRun)})
			return err
		},
		EC2DescribeAvailabilityZones: func(ctx context.Context, c *ec2.Client, dryRun bool) error {
			_, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{DryRun: aws.Bool(dryRun)})
			return err
		},
	}
	tests := []struct {
		name     string
		deny     []string
		throttle int
		attempts int // the client's MaxAttempts
		dryRun   bool
		// want is the error code for each action ("" for success), and
		// requests the requests the server received for each.
		want     map[string]string
		requests int
		message  string // part of the denied action's message
	}{
		{name: "dry run permitted", attempts: 1, dryRun: true, requests: 1, want: map[string]string{
			EC2DescribeVpcs: "DryRunOperation", EC2DescribeSubnets: "DryRunOperation", EC2DescribeNetworkInterfaces: "DryRunOperation", EC2DescribeInstances: "DryRunOperation", EC2DescribeAvailabilityZones: "DryRunOperation",
		}},
		{name: "dry run denied", deny: []string{EC2DescribeSubnets, EC2DescribeAvailabilityZones}, attempts: 1, dryRun: true, requests: 1, want: map[string]string{
			EC2DescribeVpcs: "DryRunOperation", EC2DescribeSubnets: "UnauthorizedOperation", EC2DescribeNetworkInterfaces: "DryRunOperation", EC2DescribeInstances: "DryRunOperation", EC2DescribeAvailabilityZones: "UnauthorizedOperation",
		}, message: "User: arn:aws:iam::123456789012:user/test is not authorized to perform: ec2:Describe"},
		{name: "denied", deny: []string{EC2DescribeInstances}, attempts: 3, requests: 1, want: map[string]string{
			EC2DescribeVpcs: "", EC2DescribeSubnets: "", EC2DescribeNetworkInterfaces: "", EC2DescribeInstances: "UnauthorizedOperation", EC2DescribeAvailabilityZones: "",
		}, message: "is not authorized to perform: ec2:DescribeInstances"},
		{name: "throttled then retried", throttle: 2, attempts: 3, requests: 3, want: map[string]string{
			EC2DescribeVpcs: "", EC2DescribeSubnets: "", EC2DescribeNetworkInterfaces: "", EC2DescribeInstances: "", EC2DescribeAvailabilityZones: "",
		}},
		{name: "throttled past retries", throttle: 3, attempts: 3, requests: 3, want: map[string]string{
			EC2DescribeVpcs: "RequestLimitExceeded", EC2DescribeSubnets: "RequestLimitExceeded", EC2DescribeNetworkInterfaces: "RequestLimitExceeded", EC2DescribeInstances: "RequestLimitExceeded", EC2DescribeAvailabilityZones: "RequestLimitExceeded",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for action, call := range calls {
				srv := EC2(t, ec2Fixture())
				srv.Deny(tt.deny...)
				srv.Throttle(tt.throttle)
				err := call(context.Background(), ec2Client(srv, tt.attempts), tt.dryRun)
				if got := apiCode(err); got != tt.want[action] || (err != nil) != (tt.want[action] != "") {
					t.Errorf("%s: error %v (code %q), want code %q", action, err, got, tt.want[action])
				}
				if got := srv.Requests(action); got != tt.requests {
					t.Errorf("%s: %d requests, want %d", action, got, tt.requests)
				}
				if tt.want[action] == "UnauthorizedOperation" && !strings.Contains(err.Error(), tt.message) {
					t.Errorf("%s: message %q lacks %q", action, err, tt.message)
				}
			}
		})
	}

	t.Run("allow undoes deny", func(t *testing.T) {
		srv := EC2(t, ec2Fixture())
		c := ec2Client(srv, 1)
		srv.Deny(EC2DescribeVpcs)
		if err := calls[EC2DescribeVpcs](context.Background(), c, false); apiCode(err) != "UnauthorizedOperation" {
			t.Fatalf("denied: %v", err)
		}
		srv.Allow(EC2DescribeVpcs)
		if err := calls[EC2DescribeVpcs](context.Background(), c, false); err != nil {
			t.Fatalf("allowed again: %v", err)
		}
	})

	for _, tt := range []struct {
		name      string
		max       int32
		token     string
		wantCode  string
		wantVPCs  int
		pageSize  int
		tokenFrom string // take the token from a first page of this action
	}{
		{name: "MaxResults under 5", max: 4, wantCode: "InvalidParameterValue"},
		{name: "MaxResults over 1000", max: 1001, wantCode: "InvalidParameterValue"},
		{name: "garbage token", token: "not-a-token", wantCode: "InvalidPaginationToken"},
		{name: "another action's token", pageSize: 2, tokenFrom: EC2DescribeSubnets, wantCode: "InvalidPaginationToken"},
		{name: "own token", pageSize: 2, tokenFrom: EC2DescribeVpcs, wantVPCs: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := EC2(t, ec2Fixture(), EC2PageSize(tt.pageSize))
			c := ec2Client(srv, 1)
			ctx := context.Background()
			in := &ec2.DescribeVpcsInput{}
			if tt.max != 0 {
				in.MaxResults = aws.Int32(tt.max)
			}
			if tt.token != "" {
				in.NextToken = aws.String(tt.token)
			}
			switch tt.tokenFrom {
			case EC2DescribeVpcs:
				out, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
				if err != nil {
					t.Fatal(err)
				}
				in.NextToken = out.NextToken
			case EC2DescribeSubnets:
				out, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
				if err != nil {
					t.Fatal(err)
				}
				in.NextToken = out.NextToken
			}
			out, err := c.DescribeVpcs(ctx, in)
			if got := apiCode(err); got != tt.wantCode {
				t.Fatalf("error %v, want code %q", err, tt.wantCode)
			}
			if err == nil && len(out.Vpcs) != tt.wantVPCs {
				t.Fatalf("%d VPCs, want %d", len(out.Vpcs), tt.wantVPCs)
			}
		})
	}
}

// TestEC2Auth checks that requests without a well-formed SigV4
// Authorization header are refused, through plain HTTP and through the
// SDK with anonymous credentials (which sends none), and that the raw
// answers are EC2's: status, XML envelope, request ID.
func TestEC2Auth(t *testing.T) {
	srv := EC2(t, ec2Fixture())
	const form = "Action=DescribeVpcs&Version=2016-11-15"
	const okAuth = "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, auth, body string
		status           int
		contains         []string
	}{
		{"no authorization", "", form, 403, []string{"<Response><Errors><Error><Code>MissingAuthenticationToken</Code>", "<RequestID>"}},
		{"basic auth", "Basic dXNlcjpwYXNz", form, 400, []string{"<Code>IncompleteSignature</Code>"}},
		{"no signature", strings.TrimSuffix(okAuth, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), form, 400, []string{"<Code>IncompleteSignature</Code>"}},
		{"another service", strings.Replace(okAuth, "/ec2/", "/s3/", 1), form, 400, []string{"<Code>IncompleteSignature</Code>"}},
		{"signed", okAuth, form, 200, []string{`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>`, "<vpcSet><item><vpcId>vpc-00</vpcId>", "<tagSet><item><key>Name</key><value>vpc &lt;0&gt; &amp; co</value></item>"}},
		{"signed, unknown action", okAuth, "Action=RunInstances&Version=2016-11-15", 400, []string{"<Code>InvalidAction</Code>"}},
		{"signed, no action", okAuth, "Version=2016-11-15", 400, []string{"<Code>MissingAction</Code>"}},
		{"signed, other version", okAuth, "Action=DescribeVpcs&Version=2014-01-01", 400, []string{"<Code>InvalidParameterValue</Code>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			for _, s := range tt.contains {
				if !strings.Contains(string(b), s) {
					t.Errorf("answer lacks %q:\n%s", s, b)
				}
			}
		})
	}
	if n := srv.Requests(EC2DescribeVpcs); n != 2 {
		t.Errorf("%d DescribeVpcs requests counted, want 2 (the signed ones)", n)
	}

	t.Run("sdk without credentials", func(t *testing.T) {
		c := ec2.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}}, func(o *ec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
		_, err := c.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
		if got := apiCode(err); got != "MissingAuthenticationToken" {
			t.Fatalf("error %v, want MissingAuthenticationToken", err)
		}
		if srv.Requests(EC2DescribeVpcs) != 2 {
			t.Errorf("an unauthenticated request was counted")
		}
	})
}
