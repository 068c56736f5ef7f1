package aggregate

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// documentedServices are the values AWS documents for pkt-src-aws-service
// and pkt-dst-aws-service (VPC user guide, Flow log records).
var documentedServices = []string{
	"AMAZON", "AMAZON_APPFLOW", "AMAZON_CONNECT", "API_GATEWAY", "AURORA_DSQL", "CHIME_MEETINGS",
	"CHIME_VOICECONNECTOR", "CLOUD9", "CLOUDFRONT", "CLOUDFRONT_ORIGIN_FACING", "CODEBUILD", "DYNAMODB",
	"EBS", "EC2", "EC2_INSTANCE_CONNECT", "GLOBALACCELERATOR", "IVS_LOW_LATENCY", "IVS_REALTIME",
	"KINESIS_VIDEO_STREAMS", "MEDIA_PACKAGE_V2", "ROUTE53", "ROUTE53_HEALTHCHECKS",
	"ROUTE53_HEALTHCHECKS_PUBLISHING", "ROUTE53_RESOLVER", "S3", "WORKSPACES_GATEWAYS",
}

// boundedCase is a bounded label under test.
type boundedCase struct {
	name   string
	labels []string // the labels that show the value
	family string   // the family whose amounts rank the values
	known  []string // the values AWS documents: never folded
	// set returns the record p holding the value v; i tells records apart
	// (the object, or the value's number).
	set func(p []string, v string, i int) []string
}

var boundedCases = []boundedCase{
	{
		name: "action", labels: []string{"action"}, family: "vpcflow_interface", known: []string{"ACCEPT", "REJECT", "DROP"},
		set: func(p []string, v string, _ int) []string { return with(p, "action="+v) },
	},
	{
		name: "reject_reason", labels: []string{"reject_reason"}, family: "vpcflow_interface", known: []string{"BPA"},
		set: func(p []string, v string, _ int) []string { return with(p, "action=REJECT", "reject-reason="+v) },
	},
	{
		// A value is the source's service in even records (the
		// destination's is S3), the destination's in odd ones; TIE_B's
		// even record is from and to TIE_B, and counts once in its
		// ranking: counted twice, TIE_B would be kept and TIE_A folded.
		name: "service", labels: []string{"src_service", "dst_service"}, family: "vpcflow_service", known: documentedServices,
		set: func(p []string, v string, i int) []string {
			switch {
			case i%2 == 0 && v == "TIE_B":
				return with(p, "pkt-src-aws-service="+v, "pkt-dst-aws-service="+v)
			case i%2 == 0:
				return with(p, "pkt-src-aws-service="+v, "pkt-dst-aws-service=S3")
			}
			return with(p, "pkt-dst-aws-service="+v)
		},
	},
}

// unknownValues are eleven values AWS does not document, with their bytes
// in the first and the second object of a batch: their totals rank them
// differently from their amounts in either object. The eight largest
// (MaxUnknownValues) keep their label; TIE_A and TIE_B (equal in bytes,
// packets and flows) are told apart by their value, and TIE_B, SMALL and
// TINY fold into "other".
var unknownValues = []struct {
	value string
	a, b  int
}{
	{"BLACKHOLE", 10, 890},  // 900: small in the first object
	{"NO_ROUTE", 400, 400},  // 800
	{"TTL_EXPIRED", 0, 700}, // 700: only in the second
	{"QUEUED", 600, 0},      // 600: only in the first
	{"MIRRORED", 250, 250},  // 500
	{"THROTTLED", 1, 399},   // 400
	{"FILTERED", 150, 150},  // 300
	{"TIE_B", 100, 100},     // 200, as TIE_A: folded, the larger value
	{"TIE_A", 100, 100},     // 200: kept, the eighth
	{"SMALL", 99, 1},        // 100: the largest of the first object
	{"TINY", 1, 0},          // 1
}

// foldedValues are the unknownValues that fold into "other".
var foldedValues = []string{"TIE_B", "SMALL", "TINY"}

// boundedBatch returns the records of a batch of two objects: records
// without a value of the label, each known value in one record of one
// byte (smaller than any unknown value), and the unknownValues, which the
// second object meets in the opposite order.
func boundedBatch(c boundedCase) (objects [2][][]string) {
	objects[0] = append(objects[0], base("eni-a", "egress", "10.0.0.1", "10.0.0.2", 5000))
	objects[1] = append(objects[1], base("eni-b", "ingress", "10.0.0.1", "10.0.0.2", 700))
	for i, k := range c.known {
		objects[i%2] = append(objects[i%2], c.set(base("eni-a", "ingress", fmt.Sprintf("203.0.113.%d", i), "10.0.0.1", 1), k, i))
	}
	for i, u := range unknownValues {
		j := len(unknownValues) - 1 - i
		src := fmt.Sprintf("198.18.0.%d", i)
		objects[0] = append(objects[0], c.set(base("eni-c", "ingress", src, "10.0.0.3", u.a), u.value, 0))
		objects[1] = append(objects[1], c.set(base("eni-c", "ingress", src, "10.0.0.3", unknownValues[j].b), unknownValues[j].value, 1))
	}
	return objects
}

// valuesOf returns the values the series hold in the labels given, sorted.
func valuesOf(series []vmclient.Series, labels ...string) []string {
	var out []string
	for _, s := range series {
		for _, l := range s.Labels {
			if slices.Contains(labels, l.Name) && !slices.Contains(out, l.Value) {
				out = append(out, l.Value)
			}
		}
	}
	slices.Sort(out)
	return out
}

// batchOf aggregates the objects one by one and merges them in the order
// given, resolved with what they teach.
func batchOf(t *testing.T, objects [2][][]string, order ...int) (*Aggregate, Resolution) {
	t.Helper()
	a := New()
	for _, i := range order {
		part := New()
		for _, p := range objects[i] {
			part.Add(rec(t, p...), &Context{})
		}
		a.Merge(part)
	}
	meta, owners := a.Learned()
	return a, a.Resolve(func(i string) (Meta, bool) { m, ok := meta[i]; return m, ok },
		func(vpc, addr string) (string, bool) { o, ok := owners[OwnerKey(vpc, addr)]; return o, ok })
}

// TestEveryBoundedValueCounts checks each bounded label against a ground
// truth computed from the records without this package: known values keep
// their label whatever their amounts; of the unknown ones, the eight
// largest of the batch keep theirs and the others fold into "other", the
// same whichever order the objects merge in; every family's totals stay
// exact.
func TestEveryBoundedValueCounts(t *testing.T) {
	for _, c := range boundedCases {
		t.Run(c.name, func(t *testing.T) {
			objects := boundedBatch(c)
			truth := groundtruth.New()
			for _, recs := range objects {
				for _, p := range recs {
					truth.Observe(rec(t, p...))
				}
			}
			truth.Finish()
			a, res := batchOf(t, objects, 0, 1)
			b, resB := batchOf(t, objects, 1, 0)
			defs := schema.Families()
			var kept []string
			for _, u := range unknownValues {
				if !slices.Contains(foldedValues, u.value) {
					kept = append(kept, u.value)
				}
			}
			for _, fold := range []Fold{{}, {TopK: 1}} {
				series := a.Series(&res, 3, fold)
				if render(series) != render(b.Series(&resB, 3, fold)) {
					t.Fatalf("fold %+v: the objects merged in the other order give other series", fold)
				}
				got := valuesOf(series, c.labels...)
				for _, v := range slices.Concat(c.known, kept, []string{schema.Other}) {
					if !slices.Contains(got, v) {
						t.Errorf("fold %+v: %v lacks %s; values %v", fold, c.labels, v, got)
					}
				}
				for _, v := range foldedValues {
					if slices.Contains(got, v) {
						t.Errorf("fold %+v: %v holds %s, which must fold; values %v", fold, c.labels, v, got)
					}
				}
				for _, f := range defs {
					if !f.Traffic {
						continue
					}
					var at []int
					for _, l := range c.labels {
						if i := slices.Index(f.Labels, l); i >= 0 {
							at = append(at, i)
						}
					}
					for _, name := range f.MetricNames() {
						// The truth with the folded values under "other".
						want := map[string]float64{}
						for k, v := range truth.Sums[name] {
							parts := strings.Split(k, "|")
							for _, i := range at {
								if slices.Contains(foldedValues, parts[i]) {
									parts[i] = schema.Other
								}
							}
							// A service also names pair peers (aws:…),
							// bounded with it.
							for i, v := range parts {
								if svc, ok := strings.CutPrefix(v, schema.PairServicePrefix); ok && slices.Contains(foldedValues, svc) {
									parts[i] = schema.PairServicePrefix + schema.Other
								}
							}
							want[strings.Join(parts, "|")] += v
						}
						labels := f.Labels
						if fold.TopK > 0 && f.TopK {
							labels = f.Group // folded per group: exact per group
							want = groundtruth.Project(want, f.Labels, labels)
						}
						if diff := groundtruth.Compare(totals(series, name, labels...), want); diff != "" {
							t.Errorf("fold %+v: %s differs from the ground truth:\n%s", fold, name, diff)
						}
					}
				}
			}
		})
	}
}

// TestUnknownValuesAreBounded checks that however many distinct values of
// a bounded label a batch holds, at most MaxUnknownValues of them become
// labels and the series stay as many as with two values too many (one of
// each kind for the services: from and to), every
// total exact, and that the choice is the same every time, also past the
// room an aggregate has for telling values apart (a hostile object of
// 100,000 values).
func TestUnknownValuesAreBounded(t *testing.T) {
	bytesOf := func(n int) float64 { return float64(10 * n * (n + 1) / 2) }
	for _, c := range boundedCases {
		// The records of even and odd values, the value and bytes to fill.
		templates := [2][]string{}
		for i := range templates {
			templates[i] = c.set(base("eni-a", "egress", "10.0.0.1", "10.0.0.2", 0), "@", i)
		}
		build := func(t *testing.T, n int) *Aggregate {
			a := New()
			for i := range n {
				p := slices.Clone(templates[i%2])
				for j, kv := range p {
					switch {
					case strings.HasSuffix(kv, "=@"):
						p[j] = fmt.Sprintf("%sV%d", kv[:len(kv)-1], i)
					case strings.HasPrefix(kv, "bytes="):
						p[j] = fmt.Sprintf("bytes=%d", 10*(n-i)) // the first values met are the largest
					}
				}
				a.Add(rec(t, p...), &Context{})
			}
			return a
		}
		for _, n := range []int{MaxUnknownValues, MaxUnknownValues + 1, MaxUnknownValues + 2, 1000, 100_000} {
			t.Run(fmt.Sprintf("%s/%d", c.name, n), func(t *testing.T) {
				a := build(t, n)
				series := a.Series(&Resolution{}, 1, Fold{TopK: 2})
				if again := render(build(t, n).Series(&Resolution{}, 1, Fold{TopK: 2})); render(series) != again {
					t.Fatal("the same records give other series")
				}
				if bounded := len(build(t, MaxUnknownValues+2).Series(&Resolution{}, 1, Fold{TopK: 2})); n > MaxUnknownValues+2 && len(series) != bounded {
					t.Errorf("%d values: %d series, want %d (as with %d values)", n, len(series), bounded, MaxUnknownValues+2)
				}
				var want []string
				for i := range min(n, MaxUnknownValues) {
					want = append(want, fmt.Sprintf("V%d", i))
				}
				if n > MaxUnknownValues {
					want = append(want, schema.Other)
				}
				got := slices.DeleteFunc(valuesOf(series, c.labels...), func(v string) bool { return slices.Contains(c.known, v) || v == schema.Absent })
				if slices.Sort(want); !slices.Equal(got, want) {
					t.Fatalf("%d values: %v holds %v, want %v", n, c.labels, got, want)
				}
				for _, name := range []string{"vpcflow_interface_bytes", "vpcflow_service_bytes", "vpcflow_src_bytes", "vpcflow_pair_bytes", "vpcflow_total_bytes", "vpcflow_app_total_bytes"} {
					sum := 0.0
					for _, v := range totals(series, name) {
						sum += v
					}
					if sum != bytesOf(n) {
						t.Errorf("%s: %v bytes, want %v", name, sum, bytesOf(n))
					}
				}
				// Flows by value: V0 one record, "other" every record
				// whose value folded.
				flows := map[string]float64{}
				for k, v := range totals(series, c.family+"_flows", c.labels...) {
					for _, value := range strings.Split(k, "|") {
						if value != schema.Absent && !slices.Contains(c.known, value) {
							flows[value] += v
						}
					}
				}
				if flows["V0"] != 1 || flows[schema.Other] != float64(max(n-MaxUnknownValues, 0)) {
					t.Errorf("%d values: flows by value V0 %v, other %v; want 1, %d", n, flows["V0"], flows[schema.Other], max(n-MaxUnknownValues, 0))
				}
			})
		}
	}
}

// TestBoundedLabelsDoNotAllocate checks that adding a record allocates
// nothing once its label sets exist, whatever its bounded labels hold: a
// known action is a byte, any other value is numbered once.
func TestBoundedLabelsDoNotAllocate(t *testing.T) {
	for _, set := range [][]string{
		{"action=ACCEPT"}, {"action=DROP"}, {"action=BLACKHOLE"},
		{"action=REJECT", "reject-reason=BPA"}, {"action=REJECT", "reject-reason=NEW_REASON"},
		{"pkt-src-aws-service=S3", "pkt-dst-aws-service=AMAZON"},
		{"pkt-src-aws-service=NEW_SERVICE", "pkt-dst-aws-service=NEW_SERVICE_2"},
	} {
		a := New()
		r := rec(t, with(base("eni-a", "egress", "10.0.0.1", "10.0.0.2", 5), set...)...)
		a.Add(r, &Context{})
		if n := testing.AllocsPerRun(100, func() { a.Add(r, &Context{}) }); n != 0 {
			t.Errorf("%v: %v allocations a record", set, n)
		}
	}
}

// TestVocab checks the numbering of a bounded label's values: a known
// action's word is its flowlog.ActionValue, values keep their word, the
// room is a uint16's, and Reset forgets the unknown values only.
func TestVocab(t *testing.T) {
	a := New()
	for v := flowlog.ActionNone; v < flowlog.ActionOther; v++ {
		if w := a.actions.idString(v.String()); v != flowlog.ActionNone && w != word(v) {
			t.Errorf("%s: word %d, want its ActionValue %d", v, w, v)
		}
	}
	if a.actions.folded() != word(flowlog.ActionOther) {
		t.Errorf("folded action %d, want %d", a.actions.folded(), flowlog.ActionOther)
	}
	for _, s := range documentedServices {
		if w := a.services.idString(s); w == absent || w >= a.services.folded() {
			t.Errorf("service %s: word %d, not a known one", s, w)
		}
	}
	first := a.services.idString("NEW_1")
	if first != a.services.firstUnknown() || a.services.idString("NEW_1") != first {
		t.Errorf("first unknown service: word %d, want %d every time", first, a.services.firstUnknown())
	}
	for i := a.services.unknown(); i < maxWords; i++ {
		a.services.idString(fmt.Sprintf("FILL_%d", i))
	}
	if w := a.services.idString("ONE_TOO_MANY"); w != a.services.folded() || a.services.unknown() != maxWords-int(a.services.firstUnknown()) {
		t.Errorf("past the room: word %d, want folded %d; %d unknown values", w, a.services.folded(), a.services.unknown())
	}
	a.Reset()
	if a.services.unknown() != 0 || a.services.idString("S3") >= a.services.folded() || a.services.idString("NEW_2") != a.services.firstUnknown() {
		t.Errorf("after Reset: %d unknown values, S3 word %d", a.services.unknown(), a.services.idString("S3"))
	}
}
