package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/vmclient"
)

// flushingStore is a Writer whose storage saves samples after a delay, and
// can be asked to save at once (Flusher) unless told it cannot.
type flushingStore struct {
	acker
	after     time.Duration
	noFlush   bool // Flush answers ErrNoFlush
	restartIn int  // the storage restarts during this Flush call (1-based)
	flushMu   sync.Mutex
	flushes   int
}

func (s *flushingStore) CheckDurability(context.Context) (vmclient.Durability, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return vmclient.Durability{Generation: s.gen, After: s.after}, nil
}

func (s *flushingStore) Flush(context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.flushes++
	if s.noFlush {
		return fmt.Errorf("%w: test", vmclient.ErrNoFlush)
	}
	if s.flushes == s.restartIn {
		s.mu.Lock()
		s.gen++ // the batches acknowledged before are lost
		s.mu.Unlock()
	}
	return nil
}

// TestFinalSettleFlushes: at the end of `run --once` the pipeline asks the
// storage to save at once instead of waiting its save delay (an hour here:
// only a flush can end the run in time), checks for a restart after it,
// replays what a restart lost and flushes again; a storage that cannot
// flush is asked once and waited for.
func TestFinalSettleFlushes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		store       *flushingStore
		wantFlushes int
		replayed    bool
	}{
		{name: "flushed", store: &flushingStore{after: time.Hour}, wantFlushes: 1},
		{name: "cannot flush: waits the delay", store: &flushingStore{after: 200 * time.Millisecond, noFlush: true}, wantFlushes: 1},
		{name: "restart during the flush: replayed and flushed again", store: &flushingStore{after: time.Hour, restartIn: 1}, wantFlushes: 2, replayed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store
			st.encoder = encodeOnly(t)
			p, l, dir := testPipeline(t, 3000, 5, 30*time.Minute, st)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := p.Run(ctx, true); err != nil {
				t.Fatalf("run --once: %v", err)
			}
			if st.flushes != tc.wantFlushes {
				t.Errorf("%d flushes, want %d", st.flushes, tc.wantFlushes)
			}
			batches := p.Stats().Batches.Load()
			if replayed := int64(st.writes) > batches; replayed != tc.replayed {
				t.Errorf("%d writes for %d batches: replayed %v, want %v", st.writes, batches, replayed, tc.replayed)
			}
			if pending, err := l.PendingBatches(); err != nil || len(pending) != 0 {
				t.Errorf("pending after the run: %v, %v", pending, err)
			}
			var left []string
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					left = append(left, path)
				}
				return nil
			})
			if len(left) != 0 {
				t.Errorf("%d objects left in the source, want none: %q", len(left), left[:min(3, len(left))])
			}
		})
	}
}
