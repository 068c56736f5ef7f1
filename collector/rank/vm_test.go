package rank_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/rank"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// start is where the test data begins.
var start = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newStore(t *testing.T, vm *testserver.VM) *vmclient.Client {
	t.Helper()
	s, err := vmclient.New(vmclient.Config{URL: vm.URL, Timeout: 5 * time.Second, Retry: vmclient.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newRanker(t *testing.T, s rank.Store, topK int) *rank.Ranker {
	t.Helper()
	r, err := rank.New(s, rank.Config{TopK: topK, Settle: time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type discard struct{}

func (discard) Create(string) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// load generates flow logs and writes them as the collector does: batches
// of four objects, each aggregated, top-K folded with topK and written at
// a slot of its own.
func load(t *testing.T, vm *testserver.VM, store *vmclient.Client, cfg generate.Config, topK int) {
	t.Helper()
	var batches []*aggregate.Aggregate
	last, objects := "", 0
	cfg.Observe = func(key string, r *flowlog.Record) {
		if key != last {
			if objects%4 == 0 {
				batches = append(batches, aggregate.New())
			}
			objects++
			last = key
		}
		batches[len(batches)-1].Add(r, &aggregate.Context{})
	}
	if _, err := generate.Generate(cfg, discard{}); err != nil {
		t.Fatal(err)
	}
	for i, a := range batches {
		meta, owners := a.Learned()
		res := a.Resolve(func(iface string) (aggregate.Meta, bool) { m, ok := meta[iface]; return m, ok },
			func(vpc, addr string) (string, bool) { o, ok := owners[aggregate.OwnerKey(vpc, addr)]; return o, ok })
		if err := store.Write(context.Background(), a.Series(&res, i*997%60000, aggregate.Fold{TopK: topK})); err != nil {
			t.Fatal(err)
		}
	}
	vm.Flush()
}

// row is one index row: its view's labels joined by "|" and its value.
type row struct {
	key   string
	value float64
}

// hourSums sums the family series name over [hour, hour+1h) by labels,
// from its raw samples, and returns per group the label sets, largest
// first (ties by key).
func hourSums(t *testing.T, vm *testserver.VM, name string, hour time.Time, labels, group []string) map[string][]row {
	t.Helper()
	from, to := hour.UnixMilli(), hour.Add(time.Hour).UnixMilli()
	sums := map[string]float64{}
	for _, s := range vm.Export(t, name) {
		for i, ts := range s.Timestamps {
			if ts >= from && ts < to {
				sums[join(s.Metric, labels)] += s.Values[i]
			}
		}
	}
	out := map[string][]row{}
	for k, v := range sums {
		if v <= 0 {
			continue
		}
		values := strings.Split(k, "|")
		g := join(mapOf(labels, values), group)
		out[g] = append(out[g], row{k, v})
	}
	for _, rows := range out {
		slices.SortFunc(rows, func(a, b row) int { return cmp.Or(cmp.Compare(b.value, a.value), strings.Compare(a.key, b.key)) })
	}
	return out
}

func join(m map[string]string, labels []string) string {
	vs := make([]string, len(labels))
	for i, l := range labels {
		vs[i] = m[l]
	}
	return strings.Join(vs, "|")
}

func mapOf(labels, values []string) map[string]string {
	m := map[string]string{}
	for i, l := range labels {
		m[l] = values[i]
	}
	return m
}

// index returns the rank index rows of a view and metric at hour, per
// group; it fails the test on a sample at any other timestamp than an
// hour's start, or a series with more than one sample an hour.
func index(t *testing.T, vm *testserver.VM, metric string, v schema.RankView, hour time.Time) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	for _, s := range vm.Export(t, fmt.Sprintf(`%s_%s{view=%q}`, schema.RankName, metric, v.ID)) {
		for _, l := range append([]string{"__name__", schema.LabelView}, v.Labels...) {
			if s.Metric[l] == "" {
				t.Errorf("%v lacks label %s", s.Metric, l)
			}
		}
		if len(s.Metric) != len(v.Labels)+2 {
			t.Errorf("%v: want the labels __name__, view and %v only", s.Metric, v.Labels)
		}
		seen := map[int64]bool{}
		for i, ts := range s.Timestamps {
			if ts%3600000 != 0 || seen[ts] {
				t.Errorf("%v: sample at %d (twice: %v): want one at each hour's start", s.Metric, ts, seen[ts])
			}
			seen[ts] = true
			if ts != hour.UnixMilli() {
				continue
			}
			g := join(s.Metric, v.Group)
			if out[g] == nil {
				out[g] = map[string]float64{}
			}
			out[g][join(s.Metric, v.Labels)] = s.Values[i]
		}
	}
	return out
}

// TestRankGenerated ranks the hours of generated flow logs and checks
// every view and metric against sums computed from the families' raw
// samples: per group exactly the K largest label sets (any of those tied
// at the cut), each with its exact sum over the hour. The hour before the
// data gets nothing.
func TestRankGenerated(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	store := newStore(t, vm)
	f, err := flowlog.ParseFormat("v5")
	if err != nil {
		t.Fatal(err)
	}
	load(t, vm, store, generate.Config{Records: 20000, Seed: 3, Format: f, Start: start, Duration: 80 * time.Minute, ENIs: 20, VPCs: 2}, 5)
	const k = 3
	r := newRanker(t, store, k)
	hours := []time.Time{start.Add(-time.Hour), start, start.Add(time.Hour)}
	if err := r.Hours(context.Background(), hours); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
	if st := r.Stats(); st.HoursRanked != 3 || st.Errors != 0 || st.RowsWritten == 0 {
		t.Errorf("stats %+v", st)
	}
	fams := schema.Families()
	for _, v := range schema.RankViews() {
		for _, m := range []string{"bytes", "packets", "flows"} {
			name := fams[v.Family].Name + "_" + m
			for _, hour := range hours {
				t.Run(fmt.Sprintf("%s/%s/%s", v.ID, m, hour.Format("15h")), func(t *testing.T) {
					want := hourSums(t, vm, name, hour, v.Labels, v.Group)
					got := index(t, vm, m, v, hour)
					if hour.Before(start) {
						if len(want) != 0 || len(got) != 0 {
							t.Fatalf("hour without data: want nothing, got %d groups (%d in the family)", len(got), len(want))
						}
						return
					}
					if len(want) == 0 {
						t.Fatal("no data in the family: the test proves nothing")
					}
					if len(got) != len(want) {
						t.Errorf("%d groups, want %d", len(got), len(want))
					}
					more := false
					for g, rows := range want {
						more = more || len(rows) > k
						exact := map[string]float64{}
						for _, r := range rows {
							exact[r.key] = r.value
						}
						var gotValues []float64
						for key, value := range got[g] {
							if exact[key] != value {
								t.Errorf("group %s: %s = %v, want the hour's sum %v", g, key, value, exact[key])
							}
							gotValues = append(gotValues, value)
						}
						slices.SortFunc(gotValues, func(a, b float64) int { return cmp.Compare(b, a) })
						var wantValues []float64
						for _, r := range rows[:min(k, len(rows))] {
							wantValues = append(wantValues, r.value)
						}
						if !slices.Equal(gotValues, wantValues) {
							t.Errorf("group %s: values %v, want the %d largest %v", g, gotValues, k, wantValues)
						}
					}
					if !more {
						t.Errorf("no group has more than %d label sets: the test proves little", k)
					}
				})
			}
		}
	}
}

// familySeries is one series of the src family.
func srcSeries(addr string, ts int64, bytes float64) vmclient.Series {
	return vmclient.Series{
		Labels: []vmclient.Label{{Name: "__name__", Value: "vpcflow_src_bytes"}, {Name: "account_id", Value: "123"}, {Name: "region", Value: "r"},
			{Name: "vpc_id", Value: "vpc-1"}, {Name: "interface_id", Value: "eni-1"}, {Name: "action", Value: "ACCEPT"}, {Name: "src_addr", Value: addr}},
		Samples: []vmclient.Sample{{Timestamp: ts, Value: bytes}},
	}
}

// TestRecompute ranks an hour, adds late data to it and ranks it again:
// the index keeps one sample per label set at the hour's start, now the
// larger sums; a label set overtaken keeps its earlier value. Samples at
// the last millisecond before the hour and the first after it do not
// count.
func TestRecompute(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	store := newStore(t, vm)
	ctx := context.Background()
	h := start.UnixMilli()
	write := func(series ...vmclient.Series) {
		t.Helper()
		if err := store.Write(ctx, series); err != nil {
			t.Fatal(err)
		}
		vm.Flush()
	}
	write(srcSeries("a", h, 100), srcSeries("b", h+59999, 50), srcSeries("c", h+30*60000, 10),
		srcSeries("c", h-1, 1000), srcSeries("c", h+3600000, 1000)) // outside the hour
	r := newRanker(t, store, 2)
	check := func(want map[string]float64) {
		t.Helper()
		if err := r.Hours(ctx, []time.Time{start}); err != nil {
			t.Fatal(err)
		}
		vm.Flush()
		for _, v := range schema.RankViews()[:2] { // interface-src and src
			got := map[string]float64{}
			for _, s := range vm.Export(t, `vpcflow_rank_bytes{view="`+v.ID+`"}`) {
				if len(s.Timestamps) != 1 || s.Timestamps[0] != h {
					t.Errorf("%s: samples at %v, want one at %d", s.Metric, s.Timestamps, h)
				}
				got[s.Metric["src_addr"]] = s.Values[0]
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("view %s: %v, want %v", v.ID, got, want)
			}
		}
	}
	check(map[string]float64{"a": 100, "b": 50})
	// Late data: c overtakes both, a grows a little.
	write(srcSeries("c", h+59*60000+59999, 200), srcSeries("a", h+1, 1))
	check(map[string]float64{"a": 101, "b": 50, "c": 210})
	if got := vm.Export(t, `{__name__=~"vpcflow_rank_(packets|flows)"}`); len(got) != 0 {
		t.Errorf("%d packets or flows rows for a family with bytes only", len(got))
	}
}

// TestStorageDown: with VictoriaMetrics stopped, Flush fails and the hour
// stays dirty; once it is back, the next Flush ranks it.
func TestStorageDown(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	store := newStore(t, vm)
	ctx := context.Background()
	if err := store.Write(ctx, []vmclient.Series{srcSeries("a", start.UnixMilli()+5*60000, 7)}); err != nil {
		t.Fatal(err)
	}
	vm.Flush()
	r := newRanker(t, store, 3)
	r.Touch([]int64{start.Unix()/60 + 5})
	vm.Stop()
	err := r.Flush(ctx)
	if err == nil || !strings.Contains(err.Error(), "rank hour 2026-03-01T10:00:00Z") {
		t.Fatalf("Flush with the storage down: %v, want an error naming the hour", err)
	}
	if d := r.Dirty(); !slices.Equal(d, []time.Time{start}) {
		t.Fatalf("dirty %v, want 10:00", d)
	}
	if st := r.Stats(); st.Errors != 1 || st.DirtyHours != 1 {
		t.Errorf("stats %+v", st)
	}
	vm.Start()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if d := r.Dirty(); len(d) != 0 {
		t.Errorf("dirty %v after the storage came back", d)
	}
	vm.Flush()
	if got := vm.Totals(t, `vpcflow_rank_bytes{view="src"}`, "src_addr"); got["a"] != 7 || len(got) != 1 {
		t.Errorf("index %v, want a=7", got)
	}
}
