package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

type decodeFlags struct {
	format  string
	summary bool
	totals  bool
	json    bool
	jobs    int
}

func newDecodeCmd() *cobra.Command {
	var fl decodeFlags
	cmd := &cobra.Command{
		Use:   "decode [--format FIELDS] [--summary|--totals [--json] [--jobs N]] FILE...",
		Short: "Decode flow log objects to JSON lines, or summarize them",
		Long: `Decode flow log objects (gzip or plain text, or Parquet, detected by their
content) and print one JSON object per record: keys are the AWS field names,
numeric fields (version, srcport, dstport, protocol, packets, bytes, start,
end, tcp-flags, traffic-path) are JSON numbers, absent ("-") fields are
omitted, fields the decoder does not know are kept as strings.

Bad lines are skipped and counted; the first few are reported on stderr with
their line number, byte offset and reason. A file that cannot be read to its
end (truncated or corrupt gzip, unreadable Parquet, a header without the
fields traffic accounting needs) fails as a whole: its reason goes to stderr
and the exit status is 1. Records printed before such a failure must not be
counted.

With --summary, print one line per file instead: records, OK/NODATA/SKIPDATA,
bad lines, bytes, packets, first start and last end, then a total line with
the decoding speed (failed files are not in the totals); --totals prints the
total line only. --jobs decodes that
many files at once.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			// Decoding keeps a small live heap (buffers are pooled, records
			// reused), so garbage may grow to 4x of it before a collection:
			// the Parquet library allocates per page, and at Go's default
			// of 100 collecting takes a large share of a second core. GOGC
			// wins.
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(400)
			}
			opts := decode.Options{}
			if fl.format != "" {
				f, err := flowlog.ParseFormat(fl.format)
				if err != nil {
					return fmt.Errorf("--format: %w", err)
				}
				opts.Format = f
			}
			if fl.totals {
				fl.summary = true
			}
			if fl.json && !fl.summary {
				return errors.New("--json applies to --summary")
			}
			if fl.summary {
				return summarize(cmd.OutOrStdout(), cmd.ErrOrStderr(), files, opts, fl)
			}
			return printRecords(cmd.OutOrStdout(), cmd.ErrOrStderr(), files, opts)
		},
	}
	cmd.Flags().StringVar(&fl.format, "format", "", `columns of headerless objects: v2 … v8 or field names separated by spaces or commas (default: the AWS default format, v2)`)
	cmd.Flags().BoolVar(&fl.summary, "summary", false, "print a summary per file instead of the records")
	cmd.Flags().BoolVar(&fl.totals, "totals", false, "like --summary, but print only the totals")
	cmd.Flags().BoolVar(&fl.json, "json", false, "with --summary: print the summaries as JSON lines")
	cmd.Flags().IntVarP(&fl.jobs, "jobs", "j", runtime.GOMAXPROCS(0), "with --summary: files decoded at once")
	return cmd
}

// printRecords writes every record of every file as JSON lines.
func printRecords(stdout, stderr io.Writer, files []string, opts decode.Options) error {
	w := bufio.NewWriterSize(stdout, 256<<10)
	var buf []byte
	failed := 0
	for _, file := range files {
		st, err := decode.File(file, opts, func(r *flowlog.Record) error {
			buf = flowlog.AppendJSON(buf[:0], r)
			buf = append(buf, '\n')
			_, err := w.Write(buf)
			return err
		})
		reportBadLines(stderr, st)
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "vpcflow-collector: %v\n", err)
		}
	}
	if err := w.Flush(); err != nil {
		return &exitError{1, fmt.Errorf("write records: %w", err)}
	}
	return failedFiles(failed, len(files))
}

func failedFiles(failed, total int) error {
	if failed == 0 {
		return nil
	}
	return &exitError{1, fmt.Errorf("%d of %d files failed", failed, total)}
}

func reportBadLines(stderr io.Writer, st *decode.Stats) {
	if st.BadLines == 0 {
		return
	}
	fmt.Fprintf(stderr, "%s: %d bad lines skipped\n", st.Object, st.BadLines)
	for _, s := range st.Samples {
		fmt.Fprintf(stderr, "  %s\n", s)
	}
	if more := st.BadLines - int64(len(st.Samples)); more > 0 {
		fmt.Fprintf(stderr, "  … and %d more\n", more)
	}
}

// fileSummary is the JSON shape of one --summary --json line.
type fileSummary struct {
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

func newFileSummary(file string, st *decode.Stats, err error) fileSummary {
	s := fileSummary{
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

// summarize decodes the files with fl.jobs workers and prints one summary
// per file, in the order given, then the totals.
func summarize(stdout, stderr io.Writer, files []string, opts decode.Options, fl decodeFlags) error {
	type result struct {
		st  *decode.Stats
		err error
	}
	results := make([]chan result, len(files))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	jobs := max(fl.jobs, 1)
	next := make(chan int)
	var wg sync.WaitGroup
	began := time.Now()
	for range min(jobs, len(files)) {
		wg.Go(func() {
			for i := range next {
				st, err := decode.File(files[i], opts, func(*flowlog.Record) error { return nil })
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

	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	var total decode.Stats
	failed := 0
	for i, file := range files {
		r := <-results[i]
		if r.err != nil {
			failed++
			fmt.Fprintf(stderr, "vpcflow-collector: %v\n", r.err)
		}
		if r.err == nil { // a failed file's records must not count
			total.Merge(r.st)
		}
		if fl.totals {
			continue
		}
		s := newFileSummary(file, r.st, r.err)
		if fl.json {
			_ = enc.Encode(s)
			continue
		}
		writeSummary(w, s)
	}
	wg.Wait()
	elapsed := time.Since(began).Seconds()
	t := newFileSummary("total", &total, nil)
	t.Files, t.Failed, t.Seconds, t.PeakRSS = len(files), failed, elapsed, peakRSS()
	if elapsed > 0 {
		t.RecordsPerSec = float64(total.Records+total.BadLines) / elapsed
		t.MBPerSec = float64(total.DecodedBytes) / 1e6 / elapsed
	}
	if fl.json {
		_ = enc.Encode(t)
	} else {
		writeSummary(w, t)
		fmt.Fprintf(w, "decoded %d files in %.3fs: %.0f records/s, %.1f MB/s of text\n",
			len(files), elapsed, t.RecordsPerSec, t.MBPerSec)
	}
	if err := w.Flush(); err != nil {
		return &exitError{1, fmt.Errorf("write summary: %w", err)}
	}
	return failedFiles(failed, len(files))
}

func writeSummary(w io.Writer, s fileSummary) {
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

// peakRSS returns the process's peak resident memory in bytes (VmHWM of
// /proc/self/status), or 0 where that is not available. Unlike getrusage,
// it does not count what the parent held before exec.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
