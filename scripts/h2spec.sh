#!/usr/bin/env bash
# h2spec.sh: HTTP/2 conformance (RFC 9113, RFC 7541) of ringhttpd with h2spec
# v2.2.1 --strict, on both engines, over h2c (prior knowledge, --h2c) and over
# TLS (ALPN h2). Prints one line per engine x transport and exits non-zero when
# any test fails or a server does not start.
#
#   scripts/h2spec.sh                       # uring and epoll, h2c and TLS
#   ENGINES=epoll scripts/h2spec.sh         # one engine
#   H2SPEC=/path/to/h2spec scripts/h2spec.sh
#
# h2spec is built from the Go module proxy the first time:
#   go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
# into $CI_TOOLS/bin (default /var/cache/ringhttpd-tools/bin, kept across runs;
# the same cache scripts/ci-lib.sh uses). The test certificate (ECDSA P-256,
# CN localhost, SAN 127.0.0.1) is made with openssl in a temporary directory.
# On a kernel without usable io_uring, the uring rows say "skip" (ringhttpd
# probe exits 1) and do not fail the run.
# H2SPEC_TIMEOUT (default 5) is h2spec's -o, seconds a test waits for an
# answer: the default 2 s can lose a race on a loaded 2-core machine.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
ENGINES=${ENGINES:-uring epoll}
TIMEOUT=${H2SPEC_TIMEOUT:-5}
CI_TOOLS=${CI_TOOLS:-/var/cache/ringhttpd-tools}

tmp=$(mktemp -d /tmp/h2spec.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- h2spec ---------------------------------------------------------------
h2spec=${H2SPEC:-$CI_TOOLS/bin/h2spec}
if [ ! -x "$h2spec" ]; then
	echo "h2spec.sh: go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible -> $CI_TOOLS/bin" >&2
	mkdir -p "$CI_TOOLS/bin" &&
		GOBIN=$CI_TOOLS/bin go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible >&2 ||
		{ echo "h2spec.sh: building h2spec failed" >&2; exit 1; }
fi

# --- ringhttpd, certificate, document root -------------------------------
go build -o "$tmp/ringhttpd" ./cmd/ringhttpd || { echo "h2spec.sh: go build ./cmd/ringhttpd failed" >&2; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1 ||
	{ echo "h2spec.sh: openssl could not make the test certificate" >&2; exit 1; }
mkdir -p "$tmp/www"
# h2spec requests "/": a small index, served from the file cache.
printf '<!doctype html><title>h2spec</title><p>ringhttpd h2spec target\n' >"$tmp/www/index.html"

uring_ok=1
"$tmp/ringhttpd" probe >/dev/null 2>&1 || uring_ok=0

# start ENGINE: runs ringhttpd with one h2c and one TLS listener on free
# ports; sets pid, plain and tls (host:port), or returns 1.
start() {
	local log=$tmp/serve-$1.log addrs i
	"$tmp/ringhttpd" serve --root "$tmp/www" --backend "$1" --workers 2 --h2c \
		--listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
		--tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" >"$log" 2>&1 &
	pid=$!
	for i in $(seq 150); do
		# listen="[PLAIN TLS]": plaintext listeners come first.
		addrs=$(sed -n 's/.*ringhttpd serving.* listen="\[\([^]]*\)\]".*/\1/p' "$log" | head -n 1)
		if [ -n "$addrs" ]; then
			plain=${addrs% *}
			tls=${addrs#* }
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "h2spec.sh: ringhttpd --backend $1 did not start: $(tail -n 3 "$log")" >&2
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	return 1
}

stop() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

fail=0
rows=()
for e in $ENGINES; do
	if [ "$e" = uring ] && [ "$uring_ok" = 0 ]; then
		rows+=("$(printf '%-6s %-4s skip (io_uring unusable here: ringhttpd probe)' "$e" h2c)")
		rows+=("$(printf '%-6s %-4s skip (io_uring unusable here: ringhttpd probe)' "$e" tls)")
		continue
	fi
	if ! start "$e"; then
		rows+=("$(printf '%-6s %-4s FAIL (server did not start)' "$e" "h2c+tls")")
		fail=1
		continue
	fi
	for t in h2c tls; do
		addr=$plain
		args=(--strict -o "$TIMEOUT")
		if [ "$t" = tls ]; then
			addr=$tls
			args+=(-t -k)
		fi
		out=$tmp/$e-$t.txt
		"$h2spec" "${args[@]}" -h "${addr%:*}" -p "${addr##*:}" >"$out" 2>&1
		rc=$?
		sum=$(grep -E '^[0-9]+ tests, [0-9]+ passed' "$out" | tail -n 1)
		if [ $rc -ne 0 ] || [ -z "$sum" ] || ! grep -q ', 0 failed' <<<"$sum"; then
			fail=1
			rows+=("$(printf '%-6s %-4s FAIL %s (h2spec exit %d)' "$e" "$t" "${sum:-no summary}" "$rc")")
			echo "=== h2spec $e $t: failures" >&2
			# h2spec repeats the failed cases after "Failures:".
			sed -n '/^Failures:/,$p' "$out" | head -n 80 >&2
			[ -s "$out" ] && ! grep -q '^Failures:' "$out" && tail -n 20 "$out" >&2
		else
			rows+=("$(printf '%-6s %-4s ok   %s' "$e" "$t" "$sum")")
		fi
	done
	stop
	if grep -qiE 'panic|fatal error|DATA RACE' "$tmp/serve-$e.log"; then
		fail=1
		rows+=("$(printf '%-6s      FAIL server log: %s' "$e" "$(grep -m1 -iE 'panic|fatal error|DATA RACE' "$tmp/serve-$e.log")")")
	fi
done

echo "h2spec v2.2.1 --strict (ringhttpd $(git log -1 --format=%h 2>/dev/null || echo '?')):"
printf '  %s\n' "${rows[@]}"
exit $fail
