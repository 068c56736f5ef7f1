// Package reporttest loads generated flow logs into a test VictoriaMetrics
// the way the collector writes them, and computes what every report must
// answer from the generated records themselves (package groundtruth), for
// the report engine's and the report command's golden tests.
package reporttest

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// Slots are the write slots of the first batches: the first and last
// millisecond of a minute among them, where a window that is off by one
// millisecond would count a sample in the wrong minute. Later batches get
// other distinct slots.
var Slots = []int{0, 59999, 1, 59998, 30000}

// slot returns the distinct slot of batch i.
func slot(i int) int {
	if i < len(Slots) {
		return Slots[i]
	}
	return 100 + i // distinct from Slots and from each other
}

// Options says what to load.
type Options struct {
	// Generate is the generator's configuration; Start defaults to
	// 2026-03-01T10:00:00Z, Format to v5.
	Generate generate.Config
	// ObjectsPerBatch is how many objects go into one write batch (each
	// batch its own slot); default 4.
	ObjectsPerBatch int
	// TopK is the collector's top-K bound (aggregation.top_k): the top-K
	// families are folded per VPC, action and hour by an aggregate.Keeper,
	// batch after batch, as the collector does; 0 folds nothing, as the
	// ground truth does not.
	TopK int
	// NoTruth skips the ground truth (Dataset.Truth stays empty), which
	// keeps every record in memory: for large benchmark datasets.
	NoTruth bool
	// PerMinute keeps a ground truth per minute (flows and records only:
	// they count in the minute of a record's start), for checks of
	// sub-ranges. It costs memory: tests only.
	PerMinute bool
}

// Hour returns the options of the ground-truth tests of the report engine
// and the plugin: an hour of v8 flow logs (every field AWS writes), 20,000
// records of 40 interfaces in 3 VPCs of 2 accounts, generated from seed,
// 3 objects per write batch.
func Hour(tb testing.TB, seed int64) Options {
	tb.Helper()
	v8, err := flowlog.ParseFormat("v8")
	if err != nil {
		tb.Fatal(err)
	}
	return Options{
		Generate:        generate.Config{Records: 20000, Seed: seed, Duration: time.Hour, ENIs: 40, VPCs: 3, Accounts: 2, Format: v8},
		ObjectsPerBatch: 3,
	}
}

// Dataset is generated flow logs stored in a VictoriaMetrics.
type Dataset struct {
	// URL is VictoriaMetrics' base URL: a single node's, or a cluster's
	// vmselect Prometheus API base (LoadCluster).
	URL string
	// Truth is the totals over all time.
	Truth *groundtruth.Truth
	// From and To cover every sample, on multiples of the families'
	// longest step (MaxStep), so that a report over [From, To) reads every
	// sample whatever its family's step.
	From, To time.Time
	// Records is the number of records generated.
	Records int64
	// Seen is per VPC (account|region|vpc) the start of the first and last
	// interval of the status family's step (Unix seconds) with records.
	Seen map[string][2]int64
	// Minutes is the ground truth per minute (Unix seconds), when
	// Options.PerMinute is set.
	Minutes map[int64]*groundtruth.Truth
	// Batches is the number of write batches.
	Batches int
}

// discard is a generate.Sink that throws the objects away: the records
// reach the aggregates through Observe.
type discard struct{}

// Create implements generate.Sink.
func (discard) Create(string) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }

type nopCloser struct{ io.Writer }

// Close implements io.Closer.
func (nopCloser) Close() error { return nil }

// Load generates flow logs as opts says, aggregates them per batch of
// objects exactly as the collector does (aggregate.Emit, top-K folding as
// Options.TopK says, address owners learned from all records; samples on
// their family's step, as the aggregator writes them), writes each batch at its own slot,
// flushes, and checks every family against the
// ground truth: every label set's totals, but only the groups' totals of a
// family that top K folds (the derived families stay exact).
func Load(tb testing.TB, vm *testserver.VM, opts Options) *Dataset {
	tb.Helper()
	return loadChecked(tb, vm, vmclient.Config{URL: vm.URL}, vm.URL, opts)
}

// LoadCluster is Load into a VictoriaMetrics cluster: the batches are
// written through its vminsert (Cluster.InsertURL, tenant
// testserver.ClusterTenant), and the stored totals are read back and
// checked against the ground truth through its vmselect. Dataset.URL is
// vmselect's Prometheus API base (Cluster.SelectURL), the URL a report
// engine queries.
func LoadCluster(tb testing.TB, c *testserver.Cluster, opts Options) *Dataset {
	tb.Helper()
	return loadChecked(tb, c, vmclient.Config{WriteURL: c.InsertURL(), QueryURL: c.SelectURL(), StorageNodes: c.StorageNodes()}, c.SelectURL(), opts)
}

// loadChecked loads the dataset through a client of cfg, flushes store and
// checks what it holds against the ground truth.
func loadChecked(tb testing.TB, store groundtruth.Store, cfg vmclient.Config, url string, opts Options) *Dataset {
	tb.Helper()
	ds, err := load(cfg, url, opts)
	if err != nil {
		tb.Fatalf("load generated flow logs: %v", err)
	}
	store.Flush()
	// Every family; the folded ones per group and hour, and in every
	// label set kept (groundtruth.Truth.Check).
	ds.Truth.Check(tb, store)
	if tb.Failed() {
		tb.FailNow()
	}
	return ds
}

// LoadURL is Load without the ground truth check, into any
// VictoriaMetrics (the benchmark's); the caller flushes.
func LoadURL(url string, opts Options) (*Dataset, error) {
	return load(vmclient.Config{URL: url}, url, opts)
}

// sink stores batch i, its aggregate resolved as res.
type sink func(i int, a *aggregate.Aggregate, res *aggregate.Resolution) error

// load writes the dataset through a client of cfg; url is Dataset.URL.
func load(cfg vmclient.Config, url string, opts Options) (*Dataset, error) {
	store, err := vmclient.New(cfg)
	if err != nil {
		return nil, err
	}
	var keeper *aggregate.Keeper // decides the keep sets as the collector does
	if opts.TopK > 0 {
		keeper = aggregate.NewKeeper(opts.TopK)
	}
	direct := func(i int, a *aggregate.Aggregate, res *aggregate.Resolution) error {
		b := store.NewBatch()
		out := a.Output(res)
		fold := aggregate.Fold{}
		if keeper != nil {
			fold.Keep, _ = keeper.Decide(out.Candidates())
		}
		out.Emit(slot(i), fold, b.Add)
		if err := store.WriteBatch(context.Background(), b); err != nil {
			return fmt.Errorf("write batch %d: %w", i, err)
		}
		return nil
	}
	return generateBatches(url, opts, direct)
}

// generateBatches generates the flow logs, aggregates them per batch of
// objects and hands each batch to store.
func generateBatches(url string, opts Options, store sink) (*Dataset, error) {
	cfg := opts.Generate
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	}
	if cfg.Format == nil {
		f, err := flowlog.ParseFormat("v5")
		if err != nil {
			return nil, err
		}
		cfg.Format = f
	}
	cfg.Plain = true // no gzip: the objects are thrown away
	per := opts.ObjectsPerBatch
	if per <= 0 {
		per = 4
	}
	ds := &Dataset{URL: url, Truth: groundtruth.New(), Seen: map[string][2]int64{}}
	if opts.PerMinute {
		ds.Minutes = map[int64]*groundtruth.Truth{}
	}
	// What the batches taught: interface metadata and address owners. With
	// the ground truth, every batch knows what all of them taught, as the
	// truth does; without it (large datasets), batches are written as they
	// are formed, knowing what the earlier ones taught, as the collector
	// does.
	meta := map[string]aggregate.Meta{}
	owners := map[string]string{}
	byAddr := map[string]string{}
	learn := func(a *aggregate.Aggregate) {
		m, o := a.Learned()
		for k, v := range m {
			old := meta[k]
			keep := func(v, o string) string {
				if v == "" || v == schema.Absent {
					return o
				}
				return v
			}
			meta[k] = aggregate.Meta{VPC: keep(v.VPC, old.VPC), Subnet: keep(v.Subnet, old.Subnet), AZ: keep(v.AZ, old.AZ), Instance: keep(v.Instance, old.Instance)}
		}
		for k, iface := range o {
			owners[k] = iface
			_, addr, _ := strings.Cut(k, " ")
			if prev, ok := byAddr[addr]; ok && prev != iface {
				iface = ""
			}
			byAddr[addr] = iface
		}
	}
	lookupMeta := func(iface string) (aggregate.Meta, bool) { m, ok := meta[iface]; return m, ok }
	lookupOwner := func(vpc, addr string) (string, bool) {
		if o, ok := owners[aggregate.OwnerKey(vpc, addr)]; ok {
			return o, true
		}
		if o := byAddr[addr]; o != "" {
			return o, true
		}
		return "", false
	}
	statusStep := int64(schema.Families()[schema.Status].Step / time.Second)
	write := func(i int, a *aggregate.Aggregate) error {
		res := a.Resolve(lookupMeta, lookupOwner)
		return store(i, a, &res)
	}

	var batches []*aggregate.Aggregate
	var writeErr error
	var objects int
	lastKey := ""
	minMinute, maxMinute := int64(1<<62), int64(-1<<62)
	cfg.Observe = func(key string, r *flowlog.Record) {
		if key != lastKey {
			if objects%per == 0 {
				if n := len(batches); opts.NoTruth && n > 0 && writeErr == nil {
					learn(batches[n-1])
					writeErr = write(n-1, batches[n-1])
					batches[n-1] = nil
				}
				batches = append(batches, aggregate.New())
			}
			objects++
			lastKey = key
		}
		batches[len(batches)-1].Add(r, &aggregate.Context{})
		if !opts.NoTruth {
			ds.Truth.Observe(r)
		}
		ds.Records++
		var minute int64
		if r.Present.Has(flowlog.Start) {
			minute = r.Start / 60 * 60
		}
		if ds.Minutes != nil {
			t := ds.Minutes[minute]
			if t == nil {
				t = groundtruth.New()
				ds.Minutes[minute] = t
			}
			t.Observe(r)
		}
		vpc := strings.Join([]string{text(r, flowlog.AccountID), text(r, flowlog.Region), text(r, flowlog.VPCID)}, "|")
		interval := minute - minute%statusStep
		seen, ok := ds.Seen[vpc]
		if !ok {
			seen = [2]int64{interval, interval}
		}
		ds.Seen[vpc] = [2]int64{min(seen[0], interval), max(seen[1], interval)}
		minMinute = min(minMinute, minute)
		maxMinute = max(maxMinute, (max(r.End, r.Start)+59)/60*60)
	}
	if _, err := generate.Generate(cfg, discard{}); err != nil {
		return nil, err
	}
	if writeErr != nil {
		return nil, writeErr
	}
	ds.Truth.Finish()
	if len(ds.Truth.Conflicts) > 0 {
		return nil, fmt.Errorf("generated data has addresses owned by two interfaces: %v", ds.Truth.Conflicts[:min(5, len(ds.Truth.Conflicts))])
	}
	ds.From, ds.To = time.Unix(minMinute, 0).UTC().Truncate(MaxStep()), time.Unix(maxMinute+60, 0).UTC().Add(MaxStep()-1).Truncate(MaxStep())
	if opts.NoTruth {
		if n := len(batches); n > 0 {
			learn(batches[n-1])
			if err := write(n-1, batches[n-1]); err != nil {
				return nil, err
			}
		}
	} else {
		for _, a := range batches {
			learn(a)
		}
		for i, a := range batches {
			if err := write(i, a); err != nil {
				return nil, err
			}
		}
	}
	ds.Batches = len(batches)
	return ds, nil
}

func text(r *flowlog.Record, f flowlog.Field) string {
	if v, ok := r.Get(f); ok {
		return string(v)
	}
	return schema.Absent
}

// Key joins label values the way Expected keys its map: the values of the
// report's columns joined by "|".
func Key(labels map[string]string, columns []string) string {
	vs := make([]string, len(columns))
	for i, c := range columns {
		vs[i] = labels[c]
	}
	return strings.Join(vs, "|")
}

// Expected returns what the report must answer over all time for metric m
// with the given filters (besides the report's own): per group-by label set
// (Key over Report.GroupBy) the total. For the exporters report the key
// also holds the first_seen, last_seen, status and collector_status
// columns (collector_status "-": a dataset has no exporter status series).
func (ds *Dataset) Expected(rep report.Report, m report.Metric, filters []report.Filter) (map[string]float64, error) {
	return expected(ds.Truth, ds, rep, m, filters)
}

// ExpectedMinutes is Expected over the minutes [from, to) only, for the
// flows and records metrics (counted in the minute of a record's start,
// so also in the interval of a longer step that holds that minute: over a
// range of whole steps of a family it is what the family holds); the
// pair-interface reports are not covered. It needs Options.PerMinute.
func (ds *Dataset) ExpectedMinutes(rep report.Report, m report.Metric, filters []report.Filter, from, to time.Time) (map[string]float64, error) {
	if ds.Minutes == nil {
		return nil, fmt.Errorf("no per-minute truth: load with PerMinute")
	}
	if m != report.MetricFlows && m != report.MetricRecords {
		return nil, fmt.Errorf("per-minute truth counts flows and records only, not %s", m)
	}
	if rep.Family == schema.Pair || rep.ID == report.ReportExporters {
		return nil, fmt.Errorf("no per-minute truth for report %s", rep.ID)
	}
	out := map[string]float64{}
	for minute, t := range ds.Minutes {
		if minute < from.Unix() || minute >= to.Unix() {
			continue
		}
		part, err := expected(t, nil, rep, m, filters)
		if err != nil {
			return nil, err
		}
		for k, v := range part {
			out[k] += v
		}
	}
	return out, nil
}

func expected(t *groundtruth.Truth, ds *Dataset, rep report.Report, m report.Metric, filters []report.Filter) (map[string]float64, error) {
	fam := rep.FamilyDef()
	sums := t.Sums[rep.MetricName(m)]
	all := append(slices.Clone(rep.Filters), filters...)
	kept := map[string]float64{}
	for k, v := range sums {
		values := strings.Split(k, "|")
		ok, err := Matches(fam.Labels, values, all)
		if err != nil {
			return nil, err
		}
		if ok {
			kept[k] = v
		}
	}
	out := groundtruth.Project(kept, fam.Labels, rep.GroupBy)
	if ds == nil || rep.ID != report.ReportExporters {
		return out, nil
	}
	// Exporters: every VPC with records, its status from the status
	// family, first and last minute from the records.
	status := schema.Families()[schema.Status]
	counts := map[string]map[string]float64{}
	for k, v := range t.Sums[status.Name] {
		values := strings.Split(k, "|")
		ok, err := Matches(status.Labels, values, all)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		vpc := strings.Join(values[:3], "|")
		if counts[vpc] == nil {
			counts[vpc] = map[string]float64{}
		}
		counts[vpc][values[4]] += v
	}
	full := map[string]float64{}
	for _, vpc := range slices.Sorted(maps.Keys(counts)) {
		st := report.ExporterOK
		switch c := counts[vpc]; {
		case c["SKIPDATA"] > 0:
			st = report.ExporterSkipData
		case c["OK"] == 0:
			st = report.ExporterNoData
		}
		seen := ds.Seen[vpc]
		minute := func(s int64) string { return time.Unix(s, 0).UTC().Format(time.RFC3339) }
		// No exporter status series in a dataset: collector_status "-".
		full[strings.Join([]string{vpc, minute(seen[0]), minute(seen[1]), st, schema.Absent}, "|")] = out[vpc]
	}
	return full, nil
}

// Matches reports whether the label values (in the order of labels) pass
// every filter.
func Matches(labels, values []string, filters []report.Filter) (bool, error) {
	for _, f := range filters {
		i := slices.Index(labels, f.Label)
		if i < 0 {
			return false, fmt.Errorf("no label %s", f.Label)
		}
		v := values[i]
		var ok bool
		switch f.Op {
		case report.OpEqual:
			ok = v == f.Value
		case report.OpNotEqual:
			ok = v != f.Value
		case report.OpMatch, report.OpNotMatch:
			re, err := regexp.Compile("^(?:" + f.Value + ")$")
			if err != nil {
				return false, err
			}
			ok = re.MatchString(v) == (f.Op == report.OpMatch)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

// Diff lists up to ten differences between two keyed value sets (a key
// missing from got counts as a difference, even where want is 0, and
// shows as NaN); "" when they are equal.
func Diff(got, want map[string]float64) string {
	g := maps.Clone(got)
	for k := range want {
		if _, ok := g[k]; !ok {
			g[k] = math.NaN()
		}
	}
	return groundtruth.Compare(g, want)
}

// TopOf returns the n largest of want, ties broken as the report engine
// breaks them (by the label values of the "|"-joined key, in order), and
// the sum of the rest.
func TopOf(want map[string]float64, n int) (map[string]float64, float64) {
	keys := slices.Collect(maps.Keys(want))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(want[b], want[a]); c != 0 {
			return c
		}
		return slices.Compare(strings.Split(a, "|"), strings.Split(b, "|"))
	})
	top, rest := map[string]float64{}, 0.0
	for i, k := range keys {
		if i < n {
			top[k] = want[k]
		} else {
			rest += want[k]
		}
	}
	return top, rest
}

// Sum returns the sum of the values.
func Sum(m map[string]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}

// EntityIDs returns, per entity type, the ids the ground truth's rows of
// every report hold in their id columns (report.EntityTypeOf): what an
// entity sync of the dataset would name. The values that are no entity
// (-, other, AWS service peers "aws:…") are left out.
func (ds *Dataset) EntityIDs(tb testing.TB) map[report.EntityType]map[string]bool {
	tb.Helper()
	ids := map[report.EntityType]map[string]bool{}
	for _, rep := range report.Reports() {
		want, err := ds.Expected(rep, rep.DefaultMetric(), nil)
		if err != nil {
			tb.Fatal(err)
		}
		for k := range want {
			vs := strings.Split(k, "|")
			for i, c := range rep.Columns() {
				typ := report.EntityTypeOf(c)
				if typ == "" || vs[i] == schema.Absent || vs[i] == schema.Other || strings.HasPrefix(vs[i], schema.PairServicePrefix) {
					continue
				}
				if ids[typ] == nil {
					ids[typ] = map[string]bool{}
				}
				ids[typ][vs[i]] = true
			}
		}
	}
	return ids
}
