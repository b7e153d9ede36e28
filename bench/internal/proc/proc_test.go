//go:build linux

package proc

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestTreeFindsChildren(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	tree := Tree(os.Getpid())
	if tree[0] != os.Getpid() || !slices.Contains(tree, cmd.Process.Pid) {
		t.Fatalf("Tree(self) = %v, want self first and child %d", tree, cmd.Process.Pid)
	}
}

// TestCPUTicksGrow spins until the process's CPU time grows. On a loaded
// machine 100 ms of wall time may bring no tick of CPU (the test failed so
// with a load average of 25 on 2 cores), so it spins up to 5 s of wall time
// and fails only if that brings none.
func TestCPUTicksGrow(t *testing.T) {
	self := []int{os.Getpid()}
	before := CPUTicks(self)
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
		}
		if CPUTicks(self) > before {
			return
		}
	}
	t.Fatalf("CPUTicks did not grow over %v of spinning: %d -> %d", time.Since(start).Round(time.Millisecond), before, CPUTicks(self))
}

func TestStatusKB(t *testing.T) {
	self := []int{os.Getpid()}
	rss, hwm := StatusKB(self, "VmRSS"), StatusKB(self, "VmHWM")
	if rss <= 0 || hwm < rss {
		t.Fatalf("VmRSS %d kB, VmHWM %d kB", rss, hwm)
	}
	if StatusKB([]int{os.Getpid(), os.Getpid()}, "VmRSS") < 2*rss*9/10 {
		t.Fatal("StatusKB does not sum over pids")
	}
}
