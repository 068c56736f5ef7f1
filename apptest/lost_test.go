package apptest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/groundtruth"
	"github.com/vpcflow/vpcflow/internal/testserver"
)

// TestLostLedgerRefused empties the ledger of a collector that ingested a
// shared folder (objects not deleted): the next run would ingest them all
// again. It refuses to start, saying why and how to go on; with
// --lost-state=skip it goes on without counting anything twice and takes
// what arrives after; with --lost-state=backfill, on a source that deletes
// what it ingests, it takes what is left without purging it.
func TestLostLedgerRefused(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs, later, tr := t.TempDir(), t.TempDir(), groundtruth.New()
	genInto(t, logs, tr, 6000, 81, time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC))
	genInto(t, later, tr, 2000, 82, time.Date(2026, 4, 5, 3, 0, 0, 0, time.UTC))
	tr.Finish()
	state := t.TempDir()
	config := WriteConfig(t, vm.URL, logs, state, "    delete_after_ingest: false\n    on_first_run: backfill\n")
	if out, code := runCmd(t, bin, "run", "--config", config, "--once"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	vm.Flush() // the traces searchable (with a storage's own save delay, they are by the time the run ends)
	before := vm.Totals(t, "vpcflow_interface_bytes")[""]

	// The ledger file emptied, as a lost volume or a wrong mount would.
	if err := os.WriteFile(filepath.Join(state, "ledger.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runCmd(t, bin, "run", "--config", config, "--once")
	if code != 1 || !strings.Contains(out, "source local: the ledger has no record of it") || !strings.Contains(out, "--lost-state=backfill") ||
		!strings.Contains(out, "--lost-state=skip") {
		t.Fatalf("run with an emptied ledger: exit %d, want 1 saying what was lost and how to go on:\n%s", code, out)
	}
	vm.Flush()
	if after := vm.Totals(t, "vpcflow_interface_bytes")[""]; after != before {
		t.Fatalf("the refused run stored %v bytes more", after-before)
	}

	// Deliberately: skip what the lost ledger ingested, take what is new.
	copyTree(t, later, logs)
	if out, code := runCmd(t, bin, "run", "--config", config, "--once", "--lost-state=skip"); code != 0 {
		t.Fatalf("run --lost-state=skip: exit %d\n%s", code, out)
	}
	if out, code := runCmd(t, bin, "run", "--config", config, "--once"); code != 0 {
		t.Fatalf("the run after: exit %d\n%s", code, out)
	}
	tr.Check(t, vm, exactFamilies...)

	// A purging source whose ledger is lost must not purge again.
	vm2 := testserver.VictoriaMetrics(t)
	logs2, tr2 := t.TempDir(), groundtruth.New()
	genInto(t, logs2, tr2, 4000, 83, time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC))
	tr2.Finish()
	state2 := t.TempDir()
	config2 := WriteConfig(t, vm2.URL, logs2, state2, "    on_first_run: backfill\n")
	if out, code := runCmd(t, bin, "run", "--config", config2, "--once"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	vm2.Flush()
	// Lost, now configured to purge on a first run; new objects arrive,
	// some old enough for a purge.
	if err := os.RemoveAll(state2); err != nil {
		t.Fatal(err)
	}
	logs3, tr3 := t.TempDir(), groundtruth.New()
	genInto(t, logs3, tr3, 2000, 84, time.Date(2026, 4, 6, 5, 0, 0, 0, time.UTC))
	tr3.Finish()
	for key := range present(t, logs3) {
		old := time.Now().Add(-time.Hour)
		p := filepath.Join(logs3, key)
		_ = os.Chtimes(p, old, old)
	}
	copyTree(t, logs3, logs2)
	config2 = WriteConfig(t, vm2.URL, logs2, state2, "    on_first_run: purge\n")
	if out, code := runCmd(t, bin, "run", "--config", config2, "--once"); code != 1 || !strings.Contains(out, "the ledger has no record of it") {
		t.Fatalf("purging source with a lost ledger: exit %d, want 1\n%s", code, out)
	}
	if len(present(t, logs2)) == 0 {
		t.Fatal("the refused run purged")
	}
	if out, code := runCmd(t, bin, "run", "--config", config2, "--once", "--lost-state=backfill"); code != 0 {
		t.Fatalf("run --lost-state=backfill: exit %d\n%s", code, out)
	}
	if left := len(present(t, logs2)); left != 0 {
		t.Errorf("%d objects left", left)
	}
	vm2.Flush()
	if got, want := vm2.Totals(t, "vpcflow_interface_bytes")[""], sum(tr2, "vpcflow_interface_bytes")+sum(tr3, "vpcflow_interface_bytes"); got != want {
		t.Errorf("after the backfill: %v bytes stored, want %v (nothing purged, nothing twice)", got, want)
	}
}

// sum returns the total of a metric of a ground truth.
func sum(tr *groundtruth.Truth, metric string) float64 {
	var s float64
	for _, v := range tr.Sums[metric] {
		s += v
	}
	return s
}

// TestLostStorageRefused points a collector whose ledger wrote to one
// VictoriaMetrics at an empty one (its data lost, or another): it refuses
// to start; with --lost-state=backfill a shared source is ingested again
// from what it still holds, exactly.
func TestLostStorageRefused(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs, tr := t.TempDir(), groundtruth.New()
	genInto(t, logs, tr, 6000, 85, time.Date(2026, 4, 7, 0, 0, 0, 0, time.UTC))
	tr.Finish()
	state := t.TempDir()
	shared := "    delete_after_ingest: false\n    on_first_run: backfill\n"
	if out, code := runCmd(t, bin, "run", "--config", WriteConfig(t, vm.URL, logs, state, shared), "--once"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	vm.Flush()
	empty := testserver.VictoriaMetrics(t)
	config := WriteConfig(t, empty.URL, logs, state, shared)
	out, code := runCmd(t, bin, "run", "--config", config, "--once")
	if code != 1 || !strings.Contains(out, "the storage has none of them") {
		t.Fatalf("run against an empty storage: exit %d, want 1 saying the storage lost its data:\n%s", code, out)
	}
	if out, code := runCmd(t, bin, "run", "--config", config, "--once", "--lost-state=backfill"); code != 0 {
		t.Fatalf("run --lost-state=backfill: exit %d\n%s", code, out)
	}
	tr.Check(t, empty, exactFamilies...) // flushes: the new traces are searchable
	if out, code := runCmd(t, bin, "run", "--config", config, "--once"); code != 0 {
		t.Fatalf("the run after: exit %d\n%s", code, out)
	}
}

// TestDamagedLedger: a ledger file with a damaged page makes run and
// quarantine list fail with a clear error, not a panic.
func TestDamagedLedger(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs, _, _ := genDir(t, 4000, 86)
	state := t.TempDir()
	config := WriteConfig(t, vm.URL, logs, state, "    delete_after_ingest: false\n    on_first_run: backfill\n")
	if out, code := runCmd(t, bin, "run", "--config", config, "--once"); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	path := filepath.Join(state, "ledger.db")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 6*4096 {
		t.Fatalf("ledger of %d bytes: too small to damage a data page", len(data))
	}
	// Pages 0 and 1 are bbolt's meta pages (checksummed); damage the
	// headers of the data pages after them.
	for p := 2; p*4096+16 <= len(data); p++ {
		copy(data[p*4096:], bytes.Repeat([]byte{0xA5}, 16))
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run", "--config", config, "--once"}, {"quarantine", "list", "--config", config}} {
		out, code := runCmd(t, bin, args...)
		if code != 1 || strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") ||
			!strings.Contains(out, "ledger file damaged: "+path) || !strings.Contains(out, "restore it from a backup") {
			t.Errorf("%s with a damaged ledger: exit %d, want 1 and a clear error:\n%s", args[0], code, out)
		}
	}
}

// TestDownloaderFirstRunGuard: a downloader whose ledger does not know a
// source the collector instance already collected (downloader.db lost, or
// new after a switch from --role all to separate roles) refuses the first
// run, which would purge unread logs or take them again, until told how to
// go on.
func TestDownloaderFirstRunGuard(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs, later, tr := t.TempDir(), t.TempDir(), groundtruth.New()
	genInto(t, logs, tr, 4000, 87, time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC))
	genInto(t, later, tr, 2000, 88, time.Date(2026, 4, 8, 3, 0, 0, 0, time.UTC))
	tr.Finish()
	state := t.TempDir()
	if out, code := runCmd(t, bin, "run", "--config", WriteConfig(t, vm.URL, logs, state, "    on_first_run: backfill\n"), "--once"); code != 0 {
		t.Fatalf("run --role all: exit %d\n%s", code, out)
	}
	vm.Flush()
	copyTree(t, later, logs)
	for key := range present(t, logs) {
		old := time.Now().Add(-time.Hour) // old enough for a purge
		_ = os.Chtimes(filepath.Join(logs, key), old, old)
	}
	config := WriteConfig(t, vm.URL, logs, state, "    on_first_run: purge\n")
	out, code := runCmd(t, bin, "run", "--config", config, "--once", "--role", "downloader")
	if code != 1 || !strings.Contains(out, "source local: the ledger has no record of it") || !strings.Contains(out, "downloader.db") {
		t.Fatalf("downloader with a new ledger: exit %d, want 1\n%s", code, out)
	}
	if len(present(t, logs)) == 0 {
		t.Fatal("the refused downloader purged")
	}
	if out, code := runCmd(t, bin, "run", "--config", config, "--once", "--role", "downloader", "--lost-state=backfill"); code != 0 {
		t.Fatalf("downloader --lost-state=backfill: exit %d\n%s", code, out)
	}
	if out, code := runCmd(t, bin, "run", "--config", config, "--once", "--role", "collector"); code != 0 {
		t.Fatalf("collector: exit %d\n%s", code, out)
	}
	tr.Check(t, vm, exactFamilies...)
}

// TestOverlongLabelsAgree is the report of issue 11, item 3: records whose
// interface id or VPC id is 5,000 characters long (VictoriaMetrics drops
// a series with a label value over 4 KiB, and answers the write as if it
// stored it) are bad lines with a reason, and every report agrees on the
// rest.
func TestOverlongLabelsAgree(t *testing.T) {
	bin := collectorBinary(t)
	vm := testserver.VictoriaMetrics(t)
	logs := t.TempDir()
	const head = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id az-id flow-direction\n"
	line := func(iface, vpc string, bytes int) string {
		return "5 123456789012 " + iface + " 10.0.0.1 10.0.0.2 443 50000 6 10 " + strconv.Itoa(bytes) +
			" 1775000000 1775000030 ACCEPT OK " + vpc + " subnet-0a1 use1-az1 egress\n"
	}
	long := strings.Repeat("a", 4996)
	body := head + line("eni-01", "vpc-01", 1000) + line("eni-"+long, "vpc-01", 1000) + line("eni-02", "vpc-"+long, 1000) +
		line("eni-02", "vpc-01", 2000)
	if err := os.WriteFile(filepath.Join(logs, "one.log"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	config := WriteConfig(t, vm.URL, logs, t.TempDir(), "")
	out, code := runCmd(t, bin, "run", "--config", config, "--once", "--log-format", "json")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, `"bad_lines":2`) || !strings.Contains(out, `malformed value in interface-id \"eni-aaaa`) {
		t.Errorf("the two records should be bad lines, the first sampled with its field:\n%s", out)
	}
	vm.Flush()
	for _, id := range []string{"action", "interface", "vpcs", "availability-zones", "top-sources"} {
		stdout, stderr, code := runCLI(t, "report", id, "--vm-url", vm.URL, "--from", "1774999800", "--to", "1775000400", "--output", "json")
		if code != 0 {
			t.Fatalf("report %s: exit %d: %s", id, code, stderr)
		}
		var rep ReportJSON
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, r := range rep.Rows {
			v, _ := r.Value.Int64()
			total += v
		}
		if total != 3000 {
			t.Errorf("report %s: %d bytes, want the 3000 of the two good records:\n%s", id, total, stdout)
		}
	}
}
