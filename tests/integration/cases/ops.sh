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

# A scripted session: what the client saw, the log's summary and /metrics agree.
t_session_numbers_agree_across_client_log_and_metrics() {
	head -c 48 /dev/urandom | base64 >"$WORK/audit.key"
	local now
	now=$(date +%s)
	gw_gated memory "audit:
  log: access.jsonl
  key_file: audit.key
  fsync_ms: 50
promotions:
  - id: open-premium
    starts: $(date -u -d "@$((now - 60))" +%Y-%m-%dT%H:%M:%S+00:00)
    ends: $(date -u -d "@$((now + 3600))" +%Y-%m-%dT%H:%M:%S+00:00)
    paths: [/premium/*]" || return
	local sub a full=0 teaser=0
	sub=$(mint "$WORK/keys/k1.pem" k1 subscriber-1 --entitlements digital --ttl 1h)
	see() { case "$(header X-Paywall-Decision "$WORK/h")" in full) full=$((full + 1)) ;; teaser) teaser=$((teaser + 1)) ;; esac; }
	for a in "$A1" "$A2"; do read_article "$WORK/js" "$a" -H "Authorization: Bearer $sub"; see; done
	for a in "$A1" "$A2" "$A3" "$A4"; do read_article "$WORK/jm" "$a"; see; done
	read_article "$WORK/jp" /premium/investigation-port-contracts; see
	read_article "$WORK/jc" "$A4" -A Googlebot -H 'X-Forwarded-For: 66.249.66.1'; see
	read_article "$WORK/ji" "$A1" -H 'Authorization: Bearer not.a.token'; see
	expect_eq "client: full" "8" "$full"
	expect_eq "client: teaser" "1" "$teaser"
	local m
	m=$(http "http://127.0.0.1:$gw_ADMIN/metrics")
	stop "$gw_PID"
	local s
	s=$("$BIN/paywallctl" audit summary "$WORK/access.jsonl" --by decision --json)
	expect_contains "log: total (admin requests are not logged)" "$s" '"total": 9'
	expect_contains "log: full" "$s" '"full": 8'
	expect_contains "log: teaser" "$s" '"teaser": 1'
	s=$("$BIN/paywallctl" audit summary "$WORK/access.jsonl" --by reason --json)
	expect_contains "log: subscriber" "$s" '"subscriber": 2'
	expect_contains "log: promotion" "$s" '"promotion": 1'
	expect_contains "log: crawler" "$s" '"crawler": 1'
	expect_contains "log: meter-exhausted" "$s" '"meter-exhausted": 1'
	expect_contains "metrics: subscriber" "$m" 'paywalld_requests_total{decision="full",reason="subscriber"} 2'
	expect_contains "metrics: promotion" "$m" 'paywalld_requests_total{decision="full",reason="promotion"} 1'
	expect_contains "metrics: crawler" "$m" 'paywalld_requests_total{decision="full",reason="crawler"} 1'
	expect_contains "metrics: meter" "$m" 'paywalld_requests_total{decision="full",reason="meter"} 4'
	expect_contains "metrics: exhausted" "$m" 'paywalld_requests_total{decision="teaser",reason="meter-exhausted"} 1'
	expect_contains "metrics: invalid token" "$m" 'paywalld_token_rejections_total{reason="malformed"} 1'
	"$BIN/paywallctl" audit verify --key "$WORK/audit.key" "$WORK/access.jsonl" >/dev/null
	expect_eq "log verifies" "0" "$?"
}

t_rotation_under_load_loses_no_line() {
	head -c 48 /dev/urandom | base64 >"$WORK/audit.key"
	gw_gated memory "audit:
  log: access.jsonl
  key_file: audit.key
  fsync_ms: 50" || return
	local i pids=() r
	for ((i = 0; i < 8; i++)); do
		( for ((r = 0; r < 25; r++)); do http -o /dev/null "http://127.0.0.1:$gw_PORT/static/style.css"; done ) &
		pids+=($!)
	done
	for ((i = 1; i <= 4; i++)); do
		sleep 0.15
		mv "$WORK/access.jsonl" "$WORK/access.jsonl.$i"
		kill -USR1 "$gw_PID"
	done
	wait "${pids[@]}"
	stop "$gw_PID"
	local files=("$WORK"/access.jsonl.{1,2,3,4} "$WORK/access.jsonl")
	expect_eq "request lines across rotated files" "200" "$(cat "${files[@]}" | grep -vc '"type":"header"')"
	"$BIN/paywallctl" audit verify --key "$WORK/audit.key" "${files[@]}" >/dev/null
	expect_eq "rotated files verify as one sequence" "0" "$?"
}
