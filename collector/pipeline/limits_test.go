package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vpcflow/vpcflow/collector/aggregate"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/schema"
)

// objectAggregates aggregates each object under dir on its own, as the
// pipeline does, in the order the pipeline takes them.
func objectAggregates(t *testing.T, dir string) ([]source.Object, []*aggregate.Aggregate) {
	t.Helper()
	objs, err := source.NewDir("local", dir).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(objs, source.CompareByKeyTime)
	aggs := make([]*aggregate.Aggregate, len(objs))
	for i, o := range objs {
		aggs[i] = aggregate.New()
		acct, region := source.KeyContext(o.Key)
		ctx := aggregate.Context{Account: acct, Region: region}
		if _, err := decode.File(filepath.Join(dir, o.Key), decode.Options{}, func(r *flowlog.Record) error {
			aggs[i].Add(r, &ctx)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return objs, aggs
}

// TestObjectOverBoundQuarantined puts an object whose every line names an
// interface of its own among generated ones: it goes over the per-object
// bound, is quarantined with a reason naming it, its cells and the bound,
// its decoding stops at the bound (not at its end), none of its records
// count and the others are stored exactly.
func TestObjectOverBoundQuarantined(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 3000, Seed: 21, Format: f, Duration: 20 * time.Minute, ENIs: 10, VPCs: 1})
	const bound, lines = 50_000, 20_000
	_, aggs := objectAggregates(t, e.dir)
	for _, a := range aggs {
		if a.Cells() > bound {
			t.Fatalf("a generated object has %d cells, over the bound %d: the test needs a larger one", a.Cells(), bound)
		}
	}
	path := hostileObject(t, e.dir, 0, lines) // 13 cells a line
	p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 1000, MaxObjectCells: bound})
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	tr.Check(t, e.vm)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the quarantined object was deleted: %v", err)
	}
	q, err := e.ledger.Quarantined("")
	if err != nil || len(q) != 1 || q[0].Key != hostileKey(0) {
		t.Fatalf("quarantined %+v, %v; want the hostile object", q, err)
	}
	reason := q[0].Reason
	m := regexp.MustCompile(`^local:` + regexp.QuoteMeta(hostileKey(0)) + `: too large at byte (\d+): (\d+) cells \(label sets × intervals\) after (\d+) records, more than the per-object bound of 50000 \(aggregation.max_object_cells\)$`).FindStringSubmatch(reason)
	if m == nil {
		t.Fatalf("reason %q does not name the object, its cells and the bound", reason)
	}
	cells, _ := strconv.Atoi(m[2])
	records, _ := strconv.Atoi(m[3])
	if cells <= bound || cells > bound+hostileLineCells {
		t.Errorf("stopped at %d cells: want just over %d", cells, bound)
	}
	if records > bound/hostileLineCells+1 {
		t.Errorf("%d of %d records decoded: decoding went on past the bound (%d records)", records, lines, bound/hostileLineCells+1)
	}
}

// TestBatchSplitsAtBound ingests generated objects with a batch bound of
// about three objects' cells: each batch closes before the object that
// would take it over the bound, and holds exactly the objects a greedy
// split in key order gives; every family but the pair ones (whose owners
// are learned batch by batch) still adds up to the ground truth.
func TestBatchSplitsAtBound(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 20000, Seed: 22, Format: f, Duration: time.Hour, ENIs: 20, VPCs: 2})
	objs, aggs := objectAggregates(t, e.dir)
	sizes := make([]int, len(aggs))
	for i, a := range aggs {
		sizes[i] = a.Cells()
	}
	bound := 3 * slices.Max(sizes)
	// The batches a greedy split gives: an object goes into the batch when
	// the batch's merged cells and its own stay within the bound.
	var want [][]string
	var batch *aggregate.Aggregate
	for i, o := range objs {
		if batch == nil || batch.Cells()+sizes[i] > bound {
			batch = aggregate.New()
			want = append(want, nil)
		}
		batch.Merge(aggs[i])
		want[len(want)-1] = append(want[len(want)-1], o.Key)
	}
	if len(want) < 3 {
		t.Fatalf("%d objects make %d batches: the test needs more", len(objs), len(want))
	}
	p := e.pipeline(t, false, pipeline.Options{TopK: 1 << 30, MaxObjects: 1000, MaxBytes: 1 << 40, MaxBatchCells: bound})
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	// The ledger says which batch stored each object.
	byBatch := map[uint64][]string{}
	for _, o := range objs {
		rec, err := e.ledger.Lookup("local", o.Key, o.Version)
		if err != nil || rec.State != ledger.Ingested {
			t.Fatalf("%s: %+v, %v; want ingested", o.Key, rec, err)
		}
		byBatch[rec.Batch] = append(byBatch[rec.Batch], o.Key)
	}
	var got [][]string
	for _, id := range slices.Sorted(maps.Keys(byBatch)) {
		got = append(got, byBatch[id])
	}
	t.Logf("%d objects in %d batches (bound %d cells)", len(objs), len(got), bound)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches (bound %d, object cells %v):\n%q\nwant\n%q", bound, sizes, got, want)
	}
	tr.Check(t, e.vm, schema.Interface, schema.Service, schema.Src, schema.Dst, schema.App, schema.Status, schema.Total)
}

// endless is a source of one object that never ends: a header and the same
// line over and over (plain text, or gzip through a pipe). It closes
// reading once the object has been read from.
type endless struct {
	gzipped bool
	reading chan struct{}
	once    bool
}

const endlessKey = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/03/01/endless.log"

func (s *endless) Name() string { return "endless" }

func (s *endless) List(context.Context) ([]source.Object, error) {
	return []source.Object{{Key: endlessKey, Version: "1", Size: 1 << 40}}, nil
}

func (s *endless) Delete(context.Context, source.Object) error { return nil }

func (s *endless) Open(context.Context, source.Object) (io.ReadCloser, error) {
	text := &repeat{head: []byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"),
		line: []byte("2 123456789012 eni-0123456789abcdef0 10.0.1.5 10.0.2.7 44321 443 6 10 5000 1772359201 1772359261 ACCEPT OK\n")}
	var r io.ReadCloser = io.NopCloser(text)
	if s.gzipped {
		pr, pw := io.Pipe()
		go func() {
			zw := gzip.NewWriter(pw)
			_, err := io.Copy(zw, text) // ends when the reader is closed
			pw.CloseWithError(err)
		}()
		r = pr
	}
	return &signal{ReadCloser: r, s: s}, nil
}

// signal closes its source's reading channel at the first read.
type signal struct {
	io.ReadCloser
	s *endless
}

func (r *signal) Read(p []byte) (int, error) {
	if !r.s.once {
		r.s.once = true
		close(r.s.reading)
	}
	return r.ReadCloser.Read(p)
}

// repeat reads as head followed by line forever.
type repeat struct {
	head, line []byte
	off        int
}

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.head) > 0 {
			c := copy(p[n:], r.head)
			r.head, n = r.head[c:], n+c
			continue
		}
		c := copy(p[n:], r.line[r.off:])
		r.off, n = (r.off+c)%len(r.line), n+c
	}
	return n, nil
}

// TestStopInterruptsDecoding cancels a run while it decodes an object that
// never ends: the run returns promptly (within 5 s, while a second of
// decoding is about a million records), with the context's error, and the
// object is not quarantined (a stop says nothing against it).
func TestStopInterruptsDecoding(t *testing.T) {
	for _, gzipped := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gzipped), func(t *testing.T) {
			e := newEnv(t)
			src := &endless{gzipped: gzipped, reading: make(chan struct{})}
			log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
			p, err := pipeline.New([]*sourcestate.Source{{Source: src}}, e.ledger, e.store, pipeline.Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx, true) }()
			<-src.reading
			cancel()
			began := time.Now()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
					t.Errorf("Run returned %v, want the context's error", err)
				}
				t.Logf("Run returned %v after the cancel", time.Since(began).Round(time.Millisecond))
			case <-time.After(5 * time.Second):
				t.Fatal("Run still decoding 5s after its context was cancelled")
			}
			if q, err := e.ledger.Quarantined(""); err != nil || len(q) != 0 {
				t.Errorf("quarantined %+v, %v; want nothing", q, err)
			}
		})
	}
}

// TestLearnedFactsBounded ingests the objects of 60 interfaces one batch
// each, with at most 8 interfaces and 8 addresses remembered: the ledger's
// facts and what a new pipeline loads from them stay within the bounds plus
// what one batch sees, while the families that do not depend on owners
// still add up to the ground truth.
func TestLearnedFactsBounded(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 6000, Seed: 23, Format: f, Duration: 30 * time.Minute, ENIs: 60, VPCs: 6})
	const bound = 8
	_, aggs := objectAggregates(t, e.dir)
	var perBatch int
	metas, owners := map[string]bool{}, map[string]bool{}
	for _, a := range aggs {
		m, o := a.Learned()
		perBatch = max(perBatch, len(m), len(o))
		for k := range m {
			metas[k] = true
		}
		for k := range o {
			owners[k] = true
		}
	}
	allMeta, allOwners := len(metas), len(owners)
	if allMeta <= bound+perBatch || allOwners <= bound+perBatch {
		t.Fatalf("%d interfaces and %d addresses, %d at most in one object: the test needs more", allMeta, allOwners, perBatch)
	}
	p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 1, MaxInterfaces: bound, MaxAddresses: bound})
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	tr.Check(t, e.vm, schema.Interface, schema.Service, schema.Src, schema.Dst, schema.App, schema.Status, schema.Total)
	t.Logf("%d interfaces and %d addresses in all, %d at most in one batch", allMeta, allOwners, perBatch)
	for _, kind := range []string{"meta", "owner"} {
		n := 0
		if err := e.ledger.Facts(kind, func(string, []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d %s facts in the ledger", n, kind)
		if n == 0 || n > bound+perBatch {
			t.Errorf("%d %s facts in the ledger, want 1 to %d (the bound %d and what one batch sees, %d)", n, kind, bound+perBatch, bound, perBatch)
		}
	}
}
