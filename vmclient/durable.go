package vmclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
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
	// Retention is the shortest -retentionPeriod of the nodes: samples
	// older than that are gone by design.
	Retention time.Duration
}

// nodeState is what one storage node's /metrics says.
type nodeState struct {
	start     uint64 // vm_app_start_timestamp (Unix seconds)
	requests  uint64 // vm_http_requests_all_total: only grows while the process lives
	flush     time.Duration
	dedup     string        // -dedup.minScrapeInterval, "" when not listed
	retention time.Duration // -retentionPeriod; 0 when not listed
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
	states := make([]nodeState, 0, len(c.nodes)+len(c.insertNodes))
	for _, node := range c.nodes {
		st, err := c.readNode(ctx, node, true)
		if err != nil {
			c.noteFailure(err)
			return Durability{}, err
		}
		states = append(states, st)
	}
	// vminsert answers a write once the rows are in its own memory and
	// forwards them within 200 ms: its restarts lose them too.
	for _, node := range c.insertNodes {
		st, err := c.readNode(ctx, node, false)
		if err != nil {
			c.noteFailure(err)
			return Durability{}, err
		}
		states = append(states, st)
	}
	after := c.durableAfterCfg
	if after <= 0 {
		for _, st := range states[:len(c.nodes)] {
			after = max(after, durableAfter(st.flush))
		}
	}
	var retention time.Duration
	for _, st := range states[:len(c.nodes)] {
		if st.retention > 0 && (retention == 0 || st.retention < retention) {
			retention = st.retention
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
	return Durability{Generation: c.gen, After: after, Retention: retention}, nil
}

// readNode reads one storage node's /metrics.
func (c *Client) readNode(ctx context.Context, node string, storage bool) (nodeState, error) {
	what := "storage node"
	if !storage {
		what = "insert node"
	}
	body, err := c.get(ctx, node+"/metrics")
	if err != nil {
		return nodeState{}, fmt.Errorf("%s %s: %w", what, node, err)
	}
	st, err := parseNodeMetrics(body, storage)
	if err != nil {
		return nodeState{}, fmt.Errorf("%s %s/metrics: %w", what, node, err)
	}
	return st, nil
}

// parseNodeMetrics reads a node's start time, request counter and flags
// from the text of its /metrics; a storage node must show its flush
// interval.
func parseNodeMetrics(body []byte, storage bool) (nodeState, error) {
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
		case strings.HasPrefix(line, `flag{name="retentionPeriod", value="`):
			v, _, _ := strings.Cut(line[len(`flag{name="retentionPeriod", value="`):], `"`)
			d, err := parseRetention(v)
			if err != nil {
				return st, fmt.Errorf("-retentionPeriod=%q: %w", v, err)
			}
			st.retention = d
		}
	}
	if err := sc.Err(); err != nil {
		return st, err
	}
	switch {
	case !sawStart || !sawRequests:
		return st, errors.New("no vm_app_start_timestamp or vm_http_requests_all_total: not a VictoriaMetrics process")
	case !sawFlush && storage:
		return st, errors.New("no -inmemoryDataFlushInterval flag: not a VictoriaMetrics single node or vmstorage " +
			"(for a cluster, storage_nodes lists the vmstorage HTTP addresses, e.g. http://vmstorage-1:8482)")
	}
	return st, nil
}

// ExportedSeries is one series of an export: its labels (the metric name
// under "__name__") and its samples.
type ExportedSeries struct {
	Labels     map[string]string `json:"metric"`
	Values     []float64         `json:"values"`
	Timestamps []int64           `json:"timestamps"`
}

// Export returns the raw samples of the series match selects between
// start and end (/api/v1/export, through the query URL).
func (c *Client) Export(ctx context.Context, match string, start, end time.Time) ([]ExportedSeries, error) {
	body, err := c.Get(ctx, "/api/v1/export", url.Values{"match[]": {match},
		"start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(end.Unix(), 10)}})
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", match, err)
	}
	var out []ExportedSeries
	dec := json.NewDecoder(bytes.NewReader(body))
	for dec.More() {
		var s ExportedSeries
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("export %s: answer: %w", match, err)
		}
		if len(s.Values) != len(s.Timestamps) {
			return nil, fmt.Errorf("export %s: answer: %d values for %d timestamps", match, len(s.Values), len(s.Timestamps))
		}
		out = append(out, s)
	}
	return out, nil
}

// parseRetention reads VictoriaMetrics' -retentionPeriod: a number of
// months (31 days), or a number with the suffix h, d, w or y.
func parseRetention(v string) (time.Duration, error) {
	unit := 31 * 24 * time.Hour
	num := v
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'h':
			unit, num = time.Hour, v[:n-1]
		case 'd':
			unit, num = 24*time.Hour, v[:n-1]
		case 'w':
			unit, num = 7*24*time.Hour, v[:n-1]
		case 'y':
			unit, num = 365*24*time.Hour, v[:n-1]
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 {
		return 0, errors.New("want a positive number of months, or a number with h, d, w or y")
	}
	return time.Duration(f * float64(unit)), nil
}
