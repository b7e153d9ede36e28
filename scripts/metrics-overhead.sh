#!/usr/bin/env bash
# metrics-overhead.sh: keep-alive CPU per request of ringhttpd with --metrics
# on (scraped every second over one keep-alive connection) against off,
# alternating, in one run.
#
#   scripts/metrics-overhead.sh [ROUNDS=3] [SECONDS=5] [BASE_BIN]
#
# The server runs on CPU 0 (one worker), wrk on CPU 1 (-t1 -c50, a 1000-byte
# cached file). CPU is the run time of the server's threads over the wrk run,
# in nanoseconds from /proc/PID/task/*/schedstat (io-wq workers are threads
# of the process; /proc/PID/stat's clock ticks are too coarse for a 2 %
# question); CPU/request is that over wrk's request count. BASE_BIN, when given, is a third variant (e.g. a build
# from before the counters) run the same way, without --metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-5}
base=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/ringhttpd" ./cmd/ringhttpd
mkdir -p "$work/www"
head -c 1000 /dev/zero | tr '\0' a >"$work/www/a.txt"
# cpu_ns PID: run time of every thread of PID, ns.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s }'; }

# free_port: a loopback port nobody listens on now.
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 22000)) # below the ephemeral range
		[ -z "$(ss -Htln "sport = :$p")" ] && echo "$p" && return
	done
}

# run NAME BIN [extra flags...]: prints "NAME requests cpu_s us_per_req"
run() {
	local name=$1 bin=$2
	shift 2
	local port
	port=$(free_port)
	taskset -c 0 "$bin" serve --root "$work/www" --listen "127.0.0.1:$port" --workers 1 "$@" \
		2>"$work/$name.log" &
	local pid=$!
	local up=
	for _ in $(seq 400); do
		curl -s -o /dev/null "http://127.0.0.1:$port/a.txt" && up=1 && break
		sleep 0.05
	done
	if [ -z "$up" ]; then
		echo "$name: server did not start:" >&2
		cat "$work/$name.log" >&2
		kill "$pid" 2>/dev/null
		return 1
	fi
	local scraper=
	if [[ " $* " == *" --metrics "* ]]; then
		# One keep-alive connection scraped every second, as Prometheus
		# does (at its default 15 s interval the cost is 15 times less).
		local urls=()
		for _ in $((1)) $(seq $((secs + 10))); do
			urls+=(-o /dev/null "http://127.0.0.1:${METRICS_PORT}/metrics")
		done
		curl -s --rate 1/s "${urls[@]}" &
		scraper=$!
	fi
	taskset -c 1 wrk -t1 -c50 -d1s "http://127.0.0.1:$port/a.txt" >/dev/null # warm-up
	local t0 t1
	t0=$(cpu_ns "$pid")
	taskset -c 1 wrk -t1 -c50 -d"${secs}s" "http://127.0.0.1:$port/a.txt" >"$work/wrk.out"
	t1=$(cpu_ns "$pid")
	[ -n "$scraper" ] && kill "$scraper" 2>/dev/null
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	local reqs
	reqs=$(awk '/requests in/ { print $1 }' "$work/wrk.out")
	awk -v n="$name" -v r="$reqs" -v t=$((t1 - t0)) \
		'BEGIN { printf "%-8s %9d req  %6.2f s CPU  %7.3f us/req\n", n, r, t / 1e9, t / 1e3 / r }'
}

for i in $(seq "$rounds"); do
	echo "round $i"
	run off "$work/ringhttpd"
	METRICS_PORT=$(free_port)
	run on "$work/ringhttpd" --metrics "127.0.0.1:$METRICS_PORT"
	if [ -n "$base" ]; then
		run base "$base"
	fi
done | tee "$work/results"
awk '/us\/req/ { s[$1] += $7; n[$1]++ } END {
	for (k in s) printf "mean %-6s %.3f us/req\n", k, s[k] / n[k]
	if (n["off"] && n["on"]) printf "on/off = %.4f\n", (s["on"] / n["on"]) / (s["off"] / n["off"])
	if (n["off"] && n["base"]) printf "off/base = %.4f\n", (s["off"] / n["off"]) / (s["base"] / n["base"])
}' "$work/results"
