// Command vpcflow-collector reads AWS VPC flow logs and turns them into
// labelled time series in VictoriaMetrics. Its subcommands run the collector,
// test a source's bucket access, sync entity names from the EC2 API, decode
// flow log objects, generate realistic synthetic ones, manage quarantined
// objects and run reports.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/procstat"
)

// version is the collector's version, set at build time with
// -ldflags "-X main.version=…".
var version = "dev"

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
pre-aggregated, labelled time series in VictoriaMetrics.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	var prof procstat.Profiles
	root.PersistentFlags().StringVar(&prof.CPU, "cpuprofile", "", "write a CPU profile to this file")
	root.PersistentFlags().StringVar(&prof.Mem, "memprofile", "", "write a heap profile to this file at exit")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	_ = root.PersistentFlags().MarkHidden("memprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if err := prof.Start(); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return nil
	}
	root.PersistentPostRun = func(*cobra.Command, []string) { prof.Stop() }
	root.AddCommand(newRunCmd(), newTestCmd(), newSyncCmd(), newDecodeCmd(), newGenerateCmd(), newQuarantineCmd(), newReportCmd())
	return root
}

func main() {
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
