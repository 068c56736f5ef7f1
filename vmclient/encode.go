package vmclient

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/klauspost/compress/s2"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the Prometheus remote write protocol (prompb):
//
//	WriteRequest { repeated TimeSeries timeseries = 1; }
//	TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//	Label        { string name = 1; string value = 2; }
//	Sample       { double value = 1; int64 timestamp = 2; }
const (
	fieldTimeseries      = 1
	fieldLabels          = 1
	fieldSamples         = 2
	fieldLabelName       = 1
	fieldLabelValue      = 2
	fieldSampleValue     = 1
	fieldSampleTimestamp = 2
)

// The fields' tags (field number << 3 | wire type), one byte each: every
// field number here is below 16.
const (
	tagTimeseries      = fieldTimeseries<<3 | byte(protowire.BytesType)
	tagLabels          = fieldLabels<<3 | byte(protowire.BytesType)
	tagSamples         = fieldSamples<<3 | byte(protowire.BytesType)
	tagLabelName       = fieldLabelName<<3 | byte(protowire.BytesType)
	tagLabelValue      = fieldLabelValue<<3 | byte(protowire.BytesType)
	tagSampleValue     = fieldSampleValue<<3 | byte(protowire.Fixed64Type)
	tagSampleTimestamp = fieldSampleTimestamp<<3 | byte(protowire.VarintType)
)

// encoder turns series into a snappy-compressed WriteRequest (snappy block
// format, by s2.EncodeSnappy: 1.5x faster than snappy.Encode, which is
// s2.EncodeSnappyBetter, for the same size on our series), appending
// into buffers it keeps between calls: once they have grown, encoding
// allocates nothing. The output is a pure function of the input, so a batch
// written again encodes to the same bytes. Every field is written, zero
// values included.
type encoder struct {
	pb         []byte
	compressed []byte
}

// encode returns the compressed WriteRequest for series. The result is valid
// until the next call.
func (e *encoder) encode(series []Series) ([]byte, error) {
	b := e.pb[:0]
	for i := range series {
		b = appendSeries(b, &series[i])
	}
	e.pb = b
	n := s2.MaxEncodedLen(len(b))
	if n < 0 {
		return nil, fmt.Errorf("write request of %d bytes is too large for snappy: lower MaxSeriesPerRequest", len(b))
	}
	if cap(e.compressed) < n {
		e.compressed = make([]byte, n)
	}
	e.compressed = s2.EncodeSnappy(e.compressed[:cap(e.compressed)], b)
	return e.compressed, nil
}

// tagSize is the size of every tag.
const tagSize = 1

func labelSize(l Label) int {
	return tagSize + protowire.SizeBytes(len(l.Name)) + tagSize + protowire.SizeBytes(len(l.Value))
}

// sampleSize is at most 1+8+1+10 bytes: its length always takes one byte.
func sampleSize(s Sample) int {
	return tagSize + 8 + tagSize + protowire.SizeVarint(uint64(s.Timestamp))
}

func seriesSize(s *Series) int {
	n := 0
	for _, l := range s.Labels {
		n += tagSize + protowire.SizeBytes(labelSize(l))
	}
	n += len(s.Samples) * (tagSize + 1) // tags and one-byte lengths
	for _, smp := range s.Samples {
		n += sampleSize(smp)
	}
	return n
}

// countSamples returns the number of samples in series.
func countSamples(series []Series) int {
	n := 0
	for i := range series {
		n += len(series[i].Samples)
	}
	return n
}

// Batch collects series as encoded, compressed write requests, so that a
// large batch costs about ten bytes a sample in memory instead of its
// label and sample slices. Series are encoded as they are added: the caller
// may reuse its slices at once. A Batch is sent with Client.WriteBatch, as
// often as needed: its requests do not change.
type Batch struct {
	maxSeries int
	pb        []byte // the request being built, uncompressed
	scratch   []byte // room to compress pb into
	series    int    // series in pb
	requests  [][]byte
	total     int // series added
	samples   int // samples added
}

// NewBatch returns an empty batch whose requests hold the client's
// MaxSeriesPerRequest series at most.
func (c *Client) NewBatch() *Batch { return &Batch{maxSeries: c.maxSeries} }

// Add encodes one series into the batch.
func (b *Batch) Add(labels []Label, samples []Sample) {
	if b.series == b.maxSeries {
		b.seal()
	}
	s := Series{Labels: labels, Samples: samples}
	b.pb = appendSeries(b.pb, &s)
	b.series++
	b.total++
	b.samples += len(samples)
}

// seal compresses the request being built.
func (b *Batch) seal() {
	if b.series == 0 {
		return
	}
	// EncodeSnappy needs room for the worst case, about the input's size:
	// encode into a scratch buffer and keep only a copy of what it wrote.
	if n := s2.MaxEncodedLen(len(b.pb)); cap(b.scratch) < n {
		b.scratch = make([]byte, n)
	}
	b.requests = append(b.requests, bytes.Clone(s2.EncodeSnappy(b.scratch[:cap(b.scratch)], b.pb)))
	b.pb = b.pb[:0]
	b.series = 0
}

// Len returns the number of series and of samples added.
func (b *Batch) Len() (series, samples int) { return b.total, b.samples }

// Requests returns the batch's compressed write requests, sealing the last
// one.
func (b *Batch) Requests() [][]byte {
	b.seal()
	return b.requests
}

// appendSeries appends one TimeSeries field of a WriteRequest. Lengths
// below 128, a single byte, are appended inline: that is most of them
// (BenchmarkRemoteWrite and docs/BENCHMARKS.md compare this encoder with
// the prompb libraries).
func appendSeries(b []byte, s *Series) []byte {
	size := seriesSize(s)
	b = slices.Grow(b, tagSize+protowire.SizeVarint(uint64(size))+size)
	b = append(b, tagTimeseries)
	b = appendLength(b, size)
	for _, l := range s.Labels {
		b = append(b, tagLabels)
		b = appendLength(b, labelSize(l))
		b = append(b, tagLabelName)
		b = appendLength(b, len(l.Name))
		b = append(b, l.Name...)
		b = append(b, tagLabelValue)
		b = appendLength(b, len(l.Value))
		b = append(b, l.Value...)
	}
	for _, smp := range s.Samples {
		b = append(b, tagSamples, byte(sampleSize(smp)), tagSampleValue)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(smp.Value))
		b = append(b, tagSampleTimestamp)
		b = protowire.AppendVarint(b, uint64(smp.Timestamp))
	}
	return b
}

// appendLength appends a length as a varint.
func appendLength(b []byte, n int) []byte {
	if n < 0x80 {
		return append(b, byte(n))
	}
	return protowire.AppendVarint(b, uint64(n))
}
