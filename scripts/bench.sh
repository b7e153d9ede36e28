#!/usr/bin/env bash
# bench.sh: ringhttpd's side-by-side benchmark, from a fresh clone.
#
#   scripts/bench.sh --quick     development run, under 2 minutes
#   scripts/bench.sh             full run (3 rounds; prints its duration)
#
# It installs what is missing (wrk, nginx-light, h2o, lighttpd, apache2-utils,
# liburing-dev), builds ringhttpd, the bench/ Go programs and the floor servers
# (../shared/floor, when present), creates the document root, renders the peer
# configurations from bench/peers/, runs the parser benchmark, then hands over
# to bench/cmd/harness, which starts every server pinned to the server CPUs,
# drives the load from the client CPUs and writes
# bench/results/DATE-HOST[-quick]/{results.md,results.json,chart.svg}.
#
# Options (each also an environment variable):
#   --quick                   BENCH_QUICK=1
#   --rounds N                BENCH_ROUNDS      (default 3; quick 1)
#   --duration SECONDS        BENCH_DURATION    wrk seconds per run (default 5; quick 1)
#   --sustained-rounds N      BENCH_SUSTAINED_ROUNDS (default 1: the run is 50 s per server)
#   --workloads a,b,c         BENCH_WORKLOADS   subset (ka50,ka1000,pipe16,close,ka50-13b,
#                                               f64k,f1m,f100m,js100k,dyn-ka50,dyn-pipe16,json-ka50,
#                                               json-pipe16,tls-ka50,tls-f1m,tls-hs,h2-ka,h2c-ka,
#                                               h2-f1m,h2c-f1m,h2-f1m-cap,h2c-f1m-cap,idle10k,
#                                               openloop,sustained; the -cap ones hold each server
#                                               to 25% of a CPU through the cgroup cpu controller)
#   --servers a,b,c           BENCH_SERVERS     subset (ringhttpd-uring,ringhttpd-epoll,nginx,h2o,
#                                               lighttpd,fasthttp,net-http,floor-epoll,floor-uring,
#                                               ringhttpd-lib,ringhttpd-lib-epoll,floor-uring-13)
#   --server-cpus LIST        BENCH_SERVER_CPUS (default 0)  taskset list for the servers
#   --client-cpus LIST        BENCH_CLIENT_CPUS (default 1)  taskset list for wrk/loadgen
#   --out DIR                 BENCH_OUT         results directory
#   --no-install              BENCH_NO_INSTALL=1
# More cores: give the servers a list (e.g. --server-cpus 0-3 --client-cpus 4-7);
# ringhttpd's --workers, nginx's worker_processes and h2o's num-threads follow
# the number of server CPUs, wrk gets one thread per client CPU.
# BENCH_WORK (default /tmp/ringhttpd-bench) holds binaries, configs and the
# document root; BENCH_PORT_BASE (default 18100) the first port (servers use
# BASE+1 ... BASE+12, HTTPS BASE+21 ... BASE+24, nginx's h2c BASE+33).
# HTTPS and HTTP/2: ringhttpd, nginx and h2o get one more listener with the
# same ECDSA P-256 certificate (made once in $BENCH_WORK/conf), and
# ringhttpd --h2c (nginx h2c on its own port, h2o on its plaintext port);
# wrk and h2load run under one OpenSSL configuration that offers only
# BENCH_TLS_SUITE (default TLS_AES_128_GCM_SHA256) over TLS 1.3 with X25519,
# so every server negotiates the same (the harness checks it).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${BENCH_WORK:-/tmp/ringhttpd-bench}
QUICK=${BENCH_QUICK:-0}
ROUNDS=${BENCH_ROUNDS:-}
DURATION=${BENCH_DURATION:-}
SUST_ROUNDS=${BENCH_SUSTAINED_ROUNDS:-1}
WORKLOADS=${BENCH_WORKLOADS:-}
ONLY_SERVERS=${BENCH_SERVERS:-}
SERVER_CPUS=${BENCH_SERVER_CPUS:-0}
CLIENT_CPUS=${BENCH_CLIENT_CPUS:-1}
OUT=${BENCH_OUT:-}
NO_INSTALL=${BENCH_NO_INSTALL:-0}
PORT_BASE=${BENCH_PORT_BASE:-18100}
FLOOR_DIR=${FLOOR_DIR:-$REPO/../shared/floor}

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --sustained-rounds) SUST_ROUNDS=$2; shift ;;
    --workloads) WORKLOADS=$2; shift ;;
    --servers) ONLY_SERVERS=$2; shift ;;
    --server-cpus) SERVER_CPUS=$2; shift ;;
    --client-cpus) CLIENT_CPUS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-install) NO_INSTALL=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

T0=$(date +%s)
say() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }

# count_cpus LIST: how many CPUs a taskset list names (0-3,6 -> 5).
count_cpus() {
  local n=0 part a b
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then a=${part%-*}; b=${part#*-}; n=$((n + b - a + 1)); else n=$((n + 1)); fi
  done
  echo "$n"
}
SERVER_N=$(count_cpus "$SERVER_CPUS")
CLIENT_N=$(count_cpus "$CLIENT_CPUS")

# --- everything started below dies with this script ------------------------
HARNESS_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$HARNESS_PID" ] && kill -0 "$HARNESS_PID" 2>/dev/null; then
    kill -TERM "$HARNESS_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$HARNESS_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$HARNESS_PID" 2>/dev/null || true
  fi
  if [ -f "$WORK/servers.pgid" ]; then
    while read -r g; do
      [ -n "$g" ] || continue
      kill -TERM -- "-$g" 2>/dev/null || true
    done <"$WORK/servers.pgid"
    sleep 0.5
    while read -r g; do
      [ -n "$g" ] || continue
      kill -KILL -- "-$g" 2>/dev/null || true
    done <"$WORK/servers.pgid"
    rm -f "$WORK/servers.pgid"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ------------------------------------------------------------------
install_missing() {
  local pkgs=()
  command -v wrk >/dev/null || pkgs+=(wrk)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || pkgs+=(nginx-light)
  command -v h2o >/dev/null || pkgs+=(h2o)
  command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] || pkgs+=(lighttpd)
  command -v ab >/dev/null || pkgs+=(apache2-utils)
  command -v h2load >/dev/null || pkgs+=(nghttp2-client)
  command -v openssl >/dev/null || pkgs+=(openssl)
  [ -f /usr/include/liburing.h ] || pkgs+=(liburing-dev)
  command -v taskset >/dev/null || pkgs+=(util-linux)
  command -v gcc >/dev/null || pkgs+=(gcc)
  [ ${#pkgs[@]} -eq 0 ] && return 0
  say "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${pkgs[@]}" >"$WORK/apt.log" 2>&1; then
    apt-get update -qq -o DPkg::Lock::Timeout=300 >>"$WORK/apt.log" 2>&1
    apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${pkgs[@]}" >>"$WORK/apt.log" 2>&1 || { say "apt-get failed, see $WORK/apt.log"; exit 1; }
  fi
  # The packages' init scripts may have started system instances: stop them
  # (they would compete for the CPUs and port 80), quietly.
  for svc in nginx h2o lighttpd; do service "$svc" stop >/dev/null 2>&1 || true; done
}
mkdir -p "$WORK"/{bin,conf,www,run}
[ "$NO_INSTALL" = 1 ] || install_missing
PATH=$PATH:/usr/sbin:/usr/local/go/bin
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- builds -----------------------------------------------------------------
BIN=$WORK/bin
say "building bench tools"
(cd "$REPO/bench" && go build -o "$BIN/" ./cmd/...)

RINGHTTPD_SKIP=
if (cd "$REPO" && go build -o "$BIN/ringhttpd" ./cmd/ringhttpd) >"$WORK/ringhttpd-build.log" 2>&1; then
  say "built ringhttpd ($(cd "$REPO" && git log -1 --format=%h 2>/dev/null || echo '?'))"
else
  RINGHTTPD_SKIP="go build ./cmd/ringhttpd failed: $(grep -m1 -v '^#' "$WORK/ringhttpd-build.log" | cut -c1-160)"
  say "ringhttpd skipped: $RINGHTTPD_SKIP"
fi

FLOOR_SKIP=
if [ -f "$FLOOR_DIR/build.sh" ]; then
  if ! sh "$FLOOR_DIR/build.sh" "$BIN/floor" >"$WORK/floor-build.log" 2>&1; then
    FLOOR_SKIP="floor build failed: $(tail -1 "$WORK/floor-build.log" | cut -c1-160)"
  fi
else
  FLOOR_SKIP="no floor servers at $FLOOR_DIR"
fi
[ -z "$FLOOR_SKIP" ] || say "$FLOOR_SKIP"

# --- document root ------------------------------------------------------------
WWW=$WORK/www
mkfile() { # mkfile NAME BYTES: deterministic content of exactly BYTES
  local f=$WWW/$1
  if [ ! -f "$f" ] || [ "$(stat -c %s "$f")" != "$2" ]; then
    head -c "$2" <(yes 'ringhttpd benchmark payload 0123456789abcdefghijklmnopqrstuvwxyz') >"$f"
  fi
}
printf 'Hello, world\n' >"$WWW/13.txt"
mkfile 3574.html 3574
mkfile 64k.bin 65536
mkfile 1m.bin 1048576
mkfile 100m.bin 104857600
# The compression workload's file: JavaScript-like text, not a repeated line.
if [ ! -f "$WWW/app.js" ] || [ "$(stat -c %s "$WWW/app.js")" != 102400 ]; then
  "$BIN/mkjs" -size 102400 -out "$WWW/app.js"
fi

# --- peer configurations ------------------------------------------------------
P_U=$((PORT_BASE + 1)) P_E=$((PORT_BASE + 2)) P_NGINX=$((PORT_BASE + 3)) P_H2O=$((PORT_BASE + 4))
P_LIGHTTPD=$((PORT_BASE + 5)) P_FAST=$((PORT_BASE + 6)) P_NET=$((PORT_BASE + 7))
P_FE=$((PORT_BASE + 8)) P_FU=$((PORT_BASE + 9)) P_LIB=$((PORT_BASE + 10)) P_LIBE=$((PORT_BASE + 11))
P_FU13=$((PORT_BASE + 12))
T_U=$((PORT_BASE + 21)) T_E=$((PORT_BASE + 22)) T_NGINX=$((PORT_BASE + 23)) T_H2O=$((PORT_BASE + 24))
H2C_NGINX=$((PORT_BASE + 33))

# The one certificate every HTTPS server uses: ECDSA P-256, self-signed
# (the clients do not verify), made once.
CERT=$WORK/conf/bench-ecdsa.pem KEY=$WORK/conf/bench-ecdsa.key
if [ ! -s "$CERT" ] || [ ! -s "$KEY" ] || ! openssl x509 -checkend 86400 -noout -in "$CERT" >/dev/null 2>&1; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 -keyout "$KEY" -out "$CERT" \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >"$WORK/openssl.log" 2>&1 ||
    { say "openssl could not make the benchmark certificate: $(tail -1 "$WORK/openssl.log")"; exit 1; }
fi
# The load generators' OpenSSL configuration (wrk and h2load read it through
# OPENSSL_CONF): one version, one suite, one group.
TLS_SUITE=${BENCH_TLS_SUITE:-TLS_AES_128_GCM_SHA256}
CLIENT_CONF=$WORK/conf/client-openssl.cnf
cat >"$CLIENT_CONF" <<EOF
# scripts/bench.sh: what wrk, h2load and the harness's s_client offer
openssl_conf = bench_conf
[bench_conf]
ssl_conf = bench_ssl
[bench_ssl]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.3
MaxProtocol = TLSv1.3
Ciphersuites = $TLS_SUITE
Groups = X25519
EOF

render() { # render TEMPLATE PORT OUT [TLSPORT H2CPORT]
  sed -e "s|@PORT@|$2|g" -e "s|@ROOT@|$WWW|g" -e "s|@WORK@|$WORK/run|g" -e "s|@WORKERS@|$SERVER_N|g" \
    -e "s|@TLSPORT@|${4:-0}|g" -e "s|@H2CPORT@|${5:-0}|g" -e "s|@CERT@|$CERT|g" -e "s|@KEY@|$KEY|g" \
    "$REPO/bench/peers/$1" >"$3"
}
render nginx.conf.tmpl "$P_NGINX" "$WORK/conf/nginx.conf" "$T_NGINX" "$H2C_NGINX"
render h2o.conf.tmpl "$P_H2O" "$WORK/conf/h2o.conf" "$T_H2O"
render lighttpd.conf.tmpl "$P_LIGHTTPD" "$WORK/conf/lighttpd.conf"
render ringhttpd.toml.tmpl 0 "$WORK/conf/ringhttpd.toml"
mkdir -p "$WORK/run/nginx-prefix/logs"

SERVERS=$WORK/servers.tsv
{
  printf '# NAME\tPORT[,tls=PORT][,h2c=PORT]\tCLASS\tCOMMAND\n'
  for be in uring epoll; do
    port=$P_U tport=$T_U; [ $be = epoll ] && port=$P_E tport=$T_E
    if [ -n "$RINGHTTPD_SKIP" ]; then
      printf 'ringhttpd-%s\t%s\tskip\t%s\n' $be "$port" "$RINGHTTPD_SKIP"
    else
      printf 'ringhttpd-%s\t%s,tls=%s,h2c=%s\tfiles\t%s --config %s --root %s --listen 127.0.0.1:%s --backend %s --workers %s --max-conns 20000 --tls-listen 127.0.0.1:%s --tls-cert %s --tls-key %s --h2c\n' \
        $be "$port" "$tport" "$port" "$BIN/ringhttpd" "$WORK/conf/ringhttpd.toml" "$WWW" "$port" $be "$SERVER_N" "$tport" "$CERT" "$KEY"
    fi
  done
  # ringhttpd as a Go library (bench/cmd/ringlibd): the dynamic handler's
  # workloads only, against fasthttp and net/http serving the same handler.
  printf 'ringhttpd-lib\t%s\tdynamic\t%s -listen 127.0.0.1:%s -root %s -backend uring -workers %s\n' "$P_LIB" "$BIN/ringlibd" "$P_LIB" "$WWW" "$SERVER_N"
  printf 'ringhttpd-lib-epoll\t%s\tdynamic\t%s -listen 127.0.0.1:%s -root %s -backend epoll -workers %s\n' "$P_LIBE" "$BIN/ringlibd" "$P_LIBE" "$WWW" "$SERVER_N"
  printf 'nginx\t%s,tls=%s,h2c=%s\tfiles\t%s -p %s -c %s\n' "$P_NGINX" "$T_NGINX" "$H2C_NGINX" "$(command -v nginx)" "$WORK/run/nginx-prefix" "$WORK/conf/nginx.conf"
  # h2o speaks h2c by prior knowledge on its plaintext listener.
  printf 'h2o\t%s,tls=%s,h2c=%s\tfiles\t%s -c %s\n' "$P_H2O" "$T_H2O" "$P_H2O" "$(command -v h2o)" "$WORK/conf/h2o.conf"
  printf 'lighttpd\t%s\tfiles\t%s -D -f %s\n' "$P_LIGHTTPD" "$(command -v lighttpd)" "$WORK/conf/lighttpd.conf"
  printf 'fasthttp\t%s\tfiles\t%s -listen 127.0.0.1:%s -root %s\n' "$P_FAST" "$BIN/fasthttpd" "$P_FAST" "$WWW"
  printf 'net-http\t%s\tfiles\t%s -listen 127.0.0.1:%s -root %s\n' "$P_NET" "$BIN/nethttpd" "$P_NET" "$WWW"
  if [ -n "$FLOOR_SKIP" ]; then
    printf 'floor-epoll\t%s\tskip\t%s\n' "$P_FE" "$FLOOR_SKIP"
    printf 'floor-uring\t%s\tskip\t%s\n' "$P_FU" "$FLOOR_SKIP"
    printf 'floor-uring-13\t%s\tskip\t%s\n' "$P_FU13" "$FLOOR_SKIP"
  else
    printf 'floor-epoll\t%s\tconst\t%s %s 3574\n' "$P_FE" "$BIN/floor/epoll_const" "$P_FE"
    printf 'floor-uring\t%s\tconst\t%s %s 3574\n' "$P_FU" "$BIN/floor/uring_const" "$P_FU"
    # The same with a 13-byte body: the floor of dyn-ka50.
    printf 'floor-uring-13\t%s\tdynamic\t%s %s 13\n' "$P_FU13" "$BIN/floor/uring_const" "$P_FU13"
  fi
} >"$SERVERS"

# --- parser benchmark (before any server runs, on the server CPUs) ------------
PARSE=$WORK/parse.txt
BENCHTIME=1s COUNT=3
[ "$QUICK" = 1 ] && BENCHTIME=100ms COUNT=1
say "parser benchmark (-benchtime $BENCHTIME -count $COUNT)"
if ! (cd "$REPO/bench" && taskset -c "$SERVER_CPUS" go test -run '^$' -bench . -benchmem \
      -benchtime "$BENCHTIME" -count "$COUNT" ./parse/) >"$PARSE" 2>&1; then
  say "parser benchmark failed (see $PARSE); continuing without it"
fi

# --- environment ---------------------------------------------------------------
ENVF=$WORK/env.txt
{
  echo "kernel: $(uname -r)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) online)"
  echo "go: $(go version | awk '{print $3}')"
  # The last commit of the server's own code: every Go and assembly file of
  # the main module (h2 and tlsrec too), not the bench/ module.
  server_src=("*.go" "*.s" go.mod go.sum ":!bench")
  echo "ringhttpd: $(cd "$REPO" && git log -1 --format='%h %s' -- "${server_src[@]}" 2>/dev/null | cut -c1-80)$(cd "$REPO" && git diff --quiet HEAD -- "${server_src[@]}" 2>/dev/null || echo ' + uncommitted changes')"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //')"
  echo "h2o: $(h2o --version 2>/dev/null | head -1)"
  echo "lighttpd: $(lighttpd -v 2>/dev/null | head -1 | cut -d' ' -f1)"
  echo "wrk: $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
  echo "h2load: $(h2load --version 2>/dev/null | head -1)"
  echo "openssl: $(openssl version)"
  echo "tls certificate: ECDSA P-256 (the same file for every server)"
  echo "fasthttp: $(cd "$REPO/bench" && go list -m -f '{{.Version}}' github.com/valyala/fasthttp)"
} >"$ENVF"

# --- run ---------------------------------------------------------------------------
if [ -z "$OUT" ]; then
  OUT=$REPO/bench/results/$(date -u +%F)-$(hostname -s)
  [ "$QUICK" = 1 ] && OUT=$OUT-quick
fi
mkdir -p "$OUT"
args=(-servers "$SERVERS" -out "$OUT" -wrk "$(command -v wrk)" -loadgen "$BIN/loadgen"
  -pipe-lua "$REPO/scripts/bench-pipeline.lua" -server-cpus "$SERVER_CPUS" -client-cpus "$CLIENT_CPUS"
  -wrk-threads "$CLIENT_N" -parse "$PARSE" -env "$ENVF" -pidfile "$WORK/servers.pgid"
  -sustained-rounds "$SUST_ROUNDS" -h2load "$(command -v h2load)" -client-openssl-conf "$CLIENT_CONF"
  -want-tls "TLSv1.3 $TLS_SUITE")
[ "$QUICK" = 1 ] && args+=(-quick)
[ -n "$ROUNDS" ] && args+=(-rounds "$ROUNDS")
[ -n "$DURATION" ] && args+=(-duration "${DURATION}s")
[ -n "$WORKLOADS" ] && args+=(-workloads "$WORKLOADS")
[ -n "$ONLY_SERVERS" ] && args+=(-only-servers "$ONLY_SERVERS")

say "running (servers on CPU $SERVER_CPUS, load on CPU $CLIENT_CPUS)"
"$BIN/harness" "${args[@]}" &
HARNESS_PID=$!
wait "$HARNESS_PID"
HARNESS_PID=
say "done in $(( $(date +%s) - T0 )) s: $OUT/results.md"
