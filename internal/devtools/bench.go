package devtools

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// decodeTotals is the part of `decode --totals --json` the benchmark reads.
type decodeTotals struct {
	Records     int64 `json:"records"`
	BadLines    int64 `json:"bad_lines"`
	StoredBytes int64 `json:"stored_bytes"`
	TextBytes   int64 `json:"decoded_bytes"`
	PeakRSS     int64 `json:"peak_rss_bytes"`
}

// measurement is the best of a few runs of a command.
type measurement struct {
	seconds float64
	totals  decodeTotals
}

// Bench generates the same flow logs in several formats, then measures
// `gzip -dc` and the decoder on 1 and 2 cores over the same files, the
// parser alone, and peak memory while decoding a 1 GiB object; then the
// collector end to end and what its output costs VictoriaMetrics (see
// benchE2E). readBenchOptions says which environment variables change it.
func Bench(ctx context.Context, w io.Writer) error {
	o, err := readBenchOptions(os.Getenv)
	if err != nil {
		return err
	}
	if o.only == "scaleout" {
		return benchScaleOut(ctx, w, o)
	}
	bin, err := cachedCollector(ctx)
	if err != nil {
		return err
	}
	dataDir, err := tools.CacheDir("bench", "data")
	if err != nil {
		return err
	}
	digest, err := generatorDigest(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Data sets of %d records under %s (generated again when the generator or the arguments change) …\n", o.records, dataDir)
	files := map[string][]string{}
	for _, set := range benchSets {
		if o.only != "" && set.name != "v5 gzip" {
			continue // the end to end part reads the v5 gzip set only
		}
		dir := filepath.Join(dataDir, strings.ReplaceAll(set.name, " ", "-"))
		args := append(quietFleet(o.records).args(set.format), set.flags...)
		if files[set.name], err = generated(ctx, bin, dir, args, digest); err != nil {
			return err
		}
	}

	var targets []target
	var gzipV5Rate float64 // records/s of gzip -dc on the v5 gzip files
	if o.only != "" {
		secs, err := bestGzip(ctx, files["v5 gzip"], o.rounds)
		if err != nil {
			return err
		}
		gzipV5Rate = float64(o.records) / secs
	} else if err := benchDecoding(ctx, w, bin, files, o.rounds, &targets, &gzipV5Rate); err != nil {
		return err
	}
	if err := benchE2E(ctx, w, bin, dataDir, digest, o, gzipV5Rate, targets); err != nil {
		return err
	}
	if o.only == "families" {
		return nil
	}
	if err := benchFreshness(ctx, w); err != nil {
		return err
	}
	if o.only != "" {
		return nil
	}
	return benchScaleOut(ctx, w, o)
}

// benchScaleOut runs apptest's BenchmarkScaleOut (one collector against
// two on one source into a VictoriaMetrics cluster) over a day of
// records/2 records and prints its figures and target.
func benchScaleOut(ctx context.Context, w io.Writer, o benchOptions) error {
	fmt.Fprintf(w, "\nScale-out: one collector against two (instance 0 and 1 of 2) on one source into a VictoriaMetrics cluster (2 vmstorage, vminsert, vmselect) on this machine, each collector on one core …\n\n")
	env := []string{"VPCFLOW_BENCH_SCALEOUT_RECORDS=" + strconv.Itoa(o.records/2), "VPCFLOW_REQUIRE_SERVERS=1"}
	out, err := output(ctx, env, "go", "test", "-run", "^$", "-bench", "^BenchmarkScaleOut$", "-benchtime", "1x", "-count", "1", "-timeout", "60m", "./apptest")
	if err != nil {
		return err
	}
	found := false
	for line := range strings.Lines(out) {
		// b.Logf lines: "    scaleout_bench_test.go:NN: text"
		if _, text, ok := strings.Cut(line, "scaleout_bench_test.go:"); ok {
			if _, text, ok = strings.Cut(text, ": "); ok {
				fmt.Fprint(w, "  "+text)
				found = true
			}
		}
	}
	if !found {
		return fmt.Errorf("BenchmarkScaleOut printed no figures:\n%s", out)
	}
	return nil
}

// freshnessLine is a result line of apptest's BenchmarkNotifyFreshness.
var freshnessLine = regexp.MustCompile(`(?m)^BenchmarkNotifyFreshness/max_wait=(\S+?)-\d+\s+\d+\s+\d+ ns/op\s+([\d.]+) max-s/object\s+([\d.]+) s/object`)

// freshness is one max_wait's figures of BenchmarkNotifyFreshness.
type freshness struct {
	maxWait     string
	worst, mean float64 // seconds
}

// parseFreshness reads the figures of BenchmarkNotifyFreshness's output.
func parseFreshness(out string) []freshness {
	var fs []freshness
	for _, m := range freshnessLine.FindAllStringSubmatch(out, -1) {
		worst, _ := strconv.ParseFloat(m[2], 64)
		mean, _ := strconv.ParseFloat(m[3], 64)
		fs = append(fs, freshness{maxWait: m[1], worst: worst, mean: mean})
	}
	return fs
}

// benchFreshness runs apptest's BenchmarkNotifyFreshness (a collector
// with a notify source, versitygw, the SQS test server and
// VictoriaMetrics; 5 objects one after the other, each written and
// announced, until queryable) and prints its figures and issue 15's
// target: under 10 s from written to queryable, with the default
// batch.max_wait (5s) and with 2s.
func benchFreshness(ctx context.Context, w io.Writer) error {
	fmt.Fprintf(w, "\nFreshness in notify mode (object written and announced → queryable in VictoriaMetrics, 5 objects) …\n")
	cmd := exec.CommandContext(ctx, "go", "test", "./apptest", "-run", "^$", "-bench", "^BenchmarkNotifyFreshness$", "-benchtime", "5x", "-count", "1")
	cmd.Env = append(os.Environ(), "VPCFLOW_REQUIRE_SERVERS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("freshness benchmark: %w\n%s", err, out)
	}
	fs := parseFreshness(string(out))
	if len(fs) == 0 {
		return fmt.Errorf("freshness benchmark: no figures in its output:\n%s", out)
	}
	fmt.Fprintf(w, "\nTargets:\n\n")
	for _, f := range fs {
		fmt.Fprintf(w, "  %s\n", target{fmt.Sprintf("notify freshness, batch.max_wait %s, worst of 5 (mean %.1fs; at most)", f.maxWait, f.mean), -f.worst, -10, "s"})
	}
	return nil
}

// benchOptions are the benchmark's settings.
type benchOptions struct {
	records    int    // records of each decoding data set, of the quiet fleet and of the busy feed
	dayRecords int    // records of the realistic day
	rounds     int    // runs of each speed measurement; the best one counts
	only       string // "" everything, "e2e" without the decoding part, "families" without it nor S3, "scaleout" that part alone
}

// readBenchOptions reads the benchmark's settings from the environment:
// VPCFLOW_BENCH_RECORDS (default 2000000), VPCFLOW_BENCH_DAY_RECORDS
// (default 4000000), VPCFLOW_BENCH_ONLY (e2e or families) and
// VPCFLOW_BENCH_SHORT=1, a quick run: 200000 and 400000 records and 3
// rounds unless the sizes are given.
func readBenchOptions(getenv func(string) string) (benchOptions, error) {
	o := benchOptions{records: 2_000_000, dayRecords: 4_000_000, rounds: 7}
	switch v := getenv("VPCFLOW_BENCH_SHORT"); v {
	case "", "0":
	case "1":
		o = benchOptions{records: 200_000, dayRecords: 400_000, rounds: 3}
	default:
		return o, fmt.Errorf("VPCFLOW_BENCH_SHORT=%q: want 1 or 0", v)
	}
	var err error
	if o.records, err = envIntFrom(getenv, "VPCFLOW_BENCH_RECORDS", o.records); err != nil {
		return o, err
	}
	if o.dayRecords, err = envIntFrom(getenv, "VPCFLOW_BENCH_DAY_RECORDS", o.dayRecords); err != nil {
		return o, err
	}
	switch o.only = getenv("VPCFLOW_BENCH_ONLY"); o.only {
	case "", "e2e", "families", "scaleout":
	default:
		return o, fmt.Errorf("VPCFLOW_BENCH_ONLY=%q: want e2e (no decoding part), families (no decoding part, no S3) or scaleout (the scale-out part alone)", o.only)
	}
	return o, nil
}

// genSpec is the traffic of a generated data set: `vpcflow-collector
// generate` over 2,000 interfaces in 10 VPCs.
type genSpec struct {
	records  int
	seed     int
	start    time.Time
	duration time.Duration
}

// quietFleet is the decoding data sets' traffic, which is also the end to
// end part's quiet fleet: 6 hours (2.8 records per interface-minute at 2M
// records).
func quietFleet(records int) genSpec {
	return genSpec{records, 1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 6 * time.Hour}
}

// args returns the generate arguments after --out for the spec in format.
func (g genSpec) args(format string) []string {
	return []string{"--records", strconv.Itoa(g.records), "--seed", strconv.Itoa(g.seed), "--format", format,
		"--start", g.start.Format(time.RFC3339), "--duration", g.duration.String(), "--enis", "2000", "--vpcs", "10"}
}

// days returns the UTC dates the spec's samples may fall on: its span and
// the ten minutes after, which a record's capture window may reach.
func (g genSpec) days() []string {
	var days []string
	end := g.start.Add(g.duration + 10*time.Minute)
	for d := g.start.Truncate(24 * time.Hour); d.Before(end); d = d.Add(24 * time.Hour) {
		days = append(days, d.Format(time.DateOnly))
	}
	return days
}

// generated returns the files of a data set generated under dir with
// `bin generate --out dir args...`. A set generated before is reused when
// its stamp (dir + ".stamp") names the same generator digest and
// arguments and its files are all there; otherwise it is generated again.
func generated(ctx context.Context, bin, dir string, args []string, digest string) ([]string, error) {
	stamp := dir + ".stamp"
	want := "digest " + digest + "\nargs " + strings.Join(args, " ") + "\n"
	if have, err := os.ReadFile(stamp); err == nil {
		if files, err := listFiles(dir); err == nil && string(have) == want+filesLine(files) {
			return files, nil
		}
	}
	if err := os.Remove(stamp); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if _, err := output(ctx, nil, bin, append([]string{"generate", "--out", dir}, args...)...); err != nil {
		return nil, err
	}
	files, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(stamp, []byte(want+filesLine(files)), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", stamp, err)
	}
	return files, nil
}

// filesLine is the stamp's line that checks a data set's files: their
// number and total size.
func filesLine(files []string) string {
	return fmt.Sprintf("files %d bytes %d\n", len(files), filesBytes(files))
}

// filesBytes returns the total size of files (a missing file counts -1,
// so that a stamp never matches it).
func filesBytes(files []string) int64 {
	var n int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			n--
			continue
		}
		n += fi.Size()
	}
	return n
}

// generatorDigest returns a digest of the Go files `vpcflow-collector
// generate` is built from in this module: the generate command's file and
// the packages collector/generate imports from the module, itself
// included. A data set generated by other code is generated again.
func generatorDigest(ctx context.Context) (string, error) {
	root, err := tools.RepoRoot(ctx)
	if err != nil {
		return "", err
	}
	out, err := output(ctx, nil, "go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`, "github.com/vpcflow/vpcflow/collector/generate")
	if err != nil {
		return "", err
	}
	files := append(strings.Fields(out), filepath.Join(root, "collector", "cmd", "vpcflow-collector", "generate.go"))
	return digestFiles(files)
}

// digestFiles returns the SHA-256 (hex) of the names and contents of files.
func digestFiles(files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("digest generator source: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// benchDecoding measures decoding: against gzip -dc, on 1 and 2 cores, the
// parser alone, and peak memory on a 1 GiB object.
func benchDecoding(ctx context.Context, w io.Writer, bin string, files map[string][]string, rounds int, targets *[]target, gzipV5Rate *float64) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "\nDecoding (best of %d interleaved rounds; records/s counts every line; MB/s is decompressed text):\n\n", rounds)
	fmt.Fprintln(tw, "data set\tfiles\tstored MB\ttext MB\tgzip -dc rec/s\t1 core rec/s\t1 core MB/s\tvs gzip -dc\t2 cores rec/s\t2 cores / 1 core\t")
	for _, set := range benchSets {
		fs := files[set.name]
		one, two, gz, err := measureSet(ctx, bin, fs, set.gzipped, rounds)
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

	fmt.Fprintf(w, "\nParser alone (plain text in memory, no I/O, no decompression), 1 core, best of %d:\n\n", rounds)
	out, err := output(ctx, nil, "go", "test", "-run", "^$", "-bench", "^BenchmarkParse$", "-benchtime", "5x",
		"-count", strconv.Itoa(rounds), "-cpu", "1", "./collector/decode")
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

// bestGzip returns the best of rounds timings of gzip -dc over files.
func bestGzip(ctx context.Context, files []string, rounds int) (float64, error) {
	var best float64
	for round := range rounds {
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

// e2eSet is a data set of the end to end part.
type e2eSet struct {
	name   string // as printed: what the data is
	short  string // in the targets
	dir    string // the set's folder under the bench's data folder
	spec   genSpec
	config string // collector configuration added to the bench's (YAML lines)
	s3     bool   // also collected from an S3 bucket (issue 4)
	// targets: the end to end targets (issues 3 and 13) and the
	// collector's memory; costTargets: what the data costs VictoriaMetrics
	// (issue 13).
	targets, costTargets bool
}

// e2eSets are the end to end part's data sets: the quiet fleet (the
// decoding sets' traffic, 2.8 records per interface-minute), the same
// traffic 18 times denser (the busy feed), and a realistic day with
// default settings and with top_k 0 (every label set kept).
func e2eSets(dataDir string, o benchOptions) []e2eSet {
	day := genSpec{o.dayRecords, 7, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 24 * time.Hour}
	dayName := fmt.Sprintf("%s records in 24 h, 2,000 interfaces", count(o.dayRecords))
	return []e2eSet{
		{name: fmt.Sprintf("quiet fleet: %s records in 6 h, 2,000 interfaces", count(o.records)), short: "quiet fleet",
			dir: filepath.Join(dataDir, "v5-gzip"), spec: quietFleet(o.records), s3: o.only != "families", targets: true},
		{name: fmt.Sprintf("busy feed: %s records in 20 min, 2,000 interfaces", count(o.records)), short: "busy feed",
			dir:  filepath.Join(dataDir, "v5-gzip-busy"),
			spec: genSpec{o.records, 2, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), 20 * time.Minute}, s3: o.only != "families", targets: true},
		{name: "realistic day: " + dayName, short: "realistic day", dir: filepath.Join(dataDir, "v5-gzip-day"), spec: day,
			targets: true, costTargets: true},
		{name: "realistic day, top_k 0: " + dayName, short: "realistic day, top_k 0", dir: filepath.Join(dataDir, "v5-gzip-day"), spec: day,
			config: "aggregation: {top_k: 0}\n"},
	}
}

// benchE2E runs the collector end to end on each of e2eSets and measures
// what its output costs VictoriaMetrics, then prints every target.
func benchE2E(ctx context.Context, w io.Writer, bin, dataDir, digest string, o benchOptions, gzipV5Rate float64, targets []target) error {
	sets := e2eSets(dataDir, o)
	work, err := tools.CacheDir("bench", "e2e")
	if err != nil {
		return err
	}
	type measured struct {
		e2eSet
		runs     e2eRuns
		gzipRate float64 // records/s of gzip -dc on the set's files
	}
	var all []measured
	gzipRates := map[string]float64{sets[0].dir: gzipV5Rate} // the quiet fleet is the decoding part's v5 gzip set
	for _, set := range sets {
		files, err := generated(ctx, bin, set.dir, set.spec.args("v5"), digest)
		if err != nil {
			return err
		}
		gzipRate, ok := gzipRates[set.dir]
		if !ok {
			secs, err := bestGzip(ctx, files, o.rounds)
			if err != nil {
				return err
			}
			gzipRate = float64(set.spec.records) / secs
			gzipRates[set.dir] = gzipRate
		}
		fmt.Fprintf(w, "… %s\n", set.name)
		runs, err := benchEndToEnd(ctx, bin, work, set)
		if err != nil {
			return fmt.Errorf("%s: %w", set.name, err)
		}
		runs.cost.gzipBytes = filesBytes(files)
		all = append(all, measured{set, runs, gzipRate})
	}

	fmt.Fprintf(w, "\nEnd to end: v5 gzip files from a dir source (and then from an S3 bucket of a local versitygw) into a local VictoriaMetrics (all on this machine's 2 cores), default settings unless the data says otherwise; samples are those VictoriaMetrics received, less the batches' markers:\n\n")
	ew := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(ew, "data\trun\tseconds\trecords/s\tvs gzip -dc\tseries created\tsamples\tsamples / record\tVictoriaMetrics CPU s\tcollector CPU s\tcollector peak RSS MiB\t")
	for _, m := range all {
		runs := []struct {
			name string
			e2eResult
		}{{"empty storage", m.runs.cold}, {"series existing", m.runs.warm}}
		if m.s3 {
			runs = append(runs, struct {
				name string
				e2eResult
			}{"from S3, series existing", m.runs.fromS3})
		}
		for _, r := range runs {
			perSec := float64(r.records) / r.seconds
			fmt.Fprintf(ew, "%s\t%s\t%.1f\t%s\t%sx\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.0f\t\n", m.name, r.name, r.seconds, rate(perSec), figure(perSec/m.gzipRate),
				r.series, r.samples(), float64(r.samples())/float64(max(r.records, 1)), r.vmCPU, r.collectorCPU, float64(r.peakRSS)/(1<<20))
		}
	}
	if err := ew.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nWhat the data costs VictoriaMetrics, measured after the run into an empty storage and a forced flush and merge (series: /api/v1/series/count less the collector's own; MB: 10^6 bytes):\n\n")
	cw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(cw, "data\trecords\tgzip MB\tseries\tseries / record\tsamples\tsamples / record\tVictoriaMetrics MB\tof it index MB\tdata / gzip\tbytes / record\tVictoriaMetrics RSS MB\tpeak RSS MB\t")
	for _, m := range all {
		c, n := m.runs.cost, float64(max(m.runs.cold.records, 1))
		fmt.Fprintf(cw, "%s\t%d\t%.1f\t%d\t%.3f\t%d\t%.2f\t%.1f\t%.1f\t%.0f%%\t%.0f\t%.0f\t%.0f\t\n", m.name, m.runs.cold.records,
			float64(c.gzipBytes)/1e6, c.series, float64(c.series)/n, c.samples, float64(c.samples)/n,
			float64(c.dataBytes)/1e6, float64(c.indexBytes)/1e6, 100*float64(c.dataBytes)/float64(max(c.gzipBytes, 1)), float64(c.dataBytes)/n,
			float64(c.rss)/1e6, float64(c.peakRSS)/1e6)
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nSeries by family (VictoriaMetrics' per-day index of the data's days, a series counted on each day it has samples):\n\n")
	for _, m := range all {
		fmt.Fprintf(w, "  %s: %s\n", m.name, familyShares(m.runs.cost.families))
	}

	for _, m := range all {
		cold, warm := m.runs.cold, m.runs.warm
		if m.targets {
			targets = append(targets,
				target{"end to end, " + m.short + ", empty storage, vs gzip -dc", float64(cold.records) / cold.seconds / m.gzipRate, 0.3, "x"},
				target{"end to end, " + m.short + ", series existing, vs gzip -dc", float64(warm.records) / warm.seconds / m.gzipRate, 0.6, "x"},
				target{fmt.Sprintf("collector peak RSS, %s, %.1fM series (MiB, at most)", m.short, float64(m.runs.cost.series)/1e6),
					-float64(max(cold.peakRSS, warm.peakRSS, m.runs.fromS3.peakRSS)) / (1 << 20), -300, "MiB"})
		}
		if m.s3 {
			// S3 must cost under 20% of the dir source's throughput.
			fromS3 := m.runs.fromS3
			targets = append(targets, target{"end to end, " + m.short + ", from S3 against from a folder",
				(float64(fromS3.records) / fromS3.seconds) / (float64(warm.records) / warm.seconds), 0.8, "x"})
		}
		if m.costTargets {
			targets = append(targets, costTargets(m.short, m.runs.cost, cold.records)...)
		}
	}
	fmt.Fprintf(w, "\nTargets:\n\n")
	for _, t := range targets {
		fmt.Fprintln(w, "  "+t.String())
	}
	return nil
}

// costTargets are the targets of issue 13 for what records records cost
// VictoriaMetrics.
func costTargets(short string, c vmCost, records int64) []target {
	n := float64(max(records, 1))
	gz := float64(max(c.gzipBytes, 1))
	return []target{
		{short + ": series, % of records (at most)", -100 * float64(c.series) / n, -6, "%"},
		{short + ": samples per record (at most)", -float64(c.samples) / n, -4, ""},
		{short + ": VictoriaMetrics data, % of gzip (at most)", -100 * float64(c.dataBytes) / gz, -30, "%"},
		{short + ": VictoriaMetrics data, % of gzip (moonshot)", -100 * float64(c.dataBytes) / gz, -10, "%"},
		{short + ": VictoriaMetrics RSS after (MB, under)", -float64(c.rss) / 1e6, -800, "MB"},
	}
}

// count formats a number of records: 4M, 400k, 1234.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%100_000 == 0:
		return strconv.FormatFloat(float64(n)/1e6, 'f', -1, 64) + "M"
	case n >= 1_000 && n%100 == 0:
		return strconv.FormatFloat(float64(n)/1e3, 'f', -1, 64) + "k"
	}
	return strconv.Itoa(n)
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
	return fmt.Sprintf("%-6s %-64s %s%s (goal %s%s)", verdict, t.name, figure(abs(t.value)), t.unit, figure(abs(t.goal)), t.unit)
}

// figure formats a target's figure with two decimals, or two significant
// digits when smaller than 0.1 (a ratio far from its goal).
func figure(v float64) string {
	if v != 0 && v < 0.1 {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
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
func measureSet(ctx context.Context, bin string, files []string, gzipped bool, rounds int) (one, two, gz measurement, err error) {
	decode := func(cores int) []string {
		return append([]string{"decode", "--totals", "--json", "--jobs", strconv.Itoa(cores)}, files...)
	}
	keep := func(best *measurement, m measurement, round int) {
		if round == 0 || m.seconds < best.seconds {
			*best = m
		}
	}
	for round := range rounds {
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
	return envIntFrom(os.Getenv, name, def)
}

// envIntFrom reads a positive whole number from getenv(name), def when
// unset.
func envIntFrom(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
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
