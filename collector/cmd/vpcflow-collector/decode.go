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

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/procstat"
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
		st.WriteBadLines(stderr)
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

// summarize decodes the files with fl.jobs workers and prints one summary
// per file, in the order given, then the totals.
func summarize(stdout, stderr io.Writer, files []string, opts decode.Options, fl decodeFlags) error {
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	t := decode.Summarize(files, opts, fl.jobs, func(s decode.Summary, err error) {
		if err != nil {
			fmt.Fprintf(stderr, "vpcflow-collector: %v\n", err)
		}
		switch {
		case fl.totals:
		case fl.json:
			_ = enc.Encode(s)
		default:
			s.WriteText(w)
		}
	})
	t.PeakRSS = procstat.PeakRSS()
	if fl.json {
		_ = enc.Encode(t)
	} else {
		t.WriteText(w)
		fmt.Fprintf(w, "decoded %d files in %.3fs: %.0f records/s, %.1f MB/s of text\n", len(files), t.Seconds, t.RecordsPerSec, t.MBPerSec)
	}
	if err := w.Flush(); err != nil {
		return &exitError{1, fmt.Errorf("write summary: %w", err)}
	}
	return failedFiles(t.Failed, len(files))
}
