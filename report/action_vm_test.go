package report_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestEveryActionReported decodes a flow log holding every kind of action,
// aggregates it as the collector does, stores it in VictoriaMetrics and
// reads it back through the reports: every action is a row of its own
// (DROP and a value AWS does not document too), and rejected traffic
// (report.RejectedOnly: the reject-reasons report, the rejected-flow alert
// rules' query) is REJECT and DROP, nothing else.
func TestEveryActionReported(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	base := time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)
	var obj strings.Builder
	obj.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id region flow-direction reject-reason\n")
	for i, r := range []struct {
		action string
		bytes  int
		reason string
	}{
		{"ACCEPT", 1000, "-"}, {"REJECT", 100, "BPA"}, {"REJECT", 200, "-"}, {"DROP", 10, "-"}, {"BLACKHOLE", 1, "-"},
	} {
		fmt.Fprintf(&obj, "8 123456789012 eni-0a1 10.0.0.1 203.0.113.%d 443 50000 6 1 %d %d %d %s OK vpc-0a1 us-east-1 egress %s\n",
			i, r.bytes, base.Unix()+10, base.Unix()+20, r.action, r.reason)
	}
	a := aggregate.New()
	st, err := decode.Stream("actions.log", strings.NewReader(obj.String()), decode.Options{}, func(r *flowlog.Record) error {
		a.Add(r, &aggregate.Context{})
		return nil
	})
	if err != nil || st.BadLines != 0 || st.Records != 5 {
		t.Fatalf("decode: %v, %d records, bad lines %v", err, st.Records, st.Samples)
	}
	reporttest.Write(t, vm.URL, a.Series(&aggregate.Resolution{}, 1, aggregate.Fold{TopK: 20})...)
	vm.Flush()
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	rejected := []report.Filter{report.RejectedOnly()}
	for _, c := range []struct {
		report  string
		filters []report.Filter
		want    map[string]float64
	}{
		{report.ReportAction, nil, map[string]float64{"ACCEPT": 1000, "REJECT": 300, "DROP": 10, "BLACKHOLE": 1}},
		{report.ReportActionInterfaceDst, nil, map[string]float64{
			"eni-0a1|ACCEPT|203.0.113.0": 1000, "eni-0a1|REJECT|203.0.113.1": 100, "eni-0a1|REJECT|203.0.113.2": 200,
			"eni-0a1|DROP|203.0.113.3": 10, "eni-0a1|BLACKHOLE|203.0.113.4": 1}},
		{report.ReportRejectReasons, nil, map[string]float64{"BPA": 100, "-": 210}},
		{report.ReportVPCs, rejected, map[string]float64{"123456789012|us-east-1|vpc-0a1": 310}},
		{report.ReportTopDestinations, rejected, map[string]float64{"203.0.113.1": 100, "203.0.113.2": 200, "203.0.113.3": 10}},
	} {
		res, err := e.Table(context.Background(), report.Query{Report: c.report, Metric: report.MetricBytes, Filters: c.filters}, base, base.Add(time.Hour))
		if err != nil {
			t.Fatalf("%s: %v", c.report, err)
		}
		if d := reporttest.Diff(rowsOf(t, res), c.want); d != "" || res.Total != reporttest.Sum(c.want) {
			t.Errorf("%s %v: total %v, rows differ:\n%s", c.report, c.filters, res.Total, d)
		}
	}
}
