package testserver

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// EC2 Query protocol constants: the API version aws-sdk-go-v2's ec2 client
// sends in every request (Version=…) and the XML namespace of EC2's
// answers.
const (
	// EC2APIVersion is the Version parameter of every request.
	EC2APIVersion = "2016-11-15"
	// EC2Namespace is the XML namespace of every successful answer.
	EC2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

// EC2Account is the account ID EC2Server answers with (ownerId) and names
// in its UnauthorizedOperation messages, unless EC2AccountOption sets
// another.
const EC2Account = "123456789012"

// The actions EC2Server answers.
const (
	EC2DescribeVpcs              = "DescribeVpcs"
	EC2DescribeSubnets           = "DescribeSubnets"
	EC2DescribeNetworkInterfaces = "DescribeNetworkInterfaces"
	EC2DescribeInstances         = "DescribeInstances"
	EC2DescribeAvailabilityZones = "DescribeAvailabilityZones"
)

// EC2Tag is a tag of an EC2 resource.
type EC2Tag struct {
	Key, Value string
}

// VPC is a VPC EC2Server describes.
type VPC struct {
	// ID is the VPC's ID (vpc-…) and CIDR its primary IPv4 block.
	ID, CIDR string
	// Tags are answered in this order.
	Tags []EC2Tag
}

// Subnet is a subnet EC2Server describes.
type Subnet struct {
	// ID is the subnet's ID (subnet-…), VPCID its VPC's, CIDR its IPv4
	// block (may be empty).
	ID, VPCID, CIDR string
	// AZ is its availability zone's name (us-east-1a), AZID the zone's ID
	// (use1-az1).
	AZ, AZID string
	// Tags are answered in this order.
	Tags []EC2Tag
}

// NetworkInterface is an elastic network interface EC2Server describes.
type NetworkInterface struct {
	// ID is the interface's ID (eni-…); SubnetID, VPCID and AZ where it is.
	ID, SubnetID, VPCID, AZ string
	// Description and InterfaceType (interface, nat_gateway, lambda, …)
	// are answered as given; an empty InterfaceType is answered as
	// "interface".
	Description, InterfaceType string
	// PrivateIPs are its private IPv4 addresses, the primary first;
	// IPv6 its IPv6 addresses.
	PrivateIPs, IPv6 []string
	// InstanceID is the instance it is attached to, if any; an attached
	// interface is also answered in that instance's networkInterfaceSet.
	InstanceID string
	// Tags are answered in this order.
	Tags []EC2Tag
}

// Instance is an EC2 instance EC2Server describes.
type Instance struct {
	// ID is the instance's ID (i-…); SubnetID, VPCID and AZ where it runs.
	ID, SubnetID, VPCID, AZ string
	// ReservationID groups instances into one reservation; an empty one
	// gives the instance a reservation of its own.
	ReservationID string
	// PrivateIPs are its private IPv4 addresses, the primary first.
	PrivateIPs []string
	// Tags are answered in this order.
	Tags []EC2Tag
}

// AvailabilityZone is an availability zone EC2Server describes.
type AvailabilityZone struct {
	// Name is the zone's name (us-east-1a), ID its ID (use1-az1), Region
	// its region (us-east-1).
	Name, ID, Region string
}

// EC2Data is what EC2Server describes, each kind in the order answered.
type EC2Data struct {
	// VPCs are answered by DescribeVpcs.
	VPCs []VPC
	// Subnets are answered by DescribeSubnets.
	Subnets []Subnet
	// NetworkInterfaces are answered by DescribeNetworkInterfaces, and
	// the attached ones in their instance's answer too.
	NetworkInterfaces []NetworkInterface
	// Instances are answered by DescribeInstances, in reservations.
	Instances []Instance
	// AvailabilityZones are answered by DescribeAvailabilityZones, and
	// give the region of a subnet's ARN.
	AvailabilityZones []AvailabilityZone
}

// EC2Option configures EC2.
type EC2Option func(*ec2Options)

type ec2Options struct {
	pageSize int
	account  string
}

// EC2PageSize makes EC2Server answer at most n entities (reservations for
// DescribeInstances) a page, fewer when a request's MaxResults asks for
// fewer; the default, 0, leaves pages to MaxResults alone (all entities at
// once without it, as EC2 does). DescribeAvailabilityZones is never paged.
func EC2PageSize(n int) EC2Option { return func(o *ec2Options) { o.pageSize = n } }

// EC2AccountOption sets the account ID EC2Server answers with.
func EC2AccountOption(account string) EC2Option {
	return func(o *ec2Options) { o.account = account }
}

// EC2Server is an in-process stand-in for the Amazon EC2 API on 127.0.0.1,
// speaking the EC2 Query protocol as aws-sdk-go-v2's ec2 client sends and
// reads it: form-encoded POSTs (Action, Version, parameters) answered in
// XML in EC2Namespace, lists as <item> elements, errors as
// <Response><Errors><Error>… with EC2's HTTP status. It answers the
// Describe actions named by the EC2Describe… constants from the EC2Data
// it holds, with MaxResults/NextToken pagination and DryRun. A request
// must carry a well-formed SigV4 Authorization header (any key, any
// signature). It can throttle requests, deny actions and counts requests
// by action. Filters and ID lists are ignored: every entity is described.
// It is safe for concurrent use.
//
// Its errors, checked in this order, with EC2's codes and statuses:
// MissingAuthenticationToken (403) without an Authorization header,
// IncompleteSignature (400) for one that is not SigV4 for ec2,
// MissingAction (400), RequestLimitExceeded (503) while throttling,
// InvalidAction (400) for an action it does not answer,
// InvalidParameterValue (400) for another Version, a bad DryRun or a
// MaxResults outside 5..1000, UnauthorizedOperation (403) for a denied
// action, DryRunOperation (412) for a permitted DryRun, and
// InvalidPaginationToken (400) for a NextToken it did not give for that
// action.
type EC2Server struct {
	// URL is the server's base URL (http://127.0.0.1:port), for the
	// client's BaseEndpoint.
	URL string

	opts ec2Options

	mu       sync.Mutex
	data     EC2Data
	throttle int
	denied   map[string]bool
	requests map[string]int
	serial   int
}

// EC2 starts an EC2Server describing data, closed when the test ends.
func EC2(t testing.TB, data EC2Data, opts ...EC2Option) *EC2Server {
	t.Helper()
	s := &EC2Server{
		opts:     ec2Options{account: EC2Account},
		data:     data,
		denied:   map[string]bool{},
		requests: map[string]int{},
	}
	for _, o := range opts {
		o(&s.opts)
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Load replaces what the server describes.
func (s *EC2Server) Load(data EC2Data) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = data
}

// Throttle makes the next n requests (of any action, once authenticated)
// fail with RequestLimitExceeded (HTTP 503), as EC2 does over its request
// rate.
func (s *EC2Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Deny makes the actions fail with UnauthorizedOperation (HTTP 403), as
// when the caller's IAM policy does not allow them, DryRun or not.
func (s *EC2Server) Deny(actions ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range actions {
		s.denied[a] = true
	}
}

// Allow undoes Deny for the actions.
func (s *EC2Server) Allow(actions ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range actions {
		delete(s.denied, a)
	}
}

// Requests returns how many authenticated requests named action (whatever
// their answer: throttled, denied, dry run or described) the server has
// received.
func (s *EC2Server) Requests(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[action]
}

// ec2Error is an EC2 error answer.
type ec2Error struct {
	status        int
	code, message string
}

func (e *ec2Error) Error() string { return e.code + ": " + e.message }

// sigV4 matches a SigV4 Authorization header: algorithm, credential scope
// (key/date/region/service/aws4_request), signed headers and a hex
// signature.
var sigV4 = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=[^/,\s]+/\d{8}/[a-z0-9-]+/ec2/aws4_request, ?SignedHeaders=[a-z0-9-]+(;[a-z0-9-]+)*, ?Signature=[0-9a-f]{64}$`)

// checkAuth refuses a request without a well-formed SigV4 Authorization
// header: MissingAuthenticationToken (403) without one, IncompleteSignature
// (400) for one that does not parse.
func checkAuth(r *http.Request) *ec2Error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &ec2Error{http.StatusForbidden, "MissingAuthenticationToken", "The request must contain either a valid (registered) AWS access key ID or X.509 certificate."}
	}
	if !sigV4.MatchString(auth) {
		return &ec2Error{http.StatusBadRequest, "IncompleteSignature", "The request signature does not conform to AWS standards: " + strconv.Quote(auth)}
	}
	return nil
}

// nextID returns the server's next request ID, shaped like EC2's (a UUID).
func (s *EC2Server) nextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serial++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", s.serial, s.serial)
}

func (s *EC2Server) serve(w http.ResponseWriter, r *http.Request) {
	id := s.nextID()
	body, err := s.answer(r, id)
	if err != nil {
		writeEC2Error(w, id, err)
		return
	}
	writeXML(w, id, http.StatusOK, body)
}

// writeXML writes an answer: status, EC2's headers and the XML body.
func writeXML(w http.ResponseWriter, id string, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("x-amzn-RequestId", id)
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}

// writeEC2Error writes an EC2 error answer.
func writeEC2Error(w http.ResponseWriter, id string, e *ec2Error) {
	type xmlError struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type xmlResponse struct {
		XMLName   xml.Name   `xml:"Response"`
		Errors    []xmlError `xml:"Errors>Error"`
		RequestID string     `xml:"RequestID"`
	}
	b, err := xml.Marshal(xmlResponse{Errors: []xmlError{{e.code, e.message}}, RequestID: id})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeXML(w, id, e.status, b)
}

// answer returns the XML body answering r, or the error to answer.
func (s *EC2Server) answer(r *http.Request, id string) ([]byte, *ec2Error) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, &ec2Error{http.StatusMethodNotAllowed, "InvalidHttpRequest", "The HTTP method " + r.Method + " is not allowed"}
	}
	if e := checkAuth(r); e != nil {
		return nil, e
	}
	if err := r.ParseForm(); err != nil {
		return nil, &ec2Error{http.StatusBadRequest, "MalformedQueryString", fmt.Sprintf("parse form: %v", err)}
	}
	action := r.Form.Get("Action")
	if action == "" {
		return nil, &ec2Error{http.StatusBadRequest, "MissingAction", "The request must contain the parameter Action"}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[action]++
	if s.throttle > 0 {
		s.throttle--
		return nil, &ec2Error{http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded."}
	}
	paged := true
	switch action {
	case EC2DescribeVpcs, EC2DescribeSubnets, EC2DescribeNetworkInterfaces, EC2DescribeInstances:
	case EC2DescribeAvailabilityZones:
		paged = false
	default:
		return nil, &ec2Error{http.StatusBadRequest, "InvalidAction", "The action " + action + " is not valid for this web service."}
	}
	if v := r.Form.Get("Version"); v != EC2APIVersion {
		return nil, &ec2Error{http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Version %q is not supported: want %s", v, EC2APIVersion)}
	}
	if s.denied[action] {
		return nil, &ec2Error{http.StatusForbidden, "UnauthorizedOperation", fmt.Sprintf(
			"You are not authorized to perform this operation. User: arn:aws:iam::%s:user/test is not authorized to perform: ec2:%s because no identity-based policy allows the ec2:%s action",
			s.opts.account, action, action)}
	}
	if dry := r.Form.Get("DryRun"); dry != "" {
		v, err := strconv.ParseBool(dry)
		if err != nil {
			return nil, &ec2Error{http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Value (%s) for parameter DryRun is invalid.", dry)}
		}
		if v {
			return nil, &ec2Error{http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."}
		}
	}
	var start, size int
	if paged {
		var e *ec2Error
		if start, size, e = s.page(action, r.Form.Get("MaxResults"), r.Form.Get("NextToken")); e != nil {
			return nil, e
		}
	}
	resp := s.describe(action, id, start, size)
	b, err := xml.Marshal(resp)
	if err != nil {
		return nil, &ec2Error{http.StatusInternalServerError, "InternalError", fmt.Sprintf("marshal %s answer: %v", action, err)}
	}
	return b, nil
}

// page reads MaxResults and NextToken: the first entity of the page and
// the page's size (0: the rest).
func (s *EC2Server) page(action, maxResults, token string) (start, size int, e *ec2Error) {
	size = s.opts.pageSize
	if maxResults != "" {
		n, err := strconv.Atoi(maxResults)
		if err != nil || n < 5 || n > 1000 {
			return 0, 0, &ec2Error{http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Value ( %s ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", maxResults)}
		}
		if size == 0 || n < size {
			size = n
		}
	}
	if token != "" {
		start = -1
		if b, err := base64.RawURLEncoding.DecodeString(token); err == nil {
			if a, n, ok := strings.Cut(string(b), "/"); ok && a == action {
				if i, err := strconv.Atoi(n); err == nil && i > 0 {
					start = i
				}
			}
		}
		if start < 0 {
			return 0, 0, &ec2Error{http.StatusBadRequest, "InvalidPaginationToken", "The specified pagination token is not valid or is expired."}
		}
	}
	return start, size, nil
}

// pageOf returns the window [start, end) of n entities for a page of size
// (0: all) and the token of the next page ("" for the last).
func pageOf(action string, n, start, size int) (lo, hi int, next string) {
	lo = min(start, n)
	hi = n
	if size > 0 && lo+size < n {
		hi = lo + size
		next = base64.RawURLEncoding.EncodeToString([]byte(action + "/" + strconv.Itoa(hi)))
	}
	return lo, hi, next
}

// XML answer shapes, as aws-sdk-go-v2's ec2 deserializers read them.
type (
	xmlTag struct {
		Key   string `xml:"key"`
		Value string `xml:"value"`
	}
	xmlVpc struct {
		VpcID           string   `xml:"vpcId"`
		OwnerID         string   `xml:"ownerId"`
		State           string   `xml:"state"`
		CidrBlock       string   `xml:"cidrBlock"`
		InstanceTenancy string   `xml:"instanceTenancy"`
		IsDefault       bool     `xml:"isDefault"`
		Tags            []xmlTag `xml:"tagSet>item,omitempty"`
	}
	xmlSubnet struct {
		SubnetID           string   `xml:"subnetId"`
		SubnetArn          string   `xml:"subnetArn"`
		State              string   `xml:"state"`
		VpcID              string   `xml:"vpcId"`
		OwnerID            string   `xml:"ownerId"`
		CidrBlock          string   `xml:"cidrBlock,omitempty"`
		AvailabilityZone   string   `xml:"availabilityZone"`
		AvailabilityZoneID string   `xml:"availabilityZoneId"`
		Tags               []xmlTag `xml:"tagSet>item,omitempty"`
	}
	xmlPrivateIP struct {
		PrivateIPAddress string `xml:"privateIpAddress"`
		Primary          bool   `xml:"primary"`
	}
	xmlIPv6 struct {
		Address string `xml:"ipv6Address"`
	}
	xmlAttachment struct {
		AttachmentID string `xml:"attachmentId"`
		InstanceID   string `xml:"instanceId,omitempty"`
		DeviceIndex  int    `xml:"deviceIndex"`
		Status       string `xml:"status"`
	}
	xmlNetworkInterface struct {
		NetworkInterfaceID string         `xml:"networkInterfaceId"`
		SubnetID           string         `xml:"subnetId"`
		VpcID              string         `xml:"vpcId"`
		AvailabilityZone   string         `xml:"availabilityZone,omitempty"`
		Description        string         `xml:"description"`
		OwnerID            string         `xml:"ownerId"`
		Status             string         `xml:"status"`
		InterfaceType      string         `xml:"interfaceType"`
		PrivateIPAddress   string         `xml:"privateIpAddress,omitempty"`
		Attachment         *xmlAttachment `xml:"attachment"`
		PrivateIPs         []xmlPrivateIP `xml:"privateIpAddressesSet>item,omitempty"`
		IPv6               []xmlIPv6      `xml:"ipv6AddressesSet>item,omitempty"`
		Tags               []xmlTag       `xml:"tagSet>item,omitempty"`
	}
	xmlInstanceState struct {
		Code int    `xml:"code"`
		Name string `xml:"name"`
	}
	xmlInstance struct {
		InstanceID        string                `xml:"instanceId"`
		State             xmlInstanceState      `xml:"instanceState"`
		AvailabilityZone  string                `xml:"placement>availabilityZone"`
		SubnetID          string                `xml:"subnetId"`
		VpcID             string                `xml:"vpcId"`
		PrivateIPAddress  string                `xml:"privateIpAddress,omitempty"`
		Tags              []xmlTag              `xml:"tagSet>item,omitempty"`
		NetworkInterfaces []xmlNetworkInterface `xml:"networkInterfaceSet>item,omitempty"`
	}
	xmlReservation struct {
		ReservationID string        `xml:"reservationId"`
		OwnerID       string        `xml:"ownerId"`
		Instances     []xmlInstance `xml:"instancesSet>item"`
	}
	xmlAvailabilityZone struct {
		ZoneName   string `xml:"zoneName"`
		ZoneID     string `xml:"zoneId"`
		ZoneState  string `xml:"zoneState"`
		RegionName string `xml:"regionName"`
		ZoneType   string `xml:"zoneType"`
		OptIn      string `xml:"optInStatus"`
	}
	xmlDescribe struct {
		XMLName           xml.Name
		Xmlns             string                `xml:"xmlns,attr"`
		RequestID         string                `xml:"requestId"`
		Vpcs              []xmlVpc              `xml:"vpcSet>item,omitempty"`
		Subnets           []xmlSubnet           `xml:"subnetSet>item,omitempty"`
		NetworkInterfaces []xmlNetworkInterface `xml:"networkInterfaceSet>item,omitempty"`
		Reservations      []xmlReservation      `xml:"reservationSet>item,omitempty"`
		Zones             []xmlAvailabilityZone `xml:"availabilityZoneInfo>item,omitempty"`
		NextToken         string                `xml:"nextToken,omitempty"`
	}
)

func xmlTags(tags []EC2Tag) []xmlTag {
	out := make([]xmlTag, len(tags))
	for i, t := range tags {
		out[i] = xmlTag(t)
	}
	return out
}

func (s *EC2Server) xmlENI(n NetworkInterface, inInstance bool) xmlNetworkInterface {
	typ := n.InterfaceType
	if typ == "" {
		typ = "interface"
	}
	x := xmlNetworkInterface{
		NetworkInterfaceID: n.ID,
		SubnetID:           n.SubnetID,
		VpcID:              n.VPCID,
		Description:        n.Description,
		OwnerID:            s.opts.account,
		Status:             "available",
		InterfaceType:      typ,
		Tags:               xmlTags(n.Tags),
	}
	if !inInstance {
		x.AvailabilityZone = n.AZ
	} else {
		x.Tags = nil
	}
	if len(n.PrivateIPs) > 0 {
		x.PrivateIPAddress = n.PrivateIPs[0]
	}
	for i, ip := range n.PrivateIPs {
		x.PrivateIPs = append(x.PrivateIPs, xmlPrivateIP{ip, i == 0})
	}
	for _, ip := range n.IPv6 {
		x.IPv6 = append(x.IPv6, xmlIPv6{ip})
	}
	if n.InstanceID != "" {
		x.Status = "in-use"
		x.Attachment = &xmlAttachment{AttachmentID: "eni-attach-" + strings.TrimPrefix(n.ID, "eni-"), DeviceIndex: s.deviceIndex(n), Status: "attached"}
		if !inInstance {
			x.Attachment.InstanceID = n.InstanceID
		}
	}
	return x
}

// deviceIndex returns the device index of an attached interface: its rank
// among the interfaces attached to the same instance, in loaded order.
func (s *EC2Server) deviceIndex(n NetworkInterface) int {
	i := 0
	for _, o := range s.data.NetworkInterfaces {
		if o.ID == n.ID {
			break
		}
		if o.InstanceID == n.InstanceID {
			i++
		}
	}
	return i
}

// describe builds the answer of a Describe action: the page of size from
// start (size 0: all).
func (s *EC2Server) describe(action, id string, start, size int) xmlDescribe {
	d := &s.data
	resp := xmlDescribe{XMLName: xml.Name{Local: action + "Response"}, Xmlns: EC2Namespace, RequestID: id}
	switch action {
	case EC2DescribeVpcs:
		lo, hi, next := pageOf(action, len(d.VPCs), start, size)
		resp.NextToken = next
		for _, v := range d.VPCs[lo:hi] {
			resp.Vpcs = append(resp.Vpcs, xmlVpc{VpcID: v.ID, OwnerID: s.opts.account, State: "available", CidrBlock: v.CIDR, InstanceTenancy: "default", Tags: xmlTags(v.Tags)})
		}
	case EC2DescribeSubnets:
		lo, hi, next := pageOf(action, len(d.Subnets), start, size)
		resp.NextToken = next
		for _, n := range d.Subnets[lo:hi] {
			resp.Subnets = append(resp.Subnets, xmlSubnet{
				SubnetID: n.ID, SubnetArn: fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", s.region(n.AZ), s.opts.account, n.ID),
				State: "available", VpcID: n.VPCID, OwnerID: s.opts.account, CidrBlock: n.CIDR,
				AvailabilityZone: n.AZ, AvailabilityZoneID: n.AZID, Tags: xmlTags(n.Tags),
			})
		}
	case EC2DescribeNetworkInterfaces:
		lo, hi, next := pageOf(action, len(d.NetworkInterfaces), start, size)
		resp.NextToken = next
		for _, n := range d.NetworkInterfaces[lo:hi] {
			resp.NetworkInterfaces = append(resp.NetworkInterfaces, s.xmlENI(n, false))
		}
	case EC2DescribeInstances:
		var order []string
		byID := map[string][]Instance{}
		for _, in := range d.Instances {
			rid := in.ReservationID
			if rid == "" {
				rid = "r-" + strings.TrimPrefix(in.ID, "i-")
			}
			if _, ok := byID[rid]; !ok {
				order = append(order, rid)
			}
			byID[rid] = append(byID[rid], in)
		}
		lo, hi, next := pageOf(action, len(order), start, size)
		resp.NextToken = next
		for _, rid := range order[lo:hi] {
			r := xmlReservation{ReservationID: rid, OwnerID: s.opts.account}
			for _, in := range byID[rid] {
				x := xmlInstance{
					InstanceID: in.ID, State: xmlInstanceState{16, "running"}, AvailabilityZone: in.AZ,
					SubnetID: in.SubnetID, VpcID: in.VPCID, Tags: xmlTags(in.Tags),
				}
				if len(in.PrivateIPs) > 0 {
					x.PrivateIPAddress = in.PrivateIPs[0]
				}
				for _, n := range d.NetworkInterfaces {
					if n.InstanceID == in.ID {
						x.NetworkInterfaces = append(x.NetworkInterfaces, s.xmlENI(n, true))
					}
				}
				r.Instances = append(r.Instances, x)
			}
			resp.Reservations = append(resp.Reservations, r)
		}
	case EC2DescribeAvailabilityZones:
		for _, z := range d.AvailabilityZones {
			resp.Zones = append(resp.Zones, xmlAvailabilityZone{ZoneName: z.Name, ZoneID: z.ID, ZoneState: "available", RegionName: z.Region, ZoneType: "availability-zone", OptIn: "opt-in-not-required"})
		}
	}
	return resp
}

// region returns the region of the availability zone named az, from the
// loaded zones or, failing that, its name less the zone letter.
func (s *EC2Server) region(az string) string {
	for _, z := range s.data.AvailabilityZones {
		if z.Name == az {
			return z.Region
		}
	}
	return strings.TrimRight(az, "abcdefghijklmnopqrstuvwxyz")
}
