package awssync

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Kind is the kind of an entity (the entity_type label).
type Kind string

// The kinds of entities synced.
const (
	KindVPC       Kind = "vpc"
	KindSubnet    Kind = "subnet"
	KindInterface Kind = "interface"
	KindInstance  Kind = "instance"
	KindAZ        Kind = "az"
)

// The EC2 actions a sync calls, each allowed by the IAM permission
// "ec2:" + action.
const (
	DescribeVpcs              = "DescribeVpcs"
	DescribeSubnets           = "DescribeSubnets"
	DescribeNetworkInterfaces = "DescribeNetworkInterfaces"
	DescribeInstances         = "DescribeInstances"
	DescribeAvailabilityZones = "DescribeAvailabilityZones"
)

// Actions are the EC2 actions a sync calls, in the order it calls them.
var Actions = []string{DescribeAvailabilityZones, DescribeVpcs, DescribeSubnets, DescribeNetworkInterfaces, DescribeInstances}

// lost says what reports lose without each action.
var lost = map[string]string{
	DescribeVpcs:              "VPC names: reports by VPC show vpc- ids",
	DescribeSubnets:           "subnet names: reports by subnet show subnet- ids",
	DescribeNetworkInterfaces: "interface names and descriptions: reports by interface and the pair reports show eni- ids",
	DescribeInstances:         "instance names: reports by instance show i- ids",
	DescribeAvailabilityZones: "zone names: reports by availability zone show zone ids (use1-az1)",
}

// Loses says what reports lose without the permission of the EC2 action
// (one of Actions), for messages.
func Loses(action string) string { return lost[action] }

// Entity is an entity synced. Every field is as EC2 answered, unchecked:
// Series checks each before it becomes a label.
type Entity struct {
	// Kind is the entity's kind; ID its id (vpc-…, subnet-…, eni-…, i-…,
	// or a zone id such as use1-az1).
	Kind Kind
	ID   string
	// Name is the Name tag's value (a zone's name, us-east-1a, for an AZ);
	// Description the interface's description.
	Name, Description string
	// The relations: the VPC, subnet and zone (id) the entity is in, the
	// instance an interface is attached to, and the interface's type
	// (interface, nat_gateway, lambda …). Empty when they do not apply or
	// EC2 did not say.
	VPCID, SubnetID, AZID, InstanceID, InterfaceType string
	// Tags are the configured tags (Config.Tags) the entity has, by key.
	Tags map[string]string
	// Addresses are an interface's private IPv4 and IPv6 addresses, as
	// EC2 answered them: they name the interface in the pair reports
	// (Directory), never a label.
	Addresses []string
	// OwnerID is the account that owns the entity, as EC2 says (ownerId;
	// an instance's is its reservation's); empty for zones. A shared VPC
	// or subnet is another account's.
	OwnerID string
}

// Result is what a sync found, by kind, each in the order EC2 answered.
type Result struct {
	// Region is the region synced.
	Region                                    string
	VPCs, Subnets, Interfaces, Instances, AZs []Entity
}

// All returns every entity: VPCs, subnets, interfaces, instances, then
// zones.
func (r Result) All() []Entity {
	out := make([]Entity, 0, len(r.VPCs)+len(r.Subnets)+len(r.Interfaces)+len(r.Instances)+len(r.AZs))
	for _, es := range [][]Entity{r.VPCs, r.Subnets, r.Interfaces, r.Instances, r.AZs} {
		out = append(out, es...)
	}
	return out
}

// Summary says how many entities of each kind were synced: "3 VPCs, 12
// subnets, 240 interfaces, 180 instances, 6 AZs synced".
func (r Result) Summary() string {
	return plural(len(r.VPCs), "VPC", "VPCs") + ", " + plural(len(r.Subnets), "subnet", "subnets") + ", " +
		plural(len(r.Interfaces), "interface", "interfaces") + ", " + plural(len(r.Instances), "instance", "instances") + ", " +
		plural(len(r.AZs), "AZ", "AZs") + " synced"
}

// AccessError is an EC2 action refused for want of a permission
// (UnauthorizedOperation) or because the credentials were not accepted
// (AuthFailure).
type AccessError struct {
	// Action is the EC2 action refused (DescribeVpcs …); Code EC2's error
	// code.
	Action, Code string
	// Err is the SDK's error.
	Err error
}

// Permission is the IAM permission the action needs: ec2:DescribeVpcs ….
func (e *AccessError) Permission() string { return "ec2:" + e.Action }

// Loses says what reports lose without the permission.
func (e *AccessError) Loses() string { return Loses(e.Action) }

// Error names the permission and what reports lose without it.
func (e *AccessError) Error() string {
	if e.Code == "AuthFailure" {
		return fmt.Sprintf("ec2 %s: the credentials were not accepted (AuthFailure), so %s cannot be checked: check the keys or role; without it reports lose %s: %v",
			e.Action, e.Permission(), e.Loses(), e.Err)
	}
	return fmt.Sprintf("ec2 %s: permission %s is missing (%s): grant it to the sync's credentials; without it reports lose %s: %v",
		e.Action, e.Permission(), e.Code, e.Loses(), e.Err)
}

// Unwrap returns the SDK's error.
func (e *AccessError) Unwrap() error { return e.Err }

// AccessErrors returns the *AccessError values in err's tree (Sync's
// error joins one per refused action), in order.
func AccessErrors(err error) []*AccessError {
	var out []*AccessError
	var walk func(error)
	walk = func(e error) {
		switch x := e.(type) {
		case nil:
		case *AccessError:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}

// classify returns err as an *AccessError when EC2 refused the action for
// access, else err wrapped with the action.
func classify(action string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch c := ae.ErrorCode(); c {
		case "UnauthorizedOperation", "AuthFailure":
			return &AccessError{Action: action, Code: c, Err: err}
		}
	}
	return fmt.Errorf("ec2 %s: %w", action, err)
}

// Sync describes the account and region's zones, VPCs, subnets,
// interfaces and instances, page by page, each request retried with
// backoff on throttling. An action refused for access (an *AccessError,
// which names the permission) does not stop the sync: the other kinds
// are still described, and the error returned joins the refusals
// (errors.As finds them) beside the partial Result. Any other error
// stops the sync.
func (s *Syncer) Sync(ctx context.Context) (Result, error) {
	res := Result{Region: s.cfg.Region}
	var denied []error
	steps := []struct {
		action string
		run    func(context.Context, *Result, map[string]string) error
	}{
		{DescribeAvailabilityZones, s.zones},
		{DescribeVpcs, s.vpcs},
		{DescribeSubnets, s.subnets},
		{DescribeNetworkInterfaces, s.interfaces},
		{DescribeInstances, s.instances},
	}
	// zoneIDs maps zone names (us-east-1a) to ids (use1-az1): interfaces
	// and instances may say only the name.
	zoneIDs := map[string]string{}
	for _, st := range steps {
		if err := st.run(ctx, &res, zoneIDs); err != nil {
			err = classify(st.action, err)
			var ae *AccessError
			if !errors.As(err, &ae) {
				return res, fmt.Errorf("sync %s: %w", s.cfg.Region, err)
			}
			denied = append(denied, err)
		}
	}
	if len(denied) > 0 {
		return res, fmt.Errorf("sync %s: %w", s.cfg.Region, errors.Join(denied...))
	}
	return res, nil
}

// tags returns the configured tags among ts (nil for none) and the Name
// tag's value.
func (s *Syncer) tags(ts []types.Tag) (map[string]string, string) {
	var out map[string]string
	var name string
	for _, t := range ts {
		k := aws.ToString(t.Key)
		if k == "Name" {
			name = aws.ToString(t.Value)
		}
		for _, want := range s.cfg.Tags {
			if k == want {
				if out == nil {
					out = map[string]string{}
				}
				out[k] = aws.ToString(t.Value)
			}
		}
	}
	return out, name
}

func (s *Syncer) zones(ctx context.Context, res *Result, zoneIDs map[string]string) error {
	// DescribeAvailabilityZones is not paginated: one answer holds the
	// region's zones.
	out, err := s.client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		return err
	}
	for _, z := range out.AvailabilityZones {
		id, name := aws.ToString(z.ZoneId), aws.ToString(z.ZoneName)
		zoneIDs[name] = id
		res.AZs = append(res.AZs, Entity{Kind: KindAZ, ID: id, Name: name})
	}
	return nil
}

func (s *Syncer) vpcs(ctx context.Context, res *Result, _ map[string]string) error {
	p := ec2.NewDescribeVpcsPaginator(s.client, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(s.cfg.PageSize)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, v := range page.Vpcs {
			tags, name := s.tags(v.Tags)
			res.VPCs = append(res.VPCs, Entity{Kind: KindVPC, ID: aws.ToString(v.VpcId), Name: name, Tags: tags, OwnerID: aws.ToString(v.OwnerId)})
		}
	}
	return nil
}

func (s *Syncer) subnets(ctx context.Context, res *Result, zoneIDs map[string]string) error {
	p := ec2.NewDescribeSubnetsPaginator(s.client, &ec2.DescribeSubnetsInput{MaxResults: aws.Int32(s.cfg.PageSize)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, n := range page.Subnets {
			tags, name := s.tags(n.Tags)
			az := aws.ToString(n.AvailabilityZoneId)
			if zn := aws.ToString(n.AvailabilityZone); az != "" && zn != "" {
				if _, ok := zoneIDs[zn]; !ok {
					zoneIDs[zn] = az
				}
			}
			res.Subnets = append(res.Subnets, Entity{Kind: KindSubnet, ID: aws.ToString(n.SubnetId), Name: name,
				VPCID: aws.ToString(n.VpcId), AZID: az, Tags: tags, OwnerID: aws.ToString(n.OwnerId)})
		}
	}
	return nil
}

// zoneID returns the zone id given, else the id of the zone named name.
func zoneID(id, name *string, zoneIDs map[string]string) string {
	if id := aws.ToString(id); id != "" {
		return id
	}
	return zoneIDs[aws.ToString(name)]
}

func (s *Syncer) interfaces(ctx context.Context, res *Result, zoneIDs map[string]string) error {
	p := ec2.NewDescribeNetworkInterfacesPaginator(s.client, &ec2.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(s.cfg.PageSize)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, n := range page.NetworkInterfaces {
			tags, name := s.tags(n.TagSet)
			e := Entity{Kind: KindInterface, ID: aws.ToString(n.NetworkInterfaceId), Name: name,
				Description: aws.ToString(n.Description), VPCID: aws.ToString(n.VpcId), SubnetID: aws.ToString(n.SubnetId),
				AZID: zoneID(n.AvailabilityZoneId, n.AvailabilityZone, zoneIDs), InterfaceType: string(n.InterfaceType), Tags: tags,
				OwnerID: aws.ToString(n.OwnerId)}
			if n.Attachment != nil {
				e.InstanceID = aws.ToString(n.Attachment.InstanceId)
			}
			for _, a := range n.PrivateIpAddresses {
				if v := aws.ToString(a.PrivateIpAddress); v != "" {
					e.Addresses = append(e.Addresses, v)
				}
			}
			for _, a := range n.Ipv6Addresses {
				if v := aws.ToString(a.Ipv6Address); v != "" {
					e.Addresses = append(e.Addresses, v)
				}
			}
			res.Interfaces = append(res.Interfaces, e)
		}
	}
	return nil
}

func (s *Syncer) instances(ctx context.Context, res *Result, zoneIDs map[string]string) error {
	p := ec2.NewDescribeInstancesPaginator(s.client, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(s.cfg.PageSize)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				tags, name := s.tags(in.Tags)
				e := Entity{Kind: KindInstance, ID: aws.ToString(in.InstanceId), Name: name,
					VPCID: aws.ToString(in.VpcId), SubnetID: aws.ToString(in.SubnetId), Tags: tags, OwnerID: aws.ToString(r.OwnerId)}
				if in.Placement != nil {
					e.AZID = zoneID(in.Placement.AvailabilityZoneId, in.Placement.AvailabilityZone, zoneIDs)
				}
				res.Instances = append(res.Instances, e)
			}
		}
	}
	return nil
}

// Missing is a permission the sync's credentials lack.
type Missing struct {
	// Permission is the IAM permission (ec2:DescribeVpcs …); Code EC2's
	// refusal (UnauthorizedOperation, or AuthFailure when the credentials
	// were not accepted at all).
	Permission, Code string
	// Loses says what reports lose without it.
	Loses string
}

// String says what is missing and what reports lose.
func (m Missing) String() string {
	return fmt.Sprintf("%s (%s): reports lose %s", m.Permission, m.Code, m.Loses)
}

// CheckPermissions asks EC2 whether the credentials may call each of
// Actions, with DryRun requests (which describe nothing): DryRunOperation
// means permitted, UnauthorizedOperation (or AuthFailure) missing. It
// returns what is missing, in the order of Actions, and an error when an
// answer is neither (the endpoint unreachable, throttled past the retries
// …), which leaves the permissions unknown.
func (s *Syncer) CheckPermissions(ctx context.Context) ([]Missing, error) {
	dry := aws.Bool(true)
	calls := map[string]func() error{
		DescribeAvailabilityZones: func() error {
			_, err := s.client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{DryRun: dry})
			return err
		},
		DescribeVpcs: func() error {
			_, err := s.client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: dry})
			return err
		},
		DescribeSubnets: func() error {
			_, err := s.client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{DryRun: dry})
			return err
		},
		DescribeNetworkInterfaces: func() error {
			_, err := s.client.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{DryRun: dry})
			return err
		},
		DescribeInstances: func() error {
			_, err := s.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: dry})
			return err
		},
	}
	var missing []Missing
	for _, action := range Actions {
		err := calls[action]()
		var api smithy.APIError
		if err != nil && errors.As(err, &api) && api.ErrorCode() == "DryRunOperation" {
			continue
		}
		if err == nil {
			return missing, fmt.Errorf("check %s: ec2 %s: a DryRun request was answered as a real one", s.cfg.Region, action)
		}
		var ae *AccessError
		if !errors.As(classify(action, err), &ae) {
			return missing, fmt.Errorf("check %s: %w", s.cfg.Region, classify(action, err))
		}
		missing = append(missing, Missing{Permission: ae.Permission(), Code: ae.Code, Loses: ae.Loses()})
	}
	return missing, nil
}
