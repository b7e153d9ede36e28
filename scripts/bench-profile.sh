#!/usr/bin/env bash
# bench-profile.sh: where a server's CPU goes on one of the benchmark's
# HTTPS/HTTP/2 workloads. Starts the server as scripts/bench.sh does (pinned
# to the server CPUs, same flags, certificate and document root), drives the
# workload with h2load from the client CPUs, and records `perf record -g` of
# the server's process during the measured phase; prints the top functions
# (self, then inclusive) and leaves perf.data for `perf report -i`.
#
#   scripts/bench-profile.sh WORKLOAD [SERVER]
#     WORKLOAD: tls-ka50 | tls-f1m | h2-ka | h2c-ka | h2-f1m | h2c-f1m
#     SERVER:   ringhttpd-uring (default) | ringhttpd-epoll | nginx | h2o
#   PROFILE_SECONDS (default 5)  measured seconds (after a 2 s warm-up)
#   PROFILE_OUT (default /tmp/ringhttpd-profile) perf.data and reports
#   PROFILE_FREQ (default 999) samples per second
#   PROFILE_BIN  a ringhttpd binary to profile instead of the benchmark's
#                build (an experiment's), with the same flags
#
# Needs a prior `scripts/bench.sh` in the same BENCH_WORK (binaries, configs,
# certificate, document root); BENCH_PORT_BASE as for that run. Go code is
# profiled with its frame pointers (perf -g); nginx and h2o as far as their
# symbols go.
set -euo pipefail
W=${1:?usage: bench-profile.sh WORKLOAD [SERVER]}
S=${2:-ringhttpd-uring}
WORK=${BENCH_WORK:-/tmp/ringhttpd-bench}
SECS=${PROFILE_SECONDS:-5}
OUT=${PROFILE_OUT:-/tmp/ringhttpd-profile}
SERVER_CPUS=${BENCH_SERVER_CPUS:-0}
CLIENT_CPUS=${BENCH_CLIENT_CPUS:-1}
PATH=$PATH:/usr/sbin
[ -f "$WORK/servers.tsv" ] || { echo "bench-profile: no $WORK/servers.tsv: run scripts/bench.sh first" >&2; exit 1; }
line=$(awk -F'\t' -v s="$S" '$1 == s' "$WORK/servers.tsv")
[ -n "$line" ] || { echo "bench-profile: no server $S in $WORK/servers.tsv" >&2; exit 1; }
ports=$(cut -f2 <<<"$line")
cmd=$(cut -f4 <<<"$line")
if [ -n "${PROFILE_BIN:-}" ]; then
	case $S in
	ringhttpd-*) cmd=${cmd/"$WORK/bin/ringhttpd"/$PROFILE_BIN} ;;
	*) echo "bench-profile: PROFILE_BIN applies to ringhttpd only" >&2; exit 2 ;;
	esac
fi
tls=$(sed -n 's/.*tls=\([0-9]*\).*/\1/p' <<<"$ports")
h2c=$(sed -n 's/.*h2c=\([0-9]*\).*/\1/p' <<<"$ports")
case $W in
tls-ka50) url=https://127.0.0.1:$tls/3574.html args=(--h1 -c 50 -m 1) ;;
tls-f1m) url=https://127.0.0.1:$tls/1m.bin args=(--h1 -c 20 -m 1) ;;
h2-ka) url=https://127.0.0.1:$tls/3574.html args=(-c 50 -m 10) ;;
h2c-ka) url=http://127.0.0.1:$h2c/3574.html args=(-c 50 -m 10) ;;
h2-f1m) url=https://127.0.0.1:$tls/1m.bin args=(-c 20 -m 1) ;;
h2c-f1m) url=http://127.0.0.1:$h2c/1m.bin args=(-c 20 -m 1) ;;
*) echo "bench-profile: unknown workload $W" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
data=$OUT/$W-$S.perf.data
log=$OUT/$W-$S.server.log
# shellcheck disable=SC2086
setsid taskset -c "$SERVER_CPUS" $cmd >"$log" 2>&1 &
pid=$!
trap 'kill -TERM -- -$pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/${tls:-$h2c}") 2>/dev/null; then break; fi
	sleep 0.1
done
OPENSSL_CONF=$WORK/conf/client-openssl.cnf taskset -c "$CLIENT_CPUS" \
	h2load "${args[@]}" --warm-up-time 2 -D "$SECS" "$url" >"$OUT/$W-$S.h2load.txt" 2>&1 &
load=$!
sleep 2.2
# Every process of the server (nginx forks its worker).
pids=$(pgrep -g "$pid" -d, || echo "$pid")
perf record -q -e cpu-clock -F "${PROFILE_FREQ:-999}" -g -p "$pids" -o "$data" -- sleep "$SECS" 2>/dev/null
wait "$load" || true
grep -E '^finished|^requests:' "$OUT/$W-$S.h2load.txt"
echo "== $S $W: self (top 25)"
perf report -i "$data" --no-children --sort symbol --percent-limit 0.8 --stdio 2>/dev/null |
	grep -E '^ +[0-9.]+%' | head -n 25 | tee "$OUT/$W-$S.self.txt"
echo "== $S $W: inclusive (top 40)"
perf report -i "$data" --children --sort symbol --percent-limit 3 --stdio -g none 2>/dev/null |
	grep -E '^ +[0-9.]+%' | head -n 40 | tee "$OUT/$W-$S.children.txt"
