package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// State is what the ledger knows of an object.
type State uint8

const (
	// Unknown: the object (with this version) was never seen, or was
	// forgotten or released.
	Unknown State = iota
	// Pending: the object is part of a batch begun but not yet committed.
	Pending
	// Ingested: the object's samples were acknowledged by VictoriaMetrics.
	Ingested
	// Quarantined: the object could not be decoded; it is not retried until
	// released.
	Quarantined
)

// String returns the lower-case name of the state.
func (s State) String() string {
	switch s {
	case Unknown:
		return "unknown"
	case Pending:
		return "pending"
	case Ingested:
		return "ingested"
	case Quarantined:
		return "quarantined"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Object identifies a source object: the configured source name and the key
// within it, plus a version (S3 ETag, or size and mtime for a folder). The
// same key with another version is another object.
type Object struct {
	Source  string
	Key     string
	Version string
	Size    int64
}

// String returns "source/key@version".
func (o Object) String() string {
	return o.Source + "/" + o.Key + "@" + o.Version
}

// validate checks that the object can be stored.
func (o Object) validate() error {
	if err := validName("source", o.Source); err != nil {
		return err
	}
	return validName("key", o.Key)
}

// validName checks a source name, object key or fact key or kind: bbolt keys
// must be non-empty and at most bolt.MaxKeySize bytes.
func validName(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	if len(s) > bolt.MaxKeySize {
		return fmt.Errorf("%s longer than %d bytes", what, bolt.MaxKeySize)
	}
	return nil
}

// Record is what the ledger holds for an object.
type Record struct {
	Object
	// State is Unknown if the ledger holds nothing for this object.
	State State
	// Batch is the batch the object is pending in or was ingested with (0
	// for quarantined objects).
	Batch uint64
	// At is when the record reached its state (millisecond precision, UTC).
	At time.Time
	// Reason is why a quarantined object was quarantined.
	Reason string
}

// encodeRecord encodes a record compactly: state, uvarint batch, varint At
// (Unix ms), varint size, uvarint-prefixed version, and the reason as the
// rest. Source and key are the bucket and the key.
func encodeRecord(r Record) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(r.Version)+len(r.Reason))
	b = append(b, byte(r.State))
	b = binary.AppendUvarint(b, r.Batch)
	b = binary.AppendVarint(b, r.At.UnixMilli())
	b = binary.AppendVarint(b, r.Size)
	b = binary.AppendUvarint(b, uint64(len(r.Version)))
	b = append(b, r.Version...)
	return append(b, r.Reason...)
}

// errCorrupt is returned by decodeRecord for a malformed record.
var errCorrupt = errors.New("corrupt record")

// decodeRecord decodes a record stored under source and key.
func decodeRecord(source, key string, v []byte) (Record, error) {
	r := Record{Object: Object{Source: source, Key: key}}
	if len(v) == 0 || v[0] < byte(Pending) || v[0] > byte(Quarantined) {
		return r, fmt.Errorf("object %s/%s: %w", source, key, errCorrupt)
	}
	r.State = State(v[0])
	p := v[1:]
	var n int
	if r.Batch, n = binary.Uvarint(p); n <= 0 {
		return r, fmt.Errorf("object %s/%s: batch: %w", source, key, errCorrupt)
	}
	p = p[n:]
	at, n := binary.Varint(p)
	if n <= 0 {
		return r, fmt.Errorf("object %s/%s: time: %w", source, key, errCorrupt)
	}
	r.At = time.UnixMilli(at).UTC()
	p = p[n:]
	if r.Size, n = binary.Varint(p); n <= 0 {
		return r, fmt.Errorf("object %s/%s: size: %w", source, key, errCorrupt)
	}
	p = p[n:]
	vl, n := binary.Uvarint(p)
	if n <= 0 || vl > uint64(len(p)-n) {
		return r, fmt.Errorf("object %s/%s: version: %w", source, key, errCorrupt)
	}
	p = p[n:]
	r.Version = string(p[:vl])
	r.Reason = string(p[vl:])
	return r, nil
}

// getRecord returns the record of source/key, or ok false.
func getRecord(tx *bolt.Tx, source, key string) (r Record, ok bool, err error) {
	sb := tx.Bucket(bucketObjects).Bucket([]byte(source))
	if sb == nil {
		return Record{}, false, nil
	}
	v := sb.Get([]byte(key))
	if v == nil {
		return Record{}, false, nil
	}
	r, err = decodeRecord(source, key, v)
	return r, err == nil, err
}

// putRecord stores r, creating the source bucket if needed.
func putRecord(tx *bolt.Tx, r Record) error {
	sb, err := tx.Bucket(bucketObjects).CreateBucketIfNotExists([]byte(r.Source))
	if err != nil {
		return fmt.Errorf("creating bucket for source %q: %w", r.Source, err)
	}
	if err := sb.Put([]byte(r.Key), encodeRecord(r)); err != nil {
		return fmt.Errorf("writing object %s: %w", r.Object, err)
	}
	return nil
}

// deleteRecord removes the record of source/key if any.
func deleteRecord(tx *bolt.Tx, source, key string) error {
	sb := tx.Bucket(bucketObjects).Bucket([]byte(source))
	if sb == nil {
		return nil
	}
	if err := sb.Delete([]byte(key)); err != nil {
		return fmt.Errorf("deleting object %s/%s: %w", source, key, err)
	}
	return nil
}

// Lookup returns what the ledger knows of the object source/key with the
// given version. A record held for another version of the key does not
// count: Lookup then reports Unknown (new data under an old key), with the
// object's fields as asked.
func (l *Ledger) Lookup(source, key, version string) (Record, error) {
	var rec Record
	var found bool
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		rec, found, err = getRecord(tx, source, key)
		return err
	})
	if err != nil {
		return Record{}, fmt.Errorf("ledger lookup of %s/%s: %w", source, key, err)
	}
	if !found || rec.Version != version {
		return Record{Object: Object{Source: source, Key: key, Version: version}}, nil
	}
	return rec, nil
}

// Forget drops the record of source/key, whatever its version, so a later
// object under the key is new data. The pipeline calls it after deleting an
// ingested object from its source. Forgetting an unknown object is a no-op;
// forgetting a pending one is an error.
func (l *Ledger) Forget(source, key string) error {
	err := l.update(func(tx *bolt.Tx) error {
		r, ok, err := getRecord(tx, source, key)
		if err != nil {
			return err
		}
		if ok && r.State == Pending {
			return fmt.Errorf("object is pending in batch %d", r.Batch)
		}
		return deleteRecord(tx, source, key)
	})
	if err != nil {
		return fmt.Errorf("ledger forget %s/%s: %w", source, key, err)
	}
	return nil
}

// ForgetAll drops the records of source's keys as Forget does, in one
// transaction (one write to disk for a batch's objects rather than one
// each). Pending objects keep their records; the error names the first.
func (l *Ledger) ForgetAll(source string, keys []string) error {
	var pending error
	err := l.update(func(tx *bolt.Tx) error {
		pending = nil
		for _, key := range keys {
			r, ok, err := getRecord(tx, source, key)
			if err != nil {
				return err
			}
			if ok && r.State == Pending {
				if pending == nil {
					pending = fmt.Errorf("ledger forget %s/%s: object is pending in batch %d", source, key, r.Batch)
				}
				continue
			}
			if err := deleteRecord(tx, source, key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger forget %d objects of %s: %w", len(keys), source, err)
	}
	return pending
}

// Quarantine records o as quarantined with the reason: Lookup reports it as
// known until it is released. Quarantining an object pending in a batch, or
// one ingested with the same version, is an error; an earlier quarantine is
// replaced.
func (l *Ledger) Quarantine(o Object, reason string) error {
	if err := o.validate(); err != nil {
		return fmt.Errorf("ledger quarantine of %s: %w", o, err)
	}
	err := l.update(func(tx *bolt.Tx) error {
		r, ok, err := getRecord(tx, o.Source, o.Key)
		if err != nil {
			return err
		}
		switch {
		case ok && r.State == Pending:
			return fmt.Errorf("object is pending in batch %d (version %q)", r.Batch, r.Version)
		case ok && r.State == Ingested && r.Version == o.Version:
			return fmt.Errorf("object was ingested in batch %d", r.Batch)
		}
		return putRecord(tx, Record{Object: o, State: Quarantined, At: l.now(), Reason: reason})
	})
	if err != nil {
		return fmt.Errorf("ledger quarantine of %s: %w", o, err)
	}
	return nil
}

// Quarantined lists the quarantined objects of a source ("" for all
// sources), ordered by source and key. It scans the source's records.
func (l *Ledger) Quarantined(source string) ([]Record, error) {
	var out []Record
	err := l.view(func(tx *bolt.Tx) error {
		return eachRecord(tx, source, func(r Record) error {
			if r.State == Quarantined {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ledger listing quarantined objects: %w", err)
	}
	return out, nil
}

// Release forgets a quarantined object so that the next listing takes it
// again (the CLI's "quarantine retry"). It fails with ErrNotFound if
// source/key is not quarantined.
func (l *Ledger) Release(source, key string) error {
	err := l.update(func(tx *bolt.Tx) error {
		r, ok, err := getRecord(tx, source, key)
		if err != nil {
			return err
		}
		if !ok || r.State != Quarantined {
			return fmt.Errorf("object not quarantined: %w", ErrNotFound)
		}
		return deleteRecord(tx, source, key)
	})
	if err != nil {
		return fmt.Errorf("ledger release of %s/%s: %w", source, key, err)
	}
	return nil
}

// PruneIngested drops the ingested records of a source ("" for all sources)
// that were ingested before the given time, and returns how many it
// dropped. It is meant for shared sources, whose objects are not deleted:
// their records accumulate, and the pipeline only lists recent key
// prefixes, so records older than the listed window can go.
func (l *Ledger) PruneIngested(source string, before time.Time) (int, error) {
	n := 0
	err := l.update(func(tx *bolt.Tx) error {
		type ref struct{ source, key string }
		var drop []ref
		err := eachRecord(tx, source, func(r Record) error {
			if r.State == Ingested && r.At.Before(before) {
				drop = append(drop, ref{r.Source, r.Key})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, d := range drop {
			if err := deleteRecord(tx, d.source, d.key); err != nil {
				return err
			}
		}
		n = len(drop)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("ledger pruning ingested objects: %w", err)
	}
	return n, nil
}

// eachRecord calls fn for every record of a source ("" for all sources).
func eachRecord(tx *bolt.Tx, source string, fn func(Record) error) error {
	objects := tx.Bucket(bucketObjects)
	each := func(name []byte, sb *bolt.Bucket) error {
		src := string(name)
		return sb.ForEach(func(k, v []byte) error {
			r, err := decodeRecord(src, string(k), v)
			if err != nil {
				return err
			}
			return fn(r)
		})
	}
	if source != "" {
		sb := objects.Bucket([]byte(source))
		if sb == nil {
			return nil
		}
		return each([]byte(source), sb)
	}
	return objects.ForEachBucket(func(name []byte) error {
		return each(name, objects.Bucket(name))
	})
}

// MarkIngested records o as ingested outside any batch: the downloader
// role's memory of the objects it handed over to a collector (its own
// ledger file, not the collector's). Lookup then reports the version as
// known.
func (l *Ledger) MarkIngested(o Object) error {
	if err := o.validate(); err != nil {
		return fmt.Errorf("ledger mark of %s: %w", o, err)
	}
	err := l.update(func(tx *bolt.Tx) error {
		return putRecord(tx, Record{Object: o, State: Ingested, At: l.now()})
	})
	if err != nil {
		return fmt.Errorf("ledger mark of %s: %w", o, err)
	}
	return nil
}
