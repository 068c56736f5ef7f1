package decode

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// Summary is what decoding one file, or all of them (the totals), found:
// a line of `vpcflow-collector decode --summary`, and its JSON shape with
// --json.
type Summary struct {
	File        string   `json:"file"`
	Error       string   `json:"error,omitempty"`
	Compression string   `json:"compression,omitempty"`
	Header      bool     `json:"header"`
	Fields      int      `json:"fields,omitempty"`
	Records     int64    `json:"records"`
	OK          int64    `json:"ok"`
	NoData      int64    `json:"nodata"`
	SkipData    int64    `json:"skipdata"`
	BadLines    int64    `json:"bad_lines"`
	Bytes       uint64   `json:"bytes"`
	Packets     uint64   `json:"packets"`
	FirstStart  string   `json:"first_start,omitempty"`
	LastEnd     string   `json:"last_end,omitempty"`
	StoredBytes int64    `json:"stored_bytes"`
	TextBytes   int64    `json:"decoded_bytes"`
	Samples     []string `json:"bad_line_samples,omitempty"`
	// Totals only.
	Files         int     `json:"files,omitempty"`
	Failed        int     `json:"failed,omitempty"`
	Seconds       float64 `json:"seconds,omitempty"`
	PeakRSS       int64   `json:"peak_rss_bytes,omitempty"`
	RecordsPerSec float64 `json:"records_per_second,omitempty"`
	MBPerSec      float64 `json:"decoded_mb_per_second,omitempty"`
}

// NewSummary summarizes the decoding of file: its stats, and its error
// when it failed.
func NewSummary(file string, st *Stats, err error) Summary {
	s := Summary{
		File: file, Compression: st.Compression, Header: st.Header,
		Records: st.Records, OK: st.OK, NoData: st.NoData, SkipData: st.SkipData,
		BadLines: st.BadLines, Bytes: st.Bytes, Packets: st.Packets,
		StoredBytes: st.StoredBytes, TextBytes: st.DecodedBytes,
	}
	if err != nil {
		s.Error = err.Error()
	}
	if st.Format != nil {
		s.Fields = st.Format.Len()
	}
	if st.Records > 0 {
		s.FirstStart = unixTime(st.FirstStart)
		s.LastEnd = unixTime(st.LastEnd)
	}
	for _, b := range st.Samples {
		s.Samples = append(s.Samples, b.String())
	}
	return s
}

func unixTime(sec int64) string { return time.Unix(sec, 0).UTC().Format(time.RFC3339) }

// WriteText prints the summary as one line of key=value pairs, then one
// line per bad line sample.
func (s Summary) WriteText(w io.Writer) {
	status := ""
	if s.Error != "" {
		status = " FAILED"
	}
	fmt.Fprintf(w, "%s%s: records=%d ok=%d nodata=%d skipdata=%d bad=%d bytes=%d packets=%d",
		s.File, status, s.Records, s.OK, s.NoData, s.SkipData, s.BadLines, s.Bytes, s.Packets)
	if s.FirstStart != "" {
		fmt.Fprintf(w, " first_start=%s last_end=%s", s.FirstStart, s.LastEnd)
	}
	fmt.Fprintln(w)
	for _, b := range s.Samples {
		fmt.Fprintf(w, "  bad %s\n", b)
	}
}

// WriteBadLines reports the object's bad lines, if any: how many, then
// the samples kept.
func (s *Stats) WriteBadLines(w io.Writer) {
	if s.BadLines == 0 {
		return
	}
	fmt.Fprintf(w, "%s: %d bad lines skipped\n", s.Object, s.BadLines)
	for _, b := range s.Samples {
		fmt.Fprintf(w, "  %s\n", b)
	}
	if more := s.BadLines - int64(len(s.Samples)); more > 0 {
		fmt.Fprintf(w, "  … and %d more\n", more)
	}
}

// Summarize decodes files with jobs workers at once, dropping the
// records, and calls each with every file's summary and error, in the
// order given. It returns the totals of the files that did not fail (a
// failed file's records must not count), with the files, the failures,
// the time taken and the speeds; PeakRSS is the caller's to fill
// (WriteSummaries fills it).
func Summarize(files []string, opts Options, jobs int, each func(s Summary, err error)) Summary {
	type result struct {
		st  *Stats
		err error
	}
	results := make([]chan result, len(files))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	began := time.Now()
	for range min(max(jobs, 1), len(files)) {
		wg.Go(func() {
			for i := range next {
				st, err := File(files[i], opts, func(*flowlog.Record) error { return nil })
				results[i] <- result{st, err}
			}
		})
	}
	go func() {
		for i := range files {
			next <- i
		}
		close(next)
	}()
	var total Stats
	failed := 0
	for i, file := range files {
		r := <-results[i]
		if r.err != nil {
			failed++
		} else {
			total.Merge(r.st)
		}
		each(NewSummary(file, r.st, r.err), r.err)
	}
	wg.Wait()
	elapsed := time.Since(began).Seconds()
	t := NewSummary("total", &total, nil)
	t.Files, t.Failed, t.Seconds = len(files), failed, elapsed
	if elapsed > 0 {
		t.RecordsPerSec = float64(total.Records+total.BadLines) / elapsed
		t.MBPerSec = float64(total.DecodedBytes) / 1e6 / elapsed
	}
	return t
}
