#!/usr/bin/env bash
# The metered reader's hot path through paywalld, per meter store (run by
# `make bench`, from the project root).
#
# One demo backend, and four gateways in front of it, one per target:
#
#   off     - /article/* and /echo/* are free routes: no visitor cookie work,
#             no meter. The gateway without the meter.
#   memory  - metered, meter.store: memory (in-process). The baseline store.
#   lmdb    - metered, meter.store: lmdb:DIR (a fresh directory).
#   redis   - metered, meter.store: redis://127.0.0.1:PORT/0, a private
#             redis-server (no RDB, no AOF) started here; meter.redis at its
#             defaults (pool_size 16, timeout_ms 50).
#
# Every request carries a signed visitor cookie (anonymous limit 100000, the
# largest a config allows). Three wrk variants per target:
#
#   reread   - every request GETs one article its visitor has already read
#              (/article/harbour-bridge-reopens): one check-and-count that
#              finds the article counted. The returning reader's hot path.
#   new      - every request GETs a different article, /echo/TAG-N (a wrk Lua
#              counter in the path: the article id is the normalized path and
#              the query is ignored), all for one visitor, fresh for each run:
#              every request counts a NEW article. That visitor's entries grow
#              to the run's request count, which the lmdb and memory stores
#              scan on each check (see BENCHMARKS.md).
#   new-many - the same, spread round-robin over VISITORS fresh visitors
#              (default 1024), so each holds few entries, as real readers do.
#
# Per run: wrk's req/s, p50, p99; the gateway's CPU per request (utime +
# stime from /proc); for redis also redis-server's CPU per request, Redis
# round trips per request (delta of the gateway's
# paywalld_meter_store_round_trips_total / requests wrk completed) and, as a
# cross-check from Redis itself, the delta of INFO commandstats
# cmdstat_evalsha calls / requests wrk completed.
#
# Correctness, checked on every run from the gateway's /metrics: no wrk
# socket errors or non-2xx; no non-2xx from the gateway other than requests
# wrk abandoned when it stopped ("client went away" in the gateway's log); no
# meter store error; every gated request decided full (reason meter; free
# for off). After every run a curl with the run's (first) cookie must get
# 200, X-Paywall-Decision: full and X-Meter-Remaining: limit - 1 for reread
# (its one article), exactly limit - (requests served + 1) for new, and what
# round-robin gives that visitor for new-many. Round trips per request are
# printed, not asserted (expected: ~1.00). Failed checks are listed at the
# end and make the exit status 1.
#
# Everything runs on 127.0.0.1 with ephemeral ports out of a private temp
# dir; every process started here is stopped by PID on exit.
#
# Usage: tests/bench/meter.sh [--duration S] [--rounds N] [--out FILE]
#                             [--gateway BIN]
# Environment: DURATION (default 5), ROUNDS (default 3), WRK_CONNECTIONS
# (default 64), VISITORS (default 1024), REDIS_SERVER (default
# redis-server), REDIS_CLI (default redis-cli). Flags win over the
# environment.

set -euo pipefail
PROG=meter-bench
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

GATEWAY=bin/paywalld
BACKEND=bin/demo-backend
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
VISITORS=${VISITORS:-1024}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
OUT=""
LIMIT=100000 # METER_LIMIT_MAX: the most a config may give
ARTICLE=/article/harbour-bridge-reopens
TARGETS=(off memory lmdb redis)
VARIANTS=(reread new new-many)

PROBLEMS=()
BE_PORT=""
BE_PID=""
REDIS_PORT=""
REDIS_PID=""
declare -A GW_PORT=() GW_ADMIN=() GW_PID=() REREAD_COOKIE=()

problem() {
	PROBLEMS+=("$*")
	log "PROBLEM: $*"
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--duration) [ $# -ge 2 ] || usage 2; DURATION=$2; shift 2 ;;
		--rounds) [ $# -ge 2 ] || usage 2; ROUNDS=$2; shift 2 ;;
		--out) [ $# -ge 2 ] || usage 2; OUT=$2; shift 2 ;;
		--gateway) [ $# -ge 2 ] || usage 2; GATEWAY=$2; shift 2 ;;
		-h | --help) usage 0 ;;
		*) log "unknown argument: $1"; usage 2 ;;
		esac
	done
	is_uint "$DURATION" || die "--duration / DURATION must be a positive integer (seconds)"
	is_uint "$ROUNDS" || die "--rounds / ROUNDS must be a positive integer"
	is_uint "$WRK_CONNECTIONS" || die "WRK_CONNECTIONS must be a positive integer"
	is_uint "$VISITORS" || die "VISITORS must be a positive integer"
}

check_tools() {
	require_tools wrk curl ss pgrep awk getconf base64 "$REDIS_SERVER" "$REDIS_CLI"
	[ -x "$GATEWAY" ] || die "gateway binary not found: $GATEWAY (run make first)"
	[ -x "$BACKEND" ] || die "demo backend not found: $BACKEND (run make first)"
}

# --- processes --------------------------------------------------------------

start_backend() {
	"$BACKEND" --listen 127.0.0.1:0 --root deploy/demo/site --ready-file "$WORK/be.ready" \
		2>"$WORK/be.log" &
	BE_PID=$!
	PIDS+=("$BE_PID")
	wait_ready "$WORK/be.ready" 1 "$BE_PID" backend || { cat "$WORK/be.log" >&2; die "demo backend did not start"; }
	BE_PORT=$(head -n 1 "$WORK/be.ready")
	log "demo backend on 127.0.0.1:$BE_PORT (PID $BE_PID)"
}

# A private redis-server: loopback only, no persistence. Retries a lost port.
start_redis() {
	local try i
	for ((try = 1; try <= 3; try++)); do
		REDIS_PORT=$(free_port)
		"$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
			--dir "$WORK" --logfile "$WORK/redis.log" --daemonize no &
		REDIS_PID=$!
		PIDS+=("$REDIS_PID")
		for ((i = 0; i < 100; i++)); do
			alive "$REDIS_PID" || break
			[ "$("$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && {
				log "redis-server on 127.0.0.1:$REDIS_PORT (PID $REDIS_PID)"
				return 0
			}
			sleep 0.1
		done
		alive "$REDIS_PID" && kill -TERM "$REDIS_PID" 2>/dev/null
		wait "$REDIS_PID" 2>/dev/null || true
		log "redis-server did not start on port $REDIS_PORT (attempt $try)"
	done
	cat "$WORK/redis.log" >&2 2>/dev/null || true
	die "redis-server did not start"
}

# gateway_config TARGET FILE
gateway_config() {
	local t=$1 f=$2 store
	{
		echo "server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}"
		echo "upstream: {url: \"http://127.0.0.1:$BE_PORT\"}"
		if [ "$t" = off ]; then
			echo "routes:"
			echo "  - {path: /article/*, access: free}"
			echo "  - {path: /echo/*, access: free}"
		else
			case $t in
			memory) store=memory ;;
			lmdb) store="lmdb:$WORK/lmdb" ;;
			redis) store="redis://127.0.0.1:$REDIS_PORT/0" ;;
			esac
			cat <<YAML
visitor:
  cookie: pw_vid
  secret_file: $WORK/visitor.key
  secure_cookie: false
meter:
  store: $store
  timezone: UTC
  anonymous: {limit: $LIMIT, period: 30d}
  registered: {limit: $LIMIT, period: 30d}
  on_store_error: closed
YAML
			# The documented defaults, written out so the table says what ran.
			[ "$t" = redis ] && echo "  redis: {key_prefix: \"paywalld-bench:\", pool_size: 16, timeout_ms: 50}"
			echo "routes:"
			echo "  - {path: /article/*, access: metered}"
			echo "  - {path: /echo/*, access: metered}"
		fi
	} >"$f"
}

start_gateway() {
	local t=$1 pid
	gateway_config "$t" "$WORK/gw-$t.yaml"
	"$GATEWAY" -c "$WORK/gw-$t.yaml" --ready-file "$WORK/gw-$t.ready" 2>"$WORK/gw-$t.log" &
	pid=$!
	PIDS+=("$pid")
	wait_ready "$WORK/gw-$t.ready" 2 "$pid" "gateway $t" ||
		{ tail -n 20 "$WORK/gw-$t.log" >&2; die "gateway ($t) did not start"; }
	GW_PID[$t]=$pid
	GW_PORT[$t]=$(sed -n 1p "$WORK/gw-$t.ready")
	GW_ADMIN[$t]=$(sed -n 2p "$WORK/gw-$t.ready")
	log "gateway $t on 127.0.0.1:${GW_PORT[$t]}, admin :${GW_ADMIN[$t]} (PID $pid)"
}

# --- probes -----------------------------------------------------------------

# gw_metrics TARGET: "full gated non2xx store_errors round_trips timeouts",
# where full counts decision=full with reason meter (free for off) and gated
# counts every decision.
gw_metrics() {
	local t=$1 reason=meter m
	[ "$t" = off ] && reason=free
	m=$(curl -sf --max-time 5 "http://127.0.0.1:${GW_ADMIN[$t]}/metrics") ||
		die "gateway $t: /metrics did not answer"
	awk -v want="paywalld_requests_total{decision=\"full\",reason=\"$reason\"}" '
	$1 == want { full = $2 }
	$1 ~ /^paywalld_requests_total\{/ { gated += $2 }
	$1 ~ /^paywalld_responses_total\{/ && $1 !~ /class="2xx"/ { bad += $2 }
	$1 == "paywalld_meter_store_errors_total" { serr = $2 }
	$1 == "paywalld_meter_store_round_trips_total" { rt = $2 }
	$1 == "paywalld_meter_store_timeouts_total" { to = $2 }
	END { printf "%d %d %d %d %d %d\n", full, gated, bad, serr, rt, to }' <<<"$m"
}

# redis_stats: "evalsha_calls scan_calls" from INFO commandstats.
redis_stats() {
	"$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" info commandstats | tr -d '\r' | awk -F'[:=,]' '
	$1 == "cmdstat_evalsha" { e = $3 }
	$1 == "cmdstat_scan" { s = $3 }
	END { printf "%d %d\n", e, s }'
}

# get_cookie TARGET PATH [-I]: a new visitor's pw_vid value. A GET counts
# PATH for that visitor; a HEAD only sets the cookie. off sets no cookie: its
# requests carry one from the memory gateway (same secret) with a HEAD, so
# that every target gets the same request bytes.
get_cookie() {
	local t=$1 path=$2 v
	shift 2
	[ "$t" = off ] && set -- -I && t=memory
	v=$(curl -s --max-time 5 -o /dev/null -D - "$@" "http://127.0.0.1:${GW_PORT[$t]}$path" |
		tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: pw_vid=\([^;]*\).*/\1/p' | head -n 1)
	[ -n "$v" ] || die "gateway $t: no pw_vid cookie from $path"
	echo "$v"
}

# get_cookies TARGET TAG N FILE: N new visitors' pw_vid values, one a line,
# by HEAD requests (nothing counted) in one curl.
get_cookies() {
	local t=$1 tag=$2 n=$3 file=$4
	[ "$t" = off ] && t=memory
	curl -s --max-time 60 -I "http://127.0.0.1:${GW_PORT[$t]}/echo/cookie-$tag-[1-$n]" |
		tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: pw_vid=\([^;]*\).*/\1/p' >"$file"
	[ "$(wc -l <"$file")" -eq "$n" ] ||
		die "gateway $t: got $(wc -l <"$file") visitor cookies, wanted $n"
}

# check_answer TARGET PATH COOKIE WANT_REMAINING LABEL [MIN_REMAINING]: one
# curl; 200, full, the reason, and X-Meter-Remaining as expected (none for
# off); with MIN_REMAINING, anything from it to WANT_REMAINING.
check_answer() {
	local t=$1 path=$2 cookie=$3 want=$4 label=$5 min=${6:-$4} h code dec reason rem
	h=$(curl -s --max-time 5 -o /dev/null -D - -H "Cookie: pw_vid=$cookie" \
		"http://127.0.0.1:${GW_PORT[$t]}$path" | tr -d '\r')
	code=$(awk 'NR == 1 { print $2 }' <<<"$h")
	dec=$(awk -F': ' 'tolower($1) == "x-paywall-decision" { print $2 }' <<<"$h")
	reason=$(awk -F': ' 'tolower($1) == "x-paywall-reason" { print $2 }' <<<"$h")
	rem=$(awk -F': ' 'tolower($1) == "x-meter-remaining" { print $2 }' <<<"$h")
	local got="$code/$dec/$reason/$rem" exp=200/full/free/ want_got
	if [ "$t" != off ]; then
		exp="200/full/meter/$want" want_got=$exp
		[ "$min" = "$want" ] || exp="200/full/meter/$min..$want"
		# Any remaining in [min, want] is the expected one.
		[[ $rem =~ ^[0-9]+$ ]] && [ "$rem" -ge "$min" ] && [ "$rem" -le "$want" ] &&
			got=$want_got
	fi
	[ "$got" = "${want_got:-$exp}" ] ||
		problem "$label: curl $path got status/decision/reason/remaining $code/$dec/$reason/$rem, expected $exp"
}

# --- runs -------------------------------------------------------------------

write_lua() {
	cat >"$WORK/new.lua" <<'LUA'
-- Each request a different article: /echo/TAG-THREAD-N. The article id is
-- the normalized path (the query is ignored), so the counter is in the path.
-- args: TAG [COOKIE_FILE]; with a file, request N carries cookie N mod V + 1
-- of its V lines, else the -H Cookie of the command line.
local threads, n, prefix, cookies = 0, 0, "/echo/x-", nil
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end
function init(args)
	prefix = "/echo/" .. args[1] .. "-" .. tostring(tid) .. "-"
	if args[2] then
		cookies = {}
		for line in io.lines(args[2]) do
			cookies[#cookies + 1] = { Cookie = "pw_vid=" .. line }
		end
	end
end
function request()
	n = n + 1
	if cookies then
		return wrk.format(nil, prefix .. n, cookies[n % #cookies + 1])
	end
	return wrk.format(nil, prefix .. n)
end
LUA
}

# run_wrk SECONDS TARGET VARIANT COOKIE TAG OUTFILE (COOKIE: a file of
# cookies for new-many)
run_wrk() {
	local secs=$1 t=$2 v=$3 cookie=$4 tag=$5 out=$6
	local url="http://127.0.0.1:${GW_PORT[$t]}"
	case $v in
	reread)
		wrk -t1 -c"$WRK_CONNECTIONS" -d"${secs}s" --latency -H "Cookie: pw_vid=$cookie" \
			"$url$ARTICLE" >"$out" 2>&1 ;;
	new)
		wrk -t1 -c"$WRK_CONNECTIONS" -d"${secs}s" --latency -H "Cookie: pw_vid=$cookie" \
			-s "$WORK/new.lua" "$url/" -- "$tag" >"$out" 2>&1 ;;
	new-many)
		wrk -t1 -c"$WRK_CONNECTIONS" -d"${secs}s" --latency \
			-s "$WORK/new.lua" "$url/" -- "$tag" "$cookie" >"$out" 2>&1 ;;
	esac || { cat "$out" >&2; die "wrk failed against $t ($v)"; }
}

# run_cookie TARGET VARIANT TAG: what run_wrk takes for the variant: the
# reread visitor, one new visitor (HEAD: nothing counted), or a file of
# VISITORS new visitors.
run_cookie() {
	case $2 in
	reread) echo "${REREAD_COOKIE[$1]}" ;;
	new) get_cookie "$1" "/echo/cookie-$3" -I ;;
	new-many) get_cookies "$1" "$3" "$VISITORS" "$WORK/cookies-$3" && echo "$WORK/cookies-$3" ;;
	esac
}

# run_one TARGET VARIANT ROUND: one measured run; appends to $WORK/results:
# variant target round rps p50 p99 req err gw_ticks redis_ticks full gated
# non2xx store_err round_trips timeouts evalsha scan gone
run_one() {
	local t=$1 v=$2 r=$3 tag="r$3$1$2" cookie out="$WORK/wrk-$1-$2-$3.txt"
	local m0 m1 s0="0 0" s1="0 0" g0 g1 k0=0 k1=0 parsed l0 gone
	cookie=$(run_cookie "$t" "$v" "$tag")
	l0=$(wc -l <"$WORK/gw-$t.log")
	m0=$(gw_metrics "$t")
	[ "$t" = redis ] && { s0=$(redis_stats); k0=$(cpu_ticks "$REDIS_PID"); }
	g0=$(cpu_ticks "${GW_PID[$t]}")
	run_wrk "$DURATION" "$t" "$v" "$cookie" "$tag" "$out"
	g1=$(cpu_ticks "${GW_PID[$t]}")
	[ "$t" = redis ] && k1=$(cpu_ticks "$REDIS_PID")
	sleep 0.3 # requests wrk abandoned at the end finish (or not) now
	m1=$(gw_metrics "$t")
	[ "$t" = redis ] && s1=$(redis_stats)
	# Requests wrk abandoned when it stopped: the gateway counts a 5xx that
	# nobody receives, and logs why.
	gone=$(tail -n +$((l0 + 1)) "$WORK/gw-$t.log" | grep -c 'client went away' || true)
	parsed=$(parse_wrk "$out") || { cat "$out" >&2; die "could not parse wrk output ($t $v)"; }

	local rps p50 p99 req err f0 a0 b0 e0 rt0 to0 f1 a1 b1 e1 rt1 to1 ev0 sc0 ev1 sc1
	read -r rps p50 p99 req err <<<"$parsed"
	read -r f0 a0 b0 e0 rt0 to0 <<<"$m0"
	read -r f1 a1 b1 e1 rt1 to1 <<<"$m1"
	read -r ev0 sc0 <<<"$s0"
	read -r ev1 sc1 <<<"$s1"
	local full=$((f1 - f0)) gated=$((a1 - a0)) bad=$((b1 - b0)) serr=$((e1 - e0))
	local rt=$((rt1 - rt0)) to=$((to1 - to0)) ev=$((ev1 - ev0)) sc=$((sc1 - sc0))
	echo "$v $t $r $rps $p50 $p99 $req $err $((g1 - g0)) $((k1 - k0)) $full $gated $bad $serr $rt $to $ev $sc $gone" \
		>>"$WORK/results"

	local label="round $r $v/$t" extra=""
	[ "$t" = redis ] && extra=$(awk -v rt="$rt" -v ev="$ev" -v q="$req" -v s="$full" -v sc="$sc" \
		'BEGIN { printf ", round trips/req %.4f (per served %.4f), evalsha/req %.4f, SCANs %d", rt / q, rt / s, ev / q, sc }')
	log "$label: $rps req/s, served $full (wrk completed $req, abandoned at the end $gone)$extra"

	[ "$err" -eq 0 ] || problem "$label: wrk saw $err socket errors / non-2xx responses"
	[ "$bad" -le "$gone" ] ||
		problem "$label: the gateway answered $bad non-2xx responses ($gone of them to clients gone at the end)"
	[ "$serr" -eq 0 ] || problem "$label: $serr meter store errors ($to store timeouts)"
	[ "$gated" -eq "$full" ] ||
		problem "$label: $((gated - full)) of $gated gated requests were not decided full"
	if [ "$full" -lt "$req" ] || [ "$full" -gt $((req + WRK_CONNECTIONS)) ]; then
		problem "$label: gateway served $full full answers, wrk completed $req"
	fi
	# The run's visitor: reread has the one article; new has every served
	# one; the first of new-many every VISITORS-th request (N mod V == 0) of
	# those sent, which are the served ones plus at most one per connection.
	local c=$WRK_CONNECTIONS lo hi
	case $v in
	reread) check_answer "$t" "$ARTICLE" "$cookie" $((LIMIT - 1)) "$label" ;;
	new) check_answer "$t" "/echo/check-$tag" "$cookie" $((LIMIT - full - 1)) "$label" ;;
	new-many)
		lo=$(((full > c ? full - c : 0) / VISITORS)) hi=$(((full + c) / VISITORS))
		check_answer "$t" "/echo/check-$tag" "$(head -n 1 "$cookie")" \
			$((LIMIT - lo - 1)) "$label" $((LIMIT - hi - 1)) ;;
	esac
}

warm_up() {
	local t v
	for t in "${TARGETS[@]}"; do
		for v in "${VARIANTS[@]}"; do
			run_wrk 1 "$t" "$v" "$(run_cookie "$t" "$v" "w$t$v")" "w$t$v" "$WORK/warm.txt"
		done
	done
	log "warm-up done"
}

run_rounds() {
	local r i v n=${#TARGETS[@]}
	: >"$WORK/results"
	for ((r = 1; r <= ROUNDS; r++)); do
		for v in "${VARIANTS[@]}"; do
			# Rotate the start each round so no target always goes first.
			for ((i = 0; i < n; i++)); do
				run_one "${TARGETS[(i + r - 1) % n]}" "$v" "$r"
			done
		done
	done
}

# Errors the gateways logged during the whole bench.
check_logs() {
	local t n
	for t in "${TARGETS[@]}"; do
		n=$(grep -c 'level=error' "$WORK/gw-$t.log" || true)
		[ "$n" -eq 0 ] || problem "gateway $t logged $n errors, e.g.: $(grep -m 3 'level=error' "$WORK/gw-$t.log" | tr '\n' ' ')"
	done
}

# --- report -----------------------------------------------------------------

machine_line() {
	local redis_v src
	redis_v=$("$REDIS_SERVER" --version | sed 's/.* v=\([^ ]*\).*/redis \1/')
	# Read-only: which gateway source was measured.
	src=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git status --porcelain -- gateway 2>/dev/null)" ] || src="$src+local changes"
	printf '%s; %s; %s; paywalld %s; wrk -t1 -c%s -d%ss x %s rounds, %s visitors for new-many; %s' \
		"$(machine_info)" "$(wrk_version)" "$redis_v" "$src" \
		"$WRK_CONNECTIONS" "$DURATION" "$ROUNDS" "$VISITORS" "$(utc_now)"
}

# report FORMAT (text|md): medians over rounds of req/s, p50, p99; CPU and
# per-request Redis figures are totals over all rounds / requests.
report() {
	local fmt=$1 tck
	tck=$(getconf CLK_TCK)
	awk -v fmt="$fmt" -v tck="$tck" -v order="${TARGETS[*]}" -v variants="${VARIANTS[*]}" "$MEDIAN_AWK"'
	{ k = $1 SUBSEP $2
	  rps[k] = rps[k] " " $4; p50[k] = p50[k] " " $5; p99[k] = p99[k] " " $6
	  req[k] += $7; err[k] += $8; serr[k] += $14; gw[k] += $9; rd[k] += $10
	  served[k] += $11; rt[k] += $15; ev[k] += $17 }
	END {
		n = split(order, t, " "); nv = split(variants, vv, " ")
		if (fmt == "md") {
			print "| variant | store | req/s | p50 (ms) | p99 (ms) | gateway CPU us/req | redis CPU us/req | round trips/req | evalsha/req | errors | store errors |"
			print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		} else {
			printf "%-8s %-7s %8s %8s %8s %10s %9s %8s %8s %7s %7s\n", "variant", "store", "req/s", "p50 ms", "p99 ms", "gw us/req", "redis us", "rt/req", "evalsha", "errors", "st.err"
		}
		for (w = 1; w <= nv; w++) for (i = 1; i <= n; i++) {
			v = vv[w]; x = t[i]; k = v SUBSEP x
			R[k] = median(rps[k])
			cpu = req[k] ? gw[k] / tck * 1e6 / req[k] : 0
			if (x == "redis") {
				rcpu = sprintf("%.1f", rd[k] / tck * 1e6 / req[k])
				rtq = sprintf("%.4f", rt[k] / req[k]); evq = sprintf("%.4f", ev[k] / req[k])
			} else { rcpu = "-"; rtq = "-"; evq = "-" }
			if (fmt == "md")
				printf "| %s | %s | %.0f | %.3f | %.3f | %.1f | %s | %s | %s | %d | %d |\n", v, x, R[k], median(p50[k]) / 1000, median(p99[k]) / 1000, cpu, rcpu, rtq, evq, err[k], serr[k]
			else
				printf "%-8s %-7s %8.0f %8.3f %8.3f %10.1f %9s %8s %8s %7d %7d\n", v, x, R[k], median(p50[k]) / 1000, median(p99[k]) / 1000, cpu, rcpu, rtq, evq, err[k], serr[k]
		}
		sep = (fmt == "md") ? "\n" : ""
		for (w = 1; w <= nv; w++) {
			v = vv[w]; m = R[v SUBSEP "memory"]; o = R[v SUBSEP "off"]
			printf "%s%s: req/s lmdb/memory %.2f, redis/memory %.2f; vs meter off: memory %.2f, lmdb %.2f, redis %.2f\n", sep, v,
				R[v SUBSEP "lmdb"] / m, R[v SUBSEP "redis"] / m, m / o, R[v SUBSEP "lmdb"] / o, R[v SUBSEP "redis"] / o
		}
		for (w = 1; w <= nv; w++) {
			k = vv[w] SUBSEP "redis"
			printf "%s%s/redis: %d round trips for %d requests wrk completed (%.4f per request; %.4f per request the gateway served); cmdstat_evalsha %d (%.4f per request)\n", sep, vv[w], rt[k], req[k], rt[k] / req[k], rt[k] / served[k], ev[k], ev[k] / req[k]
		}
	}' "$WORK/results"
}

main() {
	parse_args "$@"
	check_tools
	start_work paywalld-meter-bench
	log "temp dir $WORK; DURATION=$DURATION ROUNDS=$ROUNDS WRK_CONNECTIONS=$WRK_CONNECTIONS"
	head -c 48 /dev/urandom | base64 >"$WORK/visitor.key"
	write_lua

	start_backend
	start_redis
	local t
	for t in "${TARGETS[@]}"; do
		start_gateway "$t"
	done
	for t in "${TARGETS[@]}"; do
		# The reread visitor: this GET counts the article once, for good.
		REREAD_COOKIE[$t]=$(get_cookie "$t" "$ARTICLE")
		check_answer "$t" "$ARTICLE" "${REREAD_COOKIE[$t]}" $((LIMIT - 1)) "setup $t"
	done
	[ ${#PROBLEMS[@]} -eq 0 ] || die "sanity check failed"
	warm_up
	run_rounds
	check_logs
	print_tables
	if [ ${#PROBLEMS[@]} -gt 0 ]; then
		echo
		echo "PROBLEMS (${#PROBLEMS[@]}):"
		printf '  %s\n' "${PROBLEMS[@]}"
		exit 1
	fi
	echo "checks passed: every run all 200 and X-Paywall-Decision full, meter counts as expected, no store errors"
}

main "$@"
