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
// ctx is done (unless opts.Once).
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
	bin, err := cachedCollector(ctx)
	if err != nil {
		return err
	}
	demoDir := opts.Dir
	if demoDir == "" {
		if demoDir, err = tools.CacheDir("demo"); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(demoDir); err != nil {
		return err
	}
	vm, err := startVM(ctx, filepath.Join(demoDir, "vm"))
	if err != nil {
		return err
	}
	defer vm.Stop()
	vmURL := vm.URL()
	s3srv, err := startS3(ctx, filepath.Join(demoDir, "s3"))
	if err != nil {
		return err
	}
	defer s3srv.stop()
	fmt.Fprintf(w, "VictoriaMetrics at %s, an S3 server (versitygw) at %s, data under %s\n", vmURL, s3srv.url, demoDir)

	// The day ends an hour ago, so that every record is in the past when
	// the reports are asked.
	end := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	start := end.Add(-24 * time.Hour)
	fmt.Fprintf(w, "\n== Delivering a day of VPC flow logs (%d records, v5 fields, 3 VPCs) into s3://%s\n\n", opts.Records, demoBucket)
	day := filepath.Join(demoDir, "generated", "day")
	if err := runTo(ctx, w, bin, "generate", "--out", day, "--records", strconv.Itoa(opts.Records), "--seed", "1",
		"--format", "v5", "--start", start.Format(time.RFC3339), "--duration", "24h", "--vpcs", "3", "--enis", "60"); err != nil {
		return err
	}
	old := filepath.Join(demoDir, "generated", "old")
	if _, err := output(ctx, nil, bin, "generate", "--out", old, "--records", "20000", "--seed", "2", "--format", "v5",
		"--start", start.Add(-72*time.Hour).Format(time.RFC3339), "--duration", "1h", "--vpcs", "3", "--enis", "60"); err != nil {
		return err
	}
	if err := s3srv.upload(ctx, demoBucket, day); err != nil {
		return err
	}
	oldFiles, err := listFiles(old)
	if err != nil {
		return err
	}
	if err := s3srv.put(ctx, demoBucket, old, oldFiles); err != nil {
		return err
	}
	// The old objects look delivered three days ago (versitygw's
	// LastModified is its file's modification time).
	threeDays := time.Now().Add(-72 * time.Hour)
	for _, f := range oldFiles {
		rel, _ := filepath.Rel(old, f)
		if err := os.Chtimes(filepath.Join(s3srv.dir, demoBucket, rel), threeDays, threeDays); err != nil {
			return err
		}
	}
	keys, err := s3srv.flowLogKeys(ctx, demoBucket)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d objects in the bucket (%d of them three days old, for the first run's purge), for example:\n  s3://%s/%s\n",
		len(keys), len(oldFiles), demoBucket, keys[len(keys)/2])

	statusPort, err := tools.FreePort()
	if err != nil {
		return err
	}
	config := filepath.Join(demoDir, "collector.yaml")
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
`, filepath.Join(demoDir, "state"), vmURL, statusPort, demoBucket, s3srv.url, s3srv.access)
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n== Collecting: %s run --config %s\n\n", bin, config)
	collector := exec.CommandContext(ctx, bin, "run", "--config", config)
	collector.Env = append(os.Environ(), "VPCFLOW_DEMO_S3_SECRET="+s3srv.secret)
	collector.Stdout, collector.Stderr = w, w
	collector.Cancel = func() error { return collector.Process.Signal(syscall.SIGTERM) }
	collector.WaitDelay = time.Minute
	if err := collector.Start(); err != nil {
		return fmt.Errorf("start the collector: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- collector.Wait() }()
	stopCollector := func() error {
		_ = collector.Process.Signal(syscall.SIGTERM)
		return <-exited
	}

	// The backlog is in when the bucket holds no flow log any more.
	for {
		keys, err := s3srv.flowLogKeys(ctx, demoBucket)
		if err != nil {
			_ = stopCollector()
			return err
		}
		if len(keys) == 0 {
			break
		}
		select {
		case err := <-exited:
			return fmt.Errorf("the collector stopped: %v", err)
		case <-ctx.Done():
			_ = stopCollector()
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	if _, err := http.Get(vmURL + "/internal/force_flush"); err != nil {
		_ = stopCollector()
		return err
	}

	fmt.Fprintf(w, "\n== Every report over the day (%s to %s), top 10 by bytes\n", start.Format(time.RFC3339), end.Format(time.RFC3339))
	if err := demoReports(ctx, w, bin, vmURL, start, end); err != nil {
		_ = stopCollector()
		return err
	}
	fmt.Fprintf(w, `
== Where to look next

  VictoriaMetrics UI:      %s/vmui  (try sum by (action) (rate(vpcflow_interface_bytes[5m])))
  collector status:        http://127.0.0.1:%d/api/v1/sources  and  /metrics
  a report from the CLI:   %s report vpcs --vm-url %s --from now-26h --to now
  Grafana with dashboards: where Docker runs, from the repository (see docs/grafana.md):
%s                           then http://127.0.0.1:3000, user admin with that password
`, vmURL, statusPort, bin, vmURL, composeHint("                             "))

	if opts.Once {
		return stopCollector()
	}
	fmt.Fprintf(w, "\n== New flow logs arrive every %s, as AWS delivers them; Ctrl-C ends the demo\n\n", opts.TrickleEvery)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			if err := stopCollector(); err != nil && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(w, "collector: %v\n", err)
			}
			return nil
		case err := <-exited:
			return fmt.Errorf("the collector stopped: %v", err)
		case <-time.After(opts.TrickleEvery):
		}
		dir := filepath.Join(demoDir, "generated", "trickle-"+strconv.Itoa(i))
		at := time.Now().UTC().Truncate(5 * time.Minute).Add(-5 * time.Minute)
		if _, err := output(ctx, nil, bin, "generate", "--out", dir, "--records", "3000", "--seed", strconv.Itoa(100+i), "--format", "v5",
			"--start", at.Format(time.RFC3339), "--duration", "5m", "--vpcs", "3", "--enis", "60"); err != nil {
			return err
		}
		if err := s3srv.upload(ctx, demoBucket, dir); err != nil {
			return err
		}
		fmt.Fprintf(w, "delivered 3,000 records for %s\n", at.Format("15:04"))
	}
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
