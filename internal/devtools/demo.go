package devtools

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Demo generates a realistic day of flow logs under the AWS key layout,
// shows what the decoder makes of them, collects them into a local
// VictoriaMetrics with the collector and prints a few reports from it.
func Demo(ctx context.Context, w io.Writer) error {
	records, err := envInt("VPCFLOW_DEMO_RECORDS", 1_000_000)
	if err != nil {
		return err
	}
	bin, err := cachedCollector(ctx)
	if err != nil {
		return err
	}
	demoDir, err := CacheDir("demo")
	if err != nil {
		return err
	}
	logs := filepath.Join(demoDir, "flowlogs")
	if err := os.RemoveAll(logs); err != nil {
		return err
	}
	// The day ends an hour ago, so that every record is in the past when
	// the reports are asked.
	start := time.Now().UTC().Truncate(time.Hour).Add(-25 * time.Hour)
	fmt.Fprintf(w, "\n== Generating a day of VPC flow logs (%d records, v5 fields) from %s\n\n", records, start.Format(time.RFC3339))
	if err := runTo(ctx, w, bin, "generate", "--out", logs, "--records", strconv.Itoa(records),
		"--format", "v5", "--start", start.Format(time.RFC3339), "--duration", "24h",
		"--vpcs", "3", "--enis", "60"); err != nil {
		return err
	}
	files, err := listFiles(logs)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d objects under the AWS layout, for example:\n", len(files))
	for _, f := range files[:min(3, len(files))] {
		rel, _ := filepath.Rel(logs, f)
		fmt.Fprintf(w, "  %s\n", rel)
	}

	fmt.Fprintf(w, "\n== The first records of %s, decoded\n\n", filepath.Base(files[0]))
	out, err := output(ctx, nil, bin, "decode", files[0])
	if err != nil {
		return err
	}
	lines := strings.SplitN(out, "\n", 4)
	for _, l := range lines[:min(3, len(lines))] {
		fmt.Fprintln(w, l)
	}

	fmt.Fprintf(w, "\n== Decoder summary of the whole day\n\n")
	if err := runTo(ctx, w, bin, append([]string{"decode", "--totals"}, files...)...); err != nil {
		return err
	}

	if err := demoCollect(ctx, w, bin, demoDir, logs); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nThe flow logs stay in %s; decode any of them with\n  %s decode --summary FILE\n", logs, bin)
	return nil
}

// demoCollect runs the collector over the generated day into a local
// VictoriaMetrics and prints what is stored.
func demoCollect(ctx context.Context, w io.Writer, bin, demoDir, logs string) error {
	fmt.Fprintf(w, "\n== Collecting the day into VictoriaMetrics (vpcflow-collector run --once)\n\n")
	vmDir, state := filepath.Join(demoDir, "vm"), filepath.Join(demoDir, "state")
	for _, d := range []string{vmDir, state} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	url, _, stop, err := startVM(ctx, vmDir)
	if err != nil {
		return err
	}
	defer stop()
	config := filepath.Join(demoDir, "collector.yaml")
	cfg := fmt.Sprintf(`# Written by go tool mage demo.
state_dir: %s
storage:
  url: %s
server:
  listen: 127.0.0.1:0   # a free port: the log says which
sources:
  - name: demo
    type: dir
    path: %s
    delete_after_ingest: false   # keep the demo's files
`, state, url, logs)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "VictoriaMetrics at %s, configuration %s\n\n", url, config)
	cmd := exec.CommandContext(ctx, bin, "run", "--config", config, "--once")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("collector run: %w", err)
	}
	if _, err := http.Get(url + "/internal/force_flush"); err != nil {
		return err
	}

	const window = "[26h]"
	queries := []struct {
		title, expr string
		labels      []string
	}{
		{"Traffic by action", `sum by (action) (sum_over_time(vpcflow_interface_bytes` + window + `))`, []string{"action"}},
		{"Top 5 interfaces by bytes", `topk(5, sum by (vpc_id, interface_id) (sum_over_time(vpcflow_interface_bytes` + window + `)))`, []string{"vpc_id", "interface_id"}},
		{"Rejected flows per VPC", `sum by (vpc_id) (sum_over_time(vpcflow_interface_flows{action="REJECT"}` + window + `))`, []string{"vpc_id"}},
		{"Top 5 rejected sources", `topk(5, sum by (src_addr) (sum_over_time(vpcflow_src_flows{action="REJECT"}` + window + `)))`, []string{"src_addr"}},
		{"Top 5 applications by bytes", `topk(5, sum by (protocol, port) (sum_over_time(vpcflow_app_bytes` + window + `)))`, []string{"protocol", "port"}},
		{"Traffic by AWS service (destination)", `sum by (dst_service) (sum_over_time(vpcflow_service_bytes` + window + `))`, []string{"dst_service"}},
		{"Records per log status", `sum by (log_status) (sum_over_time(vpcflow_status_records` + window + `))`, []string{"log_status"}},
	}
	for _, q := range queries {
		rows, err := instantQuery(ctx, url, q.expr)
		if err != nil {
			return fmt.Errorf("%s: %w", q.title, err)
		}
		fmt.Fprintf(w, "\n%s\n", q.title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, r := range rows {
			var cells []string
			for _, l := range q.labels {
				cells = append(cells, r.labels[l])
			}
			fmt.Fprintf(tw, "  %s\t%.0f\n", strings.Join(cells, "\t"), r.value)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nThe reports of the Grafana plugin come next; VictoriaMetrics' data stays in %s.\n", vmDir)
	return nil
}

// queryRow is one series of an instant query's answer.
type queryRow struct {
	labels map[string]string
	value  float64
}

// instantQuery runs a MetricsQL query now and returns the rows, largest
// first.
func instantQuery(ctx context.Context, base, expr string) ([]queryRow, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+neturl.QueryEscape(expr), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", expr, body.Error)
	}
	rows := make([]queryRow, 0, len(body.Data.Result))
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, _ := strconv.ParseFloat(s, 64)
		rows = append(rows, queryRow{labels: r.Metric, value: v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].value > rows[j].value })
	return rows, nil
}

// runTo runs a command with its standard output going to w.
func runTo(ctx context.Context, w io.Writer, name string, args ...string) error {
	out, err := output(ctx, nil, name, args...)
	fmt.Fprint(w, out)
	return err
}
