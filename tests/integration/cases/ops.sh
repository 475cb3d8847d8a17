# Operations: health, readiness and metrics on the admin listener.

t_admin_endpoints_report_health_readiness_and_metrics() {
	gw_gated || return
	local a="http://127.0.0.1:$gw_ADMIN"
	expect_eq "healthz" "200" "$(status "$a/healthz")"
	expect_eq "readyz with the backend up" "200" "$(status "$a/readyz")"
	read_article "$WORK/jar" "$A1"
	read_article "$WORK/jar" "$A2" -H 'Authorization: Bearer not.a.token'
	read_article "$WORK/jar" /static/style.css
	kill -HUP "$gw_PID"
	wait_log "$WORK/gw.log" 'reload ok' 3 || fail "no reload"
	local m
	m=$(http "$a/metrics")
	expect_contains "decisions" "$m" 'paywalld_requests_total{decision="full",reason="meter"} 2'
	expect_contains "free" "$m" 'paywalld_requests_total{decision="full",reason="free"} 1'
	expect_contains "status classes" "$m" 'paywalld_responses_total{class="2xx"} 3'
	expect_contains "token rejections" "$m" 'paywalld_token_rejections_total{reason="malformed"} 1'
	expect_contains "latency histogram" "$m" 'paywalld_upstream_seconds_count 3'
	expect_contains "generation" "$m" 'paywalld_config_generation 2'
	expect_contains "reload ok" "$m" 'paywalld_config_last_reload_ok 1'
	printf 'bogus: [\n' >>"$WORK/gw.yaml"
	kill -HUP "$gw_PID"
	wait_log "$WORK/gw.log" 'reload failed' 3 || fail "no failed reload"
	m=$(http "$a/metrics")
	expect_contains "reload failed" "$m" 'paywalld_config_last_reload_ok 0'
	expect_contains "failed reloads" "$m" 'paywalld_config_reloads_total{result="failed"} 1'
	# The admin port serves no article and decides nothing.
	expect_eq "no proxying on the admin port" "404" "$(status "$a$A1")"
}

t_readyz_fails_when_the_backend_is_down() {
	write_config "$WORK/gw.yaml" "$(free_port)"
	start_gateway gw "$WORK/gw.yaml" || return
	expect_eq "readyz" "503" "$(status "http://127.0.0.1:$gw_ADMIN/readyz")"
	expect_contains "why" "$(http "http://127.0.0.1:$gw_ADMIN/readyz")" "backend: unreachable"
	expect_eq "healthz still fine" "200" "$(status "http://127.0.0.1:$gw_ADMIN/healthz")"
}

t_access_log_is_chained_rotates_and_verifies() {
	head -c 48 /dev/urandom | base64 >"$WORK/audit.key"
	gw_gated memory "audit:
  log: access.jsonl
  key_file: audit.key
  client_ip: truncate
  fsync_ms: 100" || return
	local tok
	tok=$(mint "$WORK/keys/k1.pem" k1 reader-sub-42 --ttl 1h)
	read_article "$WORK/jar" "$A1"
	read_article "$WORK/jar" "$A2" -H "Authorization: Bearer $tok"
	read_article "$WORK/jar" /static/style.css
	mv "$WORK/access.jsonl" "$WORK/access.jsonl.1"
	kill -USR1 "$gw_PID"
	sleep 0.3
	read_article "$WORK/jar" "$A3"
	read_article "$WORK/jar" /premium/investigation-port-contracts
	stop "$gw_PID"
	local lines
	lines=$(cat "$WORK/access.jsonl.1" "$WORK/access.jsonl" | wc -l)
	expect_lt "lines written (5 requests and a header)" 5 "$lines"
	local out
	out=$("$BIN/paywallctl" audit verify --key "$WORK/audit.key" "$WORK/access.jsonl.1" "$WORK/access.jsonl")
	expect_eq "verify exit" "0" "$?"
	expect_contains "verify ok" "$out" "ok:"
	local all
	all=$(cat "$WORK/access.jsonl.1" "$WORK/access.jsonl")
	expect_not_contains "no raw sub" "$all" "reader-sub-42"
	expect_not_contains "no raw cookie" "$all" "$(awk '$6 == "pw_vid" {print $7}' "$WORK/jar")"
	expect_contains "truncated client" "$all" '"client":"127.0.0.0/24"'
	expect_contains "decision field" "$all" '"decision":"full","reason":"meter"'
	expect_contains "subscribers-only teaser logged" "$all" '"reason":"subscribers-only"'
	expect_contains "token valid" "$all" '"token":"valid"'
	expect_contains "chain field" "$all" '"chain":"'
	# Tampering with any line breaks verification at that line.
	sed -i '2s/"status":200/"status":201/' "$WORK/access.jsonl.1"
	out=$("$BIN/paywallctl" audit verify --key "$WORK/audit.key" "$WORK/access.jsonl.1" "$WORK/access.jsonl")
	expect_eq "tampered exit" "1" "$?"
	expect_contains "names the line" "$out" "access.jsonl.1:2:"
	out=$("$BIN/paywallctl" audit summary "$WORK/access.jsonl" --by reason --json)
	expect_contains "summary json" "$out" '"by": "reason"'
}
