package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/ledger"
)

type quarantineFlags struct {
	config string
	source string
	all    bool
	json   bool
}

func newQuarantineCmd() *cobra.Command {
	var fl quarantineFlags
	cmd := &cobra.Command{
		Use:   "quarantine list|retry --config FILE [--source NAME] [--all | KEY...]",
		Short: "List quarantined objects, or release them to be ingested again",
		Long: `Objects that cannot be decoded to their end (truncated or corrupt gzip,
unreadable Parquet, a header without the fields traffic accounting needs) are
quarantined: recorded in the ledger with the reason, never deleted, never
retried on their own.

  quarantine list            prints them: source, key, when, why
  quarantine retry KEY...    releases those keys (of --source, or of every
                             source): the next listing takes them again
  quarantine retry --all     releases every quarantined object

The ledger is held by a running collector: stop it first.`,
	}
	list := &cobra.Command{
		Use:   "list --config FILE [--source NAME] [--json]",
		Short: "List quarantined objects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withLedger(fl.config, func(led *ledger.Ledger) error {
				recs, err := led.Quarantined(fl.source)
				if err != nil {
					return &exitError{1, err}
				}
				ledger.WriteQuarantined(cmd.OutOrStdout(), recs, fl.json)
				return nil
			})
		},
	}
	retry := &cobra.Command{
		Use:   "retry --config FILE [--source NAME] (--all | KEY...)",
		Short: "Release quarantined objects so that they are ingested again",
		RunE: func(cmd *cobra.Command, keys []string) error {
			if fl.all == (len(keys) > 0) {
				return errors.New("give the keys to retry, or --all")
			}
			return withLedger(fl.config, func(led *ledger.Ledger) error {
				released, missing, err := led.ReleaseQuarantined(fl.source, keys, fl.all)
				if err != nil {
					return &exitError{1, err}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d released: the next run ingests them again\n", released)
				if len(missing) > 0 {
					return &exitError{1, fmt.Errorf("not quarantined: %s", strings.Join(missing, ", "))}
				}
				return nil
			})
		},
	}
	for _, c := range []*cobra.Command{list, retry} {
		c.Flags().StringVar(&fl.config, "config", "", "configuration file (YAML; required)")
		c.Flags().StringVar(&fl.source, "source", "", "only this source")
		_ = c.MarkFlagRequired("config")
	}
	list.Flags().BoolVar(&fl.json, "json", false, "print JSON lines")
	retry.Flags().BoolVar(&fl.all, "all", false, "release every quarantined object (of --source, or of all sources)")
	cmd.AddCommand(list, retry)
	return cmd
}

// withLedger calls fn with the ledger of the configuration at path.
func withLedger(path string, fn func(*ledger.Ledger) error) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	led, err := cfg.OpenLedger()
	if err != nil {
		return &exitError{1, err}
	}
	defer led.Close()
	return fn(led)
}
