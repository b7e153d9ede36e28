#!/usr/bin/env bash
# tls-clients.sh: ringhttpd's HTTPS against the two everyday clients,
# `openssl s_client` and `curl`, on both engines: every TLS version and suite
# it offers, both key exchange groups, both certificate types, ALPN h2 and
# http/1.1, session resumption on 1.2 and 1.3, a 1 MiB body checked byte for
# byte over every suite, and the refusals (TLS 1.0 and 1.1, CBC and RSA key
# exchange suites, a client with only P-384). One line per check; exits
# non-zero when any fails.
#
#   scripts/tls-clients.sh                  # uring and epoll
#   ENGINES=epoll scripts/tls-clients.sh
#
# The server has two pairs for the same names, ECDSA P-256 first and RSA 2048
# (scripts/tls-lib.sh makes them and the CA at run time): an ECDHE-RSA suite
# gets the RSA certificate, everything else the ECDSA one. Verification is
# real (-CAfile / --cacert with the test CA). About 20 s per engine.
set -uo pipefail
cd "$(dirname "$0")/.."
ENGINES=${ENGINES:-uring epoll}
# shellcheck source=tls-lib.sh
. scripts/tls-lib.sh
tl_init tls-clients && tl_certs && tl_docroot || exit 1
CA=$TL_TMP/pki/ca.pem
want1m=$(sha256sum "$TL_TMP/www/1m.bin" | cut -d' ' -f1)
printf 'GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >"$TL_TMP/req"

TLS13=(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256)
TLS12=(ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305
	ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305)

fail=0
n=0
ok() { n=$((n + 1)); printf '  ok   %-6s %s\n' "$engine" "$*"; }
bad() { n=$((n + 1)); fail=1; printf '  FAIL %-6s %s\n' "$engine" "$*"; }

# sclient ARGS...: s_client with verification against the test CA, the
# request on stdin, output in $TL_TMP/out; its exit status.
sclient() {
	timeout 20 openssl s_client -brief -ign_eof -connect "$TL_TLS" -servername localhost \
		-CAfile "$CA" -verify_return_error "$@" <"$TL_TMP/req" >"$TL_TMP/out" 2>&1
}

# s_accept NAME VERSION SUITE ARGS...: the handshake must give VERSION and
# SUITE, and the answer must be the index page.
s_accept() {
	local name=$1 ver=$2 suite=$3
	shift 3
	if ! sclient "$@"; then
		bad "s_client $name: exit $?: $(grep -m1 -i error "$TL_TMP/out")"
	elif ! grep -q "^Protocol version: $ver\$" "$TL_TMP/out" || ! grep -q "^Ciphersuite: $suite\$" "$TL_TMP/out"; then
		bad "s_client $name: negotiated $(grep -E '^(Protocol version|Ciphersuite)' "$TL_TMP/out" | tr '\n' ' ')"
	elif ! grep -q '^HTTP/1.1 200 OK' "$TL_TMP/out" || ! grep -q 'ringhttpd TLS check target' "$TL_TMP/out"; then
		bad "s_client $name: no 200 with the page: $(grep -m1 HTTP/ "$TL_TMP/out")"
	else
		ok "s_client $name: $ver $suite, $(grep -m1 '^Server Temp Key' "$TL_TMP/out" | cut -d' ' -f4 | tr -d ,) $(grep -m1 '^Signature type' "$TL_TMP/out" | cut -d' ' -f3)"
	fi
}

# s_refuse NAME ALERT ARGS...: the server must end the handshake with ALERT.
s_refuse() {
	local name=$1 alert=$2
	shift 2
	if sclient "$@"; then
		bad "s_client $name: accepted ($(grep -E '^(Protocol version|Ciphersuite)' "$TL_TMP/out" | tr '\n' ' '))"
	elif grep -q "alert $alert" "$TL_TMP/out"; then
		ok "s_client $name: refused with alert $alert"
	else
		bad "s_client $name: failed without the alert $alert: $(grep -m1 -i error "$TL_TMP/out")"
	fi
}

# curl_get NAME HTTP TLSARGS...: GET /1m.bin; the body must be the file, the
# protocol HTTP (1.1 or 2), and -v must show the suite curl was told to use.
curl_get() {
	local name=$1 http=$2 want=$3 got
	shift 3
	local hv=--http1.1
	[ "$http" = 2 ] && hv=--http2
	got=$(timeout 30 curl -sS -v --cacert "$CA" "$hv" "$@" -o "$TL_TMP/body" -w '%{http_code} %{http_version}' \
		"https://$TL_TLS/1m.bin" 2>"$TL_TMP/curl.err")
	local rc=$?
	local sum
	sum=$(sha256sum "$TL_TMP/body" 2>/dev/null | cut -d' ' -f1)
	local conn
	conn=$(sed -n 's/^\* SSL connection using \(.*\)$/\1/p' "$TL_TMP/curl.err" | head -n 1)
	if [ $rc -ne 0 ]; then
		bad "curl $name: exit $rc: $(grep -m1 'curl:' "$TL_TMP/curl.err")"
	elif [ "$got" != "200 $http" ] || [ "$sum" != "$want1m" ]; then
		bad "curl $name: got '$got', body sha256 ${sum:0:12} (want 200 $http, ${want1m:0:12})"
	elif [[ "$conn" != *"$want"* ]]; then
		bad "curl $name: connection '$conn', want $want"
	else
		ok "curl $name: HTTP/$http 1 MiB intact over $conn"
	fi
}

for engine in $ENGINES; do
	if [ "$engine" = uring ] && ! tl_uring_ok; then
		printf '  skip %-6s io_uring unusable here (ringhttpd probe)\n' "$engine"
		continue
	fi
	if ! tl_serve "$engine" --tls-cert "$TL_TMP/pki/rsa.pem" --tls-key "$TL_TMP/pki/rsa.key"; then
		engine=$engine bad "server did not start"
		continue
	fi
	for s in "${TLS13[@]}"; do
		s_accept "1.3 $s" TLSv1.3 "$s" -tls1_3 -ciphersuites "$s"
		curl_get "1.3 $s h1" 1.1 "TLSv1.3 / $s" --tlsv1.3 --tls-max 1.3 --tls13-ciphers "$s"
		curl_get "1.3 $s h2" 2 "TLSv1.3 / $s" --tlsv1.3 --tls-max 1.3 --tls13-ciphers "$s"
	done
	for s in "${TLS12[@]}"; do
		s_accept "1.2 $s" TLSv1.2 "$s" -tls1_2 -cipher "$s"
		curl_get "1.2 $s h1" 1.1 "TLSv1.2 / $s" --tlsv1.2 --tls-max 1.2 --ciphers "$s"
		curl_get "1.2 $s h2" 2 "TLSv1.2 / $s" --tlsv1.2 --tls-max 1.2 --ciphers "$s"
	done
	for g in X25519 P-256; do
		s_accept "1.3 group $g" TLSv1.3 TLS_AES_128_GCM_SHA256 -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 -groups "$g"
		# OpenSSL's 1.2 client also limits the certificate's curve to -groups:
		# X25519 alone over 1.2 needs the RSA certificate.
		s_accept "1.2 group $g" TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 -groups "$g"
	done
	# ALPN: h2 first, http/1.1 for a client that offers only it.
	for p in h2 http/1.1; do
		# (-brief does not print ALPN; nothing is sent, the handshake is all.)
		if timeout 20 openssl s_client -connect "$TL_TLS" -servername localhost -CAfile "$CA" \
			-verify_return_error -alpn "$p" </dev/null >"$TL_TMP/out" 2>&1 &&
			grep -q "^ALPN protocol: $p\$" "$TL_TMP/out"; then
			ok "s_client ALPN $p: selected"
		else
			bad "s_client ALPN $p: $(grep -m1 -E '^ALPN|error' "$TL_TMP/out")"
		fi
	done
	# Resumption: a second connection with the first's session is resumed.
	for v in 1_2 1_3; do
		rm -f "$TL_TMP/sess"
		# (-brief does not say "Reused": the second connection is verbose.)
		if sclient "-tls$v" -sess_out "$TL_TMP/sess" && [ -s "$TL_TMP/sess" ] &&
			timeout 20 openssl s_client -connect "$TL_TLS" -servername localhost -CAfile "$CA" "-tls$v" \
				-sess_in "$TL_TMP/sess" -ign_eof <"$TL_TMP/req" >"$TL_TMP/out" 2>&1 &&
			grep -q '^Reused, TLSv1' "$TL_TMP/out" && grep -q '^HTTP/1.1 200 OK' "$TL_TMP/out"; then
			ok "s_client resumption TLS ${v/_/.}: Reused"
		else
			bad "s_client resumption TLS ${v/_/.}: not resumed"
		fi
	done
	# Refusals.
	s_refuse "TLS 1.0" "protocol version" -tls1 -cipher 'DEFAULT@SECLEVEL=0'
	s_refuse "TLS 1.1" "protocol version" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0'
	s_refuse "1.2 CBC ECDHE-ECDSA-AES128-SHA256" "handshake failure" -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256
	s_refuse "1.2 CBC ECDHE-RSA-AES256-SHA" "handshake failure" -tls1_2 -cipher ECDHE-RSA-AES256-SHA
	s_refuse "1.2 RSA key exchange AES128-GCM-SHA256" "handshake failure" -tls1_2 -cipher AES128-GCM-SHA256
	s_refuse "1.3 only P-384" "handshake failure" -tls1_3 -groups P-384
	s_refuse "1.2 only P-384" "handshake failure" -tls1_2 -groups P-384
	tl_stop
	if grep -qiE 'panic|fatal error|DATA RACE' "$TL_LOG"; then
		bad "server log: $(grep -m1 -iE 'panic|fatal error|DATA RACE' "$TL_LOG")"
	fi
done
echo "tls-clients: $n checks, $(openssl version | cut -d' ' -f1-2), $(curl --version | head -n 1 | cut -d' ' -f1-2)$([ $fail = 0 ] && echo ', all passed' || echo ', FAILURES')"
exit $fail
