package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
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
restart sends the batches it may have lost back to be written again. A
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

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
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
	logOut := stderr
	if cfg.Log.File != "" {
		f, err := os.OpenFile(cfg.Log.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("log.file: %w", err)
		}
		defer f.Close()
		logOut = f
	}
	log, err := newLogger(logOut, fl.logFormat, fl.logLevel)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	if parent == nil {
		parent = context.Background()
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
	store, err := newStorage(cfg, log)
	if err != nil {
		return err
	}
	dur, err := waitForStorage(ctx, store, fl)
	if err != nil {
		return err
	}
	led, err := openLedger(cfg, cfg.LedgerPath(), cfg.LedgerOptions())
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
	p, err := pipeline.New(sources, led, store, opts)
	if err != nil {
		return err
	}
	srv := status.New(p, fl.role, version)
	srv.SetStorage(store)
	if err := srv.Start(ctx, cfg.Server, log); err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	defer srv.SetStopped()
	defer stopOnSignals(ctx, log, p.Stop, func() { cancelCause(nil) })()
	defer onReload(ctx, log, fl.config, cfg, func(next *config.Config) {
		p.SetSources(buildSources(ctx, log, next, logs, fl.role))
	})()

	log.Info("collector started", "sources", len(sources), "state_dir", cfg.StateDir, "once", fl.once, "role", fl.role)
	if fl.once && fl.storageTimeout > 0 {
		go watchStorage(ctx, cancelCause, store, fl.storageTimeout)
	}
	runErr := p.Run(ctx, fl.once)
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	st := p.Stats()
	log.Info("collector stopped", "objects", st.Objects.Load(), "records", st.Records.Load(), "batches", st.Batches.Load(),
		"series_written", st.Series.Load(), "samples_written", st.Samples.Load(), "quarantined", st.Quarantined.Load(),
		"peak_rss_bytes", peakRSS())
	return nil
}

// stopOnSignals makes SIGINT or SIGTERM call drain (stop after the batch
// in flight), and a second signal, or drainTimeout later, stopNow.
func stopOnSignals(ctx context.Context, log *slog.Logger, drain, stopNow func()) (stop func()) {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			log.Info("stopping after the batch in flight", "signal", sig.String())
			drain()
		}
		select {
		case <-ctx.Done():
		case <-signals:
			log.Warn("stopping now; the batch in flight will be replayed by the next run")
			stopNow()
		case <-time.After(drainTimeout):
			log.Warn("the batch in flight did not finish in time; it will be replayed by the next run")
			stopNow()
		}
	}()
	return func() { signal.Stop(signals) }
}

// onReload calls apply with the new configuration on every SIGHUP, once it
// loaded and checked; a bad file is logged and the running configuration
// kept. Changes outside sources are logged as needing a restart.
func onReload(ctx context.Context, log *slog.Logger, path string, cur *config.Config, apply func(*config.Config)) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-hup:
			}
			next, err := config.Load(path)
			if err != nil {
				log.Error("configuration not reloaded: the running one is kept", "err", err)
				continue
			}
			d := config.Compare(cur, next)
			if len(d.Restart) > 0 {
				log.Warn("configuration changes that take effect only after a restart", "fields", strings.Join(d.Restart, ", "))
			}
			apply(next)
			log.Info("configuration reloaded", "sources", len(next.Sources), "added", d.Added, "removed", d.Removed, "changed", d.Changed)
			cur = next
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}

// newStorage returns the storage client, which logs to log.
func newStorage(cfg *config.Config, log *slog.Logger) (*vmclient.Client, error) {
	sc := cfg.Storage
	sc.Logger = log
	return vmclient.New(sc)
}

// waitForStorage waits until the storage is ready (vmclient.WaitReady):
// with --once, at most --storage-timeout.
func waitForStorage(ctx context.Context, store *vmclient.Client, fl runFlags) (vmclient.Durability, error) {
	var bound time.Duration
	if fl.once {
		bound = fl.storageTimeout
	}
	dur, err := store.WaitReady(ctx, bound)
	var ue *vmclient.UnreachableError
	if errors.As(err, &ue) {
		err = fmt.Errorf("storage %s not reachable for %s (--storage-timeout %s): %w", ue.URL, ue.Waited, bound, ue.Err)
	}
	return dur, err
}

// watchStorage ends a --once run (cancel, with the reason as cause) when
// the storage has been failing for longer than bound.
func watchStorage(ctx context.Context, cancel context.CancelCauseFunc, store *vmclient.Client, bound time.Duration) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if h := store.Health(); !h.Up && time.Since(h.Since) > bound {
			cancel(fmt.Errorf("storage %s failing for %s (--storage-timeout %s; %d failed attempts, last: %s): "+
				"its objects stay in the source, and what was written is written again by the next run",
				store.WriteURL(), time.Since(h.Since).Round(time.Second), bound, h.FailedAttempts, h.LastError))
			return
		}
	}
}

// openLedger opens a ledger of state_dir, creating the folder.
func openLedger(cfg *config.Config, path string, opts ledger.Options) (*ledger.Ledger, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	return ledger.Open(path, opts)
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
