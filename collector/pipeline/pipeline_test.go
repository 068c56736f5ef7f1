package pipeline_test

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

	"maps"

	"bytes"
	"compress/gzip"
	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// generated writes flow logs under dir and returns the ground truth of
// their records.
func generated(t *testing.T, dir string, cfg generate.Config) *groundtruth.Truth {
	t.Helper()
	tr := groundtruth.New()
	cfg.Observe = func(_ string, r *flowlog.Record) { tr.Observe(r) }
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	}
	if _, err := generate.Generate(cfg, generate.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	tr.Finish()
	if len(tr.Conflicts) > 0 {
		t.Fatalf("generated data has addresses owned by two interfaces: %v", tr.Conflicts[:min(5, len(tr.Conflicts))])
	}
	return tr
}

type env struct {
	vm     *testserver.VM
	store  *vmclient.Client
	ledger *ledger.Ledger
	dir    string
	state  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	vm := testserver.VictoriaMetrics(t)
	// These tests do not crash the storage: a short save delay keeps them
	// quick (TestStorageCrashLosesNothing uses the one VictoriaMetrics
	// needs).
	store, err := vmclient.New(vmclient.Config{URL: vm.URL, DurableAfter: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{vm: vm, store: store, dir: t.TempDir(), state: t.TempDir()}
	e.open(t)
	return e
}

func (e *env) open(t *testing.T) {
	t.Helper()
	l, err := ledger.Open(filepath.Join(e.state, "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.ledger = l
	t.Cleanup(func() { l.Close() })
}

func (e *env) pipeline(t *testing.T, del bool, opts pipeline.Options) *pipeline.Pipeline {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	src := &sourcestate.Source{Source: source.NewDir("local", e.dir), Delete: del}
	p, err := pipeline.New([]*sourcestate.Source{src}, e.ledger, e.store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// TestTotalsMatchGroundTruth ingests generated v5 and v8 flow logs in one
// batch each and compares every family with totals computed from the
// generated records.
func TestTotalsMatchGroundTruth(t *testing.T) {
	for _, format := range []string{"v5", "v8"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			f, _ := flowlog.ParseFormat(format)
			tr := generated(t, e.dir, generate.Config{Records: 20000, Seed: 5, Format: f, Duration: 30 * time.Minute, ENIs: 40, VPCs: 2})
			p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 1000})
			if err := p.Run(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			tr.Check(t, e.vm)
			if n := countFiles(t, e.dir); n != 0 {
				t.Errorf("%d objects left after ingesting with delete_after_ingest", n)
			}
		})
	}
}

// TestManyBatches ingests in small batches: every family but the pair one
// and its total (whose owners are learned batch by batch) must still match
// exactly.
func TestManyBatches(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 20000, Seed: 6, Format: f, Duration: time.Hour, ENIs: 30, VPCs: 3})
	p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 3})
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if p.Stats().Batches.Load() < 10 {
		t.Fatalf("%d batches, want many", p.Stats().Batches.Load())
	}
	tr.Check(t, e.vm, schema.Interface, schema.Service, schema.Src, schema.Dst, schema.App, schema.Status, schema.Total)
}

// TestManyBatchesWithDirectory ingests in small batches with a directory
// of every interface's private addresses (what the entity sync learns from
// DescribeNetworkInterfaces): the pair family, whose owners records alone
// teach only batch by batch, must then match exactly too.
func TestManyBatchesWithDirectory(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 20000, Seed: 6, Format: f, Duration: time.Hour, ENIs: 30, VPCs: 3})
	byIface := map[string]*awssync.Entity{}
	for k, iface := range tr.Owners {
		en := byIface[iface]
		if en == nil {
			en = &awssync.Entity{Kind: awssync.KindInterface, ID: iface, VPCID: k[0]}
			byIface[iface] = en
		}
		en.Addresses = append(en.Addresses, k[1])
	}
	res := awssync.Result{Region: "us-east-1"}
	for _, en := range byIface {
		res.Interfaces = append(res.Interfaces, *en)
	}
	dir := awssync.NewDirectory()
	dir.Update("123456789012", res)
	if n, addrs := dir.Len(); n != len(byIface) || n < 20 || addrs < len(tr.Owners) {
		t.Fatalf("directory of %d interfaces and %d addresses, want %d (of the 30 generated) and %d", n, addrs, len(byIface), len(tr.Owners))
	}
	p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 3, Directory: dir})
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if p.Stats().Batches.Load() < 10 {
		t.Fatalf("%d batches, want many", p.Stats().Batches.Load())
	}
	tr.Check(t, e.vm)
}

// TestDirectoryNamesPairOwners ingests, one object per batch, the two
// ends of one flow between interfaces A and B of a VPC, as each records
// it. Records alone cannot say who holds an address when they carry no
// flow direction (v2–v4) or when the peer has not been seen yet; the
// directory (the entity sync's DescribeNetworkInterfaces) can: the pair
// family must count A → B once, in A's VPC.
func TestDirectoryNamesPairOwners(t *testing.T) {
	const (
		vpc      = "vpc-0a1b2c3d4e5f60718"
		a, b     = "eni-0aaaaaaaaaaaaaaaa", "eni-0bbbbbbbbbbbbbbbb"
		aAddr    = "10.0.1.10"
		bAddr    = "10.0.2.20"
		minute   = 1772359200 // 2026-03-01T10:00:00Z
		sentence = "%s 123456789012 %s %s %s 44321 443 6 10 %d %d %d ACCEPT OK\n"
	)
	for _, tc := range []struct {
		name   string
		header string
		format func(iface string, start int64) string
	}{
		{"v2: no vpc-id, no flow direction", "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
			func(iface string, start int64) string {
				return fmt.Sprintf(sentence, "2", iface, aAddr, bAddr, 5000, start, start+50)
			}},
		{"v5: B not seen yet", "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id flow-direction\n",
			func(iface string, start int64) string {
				dir := "egress"
				if iface == b {
					dir = "ingress"
				}
				return strings.TrimSuffix(fmt.Sprintf(sentence, "5", iface, aAddr, bAddr, 5000, start, start+50), "\n") + " " + vpc + " " + dir + "\n"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			for i, iface := range []string{a, b} {
				key := filepath.Join(e.dir, fmt.Sprintf("%d.log.gz", i))
				writeGzip(t, key, tc.header+tc.format(iface, minute+int64(i)))
			}
			dir := awssync.NewDirectory()
			dir.Update("123456789012", awssync.Result{Region: "us-east-1", Interfaces: []awssync.Entity{
				{Kind: awssync.KindInterface, ID: a, VPCID: vpc, Addresses: []string{aAddr}},
				{Kind: awssync.KindInterface, ID: b, VPCID: vpc, Addresses: []string{bAddr}},
			}})
			p := e.pipeline(t, true, pipeline.Options{MaxObjects: 1, Directory: dir})
			if err := p.Run(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			if n := p.Stats().Batches.Load(); n != 2 {
				t.Fatalf("%d batches, want one per object", n)
			}
			e.vm.Flush()
			got := e.vm.Totals(t, "vpcflow_pair_bytes", "vpc_id", "src_interface", "dst_interface")
			if want := map[string]float64{vpc + "|" + a + "|" + b: 5000}; !maps.Equal(got, want) {
				t.Errorf("pair bytes %v, want %v", got, want)
			}
		})
	}
}

// TestRunTwiceWithoutDeletion runs over the same files twice without
// deleting them: the ledger remembers, the totals do not change.
func TestRunTwiceWithoutDeletion(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 5000, Seed: 7, Format: f, Duration: 30 * time.Minute, ENIs: 20, VPCs: 2})
	files := countFiles(t, e.dir)
	for run := range 2 {
		p := e.pipeline(t, false, pipeline.Options{TopK: 1 << 30, MaxObjects: 1000})
		if err := p.Run(context.Background(), true); err != nil {
			t.Fatal(err)
		}
		if run == 1 && p.Stats().Objects.Load() != 0 {
			t.Errorf("second run stored %d objects again", p.Stats().Objects.Load())
		}
		if n := countFiles(t, e.dir); n != files {
			t.Errorf("run %d: %d files, want all %d kept", run, n, files)
		}
		tr.Check(t, e.vm)
	}
}

// TestQuarantine puts a truncated object among good ones: it is
// quarantined, not deleted, none of its records count, and the rest is
// stored.
func TestQuarantine(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 3000, Seed: 8, Format: f, Duration: 20 * time.Minute, ENIs: 10, VPCs: 1})
	bad := filepath.Join(e.dir, "AWSLogs", "111111111111", "vpcflowlogs", "us-east-1", "2026", "03", "01", "broken.log.gz")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	good, err := filepath.Glob(filepath.Join(e.dir, "AWSLogs", "*", "vpcflowlogs", "*", "*", "*", "*", "*.log.gz"))
	if err != nil || len(good) == 0 {
		t.Fatalf("no generated objects: %v", err)
	}
	data, _ := os.ReadFile(good[0])
	if err := os.WriteFile(bad, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 1000})
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	tr.Check(t, e.vm)
	if _, err := os.Stat(bad); err != nil {
		t.Errorf("the quarantined object was deleted: %v", err)
	}
	q, err := e.ledger.Quarantined("")
	if err != nil || len(q) != 1 || !strings.Contains(q[0].Reason, "truncated") || !strings.HasSuffix(q[0].Key, "broken.log.gz") {
		t.Fatalf("quarantined %+v, %v", q, err)
	}
	// A second run leaves it alone.
	p = e.pipeline(t, true, pipeline.Options{TopK: 1 << 30})
	if err := p.Run(context.Background(), true); err != nil || p.Stats().Quarantined.Load() != 0 {
		t.Errorf("second run: %v, quarantined again %d", err, p.Stats().Quarantined.Load())
	}
}

// TestStorageDownLosesNothing stops VictoriaMetrics in the middle of a run:
// the collector keeps trying, deletes nothing while the storage is down,
// resumes by itself when it is back, and the totals end exact.
func TestStorageDownLosesNothing(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 20000, Seed: 9, Format: f, Duration: time.Hour, ENIs: 30, VPCs: 3})
	p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 2})
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), true) }()

	// Let a few batches through, then take the storage away.
	deadline := time.Now().Add(30 * time.Second)
	for p.Stats().Written.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("no batch stored within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.vm.Stop()
	time.Sleep(2 * time.Second) // the batch in flight fails and is retried
	before, batches := countFiles(t, e.dir), p.Stats().Batches.Load()
	time.Sleep(3 * time.Second)
	if after := countFiles(t, e.dir); after != before {
		t.Fatalf("%d objects deleted while the storage was down", before-after)
	}
	if b := p.Stats().Batches.Load(); b != batches {
		t.Fatalf("%d batches committed while the storage was down", b-batches)
	}
	select {
	case err := <-done:
		t.Fatalf("the run ended while the storage was down: %v", err)
	default:
	}
	e.vm.Start()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the run did not finish after the storage came back")
	}
	tr.Check(t, e.vm, schema.Interface, schema.Service, schema.Src, schema.Dst, schema.App, schema.Status, schema.Total)
	if n := countFiles(t, e.dir); n != 0 {
		t.Errorf("%d objects left", n)
	}
}

// TestTopKKeepsGroupTotals ingests with a small top-K: per group the src,
// dst, app and pair families still add up to the exact totals, no group
// has more than K+1 label sets in a minute, and the derived families keep
// every label set's exact totals.
func TestTopKKeepsGroupTotals(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 20000, Seed: 10, Format: f, Duration: 30 * time.Minute, ENIs: 10, VPCs: 1})
	const k = 3
	p := e.pipeline(t, true, pipeline.Options{TopK: k, MaxObjects: 1000})
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	e.vm.Flush()
	defs := schema.Families()
	tr.Check(t, e.vm, schema.Total, schema.PairTotal)
	for _, fam := range []int{schema.Src, schema.Dst, schema.App, schema.Pair} {
		def := defs[fam]
		for _, name := range def.MetricNames() {
			got := e.vm.Totals(t, name, def.Group...)
			want := groundtruth.Project(tr.Sums[name], def.Labels, def.Group)
			if diff := groundtruth.Compare(got, want); diff != "" {
				t.Errorf("%s per %v:\n%s", name, def.Group, diff)
			}
		}
		// At most k+1 label sets per group and minute.
		perMinute := map[string]int{}
		for _, s := range e.vm.Export(t, def.Name+schema.SuffixBytes) {
			key := make([]string, len(def.Group))
			for i, l := range def.Group {
				key[i] = s.Metric[l]
			}
			for _, ts := range s.Timestamps {
				perMinute[strings.Join(key, "|")+fmt.Sprint(ts)]++
			}
		}
		for g, n := range perMinute {
			if n > k+1 {
				t.Fatalf("%s: %d label sets in group-minute %s, want at most %d", def.Name, n, g, k+1)
			}
		}
	}
}

// TestLegacyBatchReplays: a batch recorded before the bounded families (its
// snapshot without a version) replays as it was written then, every family
// at the minute and folded per interface, action and minute, so that
// samples it stored before the upgrade are written again identically (and
// deduplicated), never beside a five-minute copy.
func TestLegacyBatchReplays(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	generated(t, e.dir, generate.Config{Records: 2000, Seed: 13, Format: f, Duration: 10 * time.Minute, ENIs: 10, VPCs: 1})
	ctx := context.Background()
	objs, err := source.NewDir("local", e.dir).List(ctx)
	if err != nil || len(objs) < 2 {
		t.Fatalf("listed %d objects: %v", len(objs), err)
	}
	agg, rec := e.pending(t, objs[0], `{"settings":{"top_k":2},"resolution":{}}`)
	p := e.pipeline(t, true, pipeline.Options{MaxObjects: 1})
	if err := p.Run(ctx, true); err != nil {
		t.Fatal(err)
	}
	e.vm.Flush()
	want := agg.Series(&aggregate.Resolution{}, rec.Slot, aggregate.Fold{LegacyTopK: 2})
	for _, name := range []string{"vpcflow_interface_bytes", "vpcflow_src_bytes", "vpcflow_app_total_flows"} {
		expect := map[string]float64{}
		for _, s := range want {
			if s.Labels[0].Value != name {
				continue
			}
			for _, smp := range s.Samples {
				expect[fmt.Sprint(s.Labels[1:], smp.Timestamp)] += smp.Value
			}
		}
		got := map[string]float64{}
		minutes := map[int64]bool{}
		for _, s := range e.vm.Export(t, name) {
			var labels []vmclient.Label
			for _, l := range schema.Families()[familyOf(name)].Labels {
				labels = append(labels, vmclient.Label{Name: l, Value: s.Metric[l]})
			}
			for i, ts := range s.Timestamps {
				if int(ts%60000) == rec.Slot {
					got[fmt.Sprint(labels, ts)] += s.Values[i]
					minutes[ts/60000%5] = true
				}
			}
		}
		if !maps.Equal(got, expect) || len(expect) == 0 {
			t.Errorf("%s at the replayed batch's slot: %d samples, want the %d the old format wrote", name, len(got), len(expect))
		}
		if len(minutes) < 2 {
			t.Errorf("%s: the replayed batch's samples are not at every minute (minutes mod 5: %v)", name, minutes)
		}
	}
}

// familyOf returns the schema family of a metric name.
func familyOf(name string) int {
	for id, f := range schema.Families() {
		if slices.Contains(f.MetricNames(), name) {
			return id
		}
	}
	panic(name)
}

// pending records in the ledger a batch of one object as a run that did
// not store it leaves it, with the snapshot given, and returns the
// object's aggregate and the batch.
func (e *env) pending(t *testing.T, o source.Object, snapshot string) (*aggregate.Aggregate, ledger.Batch) {
	t.Helper()
	agg := aggregate.New()
	if !strings.Contains(snapshot, `"version"`) {
		agg.Minutely() // recorded before the families had steps: replays in minutes
	}
	file, err := os.Open(filepath.Join(e.dir, o.Key))
	if err != nil {
		t.Fatal(err)
	}
	_, err = decode.Stream(o.Key, file, decode.Options{}, func(r *flowlog.Record) error {
		agg.Add(r, &aggregate.Context{})
		return nil
	})
	file.Close()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.ledger.BeginBatch([]ledger.Object{{Source: "local", Key: o.Key, Version: o.Version, Size: o.Size}}, agg.Minutes(), []byte(snapshot), nil)
	if err != nil {
		t.Fatal(err)
	}
	return agg, rec
}

// writeGzip writes text gzipped to path.
func writeGzip(t *testing.T, path, text string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
