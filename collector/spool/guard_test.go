package spool

import (
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestGuardFirstRuns: the storage is asked only about the origins whose
// first run the downloader's ledger does not know; traces of one there
// (its ledger lost) stop the start until --lost-state says how to go on,
// which then replaces its first run.
func TestGuardFirstRuns(t *testing.T) {
	empty := testserver.VictoriaMetrics(t)
	traced := testserver.VictoriaMetrics(t)
	storageOf := func(url string) vmclient.Config {
		c := vmclient.DefaultConfig()
		c.URL = url
		return c
	}
	// A trace of a batch of prod, written by collector 0/1 whose ledger
	// was lost.
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	vc, err := vmclient.New(storageOf(traced.URL))
	if err != nil {
		t.Fatal(err)
	}
	err = vc.Write(context.Background(), []vmclient.Series{{Labels: []vmclient.Label{{Name: "__name__", Value: sourcestate.MarkerName},
		{Name: "instance", Value: "0/1"}, {Name: "ledger", Value: "lost-one"}, {Name: "source", Value: "prod"}},
		Samples: []vmclient.Sample{{Timestamp: at.UnixMilli(), Value: float64(at.Unix())}}}})
	if err != nil {
		t.Fatal(err)
	}
	traced.Flush()

	purge := sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge}
	backfill := sourcestate.FirstRun{Mode: sourcestate.FirstRunBackfill}
	const down = "http://127.0.0.1:1"
	for _, tt := range []struct {
		name    string
		known   []string // sources whose first run the ledger knows
		storage string
		mode    string
		err     *regexp.Regexp // nil: none
		prod    sourcestate.FirstRun
	}{
		{name: "first runs known", known: []string{"prod", "shared"}, storage: down, prod: purge},
		{name: "storage out of reach", known: []string{"prod"}, storage: down, prod: purge,
			err: regexp.MustCompile(`^check the storage before the first run of shared: storage http://127\.0\.0\.1:1/api/v1/write not reachable for 0s \(--storage-timeout 1s\): `)},
		{name: "agreeing storage", storage: empty.URL, prod: purge},
		{name: "known despite traces", known: []string{"prod"}, storage: traced.URL, prod: purge},
		{name: "lost ledger", storage: traced.URL, prod: purge,
			err: regexp.MustCompile(`(?s)^the ledger .*downloader\.db and the storage .* disagree:\n  source prod: the ledger has no record of it, but the storage holds traces of ledger lost-one`)},
		{name: "lost ledger, backfill", storage: traced.URL, mode: sourcestate.LostBackfill, prod: backfill},
	} {
		t.Run(tt.name, func(t *testing.T) {
			led, err := ledger.Open(filepath.Join(t.TempDir(), "downloader.db"), ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer led.Close()
			for _, name := range tt.known {
				if err := led.SetSourceState(name, ledger.SourceState{FirstRun: at, Mode: sourcestate.FirstRunPurge, Done: true}); err != nil {
					t.Fatal(err)
				}
			}
			origins := []*Origin{{Source: source.NewDir("prod", t.TempDir()), FirstRun: purge},
				{Source: source.NewDir("shared", t.TempDir()), FirstRun: purge}}
			err = GuardFirstRuns(context.Background(), slog.New(slog.DiscardHandler), led, origins, storageOf(tt.storage), time.Second, "0/1", tt.mode)
			switch {
			case tt.err == nil && err != nil:
				t.Fatalf("err %v", err)
			case tt.err != nil && (err == nil || !tt.err.MatchString(err.Error())):
				t.Fatalf("err %v, want %s", err, tt.err)
			}
			if origins[0].FirstRun != tt.prod || origins[1].FirstRun != purge {
				t.Errorf("first runs %+v and %+v, want %+v and %+v", origins[0].FirstRun, origins[1].FirstRun, tt.prod, purge)
			}
		})
	}
}
