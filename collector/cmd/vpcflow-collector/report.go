package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
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
	vmURL      string
	username   string
	from, to   string
	metric     string
	mode       string
	top        int
	filters    []string
	output     string
	list       bool
	timeout    time.Duration
	concurrent int
}

func newReportCmd() *cobra.Command {
	var fl reportFlags
	cmd := &cobra.Command{
		Use:   "report ID --vm-url URL [--from T] [--to T] [--metric M] [--top N] [--filter F]... [--output table|json|csv]",
		Short: "Print a report (traffic per action, interface, service, …) from VictoriaMetrics",
		Long: `report runs one report of the registry over a time range and prints its rows,
by value descending; values are exact sums over the range.

  report list (or report --list)   prints the report IDs, titles and descriptions

Times (--from, --to) are RFC 3339 (2026-03-01T10:00:00Z), Unix seconds, now,
or now minus a duration (now-6h, now-30m, now-2d). Both ends are rounded down
to the start of their minute (UTC): the range counts the minute --from falls
in, up to but not including the minute --to falls in, so --to now leaves out
the current, incomplete minute.

Filters (--filter, repeatable) are label=value, label!=value, label=~regexp
or label!~regexp on any label of the report's metric family; the value is
taken literally, up to the end of the argument.

--top N keeps the N rows with the largest values and sums the others into
one row whose labels are all "Other"; 0 keeps every row.

VictoriaMetrics: --vm-url is a single node's URL (http://victoria:8428) or
a cluster's vmselect URL with its tenant (http://vmselect:8481/select/0/prometheus).
Basic auth: --vm-username, password from $` + envVMPassword + `; or a bearer
token from $` + envVMBearerToken + `.

JSON output: {"report":ID,"metric":"bytes","from":RFC3339,"to":RFC3339,
"rows":[{"labels":{...},"value":N}]}.`,
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
	f.StringVar(&fl.vmURL, "vm-url", "", "VictoriaMetrics URL: http://victoria:8428, or http://vmselect:8481/select/TENANT/prometheus")
	f.StringVar(&fl.username, "vm-username", "", "basic auth username (the password comes from $"+envVMPassword+")")
	f.StringVar(&fl.from, "from", "now-1h", "start of the range: RFC 3339, Unix seconds, now or now-DURATION; rounded down to the minute")
	f.StringVar(&fl.to, "to", "now", "end of the range (excluded): RFC 3339, Unix seconds, now or now-DURATION; rounded down to the minute")
	f.StringVar(&fl.metric, "metric", "", "bytes, packets or flows (records for log-status); default: the report's, bytes for most")
	f.StringVar(&fl.mode, "mode", "total", "total (sum over the range) or rate (per second)")
	f.IntVar(&fl.top, "top", 0, "keep the N largest rows and sum the rest into Other; 0 keeps all")
	f.StringArrayVar(&fl.filters, "filter", nil, "label=value, label!=value, label=~regexp or label!~regexp (repeatable)")
	f.StringVarP(&fl.output, "output", "o", "table", "table, json or csv")
	f.BoolVar(&fl.list, "list", false, "list the reports")
	f.DurationVar(&fl.timeout, "timeout", 2*time.Minute, "give up after this long")
	f.IntVar(&fl.concurrent, "concurrency", vmclient.DefaultConcurrency, "queries sent to VictoriaMetrics at once")
	return cmd
}

// reportList prints the registry.
func reportList(w io.Writer, output string) error {
	reps := report.Reports()
	switch output {
	case "json":
		type entry struct {
			ID          string   `json:"id"`
			Title       string   `json:"title"`
			Description string   `json:"description"`
			Family      string   `json:"family"`
			GroupBy     []string `json:"group_by"`
			Metrics     []string `json:"metrics"`
		}
		out := make([]entry, len(reps))
		for i, r := range reps {
			ms := make([]string, len(r.Metrics))
			for j, m := range r.Metrics {
				ms[j] = string(m)
			}
			out[i] = entry{r.ID, r.Title, r.Description, r.FamilyDef().Name, r.Columns(), ms}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"id", "title", "description"})
		for _, r := range reps {
			_ = cw.Write([]string{r.ID, r.Title, r.Description})
		}
		cw.Flush()
		return cw.Error()
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTITLE\tDESCRIPTION")
		for _, r := range reps {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Title, r.Description)
		}
		return tw.Flush()
	}
	return fmt.Errorf("--output %q: want table, json or csv", output)
}

// runReport runs one report and prints it. Bad arguments are usage errors
// (exit status 2); a failed query is exit status 1.
func runReport(ctx context.Context, w io.Writer, id string, fl reportFlags) error {
	if _, err := report.Lookup(id); err != nil {
		return err
	}
	switch fl.output {
	case "table", "json", "csv":
	default:
		return fmt.Errorf("--output %q: want table, json or csv", fl.output)
	}
	if fl.vmURL == "" {
		return errors.New("--vm-url is required, e.g. --vm-url http://localhost:8428")
	}
	now := time.Now()
	from, err := report.ParseTime(fl.from, now)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	to, err := report.ParseTime(fl.to, now)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if _, _, err := report.Align(from, to); err != nil {
		return err
	}
	q := report.Query{Report: id, Metric: report.Metric(fl.metric), Mode: report.Mode(fl.mode), Top: fl.top, Format: report.FormatTable}
	for _, s := range fl.filters {
		f, err := report.ParseFilter(s)
		if err != nil {
			return fmt.Errorf("--filter: %w", err)
		}
		q.Filters = append(q.Filters, f)
	}
	if err := q.Validate(); err != nil {
		return err
	}
	e, err := report.New(vmclient.Config{
		URL:         fl.vmURL,
		Username:    fl.username,
		Password:    os.Getenv(envVMPassword),
		BearerToken: os.Getenv(envVMBearerToken),
		Concurrency: fl.concurrent,
	})
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, fl.timeout)
	defer cancel()
	res, err := e.Table(ctx, q, from, to)
	if err != nil {
		return &exitError{1, err}
	}
	if err := printReport(w, fl.output, res); err != nil {
		return &exitError{1, fmt.Errorf("write the report: %w", err)}
	}
	return nil
}

// formatValue prints a value: whole numbers without a fraction or
// exponent.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// printReport prints a table result as table, json or csv.
func printReport(w io.Writer, output string, res *report.Result) error {
	switch output {
	case "json":
		type row struct {
			Labels map[string]string `json:"labels"`
			Value  json.Number       `json:"value"`
		}
		out := struct {
			Report string `json:"report"`
			Metric string `json:"metric"`
			From   string `json:"from"`
			To     string `json:"to"`
			Rows   []row  `json:"rows"`
		}{res.Report.ID, string(res.Metric), res.From.Format(time.RFC3339), res.To.Format(time.RFC3339), make([]row, 0, len(res.Rows))}
		for _, r := range res.Rows {
			out.Rows = append(out.Rows, row{r.Labels, json.Number(formatValue(r.Value))})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "csv":
		unit := string(res.Metric)
		if res.Mode == report.ModeRate {
			unit += "/s"
		}
		cw := csv.NewWriter(w)
		_ = cw.Write(append(slices.Clone(res.Columns), unit))
		for _, r := range res.Rows {
			rec := make([]string, 0, len(res.Columns)+1)
			for _, c := range res.Columns {
				rec = append(rec, r.Labels[c])
			}
			_ = cw.Write(append(rec, formatValue(r.Value)))
		}
		cw.Flush()
		return cw.Error()
	default:
		unit := string(res.Metric)
		if res.Mode == report.ModeRate {
			unit += "/s"
		}
		fmt.Fprintf(w, "%s (%s) — %s, %s to %s\n", res.Report.Title, res.Report.ID, unit,
			res.From.Format(time.RFC3339), res.To.Format(time.RFC3339))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, c := range res.Columns {
			fmt.Fprintf(tw, "%s\t", strings.ToUpper(c))
		}
		fmt.Fprintf(tw, "%s\t\n", strings.ToUpper(unit))
		for _, r := range res.Rows {
			for _, c := range res.Columns {
				fmt.Fprintf(tw, "%s\t", r.Labels[c])
			}
			fmt.Fprintf(tw, "%s\t\n", formatValue(r.Value))
		}
		if len(res.Rows) == 0 {
			fmt.Fprintln(tw, "(no data in the range)\t")
		}
		fmt.Fprintf(tw, "%s\t", "TOTAL")
		for range len(res.Columns) - 1 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprintf(tw, "%s\t\n", formatValue(res.Total))
		return tw.Flush()
	}
}
