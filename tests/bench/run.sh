#!/usr/bin/env bash
# paywalld benchmark harness (run by `make bench`, from the project root).
#
# Measures throughput (req/s), latency (p50/p99) and server CPU time per
# request for one 60 KB article page served three ways:
#
#   direct   - wrk -> nginx static backend. The ceiling: no proxy can beat it.
#   nginx    - wrk -> nginx reverse proxy (tuned as a publisher would tune
#              it) -> backend. The bar the gateway must meet.
#   paywalld - wrk -> paywalld -> backend. The thing under test.
#
# CPU per request is the utime+stime the server under test (not the backend)
# burned while wrk ran, divided by the requests wrk completed. It shows cost
# even when throughput is capped by something else (wrk, the backend, cores).
#
# Everything runs on 127.0.0.1 out of a private temp dir; each nginx gets its
# own prefix, config, pid file and error log, and every process started here
# is stopped by PID on exit.
#
# Usage: tests/bench/run.sh [--gateway BIN] [--duration S] [--rounds N]
#                           [--out FILE] [--standin-nginx]
#   --standin-nginx  TESTING ONLY: replace paywalld with a third nginx proxy so
#                    the harness itself can be exercised without the gateway.
# Environment: NGINX_PROXY_WORKERS (default 1), NGINX_BACKEND_WORKERS
# (default 1), WRK_CONNECTIONS (default 64), NGINX (default /usr/sbin/nginx).

set -euo pipefail
PROG=bench
. "$(dirname "$0")/lib.sh"

GATEWAY=bin/paywalld
DURATION=5
ROUNDS=3
OUT=""
STANDIN=0
NGINX=${NGINX:-/usr/sbin/nginx}
NGINX_PROXY_WORKERS=${NGINX_PROXY_WORKERS:-1}
NGINX_BACKEND_WORKERS=${NGINX_BACKEND_WORKERS:-1}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
PAGE_SIZE=61440
PAGE_PATH=/article/bench
TARGETS=(direct nginx paywalld)

declare -A URL=()  # target -> URL
declare -A ROOT=() # target -> PID whose process tree is the server
declare -A PORT=() # target -> listening port

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--gateway) [ $# -ge 2 ] || usage 2; GATEWAY=$2; shift 2 ;;
		--duration) [ $# -ge 2 ] || usage 2; DURATION=$2; shift 2 ;;
		--rounds) [ $# -ge 2 ] || usage 2; ROUNDS=$2; shift 2 ;;
		--out) [ $# -ge 2 ] || usage 2; OUT=$2; shift 2 ;;
		--standin-nginx) STANDIN=1; shift ;;
		-h | --help) usage 0 ;;
		*) log "unknown argument: $1"; usage 2 ;;
		esac
	done
	is_uint "$DURATION" || die "--duration must be a positive integer (seconds)"
	is_uint "$ROUNDS" || die "--rounds must be a positive integer"
	is_uint "$NGINX_PROXY_WORKERS" || die "NGINX_PROXY_WORKERS must be a positive integer"
	is_uint "$NGINX_BACKEND_WORKERS" || die "NGINX_BACKEND_WORKERS must be a positive integer"
	is_uint "$WRK_CONNECTIONS" || die "WRK_CONNECTIONS must be a positive integer"
}

check_tools() {
	require_tools "$NGINX" wrk curl ss pgrep getconf awk
	if [ "$STANDIN" -eq 0 ]; then
		[ -x "$GATEWAY" ] || die "gateway binary not found or not executable: $GATEWAY (build it first, or pass --gateway BIN)"
	fi
}

# --- page -----------------------------------------------------------------

page_head() {
	cat <<'EOF'
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>City council approves new transit plan after marathon session | The Daily Bench</title>
<meta name="description" content="After an eleven-hour debate, the council voted 7-4 to fund the first phase of the light-rail expansion.">
<link rel="stylesheet" href="/static/css/site.css">
<script src="/static/js/analytics.js" defer></script>
</head>
<body>
<header class="site-header">
<a class="logo" href="/">The Daily Bench</a>
<nav class="main-nav">
<ul>
<li><a href="/news/">News</a></li>
<li><a href="/politics/">Politics</a></li>
<li><a href="/business/">Business</a></li>
<li><a href="/culture/">Culture</a></li>
<li><a href="/sport/">Sport</a></li>
<li><a href="/opinion/">Opinion</a></li>
</ul>
</nav>
<a class="subscribe" href="/subscribe">Subscribe</a>
</header>
<main>
<article>
<h1>City council approves new transit plan after marathon session</h1>
<p class="byline">By <a href="/authors/a-writer">A. Writer</a> &middot; <time datetime="2024-05-02T09:30:00Z">2 May 2024</time></p>
<div class="article-body">
EOF
}

page_foot() {
	cat <<'EOF'
</div>
</article>
</main>
<footer class="site-footer">
<p>&copy; 2024 The Daily Bench. All rights reserved.</p>
<p><a href="/about">About</a> &middot; <a href="/privacy">Privacy</a> &middot; <a href="/terms">Terms</a></p>
</footer>
</body>
</html>
EOF
}

# Writes a realistic article page of exactly PAGE_SIZE bytes to $1: header,
# nav, h1, byline, <div class="article-body"> full of <p> paragraphs, footer.
# The last paragraph is cut short so the total is exact.
gen_page() {
	local file=$1 line size n=0 room
	local text='Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.'
	size=$(($(page_head | wc -c) + $(page_foot | wc -c)))
	{
		page_head
		while [ "$size" -lt "$PAGE_SIZE" ]; do
			n=$((n + 1))
			line="<p id=\"p$n\">$text</p>"
			room=$((PAGE_SIZE - size - 1)) # bytes left for this line, minus "\n"
			if [ $((${#line} + 40)) -gt "$room" ]; then
				# Last paragraph: pad with text to fill exactly what is left.
				line="<p id=\"p$n\">$text $text"
				line="${line:0:$((room - 4))}</p>"
			fi
			printf '%s\n' "$line"
			size=$((size + ${#line} + 1))
		done
		page_foot
	} >"$file"
	size=$(wc -c <"$file")
	[ "$size" -eq "$PAGE_SIZE" ] || die "generated page is $size bytes, wanted $PAGE_SIZE"
}

# --- servers --------------------------------------------------------------

# wait_http NAME PID URL: poll until URL answers (any HTTP status), up to 10 s.
wait_http() {
	local name=$1 pid=$2 url=$3 i
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || return 1
		if curl -s -o /dev/null --max-time 1 "$url"; then
			return 0
		fi
		sleep 0.1
	done
	log "$name did not answer on $url within 10 s"
	return 1
}

# nginx_common PREFIX WORKERS: main/events/http preamble shared by all nginx.
nginx_common() {
	local prefix=$1 workers=$2
	cat <<EOF
daemon off;
master_process on;
worker_processes $workers;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events {
	worker_connections 8192;
}
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_timeout 65;
	keepalive_requests 100000;
	default_type text/html;
	client_body_temp_path $prefix/client_body;
	proxy_temp_path $prefix/proxy;
	fastcgi_temp_path $prefix/fastcgi;
	uwsgi_temp_path $prefix/uwsgi;
	scgi_temp_path $prefix/scgi;
EOF
}

# start_nginx NAME CONF_FN: picks a port, writes the config CONF_FN PREFIX PORT
# prints, runs nginx in the foreground (daemon off) under its own prefix,
# records the master PID and waits until it answers. Retries on a lost port
# race (bind() failure), up to 3 times.
start_nginx() {
	local name=$1 conf_fn=$2 prefix=$WORK/$1 pid port attempt
	mkdir -p "$prefix"
	for attempt in 1 2 3; do
		port=$(free_port)
		"$conf_fn" "$prefix" "$port" >"$prefix/nginx.conf"
		: >"$prefix/error.log"
		"$NGINX" -t -q -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" ||
			die "nginx config for '$name' is invalid (see above)"
		"$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" \
			>"$prefix/stdout.log" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		if wait_http "$name" "$pid" "http://127.0.0.1:$port/"; then
			ROOT[$name]=$pid
			PORT[$name]=$port
			URL[$name]="http://127.0.0.1:$port$PAGE_PATH"
			log "started $name (nginx, pid $pid) on 127.0.0.1:$port"
			return 0
		fi
		if ! alive "$pid" && grep -q 'bind()' "$prefix/error.log"; then
			log "nginx '$name' could not bind port $port (attempt $attempt), retrying"
			continue
		fi
		break
	done
	tail -n 20 "$prefix/error.log" >&2 || true
	die "nginx '$name' failed to start (last port tried: $port)"
}

# backend_conf PREFIX PORT: static nginx serving the article page.
backend_conf() {
	nginx_common "$1" "$NGINX_BACKEND_WORKERS"
	cat <<EOF
	open_file_cache max=1000 inactive=60s;
	open_file_cache_valid 60s;
	open_file_cache_errors on;
	server {
		listen 127.0.0.1:$2 backlog=4096;
		root $WORK/www;
		location / {
		}
	}
}
EOF
}

# proxy_conf PREFIX PORT: nginx reverse proxy in front of the backend, tuned
# as a publisher would tune it (upstream keepalive, HTTP/1.1, big buffers).
proxy_conf() {
	nginx_common "$1" "$NGINX_PROXY_WORKERS"
	cat <<EOF
	upstream backend {
		server 127.0.0.1:${PORT[direct]};
		keepalive 64;
		keepalive_requests 100000;
	}
	server {
		listen 127.0.0.1:$2 backlog=4096;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffer_size 64k;
			proxy_buffers 4 64k;
		}
	}
}
EOF
}

start_backend() {
	mkdir -p "$WORK/www${PAGE_PATH%/*}"
	gen_page "$WORK/www$PAGE_PATH"
	chmod -R a+rX "$WORK/www"
	start_nginx direct backend_conf
}

start_gateway() {
	if [ "$STANDIN" -eq 1 ]; then
		log "STAND-IN MODE: 'paywalld' is a third nginx proxy, not the gateway"
		start_nginx paywalld proxy_conf
		return
	fi
	local dir=$WORK/paywalld pid port
	mkdir -p "$dir"
	cat >"$dir/paywalld.yaml" <<EOF
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  trusted_proxies: [127.0.0.1/32]
  max_connections: 4096
upstream:
  url: http://127.0.0.1:${PORT[direct]}
  connect_timeout_ms: 1000
  timeout_ms: 10000
EOF
	"$GATEWAY" -c "$dir/paywalld.yaml" --ready-file "$dir/ready" \
		>"$dir/stdout.log" 2>"$dir/stderr.log" &
	pid=$!
	PIDS+=("$pid")
	if ! wait_ready "$dir/ready" 1 "$pid" paywalld; then
		tail -n 20 "$dir/stderr.log" >&2 || true
		alive "$pid" || die "paywalld exited during startup ($GATEWAY)"
		die "paywalld did not start ($GATEWAY)" # wait_ready said why
	fi
	port=$(head -n 1 "$dir/ready")
	[[ $port =~ ^[0-9]+$ ]] || die "paywalld wrote '$port' to its ready file, not a port ($GATEWAY)"
	ROOT[paywalld]=$pid
	URL[paywalld]="http://127.0.0.1:$port$PAGE_PATH"
	log "started paywalld (pid $pid) on 127.0.0.1:$port"
}

sanity_check() {
	local t out code size
	for t in "${TARGETS[@]}"; do
		out=$(curl -s -o /dev/null --max-time 5 -w '%{http_code} %{size_download}' "${URL[$t]}") ||
			die "sanity check: $t: request to ${URL[$t]} failed"
		code=${out% *}
		size=${out#* }
		[ "$code" = 200 ] || die "sanity check: $t: ${URL[$t]} returned HTTP $code, want 200"
		[ "$size" = "$PAGE_SIZE" ] || die "sanity check: $t: body is $size bytes, want $PAGE_SIZE"
	done
	log "sanity check passed: all targets return 200 with $PAGE_SIZE bytes"
}

# --- measurement ----------------------------------------------------------

# run_one TARGET ROUND: one wrk run, appends a line to $WORK/results.
run_one() {
	local t=$1 r=$2 pids before after parsed out=$WORK/wrk-$1-$2.txt
	mapfile -t pids < <(tree_pids "${ROOT[$t]}")
	before=$(cpu_ticks "${pids[@]}")
	wrk -t1 -c"$WRK_CONNECTIONS" -d"${DURATION}s" --latency "${URL[$t]}" >"$out" 2>&1 ||
		{ cat "$out" >&2; die "wrk failed against $t"; }
	after=$(cpu_ticks "${pids[@]}")
	parsed=$(parse_wrk "$out") || { cat "$out" >&2; die "could not parse wrk output for $t"; }
	echo "$t $r $parsed $((after - before))" >>"$WORK/results"
	read -r rps _ _ _ err <<<"$parsed"
	log "round $r/$ROUNDS $t: $rps req/s, errors $err"
	[ "$err" -eq 0 ] || log "WARNING: $t had $err socket errors / non-2xx responses in round $r"
}

warm_up() {
	local t
	for t in "${TARGETS[@]}"; do
		wrk -t1 -c"$WRK_CONNECTIONS" -d1s "${URL[$t]}" >/dev/null 2>&1 ||
			die "warm-up wrk failed against $t"
	done
	log "warm-up done"
}

run_rounds() {
	local r i n=${#TARGETS[@]}
	: >"$WORK/results"
	for ((r = 1; r <= ROUNDS; r++)); do
		# Rotate the start each round so no target always goes first.
		for ((i = 0; i < n; i++)); do
			run_one "${TARGETS[(i + r - 1) % n]}" "$r"
		done
	done
}

# --- report ---------------------------------------------------------------

machine_line() {
	local nginx_v
	nginx_v=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
	printf '%s; %s; %s; nginx workers: proxy=%s backend=%s; wrk -t1 -c%s -d%ss x %s rounds; %s' \
		"$(machine_info)" "$nginx_v" "$(wrk_version)" \
		"$NGINX_PROXY_WORKERS" "$NGINX_BACKEND_WORKERS" "$WRK_CONNECTIONS" \
		"$DURATION" "$ROUNDS" "$(utc_now)"
}

# report FORMAT (text|md): medians over rounds of req/s, p50, p99; CPU per
# request is total server CPU over total requests across all rounds.
report() {
	local fmt=$1 tck
	tck=$(getconf CLK_TCK)
	awk -v fmt="$fmt" -v tck="$tck" -v order="${TARGETS[*]}" -v standin="$STANDIN" "$MEDIAN_AWK"'
	{ rps[$1] = rps[$1] " " $3; p50[$1] = p50[$1] " " $4; p99[$1] = p99[$1] " " $5
	  req[$1] += $6; err[$1] += $7; ticks[$1] += $8 }
	END {
		n = split(order, t, " ")
		for (i = 1; i <= n; i++) {
			x = t[i]; R[x] = median(rps[x]); P50[x] = median(p50[x]) / 1000; P99[x] = median(p99[x]) / 1000
			CPU[x] = req[x] ? ticks[x] / tck * 1e6 / req[x] : 0
		}
		if (fmt == "md") {
			print "| target | req/s | p50 (ms) | p99 (ms) | CPU us/req | errors |"
			print "|---|---:|---:|---:|---:|---:|"
		} else {
			printf "%-10s %12s %10s %10s %12s %8s\n", "target", "req/s", "p50 (ms)", "p99 (ms)", "CPU us/req", "errors"
		}
		for (i = 1; i <= n; i++) {
			x = t[i]; name = x
			if (x == "paywalld" && standin) name = "paywalld*"
			if (fmt == "md")
				printf "| %s | %.0f | %.3f | %.3f | %.1f | %d |\n", name, R[x], P50[x], P99[x], CPU[x], err[x]
			else
				printf "%-10s %12.0f %10.3f %10.3f %12.1f %8d\n", name, R[x], P50[x], P99[x], CPU[x], err[x]
		}
		r1 = R["nginx"] ? R["paywalld"] / R["nginx"] : 0
		r2 = R["direct"] ? R["paywalld"] / R["direct"] : 0
		sep = (fmt == "md") ? "\n" : ""
		printf "%sreq/s ratio paywalld/nginx-proxy: %.2f; paywalld/direct: %.2f\n", sep, r1, r2
		if (standin) printf "%s* STAND-IN: paywalld was replaced by a third nginx proxy (--standin-nginx); not gateway figures.\n", sep
	}' "$WORK/results"
}

main() {
	parse_args "$@"
	check_tools
	start_work paywalld-bench
	chmod 755 "$WORK" # nginx workers may run as an unprivileged user
	log "temp dir $WORK; NGINX_PROXY_WORKERS=$NGINX_PROXY_WORKERS NGINX_BACKEND_WORKERS=$NGINX_BACKEND_WORKERS"

	start_backend
	start_nginx nginx proxy_conf
	start_gateway
	sanity_check
	warm_up
	run_rounds
	print_tables
}

main "$@"
