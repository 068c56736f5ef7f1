package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/storage"
)

// drainTimeout is how long a stop signal waits for the batch in flight.
const drainTimeout = time.Minute

type runFlags struct {
	config    string
	once      bool
	logFormat string
	logLevel  string
}

func newRunCmd() *cobra.Command {
	var fl runFlags
	cmd := &cobra.Command{
		Use:   "run --config FILE [--once]",
		Short: "Collect flow logs from every configured source into VictoriaMetrics",
		Long: `Run the collector: list every source of the configuration, decode and
aggregate new flow log objects in batches, write each batch to VictoriaMetrics
exactly once, then delete what is stored (delete_after_ingest).

It first checks that VictoriaMetrics deduplicates at 1 ms
(-dedup.minScrapeInterval=1ms), which the exactly-once scheme needs, and
replays any batch a previous run recorded but did not finish. While
VictoriaMetrics is unreachable it waits and retries: nothing is deleted before
it acknowledged the data.

SIGINT or SIGTERM stops it after the batch in flight is stored (a second
signal, or a minute, stops it at once; the unfinished batch is replayed by the
next run). With --once it exits when everything listed is stored, with status 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCollector(cmd.Context(), cmd.ErrOrStderr(), fl)
		},
	}
	cmd.Flags().StringVar(&fl.config, "config", "", "configuration file (YAML; required)")
	cmd.Flags().BoolVar(&fl.once, "once", false, "process what is there now, then exit")
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
	log, err := newLogger(stderr, fl.logFormat, fl.logLevel)
	if err != nil {
		return err
	}
	cfg, err := config.Load(fl.config)
	if err != nil {
		return err
	}
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	store, err := newStorage(cfg)
	if err != nil {
		return &exitError{1, err}
	}
	if err := waitForStorage(ctx, log, store, cfg.Storage.SkipDedupCheck); err != nil {
		return &exitError{1, err}
	}
	led, err := openLedger(cfg)
	if err != nil {
		return &exitError{1, err}
	}
	defer led.Close()
	sources, err := newSources(cfg)
	if err != nil {
		return &exitError{1, err}
	}
	p, err := pipeline.New(sources, led, store, pipeline.Options{
		TopK: cfg.Aggregation.TopK, MaxObjects: cfg.Batch.MaxObjects, MaxBytes: cfg.Batch.MaxBytes, MaxWait: cfg.Batch.MaxWait, Logger: log,
	})
	if err != nil {
		return &exitError{1, err}
	}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	go func() {
		select {
		case <-ctx.Done():
			return
		case sig := <-signals:
			log.Info("stopping after the batch in flight", "signal", sig.String())
			p.Stop()
		}
		select {
		case <-ctx.Done():
		case <-signals:
			log.Warn("stopping now; the batch in flight will be replayed by the next run")
			cancel()
		case <-time.After(drainTimeout):
			log.Warn("the batch in flight did not finish in time; it will be replayed by the next run")
			cancel()
		}
	}()

	log.Info("collector started", "sources", len(sources), "state_dir", cfg.StateDir, "once", fl.once)
	if err := p.Run(ctx, fl.once); err != nil && !errors.Is(err, context.Canceled) {
		return &exitError{1, err}
	}
	st := p.Stats()
	log.Info("collector stopped", "objects", st.Objects.Load(), "records", st.Records.Load(), "batches", st.Batches.Load(),
		"series_written", st.Series.Load(), "samples_written", st.Samples.Load(), "quarantined", st.Quarantined.Load(),
		"peak_rss_bytes", peakRSS())
	return nil
}

// newStorage builds the storage client, resolving the secrets.
func newStorage(cfg *config.Config) (*storage.Client, error) {
	s := cfg.Storage
	password, err := s.Password.Resolve()
	if err != nil {
		return nil, fmt.Errorf("storage.password: %w", err)
	}
	bearer, err := s.Bearer.Resolve()
	if err != nil {
		return nil, fmt.Errorf("storage.bearer_token: %w", err)
	}
	sc := storage.Config{
		URL:      s.URL,
		Username: s.Username, Password: password, BearerToken: bearer,
		TLS: storage.TLS{CAFile: s.TLS.CAFile, CertFile: s.TLS.CertFile, KeyFile: s.TLS.KeyFile,
			ServerName: s.TLS.ServerName, InsecureSkipVerify: s.TLS.InsecureSkipVerify},
		Timeout: s.Timeout,
	}
	if s.WriteURL != "" {
		sc.WriteURL, sc.QueryURL = s.ClusterWriteURL(), s.ClusterQueryURL()
	}
	return storage.New(sc)
}

// waitForStorage checks the storage's dedup setting, waiting while the
// storage cannot be reached.
func waitForStorage(ctx context.Context, log *slog.Logger, store *storage.Client, skipCheck bool) error {
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		err := store.Ping(ctx)
		if err == nil {
			err = store.CheckDedup(ctx)
			if err == nil {
				return nil
			}
			var unknown *storage.DedupUnknownError
			if errors.As(err, &unknown) && skipCheck {
				log.Warn("storage dedup setting not checked (skip_dedup_check)", "err", err)
				return nil
			}
			return err
		}
		log.Warn("storage not reachable, waiting", "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func openLedger(cfg *config.Config) (*ledger.Ledger, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	return ledger.Open(ledgerPath(cfg), ledger.Options{Instance: cfg.Instance.Index, Instances: cfg.Instance.Count})
}

func ledgerPath(cfg *config.Config) string { return filepath.Join(cfg.StateDir, "ledger.db") }

func newSources(cfg *config.Config) ([]*pipeline.Source, error) {
	var out []*pipeline.Source
	for i, s := range cfg.Sources {
		opts := decode.Options{}
		if s.Format != "" {
			f, err := flowlog.ParseFormat(s.Format)
			if err != nil {
				return nil, fmt.Errorf("sources[%d].format: %w", i, err)
			}
			opts.Format = f
		}
		var src source.Source
		switch s.Type {
		case "dir":
			src = source.NewDir(s.Name, s.Path)
		default:
			return nil, fmt.Errorf("sources[%d].type: %q is not supported", i, s.Type)
		}
		out = append(out, &pipeline.Source{Source: src, Delete: s.Deletes(), Decode: opts, Account: s.Account, Region: s.Region})
	}
	return out, nil
}
