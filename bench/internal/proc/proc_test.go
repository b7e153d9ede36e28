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

func TestCPUTicksGrow(t *testing.T) {
	self := []int{os.Getpid()}
	before := CPUTicks(self)
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	if after := CPUTicks(self); after <= before {
		t.Fatalf("CPUTicks did not grow over 100 ms of spinning: %d -> %d", before, after)
	}
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
