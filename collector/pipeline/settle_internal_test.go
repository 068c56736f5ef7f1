package pipeline

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/vmclient"
)

// acker is a Writer that acknowledges every batch, counts them, and
// reports a storage that saves at once and never restarts (unless told).
type acker struct {
	mu      sync.Mutex
	writes  int
	gen     uint64
	encoder *vmclient.Client
}

func (a *acker) NewBatch() *vmclient.Batch { return a.encoder.NewBatch() }

func (a *acker) WriteBatch(context.Context, *vmclient.Batch) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.writes++
	return nil
}

func (a *acker) Generation() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gen
}

func (a *acker) CheckDurability(context.Context) (vmclient.Durability, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return vmclient.Durability{Generation: a.gen}, nil
}

// TestReplaySkipsSettled: a replay stores the batches to replay one by
// one, and storing one settles the batches waiting to be saved; a batch
// committed that way must not be replayed after it (it was: its objects
// were gone, and its commit failed, "batch is not pending"). Found by the
// race-detector run of TestStorageDownLosesNothing.
func TestReplaySkipsSettled(t *testing.T) {
	w := &acker{encoder: encodeOnly(t)}
	p, l, _ := testPipeline(t, 2000, 3, 20*time.Minute, w)
	src := p.currentSources()[0]
	ctx := context.Background()
	if _, err := p.firstRun(ctx, src); err != nil {
		t.Fatal(err)
	}
	objs, err := src.List(ctx)
	if err != nil || len(objs) < 2 {
		t.Fatalf("listed %d objects: %v", len(objs), err)
	}
	slices.SortFunc(objs, source.CompareByKeyTime)
	// Batch 1: begun and not written (a crash, or sent back by a restart).
	first, _, _, err := p.prepare(ctx, src, objs[:1])
	if err != nil || first == nil {
		t.Fatal(err)
	}
	// Batch 2: written and waiting to be saved, due now.
	second, _, _, err := p.prepare(ctx, src, objs[1:2])
	if err != nil || second == nil {
		t.Fatal(err)
	}
	second.series, second.samples = second.batch.Len()
	second.batch = nil
	p.addUnsettled(second, 0)
	p.unsettled[0].acked = time.Now().Add(-time.Minute)

	if err := p.replay(ctx); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if w.writes != 1 {
		t.Errorf("%d writes, want 1: batch 1 replayed, batch 2 committed on the way, not written again", w.writes)
	}
	if err := p.settle(ctx, true); err != nil {
		t.Fatalf("settle: %v", err)
	}
	if pending, err := l.PendingBatches(); err != nil || len(pending) != 0 {
		t.Errorf("pending after the replay: %v, %v", pending, err)
	}
	if left, _ := src.List(ctx); len(left) != len(objs)-2 {
		t.Errorf("%d objects left, want %d", len(left), len(objs)-2)
	}
}

// encodeOnly returns a client that encodes batches and is never asked to
// send them.
func encodeOnly(t *testing.T) *vmclient.Client {
	t.Helper()
	enc, err := vmclient.New(vmclient.Config{URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// testPipeline generates records v5 records (seed, over d from 2026-03-01
// 10:00 UTC, 10 interfaces in one VPC) into a folder and returns a
// pipeline that backfills it and deletes what it committed, writing to w;
// its ledger (closed when the test ends) and the folder.
func testPipeline(t *testing.T, records int, seed int64, d time.Duration, w Writer) (*Pipeline, *ledger.Ledger, string) {
	t.Helper()
	dir := t.TempDir()
	f, _ := flowlog.ParseFormat("v5")
	if _, err := generate.Generate(generate.Config{Records: records, Seed: seed, Format: f, Start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		Duration: d, ENIs: 10, VPCs: 1}, generate.Dir(dir)); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	p, err := New([]*sourcestate.Source{{Source: source.NewDir("local", dir), Delete: true, FirstRun: sourcestate.FirstRun{Mode: sourcestate.FirstRunBackfill}}},
		l, w, Options{TopK: 1 << 30, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p, l, dir
}
