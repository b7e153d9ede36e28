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
# Then, per engine, `ringhttpd serve` runs as the user while wrk keeps CONNS
# connections fetching a 4 MiB file (spliced: larger than the cache) for SECS
# seconds, and curl fetches it DOWNLOADS times, PARALLEL at once, every copy
# compared byte for byte. With that many transfers in flight the uring
# engine's 1 MiB splice pipes pass fs.pipe-user-pages-soft (16384 pages, 64
# such pipes): later pipes keep the kernel's minimum size and F_SETPIPE_SZ
# fails. While it runs, /usr/bin/python3 (when present) tries F_SETPIPE_SZ as
# the user every 0.2 s; the line says whether one got EPERM, i.e. whether the
# limit was reached.
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
#   SERVE=0       skip the serve check; CONNS [256], SECS [8], DOWNLOADS [40],
#                 PARALLEL [10]
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

# shellcheck source=ci-lib.sh
. scripts/ci-lib.sh
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
go build -o "$dir/ringhttpd" ./cmd/ringhttpd || die "go build ./cmd/ringhttpd failed"
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
who=$(if [ ${#as[@]} -gt 0 ]; then echo "$USER_NAME"; else id -un; fi)
echo "unpriv-tests: $npass passed, $nfail failed, $nskip skipped (subtests included in skipped) as $who in $el s (rc=$rc)"
if [ "$rc" -eq 0 ] && [ "$npass" -eq 0 ]; then
	echo "unpriv-tests: no test passed"
	rc=1
fi

# listen_addr LOG: the first address a server listening on port 0 logged
# (empty until it has).
listen_addr() {
	sed -n 's/.*ringhttpd serving.* listen=\[\([^] ,]*\).*/\1/p' "$1" | head -n 1
}

# serve_check ENGINE: prints one line; status 1 when a copy differs, wrk
# saw an error, or the server does not start or stop cleanly.
serve_check() {
	local engine=$1 addr= port pid n=${DOWNLOADS:-40} bad i t0 src spid= wpid= hit= w=
	src=$dir/www/big
	rm -rf "$dir/out"
	mkdir -p "$dir/out"
	# Port 0: the kernel picks a free one (a random port could be one of
	# the many client ports wrk and curl leave behind); the log names it.
	"${lim[@]}" "${as[@]}" env -i PATH=/usr/bin:/bin HOME="$dir/tmp" TMPDIR="$dir/tmp" \
		"$dir/ringhttpd" serve --root "$dir/www" --listen "127.0.0.1:0" --backend "$engine" --workers 2 \
		>"$dir/serve-$engine.log" 2>&1 &
	pid=$!
	for i in $(seq 50); do
		addr=$(listen_addr "$dir/serve-$engine.log")
		[ -n "$addr" ] && curl -s -o /dev/null "http://$addr/" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	port=${addr##*:}
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "serve $engine: FAIL: did not start: $(tail -n 2 "$dir/serve-$engine.log")"
		return 1
	fi
	if [ -z "$port" ]; then
		echo "serve $engine: FAIL: no listen address in its log: $(tail -n 2 "$dir/serve-$engine.log")"
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	t0=$SECONDS
	rm -f "$dir/pipe-samples"
	if [ -x /usr/bin/python3 ]; then
		# F_SETPIPE_SZ is 1031; EPERM (1) once the user is over the soft limit.
		while :; do
			"${as[@]}" /usr/bin/python3 -c 'import fcntl, os
r, w = os.pipe()
try:
    fcntl.fcntl(w, 1031, 1 << 20); print(0)
except OSError as e:
    print(e.errno)' >>"$dir/pipe-samples" 2>/dev/null
			sleep 0.2
		done &
		spid=$!
	fi
	if command -v wrk >/dev/null; then
		wrk -t 2 -c "${CONNS:-256}" -d "${SECS:-8}s" --timeout 20s "http://127.0.0.1:$port/big" >"$dir/wrk-$engine.out" 2>&1 &
		wpid=$!
		sleep 1
	fi
	seq "$n" | xargs -P "${PARALLEL:-10}" -I{} curl -s --max-time 60 -o "$dir/out/{}" "http://127.0.0.1:$port/big"
	if [ -n "$wpid" ]; then
		wait "$wpid"
		w="; wrk ${CONNS:-256} connections: $(grep -o '[0-9]* requests in [0-9.]*s' "$dir/wrk-$engine.out")"
		if grep -qE 'Socket errors|Non-2xx' "$dir/wrk-$engine.out"; then
			echo "serve $engine: FAIL: wrk: $(grep -E 'Socket errors|Non-2xx' "$dir/wrk-$engine.out" | tr '\n' ' ')"
			bad=wrk
		fi
	fi
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		hit="; pipe soft limit reached: $(grep -qx 1 "$dir/pipe-samples" && echo yes || echo no) ($(grep -cx 1 "$dir/pipe-samples") of $(wc -l <"$dir/pipe-samples") F_SETPIPE_SZ probes as the user got EPERM)"
	fi
	[ "${bad:-}" = wrk ] && { kill -TERM "$pid"; wait "$pid"; return 1; }
	bad=0
	for i in $(seq "$n"); do
		cmp -s "$src" "$dir/out/$i" || bad=$((bad + 1))
	done
	kill -TERM "$pid"
	if ! wait "$pid"; then
		echo "serve $engine: FAIL: exit status $? after SIGTERM: $(tail -n 2 "$dir/serve-$engine.log")"
		return 1
	fi
	if [ "$bad" -ne 0 ]; then
		echo "serve $engine: FAIL: $bad of $n curl copies of a 4 MiB file differ$w$hit"
		return 1
	fi
	echo "serve $engine: $n curl copies of a 4 MiB file identical$w$hit; $((SECONDS - t0)) s"
}

if [ "${SERVE:-1}" = 1 ]; then
	ci_apt wrk || echo "serve check: no wrk: the pipe limit will likely not be reached"
	if ! ci_apt curl; then
		echo "serve check skipped: no curl"
	else
		echo
		mkdir -p "$dir/www"
		head -c $((4 << 20)) /dev/urandom >"$dir/www/big"
		echo ok >"$dir/www/index.html"
		chmod -R a+rX "$dir/www"
		serve_check epoll || rc=1
		# --backend auto under a memlock limit too small for the workers'
		# rings: it must serve, on epoll, and say why (not exit 2).
		if [ ${#as[@]} -gt 0 ]; then
			prlimit --memlock=$((64 * 1024)) "${as[@]}" "$dir/ringhttpd" serve --root "$dir/www" \
				--listen 127.0.0.1:0 --workers 2 >"$dir/serve-auto.log" 2>&1 &
			apid=$!
			aaddr=
			for _ in $(seq 50); do
				aaddr=$(listen_addr "$dir/serve-auto.log")
				[ -n "$aaddr" ] && break
				sleep 0.1
			done
			if [ -n "$aaddr" ] && curl -s --max-time 5 "http://$aaddr/index.html" | grep -qx ok &&
				grep -q 'backend=epoll' "$dir/serve-auto.log"; then
				echo "serve auto, RLIMIT_MEMLOCK 64 KiB: serves on epoll ($(grep -o 'reason="[^"]*"' "$dir/serve-auto.log" | head -n 1))"
			else
				echo "serve auto, RLIMIT_MEMLOCK 64 KiB: FAIL: $(tail -n 3 "$dir/serve-auto.log")"
				rc=1
			fi
			kill -TERM "$apid" 2>/dev/null
			wait "$apid" 2>/dev/null
		fi
		if "${lim[@]}" "${as[@]}" "$dir/ringhttpd" probe >/dev/null 2>&1; then
			serve_check uring || rc=1
		else
			echo "serve uring: skipped: ringhttpd probe as $who says io_uring is unusable"
		fi
	fi
fi
exit "$rc"
