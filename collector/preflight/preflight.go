// Package preflight runs the checks of `vpcflow-collector test` over a
// configuration: each source's access and what its first run will do
// (pipeline.FirstRunStates.TestSource), the entity sync's EC2 permissions
// (entitysync's Check), and the storage (vmclient's Check).
package preflight

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// sourceTimeout bounds a source's own checks.
const sourceTimeout = 2 * time.Minute

// Run runs the checks of the sources of cfg (only the source named only,
// when only is not ""), then, with every source, of the entity sync (when
// it is on) and, with withStorage, of the storage. It prints one line per check, in aligned columns: its result,
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
	firstRuns.Share = cfg.Share()
	for _, s := range cfg.Sources {
		if only != "" && s.Name != only {
			continue
		}
		for _, c := range firstRuns.TestSource(ctx, s, sourceTimeout, time.Now) {
			line(s.Name, c)
		}
	}
	if only == "" && cfg.Sync.IsEnabled() {
		for _, c := range Sync(ctx, cfg) {
			line(c.What, c.Check)
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

// SyncCheck is a check of the entity sync: What names the account·region
// ("sync 123456789012/us-east-1"), or "sync" for the sync as a whole.
type SyncCheck struct {
	What string
	source.Check
}

// Sync checks the Describe permissions of each account·region the entity
// sync would sync now (entitysync's Check: DryRun requests, which describe
// nothing): PASS when all are allowed; a WARN per missing permission,
// naming it and what reports lose without it (the sync still writes what
// the others allow); FAIL when the credentials are not accepted
// (AuthFailure) or the check cannot be made. Without any account·region to
// check it WARNs.
func Sync(ctx context.Context, cfg *config.Config) []SyncCheck {
	const name = "describe-permissions"
	s := cfg.Sync
	targets, _ := s.ResolveTargets(ctx, cfg.Sources, sourceTimeout) // a source that cannot be listed has its own FAIL above
	if len(targets) == 0 {
		return []SyncCheck{{What: "sync", Check: source.Check{Name: "accounts", Result: source.CheckWarn,
			Detail: "no account and region to check: sync.accounts lists none with regions, and the s3 sources' flow log folders show none yet; " +
				"run syncs them once flow logs arrive (list them in sync.accounts to check them now)"}}}
	}
	var out []SyncCheck
	for _, t := range targets {
		what := "sync " + t.String()
		missing, err := s.Check(ctx, t, sourceTimeout)
		if err != nil {
			out = append(out, SyncCheck{what, source.Check{Name: name, Result: source.CheckFail, Detail: err.Error()}})
			continue
		}
		if len(missing) == 0 {
			perms := make([]string, len(awssync.Actions))
			for i, a := range awssync.Actions {
				perms[i] = "ec2:" + a
			}
			out = append(out, SyncCheck{what, source.Check{Name: name, Result: source.CheckPass,
				Detail: fmt.Sprintf("%s allowed (DryRun), with the credentials of %s", strings.Join(perms, ", "), t.From)}})
			continue
		}
		for _, m := range missing {
			r, hint := source.CheckWarn, fmt.Sprintf("grant it to the credentials of %s", t.From)
			if m.Code == "AuthFailure" {
				r, hint = source.CheckFail, fmt.Sprintf("the credentials of %s were not accepted: check the keys or role", t.From)
			}
			out = append(out, SyncCheck{what, source.Check{Name: name, Result: r, Detail: fmt.Sprintf("%s missing (%s): %s; without it reports lose %s",
				m.Permission, m.Code, hint, m.Loses)}})
		}
	}
	return out
}
