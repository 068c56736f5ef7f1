// Package procstat measures the collector's process: its peak resident
// memory (which the decode command's totals and the run's stop log
// report) and, for developers, its CPU and heap profiles.
package procstat

import (
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
)

// statusFile is where Linux describes the process.
const statusFile = "/proc/self/status"

// PeakRSS returns the process's peak resident memory in bytes (VmHWM of
// /proc/self/status), or 0 where that is not available. Unlike getrusage,
// it does not count what the parent held before exec.
func PeakRSS() int64 {
	data, err := os.ReadFile(statusFile)
	if err != nil {
		return 0
	}
	return peakRSS(string(data))
}

// peakRSS reads VmHWM from the text of /proc/self/status: bytes, or 0 when
// the line is missing or malformed.
func peakRSS(status string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// Profiles are the developer's profiles of the process: a CPU profile
// from Start to Stop, and a heap profile (of allocations) at Stop.
type Profiles struct {
	// CPU and Mem are the files the CPU and heap profiles are written
	// to; "" writes none.
	CPU, Mem string

	cpu *os.File
}

// Start starts the CPU profile; an error is the CPU profile file's.
func (p *Profiles) Start() error {
	if p.CPU == "" {
		return nil
	}
	f, err := os.Create(p.CPU)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.cpu = f
	return nil
}

// Stop finishes the CPU profile, if one was started, and writes the heap
// profile; a heap profile that cannot be written is dropped.
func (p *Profiles) Stop() {
	if p.cpu != nil {
		pprof.StopCPUProfile()
		p.cpu.Close()
		p.cpu = nil
	}
	if p.Mem != "" {
		if f, err := os.Create(p.Mem); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
}
