package ledger

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SourceState is what the ledger keeps of a source between runs: when it
// was first run and what that first run did with the objects it found.
type SourceState struct {
	// FirstRun is when the source's first run began.
	FirstRun time.Time `json:"first_run"`
	// Mode is the first-run behaviour taken: "purge", "backfill" or "skip".
	Mode string `json:"mode"`
	// Cutoff: with "skip", objects last modified before it are left alone
	// for good; with "purge", they were deleted unread.
	Cutoff time.Time `json:"cutoff,omitzero"`
	// Done is set once the first run's purge or backfill finished; until
	// then a restart takes it up again.
	Done bool `json:"done"`
	// MarkedDay is the latest day (Unix days, UTC) for which the storage
	// saved a trace of this ledger's batches of the source (see
	// sourcestate.CheckLostState); 0 when none yet.
	MarkedDay int64 `json:"marked_day,omitempty"`
}

// SourceState returns the state of the named source, and false when the
// source never ran.
func (l *Ledger) SourceState(name string) (SourceState, bool, error) {
	var st SourceState
	var found bool
	err := l.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSources).Get([]byte(name))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &st)
	})
	if err != nil {
		return st, false, fmt.Errorf("source state %s: %w", name, err)
	}
	return st, found, nil
}

// SetSourceState records the state of the named source.
func (l *Ledger) SetSourceState(name string, st SourceState) error {
	if err := validName("source", name); err != nil {
		return err
	}
	v, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("source state %s: %w", name, err)
	}
	return l.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketSources).Put([]byte(name), v); err != nil {
			return fmt.Errorf("source state %s: %w", name, err)
		}
		return nil
	})
}

// DeleteSourceState forgets the state of the named source: its next run is
// a first run again.
func (l *Ledger) DeleteSourceState(name string) error {
	return l.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketSources).Delete([]byte(name)); err != nil {
			return fmt.Errorf("source state %s: %w", name, err)
		}
		return nil
	})
}
