#!/usr/bin/env bash
# unpriv-tests.sh: run the server's end-to-end and fault tests (both engines)
# as an unprivileged user, where the limits that root is exempt from bind:
#   - pipes (no CAP_SYS_RESOURCE): F_SETPIPE_SZ above fs.pipe-max-size fails,
#     and once the user's pipes hold fs.pipe-user-pages-soft pages, new pipes
#     get a single page (the uring engine splices files through a pipe per
#     connection, enlarged to 1 MiB);
#   - RLIMIT_MEMLOCK (no CAP_IPC_LOCK): io_uring charges its rings (before
#     5.12) and registered buffers to it;
#   - RLIMIT_NOFILE: the hard limit cannot be raised.
# It prints the limits in force, each top-level test's result and every
# skipped test with its reason, and exits non-zero when a test fails (or
# when nothing could run).
#
# As root it creates the user when missing (a system user without a login
# shell or home), builds the test binary, and runs it in a scratch directory
# with setpriv (no capabilities, no supplementary groups). Run by any other
# user it runs the tests as that user.
#
# Environment (all optional):
#   UNPRIV_USER   the user                                  [ringhttpd-ci]
#   RUN           -test.run pattern                         [E2E|Fault]
#   MEMLOCK       RLIMIT_MEMLOCK in KiB for the run (soft and hard), e.g. 64,
#                 the old distribution default        [the inherited limit]
#   RACE=1        build with -race                          [0: root's unit
#                 step already runs these tests under -race]
#   TIMEOUT       -test.timeout                             [10m]
#   KEEP=1        keep the scratch directory (binary and -test.v log)
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

USER_NAME=${UNPRIV_USER:-ringhttpd-ci}
RUN=${RUN:-E2E|Fault}
TIMEOUT=${TIMEOUT:-10m}

die() { echo "unpriv-tests: $*" >&2; exit 2; }

dir=$(mktemp -d /tmp/unpriv-tests.XXXXXX) || die "mktemp failed"
chmod 755 "$dir"
cleanup() { [ "${KEEP:-0}" = 1 ] && echo "kept $dir" || rm -rf "$dir"; }
trap cleanup EXIT

flags=()
[ "${RACE:-0}" = 1 ] && flags+=(-race)
echo "building the server test binary (${flags[*]:-no -race}) ..."
go test "${flags[@]}" -c -o "$dir/server.test" ./server/ || die "go test -c ./server/ failed"
[ -x "$dir/server.test" ] || die "no test binary (no tests in ./server/?)"
[ -d server/testdata ] && cp -a server/testdata "$dir/"
mkdir -p "$dir/tmp"

as=()
if [ "$(id -u)" = 0 ]; then
	if ! id -u "$USER_NAME" >/dev/null 2>&1; then
		echo "creating user $USER_NAME"
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$USER_NAME" ||
			die "useradd $USER_NAME failed"
	fi
	uid=$(id -u "$USER_NAME") gid=$(id -g "$USER_NAME")
	[ "$uid" != 0 ] || die "$USER_NAME has uid 0"
	chown -R "$uid:$gid" "$dir/tmp"
	# setpriv: the real and effective ids change, so the kernel drops every
	# capability; --inh-caps and --bounding-set make sure none come back.
	as=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs)
fi
lim=()
[ -n "${MEMLOCK:-}" ] && lim=(prlimit --memlock="$((MEMLOCK * 1024))")

# What the run is subject to, seen from inside it.
# shellcheck disable=SC2016 # expanded by the inner shell
"${lim[@]}" "${as[@]}" env -i PATH=/usr/bin:/bin sh -c '
	printf "running as %s; RLIMIT_MEMLOCK %s KiB, RLIMIT_NOFILE %s/%s; capabilities %s\n" \
		"$(id)" "$(ulimit -l)" "$(ulimit -Sn)" "$(ulimit -Hn)" "$(grep ^CapEff /proc/self/status | cut -f2)"'
printf 'fs.pipe-max-size %s, fs.pipe-user-pages-soft %s, fs.pipe-user-pages-hard %s, kernel.io_uring_disabled %s, kernel %s\n' \
	"$(cat /proc/sys/fs/pipe-max-size)" "$(cat /proc/sys/fs/pipe-user-pages-soft)" "$(cat /proc/sys/fs/pipe-user-pages-hard)" \
	"$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo absent)" "$(uname -r)"

log=$dir/test.log
t0=$SECONDS
(
	cd "$dir" || exit 2
	"${lim[@]}" "${as[@]}" env -i PATH=/usr/bin:/bin HOME="$dir/tmp" TMPDIR="$dir/tmp" LANG=C \
		./server.test -test.v -test.count=1 -test.timeout="$TIMEOUT" -test.run="$RUN"
) >"$log" 2>&1
rc=$?
el=$((SECONDS - t0))

# Results: top-level tests, then every skip (subtests too) with the last log
# line before it, which is where t.Skip's reason lands under -test.v.
echo
awk '/^--- (PASS|FAIL|SKIP): / { printf "%-5s %s %s\n", $2, $3, $4 }' "$log" | tr -d ':'
awk '/^=== (RUN|NAME|CONT) / { tn = $3 }
	/^ +[^ =-]/ { l = $0; sub(/^ +/, "", l); last[tn] = l }
	/^ *--- SKIP: / { printf "skip %s: %s\n", $3, last[$3] }' "$log"
npass=$(grep -c '^--- PASS' "$log")
nfail=$(grep -c '^--- FAIL' "$log")
nskip=$(grep -c -- '--- SKIP' "$log")
if [ "$rc" -ne 0 ]; then
	echo
	echo "---- failing output (last 80 lines):"
	tail -n 80 "$log"
fi
echo "unpriv-tests: $npass passed, $nfail failed, $nskip skipped (subtests included in skipped) as $(if [ ${#as[@]} -gt 0 ]; then echo "$USER_NAME"; else id -un; fi) in $el s (rc=$rc)"
if [ "$rc" -eq 0 ] && [ "$npass" -eq 0 ]; then
	echo "unpriv-tests: no test passed"
	exit 1
fi
exit "$rc"
