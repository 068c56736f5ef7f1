package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
)

type generateFlags struct {
	out      string
	records  int
	seed     int64
	format   string
	parquet  bool
	plain    bool
	hive     bool
	start    string
	duration time.Duration
	enis     int
	vpcs     int
	accounts int
	region   string
}

func newGenerateCmd() *cobra.Command {
	var fl generateFlags
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
			cfg, err := fl.config()
			if err != nil {
				return err
			}
			began := time.Now()
			sum, err := generate.Generate(cfg, generate.Dir(fl.out))
			if err != nil {
				return &exitError{1, err}
			}
			elapsed := time.Since(began)
			fmt.Fprintf(cmd.OutOrStdout(),
				"wrote %d objects under %s: %d records (ok=%d nodata=%d skipdata=%d) describing %.1f GiB in %d packets, %s to %s; %.1f MB stored, in %.1fs\n",
				sum.Objects, fl.out, sum.Records, sum.OK, sum.NoData, sum.SkipData, float64(sum.Bytes)/(1<<30), sum.Packets,
				cfg.Start.Format(time.RFC3339), cfg.Start.Add(cfg.Duration).Format(time.RFC3339),
				float64(sum.StoredBytes)/1e6, elapsed.Seconds())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.out, "out", "", "folder to write the objects under (required)")
	f.IntVar(&fl.records, "records", 0, "number of records to write (required)")
	f.Int64Var(&fl.seed, "seed", 1, "seed of the random data")
	f.StringVar(&fl.format, "format", "v2", "fields to write: v2 … v8 (every field up to that version) or field names separated by spaces or commas")
	f.BoolVar(&fl.parquet, "parquet", false, "write Parquet objects (.log.parquet)")
	f.BoolVar(&fl.plain, "plain", false, "write text without gzip (.log)")
	f.BoolVar(&fl.hive, "hive", false, "use the Hive-compatible key layout")
	f.StringVar(&fl.start, "start", "", "start of the data: RFC 3339 or Unix seconds (default: the start of the current hour minus --duration)")
	f.DurationVar(&fl.duration, "duration", generate.DefaultDuration, "time span of the data")
	f.IntVar(&fl.enis, "enis", generate.DefaultENIs, "number of network interfaces")
	f.IntVar(&fl.vpcs, "vpcs", generate.DefaultVPCs, "number of VPCs (one flow log each)")
	f.IntVar(&fl.accounts, "accounts", generate.DefaultAccounts, "number of AWS accounts the VPCs belong to")
	f.StringVar(&fl.region, "region", generate.DefaultRegion, "AWS region")
	_ = cmd.MarkFlagRequired("out")
	_ = cmd.MarkFlagRequired("records")
	return cmd
}

func (fl *generateFlags) config() (generate.Config, error) {
	if fl.records <= 0 {
		return generate.Config{}, errors.New("--records must be positive")
	}
	if fl.parquet && fl.plain {
		return generate.Config{}, errors.New("--parquet and --plain exclude each other")
	}
	format, err := flowlog.ParseFormat(fl.format)
	if err != nil {
		return generate.Config{}, fmt.Errorf("--format: %w", err)
	}
	if fl.duration <= 0 {
		return generate.Config{}, errors.New("--duration must be positive")
	}
	start := time.Now().UTC().Truncate(time.Hour).Add(-fl.duration)
	if fl.start != "" {
		if start, err = parseTime(fl.start); err != nil {
			return generate.Config{}, fmt.Errorf("--start: %w", err)
		}
	}
	return generate.Config{
		Records: fl.records, Seed: fl.seed, Format: format,
		Parquet: fl.parquet, Plain: fl.plain, Hive: fl.hive,
		Start: start, Duration: fl.duration,
		ENIs: fl.enis, VPCs: fl.vpcs, Accounts: fl.accounts, Region: fl.region,
	}, nil
}

// parseTime reads an RFC 3339 time or Unix seconds.
func parseTime(s string) (time.Time, error) {
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(sec, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2026-01-02T15:04:05Z) nor Unix seconds", s)
	}
	return t.UTC(), nil
}
