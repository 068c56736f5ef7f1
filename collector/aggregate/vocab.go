package aggregate

import (
	"cmp"
	"slices"
	"strings"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/schema"
)

// MaxUnknownValues is how many distinct unknown values of each bounded
// label keep their own label in a batch: the action (values other than
// ACCEPT, REJECT and DROP), the reject reason (other than BPA) and the AWS
// services (src_service and dst_service: values pkt-src-aws-service and
// pkt-dst-aws-service may hold that AWS does not document). They are the
// largest of the batch by bytes (then packets, flows, and the value); the
// traffic of the others is written under "other" (schema.Other). Series
// stay bounded whatever an object holds, and a replay of the batch chooses
// the same.
const MaxUnknownValues = 8

// knownRejectReasons are the reject-reason values AWS documents: BPA, VPC
// Block Public Access. Read only.
var knownRejectReasons = []string{"BPA"}

// knownServices are the values AWS documents for pkt-src-aws-service and
// pkt-dst-aws-service (the services of its published address ranges).
// Read only.
var knownServices = []string{
	"AMAZON", "AMAZON_APPFLOW", "AMAZON_CONNECT", "API_GATEWAY", "AURORA_DSQL", "CHIME_MEETINGS",
	"CHIME_VOICECONNECTOR", "CLOUD9", "CLOUDFRONT", "CLOUDFRONT_ORIGIN_FACING", "CODEBUILD", "DYNAMODB",
	"EBS", "EC2", "EC2_INSTANCE_CONNECT", "GLOBALACCELERATOR", "IVS_LOW_LATENCY", "IVS_REALTIME",
	"KINESIS_VIDEO_STREAMS", "MEDIA_PACKAGE_V2", "ROUTE53", "ROUTE53_HEALTHCHECKS",
	"ROUTE53_HEALTHCHECKS_PUBLISHING", "ROUTE53_RESOLVER", "S3", "WORKSPACES_GATEWAYS",
}

// knownActions are the actions flowlog types, in flowlog.ActionValue order,
// so that a known action's word is its ActionValue.
func knownActions() []string {
	var out []string
	for v := flowlog.Accept; v < flowlog.ActionOther; v++ {
		out = append(out, v.String())
	}
	return out
}

// word is a value of a bounded label as its vocab numbers it: 0 is absent,
// 1 to known the label's known values, then folded, then the unknown values
// in the order the aggregate met them. It takes two bytes in the keys.
type word uint16

// vocab numbers the values of a label that holds a free word: a value of
// the shape the decoder checks, from a list AWS documents and adds to
// (docs/pipeline.md, Bounded labels). Known values are always labels of
// their own; the unknown ones are told apart up to the room a word has,
// and Output keeps only the MaxUnknownValues largest of a batch.
type vocab struct {
	known int // words 1 to known are the known values
	// words holds the values by word: "-", the known values, "other"
	// (the word folded), then the unknown values met.
	words []string
	ids   map[string]word // the known and unknown values' words
}

// maxWords is the room of a vocab: the words a uint16 holds.
const maxWords = 1 << 16

func newVocab(known []string) vocab {
	v := vocab{known: len(known), words: make([]string, 0, len(known)+2), ids: make(map[string]word, len(known))}
	v.words = append(append(append(v.words, schema.Absent), known...), schema.Other)
	for i, s := range known {
		v.ids[s] = word(i + 1)
	}
	return v
}

// folded is the word of the unknown values met once the vocab was full:
// written as "other".
func (v *vocab) folded() word { return word(v.known + 1) }

// firstUnknown is the word of the first unknown value.
func (v *vocab) firstUnknown() word { return word(v.known + 2) }

// unknown returns how many unknown values the vocab tells apart.
func (v *vocab) unknown() int { return len(v.words) - int(v.firstUnknown()) }

// field returns the word of field f of a record: absent when the record
// lacks it.
func (v *vocab) field(r *flowlog.Record, f flowlog.Field) word {
	if b, ok := r.Get(f); ok {
		return v.id(b)
	}
	return absent
}

// id returns the word of a value, giving it one when it is new and there
// is room; folded when there is none. It allocates only for a new value.
func (v *vocab) id(b []byte) word {
	if w, ok := v.ids[string(b)]; ok {
		return w
	}
	return v.add(string(b))
}

func (v *vocab) idString(s string) word {
	if w, ok := v.ids[s]; ok {
		return w
	}
	return v.add(s)
}

func (v *vocab) add(s string) word {
	if len(v.words) >= maxWords {
		return v.folded()
	}
	w := word(len(v.words))
	v.words = append(v.words, s)
	v.ids[s] = w
	return w
}

// reset forgets the unknown values.
func (v *vocab) reset() {
	for _, s := range v.words[v.firstUnknown():] {
		delete(v.ids, s)
	}
	v.words = v.words[:v.firstUnknown()]
}

// mapFrom returns, for each word of o (a vocab of the same label), the word
// of its value in v, adding o's unknown values in the order o met them.
func (v *vocab) mapFrom(o *vocab) []word {
	out := make([]word, len(o.words))
	first := o.firstUnknown()
	for w := range out {
		if word(w) < first {
			out[w] = word(w)
			continue
		}
		out[w] = v.idString(o.words[w])
	}
	return out
}

// tally is the amounts of an unknown value over a batch: what ranks it.
type tally struct{ bytes, packets, flows uint64 }

func (t *tally) add(cells []cell) {
	for _, c := range cells {
		t.bytes += c.bytes
		t.packets += c.packets
		t.flows += c.flows
	}
}

// labels returns the label value (a string id, through o) of every word of
// v: the known values as written, and "other" for folded; an unknown value
// keeps its own when it is among the MaxUnknownValues largest of sums
// (its amounts, by word − firstUnknown) by bytes, then packets, flows, and
// the value ascending, and is "other" otherwise. The choice depends only on
// the amounts and the values, not on the order the values were met, so a
// replayed batch chooses the same.
func (v *vocab) labels(o *output, sums []tally) []uint32 {
	labels := make([]uint32, len(v.words))
	first := int(v.firstUnknown())
	for w := range first {
		labels[w] = o.id(v.words[w])
	}
	if len(sums) == 0 {
		return labels
	}
	other := labels[v.folded()]
	order := make([]int, len(sums)) // unknown values by rank
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		sx, sy := &sums[x], &sums[y]
		if c := cmp.Compare(sy.bytes, sx.bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(sy.packets, sx.packets); c != 0 {
			return c
		}
		if c := cmp.Compare(sy.flows, sx.flows); c != 0 {
			return c
		}
		return strings.Compare(v.words[first+x], v.words[first+y])
	})
	for rank, i := range order {
		labels[first+i] = other
		if rank < MaxUnknownValues {
			labels[first+i] = o.id(v.words[first+i])
		}
	}
	return labels
}
