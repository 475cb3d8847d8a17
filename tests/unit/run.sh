#!/usr/bin/env bash
# Runs every DIR/*_test unit test program (Check), prints their output and
# sums their "NN%: Checks: N, Failures: F, Errors: E" lines. The last line is
# "unit: N passed, N failed"; the exit status is non-zero when a test failed,
# a program exited non-zero (crash, sanitizer report) or printed no summary.
# Usage: run.sh DIR
set -u

DIR=${1:?usage: run.sh DIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The tests find the committed fixtures here whatever the working directory.
export PAYWALLD_FIXTURES="$ROOT/tests/fixtures"

passed=0
failed=0
bad_programs=()
found=0

for prog in "$DIR"/*_test; do
	if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
		continue
	fi
	found=$((found + 1))
	name=$(basename "$prog")
	echo "== $name"
	out=$("$prog" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' | tail -n 1)
	if [ -z "$summary" ]; then
		# Died before Check could report: count the program as one failure.
		failed=$((failed + 1))
		bad_programs+=("$name (exit $rc, no Check summary)")
		continue
	fi
	checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$summary")
	failures=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$summary")
	errors=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$summary")
	passed=$((passed + checks - failures - errors))
	failed=$((failed + failures + errors))
	if [ "$rc" -ne 0 ]; then
		bad_programs+=("$name (exit $rc)")
	fi
done

if [ "$found" -eq 0 ]; then
	echo "unit: no *_test programs in $DIR" >&2
	echo "unit: 0 passed, 0 failed"
	exit 1
fi
for p in "${bad_programs[@]+"${bad_programs[@]}"}"; do
	echo "unit: FAILED $p"
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "${#bad_programs[@]}" -eq 0 ]
