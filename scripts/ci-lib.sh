# shellcheck shell=bash
# ci-lib.sh: helpers for CI steps and the scripts they run. Source it:
#   . scripts/ci-lib.sh
#
#   ci_apt CMD [PACKAGE]         make CMD available: when it is not on PATH,
#                                apt-get install PACKAGE (default CMD) as root
#                                (one apt-get update per run, on the first miss)
#   ci_go_tool NAME MOD@VERSION  make the Go tool NAME available: when it is not
#                                on PATH, go install MOD@VERSION into
#                                $CI_TOOLS/bin (kept across runs), which goes on
#                                PATH; NAME_UPPER (e.g. H2SPEC) is exported as
#                                its path
#   ci_tools                     every tool the tests look for (a test whose tool
#                                is missing skips, so without this a fresh
#                                machine would pass CI with less coverage)
#   ci_ringhttpd                 build ./cmd/ringhttpd once per run; prints its path
#   ci_serve_start ARGS...       start `ringhttpd serve ARGS --listen 127.0.0.1:0`
#                                in the background (prefixed by the array
#                                CI_SERVE_PREFIX, e.g. setpriv ...), wait until it
#                                logs that it serves; sets CI_SERVE_PID,
#                                CI_SERVE_ADDR (127.0.0.1:PORT), CI_SERVE_LOG
#   ci_serve_stop [SECONDS]      SIGTERM it, wait up to SECONDS [15]; returns its
#                                exit status (137 when it had to be killed)
#
# A new step in .ci/run that needs a tool adds one ci_apt or ci_go_tool line to
# ci_tools, and uses ci_serve_start/ci_serve_stop for a server to test against.

CI_TOOLS=${CI_TOOLS:-/var/cache/ringhttpd-tools}
CI_TMP=${CI_TMP:-}
export PATH=$CI_TOOLS/bin:$PATH:/usr/local/go/bin:/usr/sbin:/sbin
_ci_apt_updated=

ci_apt() {
	local cmd=$1 pkg=${2:-$1}
	command -v "$cmd" >/dev/null && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "ci_apt: $cmd missing and not root: install $pkg" >&2
		return 1
	fi
	if [ -z "$_ci_apt_updated" ]; then
		apt-get update -qq >&2 || { echo "ci_apt: apt-get update failed" >&2; return 1; }
		_ci_apt_updated=1
	fi
	echo "ci_apt: installing $pkg for $cmd" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2 &&
		command -v "$cmd" >/dev/null || { echo "ci_apt: $pkg did not provide $cmd" >&2; return 1; }
}

ci_go_tool() {
	local name=$1 mod=$2 var p
	var=$(tr '[:lower:]-' '[:upper:]_' <<<"$name")
	if ! p=$(command -v "$name"); then
		mkdir -p "$CI_TOOLS/bin" || return 1
		echo "ci_go_tool: go install $mod" >&2
		GOBIN=$CI_TOOLS/bin go install "$mod" >&2 || { echo "ci_go_tool: go install $mod failed" >&2; return 1; }
		p=$CI_TOOLS/bin/$name
		[ -x "$p" ] || { echo "ci_go_tool: $mod did not install $name" >&2; return 1; }
	fi
	export "$var=$p"
}

ci_tools() {
	local rc=0
	ci_apt curl || rc=1
	ci_apt wrk || rc=1                                 # server/cmd tests, unpriv-tests.sh
	ci_apt openssl || rc=1                             # tlsrec interop
	ci_apt promtool prometheus || rc=1                 # metrics exposition checks
	ci_apt systemd-socket-activate systemd || rc=1     # socket activation test
	ci_apt h2load nghttp2-client || rc=1               # HTTP/2 load checks
	ci_apt testssl testssl.sh || rc=1                  # TLS configuration checks
	ci_go_tool h2spec github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible || rc=1
	return $rc
}

# _ci_tmp makes CI_TMP, a scratch directory for the run, on first use.
_ci_tmp() {
	[ -n "$CI_TMP" ] || CI_TMP=$(mktemp -d /tmp/ci-lib.XXXXXX)
}

ci_ringhttpd() {
	_ci_tmp
	if [ ! -x "$CI_TMP/ringhttpd" ]; then
		go build -o "$CI_TMP/ringhttpd" ./cmd/ringhttpd >&2 || return 1
		chmod 755 "$CI_TMP" "$CI_TMP/ringhttpd"
	fi
	echo "$CI_TMP/ringhttpd"
}

ci_serve_start() {
	local bin i
	_ci_tmp
	bin=$(ci_ringhttpd) || return 1
	CI_SERVE_LOG=$(mktemp "$CI_TMP/serve.XXXXXX.log")
	chmod 644 "$CI_SERVE_LOG"
	"${CI_SERVE_PREFIX[@]}" "$bin" serve "$@" --listen 127.0.0.1:0 >"$CI_SERVE_LOG" 2>&1 &
	CI_SERVE_PID=$!
	CI_SERVE_ADDR=
	for i in $(seq 100); do
		CI_SERVE_ADDR=$(sed -n 's/.*ringhttpd serving.* listen=\[\([^] ,]*\).*/\1/p' "$CI_SERVE_LOG" | head -n 1)
		[ -n "$CI_SERVE_ADDR" ] && return 0
		kill -0 "$CI_SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "ci_serve_start: ringhttpd serve $* did not start: $(tail -n 3 "$CI_SERVE_LOG")" >&2
	kill "$CI_SERVE_PID" 2>/dev/null
	wait "$CI_SERVE_PID" 2>/dev/null
	return 1
}

ci_serve_stop() {
	local secs=${1:-15} i rc
	kill -TERM "$CI_SERVE_PID" 2>/dev/null
	for i in $(seq $((secs * 10))); do
		kill -0 "$CI_SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$CI_SERVE_PID" 2>/dev/null; then
		echo "ci_serve_stop: still running ${secs} s after SIGTERM: killed" >&2
		kill -KILL "$CI_SERVE_PID" 2>/dev/null
		wait "$CI_SERVE_PID" 2>/dev/null
		return 137
	fi
	wait "$CI_SERVE_PID"
	rc=$?
	return $rc
}
