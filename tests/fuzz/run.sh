#!/bin/sh
# Runs every BUILD_DIR/*_fuzz for SECONDS seconds on a scratch copy of its
# seed corpus (tests/fuzz/corpus/NAME/), so the committed corpus stays as it
# is. Crash, leak and timeout inputs go to tests/artifacts/fuzz/.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS
#
# Prints "fuzz NAME: ok (N runs)" or "fuzz NAME: FAILED" with the tail of
# its log, then "fuzz: N passed, N failed"; exits 1 when any failed.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR SECONDS" >&2
	exit 2
fi
build=$1
seconds=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
corpus_root=$root/tests/fuzz/corpus
artifacts=$root/tests/artifacts/fuzz

case $seconds in
'' | *[!0-9]*) echo "run.sh: SECONDS must be a whole number" >&2; exit 2 ;;
esac
mkdir -p "$artifacts" || exit 2
work=$(mktemp -d "${TMPDIR:-/tmp}/paywalld-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
found=0
for bin in "$build"/*_fuzz; do
	[ -x "$bin" ] || continue
	found=1
	name=$(basename "$bin" _fuzz)
	corpus=$work/$name
	log=$work/$name.log
	mkdir -p "$corpus"
	if [ -d "$corpus_root/$name" ]; then
		cp -R "$corpus_root/$name/." "$corpus/"
	fi
	# The teaser fixture pages seed the teaser target too; they live once,
	# in tests/fixtures/pages, and corpus/teaser keeps only fuzz-made seeds.
	if [ "$name" = teaser ]; then
		cp "$root"/tests/fixtures/pages/*.html "$corpus/"
	fi
	# Leak detection stays on: it is libFuzzer's default with ASan.
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=0 -close_fd_mask=3 \
		-artifact_prefix="$artifacts/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
		echo "fuzz $name: ok (${runs:-?} runs)"
		passed=$((passed + 1))
	else
		echo "fuzz $name: FAILED (exit $rc)"
		{
			grep -E 'property broken:|ERROR:|^SUMMARY:|Test unit written' "$log" | head -n 8
			echo "..."
			tail -n 15 "$log"
		} | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done

if [ "$found" -eq 0 ]; then
	echo "fuzz: no *_fuzz binaries in $build" >&2
	exit 2
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
