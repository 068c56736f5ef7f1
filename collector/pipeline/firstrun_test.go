package pipeline_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
)

// agedData generates flow logs under dir, makes the objects of the first
// half hour look an hour old (their modification time), and returns the
// ground truth of all records, of the new objects' records, and the old
// keys.
func agedData(t *testing.T, dir string) (all, fresh *groundtruth.Truth, oldKeys []string) {
	t.Helper()
	all, fresh = groundtruth.New(), groundtruth.New()
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f, _ := flowlog.ParseFormat("v5")
	isOld := map[string]bool{}
	_, err := generate.Generate(generate.Config{Records: 6000, Seed: 21, Format: f, Start: start, Duration: time.Hour, ENIs: 12, VPCs: 2,
		Observe: func(key string, r *flowlog.Record) {
			all.Observe(r)
			kt, _ := source.KeyTime(key)
			if kt.Before(start.Add(30 * time.Minute)) {
				if !isOld[key] {
					isOld[key] = true
					oldKeys = append(oldKeys, key)
				}
			} else {
				fresh.Observe(r)
			}
		}}, generate.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	all.Finish()
	fresh.Finish()
	hourAgo := time.Now().Add(-time.Hour)
	for _, k := range oldKeys {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(k)), hourAgo, hourAgo); err != nil {
			t.Fatal(err)
		}
	}
	if len(oldKeys) == 0 {
		t.Fatal("no old objects")
	}
	return all, fresh, oldKeys
}

func firstRunPipeline(t *testing.T, e *env, fr sourcestate.FirstRun) *pipeline.Pipeline {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src := &sourcestate.Source{Source: source.NewDir("local", e.dir), Delete: true, FirstRun: fr}
	p, err := pipeline.New([]*sourcestate.Source{src}, e.ledger, e.store, pipeline.Options{TopK: 1 << 30, MaxObjects: 1000, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFirstRun checks each first-run mode against ground truth: purge
// deletes the objects older than its cutoff unread and collects the others,
// skip leaves every object already there alone for good and collects those
// that arrive after, backfill collects everything; a restart does not do
// its first run again.
func TestFirstRun(t *testing.T) {
	for _, mode := range []string{sourcestate.FirstRunPurge, sourcestate.FirstRunSkip, sourcestate.FirstRunBackfill} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			all, fresh, oldKeys := agedData(t, e.dir)
			total := countFiles(t, e.dir)
			p := firstRunPipeline(t, e, sourcestate.FirstRun{Mode: mode, OlderThan: 15 * time.Minute})
			if err := p.Run(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			rep := p.Sources()[0]
			var wantLeft, wantPurged, wantIngested int
			switch mode {
			case sourcestate.FirstRunBackfill:
				all.Check(t, e.vm)
				wantIngested = total
			case sourcestate.FirstRunPurge:
				fresh.Check(t, e.vm)
				wantPurged, wantIngested = len(oldKeys), total-len(oldKeys)
			case sourcestate.FirstRunSkip:
				wantLeft = total
			}
			if n := countFiles(t, e.dir); n != wantLeft || rep.Purged != int64(wantPurged) || rep.Ingested != int64(wantIngested) {
				t.Errorf("%d objects left, %d purged, %d ingested; want %d, %d, %d", n, rep.Purged, rep.Ingested, wantLeft, wantPurged, wantIngested)
			}
			if rep.Status != sourcestate.StatusEnabled || rep.Ingested != rep.Deleted || rep.Backlog != 0 || rep.FirstRun != mode {
				t.Errorf("status %+v", rep)
			}

			// Objects that arrive later are collected by the next run, and
			// the first run is not done again.
			time.Sleep(10 * time.Millisecond) // past a skip's cutoff, whatever the file system's time granularity
			v5, _ := flowlog.ParseFormat("v5")
			later := generated(t, e.dir, generate.Config{Records: 2000, Seed: 22, Format: v5,
				Start: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), Duration: 20 * time.Minute, ENIs: 12, VPCs: 2})
			before := countFiles(t, e.dir)
			p = firstRunPipeline(t, e, sourcestate.FirstRun{Mode: mode, OlderThan: 15 * time.Minute})
			if err := p.Run(context.Background(), true); err != nil {
				t.Fatal(err)
			}
			r := p.Sources()[0]
			if n := countFiles(t, e.dir); r.Purged != 0 || r.Ingested != int64(before-wantLeft) || n != wantLeft {
				t.Errorf("second run: %d purged, %d ingested, %d left; want 0, %d, %d", r.Purged, r.Ingested, n, before-wantLeft, wantLeft)
			}
			if mode == sourcestate.FirstRunSkip {
				later.Check(t, e.vm)
			}
		})
	}
}

// TestSourceReports checks the per-source counters and the exporters (one
// per VPC, last seen at the latest end of its records).
func TestSourceReports(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v5")
	lastSeen := map[string]int64{}
	var records int64
	_, err := generate.Generate(generate.Config{Records: 4000, Seed: 23, Format: f, Start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		Duration: 20 * time.Minute, ENIs: 12, VPCs: 3, Observe: func(_ string, r *flowlog.Record) {
			records++
			vpc, _ := r.Get(flowlog.VPCID)
			lastSeen[string(vpc)] = max(lastSeen[string(vpc)], r.End)
		}}, generate.Dir(e.dir))
	if err != nil {
		t.Fatal(err)
	}
	objects := int64(countFiles(t, e.dir))
	p := e.pipeline(t, true, pipeline.Options{TopK: 1 << 30, MaxObjects: 3})
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	r := p.Sources()[0]
	if r.Name != "local" || r.Listed != objects || r.Downloaded != objects || r.Ingested != objects || r.Deleted != objects ||
		r.Records != records || r.Quarantined != 0 || r.Backlog != 0 || r.Bytes == 0 || r.LastListed.IsZero() {
		t.Errorf("report %+v; want %d objects, %d records", r, objects, records)
	}
	var newest int64
	for _, end := range lastSeen {
		newest = max(newest, end)
	}
	if r.NewestEnd.Unix() != newest || r.Lag <= 0 {
		t.Errorf("newest end %v, lag %v; want %v", r.NewestEnd, r.Lag, time.Unix(newest, 0))
	}
	exps := p.Exporters()
	if len(exps) != len(lastSeen) {
		t.Fatalf("exporters %+v, want the VPCs %v", exps, lastSeen)
	}
	for _, x := range exps {
		if x.Source != "local" || x.Account == "-" || x.Region != "us-east-1" || x.LastSeen.Unix() != lastSeen[x.VPC] {
			t.Errorf("exporter %+v; want last seen %v", x, time.Unix(lastSeen[x.VPC], 0))
		}
	}
}
