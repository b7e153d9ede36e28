//go:build linux

package cpulimit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/bench/internal/proc"
)

// TestHoldCapsAndReleases spins a shell loop, holds it to 20% of a CPU and
// checks that over a second it got no more than the quota allows (the
// kernel's throttling; a loaded machine can only give it less), then that
// Release puts it back in its own cgroup and removes the group.
func TestHoldCapsAndReleases(t *testing.T) {
	spin := exec.Command("sh", "-c", "while :; do :; done")
	if err := spin.Start(); err != nil {
		t.Skip("no sh:", err)
	}
	defer func() { spin.Process.Kill(); spin.Wait() }()
	pid := spin.Process.Pid
	before, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))

	g, err := Hold([]int{pid}, 20)
	if errors.Is(err, ErrNoController) || (err != nil && os.Geteuid() != 0) {
		t.Skip("cannot hold a process here:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := members(g.dir); len(got) != 1 || got[0] != pid {
		g.Release()
		t.Fatalf("group %s holds %v, want [%d]", g.dir, got, pid)
	}
	cpu0, t0 := proc.CPUTicks([]int{pid}), time.Now()
	time.Sleep(time.Second)
	used := float64(proc.CPUTicks([]int{pid})-cpu0) / proc.ClockTicks / time.Since(t0).Seconds()
	t.Logf("held to 20%%: the loop used %.0f%% of a CPU", used*100)
	if err := g.Release(); err != nil {
		t.Fatal(err)
	}
	// 20% plus a tick of accounting slack either side of the window.
	if used > 0.20+2.0/proc.ClockTicks {
		t.Errorf("held to 20%% of a CPU, the loop used %.0f%%", used*100)
	}
	if _, err := os.Stat(g.dir); !os.IsNotExist(err) {
		t.Errorf("Release left %s behind (%v)", g.dir, err)
	}
	after, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if string(after) != string(before) || strings.Contains(string(after), groupName) {
		t.Errorf("after Release the loop is in\n%s\nwant\n%s", after, before)
	}
}

func TestHoldRejectsPercent(t *testing.T) {
	for _, p := range []int{0, 4, 101} {
		if _, err := Hold([]int{os.Getpid()}, p); err == nil || errors.Is(err, ErrNoController) {
			t.Errorf("Hold(%d%%) = %v, want a range error", p, err)
		}
	}
}
