package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/storage"
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

For a dir source: the folder can be read and written. For the storage: it
answers and deduplicates at 1 ms.

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
	found := false
	for _, s := range cfg.Sources {
		if only != "" && s.Name != only {
			continue
		}
		found = true
		switch s.Type {
		case "s3":
			src, err := newSource(ctx, cfg, s, roleAll)
			if err != nil {
				line(s.Name, source.Check{Name: source.CheckCredentials, Result: source.CheckFail, Detail: err.Error()})
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			for _, c := range src.(*source.S3).Check(cctx, source.CheckOptions{KeepObjects: !s.Deletes()}) {
				line(s.Name, c)
			}
			cancel()
		case "dir":
			line(s.Name, checkDir(s.Path))
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

// checkDir checks that a dir source's folder can be read and written.
func checkDir(path string) source.Check {
	c := source.Check{Name: "folder", Result: source.CheckPass, Detail: path + " can be read and written"}
	if _, err := os.ReadDir(path); err != nil {
		c.Result, c.Detail = source.CheckFail, fmt.Sprintf("read %s: %v", path, err)
		return c
	}
	f, err := os.CreateTemp(path, ".vpcflow-access-check-*")
	if err != nil {
		c.Result, c.Detail = source.CheckFail, fmt.Sprintf("write %s: %v (objects cannot be deleted after ingest)", path, err)
		return c
	}
	f.Close()
	os.Remove(f.Name())
	return c
}

// checkStorage checks that the storage answers and deduplicates at 1 ms.
func checkStorage(ctx context.Context, cfg *config.Config) source.Check {
	c := source.Check{Name: "reachable-dedup", Result: source.CheckPass}
	store, err := newStorage(cfg)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err = store.Ping(sctx); err == nil {
			err = store.CheckDedup(sctx)
		}
	}
	var unknown *storage.DedupUnknownError
	switch {
	case errors.As(err, &unknown):
		c.Result, c.Detail = source.CheckWarn, err.Error()
	case err != nil:
		c.Result, c.Detail = source.CheckFail, err.Error()
	default:
		c.Detail = "VictoriaMetrics answers and deduplicates at 1 ms"
	}
	return c
}
