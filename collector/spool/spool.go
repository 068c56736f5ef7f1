// Package spool hands objects from a downloader process to a collector
// process through a shared folder, when the two roles run apart (`run
// --role downloader` and `run --role collector`).
//
// The downloader copies each new object of a source into
// <dir>/<source>/<key>, written under a temporary name and renamed into
// place beside a small sidecar (<key>.vpcflow.json) naming the original
// object's version, so the collector never sees half an object. It keeps
// the spool under a size bound (waiting while it is full) and remembers
// every object version it handed over, so it never hands one over twice,
// even after the collector deleted it from the spool.
//
// On the collector's side, Source lists the spooled objects of a source
// under their original keys and versions. Once an object's data is stored,
// Delete removes the original (the S3 object, if it is still the version
// spooled) and then the spooled copy; Release removes only the copy (for
// sources whose originals stay).
package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/collector/source"
)

// sidecarSuffix names the file beside a spooled object that holds its
// original identity.
const sidecarSuffix = ".vpcflow.json"

// partialSuffix marks a spooled object still being written.
const partialSuffix = ".partial"

// sidecar is what the collector needs of the original object.
type sidecar struct {
	Key     string    `json:"key"`
	Version string    `json:"version"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

// folder returns the spool folder of a source.
func folder(dir, name string) string { return filepath.Join(dir, name) }

// path returns where a key of a source is spooled.
func path(dir, name, key string) string {
	return filepath.Join(folder(dir, name), filepath.FromSlash(key))
}

// Source is the collector's view of a source's spooled objects. Its
// objects carry the original keys and versions, so the ledger knows them
// as the original source's.
type Source struct {
	origin source.Source
	dir    string
}

// NewSource returns the spooled objects of origin under dir; origin is
// where Delete removes the originals.
func NewSource(origin source.Source, dir string) *Source {
	return &Source{origin: origin, dir: dir}
}

// Name returns the original source's name.
func (s *Source) Name() string { return s.origin.Name() }

// List returns the spooled objects, ordered by key.
func (s *Source) List(ctx context.Context) ([]source.Object, error) {
	root := folder(s.dir, s.Name())
	var out []source.Object
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !e.Type().IsRegular() || !strings.HasSuffix(p, sidecarSuffix) {
			return nil
		}
		sc, err := readSidecar(p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(strings.TrimSuffix(p, sidecarSuffix)); err != nil {
			return nil // the object went first: a delete cut short
		}
		out = append(out, source.Object{Key: sc.Key, Version: sc.Version, Size: sc.Size, ModTime: sc.ModTime})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list spool %s: %w", root, err)
	}
	slices.SortFunc(out, func(a, b source.Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func readSidecar(p string) (sidecar, error) {
	var sc sidecar
	b, err := os.ReadFile(p)
	if err != nil {
		return sc, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		return sc, fmt.Errorf("read %s: %w", p, err)
	}
	return sc, nil
}

// Open opens the spooled copy of an object, if it is the version spooled.
func (s *Source) Open(_ context.Context, o source.Object) (io.ReadCloser, error) {
	p := path(s.dir, s.Name(), o.Key)
	sc, err := readSidecar(p + sidecarSuffix)
	if err != nil {
		return nil, fmt.Errorf("open spooled %s: %w", o.Key, err)
	}
	if o.Version != "" && sc.Version != o.Version {
		return nil, fmt.Errorf("open spooled %s: %w", o.Key, source.ErrChanged)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open spooled %s: %w", o.Key, err)
	}
	return f, nil
}

// Delete removes the original object (unless it changed since it was
// spooled: its new version is downloaded anew) and then the spooled copy.
func (s *Source) Delete(ctx context.Context, o source.Object) error {
	if err := s.origin.Delete(ctx, o); err != nil && !errors.Is(err, source.ErrChanged) {
		return err
	}
	return s.Release(ctx, o)
}

// Release removes the spooled copy of an object whose data is stored,
// leaving the original where it is.
func (s *Source) Release(_ context.Context, o source.Object) error {
	p := path(s.dir, s.Name(), o.Key)
	// The object first, then its sidecar: a copy without a sidecar is not
	// listed, a sidecar without a copy neither.
	for _, f := range []string{p, p + sidecarSuffix} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("release spooled %s: %w", o.Key, err)
		}
	}
	return nil
}

// Size returns the bytes the files under the spool folder take.
func Size(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return nil // gone meanwhile
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("spool size %s: %w", dir, err)
	}
	return n, nil
}

// removePartials removes what downloads cut short left behind.
func removePartials(dir string) error {
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.Type().IsRegular() && strings.HasSuffix(p, partialSuffix) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
}
