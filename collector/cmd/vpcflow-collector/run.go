package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/lifecycle"
	"github.com/vpcflow/vpcflow/collector/logging"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/procstat"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/collector/spool"
	"github.com/vpcflow/vpcflow/collector/status"
	"github.com/vpcflow/vpcflow/vmclient"
)

// drainTimeout is how long a stop signal waits for the batch in flight.
const drainTimeout = time.Minute

type runFlags struct {
	config    string
	once      bool
	role      string
	logFormat string
	logLevel  string
	// storageTimeout bounds, with once, how long the storage may fail.
	storageTimeout time.Duration
	// lostState says how to go on when the ledger and the storage
	// disagree: "backfill" or "skip" ("": refuse to start).
	lostState string
}

// Roles of `run --role`.
const (
	roleAll        = "all"
	roleDownloader = "downloader"
	roleCollector  = "collector"
)

func newRunCmd() *cobra.Command {
	var fl runFlags
	cmd := &cobra.Command{
		Use:   "run --config FILE [--once] [--role all|downloader|collector]",
		Short: "Collect flow logs from every configured source into VictoriaMetrics",
		Long: `Run the collector: list every source of the configuration, decode and
aggregate new flow log objects in batches, write each batch to VictoriaMetrics
exactly once, then delete what is stored (delete_after_ingest).

It first checks that VictoriaMetrics deduplicates at 1 ms
(-dedup.minScrapeInterval=1ms), which the exactly-once scheme needs, and
replays any batch a previous run recorded but did not finish. While
VictoriaMetrics is unreachable it waits and retries: nothing is deleted before
it saved the data. VictoriaMetrics acknowledges a write while the samples are
still in memory, so an object is deleted only once the storage's save delay
has passed since the acknowledgement (read from the /metrics of the single
node or of each vmstorage, storage.storage_nodes: 18s at the default
-inmemoryDataFlushInterval=5s) and no storage restart was seen meanwhile; a
restart sends the batches it may have lost back to be written again. At the
end of --once and at a stop, a single node is asked to save at once instead
(a snapshot made and deleted; storage.disable_flush turns it off). A
source's first run purges, backfills or skips the flow logs already there
(on_first_run).

At start it also checks that the ledger (state_dir) and the storage agree:
every batch leaves a trace of its ledger in the storage. A ledger that does
not know a source the storage has traces of (the state folder lost or
replaced), or a storage without the traces the ledger saved (its data lost,
or another storage), stops the run with what was found; --lost-state=backfill
or --lost-state=skip says how to go on (docs/guarantees.md).

Roles: "all" (the default) does everything in one process. "downloader"
lists the s3 sources and copies new objects into the spool folder
(spool.dir, bounded by spool.max_bytes: it waits while the spool is full);
"collector" decodes the spooled objects, writes them and deletes them from
the spool and from S3 once stored. Run one of each, sharing spool.dir.

Several collectors (instance: {index, count}, each with its own state_dir)
split every source's objects by flow log: each object is ingested and
deleted by one of them; pairs of downloader and collector split a bucket the
same way. A source fed by S3 notifications (notify) is not split: its queue
hands each message to one collector. To change the count, stop them all,
change it everywhere, start them all (README, Several collectors); a
collector with work in flight refuses another count until a run under its
old one finished it. overload.max_lag pauses the most recently added source
(status unresourced) while the collector cannot keep up; limits.max_sources
and limits.max_exporters disable the last added (disabled_limit).

The entity sync (sync section; on by default for instance 0 when there is AWS
to ask: sync.accounts, sync.endpoint, or an s3 source without an endpoint)
runs beside it: at start and every sync.interval (default 1h) it describes
the VPCs, subnets, interfaces, instances and zones of each account and region
from the EC2 API and writes their names as vpcflow_entity_info series
(docs/names.md); an account and region that first shows in the records stored
is synced within a minute, a failed one again after 5 minutes. It never holds
up the flow logs: a failure is logged (a missing permission named) and shown
on /metrics (vpcflow_sync_*). run --once does not sync: use "sync --once".
Every minute (and at the end of --once) it also writes the collector's status
of each VPC (enabled, unresourced, disabled_limit, ...) as
vpcflow_exporter_collector_status series: the exporters report's
collector_status column.

The status server (server.listen, default 127.0.0.1:9477) serves /metrics,
/healthz and /api/v1/sources; /healthz fails while the storage fails. Problems
on a source's side go to its source log too (log.source_dir).

SIGHUP reloads the configuration: sources added, removed or changed take
effect after the batch in flight; other changes need a restart (logged).
SIGINT or SIGTERM stops it after the batch in flight is stored and saved (a
second signal, or a minute, stops it at once; the unfinished batches are
replayed by the next run). With --once it exits when everything listed is
stored and saved, with status 0, or with status 1 when the storage stayed
unreachable or failing for --storage-timeout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCollector(cmd.Context(), cmd.ErrOrStderr(), fl)
		},
	}
	cmd.Flags().StringVar(&fl.config, "config", "", "configuration file (YAML; required)")
	cmd.Flags().BoolVar(&fl.once, "once", false, "process what is there now, then exit")
	cmd.Flags().StringVar(&fl.role, "role", roleAll, "what this process does: all, downloader or collector")
	cmd.Flags().DurationVar(&fl.storageTimeout, "storage-timeout", 5*time.Minute,
		"with --once: how long the storage may stay unreachable or failing before run gives up and exits with status 1 (0: wait forever)")
	cmd.Flags().StringVar(&fl.lostState, "lost-state", "",
		"when the ledger and the storage disagree (a state folder or a storage lost): backfill or skip (see the long help); by default run refuses to start")
	cmd.Flags().StringVar(&fl.logFormat, "log-format", "text", "log format: text or json")
	cmd.Flags().StringVar(&fl.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func runCollector(parent context.Context, stderr io.Writer, fl runFlags) error {
	switch fl.role {
	case roleAll, roleDownloader, roleCollector:
	default:
		return fmt.Errorf("--role %q: want all, downloader or collector", fl.role)
	}
	cfg, err := config.Load(fl.config)
	if err != nil {
		return err
	}
	log, closeLog, err := logging.Open(cfg.Log.File, stderr, fl.logFormat, fl.logLevel)
	if err != nil {
		return err
	}
	defer closeLog()
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	ctx, cancelCause := context.WithCancelCause(parent)
	defer cancelCause(nil)
	if fl.role == roleDownloader {
		return runDownloader(ctx, log, cfg, fl)
	}
	if err := collect(ctx, cancelCause, log, cfg, fl); err != nil {
		return &exitError{1, err}
	}
	return nil
}

// collect runs the collector role, or both roles (all): it checks the
// storage and the ledger, then runs the pipeline and the status server until the pipeline ends or a signal stops it.
func collect(ctx context.Context, cancelCause context.CancelCauseFunc, log *slog.Logger, cfg *config.Config, fl runFlags) error {
	sc := cfg.Storage
	sc.Logger = log
	store, err := vmclient.New(sc)
	if err != nil {
		return err
	}
	dur, err := store.WaitReadyTimeout(ctx, fl.storageBound())
	if err != nil {
		return err
	}
	led, err := cfg.OpenLedger()
	if err != nil {
		return err
	}
	defer led.Close()
	logs := pipeline.NewSourceLogs(cfg.Log.SourceDir, cfg.Log.SourceMaxMB, cfg.Log.SourceFiles)
	defer logs.Close()
	sources := buildSources(ctx, log, cfg, logs, fl.role)
	if err := pipeline.GuardSources(ctx, log, led, store, sources, dur.Retention, fl.lostState); err != nil {
		return err
	}
	opts := cfg.Pipeline().Options()
	opts.Logger = log
	opts.Share = cfg.Share()
	// The entity sync's interfaces name pair owners that records alone
	// cannot (docs/pipeline.md): the pipeline reads them, the sync fills them.
	dir := awssync.NewDirectory()
	if cfg.Sync.IsEnabled() && !fl.once {
		opts.Directory = dir
	}
	p, err := pipeline.New(sources, led, store, opts)
	if err != nil {
		return err
	}
	srv := status.New(p, fl.role, version)
	srv.SetStorage(store)
	names := newEntitySync(cfg, store, log, fl.once, p.Exporters, dir) // nil when off
	if names != nil {
		srv.AddMetrics(names.Status())
	}
	if err := srv.Start(ctx, cfg.Server, log); err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	defer srv.SetStopped()
	defer startEntitySync(ctx, names)()
	defer startExporterStatus(ctx, cfg, store, log, p, fl.once)()
	defer lifecycle.StopOnSignals(ctx, log, drainTimeout, p.Stop, func() { cancelCause(nil) })()
	defer lifecycle.OnReload(ctx, log, fl.config, cfg, func(next *config.Config) {
		p.SetSources(buildSources(ctx, log, next, logs, fl.role))
		if names != nil {
			names.SetSources(next.Sources)
		}
	})()

	started := time.Now()
	log.Info("collector started", "sources", len(sources), "state_dir", cfg.StateDir, "once", fl.once, "role", fl.role)
	if fl.once && fl.storageTimeout > 0 {
		go store.WatchFailures(ctx, fl.storageTimeout, cancelCause)
	}
	runErr := p.Run(ctx, fl.once)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	st := p.Stats()
	// written_seconds: from the start to the last batch the storage
	// acknowledged (the rest of the run waits for it to save them).
	var written float64
	if last := st.LastWritten.Load(); last > 0 {
		written = time.Unix(0, last).Sub(started).Seconds()
	}
	log.Info("collector stopped", "objects", st.Objects.Load(), "records", st.Records.Load(), "batches", st.Batches.Load(),
		"series_written", st.Series.Load(), "samples_written", st.Samples.Load(), "quarantined", st.Quarantined.Load(),
		"written_seconds", written, "peak_rss_bytes", procstat.PeakRSS())
	return nil
}

// storageBound bounds how long the storage may stay unreachable: with
// --once, --storage-timeout; else nothing.
func (fl runFlags) storageBound() time.Duration {
	if fl.once {
		return fl.storageTimeout
	}
	return 0
}

// buildSources builds the pipeline's sources for the role: the collector
// role takes what the downloader role spools.
func buildSources(ctx context.Context, log *slog.Logger, cfg *config.Config, logs *pipeline.SourceLogs, role string) []*sourcestate.Source {
	srcs := pipeline.NewSources(ctx, cfg.Sources, cfg.Decode, logs, log)
	if role == roleCollector {
		spool.Take(srcs, cfg.Spool.Dir)
	}
	return srcs
}

// runDownloader runs the downloader role: it copies new objects of the
// enabled sources into the spool folder for a collector-role process, and
// carries out their first runs. It keeps its own ledger
// (<state_dir>/downloader.db) of what it handed over.
func runDownloader(ctx context.Context, log *slog.Logger, cfg *config.Config, fl runFlags) error {
	led, err := cfg.OpenDownloaderLedger()
	if err != nil {
		return &exitError{1, err}
	}
	defer led.Close()
	origins := spool.Origins(ctx, cfg.Sources, log)
	instance := fmt.Sprintf("%d/%d", cfg.Instance.Index, cfg.Instance.Count)
	if err := spool.GuardFirstRuns(ctx, log, led, origins, cfg.Storage, fl.storageBound(), instance, fl.lostState); err != nil {
		return &exitError{1, err}
	}
	d := spool.NewDownloader(origins, led, spool.Options{Config: cfg.Spool, Interval: cfg.Batch.MaxWait, Logger: log, Share: cfg.Share()})
	srv := status.New(d, roleDownloader, version)
	if err := srv.Start(ctx, cfg.Server, log); err != nil {
		return &exitError{1, fmt.Errorf("server.listen: %w", err)}
	}
	defer srv.SetStopped()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log.Info("downloader started", "sources", len(origins), "spool", cfg.Spool.Dir, "max_bytes", cfg.Spool.MaxBytes, "once", fl.once)
	err = d.Run(ctx, fl.once)
	st := d.Stats()
	log.Info("downloader stopped", "objects", st.Objects.Load(), "bytes", st.ReadBytes.Load())
	if err != nil && !errors.Is(err, context.Canceled) {
		return &exitError{1, err}
	}
	return nil
}
