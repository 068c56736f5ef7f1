// Package sourcestate holds what the collector's two roles share of a
// source, the pipeline (collector/pipeline) and the downloader
// (collector/spool), and what the status server (collector/status)
// reports of it, so that none of them reaches into another:
//
//   - Source, a source with its settings, and Open, which sets one up;
//   - its state: Status, the counters Stats, the Report and the
//     ExporterReport of /api/v1/sources, and the role's Totals;
//   - its first run: FirstRun, what EnsureFirstRun carries out and the
//     ledger remembers, and what the test command's first-run check says
//     of it (ReadFirstRuns, FirstRunStates).
package sourcestate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/source"
)

// Source is a source with its settings, as the pipeline collects it.
type Source struct {
	source.Source
	// Delete removes objects once their data is stored.
	Delete bool
	// Decode holds the format of headerless objects.
	Decode decode.Options
	// Account and Region label records whose key and fields do not say.
	Account, Region string
	// Disabled sources are listed in the status but not collected.
	Disabled bool
	// Fetchers is how many of the source's objects are read at once, when
	// more than the pipeline's workers: reading a remote object waits on
	// the network, so more run than there are cores (the decoding itself
	// still shares the cores).
	Fetchers int
	// FirstRun says what the first run does with the objects already there.
	FirstRun FirstRun
	// Log is the source log: problems on the source's side (access errors,
	// quarantined objects), for its owners; nil drops them (the main log
	// has them too).
	Log *slog.Logger
}

// DefaultMaxWait is the default of the configuration's batch.max_wait: how
// long the pipeline waits for more objects once a source has a few, and
// the pause between listings when there is nothing to do, the
// downloader's included.
const DefaultMaxWait = 5 * time.Second

// Open returns the source of the configuration's sources[i] (source.New).
// A source that cannot be set up (credentials that do not resolve, say)
// is replaced by one whose every call fails with the reason, wrapping
// ErrCredentials, so that the others go on: its status
// (StatusCredentials) and source log say why, and log has it too.
func Open(ctx context.Context, i int, cfg source.Config, log *slog.Logger) source.Source {
	src, err := source.New(ctx, cfg)
	if err != nil {
		err = fmt.Errorf("sources[%d] (%s): %w", i, cfg.Name, err)
		log.Error("source not set up", "source", cfg.Name, "err", err)
		return notSetUp{cfg.Name, err}
	}
	if n, ok := src.(*source.Notify); ok {
		n.SetLogger(log)
	}
	return src
}

// ErrCredentials marks the error of a source that could not be set up
// (its credentials or its client could not be resolved).
var ErrCredentials = errors.New("source not set up")

// notSetUp stands for a source that could not be set up because of err.
type notSetUp struct {
	name string
	err  error
}

func (u notSetUp) Name() string { return u.name }
func (u notSetUp) List(context.Context) ([]source.Object, error) {
	return nil, fmt.Errorf("%w: %w", ErrCredentials, u.err)
}
func (u notSetUp) Open(context.Context, source.Object) (io.ReadCloser, error) {
	return nil, fmt.Errorf("%w: %w", ErrCredentials, u.err)
}
func (u notSetUp) Delete(context.Context, source.Object) error {
	return fmt.Errorf("%w: %w", ErrCredentials, u.err)
}
