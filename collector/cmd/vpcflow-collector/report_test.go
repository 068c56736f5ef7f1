package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/apptest"
	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

func TestReportList(t *testing.T) {
	for _, args := range [][]string{{"report", "list"}, {"report", "--list"}} {
		stdout, stderr, code := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, r := range report.Reports() {
			if !strings.Contains(stdout, r.ID) || !strings.Contains(stdout, r.Title) || !strings.Contains(stdout, r.Description) {
				t.Errorf("%v: %s missing:\n%s", args, r.ID, stdout)
			}
		}
	}
	stdout, _, code := runCLI(t, "report", "list", "--output", "json")
	var list []struct{ ID, Title string }
	if err := json.Unmarshal([]byte(stdout), &list); code != 0 || err != nil || len(list) != len(report.Reports()) {
		t.Errorf("report list --output json: exit %d, %v, %d entries", code, err, len(list))
	}
}

func TestReportUsageErrors(t *testing.T) {
	f := func(want string, args ...string) {
		t.Helper()
		_, stderr, code := runCLI(t, append([]string{"report"}, args...)...)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("report %q: exit %d, stderr %q; want 2 and %q", args, code, stderr, want)
		}
	}
	f(`unknown report "nope"; valid reports: action, action-interface, action-interface-dst`, "nope", "--vm-url", "http://127.0.0.1:1")
	f("give a report ID; valid reports: action,")
	f("--vm-url is required", "action")
	f(`--from: time "yesterday"`, "action", "--vm-url", "http://x", "--from", "yesterday")
	f("holds no whole minute", "action", "--vm-url", "http://x", "--from", "2026-03-01T10:00:10Z", "--to", "2026-03-01T10:00:50Z")
	f("holds no whole 5-minute step", "interface", "--vm-url", "http://x", "--from", "2026-03-01T10:01:00Z", "--to", "2026-03-01T10:04:00Z")
	f("holds no whole 5-minute step", "action", "--vm-url", "http://x", "--from", "2026-03-01T10:01:00Z", "--to", "2026-03-01T10:04:00Z", "--filter", "subnet_id=subnet-1")
	f(`unknown metric "bits"`, "action", "--vm-url", "http://x", "--metric", "bits")
	f(`cannot filter on label "src_addr"; valid labels: account_id, region, vpc_id,`, "action", "--vm-url", "http://x", "--filter", "src_addr=1.2.3.4")
	f(`--filter: filter "vpc"`, "action", "--vm-url", "http://x", "--filter", "vpc")
	f(`--output "xml"`, "action", "--vm-url", "http://x", "--output", "xml")
	f("credentials in the URL are not allowed", "action", "--vm-url", "http://u:hunter2@x")
}

// TestReportUnreachable names the URL and what failed, and not the
// password.
func TestReportUnreachable(t *testing.T) {
	t.Setenv(envVMPassword, "hunter2-pass")
	_, stderr, code := runCLI(t, "report", "action", "--vm-url", "http://127.0.0.1:1", "--vm-username", "me")
	if code != 1 || !strings.Contains(stderr, "cannot reach VictoriaMetrics at http://127.0.0.1:1") || !strings.Contains(stderr, "connection refused") || strings.Contains(stderr, "hunter2") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestReportCommand loads generated flow logs and runs every report
// through the command, comparing its JSON with the ground truth; then the
// other outputs, top N, filters and a sub-range.
func TestReportCommand(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	v8, err := flowlog.ParseFormat("v8")
	if err != nil {
		t.Fatal(err)
	}
	ds := reporttest.Load(t, vm, reporttest.Options{
		Generate: generate.Config{Records: 8000, Seed: 12, Duration: 40 * time.Minute, ENIs: 20, VPCs: 2, Format: v8},
	})
	from, to := ds.From.Format(time.RFC3339), strconv.FormatInt(ds.To.Unix(), 10) // both time syntaxes
	run := func(t *testing.T, args ...string) apptest.ReportJSON {
		t.Helper()
		stdout, stderr, code := runCLI(t, append([]string{"report", "--vm-url", vm.URL, "--from", from, "--to", to, "--output", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("report %v: exit %d: %s", args, code, stderr)
		}
		var out apptest.ReportJSON
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("report %v: %v\n%s", args, err, stdout)
		}
		if len(out.Rows) > 0 && (!strings.Contains(stdout, `"value": `) || strings.Contains(stdout, "e+")) {
			t.Errorf("report %v: values are not plain integers:\n%s", args, stdout)
		}
		return out
	}
	rowsOf := func(t *testing.T, rep report.Report, out apptest.ReportJSON) map[string]float64 {
		t.Helper()
		got := map[string]float64{}
		prev := math.Inf(1)
		for _, r := range out.Rows {
			if len(r.Labels) != len(rep.Columns()) {
				t.Errorf("%s: row labels %v, want the columns %v", rep.ID, r.Labels, rep.Columns())
			}
			v, err := strconv.ParseInt(string(r.Value), 10, 64)
			if err != nil {
				t.Errorf("%s: value %s is not an integer", rep.ID, r.Value)
			}
			if float64(v) > prev {
				t.Errorf("%s: rows not by value descending", rep.ID)
			}
			prev = float64(v)
			got[reporttest.Key(r.Labels, rep.Columns())] = float64(v)
		}
		return got
	}
	for _, rep := range report.Reports() {
		for _, m := range rep.Metrics {
			out := run(t, rep.ID, "--metric", string(m))
			if out.Report != rep.ID || out.Metric != string(m) || out.From != ds.From.Format(time.RFC3339) || out.To != ds.To.Format(time.RFC3339) {
				t.Errorf("%s: header %s %s %s %s", rep.ID, out.Report, out.Metric, out.From, out.To)
			}
			want, err := ds.Expected(rep, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffTotals(rowsOf(t, rep, out), want); d != "" {
				t.Errorf("report %s --metric %s differs from the ground truth:\n%s", rep.ID, m, d)
			}
		}
		if len(run(t, rep.ID).Rows) == 0 {
			t.Errorf("%s: no rows with the default metric", rep.ID)
		}
	}

	// Top N: N rows and Other add up to the total.
	rep, _ := report.Lookup(report.ReportTopSources)
	want, _ := ds.Expected(rep, report.MetricBytes, nil)
	total := 0.0
	for _, v := range want {
		total += v
	}
	out := run(t, rep.ID, "--top", "5")
	got := rowsOf(t, rep, out)
	if len(out.Rows) != 6 || got["Other"] == 0 {
		t.Errorf("--top 5: %d rows, Other %v", len(out.Rows), got["Other"])
	}
	sum := 0.0
	for _, v := range got {
		sum += v
	}
	if sum != total {
		t.Errorf("--top 5 rows add up to %v, want %v", sum, total)
	}

	// Filters of every kind.
	rep, _ = report.Lookup(report.ReportActionInterface)
	filters := []report.Filter{{Label: "action", Op: report.OpEqual, Value: "REJECT"}, {Label: "interface_id", Op: report.OpNotMatch, Value: "eni-0[0-7].*"}}
	want, _ = ds.Expected(rep, report.MetricFlows, filters)
	out = run(t, rep.ID, "--metric", "flows", "--filter", "action=REJECT", "--filter", "interface_id!~eni-0[0-7].*")
	if d := diffTotals(rowsOf(t, rep, out), want); d != "" || len(want) == 0 {
		t.Errorf("filters: %d expected\n%s", len(want), d)
	}

	// CSV and table carry the same rows.
	stdout, stderr, code := runCLI(t, "report", "action", "--vm-url", vm.URL, "--from", from, "--to", to, "--output", "csv")
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if code != 0 || err != nil || len(recs) != 3 || strings.Join(recs[0], ",") != "action,bytes" {
		t.Errorf("csv: exit %d %s, %v:\n%s", code, stderr, err, stdout)
	}
	stdout, _, code = runCLI(t, "report", "action", "--vm-url", vm.URL, "--from", from, "--to", to)
	if code != 0 || !strings.Contains(stdout, "Action (action) — bytes") || !strings.Contains(stdout, "ACCEPT") || !strings.Contains(stdout, "TOTAL") {
		t.Errorf("table: exit %d:\n%s", code, stdout)
	}
	t.Logf("table output:\n%s", stdout)

	// Relative times: the data is in the past, so the last hour is empty.
	stdout, _, code = runCLI(t, "report", "action", "--vm-url", vm.URL, "--from", "now-30m", "--to", "now", "--output", "json")
	if code != 0 || !strings.Contains(stdout, `"rows": []`) {
		t.Errorf("now-30m: exit %d:\n%s", code, stdout)
	}
}

// diffTotals lists up to ten differences.
func diffTotals(got, want map[string]float64) string {
	var d []string
	for k, w := range want {
		if got[k] != w {
			d = append(d, fmt.Sprintf("  %s: got %v, want %v", k, got[k], w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("  %s: got %v, want nothing", k, g))
		}
	}
	if len(d) > 10 {
		d = d[:10]
	}
	return strings.Join(d, "\n")
}

// TestReportNames: the report command prints the names of the ids the
// entity sync wrote (awssync.Series): in JSON as "names" beside "labels"
// (none for an id without a name), in the table as "name (id)", in CSV as
// a <label>_name column; --names=false prints raw ids only, and
// --names-lookback says how far before the range a sync counts.
func TestReportNames(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	base := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	const (
		web1, web2, bare = "eni-0000000000000000a", "eni-0000000000000000b", "eni-0000000000000000c"
		vpc, subnet      = "vpc-0a1", "subnet-0a1"
	)
	var series []vmclient.Series
	for i, iface := range []string{web1, web2, bare} {
		series = append(series, reporttest.Series("vpcflow_interface_bytes", schema.Interface,
			map[string]string{"interface_id": iface, "vpc_id": vpc, "subnet_id": subnet, "action": "ACCEPT", "account_id": "111111111111", "region": "us-east-1"},
			vmclient.Sample{Timestamp: base.UnixMilli(), Value: float64(300 - 100*i)}))
	}
	reporttest.Write(t, vm.URL, series...)
	info := awssync.Series(awssync.Result{Region: "us-east-1",
		VPCs:       []awssync.Entity{{Kind: awssync.KindVPC, ID: vpc, Name: "prod"}},
		Subnets:    []awssync.Entity{{Kind: awssync.KindSubnet, ID: subnet, Name: "private a"}},
		Interfaces: []awssync.Entity{{Kind: awssync.KindInterface, ID: web1, Name: "web"}, {Kind: awssync.KindInterface, ID: web2, Name: "web"}, {Kind: awssync.KindInterface, ID: bare}},
	}, "111111111111", base.Add(-30*time.Minute))
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), info); err != nil || len(info) != 5 {
		t.Fatalf("write %d entity info series: %v", len(info), err)
	}
	vm.Flush()
	from, to := base.Format(time.RFC3339), base.Add(5*time.Minute).Format(time.RFC3339)
	cli := func(args ...string) string {
		t.Helper()
		stdout, stderr, code := runCLI(t, append([]string{"report", "--vm-url", vm.URL, "--from", from, "--to", to}, args...)...)
		if code != 0 {
			t.Fatalf("report %v: exit %d: %s", args, code, stderr)
		}
		return stdout
	}
	type row struct {
		Labels map[string]string `json:"labels"`
		Names  map[string]string `json:"names"`
	}
	rows := func(args ...string) []row {
		t.Helper()
		var out struct{ Rows []row }
		if err := json.Unmarshal([]byte(cli(append(args, "--output", "json")...)), &out); err != nil {
			t.Fatal(err)
		}
		return out.Rows
	}
	f := func(want string, args ...string) {
		t.Helper()
		got := rows(args...)
		var b strings.Builder
		for _, r := range got {
			fmt.Fprintf(&b, "%v %v;", r.Labels, r.Names)
		}
		if b.String() != want {
			t.Errorf("report %v:\n%s\nwant\n%s", args, b.String(), want)
		}
	}
	// Two interfaces of one name are two rows; one without a name has none.
	f("map[interface_id:eni-0000000000000000a] map[interface_id:web];map[interface_id:eni-0000000000000000b] map[interface_id:web];map[interface_id:eni-0000000000000000c] map[];", "interface")
	f("map[subnet_id:subnet-0a1 vpc_id:vpc-0a1] map[subnet_id:private a vpc_id:prod];", "subnets")
	f("map[interface_id:eni-0000000000000000a] map[];map[interface_id:eni-0000000000000000b] map[];map[interface_id:eni-0000000000000000c] map[];", "interface", "--names=false")
	// The sync was half an hour before the range: none with a lookback of 20 minutes.
	f("map[interface_id:eni-0000000000000000a] map[];map[interface_id:eni-0000000000000000b] map[];map[interface_id:eni-0000000000000000c] map[];", "interface", "--names-lookback", "20m")
	f("map[account_id:111111111111 region:us-east-1 vpc_id:vpc-0a1] map[vpc_id:prod];", "vpcs", "--names-lookback", "40m")

	if out := cli("interface", "--names=false", "--output", "json"); strings.Contains(out, `"names"`) {
		t.Errorf("--names=false prints names:\n%s", out)
	}
	if out := cli("interface", "--output", "json"); !strings.Contains(out, `"labels": {
        "interface_id": "eni-0000000000000000a"
      },
      "names": {
        "interface_id": "web"
      },
      "value": 300`) {
		t.Errorf("json: labels, names and value in this order:\n%s", out)
	}
	table := cli("subnets")
	if !strings.Contains(table, "prod (vpc-0a1)  private a (subnet-0a1)  600") {
		t.Errorf("table:\n%s", table)
	}
	t.Logf("table output:\n%s", table)
	if out := cli("interface", "--output", "csv"); out != "interface_id,interface_id_name,bytes\neni-0000000000000000a,web,300\neni-0000000000000000b,web,200\neni-0000000000000000c,,100\n" {
		t.Errorf("csv:\n%s", out)
	}
	if out := cli("subnets", "--names=false"); !strings.Contains(out, "vpc-0a1  subnet-0a1  600") || strings.Contains(out, "prod") {
		t.Errorf("table --names=false:\n%s", out)
	}
	_, stderr, code := runCLI(t, "report", "interface", "--vm-url", vm.URL, "--names-lookback", "-1h")
	if code != 2 || !strings.Contains(stderr, "--names-lookback -1h0m0s: want 0 or more") {
		t.Errorf("negative lookback: exit %d, %s", code, stderr)
	}
}

// TestReportFilterByName: --filter on an id label takes a name: the rows
// of every interface of that name, the others with !=, names and ids with
// a regexp; a VPC by its name; --names=false filters by name too; an
// unknown name prints no rows and exits 0; a name shared by more
// interfaces than a query can list exits 1 saying so.
func TestReportFilterByName(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	base := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	const (
		web1, web2, db, bare = "eni-0000000000000000a", "eni-0000000000000000b", "eni-0000000000000000c", "eni-0000000000000000d"
		vpc                  = "vpc-0a1"
	)
	var series []vmclient.Series
	for i, iface := range []string{web1, web2, db, bare} {
		series = append(series, reporttest.Series("vpcflow_interface_bytes", schema.Interface,
			map[string]string{"interface_id": iface, "vpc_id": vpc, "action": "ACCEPT", "account_id": "111111111111", "region": "us-east-1"},
			vmclient.Sample{Timestamp: base.UnixMilli(), Value: float64(400 - 100*i)}))
	}
	reporttest.Write(t, vm.URL, series...)
	interfaces := []awssync.Entity{{Kind: awssync.KindInterface, ID: web1, Name: "web"}, {Kind: awssync.KindInterface, ID: web2, Name: "web"},
		{Kind: awssync.KindInterface, ID: db, Name: `db "main" (a|b)`}, {Kind: awssync.KindInterface, ID: bare}}
	for i := range 500 {
		interfaces = append(interfaces, awssync.Entity{Kind: awssync.KindInterface, ID: fmt.Sprintf("eni-%017x", 0x1000+i), Name: "worker"})
	}
	info := awssync.Series(awssync.Result{Region: "us-east-1", Interfaces: interfaces,
		VPCs: []awssync.Entity{{Kind: awssync.KindVPC, ID: vpc, Name: "prod"}}}, "111111111111", base.Add(-30*time.Minute))
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), info); err != nil || len(info) != 505 {
		t.Fatalf("write %d entity info series: %v", len(info), err)
	}
	vm.Flush()
	from, to := base.Format(time.RFC3339), base.Add(5*time.Minute).Format(time.RFC3339)
	f := func(want string, args ...string) {
		t.Helper()
		stdout, stderr, code := runCLI(t, append([]string{"report", "interface", "--vm-url", vm.URL, "--from", from, "--to", to, "--output", "csv", "--names=false"}, args...)...)
		if code != 0 {
			t.Fatalf("report %v: exit %d: %s", args, code, stderr)
		}
		if got := strings.TrimPrefix(stdout, "interface_id,bytes\n"); got != want {
			t.Errorf("report %v:\n%s\nwant\n%s", args, got, want)
		}
	}
	f(web1+",400\n"+web2+",300\n", "--filter", "interface_id=web")
	f(db+",200\n"+bare+",100\n", "--filter", "interface_id!=web")
	f(db+",200\n", "--filter", `interface_id=db "main" (a|b)`)
	f(web1+",400\n"+db+",200\n", "--filter", "interface_id=~db.*|"+web1)
	f(bare+",100\n", "--filter", "interface_id!~db.*|web", "--filter", "vpc_id=prod")
	f(web1+",400\n"+web2+",300\n"+db+",200\n"+bare+",100\n", "--filter", "vpc_id=prod")
	f("", "--filter", "interface_id=nobody")
	f("", "--filter", "interface_id=web", "--names-lookback", "20m") // the sync was half an hour before the range

	// With names shown, a filter by name.
	stdout, stderr, code := runCLI(t, "report", "interface", "--vm-url", vm.URL, "--from", from, "--to", to, "--filter", "interface_id=web")
	if code != 0 || !strings.Contains(stdout, "web ("+web1+")") || !strings.Contains(stdout, "web ("+web2+")") || strings.Contains(stdout, db) {
		t.Errorf("table by name: exit %d\n%s%s", code, stdout, stderr)
	}
	_, stderr, code = runCLI(t, "report", "interface", "--vm-url", vm.URL, "--from", from, "--to", to, "--filter", "interface_id=worker")
	if code != 1 || !strings.Contains(stderr, `filter interface_id="worker": a filter by name matches more ids than one query can list: 500 interface ids had that name`) {
		t.Errorf("500 interfaces of one name: exit %d, %s", code, stderr)
	}
}
