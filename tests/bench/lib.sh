# shellcheck shell=bash
# Helpers shared by the benchmark scripts; sourced, not run:
#
#   PROG=bench
#   . "$(dirname "$0")/lib.sh"
#
# Source it before any cd: $0 may be a relative path. PROG prefixes every
# message. A script using start_work also lists each process it starts in
# PIDS, so that all of them are stopped on exit. print_tables calls the
# script's own machine_line and report.

WORK="" # the private temp dir, from start_work
PIDS=() # every process started here, stopped by stop_all

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}

log() {
	echo "$PROG: $*" >&2
}

# usage STATUS: the header comment from "# Usage:" to its end (the first
# blank line), so the help text lives in one place.
usage() {
	sed -n '/^# Usage:/,/^$/s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

is_uint() {
	[[ $1 =~ ^[1-9][0-9]*$ ]]
}

# require_tools TOOL...: dies on the first one not found.
require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || die "required tool not found: $t"
	done
}

# --- processes --------------------------------------------------------------

# PID and its direct children (nginx master + workers; paywalld + any helper).
tree_pids() {
	echo "$1"
	pgrep -P "$1" || true
}

alive() {
	kill -0 "$1" 2>/dev/null
}

# SIGTERM to every PID in PIDS, then wait for it and its children; SIGKILL
# whatever of them is still there after 5 s.
stop_all() {
	local pid p all=() i
	for pid in "${PIDS[@]}"; do
		alive "$pid" || continue
		mapfile -t all < <(tree_pids "$pid")
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			local left=0
			for p in "${all[@]}"; do alive "$p" && left=1; done
			[ "$left" -eq 0 ] && break
			sleep 0.1
		done
		for p in "${all[@]}"; do
			if alive "$p"; then
				log "PID $p ignored SIGTERM for 5 s, sending SIGKILL"
				kill -KILL "$p" 2>/dev/null || true
			fi
		done
		wait "$pid" 2>/dev/null || true
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_all
	[ -n "$WORK" ] && rm -rf -- "$WORK"
	exit "$rc"
}

# start_work NAME: WORK=a new temp dir NAME.XXXXXX. From here on, any exit
# (Ctrl-C and SIGTERM too) stops PIDS and removes WORK.
start_work() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
}

# A free TCP port on 127.0.0.1. Picked outside the kernel's ephemeral range
# (ip_local_port_range) when possible, and with no socket on it in ANY state:
# wrk's TIME_WAIT client sockets from an earlier run make bind() fail too.
free_port() {
	local lo=32768 hi=60999 base=10000 span p i
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	if [ "$lo" -gt 12000 ]; then
		span=$((lo - base))
	elif [ "$hi" -lt 63000 ]; then
		base=$((hi + 1)) span=$((65535 - hi))
	else
		base=1024 span=64511
	fi
	for ((i = 0; i < 200; i++)); do
		p=$((base + (RANDOM * 32768 + RANDOM) % span))
		if [ -z "$(ss -Htan "sport = :$p")" ]; then
			echo "$p"
			return 0
		fi
	done
	die "could not find a free port"
}

# wait_ready FILE LINES PID NAME: until FILE has LINES whole lines (10 s).
# Counting newlines, not bytes, never reads a half-written port.
wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		alive "$3" || return 1
		[ -s "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	log "$4 did not write its ready file within 10 s"
	return 1
}

# --- measurement ------------------------------------------------------------

# cpu_ticks PID...: summed utime+stime (clock ticks) of the given processes
# (each with all its threads). /proc/PID/stat fields 14 and 15; the comm
# field (2) may contain spaces, so split after its closing parenthesis
# (field 3 is then the first word).
cpu_ticks() {
	local pid stat rest total=0 fields
	for pid in "$@"; do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || die "server process $pid vanished during the run"
		rest=${stat##*) }
		read -ra fields <<<"$rest"
		total=$((total + fields[11] + fields[12]))
	done
	echo "$total"
}

# parse_wrk FILE: prints "rps p50_us p99_us requests errors" (errors: socket
# errors plus non-2xx/3xx responses).
parse_wrk() {
	awk '
	function us(s,   v) {
		v = s + 0
		if (s ~ /us$/) return v
		if (s ~ /ms$/) return v * 1000
		if (s ~ /m$/) return v * 60e6
		if (s ~ /h$/) return v * 3600e6
		if (s ~ /s$/) return v * 1e6
		return -1
	}
	$1 == "50%" { p50 = us($2) }
	$1 == "99%" { p99 = us($2) }
	/ requests in / { req = $1 }
	$1 == "Requests/sec:" { rps = $2 }
	/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx responses:/ { err += $NF }
	END {
		if (rps == "" || req == "" || p50 == "" || p99 == "") exit 1
		printf "%s %.1f %.1f %d %d\n", rps, p50, p99, req, err
	}' "$1"
}

# --- report -----------------------------------------------------------------

# MEDIAN_AWK: awk source of median(S), the median of the numbers in the
# string S (space separated). The reports put it before their own program.
# shellcheck disable=SC2034 # used by the scripts that source this
MEDIAN_AWK='
	function median(s,   a, k, m, i, j) {
		k = split(s, a, " ")
		# insertion sort, k is tiny
		for (i = 2; i <= k; i++) { m = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > m + 0; j--) a[j + 1] = a[j]; a[j + 1] = m }
		return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}'

# machine_info: "nproc=N; cpu=MODEL; kernel=RELEASE", how every machine line
# starts.
machine_info() {
	local model
	model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	printf 'nproc=%s; cpu=%s; kernel=%s' "$(nproc)" "${model:-unknown}" "$(uname -r)"
}

wrk_version() {
	wrk -v 2>&1 | head -n 1 | sed 's/ *\[.*//; s/ *Copyright.*//' || true
}

utc_now() {
	date -u '+%Y-%m-%dT%H:%M:%SZ'
}

# print_tables: the machine line and the text table on stdout; with --out,
# both in Markdown to OUT too. machine_line and report FORMAT (text|md) are
# the script's own.
print_tables() {
	local machine
	machine=$(machine_line)
	echo
	echo "machine: $machine"
	report text
	if [ -n "$OUT" ]; then
		{
			echo "Machine: $machine"
			echo
			report md
		} >"$OUT"
		log "wrote Markdown table to $OUT"
	fi
}
