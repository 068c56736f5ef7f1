package spool

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// TestOriginsAndTake: the downloader copies from the enabled sources, with
// their downloaders and first runs; the collector role's sources read the
// spool instead, their first runs left to the downloader.
func TestOriginsAndTake(t *testing.T) {
	no := false
	cfgs := []source.Config{
		{Name: "prod", Type: source.TypeDir, Path: t.TempDir(), Downloaders: 3, OnFirstRun: sourcestate.FirstRunPurge, PurgeOlderThan: time.Hour},
		{Name: "off", Type: source.TypeDir, Path: t.TempDir(), Enabled: &no},
		{Name: "shared", Type: source.TypeDir, Path: t.TempDir(), DeleteAfterIngest: &no, OnFirstRun: sourcestate.FirstRunSkip},
	}
	log := slog.New(slog.DiscardHandler)
	origins := Origins(context.Background(), cfgs, log)
	if len(origins) != 2 || origins[0].Source.Name() != "prod" || origins[1].Source.Name() != "shared" {
		t.Fatalf("origins %+v, want prod and shared", origins)
	}
	if o := origins[0]; o.Workers != 3 || o.Shared || o.FirstRun != (sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge, OlderThan: time.Hour}) {
		t.Errorf("prod: %+v", o)
	}
	if o := origins[1]; !o.Shared || o.FirstRun.Mode != sourcestate.FirstRunSkip {
		t.Errorf("shared: %+v", o)
	}

	dir := t.TempDir()
	srcs := pipeline.NewSources(context.Background(), cfgs, decode.Options{}, nil, log)
	Take(srcs, dir)
	for _, s := range srcs {
		sp, ok := s.Source.(*Source)
		if !ok || sp.dir != dir || sp.Name() != s.Name() || s.Fetchers != 0 || s.FirstRun != (sourcestate.FirstRun{Mode: sourcestate.FirstRunBackfill}) {
			t.Errorf("%s: %T %+v", s.Name(), s.Source, s)
		}
	}
}
