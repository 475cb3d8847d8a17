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
