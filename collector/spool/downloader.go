package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// Origin is a source the downloader copies from.
type Origin struct {
	Source source.Source
	// Workers is how many objects are fetched at once; default
	// source.DefaultDownloaders.
	Workers int
	// Shared sources keep their objects (delete_after_ingest: false):
	// past the first run, they are listed by recent date prefixes when
	// they can be.
	Shared bool
	// FirstRun is the source's first-run behaviour: the downloader carries
	// it out (purge deletes, skip leaves objects alone), and the collector
	// takes whatever is spooled.
	FirstRun sourcestate.FirstRun

	stats *sourcestate.Stats
	state ledger.SourceState
}

// Origins returns the downloader's origins: the configuration's enabled
// sources, each set up by sourcestate.Open, fetched by its downloaders, with
// its first-run behaviour.
func Origins(ctx context.Context, cfgs []source.Config, log *slog.Logger) []*Origin {
	var out []*Origin
	for i, c := range cfgs {
		if !c.IsEnabled() {
			continue
		}
		out = append(out, &Origin{Source: sourcestate.Open(ctx, i, c, log), Workers: c.Downloaders, Shared: !c.Deletes(),
			FirstRun: sourcestate.FirstRun{Mode: c.OnFirstRun, OlderThan: c.PurgeOlderThan}})
	}
	return out
}

// Config is the collector configuration's spool section: the folder the
// downloader role hands objects to the collector role through, when they
// run as separate processes.
type Config struct {
	// Dir is the spool folder (the configuration's default is
	// <state_dir>/spool). Both processes must see the same folder.
	Dir string `yaml:"dir"`
	// MaxBytes bounds the spool's size: the downloader waits while it is
	// full. Default DefaultMaxBytes.
	MaxBytes int64 `yaml:"max_bytes"`
}

// DefaultMaxBytes is the default bound of the spool's size, 1 GiB.
const DefaultMaxBytes = 1 << 30

// DefaultConfig returns the defaults of Config.
func DefaultConfig() Config { return Config{MaxBytes: DefaultMaxBytes} }

// Options tune a Downloader.
type Options struct {
	// Config is the spool folder and its bound; MaxBytes 0 takes the
	// default.
	Config
	// Interval is the pause between listings when nothing is new (the
	// configuration's batch.max_wait); default sourcestate.DefaultMaxWait.
	Interval time.Duration
	Logger   *slog.Logger
	// Share is the part of every origin this downloader fetches when
	// several download from the same bucket (the configuration's instance:
	// source.Share); the zero Share fetches every object.
	Share source.Share
}

// Downloader copies new objects of its origins into the spool. Its ledger
// (a file of its own, not the collector's) remembers what it handed over.
type Downloader struct {
	origins []*Origin
	ledger  *ledger.Ledger
	opts    Options
	log     *slog.Logger
	stats   sourcestate.Totals

	mu       sync.Mutex // guards reserved
	reserved int64      // bytes of downloads in flight
}

// NewDownloader returns a downloader of origins into opts.Dir.
func NewDownloader(origins []*Origin, l *ledger.Ledger, opts Options) *Downloader {
	if opts.Interval <= 0 {
		opts.Interval = sourcestate.DefaultMaxWait
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	for _, o := range origins {
		o.stats = sourcestate.NewStats()
		if o.Workers <= 0 {
			o.Workers = source.DefaultDownloaders
		}
	}
	return &Downloader{origins: origins, ledger: l, opts: opts, log: opts.Logger}
}

// Sources reports each origin's counters (for the status server).
func (d *Downloader) Sources() []sourcestate.Report {
	out := make([]sourcestate.Report, 0, len(d.origins))
	for _, o := range d.origins {
		r := o.stats.Report(o.Source.Name())
		r.Deletes, r.FirstRun = !o.Shared, o.FirstRun.Mode
		r.SetMode(o.Source)
		out = append(out, r)
	}
	return out
}

// Exporters returns nothing: the downloader does not read records.
func (d *Downloader) Exporters() []sourcestate.ExporterReport { return nil }

// Stats returns the downloader's totals.
func (d *Downloader) Stats() *sourcestate.Totals { return &d.stats }

// Run downloads until ctx is done; with once, it returns when a round
// found nothing new to download.
func (d *Downloader) Run(ctx context.Context, once bool) error {
	if err := removePartials(d.opts.Dir); err != nil {
		return fmt.Errorf("clean spool %s: %w", d.opts.Dir, err)
	}
	for {
		n := 0
		for _, o := range d.origins {
			got, err := d.round(ctx, o)
			n += got
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				o.stats.SetStatus(sourcestate.StatusError, err)
				d.log.Error("download round failed", "source", o.Source.Name(), "err", err)
				if once {
					return fmt.Errorf("source %s: %w", o.Source.Name(), err)
				}
			}
		}
		if once && n == 0 {
			return nil
		}
		if n == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d.opts.Interval):
			}
		}
	}
}

// round lists an origin and downloads what is new; it returns how many
// objects it spooled.
func (d *Downloader) round(ctx context.Context, o *Origin) (int, error) {
	fr := o.FirstRun
	fr.Share = d.share(o)
	st, err := sourcestate.EnsureFirstRun(ctx, d.ledger, o.Source, fr, time.Now(), d.log, func() { o.stats.Purged.Add(1) })
	if err != nil {
		return 0, err
	}
	o.state = st
	objs, err := d.list(ctx, o)
	if err != nil {
		return 0, err
	}
	o.stats.SetStatus(sourcestate.StatusEnabled, nil)
	// An origin fed by notifications (source.Notify) lists what its queue
	// announced: the first run's cutoff was its bucket listing's, and a
	// message is released once its object is in the spool.
	_, notified := o.Source.(source.BucketLister)
	var todo []source.Object
	for _, obj := range objs {
		if !st.Cutoff.IsZero() && obj.ModTime.Before(st.Cutoff) && !notified {
			continue
		}
		rec, err := d.ledger.Lookup(o.Source.Name(), obj.Key, obj.Version)
		if err != nil {
			return 0, err
		}
		if rec.State == ledger.Unknown {
			todo = append(todo, obj)
		} else {
			d.release(ctx, o, obj) // spooled already: announced again
		}
	}
	slices.SortFunc(todo, source.CompareByKeyTime)
	o.stats.Listed.Add(int64(len(todo)))
	o.stats.Backlog.Store(int64(len(todo)))

	work := make(chan source.Object)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	done := 0
	for range min(o.Workers, len(todo)) {
		wg.Go(func() {
			for obj := range work {
				err := d.fetch(ctx, o, obj)
				mu.Lock()
				switch {
				case err == nil:
					done++
					d.release(ctx, o, obj)
				case errors.Is(err, source.ErrChanged) || errors.Is(err, errGone):
					d.log.Info("object changed or went away before it was spooled", "source", o.Source.Name(), "key", obj.Key)
				case failed == nil:
					failed = err
				}
				mu.Unlock()
				o.stats.Backlog.Add(-1)
			}
		})
	}
	for _, obj := range todo {
		select {
		case work <- obj:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	if failed == nil && o.state.Mode == sourcestate.FirstRunBackfill && !o.state.Done && ctx.Err() == nil {
		o.state.Done = true
		failed = d.ledger.SetSourceState(o.Source.Name(), o.state)
	}
	return done, failed
}

// releaser is an origin that holds something for each object it lists (a
// queue message: source.Notify) until the object is safe.
type releaser interface {
	Release(ctx context.Context, o source.Object) error
}

// release lets an origin fed by notifications delete the message of an
// object now in the spool (the spool, not the queue, keeps it from here).
func (d *Downloader) release(ctx context.Context, o *Origin, obj source.Object) {
	if r, ok := o.Source.(releaser); ok {
		if err := r.Release(ctx, obj); err != nil {
			d.log.Warn("spooled object's notification not released", "source", o.Source.Name(), "key", obj.Key, "err", err)
		}
	}
}

// list lists this downloader's share of an origin (Options.Share; an
// origin fed by notifications is not split: the queue hands each message
// to one reader): in full, or only its recent date prefixes for a shared
// one past its first run; an origin fed by notifications, its bucket until
// its first run is done, then what its queue announced.
func (d *Downloader) list(ctx context.Context, o *Origin) ([]source.Object, error) {
	objs, err := d.listAll(ctx, o)
	if err != nil {
		return nil, err
	}
	return d.share(o).Filter(objs), nil
}

// share returns the part of o this downloader takes.
func (d *Downloader) share(o *Origin) source.Share {
	if !source.Splits(o.Source) {
		return source.Share{}
	}
	return d.opts.Share
}

func (d *Downloader) listAll(ctx context.Context, o *Origin) ([]source.Object, error) {
	if bl, ok := o.Source.(source.BucketLister); ok && !o.state.Done {
		return bl.ListBucket(ctx)
	}
	sl, ok := o.Source.(sourcestate.SinceLister)
	if !o.Shared || !ok || !o.state.Done {
		return o.Source.List(ctx)
	}
	since := time.Now().Add(-sourcestate.SharedWindow)
	if o.state.Cutoff.After(since) {
		since = o.state.Cutoff
	}
	return sl.ListSince(ctx, since)
}

// errGone is returned by fetch for an object deleted since it was listed.
var errGone = errors.New("object went away")

// fetch copies one object into the spool, once there is room for it.
func (d *Downloader) fetch(ctx context.Context, o *Origin, obj source.Object) error {
	// Room for the object and its sidecar: the sidecar counts against the
	// bound too (Size sums every file), so reserving the object alone let
	// concurrent fetches go over it by their sidecars.
	room := obj.Size + sidecarBytes(obj)
	if err := d.reserve(ctx, room); err != nil {
		return err
	}
	defer d.unreserve(room)
	name := o.Source.Name()
	dst := path(d.opts.Dir, name, obj.Key)
	if err := os.MkdirAll(folder(d.opts.Dir, name), 0o755); err != nil {
		return fmt.Errorf("spool %s: %w", obj.Key, err)
	}
	rc, err := o.Source.Open(ctx, obj)
	if err != nil {
		if isNotFound(err) {
			return errGone
		}
		return err
	}
	defer rc.Close()
	tmp := dst + partialSuffix
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("spool %s: %w", obj.Key, err)
	}
	n, err := io.Copy(f, rc)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool %s: %w", obj.Key, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("spool %s: %w", obj.Key, err)
	}
	// The sidecar last: it makes the object visible to the collector.
	sc, _ := json.Marshal(sidecar{Key: obj.Key, Version: obj.Version, Size: n, ModTime: obj.ModTime})
	if err := writeSynced(dst+sidecarSuffix+partialSuffix, sc); err != nil {
		return fmt.Errorf("spool %s: %w", obj.Key, err)
	}
	if err := os.Rename(dst+sidecarSuffix+partialSuffix, dst+sidecarSuffix); err != nil {
		return fmt.Errorf("spool %s: %w", obj.Key, err)
	}
	// The renames on disk before the ledger says the object was handed
	// over: after a power cut, a copy the ledger knows is there, whole.
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("spool %s: %w", obj.Key, err)
	}
	if err := d.ledger.MarkIngested(ledger.Object{Source: name, Key: obj.Key, Version: obj.Version, Size: obj.Size}); err != nil {
		return err
	}
	o.stats.Downloaded.Add(1)
	o.stats.Bytes.Add(n)
	d.stats.Objects.Add(1)
	d.stats.ReadBytes.Add(n)
	return nil
}

// sidecarBytes bounds the size of obj's sidecar: as written for obj, with
// room for a size of more digits (an object longer than listed).
func sidecarBytes(obj source.Object) int64 {
	sc, _ := json.Marshal(sidecar{Key: obj.Key, Version: obj.Version, Size: obj.Size, ModTime: obj.ModTime})
	return int64(len(sc)) + 20
}

// isNotFound reports whether err says the object does not exist.
func isNotFound(err error) bool {
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	var nf interface{ NotFound() bool }
	return errors.As(err, &nf) && nf.NotFound()
}

// reserve waits until the spool has room for size more bytes (an object
// larger than the whole spool goes alone into an empty one).
func (d *Downloader) reserve(ctx context.Context, size int64) error {
	logged := false
	for {
		used, err := Size(d.opts.Dir)
		if err != nil {
			return err
		}
		d.mu.Lock()
		if used+d.reserved == 0 || used+d.reserved+size <= d.opts.MaxBytes {
			d.reserved += size
			d.mu.Unlock()
			return nil
		}
		d.mu.Unlock()
		if !logged {
			d.log.Info("spool full, waiting for the collector", "spool", d.opts.Dir, "used_bytes", used, "max_bytes", d.opts.MaxBytes)
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (d *Downloader) unreserve(size int64) {
	d.mu.Lock()
	d.reserved -= size
	d.mu.Unlock()
}

// writeSynced writes a file and flushes it to disk.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir flushes a folder's entries (renames into it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
