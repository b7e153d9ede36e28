# shellcheck shell=bash
# tls-lib.sh: shared by the TLS and HTTP/2 check scripts (h2spec.sh,
# testssl.sh, tls-clients.sh, browser-h2.sh). Source it from the repository
# root:   . scripts/tls-lib.sh
#
#   tl_init NAME            make the scratch directory TL_TMP (/tmp/NAME.XXXXXX),
#                           removed on exit with any server still running;
#                           build ringhttpd into it (TL_BIN)
#   tl_certs                a test PKI in $TL_TMP/pki: ca.pem (ECDSA P-256 CA),
#                           ecdsa.pem/ecdsa.key and rsa.pem/rsa.key (RSA 2048),
#                           leaves for localhost and 127.0.0.1 signed by the CA,
#                           90 days, with CRL and OCSP URIs (as a real
#                           certificate has; nothing answers on them)
#   tl_docroot              $TL_TMP/www: index.html, 3574.html, 1m.bin
#   tl_serve ENGINE ARGS... start `ringhttpd serve --backend ENGINE` on
#                           127.0.0.1:0 (plaintext) and a TLS listener on
#                           127.0.0.1:0, with the root and ECDSA pair unless
#                           ARGS give others (ARGS are appended); sets TL_PID,
#                           TL_PLAIN and TL_TLS (host:port), TL_LOG; returns 1
#                           when it did not start
#   tl_stop                 SIGTERM the server and wait for it
#   tl_uring_ok             true when io_uring is usable here (ringhttpd probe)
#   tl_need CMD [PACKAGE]   make CMD available: apt-get install PACKAGE (default
#                           CMD) when it is missing and we are root
export PATH=$PATH:/usr/local/go/bin:/usr/sbin
TL_TMP=
TL_PID=
TL_BIN=

tl_cleanup() {
	[ -n "$TL_PID" ] && tl_stop
	[ -n "$TL_TMP" ] && rm -rf "$TL_TMP"
}

tl_init() {
	TL_TMP=$(mktemp -d "/tmp/$1.XXXXXX")
	trap tl_cleanup EXIT
	trap 'exit 130' INT TERM
	TL_BIN=$TL_TMP/ringhttpd
	go build -o "$TL_BIN" ./cmd/ringhttpd || { echo "$1: go build ./cmd/ringhttpd failed" >&2; return 1; }
}

tl_certs() {
	local d=$TL_TMP/pki
	mkdir -p "$d"
	cat >"$d/leaf.ext" <<-'EOF'
		basicConstraints=critical,CA:FALSE
		keyUsage=critical,digitalSignature,keyEncipherment
		extendedKeyUsage=serverAuth
		subjectAltName=DNS:localhost,IP:127.0.0.1
		crlDistributionPoints=URI:http://127.0.0.1/ringhttpd-test-ca.crl
		authorityInfoAccess=OCSP;URI:http://127.0.0.1/ocsp
	EOF
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 120 \
			-keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=ringhttpd test CA" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout "$d/ecdsa.key" -out "$d/ecdsa.csr" -subj /CN=localhost &&
			openssl x509 -req -in "$d/ecdsa.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
				-days 90 -extfile "$d/leaf.ext" -out "$d/ecdsa.pem" &&
			openssl req -new -newkey rsa:2048 -nodes \
				-keyout "$d/rsa.key" -out "$d/rsa.csr" -subj /CN=localhost &&
			openssl x509 -req -in "$d/rsa.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
				-days 90 -extfile "$d/leaf.ext" -out "$d/rsa.pem"
	} >"$d/openssl.log" 2>&1 || { echo "tl_certs: openssl failed: $(tail -n 3 "$d/openssl.log")" >&2; return 1; }
}

tl_docroot() {
	local w=$TL_TMP/www
	mkdir -p "$w"
	printf '<!doctype html><title>ringhttpd</title><p>ringhttpd TLS check target\n' >"$w/index.html"
	head -c 3574 <(yes 'ringhttpd benchmark payload 0123456789abcdefghijklmnopqrstuvwxyz') >"$w/3574.html"
	head -c 1048576 /dev/urandom >"$w/1m.bin"
}

tl_serve() {
	local engine=$1 addrs i
	shift
	TL_LOG=$TL_TMP/serve-$engine.log
	"$TL_BIN" serve --root "$TL_TMP/www" --backend "$engine" --workers 2 \
		--listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
		--tls-cert "$TL_TMP/pki/ecdsa.pem" --tls-key "$TL_TMP/pki/ecdsa.key" "$@" >"$TL_LOG" 2>&1 &
	TL_PID=$!
	for i in $(seq 150); do
		# listen="[PLAIN TLS]": the plaintext listeners come first.
		addrs=$(sed -n 's/.*ringhttpd serving.* listen="\[\([^]]*\)\]".*/\1/p' "$TL_LOG" | head -n 1)
		if [ -n "$addrs" ]; then
			TL_PLAIN=${addrs%% *}
			TL_TLS=${addrs##* }
			return 0
		fi
		kill -0 "$TL_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "tl_serve: ringhttpd --backend $engine did not start: $(tail -n 3 "$TL_LOG")" >&2
	tl_stop
	return 1
}

tl_stop() {
	[ -n "$TL_PID" ] || return 0
	kill -TERM "$TL_PID" 2>/dev/null
	wait "$TL_PID" 2>/dev/null
	TL_PID=
}

tl_uring_ok() { "$TL_BIN" probe >/dev/null 2>&1; }

tl_need() {
	local cmd=$1 pkg=${2:-$1}
	command -v "$cmd" >/dev/null && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "tl_need: $cmd is missing: apt-get install $pkg" >&2
		return 1
	fi
	echo "tl_need: installing $pkg for $cmd" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$pkg" >&2 ||
		{ apt-get update -qq -o DPkg::Lock::Timeout=300 >&2 && apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$pkg" >&2; }
	command -v "$cmd" >/dev/null || { echo "tl_need: $pkg did not provide $cmd" >&2; return 1; }
}
