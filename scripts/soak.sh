#!/usr/bin/env bash
# soak.sh: ringhttpd's hostile-client and fault soak (issue 7), against both
# engines, bounded in time, ending with a summary table.
#
# Stages (STAGES, default "attack go"):
#   attack  slowhttptest (Debian package) with ATTACK_CONNS (5000) slowloris
#           and slow-read connections against the ringhttpd binary (header
#           and send timeouts 5 s) for ATTACK_SECS (30) each, while a probe
#           (curl) fetches a small file every 100 ms: probe max/p99 latency,
#           failed probes, attackers closed by the server, server fds/RSS
#           before, at peak and after.
#   go      the long forms of the Go soak/fault tests (RINGHTTPD_SOAK=long,
#           no -race): slow clients (3000 + 500), 10,000 oversized requests,
#           1,000,000 random-client requests with fd/RSS/goroutine/ring-op
#           baselines, fd exhaustion and SIGTERM under load against the
#           binary (RINGHTTPD_SOAK_BIN), files changing for 60 s.
#
# Environment: BACKENDS ("epoll uring"), ATTACK_CONNS, ATTACK_SECS, STAGES,
# OUT (work and log directory, default /tmp/ringhttpd-soak), GO_TIMEOUT
# (45m), REQUESTS (random-client requests, default 1000000).
#
# Needs root for apt-get when slowhttptest is missing; raises `ulimit -n` to
# 20000 (attackers and server each hold one descriptor per connection).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

BACKENDS=${BACKENDS:-"epoll uring"}
ATTACK_CONNS=${ATTACK_CONNS:-5000}
ATTACK_SECS=${ATTACK_SECS:-30}
STAGES=${STAGES:-"attack go"}
OUT=${OUT:-/tmp/ringhttpd-soak}
GO_TIMEOUT=${GO_TIMEOUT:-45m}
REQUESTS=${REQUESTS:-1000000}
mkdir -p "$OUT"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

need() { command -v "$1" >/dev/null 2>&1; }
if [[ " $STAGES " == *" attack "* ]] && ! need slowhttptest; then
	echo "installing slowhttptest ..."
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q slowhttptest curl util-linux >/dev/null
fi
for t in curl prlimit; do need $t || { echo "soak: $t missing" >&2; exit 2; }; done

BIN="$OUT/ringhttpd"
echo "building $BIN ..."
go build -o "$BIN" ./cmd/ringhttpd

ROOT="$OUT/root"
mkdir -p "$ROOT"
head -c 1024 /dev/urandom | base64 -w 64 >"$ROOT/small.txt"
head -c $((16 << 20)) /dev/urandom >"$ROOT/big.bin"

declare -a SUMMARY

# proc_fds PID, proc_rss_kb PID
proc_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# attack BACKEND MODE: one slowhttptest run with the probe.
attack() {
	local b=$1 mode=$2 port pid
	port=$(free_port)
	local url="http://127.0.0.1:$port"
	"$BIN" serve --root "$ROOT" --listen "127.0.0.1:$port" --backend "$b" --workers 2 \
		--header-timeout 5s --send-timeout 5s --idle-timeout 5s --log-level warn \
		>"$OUT/server-$b-$mode.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -s -o /dev/null "$url/small.txt" && break; sleep 0.1; done
	local fds0 rss0 peakfds=0 peakrss=0
	fds0=$(proc_fds $pid)
	rss0=$(proc_rss_kb $pid)
	local args=(-c "$ATTACK_CONNS" -r 1000 -l "$ATTACK_SECS" -p 3 -g -o "$OUT/slow-$b-$mode")
	if [ "$mode" = slowloris ]; then
		args+=(-H -i 2 -x 24 -u "$url/small.txt")
	else
		args+=(-X -w 512 -y 1024 -n 5 -z 32 -k 3 -u "$url/big.bin")
	fi
	slowhttptest "${args[@]}" >"$OUT/slow-$b-$mode.out" 2>&1 &
	local sp=$!
	: >"$OUT/probe-$b-$mode.txt"
	local end=$(( $(date +%s) + ATTACK_SECS ))
	local tick=0
	while [ "$(date +%s)" -lt "$end" ] && kill -0 $sp 2>/dev/null; do
		curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}\n' "$url/small.txt" >>"$OUT/probe-$b-$mode.txt" || echo "000 5" >>"$OUT/probe-$b-$mode.txt"
		tick=$((tick + 1))
		if [ $((tick % 3)) -eq 1 ]; then
			local f r
			f=$(proc_fds $pid); r=$(proc_rss_kb $pid)
			[ "$f" -gt "$peakfds" ] && peakfds=$f
			[ "$r" -gt "$peakrss" ] && peakrss=$r
		fi
		sleep 0.1
	done
	wait $sp || true
	# Attackers gone: the server must be back to its baseline.
	sleep 6
	local fds1 rss1
	fds1=$(proc_fds $pid)
	rss1=$(proc_rss_kb $pid)
	kill -TERM $pid
	wait $pid || true
	local n fail maxms p99ms
	n=$(wc -l <"$OUT/probe-$b-$mode.txt")
	fail=$(awk '$1 != 200' "$OUT/probe-$b-$mode.txt" | wc -l)
	maxms=$(awk '{print $2*1000}' "$OUT/probe-$b-$mode.txt" | sort -n | tail -1)
	p99ms=$(awk '{print $2*1000}' "$OUT/probe-$b-$mode.txt" | sort -n | awk -v n="$n" 'NR == int(n*0.99) || (n < 100 && NR == n) {print; exit}')
	# slowhttptest: the largest number of connections it held open (CSV
	# column 4), and how its run ended: "No open connections left" means the
	# server dropped every attacker before the test time ran out.
	local csv="$OUT/slow-$b-$mode.csv" maxconn ended
	maxconn=$(awk -F, 'NR > 1 && $4 > m {m = $4} END {print m+0}' "$csv" 2>/dev/null || echo '?')
	ended=$(sed -E 's/\x1b\[[0-9;]*m//g' "$OUT/slow-$b-$mode.out" | grep -E '^(Test ended on|Exit status:)' | tr '\n' ' ' | sed -E 's/Exit status: *//')
	SUMMARY+=("$(printf '%-6s %-9s attackers %5s, max %5s open at once, slowhttptest: %-45s | probe %4s reqs, %3s failed, max %6.1f ms, p99 %6.1f ms | fds %4s -> peak %5s -> %4s | RSS %5.1f -> peak %5.1f -> %5.1f MiB' \
		"$b" "$mode" "$ATTACK_CONNS" "$maxconn" "$ended" "$n" "$fail" "${maxms:-0}" "${p99ms:-0}" "$fds0" "$peakfds" "$fds1" \
		"$(echo "$rss0/1024" | bc -l)" "$(echo "$peakrss/1024" | bc -l)" "$(echo "$rss1/1024" | bc -l)")")
	echo "${SUMMARY[-1]}"
}

t_start=$(date +%s)
if [[ " $STAGES " == *" attack "* ]]; then
	for b in $BACKENDS; do
		for mode in slowloris slowread; do
			echo "== $b $mode: $ATTACK_CONNS connections for ${ATTACK_SECS}s"
			attack "$b" "$mode"
		done
	done
fi

if [[ " $STAGES " == *" go "* ]]; then
	echo "== Go long forms (RINGHTTPD_SOAK=long, $REQUESTS random-client requests, timeout $GO_TIMEOUT)"
	only=$(echo "$BACKENDS" | tr ' ' ',')
	set +e
	RINGHTTPD_SOAK=long RINGHTTPD_SOAK_REQUESTS="$REQUESTS" RINGHTTPD_SOAK_BACKENDS="$only" \
		go test -count=1 -timeout "$GO_TIMEOUT" -run 'TestSoak' -v ./server/ >"$OUT/go-soak.log" 2>&1
	rc1=$?
	RINGHTTPD_SOAK=long RINGHTTPD_SOAK_BACKENDS="$only" RINGHTTPD_SOAK_BIN="$BIN" \
		go test -count=1 -timeout "$GO_TIMEOUT" -run 'TestFault' -v ./server/ >"$OUT/go-fault.log" 2>&1
	rc2=$?
	set -e
	SUMMARY+=("go soak (in-process): $([ $rc1 -eq 0 ] && echo PASS || echo FAIL)   go fault (binary): $([ $rc2 -eq 0 ] && echo PASS || echo FAIL)")
	while IFS= read -r l; do SUMMARY+=("  $l"); done < <(grep -hE '(soak|fault)_[a-z]+_test.go:[0-9]+: |^\s*--- (FAIL|PASS): Test[A-Za-z]+/' "$OUT/go-soak.log" "$OUT/go-fault.log" |
		sed -E 's/^\s+//' | cut -c1-400)
fi

echo
echo "== ringhttpd soak summary ($(( $(date +%s) - t_start ))s; logs in $OUT)"
printf '%s\n' "${SUMMARY[@]}"
if [[ " $STAGES " == *" go "* ]] && { [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; }; then exit 1; fi
