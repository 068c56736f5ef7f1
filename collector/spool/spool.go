// Package spool hands objects from a downloader process to a collector
// process through a shared folder, when the two roles run apart (`run
// --role downloader` and `run --role collector`).
//
// The downloader copies each new object of a source into the source's
// folder <dir>/<source>, under a file name made from the key (see
// fileName: a hash of the key and a sanitised tail of it, so that any S3
// key, `..` parts, `//` runs and 1,024 bytes included, maps to a file of
// its own inside that folder). The copy is written under a temporary name
// and renamed into place beside a small sidecar (<file>.vpcflow.json)
// naming the original key and version, so the collector never sees half
// an object. It keeps the spool under a size bound (waiting while it is
// full) and remembers every object version it handed over, so it never
// hands one over twice, even after the collector deleted it from the
// spool.
//
// On the collector's side, Source lists the spooled objects of a source
// under their original keys and versions, read from the sidecars found
// anywhere under the source's folder: copies spooled under the layout of
// earlier versions (<dir>/<source>/<key>) are still collected. Once an
// object's data is stored, Delete removes the original (the S3 object, if
// it is still the version spooled) and then the spooled copy; Release
// removes only the copy (for sources whose originals stay).
package spool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/vpcflow/vpcflow/collector/sourcestate"
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
	return filepath.Join(folder(dir, name), fileName(key))
}

// maxTail bounds the readable tail of a spooled file's name: with the
// hash, the sidecar's suffix and ".partial", a name stays under the 255
// bytes file systems allow.
const maxTail = 160

// fileName returns the name a key is spooled under: 32 hex digits of the
// key's SHA-256, a dash, and the key's last part (past its last '/') with
// every byte but ASCII letters, digits and "._=-" replaced by '_', cut
// to its last maxTail bytes. Every key gets a name of its own (keys that
// a file system would take as one path, such as "a//x" and "a/x", too),
// the name is a single path element that cannot climb out of the folder,
// and the object's extension (.log.gz, .log.parquet) is kept for whoever
// looks at the spool; the original key is in the sidecar.
func fileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	tail := []byte(key[strings.LastIndexByte(key, '/')+1:])
	if len(tail) > maxTail {
		tail = tail[len(tail)-maxTail:]
	}
	for i, c := range tail {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '=' || c == '-') {
			tail[i] = '_'
		}
	}
	return hex.EncodeToString(sum[:16]) + "-" + string(tail)
}

// legacyPath returns where versions before the hashed names spooled a key
// (<dir>/<source>/<key>), when that path stays inside the source's folder.
func legacyPath(dir, name, key string) (string, bool) {
	rel := filepath.FromSlash(key)
	if !filepath.IsLocal(rel) {
		return "", false
	}
	return filepath.Join(folder(dir, name), rel), true
}

// errNotSpooled says that no copy of a key is in the spool.
var errNotSpooled = fmt.Errorf("not in the spool: %w", fs.ErrNotExist)

// locate finds the spooled copy of a key: the path of the copy and its
// sidecar. It looks where the key is spooled, then where earlier versions
// spooled it; a copy of the version asked for ("" for any) comes first,
// else the copy of another version is returned (the caller tells them
// apart by the sidecar's Version).
func (s *Source) locate(key, version string) (string, sidecar, error) {
	cands := []string{path(s.dir, s.Name(), key)}
	if p, ok := legacyPath(s.dir, s.Name(), key); ok {
		cands = append(cands, p)
	}
	var other string
	var otherSC sidecar
	for i, p := range cands {
		sc, err := readSidecar(p + sidecarSuffix)
		switch {
		case err != nil && i == 0 && !errors.Is(err, fs.ErrNotExist):
			return "", sidecar{}, err
		case err != nil || sc.Key != key:
			// Not there; under the old layout, the path of another key
			// that cleans to the same one ("a//x" and "a/x").
			continue
		case version == "" || sc.Version == version:
			return p, sc, nil
		case other == "":
			other, otherSC = p, sc
		}
	}
	if other != "" {
		return other, otherSC, nil
	}
	return "", sidecar{}, errNotSpooled
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

// Take makes the collector role's sources read what the downloader role
// spools for them under dir: the downloader fetches their objects and
// carries out their first runs, so the collector takes whatever is
// spooled.
func Take(srcs []*sourcestate.Source, dir string) {
	for _, s := range srcs {
		s.Source = NewSource(s.Source, dir)
		s.FirstRun = sourcestate.FirstRun{Mode: sourcestate.FirstRunBackfill}
		s.Fetchers = 0
	}
}

// Name returns the original source's name.
func (s *Source) Name() string { return s.origin.Name() }

// Presplit says that the spool holds this collector instance's objects
// already (source.Presplit): its own downloader took its share of a
// listed origin, or messages of a queue, which any instance may receive.
// Each pair of downloader and collector has its own spool.
func (s *Source) Presplit() {}

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
	p, sc, err := s.locate(o.Key, o.Version)
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
// leaving the original where it is. A copy of another version (spooled
// since) is left for the collector to collect.
func (s *Source) Release(_ context.Context, o source.Object) error {
	p, sc, err := s.locate(o.Key, o.Version)
	if errors.Is(err, errNotSpooled) || err == nil && o.Version != "" && sc.Version != o.Version {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release spooled %s: %w", o.Key, err)
	}
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
