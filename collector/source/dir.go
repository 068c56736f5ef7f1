package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Dir is a source of flow log objects in a local folder and its
// subfolders; keys are paths relative to it.
type Dir struct {
	name string
	root string
}

// NewDir returns the source named name reading the folder root.
func NewDir(name, root string) *Dir { return &Dir{name: name, root: root} }

// Name returns the source's name.
func (d *Dir) Name() string { return d.name }

// Root returns the folder.
func (d *Dir) Root() string { return d.root }

// List returns the flow log files under the folder, ordered by key. Their
// version is their size and modification time.
func (d *Dir) List(ctx context.Context) ([]Object, error) {
	var out []Object
	err := filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != d.root {
				return nil // removed while we walked
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !e.Type().IsRegular() || !IsFlowLog(e.Name()) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(d.root, path)
		if err != nil {
			return err
		}
		out = append(out, fileObject(filepath.ToSlash(rel), info))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.root, err)
	}
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func fileObject(key string, info fs.FileInfo) Object {
	return Object{
		Key:     key,
		Version: strconv.FormatInt(info.Size(), 10) + "-" + strconv.FormatInt(info.ModTime().UnixNano(), 10),
		Size:    info.Size(),
		ModTime: info.ModTime(),
	}
}

// ErrChanged is returned (wrapped) when an object is not the version listed:
// it was replaced since. The next listing has its new version.
var ErrChanged = errors.New("changed since it was listed")

// Open opens the object's file, if it is still the version listed.
func (d *Dir) Open(_ context.Context, o Object) (io.ReadCloser, error) {
	path, err := d.path(o.Key)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", o.Key, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", o.Key, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", o.Key, err)
	}
	if o.Version != "" && fileObject(o.Key, info).Version != o.Version {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", o.Key, ErrChanged)
	}
	return f, nil
}

// Delete removes the object's file, if it is still the version listed (a
// replaced file holds data not yet read). A file already gone is not an
// error.
func (d *Dir) Delete(_ context.Context, o Object) error {
	path, err := d.path(o.Key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", o.Key, err)
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", o.Key, err)
	}
	if o.Version != "" && fileObject(o.Key, info).Version != o.Version {
		return fmt.Errorf("delete %s: %w; left for the next run", o.Key, ErrChanged)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", o.Key, err)
	}
	return nil
}

// path returns the file of a key; keys are paths inside the folder (its
// listing makes no others), so a key that would leave it (a "..", an
// absolute path: from a damaged ledger or spool sidecar) is refused.
func (d *Dir) path(key string) (string, error) {
	rel := filepath.FromSlash(key)
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("key %q: not a path inside %s", key, d.root)
	}
	return filepath.Join(d.root, rel), nil
}

// CheckFolder names the check of a dir source (Dir.Check).
const CheckFolder = "folder"

// Checker is a source that tests its own access (the test command): S3
// and Dir.
type Checker interface {
	Check(ctx context.Context, opts CheckOptions) []Check
}

// Check tests that the folder can be read and written (objects are
// deleted after ingest): one check, CheckFolder.
func (d *Dir) Check(context.Context, CheckOptions) []Check {
	c := Check{Name: CheckFolder, Result: CheckPass, Detail: d.root + " can be read and written"}
	if _, err := os.ReadDir(d.root); err != nil {
		c.Result, c.Detail = CheckFail, fmt.Sprintf("read %s: %v", d.root, err)
		return []Check{c}
	}
	f, err := os.CreateTemp(d.root, ".vpcflow-access-check-*")
	if err != nil {
		c.Result, c.Detail = CheckFail, fmt.Sprintf("write %s: %v (objects cannot be deleted after ingest)", d.root, err)
		return []Check{c}
	}
	f.Close()
	os.Remove(f.Name())
	return []Check{c}
}
