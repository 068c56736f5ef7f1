package vmclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
)

// ErrNoFlush says that the storage cannot be asked to save its data at
// once: the caller waits the save delay (Durability.After) instead.
var ErrNoFlush = errors.New("the storage cannot be asked to save at once")

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
