package pipeline_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// hostileKey is the key of the i-th object hostileObject writes.
func hostileKey(i int) string {
	return fmt.Sprintf("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/03/01/123456789012_vpcflowlogs_us-east-1_fl-hostile_20260301T1000Z_%04d.log.gz", i)
}

// mix64 is splitmix64's finaliser: a bijection of uint64, so distinct
// inputs give distinct ids that gzip cannot shrink.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// hostileLinesCells is how many cells each line of a hostile object adds:
// its interface is new, and its minute of traffic straddles two minutes,
// and two five-minute intervals, in six families, plus one status cell.
const hostileLineCells = 13

// hostileObject writes under dir the i-th gzipped v2 flow log object of n
// lines, each from an interface of its own (a valid eni- id of 17 hex
// digits, none shared with another object), and returns its path.
// 1,000,000 lines make about 16 MB.
func hostileObject(tb testing.TB, dir string, i, n int) string {
	tb.Helper()
	path := filepath.Join(dir, filepath.FromSlash(hostileKey(i)))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		tb.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	w := bufio.NewWriter(zw)
	w.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	const start = 1772359441 // 2026-03-01T10:04:01Z: a minute of traffic straddles two five-minute intervals
	for j := range n {
		fmt.Fprintf(w, "2 123456789012 eni-0%016x 10.0.1.5 10.0.2.7 44321 443 6 10 5000 %d %d ACCEPT OK\n",
			mix64(uint64(i)<<32|uint64(j)), start+j%540/60*300, start+j%540/60*300+60)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		tb.Fatal(err)
	}
	return path
}

// peakRSS returns the process's peak resident set size in bytes (VmHWM);
// resetPeakRSS starts a new peak from the current size.
func peakRSS(tb testing.TB) int64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				tb.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	tb.Skip("no VmHWM in /proc/self/status")
	return 0
}

func resetPeakRSS() {
	runtime.GC()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM (Linux 4.0+); best effort
}

// BenchmarkHostileObject ingests one object whose every line names an
// interface of its own (13 cells a line), with `run --once`'s pipeline and
// default options against a real VictoriaMetrics, and logs the time and the
// process's peak RSS. Objects over the per-object bound are quarantined
// as soon as they cross it; one just under it is stored:
//
//	go test ./collector/pipeline -run '^$' -bench HostileObject -benchtime 1x -v
func BenchmarkHostileObject(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			vm := testserver.VictoriaMetrics(b)
			store, err := vmclient.New(vmclient.Config{URL: vm.URL})
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			path := hostileObject(b, dir, 0, n)
			info, _ := os.Stat(path)
			benchRun(b, dir, store, pipeline.Options{}, fmt.Sprintf("%d lines (%.1f MB gzip, %d cells)", n, float64(info.Size())/1e6, n*hostileLineCells))
		})
	}
}

// BenchmarkBoundedMemory ingests hostile objects just under the default
// per-object bound (3 of 300,000 lines: 3.9 million cells, a batch each)
// or a quarter of it (12 of 75,000 lines: two a batch), with 8 fetchers
// and default bounds, and logs the time and the peak RSS: the worst case
// of the default bounds. The batches are encoded as for VictoriaMetrics but
// not sent (what is measured is the collector; VictoriaMetrics takes many
// minutes to take in 12 million new series):
//
//	go test ./collector/pipeline -run '^$' -bench BoundedMemory -benchtime 1x -v
func BenchmarkBoundedMemory(b *testing.B) {
	store, err := vmclient.New(vmclient.Config{URL: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ objects, lines int }{{3, 300_000}, {12, 75_000}} {
		b.Run(fmt.Sprintf("objects=%d,lines=%d", c.objects, c.lines), func(b *testing.B) {
			dir := b.TempDir()
			for i := range c.objects {
				hostileObject(b, dir, i, c.lines)
			}
			benchRun(b, dir, encodeOnly{store}, pipeline.Options{Workers: 2, MaxObjects: c.objects, MaxBytes: 1 << 30},
				fmt.Sprintf("%d objects of %d lines (%d cells each), 8 fetchers", c.objects, c.lines, c.lines*hostileLineCells))
		})
	}
}

// encodeOnly encodes batches as the storage client does, and drops them.
type encodeOnly struct{ c *vmclient.Client }

func (w encodeOnly) NewBatch() *vmclient.Batch { return w.c.NewBatch() }

func (w encodeOnly) WriteBatch(_ context.Context, b *vmclient.Batch) error {
	b.Requests()
	return nil
}

// Generation and CheckDurability: nothing is stored, so nothing waits to
// be saved.
func (encodeOnly) Generation() uint64 { return 0 }

func (encodeOnly) CheckDurability(context.Context) (vmclient.Durability, error) {
	return vmclient.Durability{}, nil
}

// benchRun runs the pipeline over dir once per iteration, each with a new
// ledger, and logs the time, the peak RSS and what was stored.
func benchRun(b *testing.B, dir string, w pipeline.Writer, opts pipeline.Options, what string) {
	opts.Logger = slog.New(slog.DiscardHandler)
	for range b.N {
		b.StopTimer()
		l, err := ledger.Open(filepath.Join(b.TempDir(), "ledger.db"), ledger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		src := &sourcestate.Source{Source: source.NewDir("local", dir), Fetchers: 8}
		p, err := pipeline.New([]*sourcestate.Source{src}, l, w, opts)
		if err != nil {
			b.Fatal(err)
		}
		resetPeakRSS()
		b.StartTimer()
		began := time.Now()
		err = p.Run(context.Background(), true)
		took := time.Since(began)
		b.StopTimer()
		peak := peakRSS(b)
		st := p.Stats()
		b.Logf("%s: %v, peak RSS %.0f MB; %d objects stored in %d batches (%d series), %d quarantined; err %v",
			what, took.Round(time.Millisecond), float64(peak)/1e6, st.Objects.Load(), st.Batches.Load(), st.Series.Load(), st.Quarantined.Load(), err)
		b.ReportMetric(float64(peak)/1e6, "peakRSS-MB")
		q, _ := l.Quarantined("")
		for _, r := range q {
			b.Logf("quarantined: %s", r.Reason)
		}
		l.Close()
		b.StartTimer()
	}
}
