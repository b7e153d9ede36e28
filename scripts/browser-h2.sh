#!/usr/bin/env bash
# browser-h2.sh: a real browser over HTTPS. Headless Chromium (Debian's
# chromium, installed with apt-get when missing) loads a page of 50 assets
# (20 stylesheets, 20 scripts, 10 images) from ringhttpd, on each engine; the
# page reads performance.getEntriesByType('resource') after its load event
# and writes every asset's nextHopProtocol into the DOM, which --dump-dom
# prints. Passes when the page and all 50 assets came over "h2".
#
#   scripts/browser-h2.sh                 # uring and epoll
#   ENGINES=epoll scripts/browser-h2.sh
#   CHROMIUM=/path/to/chrome scripts/browser-h2.sh
#   BROWSER_SERVE_ARGS=--no-h2 scripts/browser-h2.sh   # extra server flags (this one must fail)
#
# Chromium runs with a new profile in a temporary directory, QUIC off, no
# network services of its own, and --ignore-certificate-errors for the test
# CA's certificate (scripts/tls-lib.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
ENGINES=${ENGINES:-uring epoll}
# shellcheck source=tls-lib.sh
. scripts/tls-lib.sh
CHROMIUM=${CHROMIUM:-}
if [ -z "$CHROMIUM" ]; then
	tl_need chromium chromium || exit 1
	CHROMIUM=$(command -v chromium)
fi
tl_init browser-h2 && tl_certs && tl_docroot || exit 1

# --- the page: 50 assets, each a distinct file -----------------------------
w=$TL_TMP/www
mkdir -p "$w/css" "$w/js" "$w/img"
# A 1x1 PNG.
png=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
{
	printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>50 assets</title>\n'
	for i in $(seq 1 20); do
		printf '.c%d { color: #%06x; }\n' "$i" "$i" >"$w/css/s$i.css"
		printf '<link rel="stylesheet" href="/css/s%d.css">\n' "$i"
	done
	for i in $(seq 1 20); do
		printf 'window.__loaded = (window.__loaded || 0) + 1; // script %d\n' "$i" >"$w/js/j$i.js"
		printf '<script src="/js/j%d.js"></script>\n' "$i"
	done
	printf '</head><body>\n'
	for i in $(seq 1 10); do
		base64 -d <<<"$png" >"$w/img/i$i.png"
		printf '<img src="/img/i%d.png" width="1" height="1" alt="">\n' "$i"
	done
	cat <<-'EOF'
		<pre id="result">pending</pre>
		<script>
		window.addEventListener('load', function () {
		  var nav = performance.getEntriesByType('navigation')[0];
		  var lines = ['page ' + (nav ? nav.nextHopProtocol : '?')];
		  performance.getEntriesByType('resource').forEach(function (e) {
		    lines.push('asset ' + e.nextHopProtocol + ' ' + new URL(e.name).pathname);
		  });
		  lines.push('scripts-run ' + window.__loaded);
		  document.getElementById('result').textContent = 'BEGIN\n' + lines.join('\n') + '\nEND';
		});
		</script>
		</body></html>
	EOF
} >"$w/page50.html"

fail=0
for e in $ENGINES; do
	if [ "$e" = uring ] && ! tl_uring_ok; then
		echo "browser-h2: $e: skip (io_uring unusable here: ringhttpd probe)"
		continue
	fi
	# shellcheck disable=SC2086
	if ! tl_serve "$e" ${BROWSER_SERVE_ARGS:-}; then
		echo "browser-h2: $e: FAIL (server did not start)"
		fail=1
		continue
	fi
	profile=$(mktemp -d "$TL_TMP/profile.XXXXXX")
	dom=$TL_TMP/dom-$e.html
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-dev-shm-usage --user-data-dir="$profile" --ignore-certificate-errors \
		--virtual-time-budget=15000 --dump-dom "https://localhost:${TL_TLS##*:}/page50.html" \
		>"$dom" 2>"$TL_TMP/chromium-$e.log"
	rc=$?
	tl_stop
	# The <pre> holds "BEGIN", one line per entry, "END" (after its tag).
	res=$(sed -n '/BEGIN$/,/^END/p' "$dom" | sed '1d;$d')
	if [ -z "$res" ]; then
		echo "browser-h2: $e: FAIL (chromium exit $rc, no result in the page: $(grep -m1 -iE 'error|fatal' "$TL_TMP/chromium-$e.log" | cut -c1-200))"
		fail=1
		continue
	fi
	page=$(sed -n 's/^page //p' <<<"$res")
	nassets=$(grep -c '^asset ' <<<"$res")
	nh2=$(grep -c '^asset h2 ' <<<"$res")
	protos=$(grep '^asset ' <<<"$res" | cut -d' ' -f2 | sort | uniq -c | awk '{printf "%s%s x%s", (NR>1?", ":""), ($2==""?"(empty)":$2), $1}')
	ran=$(sed -n 's/^scripts-run //p' <<<"$res")
	if [ "$page" = h2 ] && [ "$nassets" = 50 ] && [ "$nh2" = 50 ] && [ "$ran" = 20 ]; then
		echo "browser-h2: $e: ok: page h2, $nassets assets: $protos; $ran of 20 scripts ran ($("$CHROMIUM" --version 2>/dev/null | head -n 1))"
	else
		echo "browser-h2: $e: FAIL: page ${page:-?}, $nassets assets (want 50): ${protos:-none}; ${ran:-?} of 20 scripts ran"
		grep '^asset ' <<<"$res" | grep -v '^asset h2 ' | head -n 10 | sed 's/^/    /'
		fail=1
	fi
done
exit $fail
