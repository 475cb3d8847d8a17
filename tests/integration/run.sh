#!/usr/bin/env bash
# Integration tests: the real gateway in front of the real demo backend, on
# ephemeral loopback ports, driven by curl. Usage: run.sh BINDIR [PATTERN]
# Each case is a function t_NAME in cases/*.sh; the last line of output is
# "N passed, N failed".
set -u

BIN=$(cd "${1:?usage: run.sh BINDIR [PATTERN]}" && pwd)
PATTERN=${2:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/paywalld-it.XXXXXX)
WORK_ROOT=$WORK
export BIN ROOT WORK

# shellcheck source=lib.sh
. "$ROOT/tests/integration/lib.sh"
for f in "$ROOT"/tests/integration/cases/*.sh; do
	# shellcheck disable=SC1090
	. "$f"
done

SHARED_PIDS=()
cleanup() {
	stop_all
	local pid
	for pid in "${SHARED_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK_ROOT"
}
trap cleanup EXIT

# One backend shared by the cases that only read articles from it.
start_backend be || { echo "0 passed, 1 failed"; exit 1; }
SHARED_PIDS=("${PIDS[@]}")
PIDS=()

passed=0
failed=0
failures=()
for t in $(declare -F | awk '{print $3}' | grep '^t_' | sort); do
	[ -n "$PATTERN" ] && [[ "$t" != *$PATTERN* ]] && continue
	CASE_FAILED=0
	start=$(date +%s.%N)
	# Each case works in a directory of its own; the shared backend stays in the root.
	WORK="$WORK_ROOT/$t"
	mkdir -p "$WORK"
	"$t"
	stop_all
	check_sanitizers
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	if [ "$CASE_FAILED" = 0 ]; then
		passed=$((passed + 1))
		echo "ok   $t (${secs}s)"
	else
		failed=$((failed + 1))
		failures+=("$t")
		echo "FAIL $t (${secs}s)"
	fi
done

# The shared backend must stop cleanly too.
WORK=$WORK_ROOT
for pid in "${SHARED_PIDS[@]}"; do
	CASE_FAILED=0
	stop "$pid"
	[ "$CASE_FAILED" = 0 ] || { failed=$((failed + 1)); failures+=("shared backend stop"); }
done
SHARED_PIDS=()

[ "$failed" -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
