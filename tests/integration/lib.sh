# Shared helpers for the integration tests: start real processes on
# ephemeral loopback ports, stop them by PID, assert on what they answer.
# Sourced by run.sh; every function here is small on purpose.

WORK=${WORK:?}
BIN=${BIN:?}
ROOT=${ROOT:?}

# Sanitizer reports go to files so a test can fail on them after a stop.
ASAN_DIR="$WORK/asan"
export ASAN_OPTIONS="log_path=$ASAN_DIR/report:detect_leaks=1:quarantine_size_mb=16:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$ASAN_DIR/ubsan:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$ROOT/tests/integration/lsan.supp"
mkdir -p "$ASAN_DIR"

CASE_FAILED=0
PIDS=()

fail() {
	echo "    FAIL: $*"
	CASE_FAILED=1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

expect_ne() {
	[ "$2" != "$3" ] || fail "$1: expected anything but '$2'"
}

# expect_contains WHAT HAYSTACK NEEDLE
expect_contains() {
	case "$2" in
	*"$3"*) ;;
	*) fail "$1: '$3' not found in: $(printf '%s' "$2" | head -c 400)" ;;
	esac
}

expect_not_contains() {
	case "$2" in
	*"$3"*) fail "$1: '$3' must not appear in: $(printf '%s' "$2" | head -c 400)" ;;
	esac
}

# expect_lt WHAT A B  (numbers, decimals allowed)
expect_lt() {
	awk -v a="$2" -v b="$3" 'BEGIN { exit !(a < b) }' || fail "$1: expected $2 < $3"
}

# ticks SECONDS: the number of 50 ms steps in SECONDS (decimals allowed).
ticks() {
	awk -v s="$1" 'BEGIN { printf "%d", s * 20 }'
}

# wait_until SECONDS COMMAND...: runs COMMAND every 50 ms until it succeeds
# (0) or SECONDS have passed (1).
wait_until() {
	local i n
	n=$(ticks "$1")
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# wait_file FILE SECONDS: until FILE is not empty.
wait_file() {
	wait_until "$2" test -s "$1"
}

# wait_log FILE PATTERN SECONDS: waits for a line matching PATTERN (grep -E).
wait_log() {
	wait_until "$3" grep -qsE "$2" "$1"
}

# start_backend NAME: starts the demo backend; sets NAME_PORT and NAME_PID.
start_backend() {
	local name=$1 ready="$WORK/$1.ready"
	rm -f "$ready"
	"$BIN/demo-backend" --listen 127.0.0.1:0 --root "$ROOT/deploy/demo/site" \
		--ready-file "$ready" 2>"$WORK/$name.log" &
	local pid=$!
	PIDS+=("$pid")
	wait_file "$ready" 10 || { fail "backend $name did not start"; return 1; }
	printf -v "${name}_PORT" '%s' "$(head -n1 "$ready")"
	printf -v "${name}_PID" '%s' "$pid"
}

# write_config FILE UPSTREAM_PORT [EXTRA_SERVER_YAML] [EXTRA_UPSTREAM_YAML]
write_config() {
	{
		echo "server:"
		echo "  listen: 127.0.0.1:0"
		echo "  admin_listen: 127.0.0.1:0"
		echo "  client_timeout_s: 5"
		echo "  drain_timeout_ms: 5000"
		[ -n "${3:-}" ] && printf '%s\n' "$3"
		echo "upstream:"
		echo "  url: http://127.0.0.1:$2"
		echo "  timeout_ms: 3000"
		[ -n "${4:-}" ] && printf '%s\n' "$4"
	} >"$1"
}

# start_gateway NAME CONFIG: sets NAME_PORT, NAME_PID; log in $WORK/NAME.log
start_gateway() {
	local name=$1 ready="$WORK/$1.ready"
	rm -f "$ready"
	"$BIN/paywalld" -c "$2" --ready-file "$ready" 2>"$WORK/$name.log" &
	local pid=$!
	PIDS+=("$pid")
	wait_file "$ready" 10 || { fail "gateway $name did not start: $(tail -n 5 "$WORK/$name.log")"; return 1; }
	printf -v "${name}_PORT" '%s' "$(head -n1 "$ready")"
	printf -v "${name}_ADMIN" '%s' "$(sed -n 2p "$ready")"
	printf -v "${name}_PID" '%s' "$pid"
}

# stop PID [EXPECTED_EXIT]: SIGTERM, wait up to 15 s, then KILL and fail.
stop() {
	local pid=$1 want=${2:-0} i rc
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		fail "process $pid did not stop within 15 s of SIGTERM"
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	[ "$rc" = "$want" ] || fail "process $pid exited with $rc, expected $want"
	check_sanitizers
}

# Fails the case when a sanitizer wrote a report (leak, overflow, UB).
check_sanitizers() {
	local f
	for f in "$ASAN_DIR"/*; do
		[ -e "$f" ] || continue
		fail "sanitizer report $(basename "$f"):"
		head -n 30 "$f" | sed 's/^/      /'
		mv "$f" "$ASAN_DIR.seen.$(basename "$f").$RANDOM"
	done
}

stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && stop "$pid"
	done
	PIDS=()
}

# http ARGS...: curl with a bounded time, no proxy from the environment.
http() {
	curl --noproxy '*' -s -m 20 "$@"
}

# status URL [curl args]: prints the HTTP status code.
status() {
	local url=$1
	shift
	http -o /dev/null -w '%{http_code}' "$@" "$url"
}

# header NAME FILE: the value of a response header from a `curl -D` dump.
header() {
	tr -d '\r' <"$2" | awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" -F': ' \
		'tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }'
}

# raw PORT: sends stdin as raw bytes to 127.0.0.1:PORT and prints the reply.
raw() {
	local port=$1
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	cat >&3
	timeout 5 cat <&3
	exec 3<&-
}

# backend_stat PORT FIELD: a counter from the demo backend's /stats.
backend_stat() {
	http "http://127.0.0.1:$1/stats" | sed -E "s/.*\"$2\": *([0-9]+).*/\1/"
}

# start_redis NAME [redis-server args...]: a throwaway redis-server on
# loopback without persistence (so SIGTERM exits 0); sets NAME_PORT and
# NAME_PID (and NAME_PASS from --requirepass), log appended to
# $WORK/NAME.log. A free port is picked unless REDIS_PORT is set: to
# restart a stopped Redis where the gateways expect it, call
#   REDIS_PORT=$NAME_PORT start_redis NAME ...
start_redis() {
	local name=$1 log="$WORK/$1.log" port try i n pid ready pass=""
	shift
	for ((i = 1; i <= $#; i++)); do
		[ "${!i}" = --requirepass ] && { n=$((i + 1)); pass=${!n}; }
	done
	for ((try = 0; try < 5; try++)); do
		port=${REDIS_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
		ready=$(grep -c 'Ready to accept connections' "$log" 2>/dev/null)
		redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
			--dir "$WORK" --dbfilename "$name.rdb" "$@" >>"$log" 2>&1 &
		pid=$!
		n=$(ticks 10)
		for ((i = 0; i < n; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			[ "$(grep -c 'Ready to accept connections' "$log")" -gt "${ready:-0}" ] && break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null && [ "$(grep -c 'Ready to accept connections' "$log")" -gt "${ready:-0}" ]; then
			PIDS+=("$pid")
			printf -v "${name}_PORT" '%s' "$port"
			printf -v "${name}_PID" '%s' "$pid"
			printf -v "${name}_PASS" '%s' "$pass"
			return 0
		fi
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		[ -n "${REDIS_PORT:-}" ] && break	# a fixed port: no other to try
	done
	fail "redis $name did not start: $(tail -n 3 "$log")"
	return 1
}

# redis_cli NAME ARGS...: redis-cli against the Redis started as NAME (with
# its password, if any), bounded in time.
redis_cli() {
	local port="$1_PORT" pass="$1_PASS"
	shift
	if [ -n "${!pass:-}" ]; then
		REDISCLI_AUTH="${!pass}" timeout 10 redis-cli --no-auth-warning -h 127.0.0.1 -p "${!port}" "$@"
	else
		timeout 10 redis-cli -h 127.0.0.1 -p "${!port}" "$@"
	fi
}
