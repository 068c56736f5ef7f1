package report

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// TestIDShapesAsTheDecoder: isID takes for an id exactly what the decoder
// (collector/flowlog) accepts for the field of each entity type, on hand
// picked values and random ones.
func TestIDShapesAsTheDecoder(t *testing.T) {
	fields := map[EntityType]flowlog.Field{
		EntityVPC: flowlog.VPCID, EntitySubnet: flowlog.SubnetID, EntityInterface: flowlog.InterfaceID,
		EntityInstance: flowlog.InstanceID, EntityAZ: flowlog.AZID,
	}
	values := []string{
		"", "-", "other", "Other", "web-1", "web 1", "us-east-1a", "use1-az1", "use1-az1-", "-use1", "USE1-AZ1",
		"eni-", "eni-0", "eni-0a1", "eni-0A1", "eni-0a1b2c3d4e5f60718", "eni-0a1b2c3d4e5f6071g", "eni-" + strings.Repeat("a", 32),
		"eni-" + strings.Repeat("a", 33), "vpc-0a1", "vpc-0c2d", "subnet-01", "subnet-", "i-0a1", "i-", "i-0123456789abcdef0",
		"x-0a1", "eni-0a1 ", " eni-0a1", "eni-0a1\n", "vpc-0a1|vpc-0b2", "(vpc-0a1)", strings.Repeat("a", 32), strings.Repeat("a", 33),
		"é", "eni-0a1é",
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-ABZ_ .|"
	prefixes := []string{"", "eni-", "vpc-", "subnet-", "i-"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		b := []byte(prefixes[r.IntN(len(prefixes))])
		for range r.IntN(36) {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		values = append(values, string(b))
	}
	for typ, field := range fields {
		n := 0
		for _, v := range values {
			want := flowlog.ValidString(field, []byte(v))
			if got := isID(typ, v); got != want {
				t.Errorf("isID(%s, %q) = %v, the decoder says %v", typ, v, got, want)
			}
			if want {
				n++
			}
		}
		if n < 3 {
			t.Errorf("%s: %d valid ids among the values: a useless check", typ, n)
		}
	}
}

// TestByName: which filters the engine resolves as names, and how it
// rewrites them.
func TestByName(t *testing.T) {
	f := func(label string, op Op, value string, want bool) {
		t.Helper()
		if got := byName(Filter{Label: label, Op: op, Value: value}); got != want {
			t.Errorf("byName(%s%s%q) = %v, want %v", label, op, value, got, want)
		}
	}
	// Not an id label.
	f("action", OpEqual, "web-1", false)
	f("src_addr", OpMatch, "web-.*", false)
	// Ids, the values standing for no entity, and empty values.
	f("interface_id", OpEqual, "eni-0a1", false)
	f("interface_id", OpNotEqual, "eni-0a1b2c3d4e5f60718", false)
	f("src_interface", OpEqual, "eni-0a1", false)
	f("vpc_id", OpEqual, "vpc-0a1", false)
	f("subnet_id", OpEqual, "subnet-0a1", false)
	f("instance_id", OpEqual, "i-0a1", false)
	f("interface_id", OpEqual, "-", false)
	f("interface_id", OpEqual, "other", false)
	f("interface_id", OpEqual, "", false)
	f("interface_id", OpMatch, "", false)
	f("interface_id", OpEqual, "\xff", false)
	// Names.
	f("interface_id", OpEqual, "web-1", true)
	f("interface_id", OpNotEqual, "web-1", true)
	f("dst_interface", OpEqual, "db", true)
	f("vpc_id", OpEqual, "prod", true)
	f("instance_id", OpEqual, "i-0A1", true)
	f("interface_id", OpEqual, "Other", true)
	f("interface_id", OpEqual, "vpc-0a1", true) // a VPC id is not an interface id
	f("interface_id", OpEqual, `web "1" (a|b).*`, true)
	// Zones: an id's shape is also a name's.
	f("az_id", OpEqual, "use1-az1", true)
	f("az_id", OpEqual, "us-east-1a", true)
	f("az_id", OpEqual, "-", false)
	f("az_id", OpMatch, "use1-az1|use1-az2", true)
	// Expressions: every id, or ids only, are taken as they are.
	f("interface_id", OpMatch, ".*", false)
	f("interface_id", OpNotMatch, ".*", false)
	f("interface_id", OpMatch, "(.+)", false)
	f("az_id", OpMatch, ".*", false)
	f("vpc_id", OpMatch, "(vpc-0a1|vpc-0b2)", false)
	f("vpc_id", OpMatch, `(vpc\-0a1|vpc\-0b2)`, false)
	f("vpc_id", OpMatch, "^vpc-0a1$", false)
	f("vpc_id", OpMatch, "vpc-0a[1-3]", false)
	f("interface_id", OpNotMatch, "eni-0a1|eni-0b2", false)
	f("vpc_id", OpMatch, "(vpc-0a1|prod)", true)
	f("vpc_id", OpMatch, "vpc-0.*", true)
	f("vpc_id", OpMatch, "(?i)vpc-0a1", true)
	f("vpc_id", OpMatch, "vpc-0a[0-9a-z]{2}", true) // more strings than idsOnly enumerates
	f("interface_id", OpMatch, "web-.*", true)
	f("interface_id", OpMatch, "(", true) // invalid: checkFilter refuses it first
}

func TestWithIDs(t *testing.T) {
	f := func(in Filter, ids []string, want Filter) {
		t.Helper()
		if got := withIDs(in, ids); got != want {
			t.Errorf("withIDs(%v, %q) = %v, want %v", in, ids, got, want)
		}
	}
	ids := []string{"eni-0a1", "eni-0b2"}
	f(Filter{"interface_id", OpEqual, "web.1"}, ids, Filter{"interface_id", OpMatch, `web\.1|eni-0a1|eni-0b2`})
	f(Filter{"interface_id", OpNotEqual, "a|b"}, ids, Filter{"interface_id", OpNotMatch, `a\|b|eni-0a1|eni-0b2`})
	f(Filter{"interface_id", OpMatch, "(?i)web|db"}, ids, Filter{"interface_id", OpMatch, `(?:(?i)web|db)|eni-0a1|eni-0b2`})
	f(Filter{"interface_id", OpNotMatch, "web.*"}, ids[:1], Filter{"interface_id", OpNotMatch, `(?:web.*)|eni-0a1`})
}
