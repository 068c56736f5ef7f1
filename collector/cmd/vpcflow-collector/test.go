package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

func newTestCmd() *cobra.Command {
	var configPath, only string
	var skipStorage bool
	cmd := &cobra.Command{
		Use:   "test --config FILE [--source NAME]",
		Short: "Test access to each source's bucket (and to the storage)",
		Long: `Test what the collector needs, one line per check, PASS, WARN, SKIP or FAIL:

For each s3 source: the credentials resolve; the bucket answers in its region;
listing, reading and deleting are allowed (delete is tried on a marker object
the test writes itself); versioning is off (with versioning, deleted logs pile
up as old versions); the newest flow log's header has log-status, vpc-id,
interface-id and flow-direction (a WARN names the reports that stay empty
without one); nothing but flow logs is written under the prefix.

For a dir source: the folder can be read and written.

For every source, what its first run will do (first-run): how many objects
(and bytes) a purge would delete now, unread (those last modified longer
ago than purge_older_than; a WARN when there are any), or a backfill
collect. A source whose first run is done, as the ledger in state_dir says,
is reported as such. The test reads the ledger without creating it; while
a collector runs it cannot (the ledger is locked) and says so.

For the storage: it answers and deduplicates at 1 ms.

The exit status is 1 when any check FAILs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath)
			if err != nil {
				return err
			}
			return testSources(cmd.Context(), cmd.OutOrStdout(), cfg, only, !skipStorage)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file (YAML; required)")
	cmd.Flags().StringVar(&only, "source", "", "test only the source of this name")
	cmd.Flags().BoolVar(&skipStorage, "skip-storage", false, "do not test the storage")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// testSources runs the checks and prints one line per check.
func testSources(ctx context.Context, w io.Writer, cfg *config.Config, only string, withStorage bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var all []source.Check
	line := func(src string, c source.Check) {
		all = append(all, c)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Result, src, c.Name, c.Detail)
	}
	var names []string
	for _, s := range cfg.Sources {
		names = append(names, s.Name)
	}
	firstRuns := sourcestate.ReadFirstRuns(names, sourcestate.LedgerFile{Path: cfg.DownloaderLedgerPath()},
		sourcestate.LedgerFile{Path: cfg.LedgerPath(), Options: cfg.LedgerOptions()})
	found := false
	for _, s := range cfg.Sources {
		if only != "" && s.Name != only {
			continue
		}
		found = true
		for _, c := range firstRuns.TestSource(ctx, s, 2*time.Minute, time.Now) {
			line(s.Name, c)
		}
	}
	if only != "" && !found {
		return fmt.Errorf("--source %q: no such source in the configuration", only)
	}
	if withStorage && only == "" {
		line("storage", checkStorage(ctx, cfg))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if source.WorstResult(all) == source.CheckFail {
		return &exitError{1, errors.New("some checks failed")}
	}
	return nil
}

// checkStorage checks that the storage answers and deduplicates at 1 ms,
// and that its nodes say when they save samples to disk.
func checkStorage(ctx context.Context, cfg *config.Config) source.Check {
	c := source.Check{Name: "reachable-dedup", Result: source.CheckPass}
	store, err := vmclient.New(cfg.Storage)
	var warn error
	if err == nil {
		c.Detail, warn, err = store.Check(ctx)
	}
	switch {
	case err != nil:
		c.Result, c.Detail = source.CheckFail, err.Error()
	case warn != nil:
		c.Result = source.CheckWarn
	}
	return c
}
