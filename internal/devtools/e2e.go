package devtools

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
	series       int64 // series created in VictoriaMetrics by the run
	samples      int64 // samples the collector wrote
	vmCPU        float64
	collectorCPU float64 // user + system seconds of the collector process
	peakRSS      int64
	dataSize     int64 // VictoriaMetrics' data size after the run
}

// benchEndToEnd ingests the files under dataDir with `vpcflow-collector run
// --once` into a local VictoriaMetrics: first into an empty one (every
// series new), then the same files again with a fresh ledger (the series
// exist: the steady state of a running collector), then the same files
// once more from an S3 bucket of a local versitygw (series existing too).
// It returns the three runs.
func benchEndToEnd(ctx context.Context, bin, dataDir string) (cold, warm, fromS3 e2eResult, err error) {
	work, err := tools.CacheDir("bench", "e2e")
	if err != nil {
		return cold, warm, fromS3, err
	}
	if err := os.RemoveAll(work); err != nil {
		return cold, warm, fromS3, err
	}
	vm, err := startVM(ctx, filepath.Join(work, "vm"))
	if err != nil {
		return cold, warm, fromS3, err
	}
	defer vm.Stop()
	vmURL, vmPID := vm.URL(), vm.PID()
	for i, res := range []*e2eResult{&cold, &warm} {
		logs := filepath.Join(work, fmt.Sprintf("logs-%d", i))
		if err := copyDir(dataDir, logs); err != nil {
			return cold, warm, fromS3, err
		}
		src := fmt.Sprintf("{name: bench, type: dir, path: %s}", logs)
		if err := ingest(ctx, bin, filepath.Join(work, fmt.Sprintf("run-%d", i)), vmURL, vmPID, src, nil, res); err != nil {
			return cold, warm, fromS3, err
		}
	}
	s3, err := startS3(ctx, filepath.Join(work, "s3"))
	if err != nil {
		return cold, warm, fromS3, err
	}
	defer s3.stop()
	if err := s3.upload(ctx, "bench", dataDir); err != nil {
		return cold, warm, fromS3, err
	}
	src := fmt.Sprintf("{name: bench, type: s3, bucket: bench, region: us-east-1, endpoint: %s, path_style: true, on_first_run: backfill, "+
		"credentials: {access_key_id: %s, secret_access_key_env: VPCFLOW_BENCH_S3_SECRET}}", s3.url, s3.access)
	err = ingest(ctx, bin, filepath.Join(work, "run-s3"), vmURL, vmPID, src, []string{"VPCFLOW_BENCH_S3_SECRET=" + s3.secret}, &fromS3)
	return cold, warm, fromS3, err
}

// ingest runs the collector once over one source (a YAML flow mapping) and
// measures it.
func ingest(ctx context.Context, bin, dir, vmURL string, vmPID int, src string, env []string, res *e2eResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	config := filepath.Join(dir, "collector.yaml")
	cfg := fmt.Sprintf("state_dir: %s\nstorage: {url: %s}\nserver: {listen: off}\nsources: [%s]\n", filepath.Join(dir, "state"), vmURL, src)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		return err
	}
	seriesBefore, _ := vmMetric(vmURL, "vm_new_timeseries_created_total")
	cpuBefore := processCPU(vmPID)
	began := time.Now()
	cmd := exec.CommandContext(ctx, bin, "run", "--config", config, "--once", "--log-format", "json", "--log-level", "info")
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
	_, _ = http.Get(vmURL + "/internal/force_flush")
	seriesAfter, _ := vmMetric(vmURL, "vm_new_timeseries_created_total")
	res.series = int64(seriesAfter - seriesBefore)
	size, _ := vmMetric(vmURL, "vm_data_size_bytes")
	res.dataSize = int64(size)
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
			Samples int64  `json:"samples_written"`
			PeakRSS int64  `json:"peak_rss_bytes"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "collector stopped" {
			res.records, res.samples, res.peakRSS = line.Records, line.Samples, line.PeakRSS
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

// vmMetric sums the values of a metric on VictoriaMetrics' /metrics page.
func vmMetric(url, name string) (float64, error) {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest != "" && rest[0] != ' ' && rest[0] != '{' {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
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
