package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/preflight"
	"github.com/vpcflow/vpcflow/collector/source"
)

func newTestCmd() *cobra.Command {
	var configPath, only string
	var skipStorage bool
	cmd := &cobra.Command{
		Use:   "test --config FILE [--source NAME]",
		Short: "Test access to each source's bucket, the entity sync's EC2 permissions and the storage",
		Long: `Test what the collector needs, one line per check, PASS, WARN, SKIP or FAIL:

For each s3 source: the credentials resolve; the bucket answers in its region;
listing, reading and deleting are allowed (delete is tried on a marker object
the test writes itself); versioning is off (with versioning, deleted logs pile
up as old versions); the newest flow log's header has log-status, vpc-id,
interface-id and flow-direction (a WARN names the reports that stay empty
without one); nothing but flow logs is written under the prefix.

For an s3 source with notify, its SQS queue, without losing a message: it
answers, with a redrive policy (queue); receiving is allowed (queue-receive:
a message received is made visible again at once, its receive count one
higher); changing visibility and deleting are allowed (queue-delete, asked
with a receipt handle that is not one, which SQS refuses after the permission
check: no message is touched); the bucket's notification configuration sends
ObjectCreated events to the queue (notification; a WARN when it cannot be
read, or goes through SNS).

For a dir source: the folder can be read and written.

For every source, what its first run will do (first-run): how many objects
(and bytes) a purge would delete now, unread (those last modified longer
ago than purge_older_than; a WARN when there are any), or a backfill
collect. A source whose first run is done, as the ledger in state_dir says,
is reported as such. The test reads the ledger without creating it; while
a collector runs it cannot (the ledger is locked) and says so.

For the entity sync, when it is on (sync section), and each account and region
it would sync now (sync.accounts, or those the s3 sources' flow log folders
show): DryRun requests, which describe nothing, ask whether the credentials
may call ec2:DescribeAvailabilityZones, DescribeVpcs, DescribeSubnets,
DescribeNetworkInterfaces and DescribeInstances. A WARN names each missing
permission and what reports lose without it (the sync still writes what the
others allow); credentials EC2 does not accept, or an endpoint that does not
answer, FAIL.

For the storage: it answers and deduplicates at 1 ms.

The exit status is 1 when any check FAILs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath)
			if err != nil {
				return err
			}
			if only != "" && !slices.ContainsFunc(cfg.Sources, func(s source.Config) bool { return s.Name == only }) {
				return fmt.Errorf("--source %q: no such source in the configuration", only)
			}
			worst, err := preflight.Run(cmd.Context(), cmd.OutOrStdout(), cfg, only, !skipStorage)
			if err != nil {
				return err
			}
			if worst == source.CheckFail {
				return &exitError{1, errors.New("some checks failed")}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file (YAML; required)")
	cmd.Flags().StringVar(&only, "source", "", "test only the source of this name")
	cmd.Flags().BoolVar(&skipStorage, "skip-storage", false, "do not test the storage")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}
