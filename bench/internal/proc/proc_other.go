//go:build !linux

package proc

// ClockTicks is USER_HZ; /proc exists only on Linux, so elsewhere every
// reading below is zero and the harness reports no CPU or memory figures.
const ClockTicks = 100

// Tree returns just pid: there is no /proc to walk.
func Tree(pid int) []int { return []int{pid} }

// CPUTicks returns 0: there is no /proc to read.
func CPUTicks(pids []int) int64 { return 0 }

// StatusKB returns 0: there is no /proc to read.
func StatusKB(pids []int, field string) int64 { return 0 }

// ResetPeak does nothing: there is no /proc to write.
func ResetPeak(pids []int) {}
