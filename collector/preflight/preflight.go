// Package preflight runs the checks of `vpcflow-collector test` over a
// configuration: each source's access and what its first run will do
// (pipeline.FirstRunStates.TestSource), and the storage (vmclient's
// Check).
package preflight

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// sourceTimeout bounds a source's own checks.
const sourceTimeout = 2 * time.Minute

// Run runs the checks of the sources of cfg (only the source named only,
// when only is not ""), then, with withStorage and every source, of the
// storage. It prints one line per check, in aligned columns: its result,
// what it checked (a source's name, or "storage"), its name and what it
// found. It returns the worst result (source.WorstResult), and an error
// when printing fails.
func Run(ctx context.Context, w io.Writer, cfg *config.Config, only string, withStorage bool) (source.CheckResult, error) {
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
	for _, s := range cfg.Sources {
		if only != "" && s.Name != only {
			continue
		}
		for _, c := range firstRuns.TestSource(ctx, s, sourceTimeout, time.Now) {
			line(s.Name, c)
		}
	}
	if withStorage && only == "" {
		line("storage", Storage(ctx, cfg.Storage))
	}
	if err := tw.Flush(); err != nil {
		return source.WorstResult(all), err
	}
	return source.WorstResult(all), nil
}

// Storage checks that the storage answers and deduplicates at 1 ms, and
// that its nodes say when they save samples to disk (vmclient's Check):
// a dedup setting that cannot be read is a WARN.
func Storage(ctx context.Context, storage vmclient.Config) source.Check {
	c := source.Check{Name: "reachable-dedup", Result: source.CheckPass}
	store, err := vmclient.New(storage)
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
