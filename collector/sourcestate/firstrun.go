package sourcestate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
)

// First-run modes: what a source's first run does with the flow logs
// already there.
const (
	// FirstRunPurge deletes, unread, every flow log last modified longer
	// ago than FirstRun.OlderThan, and collects the rest (Scrutinizer's
	// behaviour: a new collector starts from now, not from a bucket's
	// years of history).
	FirstRunPurge = "purge"
	// FirstRunBackfill collects every flow log there, oldest first.
	FirstRunBackfill = "backfill"
	// FirstRunSkip leaves the flow logs there alone for good (neither read
	// nor deleted) and collects what arrives after.
	FirstRunSkip = "skip"
)

// FirstRun says what a source's first run does with the objects already
// there. The ledger remembers the first run, so a restart does not purge
// again.
type FirstRun struct {
	// Mode is FirstRunPurge, FirstRunBackfill (the default: nothing is
	// lost unless asked) or FirstRunSkip.
	Mode string
	// OlderThan is the age beyond which the purge deletes; default
	// source.DefaultPurgeOlderThan.
	OlderThan time.Duration
	// Share is the part of the source this collector instance takes: the
	// purge deletes only its objects, for another instance's first run
	// (and cutoff) may come later.
	Share source.Share
}

// SinceLister is a source that can list only the objects of recent date
// prefixes (an S3 bucket in the AWS layouts): a shared bucket whose objects
// are not deleted is listed that way, instead of in full every round.
type SinceLister interface {
	// ListSince returns the flow log objects whose key dates are on or
	// after since's day.
	ListSince(ctx context.Context, since time.Time) ([]source.Object, error)
}

// SharedWindow is how far back a shared source's listings reach once its
// first run is done (SinceLister): AWS delivers a log within minutes of
// its interval, and an object of 23:55 may land after midnight under the
// day before.
const SharedWindow = 48 * time.Hour

// EnsureFirstRun returns the first-run state of src kept in the ledger,
// deciding it (from fr, at now) when the source never ran, and carrying out
// a purge not finished yet; purged is called for each object purged. The
// pipeline and the downloader role share it.
func EnsureFirstRun(ctx context.Context, l *ledger.Ledger, src source.Source, fr FirstRun, now time.Time, log *slog.Logger, purged func()) (ledger.SourceState, error) {
	st, found, err := l.SourceState(src.Name())
	if err != nil {
		return st, err
	}
	if !found {
		st = ledger.SourceState{FirstRun: now, Mode: fr.Mode}
		if st.Mode == "" {
			st.Mode = FirstRunBackfill
		}
		switch st.Mode {
		case FirstRunPurge:
			older := fr.OlderThan
			if older <= 0 {
				older = source.DefaultPurgeOlderThan
			}
			st.Cutoff = now.Add(-older)
		case FirstRunSkip:
			st.Cutoff, st.Done = now, true
		case FirstRunBackfill:
		default:
			return st, fmt.Errorf("source %s: first-run mode %q: want purge, backfill or skip", src.Name(), st.Mode)
		}
		if err := l.SetSourceState(src.Name(), st); err != nil {
			return st, err
		}
		log.Info("first run of source", "source", src.Name(), "mode", st.Mode, "cutoff", st.Cutoff)
	}
	if st.Mode == FirstRunPurge && !st.Done {
		if err := purge(ctx, l, src, fr.Share, st.Cutoff, log, purged); err != nil {
			return st, err
		}
		st.Done = true
		if err := l.SetSourceState(src.Name(), st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// purge deletes the source's flow logs of share last modified before cutoff
// that the ledger does not know, unread (the bucket's, for a source fed by
// notifications).
func purge(ctx context.Context, l *ledger.Ledger, src source.Source, share source.Share, cutoff time.Time, log *slog.Logger, purged func()) error {
	objs, err := source.ListBucket(ctx, src)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	objs = share.Filter(objs)
	var n, bytes int64
	var failed error
	for _, o := range objs {
		if !o.ModTime.Before(cutoff) {
			continue
		}
		rec, err := l.Lookup(src.Name(), o.Key, o.Version)
		if err != nil {
			return err
		}
		if rec.State != ledger.Unknown {
			continue
		}
		if err := src.Delete(ctx, o); err != nil {
			failed = err
			continue
		}
		n++
		bytes += o.Size
		purged()
	}
	log.Info("purged flow logs older than the first run", "source", src.Name(), "objects", n, "bytes", bytes, "older_than", cutoff)
	if failed != nil {
		return fmt.Errorf("purge (tried again next round): %w", failed)
	}
	return nil
}
