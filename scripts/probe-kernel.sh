#!/usr/bin/env bash
# probe-kernel.sh: what this kernel, its sysctls and this container allow ringhttpd to do.
#
# Run it on the machine (or in the container) you are about to deploy to:
#
#   scripts/probe-kernel.sh            readable report
#   scripts/probe-kernel.sh --json     the binary's JSON report (needs the binary or Go)
#
# It prefers the real thing: `ringhttpd probe`, which calls io_uring_setup and
# IORING_REGISTER_PROBE and so sees exactly what the kernel and any seccomp profile
# allow. It uses, in order: $RINGHTTPD (a path to the binary), ./ringhttpd, a
# ringhttpd on PATH, or `go run ./cmd/ringhttpd` from a checkout. Without any of
# them it falls back to plain /proc and /sys checks, which can tell that io_uring
# is off but not every opcode.
#
# Exit status: 0 io_uring usable (the uring engine will run); 1 io_uring unusable
# (ringhttpd will fall back to its epoll engine: the report says what to change);
# 2 the probe itself failed.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
want_json=0
for a in "$@"; do
	case "$a" in
	--json) want_json=1 ;;
	-h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "probe-kernel.sh: unknown argument: $a (try --help)" >&2; exit 2 ;;
	esac
done

run_binary() {
	local args=(probe)
	[ "$want_json" = 1 ] && args+=(--json)
	if [ -n "${RINGHTTPD:-}" ] && [ -x "$RINGHTTPD" ]; then
		"$RINGHTTPD" "${args[@]}"; return $?
	fi
	if [ -x "$here/ringhttpd" ]; then
		"$here/ringhttpd" "${args[@]}"; return $?
	fi
	if command -v ringhttpd >/dev/null 2>&1; then
		ringhttpd "${args[@]}"; return $?
	fi
	if command -v go >/dev/null 2>&1 && [ -f "$here/go.mod" ]; then
		(cd "$here" && go run ./cmd/ringhttpd "${args[@]}"); return $?
	fi
	return 127
}

run_binary
rc=$?
case $rc in
0 | 1) exit $rc ;;
127) ;; # no binary and no Go: fall through to the plain checks
*) echo "probe-kernel.sh: ringhttpd probe failed (exit $rc); falling back to /proc checks" >&2 ;;
esac

if [ "$want_json" = 1 ]; then
	echo "probe-kernel.sh: --json needs the ringhttpd binary or Go" >&2
	exit 2
fi

# Plain checks: what can be read without calling io_uring_setup.
usable=1
advice=()
rel=$(uname -r)
maj=${rel%%.*}; rest=${rel#*.}; min=${rest%%[!0-9]*}
ver=$((maj * 100 + min))
printf '%-28s %s\n' "kernel" "$rel"
if [ "$ver" -lt 506 ]; then
	usable=0
	advice+=("kernel $rel is older than 5.6: io_uring lacks accept/send/recv there; upgrade to 6.1 or later (5.19+ for multishot recv and buffer rings)")
elif [ "$ver" -lt 519 ]; then
	advice+=("kernel $rel predates 5.19: no multishot accept/recv or buffer rings; the uring engine runs degraded; 6.1+ recommended")
elif [ "$ver" -lt 601 ]; then
	advice+=("kernel $rel predates 6.1: no DEFER_TASKRUN; 6.1+ recommended")
fi

dis=/proc/sys/kernel/io_uring_disabled
if [ -r "$dis" ]; then
	v=$(cat "$dis")
	case "$v" in
	0) printf '%-28s %s\n' "kernel.io_uring_disabled" "0 (allowed for all)" ;;
	1)
		grp=$(cat /proc/sys/kernel/io_uring_group 2>/dev/null || echo -1)
		printf '%-28s %s\n' "kernel.io_uring_disabled" "1 (only root or group $grp)"
		if [ "$(id -u)" != 0 ] && ! id -G | tr ' ' '\n' | grep -qx -- "$grp"; then
			usable=0
			advice+=("io_uring is limited to root and group $grp: run ringhttpd in that group, or set sysctl kernel.io_uring_disabled=0")
		fi
		;;
	2)
		printf '%-28s %s\n' "kernel.io_uring_disabled" "2 (disabled for everyone)"
		usable=0
		advice+=("io_uring is disabled by sysctl: set kernel.io_uring_disabled=0 (or 1 plus kernel.io_uring_group)")
		;;
	esac
else
	printf '%-28s %s\n' "kernel.io_uring_disabled" "(no such sysctl: kernel before 6.6)"
fi

sec=$(awk '/^Seccomp:/ {print $2}' /proc/self/status 2>/dev/null)
case "${sec:-}" in
0) printf '%-28s %s\n' "seccomp" "off" ;;
1) printf '%-28s %s\n' "seccomp" "strict"; usable=0; advice+=("seccomp strict mode forbids io_uring") ;;
2)
	printf '%-28s %s\n' "seccomp" "filter (a container profile?)"
	advice+=("a seccomp filter is active: Docker's default profile blocks io_uring_setup since 25.0 (EPERM); allow io_uring_setup, io_uring_enter and io_uring_register in the profile, or let ringhttpd use epoll")
	;;
*) printf '%-28s %s\n' "seccomp" "unknown" ;;
esac

if [ -e /.dockerenv ] || grep -qE 'docker|containerd|kubepods|lxc' /proc/1/cgroup 2>/dev/null; then
	printf '%-28s %s\n' "container" "yes"
else
	printf '%-28s %s\n' "container" "not detected"
fi
printf '%-28s %s\n' "RLIMIT_MEMLOCK" "$(ulimit -l) KiB"
if [ "$ver" -lt 512 ] && [ "$(ulimit -l)" != unlimited ] && [ "$(ulimit -l)" -lt 1024 ]; then
	advice+=("kernels before 5.12 charge rings to RLIMIT_MEMLOCK: raise it (ulimit -l or LimitMEMLOCK=) to at least 1 MiB per worker")
fi
n=$(ulimit -n)
printf '%-28s %s\n' "RLIMIT_NOFILE" "$n"
if [ "$n" != unlimited ] && [ "$n" -lt 4096 ]; then
	advice+=("RLIMIT_NOFILE is $n: each connection takes a descriptor; raise it (ulimit -n / LimitNOFILE=) for production")
fi
echo "note: without the ringhttpd binary the opcodes and setup flags cannot be tested; build it for the full report"
if [ "$usable" = 1 ]; then
	echo "verdict: io_uring looks usable: --backend auto will try the uring engine"
else
	echo "verdict: io_uring is unusable here: --backend auto will use epoll"
fi
for a in "${advice[@]}"; do echo "advice: $a"; done
[ "$usable" = 1 ] && exit 0 || exit 1
