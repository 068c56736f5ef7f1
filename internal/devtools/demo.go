package devtools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpcflow/vpcflow/internal/launch"
	"github.com/vpcflow/vpcflow/internal/tools"
)

// demoBucket is the bucket the demo's flow logs are delivered to.
const demoBucket = "vpc-flow-logs"

// DemoOptions tune Demo.
type DemoOptions struct {
	// Records is the size of the day of flow logs; default 1,000,000
	// (VPCFLOW_DEMO_RECORDS).
	Records int
	// Once ends the demo after the reports; otherwise new logs keep
	// arriving every TrickleEvery until ctx is done (Ctrl-C).
	Once         bool
	TrickleEvery time.Duration
	// Dir is the demo's working folder, emptied first; default
	// tools.CacheDir("demo").
	Dir string
}

// Demo is the main job on embedded defaults: it starts the pinned
// VictoriaMetrics and versitygw on loopback, delivers a realistic day of
// VPC flow logs into a bucket under the AWS layout (with a few old objects
// for the first run's purge), runs the collector on an ordinary
// configuration file, shows its progress, prints every report once the
// backlog is in, says where to look next, and keeps new logs arriving until
// ctx is done (unless opts.Once). It runs as a list of named steps (see
// runSteps), so that a failure names the step it ended.
func Demo(ctx context.Context, w io.Writer, opts DemoOptions) error {
	w = &lockedWriter{w: w} // the collector's log and the demo's lines share it
	if opts.Records == 0 {
		n, err := envInt("VPCFLOW_DEMO_RECORDS", 1_000_000)
		if err != nil {
			return err
		}
		opts.Records = n
	}
	if opts.TrickleEvery == 0 {
		opts.TrickleEvery = 20 * time.Second
	}
	d := &demo{w: w, opts: opts}
	defer d.close()
	steps := []step{
		{"build the collector", d.build},
		{"empty the demo folder", d.emptyDir},
		{"start VictoriaMetrics", d.startVM},
		{"start S3 (versitygw)", d.startS3},
		{"generate flow logs", d.generate},
		{"deliver them into s3://" + demoBucket, d.deliver},
		{"write the collector's configuration", d.writeConfig},
		{"start the collector", d.startCollector},
		{"collect the backlog", d.collect},
		{"print every report", d.reports},
		{"say where to look next", d.whereNext},
	}
	if opts.Once {
		steps = append(steps, step{"stop the collector", d.stopCollector})
	} else {
		steps = append(steps, step{"deliver new flow logs until Ctrl-C", d.trickle})
	}
	return runSteps(ctx, w, steps)
}

// demo is the state the demo's steps hand on to each other.
type demo struct {
	w    io.Writer
	opts DemoOptions

	bin        string // the collector
	dir        string // the demo's working folder
	vm         *launch.Process
	s3         *s3Server
	start, end time.Time // the day of flow logs
	day, old   string    // the generated day, and the old objects for the purge
	statusPort int       // the collector's status server
	config     string    // the collector's configuration file
	collector  *runningCollector
}

// close stops what the steps started: the collector, then the servers.
func (d *demo) close() {
	if d.collector != nil {
		_ = d.collector.stop()
	}
	if d.s3 != nil {
		d.s3.stop()
	}
	if d.vm != nil {
		d.vm.Stop()
	}
}

func (d *demo) build(ctx context.Context) (err error) {
	d.bin, err = cachedCollector(ctx)
	return err
}

func (d *demo) emptyDir(context.Context) error {
	d.dir = d.opts.Dir
	if d.dir == "" {
		var err error
		if d.dir, err = tools.CacheDir("demo"); err != nil {
			return err
		}
	}
	return os.RemoveAll(d.dir)
}

func (d *demo) startVM(ctx context.Context) (err error) {
	d.vm, err = startVM(ctx, filepath.Join(d.dir, "vm"))
	return err
}

func (d *demo) startS3(ctx context.Context) (err error) {
	if d.s3, err = startS3(ctx, filepath.Join(d.dir, "s3")); err != nil {
		return err
	}
	fmt.Fprintf(d.w, "VictoriaMetrics at %s, an S3 server (versitygw) at %s, data under %s\n", d.vm.URL(), d.s3.url, d.dir)
	return nil
}

// generate writes the day of flow logs, and a few objects three days
// older for the first run's purge.
func (d *demo) generate(ctx context.Context) error {
	// The day ends an hour ago, so that every record is in the past when
	// the reports are asked.
	d.end = time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	d.start = d.end.Add(-24 * time.Hour)
	fmt.Fprintf(d.w, "\n== Delivering a day of VPC flow logs (%d records, v5 fields, 3 VPCs) into s3://%s\n\n", d.opts.Records, demoBucket)
	d.day = filepath.Join(d.dir, "generated", "day")
	if err := runTo(ctx, d.w, d.bin, "generate", "--out", d.day, "--records", strconv.Itoa(d.opts.Records), "--seed", "1",
		"--format", "v5", "--start", d.start.Format(time.RFC3339), "--duration", "24h", "--vpcs", "3", "--enis", "60"); err != nil {
		return err
	}
	d.old = filepath.Join(d.dir, "generated", "old")
	_, err := output(ctx, nil, d.bin, "generate", "--out", d.old, "--records", "20000", "--seed", "2", "--format", "v5",
		"--start", d.start.Add(-72*time.Hour).Format(time.RFC3339), "--duration", "1h", "--vpcs", "3", "--enis", "60")
	return err
}

// deliver uploads the generated objects, the old ones dated three days
// back.
func (d *demo) deliver(ctx context.Context) error {
	if err := d.s3.upload(ctx, demoBucket, d.day); err != nil {
		return err
	}
	oldFiles, err := listFiles(d.old)
	if err != nil {
		return err
	}
	if err := d.s3.put(ctx, demoBucket, d.old, oldFiles); err != nil {
		return err
	}
	// The old objects look delivered three days ago (versitygw's
	// LastModified is its file's modification time).
	threeDays := time.Now().Add(-72 * time.Hour)
	for _, f := range oldFiles {
		rel, _ := filepath.Rel(d.old, f)
		if err := os.Chtimes(filepath.Join(d.s3.dir, demoBucket, rel), threeDays, threeDays); err != nil {
			return err
		}
	}
	keys, err := d.s3.flowLogKeys(ctx, demoBucket)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.w, "%d objects in the bucket (%d of them three days old, for the first run's purge), for example:\n  s3://%s/%s\n",
		len(keys), len(oldFiles), demoBucket, keys[len(keys)/2])
	return nil
}

func (d *demo) writeConfig(context.Context) (err error) {
	if d.statusPort, err = tools.FreePort(); err != nil {
		return err
	}
	d.config = filepath.Join(d.dir, "collector.yaml")
	cfg := fmt.Sprintf(`# Written by go tool mage demo: an ordinary collector configuration.
state_dir: %s
storage:
  url: %s
server:
  listen: 127.0.0.1:%d
sources:
  - name: demo
    type: s3
    bucket: %s
    region: us-east-1
    endpoint: %s            # the local S3 server instead of AWS
    path_style: true
    credentials:
      access_key_id: %s
      secret_access_key_env: VPCFLOW_DEMO_S3_SECRET
    on_first_run: purge
    purge_older_than: 48h   # the day is collected; older logs are deleted unread
`, filepath.Join(d.dir, "state"), d.vm.URL(), d.statusPort, demoBucket, d.s3.url, d.s3.access)
	return os.WriteFile(d.config, []byte(cfg), 0o644)
}

func (d *demo) startCollector(ctx context.Context) (err error) {
	fmt.Fprintf(d.w, "\n== Collecting: %s run --config %s\n\n", d.bin, d.config)
	d.collector, err = startCollector(ctx, d.w, []string{"VPCFLOW_DEMO_S3_SECRET=" + d.s3.secret}, d.bin, "run", "--config", d.config)
	return err
}

// collect waits until the backlog is in: the bucket holds no flow log any
// more. Then it has VictoriaMetrics flush, for the reports to see it all.
func (d *demo) collect(ctx context.Context) error {
	for {
		keys, err := d.s3.flowLogKeys(ctx, demoBucket)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			break
		}
		select {
		case <-d.collector.exited:
			return fmt.Errorf("the collector stopped: %v", d.collector.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	resp, err := http.Get(d.vm.URL() + "/internal/force_flush")
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func (d *demo) reports(ctx context.Context) error {
	fmt.Fprintf(d.w, "\n== Every report over the day (%s to %s), top 10 by bytes\n", d.start.Format(time.RFC3339), d.end.Format(time.RFC3339))
	return demoReports(ctx, d.w, d.bin, d.vm.URL(), d.start, d.end)
}

func (d *demo) whereNext(context.Context) error {
	fmt.Fprintf(d.w, `
== Where to look next

  VictoriaMetrics UI:      %s/vmui  (try sum by (action) (rate(vpcflow_interface_bytes[5m])))
  collector status:        http://127.0.0.1:%d/api/v1/sources  and  /metrics
  a report from the CLI:   %s report vpcs --vm-url %s --from now-26h --to now
  Grafana with dashboards: where Docker runs, from the repository (see docs/grafana.md):
%s                           then http://127.0.0.1:3000, user admin with that password
`, d.vm.URL(), d.statusPort, d.bin, d.vm.URL(), composeHint("                             "))
	return nil
}

func (d *demo) stopCollector(context.Context) error { return d.collector.stop() }

// trickle delivers a few minutes of new flow logs every
// opts.TrickleEvery until ctx is done, then stops the collector.
func (d *demo) trickle(ctx context.Context) error {
	fmt.Fprintf(d.w, "\n== New flow logs arrive every %s, as AWS delivers them; Ctrl-C ends the demo\n\n", d.opts.TrickleEvery)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			if err := d.collector.stop(); err != nil && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(d.w, "collector: %v\n", err)
			}
			return nil
		case <-d.collector.exited:
			return fmt.Errorf("the collector stopped: %v", d.collector.err)
		case <-time.After(d.opts.TrickleEvery):
		}
		dir := filepath.Join(d.dir, "generated", "trickle-"+strconv.Itoa(i))
		at := time.Now().UTC().Truncate(5 * time.Minute).Add(-5 * time.Minute)
		if _, err := output(ctx, nil, d.bin, "generate", "--out", dir, "--records", "3000", "--seed", strconv.Itoa(100+i), "--format", "v5",
			"--start", at.Format(time.RFC3339), "--duration", "5m", "--vpcs", "3", "--enis", "60"); err != nil {
			return err
		}
		if err := d.s3.upload(ctx, demoBucket, dir); err != nil {
			return err
		}
		fmt.Fprintf(d.w, "delivered 3,000 records for %s\n", at.Format("15:04"))
	}
}

// runningCollector is a collector process the demo started.
type runningCollector struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has ended
	err    error         // its exit; read once exited is closed
}

// startCollector starts the collector with its output going to w and env
// added to ours; ctx's end sends it SIGTERM.
func startCollector(ctx context.Context, w io.Writer, env []string, bin string, args ...string) (*runningCollector, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the collector: %w", err)
	}
	c := &runningCollector{cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// stop sends the collector SIGTERM (if it still runs) and returns its
// exit.
func (c *runningCollector) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	<-c.exited
	return c.err
}

// composeHint returns the commands that bring up the docker compose stack
// with Grafana, each line indented: the plugin built first, frontend and Go
// backend (Grafana's service waits for a check of plugin/dist), and the
// variables docker-compose.yml requires set.
func composeHint(indent string) string {
	return indent + "go tool mage build\n" +
		indent + "GRAFANA_ADMIN_PASSWORD='<a password of yours>' docker compose --profile demo up -d --build\n"
}

// demoReports prints every report of the registry over [start, end).
func demoReports(ctx context.Context, w io.Writer, bin, vmURL string, start, end time.Time) error {
	out, err := output(ctx, nil, bin, "report", "list", "--output", "json")
	if err != nil {
		return err
	}
	var reports []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		return fmt.Errorf("report list: %w", err)
	}
	for _, r := range reports {
		out, err := output(ctx, nil, bin, "report", r.ID, "--vm-url", vmURL, "--from", start.Format(time.RFC3339),
			"--to", end.Format(time.RFC3339), "--top", "10")
		if err != nil {
			return fmt.Errorf("report %s: %w", r.ID, err)
		}
		fmt.Fprintln(w)
		for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			fmt.Fprintln(w, "  "+line)
		}
	}
	return nil
}

// flowLogKeys returns the flow log keys in a bucket.
func (s *s3Server) flowLogKeys(ctx context.Context, bucket string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if strings.HasSuffix(k, ".log.gz") || strings.HasSuffix(k, ".log") || strings.HasSuffix(k, ".log.parquet") {
				keys = append(keys, k)
			}
		}
	}
	return keys, nil
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// runTo runs a command with its standard output going to w.
func runTo(ctx context.Context, w io.Writer, name string, args ...string) error {
	out, err := output(ctx, nil, name, args...)
	fmt.Fprint(w, out)
	return err
}
