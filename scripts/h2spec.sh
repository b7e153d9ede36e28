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
# CN localhost, SAN 127.0.0.1) is made with openssl in a temporary directory
# (scripts/tls-lib.sh).
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

# shellcheck source=tls-lib.sh
. scripts/tls-lib.sh

# --- h2spec ---------------------------------------------------------------
h2spec=${H2SPEC:-$CI_TOOLS/bin/h2spec}
if [ ! -x "$h2spec" ]; then
	echo "h2spec.sh: go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible -> $CI_TOOLS/bin" >&2
	mkdir -p "$CI_TOOLS/bin" &&
		GOBIN=$CI_TOOLS/bin go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible >&2 ||
		{ echo "h2spec.sh: building h2spec failed" >&2; exit 1; }
fi

# --- ringhttpd, certificate, document root (h2spec requests "/") ---------
tl_init h2spec && tl_certs && tl_docroot || exit 1
uring_ok=1
tl_uring_ok || uring_ok=0

fail=0
rows=()
for e in $ENGINES; do
	if [ "$e" = uring ] && [ "$uring_ok" = 0 ]; then
		rows+=("$(printf '%-6s %-4s skip (io_uring unusable here: ringhttpd probe)' "$e" h2c)")
		rows+=("$(printf '%-6s %-4s skip (io_uring unusable here: ringhttpd probe)' "$e" tls)")
		continue
	fi
	if ! tl_serve "$e" --h2c; then
		rows+=("$(printf '%-6s %-4s FAIL (server did not start)' "$e" "h2c+tls")")
		fail=1
		continue
	fi
	for t in h2c tls; do
		addr=$TL_PLAIN
		args=(--strict -o "$TIMEOUT")
		if [ "$t" = tls ]; then
			addr=$TL_TLS
			args+=(-t -k)
		fi
		out=$TL_TMP/$e-$t.txt
		"$h2spec" "${args[@]}" -h "${addr%:*}" -p "${addr##*:}" >"$out" 2>&1
		rc=$?
		sum=$(grep -aE '^[0-9]+ tests, [0-9]+ passed' "$out" | tail -n 1)
		if [ $rc -ne 0 ] || [ -z "$sum" ] || ! grep -q ', 0 failed' <<<"$sum"; then
			fail=1
			rows+=("$(printf '%-6s %-4s FAIL %s (h2spec exit %d)' "$e" "$t" "${sum:-no summary}" "$rc")")
			echo "=== h2spec $e $t: failures" >&2
			# h2spec repeats the failed cases after "Failures:".
			sed -n '/^Failures:/,$p' "$out" | head -n 80 >&2
			[ -s "$out" ] && ! grep -aq '^Failures:' "$out" && tail -n 20 "$out" >&2
		else
			rows+=("$(printf '%-6s %-4s ok   %s' "$e" "$t" "$sum")")
		fi
	done
	tl_stop
	if grep -qiE 'panic|fatal error|DATA RACE' "$TL_LOG"; then
		fail=1
		rows+=("$(printf '%-6s      FAIL server log: %s' "$e" "$(grep -m1 -iE 'panic|fatal error|DATA RACE' "$TL_LOG")")")
	fi
done

echo "h2spec v2.2.1 --strict (ringhttpd $(git log -1 --format=%h 2>/dev/null || echo '?')):"
printf '  %s\n' "${rows[@]}"
exit $fail
