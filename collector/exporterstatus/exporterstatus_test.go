package exporterstatus_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/exporterstatus"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestStatusesContract: the series' status values are the sources'
// statuses, as the collector's /metrics and /api/v1/sources show them.
func TestStatusesContract(t *testing.T) {
	var got []string
	for _, s := range sourcestate.Statuses {
		got = append(got, string(s))
	}
	if !slices.Equal(got, schema.ExporterStatuses) || schema.ExporterStatusEnabled != string(sourcestate.StatusEnabled) {
		t.Errorf("sourcestate.Statuses %v, schema.ExporterStatuses %v", got, schema.ExporterStatuses)
	}
}

// text renders series as one line each: the labels (in the order
// written), the timestamp and the value.
func text(series []vmclient.Series) []string {
	var out []string
	for _, s := range series {
		var b strings.Builder
		for _, l := range s.Labels {
			fmt.Fprintf(&b, "%s=%s ", l.Name, l.Value)
		}
		for _, x := range s.Samples {
			fmt.Fprintf(&b, "@%d %g", x.Timestamp, x.Value)
		}
		out = append(out, b.String())
	}
	return out
}

// TestSeries: the status of an exporter is its source's, or
// disabled_limit when it is over the limit itself; an exporter of a
// source no longer configured is left out; the exporters over the limit
// are bounded, the most recently seen kept.
func TestSeries(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 7, 0, time.UTC)
	sources := []sourcestate.Report{{Name: "a", Status: sourcestate.StatusEnabled}, {Name: "b", Status: sourcestate.StatusUnresourced},
		{Name: "c", Status: sourcestate.StatusCredentials}, {Name: "d", Status: sourcestate.StatusDisabledLimit}, {Name: "e"}}
	exp := func(src, vpc string, st sourcestate.Status, ago time.Duration) sourcestate.ExporterReport {
		return sourcestate.ExporterReport{Source: src, Account: "123456789012", Region: "us-east-1", VPC: vpc, Status: st, LastSeen: at.Add(-ago)}
	}
	line := func(src, vpc, status string) string {
		return fmt.Sprintf("__name__=vpcflow_exporter_collector_status account_id=123456789012 region=us-east-1 vpc_id=%s source=%s instance=1 status=%s @%d 1",
			vpc, src, status, at.UnixMilli())
	}
	f := func(name string, exporters []sourcestate.ExporterReport, maxLimited int, want ...string) {
		t.Helper()
		got := text(exporterstatus.Series(sources, exporters, 1, maxLimited, at))
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	f("none", nil, 10)
	f("by source", []sourcestate.ExporterReport{exp("a", "vpc-01", sourcestate.StatusEnabled, 0), exp("b", "vpc-02", sourcestate.StatusEnabled, 0),
		exp("c", "vpc-03", sourcestate.StatusEnabled, 0), exp("d", "vpc-04", sourcestate.StatusEnabled, 0), exp("e", "vpc-05", sourcestate.StatusEnabled, 0),
		exp("gone", "vpc-06", sourcestate.StatusEnabled, 0)}, 10,
		line("a", "vpc-01", "enabled"), line("b", "vpc-02", "unresourced"), line("c", "vpc-03", "credentials"), line("d", "vpc-04", "disabled_limit"),
		line("e", "vpc-05", "enabled"))
	f("over the limit", []sourcestate.ExporterReport{exp("a", "vpc-01", sourcestate.StatusDisabledLimit, 0), exp("b", "vpc-02", sourcestate.StatusDisabledLimit, 0)}, 10,
		line("a", "vpc-01", "disabled_limit"), line("b", "vpc-02", "disabled_limit"))
	// A hostile bucket names ever more VPCs beyond the limit: two kept,
	// the most recently seen (then by VPC); those within it all kept.
	f("bounded", []sourcestate.ExporterReport{exp("a", "vpc-01", sourcestate.StatusDisabledLimit, 3*time.Minute), exp("a", "vpc-02", sourcestate.StatusDisabledLimit, time.Minute),
		exp("a", "vpc-03", sourcestate.StatusEnabled, time.Hour), exp("a", "vpc-04", sourcestate.StatusDisabledLimit, 2*time.Minute),
		exp("a", "vpc-05", sourcestate.StatusDisabledLimit, time.Minute), exp("b", "vpc-06", sourcestate.StatusEnabled, time.Hour)}, 2,
		line("a", "vpc-03", "enabled"), line("b", "vpc-06", "unresourced"), line("a", "vpc-02", "disabled_limit"), line("a", "vpc-05", "disabled_limit"))
}

// writeObject writes a flow log object of n records of vpc into dir,
// named as AWS names its objects with the time at in its key.
func writeObject(t *testing.T, dir, name, vpc string, at time.Time, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id\n")
	for i := range n {
		fmt.Fprintf(&b, "5 123456789012 eni-%s 10.0.0.%d 10.0.0.2 443 5000 6 10 1000 %d %d ACCEPT OK %s\n", vpc[4:], i+1, at.Unix()-60, at.Unix(), vpc)
	}
	key := fmt.Sprintf("123456789012_vpcflowlogs_us-east-1_fl-%s_%s_%s.log", name, at.UTC().Format("20060102T1504Z"), name)
	if err := os.WriteFile(filepath.Join(dir, key), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// scripted is a folder source that calls before at each listing, with the
// listing's number (1 for the first).
type scripted struct {
	*source.Dir
	n      int
	before func(n int)
}

func (s *scripted) List(ctx context.Context) ([]source.Object, error) {
	s.n++
	s.before(s.n)
	return s.Dir.List(ctx)
}

// TestWritesPipelineStatus runs a collector on two sources with
// overload.max_lag and limits.max_exporters (as the pipeline's overload
// tests do): a flood on the newest source pauses it, and a third VPC is
// over the limit. The status series written while it runs say so, for
// every VPC: vpc-0a enabled, vpc-0b (the paused source's) unresourced,
// vpc-0c disabled_limit.
func TestWritesPipelineStatus(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	store, err := vmclient.New(vmclient.Config{URL: vm.URL, DurableAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	led, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, name := range []string{"old", "new"} { // past their first runs
		st := ledger.SourceState{FirstRun: now.Add(-24 * time.Hour), Mode: sourcestate.FirstRunBackfill, Done: true}
		if err := led.SetSourceState(name, st); err != nil {
			t.Fatal(err)
		}
	}
	base := t.TempDir()
	oldDir, newDir := filepath.Join(base, "old"), filepath.Join(base, "new")
	for _, d := range []string{oldDir, newDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var p *pipeline.Pipeline
	var r *exporterstatus.Runner
	written := time.Date(2026, 3, 1, 12, 0, 7, 0, time.UTC)
	oldSrc := &scripted{Dir: source.NewDir("old", oldDir), before: func(n int) {
		switch n {
		case 1:
			writeObject(t, oldDir, "a1", "vpc-0a", now.Add(-time.Minute), 2)
			writeObject(t, newDir, "b1", "vpc-0b", now.Add(-2*time.Hour), 3) // the flood: two hours behind
		case 2:
			writeObject(t, oldDir, "a2", "vpc-0c", now.Add(-30*time.Minute), 4) // the third VPC: over the limit
			writeObject(t, newDir, "b2", "vpc-0b", now.Add(-time.Minute), 1)
		default:
			// The oldest source stays behind: the newest stays paused.
			writeObject(t, oldDir, fmt.Sprintf("a%d", n), "vpc-0a", now.Add(-30*time.Minute), 1)
		}
	}}
	srcs := []*sourcestate.Source{{Source: oldSrc, Delete: true}, {Source: source.NewDir("new", newDir), Delete: true}}
	p, err = pipeline.New(srcs, led, store, pipeline.Options{MaxLag: 10 * time.Minute, MaxExporters: 2, MaxObjects: 1, MaxWait: 10 * time.Millisecond,
		Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r = exporterstatus.New(exporterstatus.Options{Sources: p.Sources, Exporters: p.Exporters, Store: store, Instance: 0,
		Now: func() time.Time { return written }})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Once the batches of every VPC are stored and the newest source is
	// paused, the status is written, and the collector stopped.
	writeErr := make(chan error, 1)
	go func() {
		defer p.Stop()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			paused := slices.ContainsFunc(p.Sources(), func(s sourcestate.Report) bool {
				return s.Name == "new" && s.Status == sourcestate.StatusUnresourced
			})
			if paused && len(p.Exporters()) == 3 {
				writeErr <- r.Write(ctx)
				return
			}
		}
		writeErr <- fmt.Errorf("exporters %+v, sources %+v: want three, and new paused", p.Exporters(), p.Sources())
	}()
	if err := p.Run(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	vm.Flush()
	got, err := store.Instant(ctx, `tlast_over_time(`+schema.ExporterStatusMetric+`[1h])`, written.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range got {
		lines = append(lines, fmt.Sprintf("%s %s %s %s source=%s instance=%s status=%s at %v", s.Labels["__name__"], s.Labels[schema.LabelAccount], s.Labels[schema.LabelRegion],
			s.Labels[schema.LabelVPC], s.Labels[schema.LabelSource], s.Labels[schema.LabelInstance], s.Labels[schema.LabelExporterStatus], s.Value))
	}
	slices.Sort(lines)
	ts := float64(written.Unix())
	want := []string{
		fmt.Sprintf(" 123456789012 - vpc-0a source=old instance=0 status=enabled at %v", ts),
		fmt.Sprintf(" 123456789012 - vpc-0b source=new instance=0 status=unresourced at %v", ts),
		fmt.Sprintf(" 123456789012 - vpc-0c source=old instance=0 status=disabled_limit at %v", ts),
	}
	if !slices.Equal(lines, want) {
		t.Errorf("status series:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
