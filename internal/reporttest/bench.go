package reporttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/internal/tools"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// benchVersion names what a cached benchmark dataset holds; it changes
// when the collector writes something new (v3: the derived total families
// and the rank index; v4: the families' steps and the hourly bound, no rank
// index).
const benchVersion = "v4"

// BenchDataset returns the VictoriaMetrics of the report benchmarks
// (report's BenchmarkReports, the plugin's BenchmarkQueryData)
// and the range of its data. The dataset is generated v5 flow logs,
// written as the collector writes them since issue 13 (samples on their
// family's step (as the aggregator writes them); the top-K families bounded to the collector's
// default top K, pipeline.DefaultTopK, label sets per VPC, action and hour,
// the rest folded: foldingSink), into a VictoriaMetrics whose data folder
// is kept in the cache (VPCFLOW_CACHE, default ~/.cache/vpcflow) for the
// next run with the same settings:
//
//	VPCFLOW_BENCH_REPORT_HOURS    span of the data; default 24
//	VPCFLOW_BENCH_REPORT_ENIS     network interfaces; default 2000
//	VPCFLOW_BENCH_REPORT_RECORDS  flow log records; default 3000000
//	VPCFLOW_BENCH_REPORT_TOPK     label sets kept per VPC, action and hour;
//	                              default the collector's, pipeline.DefaultTopK
//
// Every entity of the data has a name (benchNames: vpcflow_entity_info at
// every hour, as the entity sync writes it), so that reports join names as
// they do by default. Loading logs (go test -v) how long the load took. Without the
// VictoriaMetrics binary the benchmark is skipped; while another
// benchmark holds the dataset's VictoriaMetrics, too.
func BenchDataset(b *testing.B) (vm *testserver.VM, from, to time.Time) {
	b.Helper()
	hours := benchEnv(b, "VPCFLOW_BENCH_REPORT_HOURS", 24)
	enis := benchEnv(b, "VPCFLOW_BENCH_REPORT_ENIS", 2000)
	records := benchEnv(b, "VPCFLOW_BENCH_REPORT_RECORDS", 3_000_000)
	topK := benchEnv(b, "VPCFLOW_BENCH_REPORT_TOPK", pipeline.DefaultTopK)
	name := fmt.Sprintf("reports-%dh-%denis-%drecords-top%d-%s", hours, enis, records, topK, benchVersion)
	dir, err := tools.CacheDir("bench", name)
	if err != nil {
		b.Fatal(err)
	}
	if err := probeLock(filepath.Join(dir, "vm", "flock.lock")); err != nil {
		b.Skipf("the dataset's VictoriaMetrics is in use (%v): run one benchmark on %s at a time", err, dir)
	}
	vm = testserver.VictoriaMetrics(b, "-storageDataPath="+filepath.Join(dir, "vm"))
	marker := filepath.Join(dir, "loaded")
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	from, to = start, start.Add(time.Duration(hours)*time.Hour)
	if _, err := os.Stat(marker); err == nil {
		benchNames(b, vm, dir, from, to)
		return vm, from, to
	}
	began := time.Now()
	ds, err := LoadURL(vm.URL, Options{
		Generate:        generate.Config{Records: records, Seed: 42, Start: start, Duration: time.Duration(hours) * time.Hour, ENIs: enis, VPCs: max(3, enis/100), Accounts: 3},
		ObjectsPerBatch: 64,
		TopK:            topK,
		NoTruth:         true,
	})
	if err != nil {
		b.Fatal(err)
	}
	vm.Flush()
	b.Logf("loaded %d records in %d batches in %s into %s", ds.Records, ds.Batches, time.Since(began).Round(time.Second), dir)
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	benchNames(b, vm, dir, from, to)
	return vm, from, to
}

// namesMarker marks a benchmark dataset that holds entity info: a marker of
// its own, so that a dataset cached before gets it without a reload.
const namesMarker = "names-v1"

// benchNames gives every entity of a benchmark dataset a name, once: the
// VPCs, subnets, zones, interfaces and instances of the interface family
// over [from, to), as the entity sync writes them (vpcflow_entity_info,
// with an interface's relations and description), at every hour from an
// hour before from, the sync's default interval.
func benchNames(b *testing.B, vm *testserver.VM, dir string, from, to time.Time) {
	b.Helper()
	marker := filepath.Join(dir, namesMarker)
	if _, err := os.Stat(marker); err == nil {
		return
	}
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		b.Fatal(err)
	}
	ids := []string{schema.LabelAccount, schema.LabelRegion, schema.LabelVPC, "subnet_id", "az_id", "interface_id", "instance_id"}
	expr := fmt.Sprintf("count by (%s) (count_over_time(vpcflow_interface_flows[%ds]))", strings.Join(ids, ", "), int(to.Sub(from).Seconds()))
	sets, err := c.Instant(context.Background(), expr, to.Add(-time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	type entity struct {
		typ    report.EntityType
		id     string
		labels []vmclient.Label
	}
	seen := map[string]bool{}
	var entities []entity
	add := func(typ report.EntityType, id string, ls map[string]string, relations ...string) {
		if id == schema.Absent || id == schema.Other || id == "" || strings.HasPrefix(id, schema.PairServicePrefix) || seen[string(typ)+id] {
			return
		}
		seen[string(typ)+id] = true
		labels := []vmclient.Label{{Name: "__name__", Value: report.EntityInfoMetric},
			{Name: schema.LabelAccount, Value: ls[schema.LabelAccount]}, {Name: schema.LabelRegion, Value: ls[schema.LabelRegion]},
			{Name: report.EntityTypeLabel, Value: string(typ)}, {Name: report.EntityIDLabel, Value: id},
			{Name: report.EntityNameLabel, Value: fmt.Sprintf("%s-%04d", typ, len(entities))}}
		for _, r := range relations {
			if v := ls[r]; v != schema.Absent && v != "" {
				labels = append(labels, vmclient.Label{Name: r, Value: v})
			}
		}
		if typ == report.EntityInterface {
			labels = append(labels, vmclient.Label{Name: "description", Value: "Primary network interface"}, vmclient.Label{Name: "interface_type", Value: "interface"})
		}
		entities = append(entities, entity{typ, id, labels})
	}
	for _, s := range sets {
		ls := s.Labels
		add(report.EntityVPC, ls[schema.LabelVPC], ls)
		add(report.EntitySubnet, ls["subnet_id"], ls, schema.LabelVPC, "az_id")
		add(report.EntityAZ, ls["az_id"], ls)
		add(report.EntityInterface, ls["interface_id"], ls, schema.LabelVPC, "subnet_id", "az_id", "instance_id")
		add(report.EntityInstance, ls["instance_id"], ls, schema.LabelVPC, "subnet_id", "az_id")
	}
	var samples []vmclient.Sample
	for at := from.Add(-time.Hour); at.Before(to); at = at.Add(time.Hour) {
		samples = append(samples, vmclient.Sample{Timestamp: at.UnixMilli(), Value: 1})
	}
	series := make([]vmclient.Series, len(entities))
	for i, e := range entities {
		series[i] = vmclient.Series{Labels: e.labels, Samples: samples}
	}
	if err := c.Write(context.Background(), series); err != nil {
		b.Fatal(err)
	}
	vm.Flush()
	b.Logf("wrote the entity info of %d entities, %d syncs", len(entities), len(samples))
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
}

// benchEnv reads a positive integer setting of a benchmark.
func benchEnv(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// probeLock fails when another process holds the flock VictoriaMetrics
// takes on its data folder.
func probeLock(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return err
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// Latencies collects the latency of each iteration of a benchmark and
// reports their median and 95th percentile as p50-ms and p95-ms.
type Latencies []time.Duration

// Report reports the median and the 95th percentile to b.
func (l Latencies) Report(b *testing.B) { l.ReportAs(b, "") }

// ReportAs reports the median and the 95th percentile to b as
// prefix+"p50-ms" and prefix+"p95-ms", for a benchmark timing two things
// at once.
func (l Latencies) ReportAs(b *testing.B, prefix string) {
	if len(l) == 0 {
		return
	}
	s := slices.Sorted(slices.Values(l))
	pct := func(p float64) float64 {
		i := min(len(s)-1, int(p*float64(len(s))))
		return float64(s[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), prefix+"p50-ms")
	b.ReportMetric(pct(0.95), prefix+"p95-ms")
}

// EachReport runs run as one sub-benchmark per format and report (named
// format/ID, in that order), timing each iteration, and reports the
// median and 95th percentile of each (Latencies).
func EachReport(b *testing.B, formats []report.Format, run func(b *testing.B, rep report.Report, format report.Format)) {
	b.Helper()
	for _, format := range formats {
		for _, rep := range report.Reports() {
			b.Run(string(format)+"/"+rep.ID, func(b *testing.B) {
				var lat Latencies
				for b.Loop() {
					t0 := time.Now()
					run(b, rep, format)
					lat = append(lat, time.Since(t0))
				}
				lat.Report(b)
			})
		}
	}
}
