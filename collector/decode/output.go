package decode

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/procstat"
)

// TuneGC sets the garbage collector for a process that mostly decodes,
// unless $GOGC says otherwise. Decoding keeps a small live heap (buffers
// are pooled, records reused), so garbage may grow to 4x of it before a
// collection: the Parquet library allocates per page, and at Go's default
// of 100 collecting takes a large share of a second core.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// WriteRecords decodes the files in the order given and writes every
// record to w as a JSON line (flowlog.AppendJSON). Each file's bad lines
// go to badLines (Stats.WriteBadLines); failed is called with the error of
// every file that cannot be read to its end, whose records written before
// the failure stay written. It returns how many files failed, and an
// error when writing to w fails.
func WriteRecords(w, badLines io.Writer, files []string, opts Options, failed func(error)) (int, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	var buf []byte
	n := 0
	for _, file := range files {
		st, err := File(file, opts, func(r *flowlog.Record) error {
			buf = flowlog.AppendJSON(buf[:0], r)
			buf = append(buf, '\n')
			_, err := bw.Write(buf)
			return err
		})
		st.WriteBadLines(badLines)
		if err != nil {
			n++
			failed(err)
		}
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write records: %w", err)
	}
	return n, nil
}

// SummaryFormat says what WriteSummaries prints.
type SummaryFormat struct {
	// TotalsOnly leaves out the summary of each file.
	TotalsOnly bool
	// JSON prints the summaries as JSON lines (Summary's JSON shape)
	// instead of text (Summary.WriteText, and a line with the speed).
	JSON bool
}

// WriteSummaries decodes the files with jobs workers at once (Summarize)
// and writes one summary per file to w, in the order given, then the
// totals with the process's peak resident memory; as text, a last line
// gives the decoding speed. failed is called with the error of every file
// that cannot be read to its end. It returns the totals, and an error when
// writing to w fails.
func WriteSummaries(w io.Writer, files []string, opts Options, jobs int, format SummaryFormat, failed func(error)) (Summary, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	t := Summarize(files, opts, jobs, func(s Summary, err error) {
		if err != nil {
			failed(err)
		}
		switch {
		case format.TotalsOnly:
		case format.JSON:
			_ = enc.Encode(s)
		default:
			s.WriteText(bw)
		}
	})
	t.PeakRSS = procstat.PeakRSS()
	if format.JSON {
		_ = enc.Encode(t)
	} else {
		t.WriteText(bw)
		fmt.Fprintf(bw, "decoded %d files in %.3fs: %.0f records/s, %.1f MB/s of text\n", len(files), t.Seconds, t.RecordsPerSec, t.MBPerSec)
	}
	if err := bw.Flush(); err != nil {
		return t, fmt.Errorf("write summary: %w", err)
	}
	return t, nil
}
