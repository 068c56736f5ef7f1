package flowlog

import (
	"strings"
	"testing"
)

func TestSetString(t *testing.T) {
	f := func(field Field, v string, ok bool) {
		t.Helper()
		var r Record
		want := NoProblem
		if !ok {
			want = ProblemMalformed
		}
		if p := r.SetString(field, []byte(v)); p != want {
			t.Errorf("SetString(%s, %q) = %v, want %v", field, v, p, want)
		}
		if !r.Present.Has(field) || string(r.Text[field]) != v {
			t.Errorf("SetString(%s, %q) did not keep the value", field, v)
		}
		// SetText, which the Parquet decoder and the generator use, checks
		// the same way.
		if p := r.SetText(field, []byte(v)); p != want {
			t.Errorf("SetText(%s, %q) = %v, want %v", field, v, p, want)
		}
	}
	long := strings.Repeat("a", 5000)

	f(AccountID, "123456789012", true)
	f(AccountID, "000000000000", true)
	f(AccountID, "unknown", true)
	f(AccountID, "12345678901", false)   // 11 digits
	f(AccountID, "1234567890123", false) // 13
	f(AccountID, "12345678901a", false)
	f(AccountID, "a23456789012", false)
	f(AccountID, "1234 5678901", false)
	f(AccountID, "Unknown", false)
	f(AccountID, "1", false)
	f(AccountID, strings.Repeat("1", 5000), false)

	for _, c := range []struct {
		field  Field
		prefix string
	}{{InterfaceID, "eni-"}, {VPCID, "vpc-"}, {SubnetID, "subnet-"}, {InstanceID, "i-"}} {
		f(c.field, c.prefix+"1235b8ca123456789", true) // 17 hex digits
		f(c.field, c.prefix+"1235b8ca", true)          // 8, the old format
		f(c.field, c.prefix+"1", true)
		f(c.field, c.prefix+strings.Repeat("f", 32), true)
		f(c.field, c.prefix+strings.Repeat("f", 33), false)
		f(c.field, c.prefix+long, false)
		f(c.field, c.prefix, false)
		f(c.field, c.prefix+"1235B8CA123456789", false) // AWS ids are lower case
		f(c.field, c.prefix+"1235b8ca12345678g", false)
		f(c.field, c.prefix+"1235b8ca-23456789", false)
		f(c.field, c.prefix+"12\xff5b8ca123456789", false)
		f(c.field, "x"+c.prefix[1:]+"1235b8ca123456789", false)
		f(c.field, "1235b8ca123456789", false)
	}
	f(InterfaceID, "vpc-1235b8ca", false)

	for _, r := range []string{"us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5", "eu-isoe-west-1", "us-isob-east-1", "il-central-1"} {
		f(Region, r, true)
	}
	for _, r := range []string{"US-EAST-1", "us-east", "1-us-east", "us_east_1", "us-east-1 ", "us-east-1\u00e9", long, "a" + strings.Repeat("-1", 16)} {
		f(Region, r, false)
	}
	f(Region, "a"+strings.Repeat("b", 30)+"1", true) // 32 bytes
	f(Region, "a"+strings.Repeat("b", 31)+"1", false)

	for _, z := range []string{"use1-az1", "usw2-lax1-az1", "usw2-wl1-bos-wlz1", "cnn1-az1", "usgw1-az2"} {
		f(AZID, z, true)
	}
	for _, z := range []string{"use1_az1", "USE1-AZ1", "-use1-az1", "use1-az1-", "use1 az1", long} {
		f(AZID, z, false)
	}
	f(SublocationID, "op-0123456789abcdef0", true)
	f(SublocationID, "usw2-lax1-az1", true)
	f(SublocationID, strings.Repeat("a", 64), true)
	f(SublocationID, strings.Repeat("a", 65), false)
	f(SublocationID, "op_0123", false)

	for _, s := range []string{"wavelength", "outpost", "localzone", "newkind"} {
		f(SublocationType, s, true)
	}
	for _, s := range []string{"Outpost", "local-zone", "zone1", long} {
		f(SublocationType, s, false)
	}

	for _, field := range []Field{PktSrcAWSService, PktDstAWSService, RejectReason} {
		for _, s := range []string{"AMAZON", "S3", "EC2", "ROUTE53", "DYNAMODB", "AMAZON_APPFLOW", "ROUTE53_HEALTHCHECKS_PUBLISHING", "BPA", "A", strings.Repeat("X", 64)} {
			f(field, s, true)
		}
		for _, s := range []string{"amazon", "S3-EXPRESS", "_S3", "3S", "S3 ", "S\u00e93", strings.Repeat("X", 65), long} {
			f(field, s, false)
		}
	}

	for _, s := range []string{"IPv4", "IPv6", "EFA", "Future2"} {
		f(Type, s, true)
	}
	for _, s := range []string{"4", "IP-v4", "IP_v4", strings.Repeat("A", 17)} {
		f(Type, s, false)
	}

	// ecs-* fields never become labels: any text, whatever its length.
	f(ECSClusterARN, "arn:aws:ecs:us-east-1:123456789012:cluster/prod-web", true)
	f(ECSTaskID, long, true)
}

// TestLabelFieldsAreBounded checks that every text field but the ecs-* ones
// (which are not labels) has a shape, and that no shape lets a value over
// MaxLabelBytes through.
func TestLabelFieldsAreBounded(t *testing.T) {
	for f := Field(0); f < NumFields; f++ {
		if f.Kind() != KindString {
			continue
		}
		if ecs := f >= ECSClusterARN && f <= ECSTaskID; ecs {
			if f.Shape() != "" || !validString(f, []byte(strings.Repeat("a", 5000))) {
				t.Errorf("%s is not a label and should not be checked", f)
			}
			continue
		}
		if f.Shape() == "" || shapes[f].max > MaxLabelBytes {
			t.Errorf("%s: shape %q, max %d", f, f.Shape(), shapes[f].max)
		}
		for _, prefix := range []string{"", "eni-", "vpc-", "subnet-", "i-"} {
			for _, c := range []string{"a", "0", "A", "a-", "A_"} {
				v := []byte(prefix + strings.Repeat(c, MaxLabelBytes+1))[:MaxLabelBytes+1]
				if validString(f, v) {
					t.Errorf("%s: a value of %d bytes passed: %q", f, len(v), v)
				}
			}
		}
	}
}

// TestAllOf checks the eight-bytes-at-a-time class test against a byte by
// byte one, for every length up to 40 and every byte at every position.
func TestAllOf(t *testing.T) {
	classes := []struct {
		name string
		c    *charClass
		in   func(c byte) bool
	}{
		{"digit", &digitClass, func(c byte) bool { return c >= '0' && c <= '9' }},
		{"hex", &hexClass, func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }},
		{"lower word", &lowerWordClass, func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' }},
		{"lower", &lowerClass, func(c byte) bool { return c >= 'a' && c <= 'z' }},
		{"upper word", &upperWordClass, func(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '_' }},
		{"alnum", &alnumClass, func(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }},
	}
	for _, cl := range classes {
		var good byte = 'a'
		if !cl.in(good) {
			good = '0'
		}
		for n := 1; n <= 40; n++ {
			v := []byte(strings.Repeat(string(good), n))
			if !allOf(v, cl.c) {
				t.Fatalf("%s: %q refused", cl.name, v)
			}
			for pos := range n {
				for b := 0; b < 256; b++ {
					v[pos] = byte(b)
					if got, want := allOf(v, cl.c), cl.in(byte(b)); got != want {
						t.Fatalf("%s: allOf(%q) = %v, want %v", cl.name, v, got, want)
					}
				}
				v[pos] = good
			}
		}
	}
}
