package storage

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// VictoriaMetrics acknowledges a write once the samples are in memory; it
// saves them to disk later. A sample first waits in a buffer for up to
// pendingRowsFlushInterval (2 s, fixed), checked on a ticker of the same
// period, then in an in-memory part until its flush deadline,
// -inmemoryDataFlushInterval (default 5s) after the part was made, checked
// on a ticker of that period: at worst 2·2 s + 2·interval after the
// acknowledgement (14 s at the default; measured on v1.151.0 with SIGKILL
// at random moments: losses up to 13 s after the write, none at 14 s or
// later, and at most 7 s with -inmemoryDataFlushInterval=2s). The
// collector waits that long plus durableMargin (for a busy disk) before it
// takes samples as saved. A process that died in between lost them, which
// the collector sees from the node's start time: CheckDurability.
const (
	pendingRowsFlush = 2 * time.Second
	durableMargin    = 4 * time.Second
)

// durableAfter returns how long after an acknowledgement a storage node
// with the given -inmemoryDataFlushInterval has saved the samples to disk.
func durableAfter(flushInterval time.Duration) time.Duration {
	// VictoriaMetrics raises intervals below the pending rows' one.
	flushInterval = max(flushInterval, pendingRowsFlush)
	return 2*pendingRowsFlush + 2*flushInterval + durableMargin
}

// Durability is what the storage nodes say about the samples they
// acknowledged: which of them are saved to disk.
type Durability struct {
	// Generation counts the restarts of storage nodes seen by this client's
	// checks. Samples acknowledged while the generation was G are saved
	// once After has passed since their acknowledgement, if a check made
	// after that still returns G; a larger generation means a node
	// restarted meanwhile and may have lost them.
	Generation uint64
	// After is how long after its acknowledgement a sample is saved to
	// disk, unless the node holding it dies first.
	After time.Duration
}

// nodeState is what one storage node's /metrics says.
type nodeState struct {
	start    uint64 // vm_app_start_timestamp (Unix seconds)
	requests uint64 // vm_http_requests_all_total: only grows while the process lives
	flush    time.Duration
	dedup    string // -dedup.minScrapeInterval, "" when not listed
}

// restartedSince reports whether the node seen as s is another process than
// the one seen earlier as old. Start times have a resolution of a second,
// so a process that replaced one started in the same second is told apart
// by its request counter, which starts again from zero: within a process it
// never goes down (VictoriaMetrics renders /metrics at most once a second,
// so two reads within a second may show the same value). Only a process
// that replaced one started in the same second and had already served as
// many requests as it had would pass unseen.
func (s nodeState) restartedSince(old nodeState) bool {
	return s.start != old.start || s.requests < old.requests
}

// StorageNodes returns the base URLs of the processes that hold the
// samples, whose /metrics CheckDurability reads: the single node, or a
// cluster's vmstorage nodes (Config.StorageNodes).
func (c *Client) StorageNodes() []string { return c.nodes }

// Generation returns the restart generation as of the latest
// CheckDurability (0 before the first).
func (c *Client) Generation() uint64 {
	c.durMu.Lock()
	defer c.durMu.Unlock()
	return c.gen
}

// CheckDurability reads the /metrics page of every storage node and
// returns the generation (raised when a node's process changed since the
// previous check: a restart that may have lost the samples it held in
// memory) and how long samples take to be saved. Call it once before
// writing, so that the first restart is seen. It fails when a node cannot
// be read, and then changes nothing: the caller cannot know whether the
// samples are saved, and asks again later.
func (c *Client) CheckDurability(ctx context.Context) (Durability, error) {
	states := make([]nodeState, len(c.nodes))
	for i, node := range c.nodes {
		st, err := c.readNode(ctx, node)
		if err != nil {
			c.noteFailure(err)
			return Durability{}, err
		}
		states[i] = st
	}
	after := c.durableAfterCfg
	if after <= 0 {
		for _, st := range states {
			after = max(after, durableAfter(st.flush))
		}
	}
	c.durMu.Lock()
	defer c.durMu.Unlock()
	for i, st := range states {
		if c.seen != nil && st.restartedSince(c.seen[i]) {
			c.gen++
			c.restarts.Add(1)
			break
		}
	}
	c.seen = states
	c.noteSuccess()
	return Durability{Generation: c.gen, After: after}, nil
}

// readNode reads one storage node's /metrics.
func (c *Client) readNode(ctx context.Context, node string) (nodeState, error) {
	body, err := c.get(ctx, node+"/metrics")
	if err != nil {
		return nodeState{}, fmt.Errorf("storage node %s: %w", node, err)
	}
	st, err := parseNodeMetrics(body)
	if err != nil {
		return nodeState{}, fmt.Errorf("storage node %s/metrics: %w", node, err)
	}
	return st, nil
}

// parseNodeMetrics reads a storage node's start time, request counter and
// flags from the text of its /metrics.
func parseNodeMetrics(body []byte) (nodeState, error) {
	var st nodeState
	var sawStart, sawRequests, sawFlush bool
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "vm_app_start_timestamp "):
			v, err := strconv.ParseUint(strings.TrimSpace(line[len("vm_app_start_timestamp "):]), 10, 64)
			if err != nil {
				return st, fmt.Errorf("vm_app_start_timestamp: %w", err)
			}
			st.start, sawStart = v, true
		case strings.HasPrefix(line, "vm_http_requests_all_total "):
			v, err := strconv.ParseUint(strings.TrimSpace(line[len("vm_http_requests_all_total "):]), 10, 64)
			if err != nil {
				return st, fmt.Errorf("vm_http_requests_all_total: %w", err)
			}
			st.requests, sawRequests = v, true
		case strings.HasPrefix(line, `flag{name="inmemoryDataFlushInterval", value="`):
			v, _, _ := strings.Cut(line[len(`flag{name="inmemoryDataFlushInterval", value="`):], `"`)
			d, err := time.ParseDuration(v)
			if err != nil {
				return st, fmt.Errorf("-inmemoryDataFlushInterval=%q: %w", v, err)
			}
			st.flush, sawFlush = d, true
		case strings.HasPrefix(line, `flag{name="dedup.minScrapeInterval", value="`):
			st.dedup, _, _ = strings.Cut(line[len(`flag{name="dedup.minScrapeInterval", value="`):], `"`)
		}
	}
	if err := sc.Err(); err != nil {
		return st, err
	}
	switch {
	case !sawStart || !sawRequests:
		return st, errors.New("no vm_app_start_timestamp or vm_http_requests_all_total: not a VictoriaMetrics process")
	case !sawFlush:
		return st, errors.New("no -inmemoryDataFlushInterval flag: not a VictoriaMetrics single node or vmstorage " +
			"(for a cluster, storage_nodes lists the vmstorage HTTP addresses, e.g. http://vmstorage-1:8482)")
	}
	return st, nil
}
