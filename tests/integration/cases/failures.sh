# Backend failures: every one has a named, small answer and a log line.

# free_port: a loopback port with nothing listening (bound, then released).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

t_unreachable_backend_gives_502_page() {
	write_config "$WORK/gw.yaml" "$(free_port)"
	start_gateway gw "$WORK/gw.yaml" || return
	http -D "$WORK/h" -o "$WORK/body" "http://127.0.0.1:$gw_PORT/article/harbour-bridge-reopens"
	expect_eq "status" "502" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	expect_contains "small page" "$(cat "$WORK/body")" "<h1>Bad Gateway</h1>"
	expect_lt "page size" "$(wc -c <"$WORK/body")" 1024
	expect_eq "not cached" "no-store" "$(header Cache-Control "$WORK/h")"
	wait_log "$WORK/gw.log" 'level=warn module=upstream .*backend failed' 2 ||
		fail "no upstream error in the log"
}

t_slow_backend_gives_504_page() {
	write_config "$WORK/gw.yaml" "$be_PORT" "" "  timeout_ms: 500"
	# write_config sets timeout_ms 3000 first; the later key would be a duplicate.
	sed -i '/timeout_ms: 3000/d' "$WORK/gw.yaml"
	start_gateway gw "$WORK/gw.yaml" || return
	local t
	t=$(http -D "$WORK/h" -o "$WORK/body" -w '%{time_total}' "http://127.0.0.1:$gw_PORT/slow?ms=3000")
	expect_eq "status" "504" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	expect_contains "small page" "$(cat "$WORK/body")" "<h1>Gateway Timeout</h1>"
	expect_lt "answered after the timeout, not the backend" "$t" 1.5
	wait_log "$WORK/gw.log" 'module=upstream .*no response headers in time' 2 ||
		fail "no timeout in the log"
	expect_eq "fast path still fine" "200" "$(status "http://127.0.0.1:$gw_PORT/article/harbour-bridge-reopens")"
}

t_client_gone_while_waiting_frees_upstream() {
	gw_default || return
	http -m 0.5 -o /dev/null "http://127.0.0.1:$gw_PORT/slow?ms=5000"
	wait_log "$WORK/gw.log" 'client went away' 1.5 ||
		fail "gateway did not notice the client leaving within 1.5 s"
}

t_client_gone_mid_body_frees_upstream() {
	gw_default || return
	http -m 1.2 -o /dev/null "http://127.0.0.1:$gw_PORT/drip?chunks=20&delay_ms=500"
	wait_log "$WORK/gw.log" 'ended early' 2 || fail "no log of the aborted response"
	# The gateway is still healthy afterwards.
	expect_eq "next request" "200" "$(status "http://127.0.0.1:$gw_PORT/article/harbour-bridge-reopens")"
}

t_backend_dying_mid_body_truncates_response() {
	start_backend be2 || return
	write_config "$WORK/gw.yaml" "$be2_PORT"
	start_gateway gw "$WORK/gw.yaml" || return
	http -o "$WORK/body" "http://127.0.0.1:$gw_PORT/drip?chunks=10&delay_ms=300&size=10" &
	local cpid=$!
	sleep 0.7
	{ kill -KILL "$be2_PID"; wait "$be2_PID"; } 2>/dev/null
	wait "$cpid"
	local rc=$?
	expect_ne "client sees an incomplete response (curl exit)" "0" "$rc"
	expect_lt "partial body" "$(wc -c <"$WORK/body")" 100
	wait_log "$WORK/gw.log" 'broke off' 3 || fail "no log of the broken body"
}
