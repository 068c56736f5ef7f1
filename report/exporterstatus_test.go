package report_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/exporterstatus"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestExportersCollectorStatus: the exporters report shows the
// collector's status of each VPC from the series the collector writes
// (package collector/exporterstatus): unresourced for the VPCs of a paused
// source, disabled_limit for a VPC over limits.max_exporters (listed with
// 0, since its records are dropped), both statuses of a VPC two sources
// disagree on, and "-" where no collector wrote one.
//
// The collector: source "old" (vpc-0a1, vpc-0d4) is collected all along;
// source "new" (vpc-0b2, vpc-0d4) is paused from 10:30 (its traffic
// stops); vpc-0c3 comes at 10:40, over the limit. Traffic from 09:00,
// status series from 10:00, every minute until 11:00.
func TestExportersCollectorStatus(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	day := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	at := func(hhmm string) time.Time {
		tm, err := time.Parse("15:04", hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return day.Add(time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute)
	}
	const acct, region = "111111111111", "us-east-1"
	trafficUntil := map[string]string{"vpc-0a1": "11:00", "vpc-0b2": "10:30", "vpc-0d4": "11:00"}
	var series []vmclient.Series
	for vpc, until := range trafficUntil {
		var samples []vmclient.Sample
		for ts := at("09:00"); ts.Before(at(until)); ts = ts.Add(5 * time.Minute) {
			samples = append(samples, vmclient.Sample{Timestamp: ts.UnixMilli() + 3, Value: 10})
		}
		set := map[string]string{schema.LabelAccount: acct, schema.LabelRegion: region, schema.LabelVPC: vpc,
			"interface_id": "eni-0" + vpc[5:], "action": "ACCEPT"}
		series = append(series, reporttest.Series("vpcflow_interface_bytes", schema.Interface, set, samples...))
		series = append(series, reporttest.Series(schema.Families()[schema.Status].Name, schema.Status,
			map[string]string{schema.LabelAccount: acct, schema.LabelRegion: region, schema.LabelVPC: vpc,
				"interface_id": "eni-0" + vpc[5:], "log_status": "OK"}, samples...))
	}
	reporttest.Write(t, vm.URL, series...)
	// The collector's status series, as run writes them every minute.
	var status []vmclient.Series
	for ts := at("10:00"); ts.Before(at("11:00")); ts = ts.Add(time.Minute) {
		newStatus := sourcestate.StatusEnabled
		if !ts.Before(at("10:30")) {
			newStatus = sourcestate.StatusUnresourced
		}
		sources := []sourcestate.Report{{Name: "old", Status: sourcestate.StatusEnabled}, {Name: "new", Status: newStatus}}
		exp := func(src, vpc string, st sourcestate.Status) sourcestate.ExporterReport {
			return sourcestate.ExporterReport{Source: src, Account: acct, Region: region, VPC: vpc, LastSeen: ts, Status: st}
		}
		exporters := []sourcestate.ExporterReport{exp("old", "vpc-0a1", sourcestate.StatusEnabled), exp("new", "vpc-0b2", sourcestate.StatusEnabled),
			exp("old", "vpc-0d4", sourcestate.StatusEnabled), exp("new", "vpc-0d4", sourcestate.StatusEnabled)}
		if !ts.Before(at("10:40")) {
			exporters = append(exporters, exp("old", "vpc-0c3", sourcestate.StatusDisabledLimit))
		}
		status = append(status, exporterstatus.Series(sources, exporters, 0, exporterstatus.DefaultMaxLimited, ts.Add(7*time.Second))...)
	}
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), status); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})

	// want keys rows by vpc_id, status and collector_status.
	f := func(from, to string, filters []report.Filter, top int, want map[string]float64) {
		t.Helper()
		res, err := e.Table(context.Background(), report.Query{Report: report.ReportExporters, Metric: report.MetricBytes, Filters: filters, Top: top},
			at(from), at(to))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, r := range res.Rows {
			got[reporttest.Key(r.Labels, []string{schema.LabelVPC, report.ColumnStatus, report.ColumnCollectorStatus})] = r.Value
			if r.Other {
				continue
			}
			if r.Labels[schema.LabelAccount] != acct || r.Labels[schema.LabelRegion] != region {
				t.Errorf("%s–%s %v: row %v: account or region lost", from, to, filters, r.Labels)
			}
		}
		if d := reporttest.Diff(got, want); d != "" {
			t.Errorf("%s–%s %v top %d: rows differ:\n%s", from, to, filters, top, d)
		}
		if !strings.Contains(strings.Join(res.Columns, ","), report.ColumnCollectorStatus) {
			t.Errorf("columns %v lack %s", res.Columns, report.ColumnCollectorStatus)
		}
	}
	vpc := func(v string) []report.Filter {
		return []report.Filter{{Label: schema.LabelVPC, Op: report.OpEqual, Value: v}}
	}
	iface := []report.Filter{{Label: "interface_id", Op: report.OpMatch, Value: "eni-0.*"}}
	f("10:00", "11:00", nil, 0, map[string]float64{
		"vpc-0a1|ok|enabled": 120, "vpc-0b2|ok|unresourced": 60, "vpc-0d4|ok|enabled, unresourced": 120,
		"vpc-0c3|-|disabled_limit": 0, // over the limit: no traffic, listed
	})
	f("10:00", "10:30", nil, 0, map[string]float64{"vpc-0a1|ok|enabled": 60, "vpc-0b2|ok|enabled": 60, "vpc-0d4|ok|enabled": 60})
	// The paused source's VPC has no traffic after 10:30: listed with 0.
	f("10:45", "11:00", nil, 0, map[string]float64{
		"vpc-0a1|ok|enabled": 30, "vpc-0b2|-|unresourced": 0, "vpc-0d4|ok|enabled, unresourced": 30, "vpc-0c3|-|disabled_limit": 0})
	f("10:00", "11:00", vpc("vpc-0c3"), 0, map[string]float64{"vpc-0c3|-|disabled_limit": 0})
	f("10:00", "11:00", vpc("vpc-0b2"), 0, map[string]float64{"vpc-0b2|ok|unresourced": 60})
	// A filter on interfaces says nothing of VPCs without records.
	f("10:00", "11:00", iface, 0, map[string]float64{
		"vpc-0a1|ok|enabled": 120, "vpc-0b2|ok|unresourced": 60, "vpc-0d4|ok|enabled, unresourced": 120})
	// Top 1: the Other row has no status.
	f("10:00", "11:00", nil, 1, map[string]float64{
		"vpc-0a1|ok|enabled": 120, fmt.Sprintf("%s|-|-", report.OtherValue): 180})
	// Before any status series (an older collector): "-"; the lookback
	// reaches 5 minutes back only.
	f("09:00", "09:30", nil, 0, map[string]float64{"vpc-0a1|ok|-": 60, "vpc-0b2|ok|-": 60, "vpc-0d4|ok|-": 60})
	f("09:55", "10:00", nil, 0, map[string]float64{"vpc-0a1|ok|-": 10, "vpc-0b2|ok|-": 10, "vpc-0d4|ok|-": 10})
	f("10:05", "10:10", nil, 0, map[string]float64{"vpc-0a1|ok|enabled": 10, "vpc-0b2|ok|enabled": 10, "vpc-0d4|ok|enabled": 10})
}
