package pipeline_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/vmclient"
)

// lockedLog is a log destination the test reads while the pipeline writes.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// writeFlowLog writes a small plain-text flow log into dir, named as AWS
// names its objects, with the time at in its key (source.KeyTime).
func writeFlowLog(t *testing.T, dir, name string, at time.Time) {
	t.Helper()
	key := fmt.Sprintf("123456789012_vpcflowlogs_us-east-1_fl-1_%s_%s.log", at.UTC().Format("20060102T1504Z"), name)
	body := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		fmt.Sprintf("2 123456789012 eni-0abc 10.0.0.1 10.0.0.2 443 5000 6 10 1000 %d %d ACCEPT OK\n", at.Unix()-60, at.Unix())
	if err := os.WriteFile(filepath.Join(dir, key), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// scripted is a folder source that calls before at each listing, with the
// listing's number (1 for the first).
type scripted struct {
	*source.Dir
	n      int
	before func(n int)
}

func (s *scripted) List(ctx context.Context) ([]source.Object, error) {
	s.n++
	s.before(s.n)
	return s.Dir.List(ctx)
}

// TestOverloadPausesNewestSource: a flood of old objects on the newest of
// two sources makes the collector pause it (unresourced, saying why),
// while the oldest source goes on being collected, its old objects
// included (it is never paused: pausing it would leave nothing
// collected); once the oldest caught up, the paused source resumes and
// its waiting object is collected. Each listing of the oldest source is
// one round over the sources, so the script below runs round by round.
func TestOverloadPausesNewestSource(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	oldDir, newDir := filepath.Join(e.dir, "old"), filepath.Join(e.dir, "new")
	for _, d := range []string{oldDir, newDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var p *pipeline.Pipeline
	report := func(name string) sourcestate.Report {
		for _, r := range p.Sources() {
			if r.Name == name {
				return r
			}
		}
		t.Fatalf("no source %s", name)
		return sourcestate.Report{}
	}
	type seen struct {
		newStatus                  sourcestate.Status
		oldDownloaded, newDownload int64
		newListed                  int64
	}
	rounds := map[int]seen{}
	oldSrc := &scripted{Dir: source.NewDir("old", oldDir), before: func(n int) {
		if n > 1 {
			rounds[n] = seen{report("new").Status, report("old").Downloaded, report("new").Downloaded, report("new").Listed}
		}
		switch n {
		case 1:
			writeFlowLog(t, oldDir, "a1", now.Add(-time.Minute))
			writeFlowLog(t, newDir, "b1", now.Add(-2*time.Hour)) // the flood: two hours behind
		case 2:
			// The old source falls behind too; the new one gets a fresh object,
			// which waits while it is paused.
			writeFlowLog(t, oldDir, "a2", now.Add(-30*time.Minute))
			writeFlowLog(t, newDir, "b2", now.Add(-time.Minute))
		case 3:
			writeFlowLog(t, oldDir, "a3", now.Add(-30*time.Minute))
		case 7:
			p.Stop()
		}
	}}
	var logs lockedLog
	pastFirstRun(t, e.ledger, now, "old", "new")
	srcs := []*sourcestate.Source{{Source: oldSrc, Delete: true}, {Source: source.NewDir("new", newDir), Delete: true}}
	p, err := pipeline.New(srcs, e.ledger, e.store, pipeline.Options{MaxLag: 10 * time.Minute, MaxObjects: 1, MaxWait: 10 * time.Millisecond,
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Run(ctx, false); err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	// Round 1 collects a1 and b1, and pauses "new" (b1 waited 2h).
	// Round 2 lets a round pass; round 3 finds "old" behind (a2), but never
	// pauses the oldest source, nor resumes "new" while "old" is behind;
	// round 4 finds "old" caught up and resumes "new"; round 5 lists it.
	want := map[int]seen{
		2: {sourcestate.StatusUnresourced, 1, 1, 1},
		3: {sourcestate.StatusUnresourced, 2, 1, 1},
		4: {sourcestate.StatusUnresourced, 3, 1, 1},
		5: {sourcestate.StatusEnabled, 3, 1, 1},
		6: {sourcestate.StatusEnabled, 3, 2, 2},
		7: {sourcestate.StatusEnabled, 3, 2, 2},
	}
	for n, w := range want {
		if got := rounds[n]; got != w {
			t.Errorf("at round %d: new source %s, downloaded old %d new %d, new listed %d; want %s, %d, %d, %d",
				n, got.newStatus, got.oldDownloaded, got.newDownload, got.newListed, w.newStatus, w.oldDownloaded, w.newDownload, w.newListed)
		}
	}
	out := logs.String()
	for _, w := range []string{`msg="source paused: the collector cannot keep up" source=new status=unresourced lagging_source=new backlog_age=2h0m0s max_lag=10m0s`,
		`msg="source resumed: the sources collected caught up" source=new`} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "source=old status=unresourced") {
		t.Errorf("the oldest source was paused:\n%s", out)
	}
	if n := countFiles(t, e.dir); n != 0 {
		t.Errorf("%d objects left", n)
	}
}

// TestOverloadReason: a paused source shows status unresourced in the
// sources' reports, with the reason naming overload.max_lag and the
// lagging source, and its backlog age; once resumed it is enabled again.
// A run with --once never pauses.
func TestOverloadReason(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	oldDir, newDir := filepath.Join(e.dir, "old"), filepath.Join(e.dir, "new")
	for _, d := range []string{oldDir, newDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFlowLog(t, newDir, "b1", now.Add(-2*time.Hour))
	writeFlowLog(t, newDir, "b2", now.Add(-2*time.Hour))
	var p *pipeline.Pipeline
	var paused sourcestate.Report
	oldSrc := &scripted{Dir: source.NewDir("old", oldDir), before: func(n int) {
		if n == 2 {
			paused = p.Sources()[1]
			p.Stop()
		}
	}}
	pastFirstRun(t, e.ledger, now, "old", "new")
	srcs := []*sourcestate.Source{{Source: oldSrc, Delete: true}, {Source: source.NewDir("new", newDir), Delete: true}}
	opts := pipeline.Options{MaxLag: 10 * time.Minute, MaxObjects: 1, MaxWait: 10 * time.Millisecond, Now: func() time.Time { return now }}
	if p, _ = pipeline.New(srcs, e.ledger, e.store, opts); p == nil {
		t.Fatal("no pipeline")
	}
	if err := p.Run(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if paused.Status != sourcestate.StatusUnresourced ||
		!strings.Contains(paused.Error, "the oldest object waiting in source new is 2h0m0s old, over overload.max_lag (10m0s)") {
		t.Errorf("paused source: %s %q", paused.Status, paused.Error)
	}

	// --once: everything is collected, nothing paused.
	writeFlowLog(t, newDir, "b3", now.Add(-2*time.Hour))
	oldSrc.before = func(int) {}
	p, err := pipeline.New(srcs, e.ledger, e.store, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if st := p.Sources()[1].Status; st != sourcestate.StatusEnabled {
		t.Errorf("with once: new source %s", st)
	}
	if n := countFiles(t, e.dir); n != 0 {
		t.Errorf("with once: %d objects left", n)
	}
}

// TestMaxSources: beyond limits.max_sources, the last enabled sources of
// the configuration are not collected, status disabled_limit, and a log
// line names the limit; a disabled source does not count.
func TestMaxSources(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Add(-time.Hour)
	var srcs []*sourcestate.Source
	for i, name := range []string{"first", "off", "second", "third", "fourth"} {
		dir := filepath.Join(e.dir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFlowLog(t, dir, name, now)
		srcs = append(srcs, &sourcestate.Source{Source: source.NewDir(name, dir), Delete: true, Disabled: i == 1})
	}
	var logs lockedLog
	p, err := pipeline.New(srcs, e.ledger, e.store, pipeline.Options{MaxSources: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		status sourcestate.Status
		left   int
	}{"first": {sourcestate.StatusEnabled, 0}, "off": {sourcestate.StatusDisabled, 1}, "second": {sourcestate.StatusEnabled, 0},
		"third": {sourcestate.StatusDisabledLimit, 1}, "fourth": {sourcestate.StatusDisabledLimit, 1}}
	for _, r := range p.Sources() {
		w := want[r.Name]
		if left := countFiles(t, filepath.Join(e.dir, r.Name)); r.Status != w.status || left != w.left {
			t.Errorf("source %s: %s, %d objects left; want %s, %d", r.Name, r.Status, left, w.status, w.left)
		}
		if r.Status == sourcestate.StatusDisabledLimit && !strings.Contains(r.Error, "limits.max_sources is 2") {
			t.Errorf("source %s: reason %q", r.Name, r.Error)
		}
	}
	for _, name := range []string{"third", "fourth"} {
		if w := `msg="source disabled (limit): not collected" source=` + name + ` status=disabled_limit limit=limits.max_sources max_sources=2`; !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logs.String())
		}
	}
}

// failingWrites is the storage with every write failing: the batch stays
// pending in the ledger, as after a crash before its write.
type failingWrites struct {
	*vmclient.Client
	cancel context.CancelFunc
}

func (f failingWrites) WriteBatch(ctx context.Context, _ *vmclient.Batch) error {
	f.cancel()
	return ctx.Err()
}

// TestMaxExporters: beyond limits.max_exporters, the records of the VPCs
// met last are dropped (counted, logged naming the limit, the VPC shown
// disabled_limit), and every family's totals equal the ground truth of
// the admitted VPCs' records alone. The decision is recorded with the
// batch: replayed after a crash by a collector whose limit changed, the
// batch drops the same records.
func TestMaxExporters(t *testing.T) {
	e := newEnv(t)
	f, _ := flowlog.ParseFormat("v8")
	cfg := generate.Config{Records: 6000, Seed: 11, Format: f, Duration: 20 * time.Minute, ENIs: 24, VPCs: 4,
		Start: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	exporterOf := func(r *flowlog.Record) string {
		text := func(fl flowlog.Field) string {
			if v, ok := r.Get(fl); ok {
				return string(v)
			}
			return "-"
		}
		return text(flowlog.AccountID) + " " + text(flowlog.Region) + " " + text(flowlog.VPCID)
	}
	// The generator is deterministic: a first pass finds the exporters.
	records := map[string]int64{}
	first := cfg
	first.Observe = func(_ string, r *flowlog.Record) { records[exporterOf(r)]++ }
	if _, err := generate.Generate(first, generate.Dir(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range records {
			if !yield(k) {
				return
			}
		}
	})
	if len(keys) < 3 {
		t.Fatalf("generated exporters %v: want at least 3", keys)
	}
	// One batch: its exporters are ranked in key order; the first two are
	// admitted.
	admitted := map[string]bool{keys[0]: true, keys[1]: true}
	var dropped int64
	for _, k := range keys[2:] {
		dropped += records[k]
	}
	tr := groundtruth.New()
	cfg.Observe = func(_ string, r *flowlog.Record) {
		if admitted[exporterOf(r)] {
			tr.Observe(r)
		}
	}
	if _, err := generate.Generate(cfg, generate.Dir(e.dir)); err != nil {
		t.Fatal(err)
	}
	tr.Finish()

	// The first collector records the batch, then its write fails for good.
	var logs lockedLog
	ctx, cancel := context.WithCancel(context.Background())
	src := func() []*sourcestate.Source {
		return []*sourcestate.Source{{Source: source.NewDir("local", e.dir), Delete: true}}
	}
	opts := pipeline.Options{TopK: 1 << 30, MaxObjects: 1000, MaxBytes: 1 << 30, MaxExporters: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	p, err := pipeline.New(src(), e.ledger, failingWrites{e.store, cancel}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx, true); err == nil {
		t.Fatal("the failing write did not stop the run")
	}
	if got := p.Stats().Dropped.Load(); got != dropped {
		t.Errorf("records dropped: %d, want %d", got, dropped)
	}
	for _, k := range keys[2:] {
		parts := strings.Fields(k)
		w := fmt.Sprintf(`msg="exporter disabled (limit): its records are dropped" source=local account_id=%s region=%s vpc_id=%s limit=limits.max_exporters max_exporters=2`, parts[0], parts[1], parts[2])
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logs.String())
		}
	}
	pending, err := e.ledger.PendingBatches()
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending batches: %d, %v; want 1", len(pending), err)
	}

	// The next collector has no limit: the replay still drops what the
	// batch decided.
	opts.MaxExporters = 0
	p, err = pipeline.New(src(), e.ledger, e.store, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	tr.Check(t, e.vm)
	if n := countFiles(t, e.dir); n != 0 {
		t.Errorf("%d objects left", n)
	}
	var _ ledger.Batch = pending[0]
}

// TestExportersView: the exporters view shows the VPCs over
// limits.max_exporters as disabled_limit with the records dropped, the
// others enabled; the ranks are kept in the ledger, so that a restart
// admits the same VPCs whatever order the next batches bring them in.
func TestExportersView(t *testing.T) {
	e := newEnv(t)
	at := time.Now().Add(-time.Hour).Truncate(time.Minute)
	write := func(name, vpc string, n int) {
		var b strings.Builder
		b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id\n")
		for i := range n {
			fmt.Fprintf(&b, "5 123456789012 eni-%s 10.0.0.%d 10.0.0.2 443 5000 6 10 1000 %d %d ACCEPT OK %s\n", vpc[4:], i+1, at.Unix()-60, at.Unix(), vpc)
		}
		key := fmt.Sprintf("123456789012_vpcflowlogs_us-east-1_fl-%s_%s_%s.log", name, at.UTC().Format("20060102T1504Z"), vpc)
		if err := os.WriteFile(filepath.Join(e.dir, key), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(maxExporters int) map[string]sourcestate.ExporterReport {
		t.Helper()
		p := e.pipeline(t, true, pipeline.Options{MaxExporters: maxExporters, MaxObjects: 1})
		if err := p.Run(context.Background(), true); err != nil {
			t.Fatal(err)
		}
		out := map[string]sourcestate.ExporterReport{}
		for _, x := range p.Exporters() {
			out[x.VPC] = x
		}
		return out
	}
	// One object per batch, in key order: vpc-0c first, then vpc-0a, then vpc-0b.
	write("1", "vpc-0c", 3)
	write("2", "vpc-0a", 2)
	write("3", "vpc-0b", 4)
	got := run(2)
	for vpc, w := range map[string]sourcestate.ExporterReport{"vpc-0c": {Status: sourcestate.StatusEnabled}, "vpc-0a": {Status: sourcestate.StatusEnabled},
		"vpc-0b": {Status: sourcestate.StatusDisabledLimit, Dropped: 4}} {
		if g := got[vpc]; g.Status != w.Status || g.Dropped != w.Dropped || g.Account != "123456789012" {
			t.Errorf("run 1, %s: %+v; want %s with %d records dropped", vpc, g, w.Status, w.Dropped)
		}
	}
	// After a restart, vpc-0b comes first: still over the limit.
	write("4", "vpc-0b", 1)
	write("5", "vpc-0a", 1)
	got = run(2)
	if got["vpc-0b"].Status != sourcestate.StatusDisabledLimit || got["vpc-0b"].Dropped != 1 || got["vpc-0a"].Status != sourcestate.StatusEnabled {
		t.Errorf("run 2: %+v", got)
	}
	// With one exporter, the last added of the two is disabled too.
	write("6", "vpc-0a", 1)
	got = run(1)
	if got["vpc-0a"].Status != sourcestate.StatusDisabledLimit || got["vpc-0a"].Dropped != 1 {
		t.Errorf("run 3: %+v", got)
	}
}

// pastFirstRun records the sources' first runs (backfill) as done, so that
// their listings measure the load.
func pastFirstRun(t *testing.T, l *ledger.Ledger, now time.Time, names ...string) {
	t.Helper()
	for _, name := range names {
		st := ledger.SourceState{FirstRun: now.Add(-24 * time.Hour), Mode: sourcestate.FirstRunBackfill, Done: true}
		if err := l.SetSourceState(name, st); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOverloadIgnoresBackfill: a source whose first run backfills objects
// hours old is not taken for a collector that cannot keep up: nothing is
// paused.
func TestOverloadIgnoresBackfill(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	oldDir, newDir := filepath.Join(e.dir, "old"), filepath.Join(e.dir, "new")
	for _, d := range []string{oldDir, newDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		writeFlowLog(t, newDir, fmt.Sprintf("b%d", i), now.Add(-time.Duration(3+i)*time.Hour))
	}
	pastFirstRun(t, e.ledger, now, "old") // the new source's first run backfills
	var p *pipeline.Pipeline
	oldSrc := &scripted{Dir: source.NewDir("old", oldDir), before: func(n int) {
		writeFlowLog(t, oldDir, fmt.Sprintf("a%d", n), now.Add(-time.Minute))
		if n == 4 {
			p.Stop()
		}
	}}
	var logs lockedLog
	srcs := []*sourcestate.Source{{Source: oldSrc, Delete: true}, {Source: source.NewDir("new", newDir), Delete: true}}
	p, err := pipeline.New(srcs, e.ledger, e.store, pipeline.Options{MaxLag: 10 * time.Minute, MaxObjects: 1, MaxWait: 10 * time.Millisecond,
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), false); err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	if out := logs.String(); strings.Contains(out, "source paused") {
		t.Errorf("a backfill paused a source:\n%s", out)
	}
	if n := countFiles(t, newDir); n != 0 {
		t.Errorf("%d objects of the backfill left", n)
	}
}
