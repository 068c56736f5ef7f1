// Command vpcflow-collector reads AWS VPC flow logs and turns them into
// labelled time series. Its subcommands decode flow log objects, generate
// realistic synthetic ones, and (in later versions) run the collector.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// exitError carries an exit status for main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func (e *exitError) Unwrap() error { return e.err }

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "vpcflow-collector",
		Short: "AWS VPC flow log collector for VictoriaMetrics",
		Long: `vpcflow-collector reads AWS VPC flow logs (gzip or plain text with a header line,
or Parquet; any custom field set of versions 2 to 8) and turns them into
pre-aggregated, labelled time series.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newDecodeCmd(), newGenerateCmd())
	return root
}

func main() {
	// The live heap is small (buffers are pooled, records reused), so the
	// collector can let garbage grow to 4x of it before collecting: the
	// Parquet library allocates per page, and at the default of 100 the
	// collector spends a large share of a second core on it. GOGC wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status: 0 on success,
// 1 when the work failed, 2 for a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "vpcflow-collector: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "vpcflow-collector: %v\n", err)
	fmt.Fprintf(stderr, "Run 'vpcflow-collector --help' for usage.\n")
	return 2
}
