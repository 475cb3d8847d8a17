# Pass-through: what the backend says reaches the client unchanged.

# gw_default: a gateway in front of the shared backend, trusting loopback.
gw_default() {
	write_config "$WORK/gw.yaml" "$be_PORT" "  trusted_proxies: [127.0.0.1/32]"
	start_gateway gw "$WORK/gw.yaml"
}

t_get_passes_page_through() {
	gw_default || return
	local path=/article/harbour-bridge-reopens
	http -D "$WORK/h" -o "$WORK/via" "http://127.0.0.1:$gw_PORT$path"
	http -D "$WORK/hd" -o "$WORK/direct" "http://127.0.0.1:$be_PORT$path"
	cmp -s "$WORK/via" "$WORK/direct" || fail "body differs from the backend's"
	expect_eq "status" "200" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	expect_eq "ETag" "$(header ETag "$WORK/hd")" "$(header ETag "$WORK/h")"
	expect_eq "Content-Type" "text/html; charset=utf-8" "$(header Content-Type "$WORK/h")"
	[[ "$(header X-Request-Id "$WORK/h")" =~ ^[0-9a-f]{32}$ ]] ||
		fail "X-Request-Id is not 32 hex digits: $(header X-Request-Id "$WORK/h")"
}

t_head_has_length_and_no_body() {
	gw_default || return
	local url="http://127.0.0.1:$gw_PORT/article/council-budget-vote"
	local full reply
	full=$(http "$url" | wc -c)
	# Raw, so that any byte after the header block would be seen.
	reply=$(printf 'HEAD /article/council-budget-vote HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
		raw "$gw_PORT" | tr -d '\r')
	expect_contains "HEAD status" "$reply" "HTTP/1.1 200"
	expect_contains "HEAD Content-Length equals the GET body size" "$reply" "Content-Length: $full"
	expect_eq "HEAD body size" "" "$(printf '%s' "$reply" | sed '1,/^$/d')"
}

t_post_and_put_bodies_are_forwarded() {
	gw_default || return
	head -c 1048576 /dev/urandom >"$WORK/payload"
	local sum method out
	sum=$(sha256sum "$WORK/payload" | cut -d' ' -f1)
	for method in POST PUT PATCH; do
		out=$(http -X "$method" --data-binary @"$WORK/payload" \
			-H 'Content-Type: application/octet-stream' "http://127.0.0.1:$gw_PORT/echo")
		expect_contains "$method method" "$out" "\"method\":\"$method\""
		expect_contains "$method body size" "$out" '"body_bytes":1048576'
		expect_contains "$method body hash" "$out" "\"body_sha256\":\"$sum\""
	done
	out=$(http -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/payload" \
		"http://127.0.0.1:$gw_PORT/echo")
	expect_contains "chunked upload size" "$out" '"body_bytes":1048576'
	expect_contains "chunked upload hash" "$out" "\"body_sha256\":\"$sum\""
	out=$(http -X POST "http://127.0.0.1:$gw_PORT/echo")
	expect_contains "empty POST" "$out" '"body_bytes":0'
	expect_not_contains "no invented Content-Type" "$out" 'x-www-form-urlencoded'
}

t_other_methods_are_forwarded() {
	gw_default || return
	local m out
	for m in DELETE OPTIONS; do
		out=$(http -X "$m" "http://127.0.0.1:$gw_PORT/echo/x")
		expect_contains "$m forwarded" "$out" "\"method\":\"$m\""
	done
}

# The path is forwarded normalized (the form routes are matched on); the
# query goes through byte for byte.
t_target_is_forwarded_normalized_query_untouched() {
	gw_default || return
	local out
	out=$(http --path-as-is -g "http://127.0.0.1:$gw_PORT/echo/a%2db%20c/./x/../d;v=1?q=%20x&a[]=1&b=%C3%A9&p=/../x")
	expect_contains "normalized path, raw query" "$out" '"uri":"/echo/a-b%20c/d?q=%20x&a[]=1&b=%C3%A9&p=/../x"'
}

t_large_bodies_stream_exactly() {
	gw_default || return
	local n=10485760 q
	for q in "bytes=$n" "bytes=$n&chunked=1"; do
		http -o "$WORK/via" "http://127.0.0.1:$gw_PORT/big?$q"
		http -o "$WORK/direct" "http://127.0.0.1:$be_PORT/big?$q"
		expect_eq "size ($q)" "$n" "$(wc -c <"$WORK/via")"
		cmp -s "$WORK/via" "$WORK/direct" || fail "10 MB body differs ($q)"
	done
}

# The first bytes must reach the reader before the backend has finished,
# which a gateway holding whole bodies could not do.
t_body_streams_before_backend_finishes() {
	gw_default || return
	local times first total
	times=$(http -o /dev/null -w '%{time_starttransfer} %{time_total}' \
		"http://127.0.0.1:$gw_PORT/drip?chunks=3&delay_ms=800&size=100")
	first=${times% *}
	total=${times#* }
	expect_lt "first byte time" "$first" 0.6
	expect_lt "whole body time is at least the backend's" 1.5 "$total"
}

# A slow reader of a huge body must not make the gateway buffer it.
t_slow_reader_keeps_memory_bounded() {
	gw_default || return
	local before after
	before=$(awk '/VmRSS/ {print $2}' "/proc/$gw_PID/status")
	http --limit-rate 20M -o /dev/null "http://127.0.0.1:$gw_PORT/big?bytes=104857600" &
	local cpid=$!
	sleep 2.5
	after=$(awk '/VmRSS/ {print $2}' "/proc/$gw_PID/status")
	wait "$cpid"
	expect_lt "gateway RSS growth (KiB) while streaming 100 MB" $((after - before)) 40960
}

t_status_and_error_bodies_pass_through() {
	gw_default || return
	expect_eq "404" "404" "$(status "http://127.0.0.1:$gw_PORT/status/404")"
	expect_eq "500 body" "status 500" "$(http "http://127.0.0.1:$gw_PORT/error")"
	expect_eq "unknown page" "404" "$(status "http://127.0.0.1:$gw_PORT/no/such/page")"
}

t_conditional_range_and_gzip_pass_through() {
	gw_default || return
	local url="http://127.0.0.1:$gw_PORT/article/night-market-returns" etag
	http -D "$WORK/h" -o /dev/null "$url"
	etag=$(header ETag "$WORK/h")
	expect_eq "304 on If-None-Match" "304" "$(status "$url" -H "If-None-Match: $etag")"
	expect_eq "206 on Range" "206" "$(status "$url" -H 'Range: bytes=100-199')"
	expect_eq "range size" "100" "$(http -H 'Range: bytes=100-199' "$url" | wc -c)"
	http -D "$WORK/hz" -o "$WORK/z" -H 'Accept-Encoding: gzip' "$url"
	expect_eq "Content-Encoding" "gzip" "$(header Content-Encoding "$WORK/hz")"
	expect_eq "gzip body is the page" "$(http "$url" | sha256sum)" "$(gzip -dc "$WORK/z" | sha256sum)"
}

t_multiple_set_cookie_headers_are_kept() {
	gw_default || return
	http -D "$WORK/h" -o /dev/null "http://127.0.0.1:$gw_PORT/set-cookies"
	expect_eq "Set-Cookie count" "2" "$(grep -ci '^set-cookie:' "$WORK/h")"
}

t_upstream_connections_are_reused() {
	gw_default || return
	http -X POST "http://127.0.0.1:$be_PORT/stats/reset" >/dev/null
	local i
	for ((i = 0; i < 40; i++)); do
		http -o /dev/null "http://127.0.0.1:$gw_PORT/article/school-robotics-win"
	done
	local conns reqs
	conns=$(backend_stat "$be_PORT" connections)
	reqs=$(backend_stat "$be_PORT" requests)
	# 40 client connections, one after another: one warm upstream connection
	# serves them all (the /stats request itself adds one direct connection).
	expect_lt "backend connections for 40 proxied requests" "$conns" 4
	expect_lt "backend saw the requests" 39 "$reqs"
}
