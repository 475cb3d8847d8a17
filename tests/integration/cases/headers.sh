# Header hygiene: hop-by-hop and gateway-owned headers, forwarding chain.

t_hop_by_hop_request_headers_are_stripped() {
	gw_default || return
	local out
	out=$(http "http://127.0.0.1:$gw_PORT/echo" \
		-H 'Connection: X-Named-Hop' -H 'X-Named-Hop: 1' -H 'Keep-Alive: timeout=5' \
		-H 'TE: trailers' -H 'Trailer: X-T' -H 'Upgrade: h2c' \
		-H 'Proxy-Authorization: Basic Zm9vOmJhcg==' -H 'Proxy-Connection: keep-alive' \
		-H 'X-End-To-End: kept')
	local h
	for h in X-Named-Hop Keep-Alive '"TE"' Trailer Upgrade Proxy-Authorization Proxy-Connection; do
		expect_not_contains "request header $h" "$out" "$h"
	done
	expect_contains "end-to-end header" "$out" '["X-End-To-End","kept"]'
}

t_hop_by_hop_response_headers_are_stripped() {
	gw_default || return
	http -D "$WORK/h" -o /dev/null "http://127.0.0.1:$gw_PORT/hop"
	local h
	for h in X-Hop-Custom Keep-Alive Proxy-Authenticate Trailer Upgrade X-Paywall-Backend-Test; do
		expect_eq "response header $h" "" "$(header "$h" "$WORK/h")"
	done
	expect_eq "end-to-end response header" "kept" "$(header X-End-To-End "$WORK/h")"
}

t_client_x_paywall_headers_never_reach_backend() {
	gw_default || return
	local out
	out=$(http "http://127.0.0.1:$gw_PORT/echo" -H 'X-Paywall-User: alice' \
		-H 'x-paywall-entitlements: premium' -H 'X-PAYWALL-DECISION: full' \
		-H 'X_Paywall_User: admin' -H 'x-paywall_entitlements: premium' -H 'X_Forwarded_For: 6.6.6.6')
	expect_not_contains "X-Paywall-* forwarded" "$(printf '%s' "$out" | tr 'A-Z_' 'a-z-')" 'x-paywall'
	expect_not_contains "underscore variants forwarded" "$out" 'admin'
	expect_not_contains "underscore XFF forwarded" "$out" '6.6.6.6'
}

t_forwarded_headers_from_untrusted_peer_are_replaced() {
	write_config "$WORK/gw.yaml" "$be_PORT" "  trusted_proxies: [10.0.0.0/8]"
	start_gateway gw "$WORK/gw.yaml" || return
	local out
	http -D "$WORK/h" -o "$WORK/body" "http://127.0.0.1:$gw_PORT/echo" \
		-H 'X-Forwarded-For: 6.6.6.6' -H 'X-Forwarded-Proto: https' \
		-H 'X-Forwarded-Host: evil.example' -H 'X-Request-Id: chosen-by-client' \
		-H 'X-Forwarded-Port: 31337' -H 'X-Forwarded-Prefix: /evil' -H 'Forwarded: for=6.6.6.6'
	out=$(cat "$WORK/body")
	expect_not_contains "X-Forwarded-Port" "$out" '31337'
	expect_not_contains "X-Forwarded-Prefix" "$out" '/evil'
	expect_not_contains "Forwarded" "$out" 'Forwarded","for='

	expect_contains "XFF replaced" "$out" '["X-Forwarded-For","127.0.0.1"]'
	expect_contains "proto set by gateway" "$out" '["X-Forwarded-Proto","http"]'
	expect_contains "host from Host header" "$out" "[\"X-Forwarded-Host\",\"127.0.0.1:$gw_PORT\"]"
	expect_not_contains "client request id" "$out" 'chosen-by-client'
	expect_not_contains "forged address" "$out" '6.6.6.6'
	local rid
	rid=$(header X-Request-Id "$WORK/h")
	expect_contains "backend saw the id returned to the client" "$out" "[\"X-Request-Id\",\"$rid\"]"
}

t_forwarded_headers_from_trusted_proxy_are_extended() {
	gw_default || return
	local out
	out=$(http "http://127.0.0.1:$gw_PORT/echo" -H 'X-Forwarded-For: 203.0.113.7' \
		-H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: news.example' \
		-H 'X-Request-Id: edge-42.a_b')
	expect_contains "XFF appended" "$out" '["X-Forwarded-For","203.0.113.7, 127.0.0.1"]'
	expect_contains "proto kept" "$out" '["X-Forwarded-Proto","https"]'
	expect_contains "host kept" "$out" '["X-Forwarded-Host","news.example"]'
	expect_contains "request id kept" "$out" '["X-Request-Id","edge-42.a_b"]'
	out=$(http "http://127.0.0.1:$gw_PORT/echo" -H 'X-Request-Id: has space')
	expect_not_contains "invalid request id replaced" "$out" 'has space'
	# Regression: an empty chain from a trusted proxy crashed the request thread.
	out=$(http "http://127.0.0.1:$gw_PORT/echo" -H 'X-Forwarded-For;')
	expect_contains "empty chain from a trusted proxy" "$out" '["X-Forwarded-For","127.0.0.1"]'
}

t_host_header_follows_preserve_host() {
	gw_default || return
	local out
	out=$(http "http://127.0.0.1:$gw_PORT/echo" -H 'Host: news.example')
	expect_contains "upstream host by default" "$out" "[\"Host\",\"127.0.0.1:$be_PORT\"]"
	stop_all
	write_config "$WORK/gw2.yaml" "$be_PORT" "" "  preserve_host: true"
	start_gateway gw2 "$WORK/gw2.yaml" || return
	out=$(http "http://127.0.0.1:$gw2_PORT/echo" -H 'Host: news.example')
	expect_contains "client host preserved" "$out" '["Host","news.example"]'
}
