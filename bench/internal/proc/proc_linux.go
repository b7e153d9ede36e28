// Package proc reads what the benchmark measures about a server from /proc:
// the CPU time and memory of a process and all its descendants (nginx's
// workers, io_uring's io-wq threads, which are threads of the process).
package proc

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports.
const ClockTicks = 100

// Tree returns pid and the pids of all its live descendants.
func Tree(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{pid}
	}
	children := map[int][]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := statFields(p)
		if err != nil || len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1]) // field 4 (ppid) is index 1 after the comm
		children[ppid] = append(children[ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out) && i < 4096; i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name:
// index 0 is field 3 (state) of proc(5).
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("proc: malformed /proc/%d/stat", pid)
	}
	return strings.Fields(string(b[i+1:])), nil
}

// CPUTicks returns utime+stime of every process in pids (each the sum over all
// its threads, live and exited), in clock ticks.
func CPUTicks(pids []int) int64 {
	var sum int64
	for _, p := range pids {
		f, err := statFields(p)
		if err != nil || len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64) // field 14 utime
		s, _ := strconv.ParseInt(f[12], 10, 64) // field 15 stime
		sum += u + s
	}
	return sum
}

// StatusKB returns the sum over pids of a kB field of /proc/PID/status, such
// as "VmRSS" or "VmHWM".
func StatusKB(pids []int, field string) int64 {
	var sum int64
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, field+":"); ok {
				v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
				n, _ := strconv.ParseInt(v, 10, 64)
				sum += n
				break
			}
		}
	}
	return sum
}

// ResetPeak resets the peak RSS (VmHWM) of every process in pids to its
// current RSS (clear_refs value 5, Linux 4.0+). Errors are ignored: a process
// we may not write to keeps its lifetime peak.
func ResetPeak(pids []int) {
	for _, p := range pids {
		os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p), []byte("5"), 0)
	}
}
