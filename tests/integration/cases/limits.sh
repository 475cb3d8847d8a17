# Request limits and framing rules: refused before anything reaches the backend.

t_content_length_with_transfer_encoding_is_refused() {
	gw_default || return
	http -X POST "http://127.0.0.1:$be_PORT/stats/reset" >/dev/null
	local reply
	reply=$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n' | raw "$gw_PORT")
	expect_contains "status" "$reply" "HTTP/1.1 400"
	expect_eq "nothing reached the backend" "1" "$(backend_stat "$be_PORT" requests)"
	reply=$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n' | raw "$gw_PORT")
	expect_contains "other transfer coding" "$reply" "HTTP/1.1 400"
	reply=$(printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc' | raw "$gw_PORT")
	expect_contains "repeated Content-Length" "$reply" "HTTP/1.1 400"
}

t_duplicate_credentials_are_refused() {
	gw_default || return
	local u="http://127.0.0.1:$gw_PORT/echo"
	expect_eq "two Authorization" "400" "$(status "$u" -H 'Authorization: Bearer a' -H 'Authorization: Bearer b')"
	expect_eq "two Cookie" "400" "$(status "$u" -H 'Cookie: a=1' -H 'Cookie: b=2')"
	expect_eq "one of each" "200" "$(status "$u" -H 'Authorization: Bearer a' -H 'Cookie: a=1; b=2')"
	wait_log "$WORK/gw.log" 'refused with 400: repeated Authorization' 1 || fail "no log line"
}

t_invalid_targets_are_refused() {
	gw_default || return
	local reply
	reply=$(printf 'GET http://evil.example/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw "$gw_PORT")
	expect_contains "absolute form" "$reply" "HTTP/1.1 400"
	reply=$(printf 'GET /a\\b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw "$gw_PORT")
	expect_contains "backslash" "$reply" "HTTP/1.1 400"
	reply=$(printf 'GET /%%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw "$gw_PORT")
	expect_contains "bad escape" "$reply" "HTTP/1.1 400"
}

t_body_over_limit_gets_413() {
	write_config "$WORK/gw.yaml" "$be_PORT" "  max_body_bytes: 1000"
	start_gateway gw "$WORK/gw.yaml" || return
	head -c 2000 /dev/zero >"$WORK/p"
	local u="http://127.0.0.1:$gw_PORT/echo"
	expect_eq "declared too large" "413" "$(status "$u" --data-binary @"$WORK/p")"
	expect_eq "chunked too large" "413" "$(status "$u" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/p")"
	head -c 1000 /dev/zero >"$WORK/p"
	expect_eq "at the limit" "200" "$(status "$u" --data-binary @"$WORK/p")"
}

t_headers_over_limit_are_refused() {
	write_config "$WORK/gw.yaml" "$be_PORT" "  max_header_bytes: 2048"
	start_gateway gw "$WORK/gw.yaml" || return
	local big code
	big=$(head -c 6000 /dev/zero | tr '\0' 'a')
	code=$(status "http://127.0.0.1:$gw_PORT/echo" -H "X-Big: $big")
	case "$code" in
	413 | 431) ;;
	*) fail "oversized headers answered $code, expected 431 or 413" ;;
	esac
	expect_eq "normal request" "200" "$(status "http://127.0.0.1:$gw_PORT/echo")"
}

t_incomplete_request_times_out() {
	write_config "$WORK/gw.yaml" "$be_PORT"
	sed -i 's/client_timeout_s: 5/client_timeout_s: 1/' "$WORK/gw.yaml"
	start_gateway gw "$WORK/gw.yaml" || return
	local start end
	start=$(date +%s.%N)
	exec 3<>"/dev/tcp/127.0.0.1/$gw_PORT"
	printf 'GET /echo HTTP/1.1\r\nHost: x\r\n' >&3
	timeout 10 cat <&3 >/dev/null
	exec 3<&-
	end=$(date +%s.%N)
	expect_lt "connection closed by the gateway (s)" "$(awk -v s="$start" -v e="$end" 'BEGIN{print e-s}')" 4
}

t_connection_limit_is_enforced() {
	write_config "$WORK/gw.yaml" "$be_PORT" "  max_connections: 3"
	start_gateway gw "$WORK/gw.yaml" || return
	local i pids=()
	for i in 1 2 3; do
		http -o /dev/null "http://127.0.0.1:$gw_PORT/slow?ms=1500" &
		pids+=($!)
	done
	sleep 0.5
	local code
	code=$(status "http://127.0.0.1:$gw_PORT/echo" -m 1)
	expect_eq "fourth connection refused" "000" "$code"
	wait "${pids[@]}"
	expect_eq "after they finish" "200" "$(status "http://127.0.0.1:$gw_PORT/echo")"
}

# A request abandoned half-way must not leak its context or hold up a drain.
t_abandoned_request_leaks_nothing() {
	gw_default || return
	local i pids=()
	for ((i = 0; i < 20; i++)); do
		# Half a request, then the client closes its side after 0.3 s.
		(printf 'GET /echo HTTP/1.1\r\nHost: x\r\nX-Partial: '; sleep 0.3) |
			timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$gw_PORT; cat >&3" &
		pids+=($!)
	done
	wait "${pids[@]}"
	expect_eq "still serving" "200" "$(status "http://127.0.0.1:$gw_PORT/echo")"
	local start end
	start=$(date +%s.%N)
	stop "$gw_PID" 0
	end=$(date +%s.%N)
	expect_lt "stop time (s): nothing left in flight" "$(awk -v s="$start" -v e="$end" 'BEGIN{print e-s}')" 2
}
