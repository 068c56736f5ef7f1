package pipeline_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// exactFamilies are the families whose totals do not depend on how the
// objects were cut into batches (the pair family learns owners batch by
// batch).
var exactFamilies = []int{schema.Interface, schema.Service, schema.Src, schema.Dst, schema.App, schema.Status, schema.Total}

// TestStorageCrashLosesNothing kills VictoriaMetrics with SIGKILL at random
// moments while a run that deletes what it stores goes on, and once more
// right after the run ended, restarting it each time. VictoriaMetrics
// acknowledges samples it has not yet saved to disk, and a kill loses
// them: the collector must not delete an object before its samples are
// saved, and must write again what a restart lost. At the end every family
// equals the ground truth and every object is gone.
func TestStorageCrashLosesNothing(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))

	// The save delay VictoriaMetrics needs, waited for every batch: the
	// final flush (TestFlushedRunSurvivesKill) would end the run before
	// the kills.
	vm, e, tr, objects := crashEnv(t, vmclient.Config{DisableFlush: true}, 21)
	p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 2, MaxWait: 100 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), true) }()

	// Kill it a few times while batches are written and waiting to be
	// saved; then let the run finish (a batch needs the storage's save
	// delay without a crash to be committed).
	kills := 0
	var runErr error
	finished := false
	for kills < 4 && !finished {
		wait := 500*time.Millisecond + time.Duration(rng.Int64N(int64(5*time.Second)))
		select {
		case runErr = <-done:
			finished = true
			continue
		case <-time.After(wait):
		}
		deleted := objects - countFiles(t, e.dir)
		vm.Kill()
		kills++
		t.Logf("kill %d after %v: %d objects deleted so far", kills, wait, deleted)
		time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))
		vm.Start()
	}
	if !finished {
		select {
		case runErr = <-done:
		case <-time.After(3 * time.Minute):
			t.Fatal("the run did not finish within 3 minutes of the last kill")
		}
	}
	if runErr != nil {
		t.Fatal(runErr)
	}
	// The run is over and every object deleted: a crash now must not lose
	// anything either.
	vm.Kill()
	vm.Start()
	tr.Check(t, vm, exactFamilies...)
	if n := countFiles(t, e.dir); n != 0 {
		t.Errorf("%d of %d objects left", n, objects)
	}
	if kills == 0 {
		t.Errorf("the run ended before the first kill: the data set is too small to test crashes during a run")
	}
	if r := p.Stats().Restarts.Load(); r == 0 {
		t.Errorf("no storage restart seen in %d kills", kills)
	}
}

// TestFlushedRunSurvivesKill: `run --once` asks the storage to save its
// last batches at once instead of waiting its save delay (18 s here), and
// deletes their objects; a SIGKILL of the storage right after the run must
// lose nothing.
func TestFlushedRunSurvivesKill(t *testing.T) {
	vm, e, tr, objects := crashEnv(t, vmclient.Config{}, 22)
	p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 4, MaxWait: 100 * time.Millisecond})
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	vm.Kill()
	vm.Start()
	if n := p.Stats().Flushes.Load(); n == 0 {
		t.Error("the run did not flush the storage")
	}
	if n := countFiles(t, e.dir); n != 0 {
		t.Errorf("%d of %d objects left", n, objects)
	}
	tr.Check(t, vm, exactFamilies...)
}

// crashEnv starts a VictoriaMetrics, a client of it with cfg (its URL
// filled in) and a folder of 60,000 generated records (2 hours, 40
// interfaces, 3 VPCs) from seed; it returns them, the ground truth and the
// number of objects.
func crashEnv(t *testing.T, cfg vmclient.Config, seed int64) (*testserver.VM, *env, *groundtruth.Truth, int) {
	t.Helper()
	vm := testserver.VictoriaMetrics(t)
	cfg.URL = vm.URL
	store, err := vmclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{vm: vm, store: store, dir: t.TempDir(), state: t.TempDir()}
	e.open(t)
	f, _ := flowlog.ParseFormat("v5")
	tr := generated(t, e.dir, generate.Config{Records: 60000, Seed: seed, Format: f, Duration: 2 * time.Hour, ENIs: 40, VPCs: 3})
	return vm, e, tr, countFiles(t, e.dir)
}
