package devtools

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/schema"
)

// vmCost is what a data set costs VictoriaMetrics: measured on a single
// node after the data set was collected into it while empty, flushed and
// merged (settleVM).
type vmCost struct {
	// series of the vpcflow families (the rank index's included):
	// /api/v1/series/count, which on a single node counts every series of
	// the storage's index (exact while nothing was deleted and each series
	// lies in one monthly partition, as the bench's data sets do), less
	// the collector's own series (vpcflow_collector_*, its batches'
	// markers).
	series int64
	// samples the data set wrote: those VictoriaMetrics received by remote
	// write, less the batches' markers (e2eResult.samples).
	samples int64
	// dataBytes is the size of the files under -storageDataPath;
	// indexBytes those under its indexdb folders.
	dataBytes, indexBytes int64
	// rss and peakRSS are VictoriaMetrics' resident memory after
	// settling and its peak (its process_resident_memory_bytes and
	// process_resident_memory_peak_bytes).
	rss, peakRSS int64
	// families are the series by family (name without _bytes, _packets,
	// _flows, vpcflow_ and the collector's own) from VictoriaMetrics'
	// per-day index of the data's days: a series is counted once a day it
	// has samples on, so these are for shares, not totals.
	families map[string]int64
	// gzipBytes is the size of the data set's files.
	gzipBytes int64
}

// settleTimeout bounds how long settleVM waits for VictoriaMetrics.
const settleTimeout = 30 * time.Minute

// measureCost settles the VictoriaMetrics at vmURL (its -storageDataPath
// is storagePath) and measures what it holds. days are the UTC dates
// (YYYY-MM-DD) of the data, for the series by family. The caller fills in
// samples and gzipBytes.
func measureCost(ctx context.Context, vmURL, storagePath string, days []string) (vmCost, error) {
	var c vmCost
	if err := settleVM(ctx, vmURL, storagePath); err != nil {
		return c, err
	}
	body, err := vmGet(ctx, vmURL+"/api/v1/series/count")
	if err != nil {
		return c, err
	}
	total, err := parseSeriesCount(body)
	if err != nil {
		return c, err
	}
	// The collector's own series (its batches' markers) and the exporters'
	// status it writes beside the families are not what the data costs.
	q := url.Values{"match[]": {`{__name__=~"vpcflow_collector_.*|` + schema.ExporterStatusMetric + `"}`}, "start": {"0"}}
	if body, err = vmGet(ctx, vmURL+"/api/v1/series?"+q.Encode()); err != nil {
		return c, err
	}
	own, err := parseSeriesList(body)
	if err != nil {
		return c, err
	}
	c.series = total - own
	c.families = map[string]int64{}
	for _, day := range days {
		q := url.Values{"date": {day}, "topN": {"1000"}}
		if body, err = vmGet(ctx, vmURL+"/api/v1/status/tsdb?"+q.Encode()); err != nil {
			return c, err
		}
		names, err := parseTSDBNames(body)
		if err != nil {
			return c, fmt.Errorf("series by name on %s: %w", day, err)
		}
		for name, n := range names {
			if f, ok := familyOf(name); ok {
				c.families[f] += n
			}
		}
	}
	if c.dataBytes, c.indexBytes, err = storageBytes(storagePath); err != nil {
		return c, err
	}
	m, err := vmMetrics(ctx, vmURL)
	if err != nil {
		return c, err
	}
	c.rss, c.peakRSS = int64(m["process_resident_memory_bytes"]), int64(m["process_resident_memory_peak_bytes"])
	return c, nil
}

// settleVM brings VictoriaMetrics to a state whose size can be compared
// from run to run: every sample flushed from memory to files
// (/internal/force_flush, then until no rows are pending and no part is in
// memory), then every partition's samples merged (/internal/force_merge,
// which does not touch the index), with no merge running at the end. The
// index's parts are merged in the background as VictoriaMetrics sees fit:
// the index size may vary a little between runs.
func settleVM(ctx context.Context, vmURL, storagePath string) error {
	if _, err := vmGet(ctx, vmURL+"/internal/force_flush"); err != nil {
		return err
	}
	m, err := waitVM(ctx, vmURL, "the flush", vmIdle)
	if err != nil {
		return err
	}
	// A forced merge runs in the background and merges each partition
	// that has parts at least once: done once that many merges ended and
	// none runs.
	partitions, err := partitionsWithParts(storagePath)
	if err != nil {
		return err
	}
	merges := func(m metricsPage) float64 {
		return m[`vm_merges_total{type="storage/small"}`] + m[`vm_merges_total{type="storage/big"}`]
	}
	before := merges(m)
	if _, err := vmGet(ctx, vmURL+"/internal/force_merge"); err != nil {
		return err
	}
	_, err = waitVM(ctx, vmURL, "the forced merge", func(m metricsPage) bool {
		return vmIdle(m) && merges(m)-before >= float64(partitions)
	})
	return err
}

// waitVM polls VictoriaMetrics' /metrics every second until done says so
// (or settleTimeout), and returns the last page.
func waitVM(ctx context.Context, vmURL, what string, done func(metricsPage) bool) (metricsPage, error) {
	deadline := time.Now().Add(settleTimeout)
	for {
		m, err := vmMetrics(ctx, vmURL)
		if err != nil {
			return nil, err
		}
		if done(m) {
			return m, nil
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("VictoriaMetrics still busy with %s after %v", what, settleTimeout)
		}
		select {
		case <-ctx.Done():
			return m, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// vmIdle says whether VictoriaMetrics' metrics show it at rest: no rows
// pending, no part in memory, no merge running.
func vmIdle(m metricsPage) bool {
	return m.sum("vm_pending_rows") == 0 && m.sum("vm_active_merges") == 0 && m["vm_active_force_merges"] == 0 &&
		m[`vm_parts{type="storage/inmemory"}`] == 0 && m[`vm_parts{type="indexdb/inmemory"}`] == 0
}

// partitionsWithParts counts the monthly partitions that have parts on
// disk under a VictoriaMetrics -storageDataPath: the folders
// data/{small,big}/YYYY_MM with a part (a folder) in them.
func partitionsWithParts(storagePath string) (int, error) {
	with := map[string]bool{}
	for _, kind := range []string{"small", "big"} {
		dir := filepath.Join(storagePath, "data", kind)
		partitions, err := os.ReadDir(dir)
		if err != nil {
			return 0, fmt.Errorf("partitions of %s: %w", storagePath, err)
		}
		for _, p := range partitions {
			if !p.IsDir() || p.Name() == "snapshots" {
				continue
			}
			parts, err := os.ReadDir(filepath.Join(dir, p.Name()))
			if err != nil {
				return 0, fmt.Errorf("parts of %s: %w", p.Name(), err)
			}
			if slices.ContainsFunc(parts, fs.DirEntry.IsDir) {
				with[p.Name()] = true
			}
		}
	}
	return len(with), nil
}

// storageBytes returns the size of the files under a VictoriaMetrics
// -storageDataPath (what `du -sb` counts, less the folders' own blocks)
// and of those under its indexdb folders.
func storageBytes(storagePath string) (total, index int64, err error) {
	err = filepath.WalkDir(storagePath, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		rel, _ := filepath.Rel(storagePath, path)
		if slices.Contains(strings.Split(rel, string(filepath.Separator)), "indexdb") {
			index += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("size of %s: %w", storagePath, err)
	}
	return total, index, nil
}

// vmGet GETs url and returns the body of a 2xx answer.
func vmGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// vmMetrics reads VictoriaMetrics' /metrics page.
func vmMetrics(ctx context.Context, vmURL string) (metricsPage, error) {
	body, err := vmGet(ctx, vmURL+"/metrics")
	if err != nil {
		return nil, err
	}
	return parseMetricsPage(strings.NewReader(string(body)))
}

// metricsPage is a Prometheus text exposition: each sample's value by its
// series as the page writes it (`name` or `name{label="value",...}`).
type metricsPage map[string]float64

// parseMetricsPage reads a Prometheus text exposition.
func parseMetricsPage(r io.Reader) (metricsPage, error) {
	m := metricsPage{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// Label values may hold spaces: the series ends at the last '}'
		// when it has labels.
		end := strings.IndexByte(line, ' ')
		if i := strings.IndexByte(line, '{'); i >= 0 && (end < 0 || i < end) {
			end = strings.LastIndexByte(line, '}') + 1
		}
		if end <= 0 {
			return nil, fmt.Errorf("metrics line %d %q: no value", n, line)
		}
		fields := strings.Fields(line[end:])
		if len(fields) == 0 || len(fields) > 2 {
			return nil, fmt.Errorf("metrics line %d %q: want a value and an optional timestamp after the series", n, line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d %q: %w", n, line, err)
		}
		m[line[:end]] = v
	}
	return m, sc.Err()
}

// sum returns the sum of the values of every series of the metric name.
func (m metricsPage) sum(name string) float64 {
	var s float64
	for series, v := range m {
		if rest, ok := strings.CutPrefix(series, name); ok && (rest == "" || rest[0] == '{') {
			s += v
		}
	}
	return s
}

// parseSeriesCount reads the answer of VictoriaMetrics'
// /api/v1/series/count: {"status":"success","data":[N]}.
func parseSeriesCount(body []byte) (int64, error) {
	var r struct {
		Status string  `json:"status"`
		Data   []int64 `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" || len(r.Data) != 1 {
		return 0, fmt.Errorf("read /api/v1/series/count answer %q: want {\"status\":\"success\",\"data\":[N]} (%v)", clip(body), err)
	}
	return r.Data[0], nil
}

// parseSeriesList counts the series of an /api/v1/series answer.
func parseSeriesList(body []byte) (int64, error) {
	var r struct {
		Status string              `json:"status"`
		Data   []map[string]string `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		return 0, fmt.Errorf("read /api/v1/series answer %q (%v)", clip(body), err)
	}
	return int64(len(r.Data)), nil
}

// parseTSDBNames reads the series per metric name of an
// /api/v1/status/tsdb answer; it fails when the answer lists fewer names'
// series than its total (topN too small).
func parseTSDBNames(body []byte) (map[string]int64, error) {
	var r struct {
		Status string `json:"status"`
		Data   struct {
			TotalSeries int64 `json:"totalSeries"`
			ByName      []struct {
				Name  string `json:"name"`
				Value int64  `json:"value"`
			} `json:"seriesCountByMetricName"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		return nil, fmt.Errorf("read /api/v1/status/tsdb answer %q (%v)", clip(body), err)
	}
	names := map[string]int64{}
	var sum int64
	for _, n := range r.Data.ByName {
		names[n.Name] += n.Value
		sum += n.Value
	}
	if sum != r.Data.TotalSeries {
		return nil, fmt.Errorf("/api/v1/status/tsdb lists %d series by name of %d", sum, r.Data.TotalSeries)
	}
	return names, nil
}

// familyOf returns the family of a metric name the collector writes
// (vpcflow_src_bytes: src), and false for the collector's own series
// (vpcflow_collector_*) and others'.
func familyOf(name string) (string, bool) {
	f, ok := strings.CutPrefix(name, "vpcflow_")
	if !ok || strings.HasPrefix(f, "collector_") {
		return "", false
	}
	for _, suffix := range []string{"_bytes", "_packets", "_flows"} {
		if g, ok := strings.CutSuffix(f, suffix); ok {
			return g, true
		}
	}
	return f, true
}

// familyShares formats series by family as shares of their sum, largest
// first: "src 40.0%, dst 35.0%, ...".
func familyShares(families map[string]int64) string {
	var total int64
	names := make([]string, 0, len(families))
	for name, n := range families {
		names = append(names, name)
		total += n
	}
	if total == 0 {
		return "no series"
	}
	slices.SortFunc(names, func(a, b string) int {
		if families[a] != families[b] {
			if families[a] > families[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %.1f%%", name, 100*float64(families[name])/float64(total))
	}
	return strings.Join(parts, ", ")
}

// clip shortens an answer quoted in an error.
func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
