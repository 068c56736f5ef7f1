package devtools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vpcflow/vpcflow/internal/tools"
)

// benchSet is one generated data set of the benchmark.
type benchSet struct {
	name    string
	format  string
	flags   []string
	gzipped bool
}

var benchSets = []benchSet{
	{"v5 gzip", "v5", nil, true},
	{"v5 plain", "v5", []string{"--plain"}, false},
	{"v2 gzip", "v2", nil, true},
	{"v2 plain", "v2", []string{"--plain"}, false},
	{"v5 parquet", "v5", []string{"--parquet"}, false},
}

// benchRuns is how many times each measurement runs; the best run counts
// (shared virtual machines are noisy; the best run is the least disturbed).
const benchRuns = 7

// decodeTotals is the part of `decode --totals --json` the benchmark reads.
type decodeTotals struct {
	Records     int64 `json:"records"`
	BadLines    int64 `json:"bad_lines"`
	StoredBytes int64 `json:"stored_bytes"`
	TextBytes   int64 `json:"decoded_bytes"`
	PeakRSS     int64 `json:"peak_rss_bytes"`
}

// measurement is the best of benchRuns runs of a command.
type measurement struct {
	seconds float64
	totals  decodeTotals
}

// Bench generates the same flow logs in several formats, then measures
// `gzip -dc` and the decoder on 1 and 2 cores over the same files, the
// parser alone, and peak memory while decoding a 1 GiB object.
func Bench(ctx context.Context, w io.Writer) error {
	records, err := envInt("VPCFLOW_BENCH_RECORDS", 2_000_000)
	if err != nil {
		return err
	}
	bin, err := cachedCollector(ctx)
	if err != nil {
		return err
	}
	dataDir, err := tools.CacheDir("bench", "data")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Generating %d records per data set under %s …\n", records, dataDir)
	files := map[string][]string{}
	for _, set := range benchSets {
		dir := filepath.Join(dataDir, strings.ReplaceAll(set.name, " ", "-"))
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		args := append([]string{"generate", "--out", dir, "--records", strconv.Itoa(records), "--seed", "1",
			"--format", set.format, "--start", "2026-01-01T00:00:00Z", "--duration", "6h",
			"--enis", "2000", "--vpcs", "10"}, set.flags...)
		if _, err := output(ctx, nil, bin, args...); err != nil {
			return err
		}
		if files[set.name], err = listFiles(dir); err != nil {
			return err
		}
	}

	var targets []target
	var gzipV5Rate float64 // records/s of gzip -dc on the v5 gzip files
	if os.Getenv("VPCFLOW_BENCH_ONLY") == "e2e" {
		secs, err := bestGzip(ctx, files["v5 gzip"])
		if err != nil {
			return err
		}
		gzipV5Rate = float64(records) / secs
	} else if err := benchDecoding(ctx, w, bin, files, &targets, &gzipV5Rate); err != nil {
		return err
	}
	return benchE2E(ctx, w, bin, dataDir, records, gzipV5Rate, targets)
}

// benchDecoding measures decoding: against gzip -dc, on 1 and 2 cores, the
// parser alone, and peak memory on a 1 GiB object.
func benchDecoding(ctx context.Context, w io.Writer, bin string, files map[string][]string, targets *[]target, gzipV5Rate *float64) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "\nDecoding (best of %d interleaved rounds; records/s counts every line; MB/s is decompressed text):\n\n", benchRuns)
	fmt.Fprintln(tw, "data set\tfiles\tstored MB\ttext MB\tgzip -dc rec/s\t1 core rec/s\t1 core MB/s\tvs gzip -dc\t2 cores rec/s\t2 cores / 1 core\t")
	for _, set := range benchSets {
		fs := files[set.name]
		one, two, gz, err := measureSet(ctx, bin, fs, set.gzipped)
		if err != nil {
			return err
		}
		n := float64(one.totals.Records + one.totals.BadLines)
		gzipRate, vsGzip := "-", "-"
		if set.gzipped {
			gzipRate = rate(n / gz.seconds)
			vsGzip = fmt.Sprintf("%.2fx", gz.seconds/one.seconds)
			if set.name == "v5 gzip" {
				*targets = append(*targets, target{"v5 gzip decode + parse, 1 core, against gzip -dc", gz.seconds / one.seconds, 1.1, "x"})
				*gzipV5Rate = n / gz.seconds
			}
		}
		*targets = append(*targets, target{set.name + ": 2 cores against 1", one.seconds / two.seconds, 1.8, "x"})
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%s\t%s\t%.0f\t%s\t%s\t%.2fx\t\n", set.name, len(fs),
			float64(one.totals.StoredBytes)/1e6, float64(one.totals.TextBytes)/1e6,
			gzipRate, rate(n/one.seconds), float64(one.totals.TextBytes)/1e6/one.seconds, vsGzip,
			rate(n/two.seconds), one.seconds/two.seconds)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nParser alone (plain text in memory, no I/O, no decompression), 1 core, best of %d:\n\n", benchRuns)
	out, err := output(ctx, nil, "go", "test", "-run", "^$", "-bench", "^BenchmarkParse$", "-benchtime", "5x",
		"-count", strconv.Itoa(benchRuns), "-cpu", "1", "./collector/decode")
	if err != nil {
		return err
	}
	for _, line := range bestBenchLines(out, "records/s") {
		fmt.Fprintln(w, "  "+line)
		if strings.HasPrefix(line, "BenchmarkParse/v5") {
			*targets = append(*targets, target{"parser alone, v5, 1 core (M records/s)", metric(line, "records/s") / 1e6, 3.0, "M"})
		}
	}

	rss, err := benchBigObject(ctx, w, bin, files["v5 plain"])
	if err != nil {
		return err
	}
	*targets = append(*targets, target{"peak RSS decoding a 1 GiB object (MiB, at most)", -float64(rss) / (1 << 20), -100, "MiB"})
	return nil
}

// bestGzip returns the best of benchRuns timings of gzip -dc over files.
func bestGzip(ctx context.Context, files []string) (float64, error) {
	var best float64
	for round := range benchRuns {
		m, err := runMeasured(ctx, nil, "gzip", append([]string{"-dc"}, files...), false)
		if err != nil {
			return 0, err
		}
		if round == 0 || m.seconds < best {
			best = m.seconds
		}
	}
	return best, nil
}

// benchE2E runs the collector end to end on a quiet and a busy data set
// and prints every target.
func benchE2E(ctx context.Context, w io.Writer, bin, dataDir string, records int, gzipV5Rate float64, targets []target) error {

	// The end-to-end figures depend on how many records share a series
	// minute. The 6-hour set above is a quiet fleet (2.8 records per
	// interface-minute); a collector's throughput matters on a busy one, so
	// the same traffic model is also generated 18 times denser.
	busyDir := filepath.Join(dataDir, "v5-gzip-busy")
	if err := os.RemoveAll(busyDir); err != nil {
		return err
	}
	if _, err := output(ctx, nil, bin, "generate", "--out", busyDir, "--records", strconv.Itoa(records), "--seed", "2",
		"--format", "v5", "--start", "2026-01-02T00:00:00Z", "--duration", "20m", "--enis", "2000", "--vpcs", "10"); err != nil {
		return err
	}
	busyFiles, err := listFiles(busyDir)
	if err != nil {
		return err
	}
	busyGz, err := bestGzip(ctx, busyFiles)
	if err != nil {
		return err
	}
	e2eSets := []struct {
		name     string
		dir      string
		gzipRate float64
	}{
		{"quiet fleet: 2M records in 6 h, 2,000 interfaces", filepath.Join(dataDir, "v5-gzip"), gzipV5Rate},
		{"busy feed: 2M records in 20 min, 2,000 interfaces", busyDir, float64(records) / busyGz},
	}
	fmt.Fprintf(w, "\nEnd to end: v5 gzip files from a dir source (and then from an S3 bucket of a local versitygw) into a local VictoriaMetrics (all on this machine's 2 cores), all families, top_k 1000:\n\n")
	ew := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(ew, "data\trun\tseconds\trecords/s\tvs gzip -dc\tseries created\tsamples\tsamples / record\tVictoriaMetrics CPU s\tcollector CPU s\tcollector peak RSS MiB\t")
	for _, set := range e2eSets {
		cold, warm, fromS3, err := benchEndToEnd(ctx, bin, set.dir)
		if err != nil {
			return err
		}
		for _, r := range []struct {
			name string
			e2eResult
		}{{"empty storage", cold}, {"series existing", warm}, {"from S3, series existing", fromS3}} {
			perSec := float64(r.records) / r.seconds
			fmt.Fprintf(ew, "%s\t%s\t%.1f\t%s\t%.2fx\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.0f\t\n", set.name, r.name, r.seconds, rate(perSec), perSec/set.gzipRate,
				r.series, r.samples, float64(r.samples)/float64(max(r.records, 1)), r.vmCPU, r.collectorCPU, float64(r.peakRSS)/(1<<20))
		}
		perM := 1e6 / float64(max(cold.records, 1))
		fmt.Fprintf(ew, "%s\tper million records\t\t\t\t%.0f\t\t\t\t\t%.1f MB stored\t\n", set.name, float64(cold.series)*perM, float64(cold.dataSize)*perM/1e6)
		short := set.name[:strings.IndexByte(set.name, ':')]
		targets = append(targets,
			target{"end to end, " + short + ", empty storage, vs gzip -dc", float64(cold.records) / cold.seconds / set.gzipRate, 0.6, "x"},
			target{"end to end, " + short + ", series existing, vs gzip -dc", float64(warm.records) / warm.seconds / set.gzipRate, 0.6, "x"},
			target{fmt.Sprintf("collector peak RSS, %s, %.1fM series (MiB, at most)", short, float64(cold.series)/1e6), -float64(max(cold.peakRSS, warm.peakRSS, fromS3.peakRSS)) / (1 << 20), -300, "MiB"},
			// S3 must cost under 20% of the dir source's throughput.
			target{"end to end, " + short + ", from S3 against from a folder", (float64(fromS3.records) / fromS3.seconds) / (float64(warm.records) / warm.seconds), 0.8, "x"})
	}
	if err := ew.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nTargets:\n\n")
	for _, t := range targets {
		fmt.Fprintln(w, "  "+t.String())
	}
	return nil
}

// target is a figure the benchmark must reach: value ≥ goal (negated
// values express "at most").
type target struct {
	name  string
	value float64
	goal  float64
	unit  string
}

func (t target) String() string {
	verdict := "MET"
	if t.value < t.goal {
		verdict = "MISSED"
	}
	return fmt.Sprintf("%-6s %-52s %.2f%s (goal %.2f%s)", verdict, t.name, abs(t.value), t.unit, abs(t.goal), t.unit)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// metric returns the value printed before unit in a go test benchmark line.
func metric(line, unit string) float64 {
	fields := strings.Fields(line)
	for i := 1; i < len(fields); i++ {
		if fields[i] == unit {
			v, _ := strconv.ParseFloat(fields[i-1], 64)
			return v
		}
	}
	return 0
}

// measureSet measures one data set: the decoder on 1 core and on 2 cores,
// and `gzip -dc` when gzipped. The three run in turn, round after round, so
// that a noisy spell of the machine hits them alike; each keeps its best.
func measureSet(ctx context.Context, bin string, files []string, gzipped bool) (one, two, gz measurement, err error) {
	decode := func(cores int) []string {
		return append([]string{"decode", "--totals", "--json", "--jobs", strconv.Itoa(cores)}, files...)
	}
	keep := func(best *measurement, m measurement, round int) {
		if round == 0 || m.seconds < best.seconds {
			*best = m
		}
	}
	for round := range benchRuns {
		m, err := runMeasured(ctx, []string{"GOMAXPROCS=1"}, bin, decode(1), true)
		if err != nil {
			return one, two, gz, err
		}
		keep(&one, m, round)
		if m, err = runMeasured(ctx, []string{"GOMAXPROCS=2"}, bin, decode(2), true); err != nil {
			return one, two, gz, err
		}
		keep(&two, m, round)
		if gzipped {
			if m, err = runMeasured(ctx, nil, "gzip", append([]string{"-dc"}, files...), false); err != nil {
				return one, two, gz, err
			}
			keep(&gz, m, round)
		}
	}
	return one, two, gz, nil
}

func runMeasured(ctx context.Context, env []string, name string, args []string, totals bool) (measurement, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stderr = &stderr
	if totals {
		cmd.Stdout = &stdout
	}
	began := time.Now()
	if err := cmd.Run(); err != nil {
		return measurement{}, fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	m := measurement{seconds: time.Since(began).Seconds()}
	if totals {
		if err := json.Unmarshal(stdout.Bytes(), &m.totals); err != nil {
			return m, fmt.Errorf("read decode totals %q: %w", stdout.String(), err)
		}
	}
	return m, nil
}

// benchBigObject builds one gzip object of at least 1 GiB as stored from the
// plain files, decodes it on one core, and returns the decoder's peak RSS in
// bytes, as the decoder reads it from /proc/self/status (getrusage would
// count the memory of this process, which the child shares until it
// execs).
func benchBigObject(ctx context.Context, w io.Writer, bin string, plainFiles []string) (int64, error) {
	dir, err := tools.CacheDir("bench")
	if err != nil {
		return 0, err
	}
	big := filepath.Join(dir, "big-v5.log.gz")
	fmt.Fprintf(w, "\nBuilding a 1 GiB gzip object at %s …\n", big)
	if err := writeBigObject(big, plainFiles, 1<<30); err != nil {
		return 0, err
	}
	defer os.Remove(big)
	fi, err := os.Stat(big)
	if err != nil {
		return 0, err
	}
	m, err := runMeasured(ctx, []string{"GOMAXPROCS=1"}, bin, []string{"decode", "--totals", "--json", big}, true)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(w, "\nOne %.2f GiB gzip object (%.1f GiB of text, %d records), 1 core: %.1f s, %s records/s, peak RSS %.1f MiB\n",
		float64(fi.Size())/(1<<30), float64(m.totals.TextBytes)/(1<<30), m.totals.Records, m.seconds,
		rate(float64(m.totals.Records)/m.seconds), float64(m.totals.PeakRSS)/(1<<20))
	return m.totals.PeakRSS, nil
}

// writeBigObject writes a multi-member gzip object of at least size bytes:
// a member with the header and records, then the same records-only member
// repeated.
func writeBigObject(path string, plainFiles []string, size int64) error {
	var header string
	var body bytes.Buffer
	for _, f := range plainFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			continue
		}
		header = string(data[:nl+1])
		body.Write(data[nl+1:])
		if body.Len() > 64<<20 {
			break
		}
	}
	member := func(s []byte) ([]byte, error) {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		if _, err := zw.Write(s); err != nil {
			return nil, err
		}
		err := zw.Close()
		return b.Bytes(), err
	}
	first, err := member([]byte(header))
	if err != nil {
		return err
	}
	chunk, err := member(body.Bytes())
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	written := int64(0)
	n, err := f.Write(first)
	written += int64(n)
	for err == nil && written < size {
		n, err = f.Write(chunk)
		written += int64(n)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return os.Rename(tmp, path)
}

func listFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return err
	})
	sort.Strings(files)
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no files under %s", dir)
	}
	return files, err
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive whole number", name, v)
	}
	return n, nil
}

// rate formats a per-second figure with a unit suffix (k, M).
func rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// bestBenchLines keeps, for each benchmark in go test output, the line with
// the highest value of the metric.
func bestBenchLines(out, metric string) []string {
	best := map[string]float64{}
	lines := map[string]string{}
	var order []string
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		for i := 1; i < len(fields); i++ {
			if fields[i] != metric {
				continue
			}
			v, err := strconv.ParseFloat(fields[i-1], 64)
			if err != nil {
				break
			}
			name := fields[0]
			if _, seen := best[name]; !seen {
				order = append(order, name)
			}
			if v > best[name] {
				best[name], lines[name] = v, line
			}
		}
	}
	out2 := make([]string, len(order))
	for i, name := range order {
		out2[i] = lines[name]
	}
	return out2
}
