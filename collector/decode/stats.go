package decode

import (
	"fmt"
	"math"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// Stats describes one decoded object.
type Stats struct {
	Object      string
	Compression string          // "gzip", "none" or "parquet"
	Format      *flowlog.Format // the header's columns, or the configured format
	Header      bool            // the object had a header line (always true for Parquet)

	Records  int64 // good records, of any log-status
	OK       int64 // records with log-status OK (traffic)
	NoData   int64 // NODATA records
	SkipData int64 // SKIPDATA records: AWS lost data in their windows
	BadLines int64 // lines (or rows) skipped as bad
	// Problems counts the bad lines by problem.
	Problems [flowlog.NumProblems]int64
	// Samples holds the first bad lines, up to Options.MaxSamples.
	Samples []BadLine

	Bytes      uint64 // sum of bytes over OK records
	Packets    uint64 // sum of packets over OK records
	FirstStart int64  // earliest start of any record, Unix seconds (0 when none)
	LastEnd    int64  // latest end of any record, Unix seconds (0 when none)

	StoredBytes  int64 // bytes read from the object as stored
	DecodedBytes int64 // text bytes after decompression (Parquet: same as stored)
}

// BadLine is a sample of a skipped line.
type BadLine struct {
	Line    int64 // 1-based line number (Parquet: 1-based row number)
	Offset  int64 // byte offset of the line in the decompressed text; -1 for a Parquet row
	Problem flowlog.Problem
	Field   string // the field concerned, when one is
	Value   string // the offending value, when one is (shortened)
	Detail  string // more about the problem, when there is more
	Text    string // the start of the line, control characters escaped
}

// String describes the bad line: line number, offset, field and reason.
func (b BadLine) String() string {
	s := fmt.Sprintf("line %d (byte %d): %s", b.Line, b.Offset, b.Problem)
	if b.Offset < 0 {
		s = fmt.Sprintf("row %d: %s", b.Line, b.Problem)
	}
	if b.Field != "" {
		s += fmt.Sprintf(" in %s", b.Field)
	}
	if b.Value != "" {
		s += fmt.Sprintf(" %q", b.Value)
	}
	if b.Detail != "" {
		s += ": " + b.Detail
	}
	return s
}

func (s *Stats) count(r *flowlog.Record) {
	s.Records++
	switch r.LogStatus {
	case flowlog.StatusOK:
		s.OK++
		s.Bytes += r.Bytes
		s.Packets += r.Packets
	case flowlog.StatusNoData:
		s.NoData++
	case flowlog.StatusSkipData:
		s.SkipData++
	}
	if r.Present.Has(flowlog.Start) && r.Start < s.FirstStart {
		s.FirstStart = r.Start
	}
	if r.Present.Has(flowlog.End) && r.End > s.LastEnd {
		s.LastEnd = r.End
	}
}

// bad counts a bad line. While samples are still wanted it appends one
// and returns it for the caller to describe; otherwise it returns nil.
func (s *Stats) bad(opts *Options, p flowlog.Problem) *BadLine {
	s.BadLines++
	s.Problems[p]++
	if len(s.Samples) >= opts.MaxSamples {
		return nil
	}
	s.Samples = append(s.Samples, BadLine{Problem: p})
	return &s.Samples[len(s.Samples)-1]
}

func (s *Stats) begin(name string) {
	*s = Stats{Object: name, FirstStart: math.MaxInt64}
}

func (s *Stats) end() {
	if s.FirstStart == math.MaxInt64 {
		s.FirstStart = 0
	}
}

// Merge adds o's counts to s (for totals over several objects); Samples are
// not merged.
func (s *Stats) Merge(o *Stats) {
	s.Records += o.Records
	s.OK += o.OK
	s.NoData += o.NoData
	s.SkipData += o.SkipData
	s.BadLines += o.BadLines
	for i := range s.Problems {
		s.Problems[i] += o.Problems[i]
	}
	s.Bytes += o.Bytes
	s.Packets += o.Packets
	if o.Records > 0 {
		if s.FirstStart == 0 || (o.FirstStart != 0 && o.FirstStart < s.FirstStart) {
			s.FirstStart = o.FirstStart
		}
		if o.LastEnd > s.LastEnd {
			s.LastEnd = o.LastEnd
		}
	}
	s.StoredBytes += o.StoredBytes
	s.DecodedBytes += o.DecodedBytes
}

// sample shortens and escapes text for a bad-line sample.
func sample(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			out = fmt.Appendf(out, "\\x%02x", c)
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// malformed describes a value that does not have its field's shape.
func malformed(f flowlog.Field, v []byte) string {
	return fmt.Sprintf("%d bytes; want %s", len(v), f.Shape())
}
