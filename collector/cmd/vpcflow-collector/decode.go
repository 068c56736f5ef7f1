package main

import (
	"errors"
	"fmt"
	"runtime"

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
omitted, fields the decoder does not know are kept as strings (named as a text
header names them: a Parquet column interface_type prints as interface-type).
Every action is kept as written (ACCEPT, REJECT, DROP, and any other value of
upper-case letters, digits and _, at most 16 bytes).

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
			decode.TuneGC()
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
			stderr := cmd.ErrOrStderr()
			failed := func(err error) { fmt.Fprintf(stderr, "vpcflow-collector: %v\n", err) }
			if fl.summary {
				t, err := decode.WriteSummaries(cmd.OutOrStdout(), files, opts, fl.jobs, decode.SummaryFormat{TotalsOnly: fl.totals, JSON: fl.json}, failed)
				return failedFiles(t.Failed, len(files), err)
			}
			n, err := decode.WriteRecords(cmd.OutOrStdout(), stderr, files, opts, failed)
			return failedFiles(n, len(files), err)
		},
	}
	cmd.Flags().StringVar(&fl.format, "format", "", `columns of headerless objects: v2 … v8 or field names separated by spaces or commas (default: the AWS default format, v2)`)
	cmd.Flags().BoolVar(&fl.summary, "summary", false, "print a summary per file instead of the records")
	cmd.Flags().BoolVar(&fl.totals, "totals", false, "like --summary, but print only the totals")
	cmd.Flags().BoolVar(&fl.json, "json", false, "with --summary: print the summaries as JSON lines")
	cmd.Flags().IntVarP(&fl.jobs, "jobs", "j", runtime.GOMAXPROCS(0), "with --summary: files decoded at once")
	return cmd
}

// failedFiles is the command's error: writing failed, or some files did.
func failedFiles(failed, total int, err error) error {
	if err != nil {
		return &exitError{1, err}
	}
	if failed == 0 {
		return nil
	}
	return &exitError{1, fmt.Errorf("%d of %d files failed", failed, total)}
}
