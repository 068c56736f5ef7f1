package pipeline

import (
	"cmp"
	"context"
	"log/slog"
	"path/filepath"
	"sync"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// NewSources returns the pipeline's sources for the configuration's: each
// set up by sourcestate.Open, decoding with dec's bounds and its own
// format, with its source log (logs may be nil), its first-run behaviour
// and, for an s3 source, as many fetchers as it has downloaders.
func NewSources(ctx context.Context, cfgs []source.Config, dec decode.Options, logs *SourceLogs, log *slog.Logger) []*sourcestate.Source {
	out := make([]*sourcestate.Source, 0, len(cfgs))
	for i, c := range cfgs {
		opts := dec
		if c.Format != "" {
			if f, err := flowlog.ParseFormat(c.Format); err == nil { // the configuration check names a bad one
				opts.Format = f
			}
		}
		src := &sourcestate.Source{Source: sourcestate.Open(ctx, i, c, log), Delete: c.Deletes(), Decode: opts, Account: c.Account, Region: c.Region,
			Disabled: !c.IsEnabled(), FirstRun: sourcestate.FirstRun{Mode: c.OnFirstRun, OlderThan: c.PurgeOlderThan}, Log: logs.Get(c.Name)}
		if c.Type == source.TypeS3 {
			src.Fetchers = c.Downloaders
		}
		out = append(out, src)
	}
	return out
}

// Defaults of the source logs (the configuration's log section).
const (
	DefaultSourceLogMaxMB = 10
	DefaultSourceLogFiles = 3
)

// SourceLogs are the sources' own logs: JSON lines of the problems on a
// source's side, for its owners, rotated by size, one file per source.
type SourceLogs struct {
	mu    sync.Mutex
	dir   string
	maxMB int
	keep  int
	files map[string]*lumberjack.Logger
}

// NewSourceLogs returns the source logs of folder dir, each rotated when
// it grows past maxMB megabytes, keep rotated files kept (0: the
// defaults).
func NewSourceLogs(dir string, maxMB, keep int) *SourceLogs {
	return &SourceLogs{dir: dir, maxMB: cmp.Or(maxMB, DefaultSourceLogMaxMB), keep: cmp.Or(keep, DefaultSourceLogFiles), files: map[string]*lumberjack.Logger{}}
}

// Get returns the source log of the named source, <dir>/<name>.jsonl; nil
// SourceLogs give nil (sourcestate.Source.Log: nothing logged).
func (l *SourceLogs) Get(name string) *slog.Logger {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.files[name]
	if !ok {
		f = &lumberjack.Logger{Filename: filepath.Join(l.dir, name+".jsonl"), MaxSize: l.maxMB, MaxBackups: l.keep}
		l.files[name] = f
	}
	return slog.New(slog.NewJSONHandler(f, nil))
}

// Close closes every source log.
func (l *SourceLogs) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.files {
		_ = f.Close()
	}
}
