package devtools

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Demo generates a realistic day of flow logs under the AWS key layout and
// prints what the decoder makes of them.
func Demo(ctx context.Context, w io.Writer) error {
	records, err := envInt("VPCFLOW_DEMO_RECORDS", 1_000_000)
	if err != nil {
		return err
	}
	bin, err := cachedCollector(ctx)
	if err != nil {
		return err
	}
	demoDir, err := CacheDir("demo")
	if err != nil {
		return err
	}
	logs := filepath.Join(demoDir, "flowlogs")
	if err := os.RemoveAll(logs); err != nil {
		return err
	}
	start := time.Now().UTC().Truncate(time.Hour).Add(-24 * time.Hour)
	fmt.Fprintf(w, "\n== Generating a day of VPC flow logs (%d records, v5 fields) from %s\n\n", records, start.Format(time.RFC3339))
	if err := runTo(ctx, w, bin, "generate", "--out", logs, "--records", strconv.Itoa(records),
		"--format", "v5", "--start", start.Format(time.RFC3339), "--duration", "24h",
		"--vpcs", "3", "--enis", "60"); err != nil {
		return err
	}
	files, err := listFiles(logs)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d objects under the AWS layout, for example:\n", len(files))
	for _, f := range files[:min(3, len(files))] {
		rel, _ := filepath.Rel(logs, f)
		fmt.Fprintf(w, "  %s\n", rel)
	}

	fmt.Fprintf(w, "\n== The first records of %s, decoded\n\n", filepath.Base(files[0]))
	out, err := output(ctx, nil, bin, "decode", files[0])
	if err != nil {
		return err
	}
	lines := strings.SplitN(out, "\n", 4)
	for _, l := range lines[:min(3, len(lines))] {
		fmt.Fprintln(w, l)
	}

	fmt.Fprintf(w, "\n== Decoder summary of the whole day\n\n")
	if err := runTo(ctx, w, bin, append([]string{"decode", "--totals"}, files...)...); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nThe flow logs stay in %s; decode any of them with\n  %s decode --summary FILE\n", logs, bin)
	return nil
}

// runTo runs a command with its standard output going to w.
func runTo(ctx context.Context, w io.Writer, name string, args ...string) error {
	out, err := output(ctx, nil, name, args...)
	fmt.Fprint(w, out)
	return err
}
