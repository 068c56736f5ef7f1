package sourcestate_test

import (
	"context"
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

// TestFirstRunCheck says what a folder's first run will do with the
// files there: how many a purge deletes and a backfill collects, what a
// skip leaves; that the first run is done, as a ledger says; a caveat
// when a ledger cannot be read; nothing when the listing cannot work; one
// of several instances counts its share.
func TestFirstRunCheck(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 3, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	for name, age := range map[string]time.Duration{"old-1.log": 3 * time.Hour, "old-2.log": 2 * time.Hour, "new.log": time.Minute} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", 1500)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	src := source.NewDir("local", dir)
	purge := sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge, OlderThan: time.Hour}
	f := func(states sourcestate.FirstRunStates, name string, fr sourcestate.FirstRun, earlier []source.Check, want source.Check) {
		t.Helper()
		if got := states.Check(ctx, name, fr, src, earlier, now); got != want {
			t.Errorf("%s %+v:\n%+v, want\n%+v", name, fr, got, want)
		}
	}
	none := sourcestate.ReadFirstRuns([]string{"local"}, sourcestate.LedgerFile{Path: filepath.Join(t.TempDir(), "ledger.db")})
	f(none, "local", purge, nil, source.Check{Name: sourcestate.CheckFirstRun, Result: source.CheckWarn,
		Detail: "first run will purge 2 objects (3.0 kB) older than 1h, unread, and collect the 1 newer object (1.5 kB)"})
	// Instance 1 of 2 counts its share only (old-2.log and new.log).
	f(none, "local", sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge, OlderThan: time.Hour, Share: source.Share{Index: 1, Count: 2}}, nil, source.Check{Name: sourcestate.CheckFirstRun, Result: source.CheckWarn,
		Detail: "first run will purge 1 object (1.5 kB) older than 1h, unread, and collect the 1 newer object (1.5 kB)"})
	f(none, "local", sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge, OlderThan: 5 * time.Hour}, nil, source.Check{Name: sourcestate.CheckFirstRun, Result: source.CheckPass,
		Detail: "first run will purge nothing (no flow log older than 5h) and collect the 3 objects (4.5 kB) there"})
	f(none, "local", sourcestate.FirstRun{Mode: sourcestate.FirstRunBackfill}, nil, source.Check{Name: sourcestate.CheckFirstRun, Result: source.CheckPass,
		Detail: "first run will collect the 3 objects (4.5 kB) there, oldest first"})
	f(none, "local", sourcestate.FirstRun{Mode: sourcestate.FirstRunSkip}, nil, source.Check{Name: sourcestate.CheckFirstRun, Result: source.CheckPass,
		Detail: "first run will leave the flow logs there now alone for good, and collect those that arrive later"})
	f(none, "local", purge, []source.Check{{Name: source.CheckFolder, Result: source.CheckFail}}, source.Check{Name: sourcestate.CheckFirstRun, Result: source.CheckSkip,
		Detail: "not run: the folder check failed"})

	path := filepath.Join(t.TempDir(), "ledger.db")
	led, err := ledger.Open(path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	began := now.Add(-24 * time.Hour)
	if err := led.SetSourceState("local", ledger.SourceState{FirstRun: began, Mode: sourcestate.FirstRunPurge, Cutoff: began, Done: true}); err != nil {
		t.Fatal(err)
	}
	// In use by a running collector: the counts come with a caveat.
	busy := sourcestate.ReadFirstRuns([]string{"local"}, sourcestate.LedgerFile{Path: path, Options: ledger.Options{Timeout: 10 * time.Millisecond}})
	if got := busy.Check(ctx, "local", purge, src, nil, now).Detail; !strings.Contains(got, " if it is not done yet (its state is unknown: ") || !strings.Contains(got, path) {
		t.Errorf("ledger in use: %q", got)
	}
	led.Close()
	done := sourcestate.ReadFirstRuns([]string{"local"}, sourcestate.LedgerFile{Path: path})
	f(done, "local", purge, nil, source.Check{Name: sourcestate.CheckFirstRun, Result: source.CheckPass,
		Detail: "first run done (purge, begun 2026-05-02T12:00:00Z; " + path + " remembers it): on_first_run no longer matters"})
}

// TestCountFormat: the first-run check's counts read "1,234 objects (56 MB)".
func TestCountFormat(t *testing.T) {
	f := func(c sourcestate.ObjectCount, adj, want string) {
		t.Helper()
		if got := c.Objects(adj); got != want {
			t.Errorf("%+v: %q, want %q", c, got, want)
		}
	}
	f(sourcestate.ObjectCount{}, "", "0 objects (0 B)")
	f(sourcestate.ObjectCount{N: 1, Bytes: 999}, "newer ", "1 newer object (999 B)")
	f(sourcestate.ObjectCount{N: 12, Bytes: 3_140_000}, "", "12 objects (3.1 MB)")
	f(sourcestate.ObjectCount{N: 1234, Bytes: 56_000_000}, "", "1,234 objects (56 MB)")
	f(sourcestate.ObjectCount{N: 1_234_567, Bytes: 999_960}, "", "1,234,567 objects (1.0 MB)")
	f(sourcestate.ObjectCount{N: 100, Bytes: 2_500_000_000_000}, "", "100 objects (2.5 TB)")
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{15 * time.Minute: "15m", time.Hour: "1h", 48 * time.Hour: "48h",
		90 * time.Minute: "1h30m", 90 * time.Second: "1m30s", 500 * time.Millisecond: "500ms", 0: "0s"} {
		if got := sourcestate.ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestTestSource: a folder gets its access check, then its first-run
// check; a source whose keys do not resolve fails the credentials check
// and skips the first-run one.
func TestTestSource(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 5, 3, 12, 0, 0, 0, time.UTC) }
	states := sourcestate.ReadFirstRuns([]string{"local", "prod"})
	dir := t.TempDir()
	got := states.TestSource(ctx, source.Config{Name: "local", Type: source.TypeDir, Path: dir, OnFirstRun: sourcestate.FirstRunBackfill}, time.Minute, now)
	want := []source.Check{{Name: source.CheckFolder, Result: source.CheckPass, Detail: dir + " can be read and written"},
		{Name: sourcestate.CheckFirstRun, Result: source.CheckPass, Detail: "first run will collect the 0 objects (0 B) there, oldest first"}}
	if !slices.Equal(got, want) {
		t.Errorf("folder: %+v, want %+v", got, want)
	}
	got = states.TestSource(ctx, source.Config{Name: "prod", Type: source.TypeS3, Bucket: "b", Region: "us-east-1",
		Credentials: source.Credentials{AccessKeyIDEnv: "VPCFLOW_SURELY_UNSET", SecretAccessKey: "x"}}, time.Minute, now)
	if len(got) != 2 || got[0].Name != source.CheckCredentials || got[0].Result != source.CheckFail || !strings.Contains(got[0].Detail, "credentials.access_key_id") ||
		got[1] != (source.Check{Name: sourcestate.CheckFirstRun, Result: source.CheckSkip, Detail: "not run: the credentials check failed"}) {
		t.Errorf("keys that do not resolve: %+v", got)
	}
}
