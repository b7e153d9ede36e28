#!/bin/busybox sh
# shellcheck shell=dash disable=SC3045 # busybox ash: ulimit -n and -l exist
# kernel-init.sh: /init of the kernel-matrix initramfs (see scripts/kernel-matrix.sh).
#
# Runs as PID 1 inside a qemu guest booted from a Debian kernel. It mounts the
# pseudo filesystems, brings loopback up, runs `ringhttpd probe`, every test
# binary under /t, and a serve smoke test of ringhttpd per backend, then powers
# off. Everything goes to the serial console; the host parses these lines:
#
#   KM-AS uid=...                              (KM_UID set) identity tests run under
#   KM-INIT kernel=RELEASE nproc=N mem_kib=N uid=N memlock=KiB nofile=N emulated=0|1 bin_timeout=S
#   KM-UNAME uname -a                          (its "Debian X" is the package version)
#   KM-MODULES m1 m2 !m3                       kernel TLS modules insmod'ed from
#                                              /lib/modules/RELEASE (!: insmod failed)
#   KM-PROBE-BEGIN / KM-PROBE-END rc=N         ringhttpd probe output between them
#   KM-BEGIN pkg=NAME                          test output (-test.v) follows
#   RESULT pkg=NAME status=pass|fail|skip-all|timeout|no-tests rc=N elapsed=S
#          pass=N fail=N skip=N                 (top-level tests only)
#   RESULT pkg=serve-BACKEND status=pass|fail|skip-all elapsed=S reason="..."
#   KM-DONE
#
# /km.conf (written by the host) sets KM_BIN_TIMEOUT (seconds per binary;
# KM_BIN_TIMEOUT_EMULATED instead under software emulation),
# KM_TESTFLAGS (extra flags for every test binary), KM_SERVE (1: run the
# serve smoke test) and KM_UID (run probe, tests and serve as this uid).
# km_emulated=1 on the kernel command line (the host adds it under software
# emulation, so one initramfs serves KVM guests and their TCG retries) exports
# RINGHTTPD_TEST_EMULATED=1 to the tests.

/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
export PATH=/bin HOME=/root TMPDIR=/tmp LANG=C
umask 022
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /dev/pts /dev/shm /root
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm 2>/dev/null
# Keep kernel messages off the console so they do not split result lines.
echo 1 >/proc/sys/kernel/printk 2>/dev/null
ip link set lo up
hostname guest
# Room for tests with thousands of loopback connections (both ends in-process).
ulimit -n 65536 2>/dev/null

KM_BIN_TIMEOUT=180
KM_TESTFLAGS=
KM_SERVE=1
KM_UID=
KM_EMULATED=
# shellcheck source=/dev/null
[ -f /km.conf ] && . /km.conf
case " $(cat /proc/cmdline) " in *" km_emulated=1 "*) KM_EMULATED=1 ;; esac
[ "$KM_EMULATED" = 1 ] && [ -n "${KM_BIN_TIMEOUT_EMULATED:-}" ] && KM_BIN_TIMEOUT=$KM_BIN_TIMEOUT_EMULATED
# Tests may read this to stretch timing assumptions: under software emulation
# (qemu TCG) everything runs about ten times slower than on the host.
[ "$KM_EMULATED" = 1 ] && export RINGHTTPD_TEST_EMULATED=1
# /bin/km-as runs its arguments as KM_UID when set: unprivileged, so without
# CAP_IPC_LOCK io_uring memory counts against RLIMIT_MEMLOCK on kernels before 5.12.
if [ -n "$KM_UID" ]; then
	echo "km:x:$KM_UID:$KM_UID:km:/tmp:/bin/sh" >>/etc/passwd
	echo "km:x:$KM_UID:" >>/etc/group
	cat >/bin/km-as <<-'EOF'
		#!/bin/sh
		# busybox su takes no "--": pass the command as one quoted string.
		cmd=exec
		for a in "$@"; do
			cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"
		done
		exec su -p -s /bin/sh -c "$cmd" km
	EOF
else
	printf '#!/bin/sh\nexec "$@"\n' >/bin/km-as
fi
chmod 755 /bin/km-as
[ -n "$KM_UID" ] && echo "KM-AS $(km-as id)"

memkib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
echo "KM-INIT kernel=$(uname -r) nproc=$(nproc) mem_kib=$memkib uid=${KM_UID:-0} memlock=$(ulimit -l) nofile=$(ulimit -n) emulated=${KM_EMULATED:-0} bin_timeout=$KM_BIN_TIMEOUT"
echo "KM-UNAME $(uname -a)"
ip -o addr show dev lo | sed 's/^/KM-LO /'

# Kernel TLS: Debian's cloud kernels build tls and its ciphers as modules.
# When the host put them in /lib/modules/RELEASE/ (uncompressed .ko), load
# them in dependency order; one that is missing is built in or absent (then
# `ringhttpd probe` and the tlsrec tests say kernel TLS is unavailable).
kmods=/lib/modules/$(uname -r)
if [ -d "$kmods" ]; then
	loaded=
	for m in crypto_null gf128mul ctr ghash-generic gcm libchacha chacha_generic \
		libpoly1305 poly1305_generic chacha20poly1305 tls; do
		[ -f "$kmods/$m.ko" ] || continue
		if insmod "$kmods/$m.ko" 2>/dev/null; then
			loaded="$loaded $m"
		else
			loaded="$loaded !$m"
		fi
	done
	echo "KM-MODULES$loaded"
fi

# now prints the uptime in hundredths of a second.
now() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
# secs prints the time since $1 (hundredths) as seconds with two decimals.
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f\n", (b - a) / 100 }'; }

if [ -x /bin/ringhttpd ]; then
	echo "KM-PROBE-BEGIN"
	timeout 60 km-as /bin/ringhttpd probe
	echo "KM-PROBE-END rc=$?"
fi

for dir in /t/*/; do
	[ -d "$dir" ] || continue
	name=$(basename "$dir")
	bin="$dir$name.test"
	[ -x "$bin" ] || continue
	cd "$dir" || continue
	gotimeout=$((KM_BIN_TIMEOUT - 15))
	[ "$gotimeout" -lt 10 ] && gotimeout=10
	echo "KM-BEGIN pkg=$name"
	t0=$(now)
	# -test.timeout panics with every goroutine's stack before the outer
	# timeout kills a binary that ignores it. Output is streamed to the
	# console as it runs, so a guest that hangs or dies still shows how far
	# its tests got.
	set -f # KM_TESTFLAGS is split into words but never globbed
	{
		# shellcheck disable=SC2086 # KM_TESTFLAGS is a list of flags
		timeout -s KILL "$KM_BIN_TIMEOUT" km-as "$bin" -test.short -test.v -test.count=1 \
			-test.timeout="${gotimeout}s" $KM_TESTFLAGS
		echo $? >/tmp/km.rc
	} 2>&1 | tee "/tmp/$name.out"
	set +f
	rc=$(cat /tmp/km.rc)
	el=$(secs "$t0")
	npass=$(grep -c '^--- PASS' "/tmp/$name.out")
	nfail=$(grep -c '^--- FAIL' "/tmp/$name.out")
	nskip=$(grep -c '^--- SKIP' "/tmp/$name.out")
	if [ "$rc" -eq 137 ] || grep -q '^panic: test timed out' "/tmp/$name.out"; then
		status=timeout
	elif [ "$rc" -ne 0 ]; then
		status=fail
	elif [ "$npass" -eq 0 ] && [ "$nskip" -gt 0 ]; then
		status=skip-all
	elif [ "$npass" -eq 0 ]; then
		status=no-tests
	else
		status=pass
	fi
	echo "RESULT pkg=$name status=$status rc=$rc elapsed=$el pass=$npass fail=$nfail skip=$nskip"
	rm -f "/tmp/$name.out"
	cd /
done

# serve_smoke BACKEND: start `ringhttpd serve` on a fresh root, fetch one
# small and one large file with wget, compare bytes, stop it with SIGTERM
# (it must exit 0 within 15 s).
serve_smoke() {
	b=$1
	port=$((18080 + ${2:-0}))
	root=/tmp/www-$b
	mkdir -p "$root"
	echo "hello from $(uname -r) via $b" >"$root/index.html"
	dd if=/dev/urandom of="$root/big.bin" bs=65536 count=40 2>/dev/null
	echo "KM-BEGIN pkg=serve-$b"
	t0=$(now)
	km-as /bin/ringhttpd serve --root "$root" --listen "127.0.0.1:$port" --backend "$b" \
		>"/tmp/serve-$b.log" 2>&1 &
	pid=$!
	ok=0
	# busybox 1.35's wget -T crashes: timeout bounds each fetch instead.
	while [ $(($(now) - t0)) -lt 2000 ]; do
		if ! kill -0 $pid 2>/dev/null; then break; fi
		if timeout 5 wget -q -O /tmp/got.html "http://127.0.0.1:$port/index.html" 2>/dev/null; then
			ok=1
			break
		fi
		sleep 0.2
	done
	status=fail
	reason=
	if [ $ok -eq 1 ]; then
		if ! cmp -s /tmp/got.html "$root/index.html"; then
			reason="index.html: body differs"
		elif ! timeout 30 wget -q -O /tmp/got.bin "http://127.0.0.1:$port/big.bin"; then
			reason="big.bin: request failed"
		elif ! cmp -s /tmp/got.bin "$root/big.bin"; then
			reason="big.bin: body differs"
		else
			status=pass
		fi
		kill -TERM $pid 2>/dev/null
		j=0
		while kill -0 $pid 2>/dev/null && [ $j -lt 75 ]; do sleep 0.2; j=$((j + 1)); done
		if kill -0 $pid 2>/dev/null; then
			kill -KILL $pid 2>/dev/null
			status=fail
			reason="${reason:+$reason; }did not exit within 15 s of SIGTERM"
		else
			wait $pid
			rc=$?
			if [ $rc -ne 0 ]; then
				status=fail
				reason="${reason:+$reason; }exit status $rc after SIGTERM, want 0"
			fi
		fi
	elif kill -0 $pid 2>/dev/null; then
		kill -KILL $pid 2>/dev/null
		reason="no answer on 127.0.0.1:$port within 20 s"
	else
		wait $pid
		rc=$?
		last=$(grep -v '^[[:space:]]*$' "/tmp/serve-$b.log" | tail -n 1 | tr -d '"')
		# A forced uring backend that refuses to start is a skip, not a
		# failure, only where --backend auto fell back to epoll on the same
		# kernel (its log line says so).
		if [ "$b" = uring ] && [ $rc -ne 0 ] && [ "$auto_fell_back" = 1 ]; then
			status=skip-all
		fi
		reason="exited rc=$rc before serving: $last"
	fi
	wait $pid 2>/dev/null
	if [ "$b" = auto ] && grep -qi epoll "/tmp/serve-$b.log"; then
		auto_fell_back=1
	fi
	sed 's/^/    serve| /' "/tmp/serve-$b.log"
	echo "RESULT pkg=serve-$b status=$status elapsed=$(secs "$t0") reason=\"$reason\""
	rm -rf "$root" /tmp/got.html /tmp/got.bin "/tmp/serve-$b.log"
}

if [ "$KM_SERVE" = 1 ] && [ -x /bin/ringhttpd ]; then
	if /bin/ringhttpd serve --help >/dev/null 2>&1; then
		n=0
		auto_fell_back=0
		for b in auto epoll uring; do
			serve_smoke $b $n
			n=$((n + 1))
		done
	else
		echo "KM-NOTE ringhttpd has no serve subcommand yet; serve smoke test not run"
	fi
fi

echo "KM-DONE"
sync
poweroff -f
# poweroff failed: exiting PID 1 panics the kernel, and panic=-1 with
# qemu -no-reboot ends the guest.
exit 1
