package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/entitysync"
	"github.com/vpcflow/vpcflow/collector/logging"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

type syncFlags struct {
	config    string
	once      bool
	logFormat string
	logLevel  string
}

func newSyncCmd() *cobra.Command {
	var fl syncFlags
	cmd := &cobra.Command{
		Use:   "sync --config FILE [--once]",
		Short: "Sync entity names (VPCs, subnets, interfaces, instances, zones) from the EC2 API into VictoriaMetrics",
		Long: `Sync the names of the network entities from the EC2 API, as run does in the
background (sync section of the configuration), and write them to
VictoriaMetrics as vpcflow_entity_info series (docs/names.md).

For each account and region (sync.accounts, or, without it, those the s3
sources' flow log folders show, with the source's credentials) it calls
DescribeAvailabilityZones, DescribeVpcs, DescribeSubnets,
DescribeNetworkInterfaces and DescribeInstances (paginated, throttling retried
with backoff), checks that the credentials describe that account, writes one
series per entity stamped at the sync's start, and prints a line:

  123456789012/us-east-1: 3 VPCs, 12 subnets, 240 interfaces, 180 instances, 6 AZs synced (441 series written)

or what failed: a missing permission names it (ec2:DescribeInstances …) and
what reports lose without it; what the other actions found is still written.
sync.concurrency account·regions are synced at once, each bounded by
sync.timeout.

With --once it syncs every account·region once and exits, with status 1 when
any failed, when there was none to sync, or when the sync is off in the
configuration (sync.enabled). Without it, it syncs every sync.interval
(default 1h) until SIGINT or SIGTERM, and syncs a failed account·region again
5 minutes after its failure. The log (stderr) has warnings and errors only,
unless --log-level says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSync(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), fl)
		},
	}
	cmd.Flags().StringVar(&fl.config, "config", "", "configuration file (YAML; required)")
	cmd.Flags().BoolVar(&fl.once, "once", false, "sync every account and region once, then exit")
	cmd.Flags().StringVar(&fl.logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().StringVar(&fl.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func runSync(ctx context.Context, stdout, stderr io.Writer, fl syncFlags) error {
	cfg, err := config.Load(fl.config)
	if err != nil {
		return err
	}
	log, err := logging.New(stderr, fl.logFormat, fl.logLevel)
	if err != nil {
		return err
	}
	if !cfg.Sync.IsEnabled() {
		return &exitError{1, errors.New("the entity sync is off in the configuration (sync.enabled: false, or its default: off without AWS to ask " +
			"(no sync.accounts, no sync.endpoint, no s3 source without an endpoint) and on instances other than 0): nothing to sync; " +
			"write sync.enabled: true")}
	}
	sc := cfg.Storage
	sc.Logger = log
	store, err := vmclient.New(sc)
	if err != nil {
		return err
	}
	opts := entitysync.Options{Config: cfg.Sync, Sources: cfg.Sources, Store: store, Logger: log}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if !fl.once {
		opts.OnOutcome = func(o entitysync.Outcome) { fmt.Fprintln(stdout, o) } // as they come
		entitysync.New(opts).Run(ctx)
		return nil
	}
	outs := entitysync.New(opts).Round(ctx)
	failed := 0
	for _, o := range outs { // in the order of the account·regions
		fmt.Fprintln(stdout, o)
		if !o.OK() {
			failed++
		}
	}
	switch {
	case len(outs) == 0:
		return &exitError{1, errors.New("no account and region to sync: sync.accounts lists none with regions, " +
			"and the s3 sources' flow log folders show none yet (AWSLogs/ACCOUNT/vpcflowlogs/REGION/)")}
	case failed > 0:
		return &exitError{1, fmt.Errorf("%d of %d account·regions failed", failed, len(outs))}
	}
	return nil
}

// newEntitySync returns run's entity sync, or nil when it is off
// (sync.enabled) or run syncs nothing (--once: use the sync command). It
// learns accounts and regions from the records the pipeline stores
// (exporters), besides the sources' folders, and keeps dir (the pipeline's
// directory of interfaces) up to date.
func newEntitySync(cfg *config.Config, store *vmclient.Client, log *slog.Logger, once bool,
	exporters func() []sourcestate.ExporterReport, dir *awssync.Directory) *entitysync.Runner {
	if !cfg.Sync.IsEnabled() || once {
		return nil
	}
	return entitysync.New(entitysync.Options{Config: cfg.Sync, Sources: cfg.Sources, Store: store, Logger: log, Directory: dir,
		Learned: func() []entitysync.Learned {
			var out []entitysync.Learned
			for _, e := range exporters() {
				out = append(out, entitysync.Learned{Source: e.Source, Account: e.Account, Region: e.Region})
			}
			return out
		}})
}

// startEntitySync runs r (nil: nothing) in the background until ctx is
// done or the function returned is called, which waits for it to end.
func startEntitySync(ctx context.Context, r *entitysync.Runner) (stop func()) {
	if r == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
