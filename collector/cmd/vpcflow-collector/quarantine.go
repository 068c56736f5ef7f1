package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

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
			return quarantineList(cmd.OutOrStdout(), fl)
		},
	}
	retry := &cobra.Command{
		Use:   "retry --config FILE [--source NAME] (--all | KEY...)",
		Short: "Release quarantined objects so that they are ingested again",
		RunE: func(cmd *cobra.Command, keys []string) error {
			if fl.all == (len(keys) > 0) {
				return errors.New("give the keys to retry, or --all")
			}
			return quarantineRetry(cmd.OutOrStdout(), fl, keys)
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

// quarantined opens the ledger of the configuration and reads its
// quarantined objects (of --source, or all).
func quarantined(fl quarantineFlags) (*ledger.Ledger, []ledger.Record, error) {
	cfg, err := config.Load(fl.config)
	if err != nil {
		return nil, nil, err
	}
	led, err := openLedger(cfg, cfg.LedgerPath(), cfg.LedgerOptions())
	if err != nil {
		return nil, nil, &exitError{1, err}
	}
	recs, err := led.Quarantined(fl.source)
	if err != nil {
		led.Close()
		return nil, nil, &exitError{1, err}
	}
	return led, recs, nil
}

func quarantineList(w io.Writer, fl quarantineFlags) error {
	led, recs, err := quarantined(fl)
	if err != nil {
		return err
	}
	defer led.Close()
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if fl.json {
			_ = enc.Encode(map[string]any{"source": r.Source, "key": r.Key, "version": r.Version, "at": r.At.UTC().Format(time.RFC3339), "reason": r.Reason})
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Source, r.Key, r.At.UTC().Format(time.RFC3339), r.Reason)
	}
	if !fl.json {
		fmt.Fprintf(w, "%d quarantined\n", len(recs))
	}
	return nil
}

func quarantineRetry(w io.Writer, fl quarantineFlags, keys []string) error {
	led, recs, err := quarantined(fl)
	if err != nil {
		return err
	}
	defer led.Close()
	want := map[string]bool{} // key → found
	for _, k := range keys {
		want[k] = false
	}
	released := 0
	for _, r := range recs {
		if _, asked := want[r.Key]; !fl.all && !asked {
			continue
		}
		if err := led.Release(r.Source, r.Key); err != nil {
			return &exitError{1, err}
		}
		want[r.Key] = true // every source's object of that key is released
		released++
	}
	fmt.Fprintf(w, "%d released: the next run ingests them again\n", released)
	var missing []string
	for k, found := range want {
		if !found {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return &exitError{1, fmt.Errorf("not quarantined: %s", strings.Join(missing, ", "))}
	}
	return nil
}
