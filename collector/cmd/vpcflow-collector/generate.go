package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
)

// generateFlags are the generate command's flags that are not
// generate.Config's own.
type generateFlags struct {
	out, format, start string
}

func newGenerateCmd() *cobra.Command {
	var fl generateFlags
	var cfg generate.Config
	cmd := &cobra.Command{
		Use:   "generate --out DIR --records N [flags]",
		Short: "Write realistic synthetic flow log objects under the AWS key layout",
		Long: `Write realistic synthetic VPC flow log objects under DIR, laid out as AWS
delivers them to S3 (AWSLogs/{account}/vpcflowlogs/{region}/yyyy/MM/dd/…, or the
Hive-compatible layout with --hive): one object per VPC per 5 minutes, gzip
text with a header line by default, plain text with --plain, Parquet with
--parquet.

The traffic looks like real VPCs: skewed interface activity, intra-VPC
client/server pairs logged at both interfaces in both directions, internet and
NAT egress, AWS-service peers, internet scanners (mostly rejected), NODATA and
SKIPDATA lines, 60 s and 600 s aggregation windows. The output is the same for
the same flags (--seed and --start included).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := fl.complete(&cfg); err != nil {
				return err
			}
			began := time.Now()
			sum, err := generate.Generate(cfg, generate.Dir(fl.out))
			if err != nil {
				return &exitError{1, err}
			}
			sum.WriteText(cmd.OutOrStdout(), fl.out, cfg, time.Since(began))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.out, "out", "", "folder to write the objects under (required)")
	f.IntVar(&cfg.Records, "records", 0, "number of records to write (required)")
	f.Int64Var(&cfg.Seed, "seed", 1, "seed of the random data")
	f.StringVar(&fl.format, "format", "v2", "fields to write: v2 … v8 (every field up to that version) or field names separated by spaces or commas")
	f.BoolVar(&cfg.Parquet, "parquet", false, "write Parquet objects (.log.parquet)")
	f.BoolVar(&cfg.Plain, "plain", false, "write text without gzip (.log)")
	f.BoolVar(&cfg.Hive, "hive", false, "use the Hive-compatible key layout")
	f.StringVar(&fl.start, "start", "", "start of the data: RFC 3339 or Unix seconds (default: the start of the current hour minus --duration)")
	f.DurationVar(&cfg.Duration, "duration", generate.DefaultDuration, "time span of the data")
	f.IntVar(&cfg.ENIs, "enis", generate.DefaultENIs, "number of network interfaces")
	f.IntVar(&cfg.VPCs, "vpcs", generate.DefaultVPCs, "number of VPCs (one flow log each)")
	f.IntVar(&cfg.Accounts, "accounts", generate.DefaultAccounts, "number of AWS accounts the VPCs belong to")
	f.StringVar(&cfg.Region, "region", generate.DefaultRegion, "AWS region")
	_ = cmd.MarkFlagRequired("out")
	_ = cmd.MarkFlagRequired("records")
	return cmd
}

// complete checks cfg and completes it from the flags that are not its
// own.
func (fl *generateFlags) complete(cfg *generate.Config) error {
	if cfg.Records <= 0 {
		return errors.New("--records must be positive")
	}
	if cfg.Parquet && cfg.Plain {
		return errors.New("--parquet and --plain exclude each other")
	}
	var err error
	if cfg.Format, err = flowlog.ParseFormat(fl.format); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if cfg.Duration <= 0 {
		return errors.New("--duration must be positive")
	}
	cfg.Start = time.Now().UTC().Truncate(time.Hour).Add(-cfg.Duration)
	if fl.start != "" {
		if cfg.Start, err = generate.ParseStart(fl.start); err != nil {
			return fmt.Errorf("--start: %w", err)
		}
	}
	return nil
}
