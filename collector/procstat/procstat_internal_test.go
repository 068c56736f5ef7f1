package procstat

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestPeakRSSParse(t *testing.T) {
	for _, tt := range []struct {
		name, status string
		want         int64
	}{
		{"kB", "Name:\tx\nVmPeak:\t  300 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1024 kB\n", 2048 << 10},
		{"no unit", "VmHWM:\t7\n", 7 << 10},
		{"missing", "Name:\tx\nVmRSS:\t 1024 kB\n", 0},
		{"malformed", "VmHWM:\t12x kB\n", 0},
		{"empty", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := peakRSS(tt.status); got != tt.want {
				t.Errorf("peakRSS = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestPeakRSS reads this process's peak: at least the memory a large
// allocation touched.
func TestPeakRSS(t *testing.T) {
	if _, err := os.Stat(statusFile); err != nil {
		t.Skipf("no %s here: %v", statusFile, err)
	}
	const size = 64 << 20
	b := make([]byte, size)
	for i := range b {
		b[i] = 1
	}
	got := PeakRSS()
	runtime.KeepAlive(b)
	if got < size || got > 16<<30 {
		t.Errorf("PeakRSS = %d bytes, want at least the %d touched", got, size)
	}
}

func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name     string
		cpu, mem string
		wantErr  bool
	}{
		{"none", "", "", false},
		{"both", filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof"), false},
		{"heap only", "", filepath.Join(dir, "mem2.prof"), false},
		{"cpu in a missing folder", filepath.Join(dir, "no", "cpu.prof"), "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Profiles{CPU: tt.cpu, Mem: tt.mem}
			err := p.Start()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Start: %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			p.Stop()
			for _, f := range []string{tt.cpu, tt.mem} {
				if f == "" {
					continue
				}
				if st, err := os.Stat(f); err != nil || st.Size() == 0 {
					t.Errorf("profile %s: %v, size %v", f, err, st)
				}
			}
		})
	}
}
