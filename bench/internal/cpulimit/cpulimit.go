// Package cpulimit holds a server to a share of one CPU for the length of a
// measurement, through the cgroup cpu controller (cgroup v2's cpu.max or v1's
// CFS quota), so that the server and not the load generator sets the pace.
//
// On a two-CPU machine with the server on one CPU and the load generator on
// the other, a 1 MiB download saturates h2load (its 8 KiB reads, two per TLS
// record) before it saturates either server: req/s is then the client's
// ceiling. Held to a quarter of a CPU, each server serves what its own CPU
// per request allows, and req/s compares the servers again.
//
// It needs root (or write access to the cgroup tree) and a mounted cpu
// controller; Hold says which is missing.
package cpulimit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Period is the CFS period: the server gets percent% of it in every period,
// short enough that the throttling does not show as 100 ms stalls.
const Period = 20000 // µs

// groupName is the cgroup Hold creates under the cpu controller's root.
const groupName = "ringhttpd-bench-hold"

// ErrNoController means there is no cgroup cpu controller this process may
// use: none is mounted, cgroup v2's cannot be enabled for the root's
// children, or the hierarchy is read-only or not ours to write (a container).
var ErrNoController = errors.New("cpulimit: no usable cgroup cpu controller")

// Group is a set of processes held to a share of a CPU; Release lets them go.
type Group struct {
	dir    string         // the cgroup directory Hold made
	root   string         // the controller's mount point
	origin map[int]string // pid -> the cgroup directory it came from
}

// Hold moves pids (whole processes, every thread) into a cgroup allowed
// percent% (5-100) of one CPU and returns it.
func Hold(pids []int, percent int) (*Group, error) {
	if percent < 5 || percent > 100 {
		return nil, fmt.Errorf("cpulimit: percent %d outside 5-100", percent)
	}
	m, err := findController()
	if err != nil {
		return nil, err
	}
	g := &Group{dir: filepath.Join(m.root, groupName), root: m.root, origin: map[int]string{}}
	if err := os.Mkdir(g.dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("%w: %v", ErrNoController, err)
		}
		return nil, fmt.Errorf("cpulimit: %w", err)
	}
	quota := percent * Period / 100
	if m.v2 {
		err = write(filepath.Join(g.dir, "cpu.max"), fmt.Sprintf("%d %d", quota, Period))
	} else {
		err = write(filepath.Join(g.dir, "cpu.cfs_period_us"), strconv.Itoa(Period))
		if err == nil {
			err = write(filepath.Join(g.dir, "cpu.cfs_quota_us"), strconv.Itoa(quota))
		}
	}
	if err != nil {
		g.Release()
		return nil, err
	}
	for _, pid := range pids {
		from, err := cgroupOf(pid, m)
		if err != nil && !processExists(pid) {
			continue // exited since the caller listed it
		}
		if err != nil {
			g.Release()
			return nil, err
		}
		if err := write(filepath.Join(g.dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil && processExists(pid) {
			g.Release()
			return nil, err
		}
		g.origin[pid] = from
	}
	return g, nil
}

// Release moves every process in the group back where it came from (a
// process forked inside the group goes to the controller's root) and
// removes the group. A process that exited meanwhile is no error.
func (g *Group) Release() error {
	var errs []error
	for _, pid := range members(g.dir) {
		to, ok := g.origin[pid]
		if !ok {
			to = g.root
		}
		if err := write(filepath.Join(to, "cgroup.procs"), strconv.Itoa(pid)); err != nil && processExists(pid) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(g.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("cpulimit: %w", err))
	}
	return errors.Join(errs...)
}

// controller is where the cpu controller is mounted.
type controller struct {
	root string
	v2   bool
}

// findController reads /proc/self/mountinfo for a cgroup v1 hierarchy with
// the cpu controller, or a cgroup v2 hierarchy that has it (enabling it for
// the root's children when it is not yet).
func findController() (controller, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return controller{}, fmt.Errorf("cpulimit: %w", err)
	}
	defer f.Close()
	var v2 []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		a, b := strings.Fields(pre), strings.Fields(post)
		if !ok || len(a) < 5 || len(b) < 3 || a[3] != "/" {
			continue
		}
		switch b[0] {
		case "cgroup":
			if slices.Contains(strings.Split(b[2], ","), "cpu") {
				return controller{root: a[4]}, nil
			}
		case "cgroup2":
			v2 = append(v2, a[4])
		}
	}
	for _, root := range v2 {
		b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		if err != nil || !slices.Contains(strings.Fields(string(b)), "cpu") {
			continue
		}
		sub, _ := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
		if !slices.Contains(strings.Fields(string(sub)), "cpu") {
			if err := write(filepath.Join(root, "cgroup.subtree_control"), "+cpu"); err != nil {
				return controller{}, fmt.Errorf("%w: %v", ErrNoController, err)
			}
		}
		return controller{root: root, v2: true}, nil
	}
	return controller{}, ErrNoController
}

// cgroupOf returns the directory of pid's cgroup in m's hierarchy, from
// /proc/PID/cgroup (v2: the "0::" line; v1: the line that lists cpu).
func cgroupOf(pid int, m controller) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", fmt.Errorf("cpulimit: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if (m.v2 && parts[0] == "0" && parts[1] == "") || (!m.v2 && slices.Contains(strings.Split(parts[1], ","), "cpu")) {
			return filepath.Join(m.root, parts[2]), nil
		}
	}
	return "", fmt.Errorf("cpulimit: /proc/%d/cgroup names no cpu cgroup", pid)
}

// members lists the processes in the cgroup at dir.
func members(dir string) []int {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

func processExists(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

func write(path, v string) error {
	if err := os.WriteFile(path, []byte(v), 0); err != nil {
		return fmt.Errorf("cpulimit: writing %q to %s: %w", v, path, err)
	}
	return nil
}
