#!/usr/bin/env bash
# fuzz-ci.sh: run every Go fuzz target of the main module briefly, on top of
# its checked-in corpus (testdata/fuzz/<Target>/) and its f.Add seeds.
# Exits non-zero when any target finds a crash. Go writes the failing input
# under the package's testdata/fuzz/<Target>/; this script moves it out to
# a directory it names (FOUND_DIR, default a new /tmp/fuzz-found.*), so that
# the steps after it test the tree as committed, not a new input that fails
# them all a second time. Copy it back and commit it as a regression case
# with the fix.
#
#   scripts/fuzz-ci.sh            # 30 s in all split over the targets, at least 5 s each
#   TOTAL=120 scripts/fuzz-ci.sh  # a longer run
#   PER=10 scripts/fuzz-ci.sh     # a fixed time per target instead
#
# Targets are found with: grep -rn "^func Fuzz" --include=*_test.go (bench/,
# a separate module, is skipped), so a new package's targets join by
# themselves; check their corpus in under <pkg>/testdata/fuzz/<Target>/
# (copy it from $(go env GOCACHE)/fuzz/<module>/<pkg>/<Target>/ after a
# longer run).
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when -fuzztime runs out (go.dev/issue/75804, fixed in 1.27): no
# input is written. Such a target is run once more and, if that passes,
# marked PASS* with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

TOTAL=${TOTAL:-30}
# Fuzzing workers: the machine is shared and has 2 cores.
PARALLEL=${PARALLEL:-2}

mapfile -t targets < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . |
	grep -v '^./bench/' |
	sed -E 's|^\./([^:]*)/[^/:]*:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort -u)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz-ci: no fuzz targets found" >&2
	exit 1
fi
per=${PER:-$(( TOTAL / ${#targets[@]} ))}
# Below a few seconds a target spends its time gathering baseline coverage.
if [ "$per" -lt 5 ]; then per=5; fi

# found_out moves inputs Go wrote for pkg's target name (files git does not
# track) out of the tree.
found_out() {
	local dir="$1/testdata/fuzz/$2" f
	git rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 0
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		FOUND_DIR=${FOUND_DIR:-$(mktemp -d /tmp/fuzz-found.XXXXXX)}
		mkdir -p "$FOUND_DIR/$dir"
		mv "$f" "$FOUND_DIR/$dir/"
		echo "fuzz-ci: new failing input moved to $FOUND_DIR/$f (copy it back to $f to keep it)"
	done < <(git ls-files --others --exclude-standard -- "$dir")
}

echo "fuzz-ci: ${#targets[@]} targets, ${per}s each"
fail=0
declare -a rows
for t in "${targets[@]}"; do
	pkg=${t% *}
	name=${t#* }
	log=$(mktemp /tmp/fuzz-ci.XXXXXX)
	t0=$(date +%s)
	corpus=0
	if [ -d "$pkg/testdata/fuzz/$name" ]; then corpus=$(find "$pkg/testdata/fuzz/$name" -type f | wc -l); fi
	note=
	set +e
	# -run=^$ skips the package's other tests; the fuzz target's seed corpus
	# runs first as part of -fuzz.
	go test "./$pkg" -run='^$' -fuzz="^${name}\$" -fuzztime="${per}s" -parallel="$PARALLEL" >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
		echo "fuzz-ci: $pkg $name: 'context deadline exceeded' without an input (go.dev/issue/75804): once more"
		go test "./$pkg" -run='^$' -fuzz="^${name}\$" -fuzztime="${per}s" -parallel="$PARALLEL" >"$log" 2>&1
		rc=$?
		note=" (PASS*: retried after go.dev/issue/75804)"
	fi
	set -e
	dt=$(( $(date +%s) - t0 ))
	execs=$(grep -Eo 'execs: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
	if [ $rc -eq 0 ]; then
		rows+=("$(printf '%-10s %-18s PASS %4ss %10s execs %5s corpus%s' "$pkg" "$name" "$dt" "${execs:-?}" "$corpus" "$note")")
	else
		fail=1
		rows+=("$(printf '%-10s %-18s FAIL %4ss (log: %s)' "$pkg" "$name" "$dt" "$log")")
		echo "---- $pkg $name failed:"
		tail -40 "$log"
		found_out "$pkg" "$name"
		continue
	fi
	rm -f "$log"
done
echo
printf '%s\n' "${rows[@]}"
exit $fail
