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

// StartProfiles starts a CPU profile written to the file cpu (none when
// cpu is "") and returns what finishes it and writes a heap profile (of
// allocations) to the file mem (none when mem is ""). An error is the CPU
// profile's; a heap profile that cannot be written is dropped.
func StartProfiles(cpu, mem string) (stop func(), err error) {
	var cpuFile *os.File
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		cpuFile = f
	}
	return func() {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			cpuFile.Close()
		}
		if mem != "" {
			if f, err := os.Create(mem); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
	}, nil
}
