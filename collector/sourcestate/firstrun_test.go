package sourcestate_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// TestEnsureFirstRun checks what each first-run mode decides and does
// with a folder holding objects of several ages, one of which the ledger
// knows: purge deletes, unread, the unknown objects older than its cutoff
// (and only once: the ledger remembers it), skip leaves everything and
// is done at once, backfill (the default) deletes nothing and is done
// once the caller says so; an unknown mode is refused, recording nothing.
// One of several instances purges its share of the objects only.
func TestEnsureFirstRun(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 3, 12, 0, 0, 0, time.UTC)
	ages := map[string]time.Duration{"old-1.log": 3 * time.Hour, "old-2.log": 2 * time.Hour, "known.log": 4 * time.Hour, "new.log": time.Minute}
	f := func(fr sourcestate.FirstRun, want ledger.SourceState, wantLeft []string, wantErr string) {
		t.Helper()
		dir := t.TempDir()
		for name, age := range ages {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
				t.Fatal(err)
			}
		}
		l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		src := source.NewDir("local", dir)
		objs, err := src.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.Key == "known.log" { // ingested, its delete not done yet: not the purge's
				if err := l.MarkIngested(ledger.Object{Source: "local", Key: o.Key, Version: o.Version, Size: o.Size}); err != nil {
					t.Fatal(err)
				}
			}
		}
		log := slog.New(slog.DiscardHandler)
		purged := 0
		st, err := sourcestate.EnsureFirstRun(ctx, l, src, fr, now, log, func() { purged++ })
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%+v: error %v, want %q", fr, err, wantErr)
			}
			if _, found, _ := l.SourceState("local"); found {
				t.Errorf("%+v: a state recorded after an error", fr)
			}
			return
		}
		if err != nil {
			t.Fatalf("%+v: %v", fr, err)
		}
		if kept, found, err := l.SourceState("local"); err != nil || !found || kept != want || st != want {
			t.Errorf("%+v: state %+v, kept %+v (%v, %v); want %+v", fr, st, kept, found, err, want)
		}
		var left []string
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			left = append(left, e.Name())
		}
		if !slices.Equal(left, wantLeft) || purged != len(ages)-len(wantLeft) {
			t.Errorf("%+v: left %v, %d purged; want %v", fr, left, purged, wantLeft)
		}
		// A second run, later, decides nothing anew and purges nothing more.
		again, err := sourcestate.EnsureFirstRun(ctx, l, src, sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge}, now.Add(time.Hour), log, func() { purged++ })
		if err != nil || again != want || purged != len(ages)-len(wantLeft) {
			t.Errorf("%+v: second run %+v, %d purged, %v", fr, again, purged, err)
		}
	}
	all := []string{"known.log", "new.log", "old-1.log", "old-2.log"}
	f(sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge, OlderThan: 90 * time.Minute},
		ledger.SourceState{FirstRun: now, Mode: sourcestate.FirstRunPurge, Cutoff: now.Add(-90 * time.Minute), Done: true}, []string{"known.log", "new.log"}, "")
	f(sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge, OlderThan: 150 * time.Minute},
		ledger.SourceState{FirstRun: now, Mode: sourcestate.FirstRunPurge, Cutoff: now.Add(-150 * time.Minute), Done: true}, []string{"known.log", "new.log", "old-2.log"}, "")
	f(sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge},
		ledger.SourceState{FirstRun: now, Mode: sourcestate.FirstRunPurge, Cutoff: now.Add(-source.DefaultPurgeOlderThan), Done: true}, []string{"known.log", "new.log"}, "")
	// Instance 1 of 2 purges its share only (old-2.log): instance 0's first
	// run, and cutoff, may come later.
	f(sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge, OlderThan: 90 * time.Minute, Share: source.Share{Index: 1, Count: 2}},
		ledger.SourceState{FirstRun: now, Mode: sourcestate.FirstRunPurge, Cutoff: now.Add(-90 * time.Minute), Done: true}, []string{"known.log", "new.log", "old-1.log"}, "")
	f(sourcestate.FirstRun{Mode: sourcestate.FirstRunSkip, OlderThan: time.Minute},
		ledger.SourceState{FirstRun: now, Mode: sourcestate.FirstRunSkip, Cutoff: now, Done: true}, all, "")
	f(sourcestate.FirstRun{Mode: sourcestate.FirstRunBackfill}, ledger.SourceState{FirstRun: now, Mode: sourcestate.FirstRunBackfill}, all, "")
	f(sourcestate.FirstRun{}, ledger.SourceState{FirstRun: now, Mode: sourcestate.FirstRunBackfill}, all, "")
	f(sourcestate.FirstRun{Mode: "forget"}, ledger.SourceState{}, nil, `source local: first-run mode "forget": want purge, backfill or skip`)
}

// TestOpen: a source that cannot be set up stands in for itself, failing
// every call with ErrCredentials and the reason, named by its index and
// name; the main log says so.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	var main strings.Builder
	log := slog.New(slog.NewTextHandler(&main, nil))
	dir := sourcestate.Open(ctx, 0, source.Config{Name: "local", Type: source.TypeDir, Path: t.TempDir()}, log)
	if _, ok := dir.(*source.Dir); !ok {
		t.Errorf("a folder source: %T", dir)
	}
	bad := sourcestate.Open(ctx, 2, source.Config{Name: "prod", Type: source.TypeS3, Bucket: "logs", Region: "us-east-1",
		Credentials: source.Credentials{AccessKeyIDEnv: "VPCFLOW_SURELY_UNSET", SecretAccessKey: "s3cret"}}, log)
	_, listErr := bad.List(ctx)
	_, openErr := bad.Open(ctx, source.Object{Key: "k"})
	delErr := bad.Delete(ctx, source.Object{Key: "k"})
	for _, err := range []error{listErr, openErr, delErr} {
		if !errors.Is(err, sourcestate.ErrCredentials) || !strings.Contains(err.Error(), "sources[2] (prod): credentials.access_key_id: environment variable VPCFLOW_SURELY_UNSET is not set") {
			t.Errorf("source not set up: %v", err)
		}
	}
	if bad.Name() != "prod" || !strings.Contains(main.String(), `msg="source not set up" source=prod`) || strings.Contains(main.String(), "s3cret") {
		t.Errorf("name %q, main log %s", bad.Name(), main.String())
	}
}
