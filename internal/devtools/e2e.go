package devtools

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/internal/launch"
	"github.com/vpcflow/vpcflow/internal/tools"
)

// e2eResult is one collector run of the end-to-end benchmark.
type e2eResult struct {
	seconds      float64
	records      int64
	batches      int64 // each writes one sample of the collector's marker series
	series       int64 // series created in VictoriaMetrics by the run (vm_new_timeseries_created_total)
	vmSamples    int64 // samples VictoriaMetrics received by remote write during the run
	vmCPU        float64
	collectorCPU float64 // user + system seconds of the collector process
	peakRSS      int64
}

// samples returns the samples the run wrote, less the batches' markers:
// the families' samples (the rank index's included).
func (r e2eResult) samples() int64 { return r.vmSamples - r.batches }

// e2eRuns are the runs of one data set, and what its first run cost.
type e2eRuns struct {
	cold, warm, fromS3 e2eResult
	cost               vmCost
}

// benchEndToEnd ingests the set's files with `vpcflow-collector run
// --once` into a local VictoriaMetrics: first into an empty one (every
// series new), after which it measures what the data costs the storage
// (measureCost); then the same files again with a fresh ledger (the series
// exist: the steady state of a running collector); then, when the set
// says so, the same files once more from an S3 bucket of a local versitygw
// (series existing too). The servers' data and the runs' state are kept in
// the folder work, emptied first and removed after.
func benchEndToEnd(ctx context.Context, bin, work string, set e2eSet) (runs e2eRuns, err error) {
	if err := os.RemoveAll(work); err != nil {
		return runs, err
	}
	defer os.RemoveAll(work)
	vm, err := startVM(ctx, filepath.Join(work, "vm"))
	if err != nil {
		return runs, err
	}
	defer vm.Stop()
	vmURL, vmPID := vm.URL(), vm.PID()
	for i, res := range []*e2eResult{&runs.cold, &runs.warm} {
		logs := filepath.Join(work, fmt.Sprintf("logs-%d", i))
		if err := copyDir(set.dir, logs); err != nil {
			return runs, err
		}
		src := fmt.Sprintf("{name: bench, type: dir, path: %s}", logs)
		if err := ingest(ctx, bin, filepath.Join(work, fmt.Sprintf("run-%d", i)), vmURL, vmPID, set.config, src, nil, res); err != nil {
			return runs, err
		}
		if i == 0 {
			if runs.cost, err = measureCost(ctx, vmURL, filepath.Join(work, "vm", "data"), set.spec.days()); err != nil {
				return runs, err
			}
			runs.cost.samples = runs.cold.samples()
		}
	}
	if !set.s3 {
		return runs, nil
	}
	s3, err := startS3(ctx, filepath.Join(work, "s3"))
	if err != nil {
		return runs, err
	}
	defer s3.stop()
	if err := s3.upload(ctx, "bench", set.dir); err != nil {
		return runs, err
	}
	src := fmt.Sprintf("{name: bench, type: s3, bucket: bench, region: us-east-1, endpoint: %s, path_style: true, on_first_run: backfill, "+
		"credentials: {access_key_id: %s, secret_access_key_env: VPCFLOW_BENCH_S3_SECRET}}", s3.url, s3.access)
	err = ingest(ctx, bin, filepath.Join(work, "run-s3"), vmURL, vmPID, set.config, src, []string{"VPCFLOW_BENCH_S3_SECRET=" + s3.secret}, &runs.fromS3)
	return runs, err
}

// ingest runs the collector once over one source (a YAML flow mapping),
// with extra configuration lines, and measures it.
func ingest(ctx context.Context, bin, dir, vmURL string, vmPID int, extra, src string, env []string, res *e2eResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	config := filepath.Join(dir, "collector.yaml")
	cfg := fmt.Sprintf("state_dir: %s\nstorage: {url: %s}\nserver: {listen: off}\n%ssources: [%s]\n", filepath.Join(dir, "state"), vmURL, extra, src)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		return err
	}
	before, err := vmMetrics(ctx, vmURL)
	if err != nil {
		return err
	}
	cpuBefore := processCPU(vmPID)
	began := time.Now()
	// Runs after the first start with a fresh ledger over a storage that
	// holds the first one's traces: --lost-state=backfill says to go on
	// (it changes nothing for the first, into an empty storage).
	cmd := exec.CommandContext(ctx, bin, "run", "--config", config, "--once", "--lost-state=backfill", "--log-format", "json", "--log-level", "info")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("collector run: %w: %s", err, lastLines(stderr.String(), 5))
	}
	res.collectorCPU = cmd.ProcessState.UserTime().Seconds() + cmd.ProcessState.SystemTime().Seconds()
	res.seconds = time.Since(began).Seconds()
	res.vmCPU = processCPU(vmPID) - cpuBefore
	if err := readStopLine(stderr.Bytes(), res); err != nil {
		return err
	}
	if _, err := vmGet(ctx, vmURL+"/internal/force_flush"); err != nil {
		return err
	}
	// VictoriaMetrics renders /metrics at most once a second: a run shorter
	// than that (a small set, flushed at the end) would read the page of
	// before again.
	if d := time.Until(began.Add(1100 * time.Millisecond)); d > 0 {
		time.Sleep(d)
	}
	after, err := vmMetrics(ctx, vmURL)
	if err != nil {
		return err
	}
	res.series = int64(after.sum("vm_new_timeseries_created_total") - before.sum("vm_new_timeseries_created_total"))
	received := `vm_rows_inserted_total{type="promremotewrite"}`
	res.vmSamples = int64(after[received] - before[received])
	return nil
}

// readStopLine reads the run's totals from the collector's JSON log: its
// "collector stopped" line.
func readStopLine(log []byte, res *e2eResult) error {
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Msg     string `json:"msg"`
			Records int64  `json:"records"`
			Batches int64  `json:"batches"`
			PeakRSS int64  `json:"peak_rss_bytes"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "collector stopped" {
			res.records, res.batches, res.peakRSS = line.Records, line.Batches, line.PeakRSS
			return nil
		}
	}
	return fmt.Errorf("the collector's log has no \"collector stopped\" line: %s", lastLines(string(log), 5))
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// startVM starts the pinned VictoriaMetrics (installed first if missing)
// on a free loopback port with its data and log in dir, as the collector
// needs it (-dedup.minScrapeInterval=1ms), logging errors only.
func startVM(ctx context.Context, dir string) (*launch.Process, error) {
	if err := tools.EnsureTools(ctx, "victoria-metrics"); err != nil {
		return nil, err
	}
	bin, err := tools.ToolPath("victoria-metrics")
	if err != nil {
		return nil, err
	}
	vm, err := launch.StartVictoriaMetrics(ctx, bin, dir, []string{"-dedup.minScrapeInterval=1ms", "-retentionPeriod=100y", "-loggerLevel=ERROR"})
	if err != nil {
		return nil, fmt.Errorf("start VictoriaMetrics: %w\n%s", err, launch.LogNote(vm))
	}
	return vm, nil
}

// processCPU returns the CPU seconds (user + system) a process used so far.
func processCPU(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	s := string(data)
	s = s[strings.LastIndexByte(s, ')')+2:]
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks; 100 per second on Linux
}

// copyDir copies the files under src to dst.
func copyDir(src, dst string) error {
	files, err := listFiles(src)
	if err != nil {
		return err
	}
	for _, f := range files {
		rel, _ := filepath.Rel(src, f)
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
