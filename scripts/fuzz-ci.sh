#!/usr/bin/env bash
# fuzz-ci.sh: run every Go fuzz target of the main module briefly, on top of
# its checked-in corpus (testdata/fuzz/<Target>/) and its f.Add seeds.
# Exits non-zero when any target finds a crash; the failing input is then
# written by Go under the package's testdata/fuzz/<Target>/ (commit it as a
# regression case once fixed).
#
#   scripts/fuzz-ci.sh            # about 30 s in all, split over the targets
#   TOTAL=120 scripts/fuzz-ci.sh  # a longer run
#   PER=10 scripts/fuzz-ci.sh     # a fixed time per target instead
#
# Targets are found with: grep -rn "^func Fuzz" --include=*_test.go (bench/,
# a separate module, is skipped).
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
if [ "$per" -lt 2 ]; then per=2; fi

echo "fuzz-ci: ${#targets[@]} targets, ${per}s each"
fail=0
declare -a rows
for t in "${targets[@]}"; do
	pkg=${t% *}
	name=${t#* }
	log=$(mktemp /tmp/fuzz-ci.XXXXXX)
	t0=$(date +%s)
	set +e
	# -run=^$ skips the package's other tests; the fuzz target's seed corpus
	# runs first as part of -fuzz.
	go test "./$pkg" -run='^$' -fuzz="^${name}\$" -fuzztime="${per}s" -parallel="$PARALLEL" >"$log" 2>&1
	rc=$?
	set -e
	dt=$(( $(date +%s) - t0 ))
	execs=$(grep -Eo 'execs: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
	if [ $rc -eq 0 ]; then
		rows+=("$(printf '%-10s %-16s PASS %4ss %10s execs' "$pkg" "$name" "$dt" "${execs:-?}")")
	else
		fail=1
		rows+=("$(printf '%-10s %-16s FAIL %4ss (log: %s)' "$pkg" "$name" "$dt" "$log")")
		echo "---- $pkg $name failed:"
		tail -40 "$log"
		continue
	fi
	rm -f "$log"
done
echo
printf '%s\n' "${rows[@]}"
exit $fail
