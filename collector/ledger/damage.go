package ledger

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrDamaged is returned (wrapped) when the ledger file is damaged: a page
// that does not read back as bbolt wrote it (a bad disk, a copy cut short,
// a file edited by hand). bbolt panics on such pages; the ledger turns the
// panic into this error instead.
var ErrDamaged = errors.New("ledger file damaged")

// damaged returns the error of a damaged ledger file.
func (l *Ledger) damaged(what any) error {
	return fmt.Errorf("%w: %s: %v; restore it from a backup, or move it aside to start a new ledger "+
		"(the collector then refuses to start until told what to do with what the old one knew: see --lost-state)", ErrDamaged, l.path, what)
}

// openDB opens the bbolt file, turning a panic on a damaged page (bbolt
// reads its freelist when it opens) into ErrDamaged.
func openDB(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, (&Ledger{path: path}).damaged(r)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
}

// view runs a read transaction, turning a panic of bbolt on a damaged page
// into an error.
func (l *Ledger) view(fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = l.damaged(r)
		}
	}()
	return l.db.View(fn)
}

// update runs a write transaction, turning a panic of bbolt on a damaged
// page into an error.
func (l *Ledger) update(fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = l.damaged(r)
		}
	}()
	return l.db.Update(fn)
}

// check walks every page of the file (bbolt's consistency check) and
// returns ErrDamaged, wrapped with the first problems, when one is off.
func (l *Ledger) check() error {
	var problems []string
	err := l.view(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			if len(problems) < 3 {
				problems = append(problems, err.Error())
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return l.damaged(fmt.Sprintf("%d problems, first %q", len(problems), problems))
	}
	return nil
}

// ID returns the ledger's identity, made when its file was created: the
// collector labels the traces its batches leave in the storage with it,
// so that a ledger lost or replaced is told from the one that wrote them.
func (l *Ledger) ID() string { return l.id }

// Instance returns "index/count", the collector instance the ledger
// belongs to.
func (l *Ledger) Instance() string {
	return strconv.Itoa(l.opts.Instance) + "/" + strconv.Itoa(l.opts.Instances)
}

// newID returns a random ledger identity.
func newID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("ledger id: %w", err)
	}
	return hex.EncodeToString(b), nil
}
