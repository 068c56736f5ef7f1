package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcflow/vpcflow/collector/config"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/vmclient"
)

func newTestCmd() *cobra.Command {
	var configPath, only string
	var skipStorage bool
	cmd := &cobra.Command{
		Use:   "test --config FILE [--source NAME]",
		Short: "Test access to each source's bucket (and to the storage)",
		Long: `Test what the collector needs, one line per check, PASS, WARN, SKIP or FAIL:

For each s3 source: the credentials resolve; the bucket answers in its region;
listing, reading and deleting are allowed (delete is tried on a marker object
the test writes itself); versioning is off (with versioning, deleted logs pile
up as old versions); the newest flow log's header has log-status, vpc-id,
interface-id and flow-direction (a WARN names the reports that stay empty
without one); nothing but flow logs is written under the prefix.

For a dir source: the folder can be read and written.

For every source, what its first run will do (first-run): how many objects
(and bytes) a purge would delete now, unread (those last modified longer
ago than purge_older_than; a WARN when there are any), or a backfill
collect. A source whose first run is done, as the ledger in state_dir says,
is reported as such. The test reads the ledger without creating it; while
a collector runs it cannot (the ledger is locked) and says so.

For the storage: it answers and deduplicates at 1 ms.

The exit status is 1 when any check FAILs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath)
			if err != nil {
				return err
			}
			return testSources(cmd.Context(), cmd.OutOrStdout(), cfg, only, !skipStorage)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "configuration file (YAML; required)")
	cmd.Flags().StringVar(&only, "source", "", "test only the source of this name")
	cmd.Flags().BoolVar(&skipStorage, "skip-storage", false, "do not test the storage")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// testSources runs the checks and prints one line per check.
func testSources(ctx context.Context, w io.Writer, cfg *config.Config, only string, withStorage bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var all []source.Check
	line := func(src string, c source.Check) {
		all = append(all, c)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Result, src, c.Name, c.Detail)
	}
	found := false
	firstRuns := readFirstRuns(cfg)
	for _, s := range cfg.Sources {
		if only != "" && s.Name != only {
			continue
		}
		found = true
		switch s.Type {
		case "s3":
			src, err := source.New(ctx, s)
			if err != nil {
				line(s.Name, source.Check{Name: source.CheckCredentials, Result: source.CheckFail, Detail: err.Error()})
				line(s.Name, source.Check{Name: checkFirstRun, Result: source.CheckSkip, Detail: "not run: the credentials check failed"})
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			checks := src.(*source.S3).Check(cctx, source.CheckOptions{KeepObjects: !s.Deletes()})
			cancel()
			for _, c := range checks {
				line(s.Name, c)
			}
			line(s.Name, firstRuns.check(ctx, s, src, checks, time.Now()))
		case "dir":
			c := checkDir(s.Path)
			line(s.Name, c)
			line(s.Name, firstRuns.check(ctx, s, source.NewDir(s.Name, s.Path), []source.Check{c}, time.Now()))
		}
	}
	if only != "" && !found {
		return fmt.Errorf("--source %q: no such source in the configuration", only)
	}
	if withStorage && only == "" {
		line("storage", checkStorage(ctx, cfg))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if source.WorstResult(all) == source.CheckFail {
		return &exitError{1, errors.New("some checks failed")}
	}
	return nil
}

// checkDir checks that a dir source's folder can be read and written.
func checkDir(path string) source.Check {
	c := source.Check{Name: "folder", Result: source.CheckPass, Detail: path + " can be read and written"}
	if _, err := os.ReadDir(path); err != nil {
		c.Result, c.Detail = source.CheckFail, fmt.Sprintf("read %s: %v", path, err)
		return c
	}
	f, err := os.CreateTemp(path, ".vpcflow-access-check-*")
	if err != nil {
		c.Result, c.Detail = source.CheckFail, fmt.Sprintf("write %s: %v (objects cannot be deleted after ingest)", path, err)
		return c
	}
	f.Close()
	os.Remove(f.Name())
	return c
}

// checkStorage checks that the storage answers and deduplicates at 1 ms.
func checkStorage(ctx context.Context, cfg *config.Config) source.Check {
	c := source.Check{Name: "reachable-dedup", Result: source.CheckPass}
	store, err := newStorage(cfg, nil)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err = store.Ping(sctx); err == nil {
			err = store.CheckDedup(sctx)
		}
	}
	var unknown *vmclient.DedupUnknownError
	switch {
	case errors.As(err, &unknown):
		c.Result, c.Detail = source.CheckWarn, err.Error()
	case err != nil:
		c.Result, c.Detail = source.CheckFail, err.Error()
	default:
		c.Detail = "VictoriaMetrics answers and deduplicates at 1 ms"
	}
	if store == nil || c.Result == source.CheckFail {
		return c
	}
	// Objects are deleted only once the storage nodes say their samples are
	// saved: without their /metrics, nothing would ever be deleted.
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dur, derr := store.CheckDurability(sctx)
	if derr != nil {
		c.Result, c.Detail = source.CheckFail, derr.Error()
		return c
	}
	c.Detail += fmt.Sprintf("; it saves acknowledged samples to disk within %s (storage nodes %s), after which objects are deleted",
		dur.After, strings.Join(store.StorageNodes(), " "))
	return c
}

// checkFirstRun names the check of what a source's first run will do.
const checkFirstRun = "first-run"

// firstRunCountTimeout bounds the listing that counts a source's objects
// for the first-run check.
const firstRunCountTimeout = 5 * time.Minute

// firstRuns is what the ledgers know of the sources' first runs.
type firstRuns struct {
	known   map[string]knownFirstRun // by source name
	problem string                   // why a ledger could not be read
}

// knownFirstRun is a source's first-run state and the ledger holding it.
type knownFirstRun struct {
	state ledger.SourceState
	file  string
}

// readFirstRuns reads the first-run state of every source from the
// ledgers in state_dir: the downloader role's (downloader.db), which
// carries out the first runs when the roles run apart, then the collector's
// (ledger.db). A ledger that does not exist is not created; one in use by a
// running collector cannot be read, which problem says.
func readFirstRuns(cfg *config.Config) firstRuns {
	out := firstRuns{known: map[string]knownFirstRun{}}
	var problems []string
	for _, l := range []struct {
		path string
		opts ledger.Options
	}{
		{filepath.Join(cfg.StateDir, "downloader.db"), ledger.Options{}},
		{ledgerPath(cfg), ledger.Options{Instance: cfg.Instance.Index, Instances: cfg.Instance.Count}},
	} {
		if _, err := os.Stat(l.path); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				problems = append(problems, err.Error())
			}
			continue
		}
		led, err := ledger.Open(l.path, l.opts)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, s := range cfg.Sources {
			if _, ok := out.known[s.Name]; ok {
				continue
			}
			st, found, err := led.SourceState(s.Name)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			if found {
				out.known[s.Name] = knownFirstRun{state: st, file: l.path}
			}
		}
		if err := led.Close(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	out.problem = strings.Join(problems, "; ")
	return out
}

// check says what the source's first run will do with the objects there
// now: how many a purge would delete (those last modified before the
// cutoff, as the purge selects them) or a backfill collect, or that the
// first run is done. earlier are the source's checks so far: when one the
// listing needs failed, the check is skipped.
func (f firstRuns) check(ctx context.Context, s source.Config, src source.Source, earlier []source.Check, now time.Time) source.Check {
	c := source.Check{Name: checkFirstRun, Result: source.CheckPass}
	for _, e := range earlier {
		if e.Result == source.CheckFail && slices.Contains([]string{source.CheckCredentials, source.CheckBucket, source.CheckList, "folder"}, e.Name) {
			c.Result, c.Detail = source.CheckSkip, fmt.Sprintf("not run: the %s check failed", e.Name)
			return c
		}
	}
	mode, cutoff := s.OnFirstRun, now.Add(-s.PurgeOlderThan)
	older := "older than " + config.ShortDuration(s.PurgeOlderThan)
	prefix := "first run will"
	known, ok := f.known[s.Name]
	switch {
	case ok && known.state.Done:
		c.Detail = fmt.Sprintf("first run done (%s, begun %s; %s remembers it): on_first_run no longer matters",
			known.state.Mode, known.state.FirstRun.UTC().Format(time.RFC3339), known.file)
		return c
	case ok:
		mode, cutoff = known.state.Mode, known.state.Cutoff
		older = "last modified before " + cutoff.UTC().Format(time.RFC3339)
		prefix = fmt.Sprintf("first run (%s, begun %s) not finished: the next run will", mode, known.state.FirstRun.UTC().Format(time.RFC3339))
	}
	unknown := ""
	if !ok && f.problem != "" {
		unknown = fmt.Sprintf(" if it is not done yet (its state is unknown: %s)", f.problem)
	}
	if mode == pipeline.FirstRunSkip {
		c.Detail = fmt.Sprintf("%s leave the flow logs there now alone for good, and collect those that arrive later%s", prefix, unknown)
		return c
	}
	lctx, cancel := context.WithTimeout(ctx, firstRunCountTimeout)
	defer cancel()
	objs, err := src.List(lctx)
	if err != nil {
		c.Result, c.Detail = source.CheckWarn, fmt.Sprintf("cannot count the objects the first run would %s: %v", mode, err)
		return c
	}
	var old, fresh objectCount
	for _, o := range objs {
		if o.ModTime.Before(cutoff) {
			old.add(o)
		} else {
			fresh.add(o)
		}
	}
	switch mode {
	case pipeline.FirstRunPurge:
		if old.n == 0 {
			c.Detail = fmt.Sprintf("%s purge nothing (no flow log %s) and collect the %s there%s", prefix, older, fresh.objects(""), unknown)
			return c
		}
		c.Result = source.CheckWarn
		c.Detail = fmt.Sprintf("%s purge %s %s, unread, and collect the %s%s", prefix, old.objects(""), older, fresh.objects("newer "), unknown)
	default:
		all := objectCount{n: old.n + fresh.n, bytes: old.bytes + fresh.bytes}
		c.Detail = fmt.Sprintf("%s collect the %s there, oldest first%s", prefix, all.objects(""), unknown)
	}
	return c
}

// objectCount counts objects and their bytes.
type objectCount struct{ n, bytes int64 }

func (c *objectCount) add(o source.Object) { c.n, c.bytes = c.n+1, c.bytes+o.Size }

// objects prints the count, with an adjective ending in a space or none:
// "1,234 objects (56 MB)", "1 newer object (2.1 kB)".
func (c objectCount) objects(adj string) string {
	noun := "objects"
	if c.n == 1 {
		noun = "object"
	}
	return fmt.Sprintf("%s %s%s (%s)", thousands(c.n), adj, noun, siBytes(c.bytes))
}

// thousands prints n with thousands separators: 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// siBytes prints a byte count in decimal units: 512 B, 3.1 MB, 56 MB.
func siBytes(n int64) string {
	const units = "kMGTPE"
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1000, 0
	for v >= 999.95 && i < len(units)-1 {
		v, i = v/1000, i+1
	}
	if v < 9.95 {
		return fmt.Sprintf("%.1f %cB", v, units[i])
	}
	return fmt.Sprintf("%.0f %cB", v, units[i])
}
