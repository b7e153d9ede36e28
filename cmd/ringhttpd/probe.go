package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/server"
	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// probeReport is the whole answer of `ringhttpd probe`.
type probeReport struct {
	Kernel          string              `json:"kernel"`
	IOUringDisabled string              `json:"io_uring_disabled"`
	IOUringGroup    string              `json:"io_uring_group"`
	Seccomp         string              `json:"seccomp"`
	MemlockKiB      string              `json:"rlimit_memlock_kib"`
	NoFile          string              `json:"rlimit_nofile"`
	Uring           server.UringReport  `json:"io_uring"`
	KernelTLS       tlsrec.KernelReport `json:"kernel_tls"`
	TLSRecordLayer  string              `json:"tls_record_layer"`
	UserspaceGCM    string              `json:"userspace_aes_gcm"`
	Backend         string              `json:"auto_backend"`
	BackendWhy      string              `json:"auto_backend_why"`
	Advice          []string            `json:"advice,omitempty"`
}

func probeCommand() *cli.Command {
	return &cli.Command{
		Name:  "probe",
		Usage: "report what this kernel, its sysctls and this container allow (io_uring ops, setup flags, limits) and which engine --backend auto picks",
		Description: "probe creates short-lived io_uring instances and sockets to test each feature for real.\n" +
			"Exit status: 0 when the io_uring engine can run, 1 when ringhttpd would fall back to epoll.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Action: func(ctx *cli.Context) error {
			r := collectProbe()
			out := ctx.App.Writer
			if ctx.Bool("json") {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else {
				writeProbe(out, &r)
			}
			if !r.Uring.Usable {
				return cli.Exit("", 1)
			}
			return nil
		},
	}
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func collectProbe() probeReport {
	var r probeReport
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		r.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	r.IOUringDisabled = readTrim("/proc/sys/kernel/io_uring_disabled")
	if r.IOUringDisabled == "" {
		r.IOUringDisabled = "absent (kernel before 6.6)"
	}
	r.IOUringGroup = readTrim("/proc/sys/kernel/io_uring_group")
	r.Seccomp = "unknown"
	if st, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range bytes.Split(st, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("Seccomp:")); ok {
				switch strings.TrimSpace(string(v)) {
				case "0":
					r.Seccomp = "off"
				case "1":
					r.Seccomp = "strict"
				case "2":
					r.Seccomp = "filter"
				}
			}
		}
	}
	lim := func(res int, div uint64) string {
		var rl unix.Rlimit
		if unix.Getrlimit(res, &rl) != nil {
			return "unknown"
		}
		if rl.Cur == unix.RLIM_INFINITY {
			return "unlimited"
		}
		return strconv.FormatUint(rl.Cur/div, 10)
	}
	r.MemlockKiB = lim(unix.RLIMIT_MEMLOCK, 1024)
	r.NoFile = lim(unix.RLIMIT_NOFILE, 1)
	r.Uring = server.ProbeUring()
	if r.Uring.Usable {
		r.Backend, r.BackendWhy = "uring", "io_uring_setup works and the kernel has every op the engine needs"
		if err := server.CheckUringRings(runtime.NumCPU()); err != nil {
			// What serve's auto does when the workers' rings cannot be
			// made (an unprivileged user's RLIMIT_MEMLOCK).
			r.Backend, r.BackendWhy = "epoll", fmt.Sprintf("one worker per CPU cannot set up its ring: %v", err)
		}
	} else {
		r.Backend, r.BackendWhy = "epoll", r.Uring.Why
	}
	r.KernelTLS = tlsrec.ProbeKernel()
	r.TLSRecordLayer = "userspace (kernel TLS unavailable)"
	if r.KernelTLS.ULPError == "" && len(r.KernelTLS.Ciphers) > 0 {
		r.TLSRecordLayer = "kernel TLS for the versions and ciphers with TX yes above, userspace otherwise"
	}
	r.UserspaceGCM = tlsrec.UserspaceGCM()
	r.Advice = probeAdvice(&r)
	return r
}

// probeAdvice says what an operator could change.
func probeAdvice(r *probeReport) []string {
	var a []string
	if r.Uring.SetupError != "" {
		switch {
		case strings.Contains(r.Uring.SetupError, "EPERM") || strings.Contains(r.Uring.SetupError, "operation not permitted"):
			if r.IOUringDisabled == "2" {
				a = append(a, "io_uring is disabled by sysctl: set kernel.io_uring_disabled=0 (or 1 with kernel.io_uring_group)")
			} else if r.Seccomp == "filter" {
				a = append(a, "a seccomp filter (a container's default profile?) forbids io_uring: allow io_uring_setup, io_uring_enter and io_uring_register, or run with --backend epoll")
			} else {
				a = append(a, "io_uring_setup is not permitted: check kernel.io_uring_disabled / io_uring_group and any LSM or seccomp policy")
			}
		case strings.Contains(r.Uring.SetupError, "ENOSYS") || strings.Contains(r.Uring.SetupError, "not implemented"):
			a = append(a, "this kernel was built without io_uring (CONFIG_IO_URING): use a stock distribution kernel 6.1 or later")
		case strings.Contains(r.Uring.SetupError, "ENOMEM") || strings.Contains(r.Uring.SetupError, "cannot allocate"):
			a = append(a, "kernels before 5.12 charge rings to RLIMIT_MEMLOCK: raise it (ulimit -l, LimitMEMLOCK=)")
		}
	} else if !r.Uring.Usable {
		a = append(a, "upgrade to a 6.1+ kernel for the io_uring engine; epoll serves the same requests meanwhile")
	}
	for _, c := range r.Uring.Checks {
		if !c.OK && (c.Name == "multishot recv" || c.Name == "provided-buffer ring" || c.Name == "multishot accept") && r.Uring.Usable {
			a = append(a, "the uring engine runs without "+c.Name+" ("+c.Detail+"+): fewer syscalls on a newer kernel")
		}
	}
	if n, err := strconv.Atoi(r.NoFile); err == nil && n < 4096 {
		a = append(a, "RLIMIT_NOFILE is "+r.NoFile+": every connection takes a descriptor; raise it (ulimit -n, LimitNOFILE=)")
	}
	return a
}

func writeProbe(out io.Writer, r *probeReport) {
	row := func(k, v string) { fmt.Fprintf(out, "%-30s %s\n", k, v) }
	row("kernel", r.Kernel)
	row("kernel.io_uring_disabled", r.IOUringDisabled)
	if r.IOUringGroup != "" {
		row("kernel.io_uring_group", r.IOUringGroup)
	}
	row("seccomp", r.Seccomp)
	row("RLIMIT_MEMLOCK (KiB)", r.MemlockKiB)
	row("RLIMIT_NOFILE", r.NoFile)
	if r.Uring.SetupError != "" {
		row("io_uring_setup", "FAILED: "+r.Uring.SetupError)
	} else {
		row("io_uring_setup", "ok")
		row("setup flags in use", strings.Join(r.Uring.SetupFlags, "|"))
		row("features", strings.Join(r.Uring.Features, " "))
		fmt.Fprintln(out, "\ncapabilities:")
		for _, c := range r.Uring.Checks {
			fmt.Fprintf(out, "  %-28s %-4s %s\n", c.Name, yesNo(c.OK), c.Detail)
		}
		fmt.Fprintln(out, "\nio_uring ops ringhttpd uses:")
		for _, c := range r.Uring.Ops {
			fmt.Fprintf(out, "  %-28s %-4s %s\n", c.Name, yesNo(c.OK), c.Detail)
		}
	}
	if len(r.Uring.Masked) > 0 {
		row("\nmasked (RINGHTTPD_URING_MASK)", strings.Join(r.Uring.Masked, ","))
	}
	fmt.Fprintln(out)
	k := &r.KernelTLS
	row("tls in tcp_available_ulp", yesNo(k.ULPListed)+" ("+k.AvailableULP+")")
	if k.ULPError != "" {
		row("kernel TLS", "no: TCP_ULP tls: "+k.ULPError)
	}
	for _, c := range k.Ciphers {
		v := "TX " + yesNo(c.TX) + ", RX " + yesNo(c.RX)
		if c.Error != "" {
			v += " (" + c.Error + ")"
		}
		row("  kernel "+c.Name, v)
	}
	row("TLS record layer", r.TLSRecordLayer)
	row("userspace AES-GCM", r.UserspaceGCM)
	fmt.Fprintln(out)
	row("--backend auto picks", r.Backend+": "+r.BackendWhy)
	for _, a := range r.Advice {
		row("advice", a)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
