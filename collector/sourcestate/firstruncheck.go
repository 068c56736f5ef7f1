package sourcestate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
)

// CheckFirstRun names the test command's check of what a source's first
// run will do (FirstRunStates.Check).
const CheckFirstRun = "first-run"

// firstRunCountTimeout bounds the listing that counts a source's objects
// for the first-run check.
const firstRunCountTimeout = 5 * time.Minute

// LedgerFile is a ledger ReadFirstRuns reads.
type LedgerFile struct {
	Path    string
	Options ledger.Options
}

// FirstRunStates is what the ledgers know of the sources' first runs.
type FirstRunStates struct {
	// Share is this collector instance's part of every source (see
	// FirstRun.Share): the objects its first runs would purge or collect.
	Share source.Share

	known   map[string]knownFirstRun // by source name
	problem string                   // why a ledger could not be read
}

// knownFirstRun is a source's first-run state and the ledger holding it.
type knownFirstRun struct {
	state ledger.SourceState
	file  string
}

// ReadFirstRuns reads the first-run state of the named sources from the
// ledgers, in order: the first that knows a source says (the downloader
// role's carries out the first runs when the roles run apart). A ledger
// that does not exist is not created; one in use by a running collector
// cannot be read, which the checks then say.
func ReadFirstRuns(names []string, ledgers ...LedgerFile) FirstRunStates {
	out := FirstRunStates{known: map[string]knownFirstRun{}}
	var problems []string
	for _, l := range ledgers {
		if _, err := os.Stat(l.Path); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				problems = append(problems, err.Error())
			}
			continue
		}
		led, err := ledger.Open(l.Path, l.Options)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, name := range names {
			if _, ok := out.known[name]; ok {
				continue
			}
			st, found, err := led.SourceState(name)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			if found {
				out.known[name] = knownFirstRun{state: st, file: l.Path}
			}
		}
		if err := led.Close(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	out.problem = strings.Join(problems, "; ")
	return out
}

// Check says what the named source's first run (configured as fr) will
// do with the objects src holds now: how many a purge would delete (those
// last modified before the cutoff, as the purge selects them) or a
// backfill collect, or that the first run is done. earlier are the
// source's checks so far: when one the listing needs failed, the check is
// skipped.
func (f FirstRunStates) Check(ctx context.Context, name string, fr FirstRun, src source.Source, earlier []source.Check, now time.Time) source.Check {
	c := source.Check{Name: CheckFirstRun, Result: source.CheckPass}
	for _, e := range earlier {
		if e.Result == source.CheckFail && slices.Contains([]string{source.CheckCredentials, source.CheckBucket, source.CheckList, source.CheckFolder}, e.Name) {
			c.Result, c.Detail = source.CheckSkip, fmt.Sprintf("not run: the %s check failed", e.Name)
			return c
		}
	}
	mode, cutoff := fr.Mode, now.Add(-fr.OlderThan)
	older := "older than " + ShortDuration(fr.OlderThan)
	prefix := "first run will"
	known, ok := f.known[name]
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
	if mode == FirstRunSkip {
		c.Detail = fmt.Sprintf("%s leave the flow logs there now alone for good, and collect those that arrive later%s", prefix, unknown)
		return c
	}
	lctx, cancel := context.WithTimeout(ctx, firstRunCountTimeout)
	defer cancel()
	objs, err := source.ListBucket(lctx, src)
	if err != nil {
		c.Result, c.Detail = source.CheckWarn, fmt.Sprintf("cannot count the objects the first run would %s: %v", mode, err)
		return c
	}
	objs = fr.Share.Filter(objs)
	var old, fresh ObjectCount
	for _, o := range objs {
		if o.ModTime.Before(cutoff) {
			old.Add(o)
		} else {
			fresh.Add(o)
		}
	}
	switch mode {
	case FirstRunPurge:
		if old.N == 0 {
			c.Detail = fmt.Sprintf("%s purge nothing (no flow log %s) and collect the %s there%s", prefix, older, fresh.Objects(""), unknown)
			return c
		}
		c.Result = source.CheckWarn
		c.Detail = fmt.Sprintf("%s purge %s %s, unread, and collect the %s%s", prefix, old.Objects(""), older, fresh.Objects("newer "), unknown)
	default:
		all := ObjectCount{N: old.N + fresh.N, Bytes: old.Bytes + fresh.Bytes}
		c.Detail = fmt.Sprintf("%s collect the %s there, oldest first%s", prefix, all.Objects(""), unknown)
	}
	return c
}

// TestSource runs the test command's checks of a configured source: it
// sets the source up (a failure fails the credentials check), runs the
// source's own checks (source.Checker) within timeout, then says what its
// first run will do (Check) as of now(), once they ran.
func (f FirstRunStates) TestSource(ctx context.Context, cfg source.Config, timeout time.Duration, now func() time.Time) []source.Check {
	src, err := source.New(ctx, cfg)
	if err != nil {
		return []source.Check{{Name: source.CheckCredentials, Result: source.CheckFail, Detail: err.Error()},
			{Name: CheckFirstRun, Result: source.CheckSkip, Detail: "not run: the credentials check failed"}}
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	checks := src.(source.Checker).Check(cctx, source.CheckOptions{KeepObjects: !cfg.Deletes()})
	cancel()
	fr := FirstRun{Mode: cfg.OnFirstRun, OlderThan: cfg.PurgeOlderThan, Share: f.Share}
	return append(checks, f.Check(ctx, cfg.Name, fr, src, checks, now()))
}

// ObjectCount counts objects and their bytes.
type ObjectCount struct{ N, Bytes int64 }

// Add counts o.
func (c *ObjectCount) Add(o source.Object) { c.N, c.Bytes = c.N+1, c.Bytes+o.Size }

// Objects prints the count, with an adjective ending in a space or none:
// "1,234 objects (56 MB)", "1 newer object (2.1 kB)".
func (c ObjectCount) Objects(adj string) string {
	noun := "objects"
	if c.N == 1 {
		noun = "object"
	}
	return fmt.Sprintf("%s %s%s (%s)", thousands(c.N), adj, noun, siBytes(c.Bytes))
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

// ShortDuration prints a duration as a configuration writes it, without
// its zero parts: 15m, not 15m0s.
func ShortDuration(d time.Duration) string {
	out := d.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}
