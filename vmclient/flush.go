package vmclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrNoFlush says that the storage cannot be asked to save its data at
// once: the caller waits the save delay (Durability.After) instead.
var ErrNoFlush = errors.New("the storage cannot be asked to save at once")

// ErrFlushBusy says that the storage kept merging in-memory parts while it
// was asked to save: a snapshot skips the parts being merged, so its save
// is not proof. The caller waits the save delay instead, this time.
var ErrFlushBusy = errors.New("the storage kept merging while asked to save")

// Flush settings: how many snapshots Flush makes before it gives up with
// ErrFlushBusy, and how long after each it reads the merge counters again
// (a merge marks its parts some time before it counts itself active).
const (
	flushAttempts = 4
	flushSettle   = 1100 * time.Millisecond
)

// Flush asks the storage to save to disk, at once, every sample it
// acknowledged before the call, and returns when it has. VictoriaMetrics
// writes its in-memory data (pending rows and in-memory parts, of the data
// and of the index) to files before it makes a snapshot, so Flush creates
// one (/snapshot/create) and deletes it again (/snapshot/delete; a snapshot
// is hard links, cheap to make). Measured on v1.151.0 with 200,000 new
// series: about a second, and nothing lost to a SIGKILL right after, where
// without it a SIGKILL 1.5 s after the acknowledgement lost them all
// (TestFlushSaves checks both).
//
// But a snapshot skips the in-memory parts a merge holds at that moment
// (mergeset and partition flushInmemoryPartsToFiles pass over parts
// isInMerge): a merge whose result stays in memory keeps them unsaved.
// Seen on a loaded machine: a run's series all lost to a SIGKILL after a
// successful snapshot (the rows on disk, their index entries not). So
// Flush reads the node's merge gauges and counters (vm_active_merges,
// vm_merges_total, every type) before the snapshot and flushSettle after
// it: only when no merge was active at either reading and none ran in
// between is the snapshot proof. Otherwise it makes another, up to
// flushAttempts, then returns ErrFlushBusy.
//
// A single node only: a cluster's vminsert holds rows in its own memory
// before it forwards them, which a vmstorage snapshot does not see. For a
// cluster, with Config.DisableFlush, and when the node refuses (a
// -snapshotAuthKey, a proxy that does not pass /snapshot/*), Flush returns
// an error wrapping ErrNoFlush. A node that restarted since the samples
// were acknowledged may have lost them although Flush succeeds: call
// CheckDurability after Flush, as after the save delay.
func (c *Client) Flush(ctx context.Context) error {
	switch {
	case c.disableFlush:
		return fmt.Errorf("%w: storage.disable_flush is set", ErrNoFlush)
	case c.cluster || c.writeURL == "" || len(c.nodes) != 1:
		return fmt.Errorf("%w: a cluster's vminsert holds rows a snapshot does not see", ErrNoFlush)
	}
	node := c.nodes[0]
	for range flushAttempts {
		before, err := c.readMerges(ctx, node)
		if err != nil {
			return err
		}
		if err := c.snapshot(ctx, node); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(flushSettle):
		}
		after, err := c.readMerges(ctx, node)
		if err != nil {
			return err
		}
		if before.quiet() && after.quiet() && before.total == after.total {
			return nil
		}
	}
	return fmt.Errorf("%w: %d snapshots, each overlapped by a merge of %s", ErrFlushBusy, flushAttempts, c.redact(node))
}

// snapshot makes a snapshot of the node and deletes it.
func (c *Client) snapshot(ctx context.Context, node string) error {
	body, err := c.get(ctx, node+"/snapshot/create")
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			return fmt.Errorf("%w: %w", ErrNoFlush, err)
		}
		return fmt.Errorf("flush the storage: %w", err)
	}
	var r struct {
		Status   string `json:"status"`
		Snapshot string `json:"snapshot"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "ok" || r.Snapshot == "" {
		return fmt.Errorf("%w: %s/snapshot/create answered %.200q", ErrNoFlush, c.redact(node), body)
	}
	if _, err := c.get(ctx, node+"/snapshot/delete?snapshot="+url.QueryEscape(r.Snapshot)); err != nil && c.log != nil {
		c.log.Warn("the storage saved its data, but the snapshot made for it is left: delete it",
			"snapshot", r.Snapshot, "err", err)
	}
	return nil
}

// merges is what a node's /metrics says of its merges: the active ones
// and the sum of vm_merges_total over every type.
type merges struct{ active, total uint64 }

func (m merges) quiet() bool { return m.active == 0 }

// readMerges reads the node's merge gauges and counters. A node without
// them (not a VictoriaMetrics single node) cannot prove a save: ErrNoFlush.
func (c *Client) readMerges(ctx context.Context, node string) (merges, error) {
	body, err := c.get(ctx, node+"/metrics")
	if err != nil {
		return merges{}, fmt.Errorf("flush the storage: %w", err)
	}
	m, err := parseMerges(body)
	if err != nil {
		return merges{}, fmt.Errorf("%w: %s/metrics: %w", ErrNoFlush, c.redact(node), err)
	}
	return m, nil
}

// parseMerges sums vm_active_merges and vm_merges_total over their types.
func parseMerges(body []byte) (merges, error) {
	var m merges
	var sawActive, sawTotal bool
	for line := range strings.Lines(string(body)) {
		var sum *uint64
		switch {
		case strings.HasPrefix(line, "vm_active_merges{"):
			sum, sawActive = &m.active, true
		case strings.HasPrefix(line, "vm_merges_total{"):
			sum, sawTotal = &m.total, true
		default:
			continue
		}
		_, v, ok := strings.Cut(strings.TrimSpace(line), "} ")
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if !ok || err != nil {
			return m, fmt.Errorf("line %q: not a count", strings.TrimSpace(line))
		}
		*sum += n
	}
	if !sawActive || !sawTotal {
		return m, errors.New("no vm_active_merges or vm_merges_total")
	}
	return m, nil
}
