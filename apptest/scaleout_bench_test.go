package apptest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/generate"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// BenchmarkScaleOut measures one collector against two (instance 0 and 1
// of 2) ingesting the same realistic flow logs (VPCFLOW_BENCH_SCALEOUT_RECORDS,
// default 1,000,000 records of a day, 2,000 interfaces in 10 VPCs: one flow
// log each) into a VictoriaMetrics cluster of 2 vmstorage, vminsert and
// vmselect, each run `run --once` from start to exit into a fresh cluster.
// Each collector gets one core (GOMAXPROCS=1, pinned with taskset when the
// machine has as many cores as collectors), so that the ratio says how the
// work spreads where the machine allows; the cluster shares the cores.
// It prints the figures and the target (two collectors at least
// 1.7x one) as MET or MISSED.
func BenchmarkScaleOut(b *testing.B) {
	records := 1_000_000
	if v := os.Getenv("VPCFLOW_BENCH_SCALEOUT_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("VPCFLOW_BENCH_SCALEOUT_RECORDS: %v", err)
		}
		records = n
	}
	bin := collectorBinary(b)
	data := b.TempDir()
	f, _ := flowlog.ParseFormat("v5")
	perVPC := map[string]int{}
	_, err := generate.Generate(generate.Config{Records: records, Seed: 7, Format: f, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Duration: 24 * time.Hour, ENIs: 2000, VPCs: 10, Observe: func(key string, _ *flowlog.Record) { perVPC[key]++ }}, generate.Dir(data))
	if err != nil {
		b.Fatal(err)
	}
	shares := [2]int{}
	for key, n := range perVPC {
		shares[source.Share{Count: 2}.Of(key)] += n
	}
	run := func(count int) time.Duration {
		c := testserver.VictoriaMetricsCluster(b, 2)
		logs := b.TempDir()
		copyTree(b, data, logs)
		var cmds []*exec.Cmd
		for i := range count {
			cfg := writeFile(b, "collector.yaml", fmt.Sprintf("state_dir: %s\ninstance: {index: %d, count: %d}\nserver: {listen: off}\n"+
				"storage: {write_url: '%s', query_url: '%s', storage_nodes: ['%s']}\nsources: [{name: bench, type: dir, path: '%s'}]\n",
				b.TempDir(), i, count, c.WriteURL, c.QueryURL, strings.Join(c.StorageNodes(), "', '"), logs))
			args := []string{bin, "run", "--config", cfg, "--once", "--log-level", "error"}
			if runtime.NumCPU() >= count && count > 1 {
				args = append([]string{"taskset", "-c", strconv.Itoa(i)}, args...)
			}
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
			cmd.Stderr = os.Stderr
			cmds = append(cmds, cmd)
		}
		began := time.Now()
		for _, cmd := range cmds {
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
		}
		for _, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				b.Fatalf("%v: %v", cmd.Args, err)
			}
		}
		took := time.Since(began)
		if left := present(b, logs); len(left) != 0 {
			b.Fatalf("%d objects left", len(left))
		}
		return took
	}
	for range b.N {
		one := run(1)
		two := run(2)
		ratio := one.Seconds() / two.Seconds()
		verdict := "MET"
		if ratio < 1.7 {
			verdict = "MISSED"
		}
		b.ReportMetric(ratio, "x")
		b.Logf("scale-out: %d records, %d cores; records split %d / %d between the two (by flow log)", records, runtime.NumCPU(), shares[0], shares[1])
		b.Logf("scale-out: one collector (1 core) %.1f s, %.0f records/s; two collectors (1 core each) %.1f s, %.0f records/s", one.Seconds(), float64(records)/one.Seconds(), two.Seconds(), float64(records)/two.Seconds())
		b.Logf("target: two collectors on one source into the cluster %.2fx one collector, want at least 1.7x: %s", ratio, verdict)
	}
}
