package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/vmclient"
)

// Environment variables the report command reads its secrets from, so that
// they stay off the command line.
const (
	envVMPassword    = "VPCFLOW_VM_PASSWORD"
	envVMBearerToken = "VPCFLOW_VM_BEARER_TOKEN"
)

type reportFlags struct {
	report.Request
	vm            vmclient.Config // but its secrets, from the environment
	output        string
	list          bool
	timeout       time.Duration
	names         bool
	namesLookback time.Duration
}

func newReportCmd() *cobra.Command {
	var fl reportFlags
	cmd := &cobra.Command{
		Use:   "report ID --vm-url URL [--from T] [--to T] [--metric M] [--top N] [--filter F]... [--names=false] [--output table|json|csv]",
		Short: "Print a report (traffic per action, interface, service, …) from VictoriaMetrics",
		Long: `report runs one report of the registry over a time range and prints its rows,
by value descending; values are exact sums over the range.

  report list (or report --list)   prints the report IDs, titles and descriptions

Times (--from, --to) are RFC 3339 (2026-03-01T10:00:00Z), Unix seconds, now,
or now minus a duration (now-6h, now-30m, now-2d). Both ends are rounded down
to the step of the data the report reads (UTC): five minutes for the
per-interface and address families (interface, src, dst, app, pair, log
status), a minute for the service reports and for action and vpcs unless
filtered on a label vpcflow_total lacks. The range counts the step --from
falls in, up to but not including the step --to falls in, so --to now leaves
out the current, incomplete step (10:02 to 11:02 reads 10:00 to 11:00 of
five-minute data).

Filters (--filter, repeatable) are label=value, label!=value, label=~regexp
or label!~regexp on any label of the report's metric family; the value is
taken literally, up to the end of the argument. On a label holding ids
(vpc_id, subnet_id, interface_id, src_interface, dst_interface, instance_id,
az_id) the value may be a name: --filter interface_id=web-1 matches every
interface named web-1 at a sync within the range or up to --names-lookback
before it (a renamed one by either name), and a regexp matches ids and
names both (--filter 'interface_id=~web-.*'). An unknown name matches
nothing. This holds with --names=false too.

--top N keeps the N rows with the largest values and sums the others into
one row whose labels are all "Other"; 0 keeps every row.

Names: the ids of VPCs, subnets, interfaces, instances and availability
zones are shown with the names the entity sync wrote (vpcflow_entity_info):
"web-1 (eni-0a1b2c3d4e5f60718)" in the table output. An entity's name is
its newest within the range or up to --names-lookback (the sync interval)
before it, so a renamed interface shows the name it had last in the range
and a deleted one keeps its name over the ranges it existed in. Names never
merge or split rows; an id without a known name is shown alone.
--names=false prints the raw ids only.

VictoriaMetrics: --vm-url is a single node's URL (http://victoria:8428) or
a cluster's vmselect URL with its tenant (http://vmselect:8481/select/0/prometheus).
Basic auth: --vm-username, password from $` + envVMPassword + `; or a bearer
token from $` + envVMBearerToken + `.

JSON output: {"report":ID,"metric":"bytes","from":RFC3339,"to":RFC3339,
"rows":[{"labels":{...},"names":{...},"value":N}]}: labels keep the ids,
names maps each id label to its name where one is known (left out when
none is). CSV output adds a column <label>_name after each id column.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fl.list || (len(args) == 1 && args[0] == "list") {
				return reportList(cmd.OutOrStdout(), fl.output)
			}
			if len(args) == 0 {
				return fmt.Errorf("give a report ID; valid reports: %s", strings.Join(report.IDs(), ", "))
			}
			return runReport(cmd.Context(), cmd.OutOrStdout(), args[0], fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.vm.URL, "vm-url", "", "VictoriaMetrics URL: http://victoria:8428, or http://vmselect:8481/select/TENANT/prometheus")
	f.StringVar(&fl.vm.Username, "vm-username", "", "basic auth username (the password comes from $"+envVMPassword+")")
	f.StringVar(&fl.From, "from", "now-1h", "start of the range: RFC 3339, Unix seconds, now or now-DURATION; rounded down to the data's step (1 or 5 minutes)")
	f.StringVar(&fl.To, "to", "now", "end of the range (excluded): RFC 3339, Unix seconds, now or now-DURATION; rounded down to the data's step (1 or 5 minutes)")
	f.StringVar(&fl.Metric, "metric", "", "bytes, packets or flows (records for log-status); default: the report's, bytes for most")
	f.StringVar(&fl.Mode, "mode", "total", "total (sum over the range) or rate (per second)")
	f.IntVar(&fl.Top, "top", 0, "keep the N largest rows and sum the rest into Other; 0 keeps all")
	f.StringArrayVar(&fl.Filters, "filter", nil, "label=value, label!=value, label=~regexp or label!~regexp (repeatable)")
	f.StringVarP(&fl.output, "output", "o", "table", "table, json or csv")
	f.BoolVar(&fl.list, "list", false, "list the reports")
	f.DurationVar(&fl.timeout, "timeout", 2*time.Minute, "give up after this long")
	f.IntVar(&fl.vm.Concurrency, "concurrency", vmclient.DefaultConcurrency, "queries sent to VictoriaMetrics at once")
	f.BoolVar(&fl.names, "names", true, "show the names of VPCs, subnets, interfaces, instances and zones beside their ids (--names=false: raw ids)")
	f.DurationVar(&fl.namesLookback, "names-lookback", report.DefaultNamesLookback, "how far before --from to look for names, shown and in filters: the entity sync's interval (sync.interval)")
	return cmd
}

// reportList prints the registry.
func reportList(w io.Writer, output string) error {
	if err := report.CheckOutput(output); err != nil {
		return fmt.Errorf("--%w", err)
	}
	return report.WriteList(w, output)
}

// runReport runs one report and prints it. Bad arguments are usage errors
// (exit status 2); a failed query is exit status 1.
func runReport(ctx context.Context, w io.Writer, id string, fl reportFlags) error {
	if _, err := report.Lookup(id); err != nil {
		return err
	}
	if err := report.CheckOutput(fl.output); err != nil {
		return fmt.Errorf("--%w", err)
	}
	if fl.vm.URL == "" {
		return errors.New("--vm-url is required, e.g. --vm-url http://localhost:8428")
	}
	fl.Report = id
	q, from, to, err := fl.Parse(time.Now())
	if err != nil {
		return err
	}
	if fl.namesLookback < 0 {
		return fmt.Errorf("--names-lookback %s: want 0 or more", fl.namesLookback)
	}
	q.Names = fl.names
	fl.vm.Password, fl.vm.BearerToken = os.Getenv(envVMPassword), os.Getenv(envVMBearerToken)
	e, err := report.New(fl.vm, report.WithNamesLookback(fl.namesLookback))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, fl.timeout)
	defer cancel()
	res, err := e.Table(ctx, q, from, to)
	if err != nil {
		return &exitError{1, err}
	}
	if err := report.WriteResult(w, fl.output, res); err != nil {
		return &exitError{1, fmt.Errorf("write the report: %w", err)}
	}
	return nil
}
