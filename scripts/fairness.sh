#!/usr/bin/env bash
# fairness.sh: does a small-file client keep being served while large
# downloads fill the same worker? For each engine and transport it runs
#
#   - 4 HTTP/2 connections pulling a 64 MiB file for 8 s (h2load -c 4 -m 1),
#   - and, from the second second, 1 connection asking for a 3.5 KB file
#     for 5 s (h2load -c 1 -m 1),
#
# against one ringhttpd worker on CPU 0, the clients on CPU 1, and prints
# the downloads' throughput and the small client's answers per second and
# request times (min, max, mean).
#
#   scripts/fairness.sh [ENGINES=epoll,uring] [TRANSPORTS=h2c,h2] [BIN]
#
# BIN is a ringhttpd binary to test (default: built from this tree). Needs
# h2load (Debian's nghttp2-client) and openssl. Loopback only; every client
# is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
engines=${1:-epoll,uring}
transports=${2:-h2c,h2}
bin=${3:-}
for tool in h2load openssl taskset; do
	command -v "$tool" >/dev/null || {
		echo "fairness: $tool not found (apt-get install -y nghttp2-client openssl util-linux)" >&2
		exit 1
	}
done
work=$(mktemp -d)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
if [ -z "$bin" ]; then
	go build -o "$work/ringhttpd" ./cmd/ringhttpd
	bin=$work/ringhttpd
fi
mkdir -p "$work/www"
head -c $((64 << 20)) /dev/urandom >"$work/www/big.bin"
head -c 3574 /dev/urandom >"$work/www/small.bin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost 2>/dev/null

# free_port: a loopback port nobody listens on now (below the ephemeral range).
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 22000))
		[ -z "$(ss -Htln "sport = :$p")" ] && echo "$p" && return
	done
}

# summary FILE: "N req/s, time for request min max mean" from h2load's report.
summary() {
	local rps times
	rps=$(sed -n 's/.*finished in [0-9.]*s, \([0-9.]*\) req\/s.*/\1/p' "$1")
	times=$(awk '/^time for request:/ { print "min " $4 ", max " $5 ", mean " $6 }' "$1")
	echo "${rps:-?} req/s, request time $times"
}

for engine in ${engines//,/ }; do
	for tr in ${transports//,/ }; do
		port=$(free_port)
		args=(--root "$work/www" --backend "$engine" --workers 1 --log-level error)
		if [ "$tr" = h2 ]; then
			args+=(--listen 127.0.0.1:0 --tls-listen "127.0.0.1:$port" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
			url=https://127.0.0.1:$port
		else
			args+=(--listen "127.0.0.1:$port" --h2c)
			url=http://127.0.0.1:$port
		fi
		taskset -c 0 "$bin" "${args[@]}" >"$work/server.log" 2>&1 &
		server=$!
		for _ in $(seq 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
			sleep 0.1
		done
		taskset -c 1 timeout 30 h2load -c 4 -m 1 -D 8 "$url/big.bin" >"$work/big.txt" 2>&1 &
		big=$!
		sleep 1
		taskset -c 1 timeout 30 h2load -c 1 -m 1 -D 5 "$url/small.bin" >"$work/small.txt" 2>&1 || true
		wait "$big" || true
		kill "$server" 2>/dev/null
		wait "$server" 2>/dev/null || true
		server=
		big_rate=$(sed -n 's/.*finished in [0-9.]*s, [0-9.]* req\/s, \([0-9.]*[KMG]*B\/s\).*/\1/p' "$work/big.txt")
		printf '%-6s %-4s downloads %s; small client %s\n' "$engine" "$tr" "${big_rate:-?}" "$(summary "$work/small.txt")"
	done
done
