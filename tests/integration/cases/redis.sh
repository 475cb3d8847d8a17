# The Redis meter store: gateways sharing one Redis count a reader once,
# an outage or a slow Redis is answered per on_store_error without 5xx or
# stalls, and metering resumes by itself. Real redis-server processes.

R_A5=/article/tidal-energy-pilot

# The command timeout where a case is not about it: on a loaded test machine
# (sanitizers, parallel jobs) a 50 ms round trip now and then takes longer,
# and a timed-out count fails over, which would blur exact counts.
R_RELAXED="  redis: {timeout_ms: 1000}"

# redis_config FILE PORT [METER_LINES] [EXTRA_YAML]: the gated demo paywall
# (anonymous 3 per 30d, registered 5 per calendar month, open) metered in
# the Redis on PORT, db 0. METER_LINES: more `meter:` keys, two-space
# indent; $R_RELAXED when not given.
redis_config() {
	gated_config "$1" "redis://127.0.0.1:$2/0
${3:-$R_RELAXED}" "${4:-}"
}

# redis_variant SRC DST STORE_LINES: SRC with its `meter.store` and
# `meter.redis` lines replaced by STORE_LINES; keys and visitor secret stay,
# so readers carry over.
redis_variant() {
	REPL="$3" awk '/^  store: / { print "  store: " ENVIRON["REPL"]; next }
		/^  redis: / { next } { print }' "$1" >"$2"
}

# r_get GW JAR PATH [curl args]: a GET through gateway GW (gw1, gw2, ...);
# headers in $WORK/h, body in $WORK/body, for decision/header.
r_get() {
	local port="$1_PORT" jar=$2 path=$3
	shift 3
	http -c "$jar" -b "$jar" -D "$WORK/h" -o "$WORK/body" "http://127.0.0.1:${!port}$path" "$@"
}

r_url() {
	local port="$1_PORT"
	echo "http://127.0.0.1:${!port}"
}

r_admin() {
	local port="$1_ADMIN"
	echo "http://127.0.0.1:${!port}"
}

r_code() {
	head -n1 "$WORK/h" | awk '{ print $2 }'
}

# r_metric GW SERIES: one value from GW's /metrics ("" when absent).
r_metric() {
	local admin="$1_ADMIN"
	http "http://127.0.0.1:${!admin}/metrics" | awk -v s="$2" '$1 == s { print $2; exit }'
}

# r_expect_ge WHAT MIN ACTUAL (numbers)
r_expect_ge() {
	awk -v a="$3" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }' ||
		fail "$1: expected >= $2, got '$3'"
}

# r_burst N JAR PATH_PREFIX [curl args]: N GETs at once of PATH_PREFIX0..N-1,
# even ones through gw1, odd ones through gw2. Headers in $WORK/b.I,
# "status seconds" in $WORK/b.I.w. The jar is only read.
r_burst() {
	local n=$1 jar=$2 prefix=$3 i port pids=()
	shift 3
	rm -f "$WORK"/b.*
	for ((i = 0; i < n; i++)); do
		if ((i % 2)); then port=$gw2_PORT; else port=$gw1_PORT; fi
		http -b "$jar" -D "$WORK/b.$i" -o /dev/null -w '%{http_code} %{time_total}\n' \
			"http://127.0.0.1:$port$prefix$i" "$@" >"$WORK/b.$i.w" &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# r_tally N: "decision/reason=count ..." over the last r_burst.
r_tally() {
	local i
	for ((i = 0; i < $1; i++)); do
		echo "$(header X-Paywall-Decision "$WORK/b.$i")/$(header X-Paywall-Reason "$WORK/b.$i")"
	done | sort | uniq -c | awk '{ printf "%s%s=%s", sep, $2, $1; sep = " " }'
}

# r_codes N: "status=count ..." over the last r_burst.
r_codes() {
	local i
	for ((i = 0; i < $1; i++)); do awk '{ print $1 }' "$WORK/b.$i.w"; done |
		sort | uniq -c | awk '{ printf "%s%s=%s", sep, $2, $1; sep = " " }'
}

# r_slowest N: the longest time_total of the last r_burst.
r_slowest() {
	local i
	for ((i = 0; i < $1; i++)); do awk '{ print $2 }' "$WORK/b.$i.w"; done | sort -g | tail -n1
}

# r_meter_headers N: how many answers of the last r_burst carry X-Meter-*.
r_meter_headers() {
	local i
	for ((i = 0; i < $1; i++)); do cat "$WORK/b.$i"; done | grep -ci '^x-meter-'
}

# r_until_metered GW JAR PATH SECONDS: repeats the GET until the meter answers
# again (X-Meter-Remaining present); 1 when SECONDS pass first.
r_until_metered() {
	local end
	end=$(awk -v t="$(date +%s.%N)" -v s="$4" 'BEGIN { printf "%.3f", t + s }')
	while awk -v t="$(date +%s.%N)" -v e="$end" 'BEGIN { exit !(t < e) }'; do
		r_get "$1" "$2" "$3"
		[ -n "$(header X-Meter-Remaining "$WORK/h")" ] && return 0
		sleep 0.1
	done
	return 1
}

r_since() {
	awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }'
}

# The reader keys in a Redis (default prefix), one a line.
r_keys() {
	redis_cli "$1" --scan --pattern "${2:-paywalld:}{*"
}

# Two gateways on one Redis: one reader, one meter, whichever instance answers.
t_redis_two_gateways_share_one_meter() {
	start_redis r || return
	redis_config "$WORK/gw.yaml" "$r_PORT"
	start_gateway gw1 "$WORK/gw.yaml" || return
	start_gateway gw2 "$WORK/gw.yaml" || return
	local j="$WORK/jar"
	r_get gw1 "$j" "$A1"
	expect_eq "anonymous 1st, gw1" "full/meter/2" "$(decision)"
	expect_eq "limit header" "3" "$(header X-Meter-Limit "$WORK/h")"
	r_get gw2 "$j" "$A2"
	expect_eq "anonymous 2nd, gw2" "full/meter/1" "$(decision)"
	r_get gw1 "$j" "$A3"
	expect_eq "anonymous 3rd, gw1" "full/meter/0" "$(decision)"
	r_get gw2 "$j" "$A4"
	expect_eq "anonymous 4th, gw2" "teaser/meter-exhausted/0" "$(decision)"
	r_get gw1 "$j" "$R_A5"
	expect_eq "anonymous 5th, gw1" "teaser/meter-exhausted/0" "$(decision)"
	r_get gw2 "$j" "$A1"
	expect_eq "re-read on gw2 of what gw1 counted" "full/meter/0" "$(decision)"
	r_get gw1 "$j" "$A2"
	expect_eq "re-read on gw1 of what gw2 counted" "full/meter/0" "$(decision)"

	local reg i gw want
	reg=$(mint "$WORK/keys/k1.pem" k1 rita --ttl 1h)
	for ((i = 1; i <= 7; i++)); do
		gw=gw$((i % 2 + 1))
		want="full/meter/$((5 - i))"
		[ "$i" -gt 5 ] && want="teaser/meter-exhausted/0"
		r_get "$gw" "$WORK/jr$i" "/echo/r$i" -H "Authorization: Bearer $reg"
		expect_eq "registered read $i on $gw" "$want" "$(decision)"
	done
	expect_eq "registered limit header" "5" "$(header X-Meter-Limit "$WORK/h")"
	r_get gw1 "$WORK/jr9" /echo/r2 -H "Authorization: Bearer $reg"
	expect_eq "registered re-read on the other instance" "full/meter/0" "$(decision)"

	expect_eq "Redis holds two readers" "2" "$(r_keys r | wc -l)"
	for gw in gw1 gw2; do
		expect_eq "$gw store up" "1" "$(r_metric $gw paywalld_meter_store_up)"
		expect_eq "$gw no store errors" "0" "$(r_metric $gw paywalld_meter_store_errors_total)"
	done
}

# 40 distinct articles at once over both instances: exactly `limit` full.
t_redis_parallel_reads_over_two_gateways_count_exactly() {
	start_redis r || return
	redis_config "$WORK/gw.yaml" "$r_PORT"
	start_gateway gw1 "$WORK/gw.yaml" || return
	start_gateway gw2 "$WORK/gw.yaml" || return
	local round limit key jar args
	for round in visitor registered visitor2; do
		redis_cli r FLUSHALL >/dev/null
		jar="$WORK/jar.$round"
		args=()
		if [ "$round" = registered ]; then
			limit=5
			args=(-H "Authorization: Bearer $(mint "$WORK/keys/k1.pem" k1 "par-$RANDOM" --ttl 1h)")
		else
			limit=3
			r_get gw1 "$jar" /echo/warmup -I	# a HEAD sets the cookie and counts nothing
			[ -n "$(awk '$6 == "pw_vid" { print $7 }' "$jar")" ] || fail "$round: no visitor cookie"
		fi
		r_burst 40 "$jar" "/echo/par-$round-" "${args[@]}"
		expect_eq "$round: statuses (a non-HTML teaser is a 402)" "200=$limit 402=$((40 - limit))" "$(r_codes 40)"
		expect_eq "$round: answers" "full/meter=$limit teaser/meter-exhausted=$((40 - limit))" \
			"$(r_tally 40)"
		key=$(r_keys r)
		expect_eq "$round: one reader key" "1" "$(printf '%s\n' "$key" | grep -c .)"
		expect_eq "$round: ZCARD" "$limit" "$(redis_cli r ZCARD "$key")"
	done
	expect_eq "gw1 no store errors" "0" "$(r_metric gw1 paywalld_meter_store_errors_total)"
	expect_eq "gw2 no store errors" "0" "$(r_metric gw2 paywalld_meter_store_errors_total)"
}

# Redis stopped mid-run: answers follow on_store_error=open, no 5xx, no
# stall, counted in /metrics; Redis back on its port: metering resumes in
# the same gateway processes.
t_redis_outage_fails_open_and_metering_resumes() {
	start_redis r || return
	redis_config "$WORK/gw.yaml" "$r_PORT"
	start_gateway gw1 "$WORK/gw.yaml" || return
	start_gateway gw2 "$WORK/gw.yaml" || return
	local pid1=$gw1_PID pid2=$gw2_PID j="$WORK/jar" gw
	# Fill both pools with connections first: they all go stale in the outage.
	r_get gw1 "$WORK/j0" /echo/warmup -I
	r_burst 20 "$WORK/j0" /echo/pre-
	expect_eq "before: answers" "full/meter=3 teaser/meter-exhausted=17" "$(r_tally 20)"
	r_get gw1 "$j" "$A1"
	expect_eq "before: metered" "full/meter/2" "$(decision)"
	expect_eq "before: readyz" "200" "$(status "http://127.0.0.1:$gw1_ADMIN/readyz")"
	expect_contains "before: readyz body" "$(http "http://127.0.0.1:$gw1_ADMIN/readyz")" "meter store: ok"

	stop "$r_PID"
	local down_at
	down_at=$(date +%s.%N)
	r_burst 20 "$j" /echo/down-
	expect_eq "outage: statuses" "200=20" "$(r_codes 20)"
	expect_eq "outage: answers" "full/meter-unavailable=20" "$(r_tally 20)"
	expect_eq "outage: no meter headers" "0" "$(r_meter_headers 20)"
	expect_lt "outage: slowest answer (s)" "$(r_slowest 20)" 1.5
	# Keep it down past a few backoff doublings, asking now and then.
	local i t sent1=10 sent2=10
	for ((i = 0; i < 12; i++)); do
		gw=gw$((i % 2 + 1))
		t=$(http -b "$j" -D "$WORK/h" -o "$WORK/body" -w '%{time_total}' "$(r_url $gw)$A2")
		expect_eq "outage read $i: status" "200" "$(r_code)"
		expect_eq "outage read $i via $gw" "full/meter-unavailable/" "$(decision)"
		expect_eq "outage read $i: no limit header" "" "$(header X-Meter-Limit "$WORK/h")"
		expect_lt "outage read $i: seconds" "$t" 0.5
		if [ $gw = gw1 ]; then sent1=$((sent1 + 1)); else sent2=$((sent2 + 1)); fi
		sleep 0.2
	done
	for gw in gw1 gw2; do
		local sent=$sent1
		[ $gw = gw2 ] && sent=$sent2
		r_expect_ge "$gw store errors" "$sent" "$(r_metric $gw paywalld_meter_store_errors_total)"
		expect_eq "$gw meter-unavailable answers" "$sent" \
			"$(r_metric $gw 'paywalld_requests_total{decision="full",reason="meter-unavailable"}')"
		expect_eq "$gw store up" "0" "$(r_metric $gw paywalld_meter_store_up)"
		r_expect_ge "$gw failed connects" 1 "$(r_metric $gw 'paywalld_meter_store_connects_total{result="failed"}')"
		expect_eq "$gw readyz" "503" "$(status "$(r_admin $gw)/readyz")"
	done
	local rz
	rz=$(http "http://127.0.0.1:$gw1_ADMIN/readyz")
	expect_contains "readyz: store line" "$rz" "meter store: failing (answers follow on_store_error=open)"
	expect_contains "readyz: backend line" "$rz" "backend: reachable"
	expect_contains "readyz: config line" "$rz" "config: loaded"

	REDIS_PORT=$r_PORT start_redis r || return
	local up_at
	up_at=$(date +%s.%N)
	r_until_metered gw1 "$j" /echo/back 10 || fail "gw1: not metered 10 s after Redis came back"
	local took
	took=$(r_since "$up_at")
	expect_lt "gw1: seconds until metering resumed (backoff max 2 s)" "$took" 3
	expect_eq "gw1 after: metered from an empty Redis" "full/meter/2" "$(decision)"
	r_until_metered gw2 "$j" /echo/back 10 || fail "gw2: not metered 10 s after Redis came back"
	expect_eq "gw2 after: same article is a re-read" "full/meter/2" "$(decision)"
	# Requests failed from the stop until metering resumed on both instances.
	local outage
	outage=$(r_since "$down_at")
	expect_eq "gw1 is the same process" "$pid1" "$gw1_PID"
	expect_eq "gw2 is the same process" "$pid2" "$gw2_PID"
	kill -0 "$pid1" 2>/dev/null || fail "gw1 died"
	kill -0 "$pid2" 2>/dev/null || fail "gw2 died"
	for gw in gw1 gw2; do
		expect_eq "$gw store up again" "1" "$(r_metric $gw paywalld_meter_store_up)"
		expect_eq "$gw readyz again" "200" "$(status "$(r_admin $gw)/readyz")"
		r_expect_ge "$gw connects ok" 2 "$(r_metric $gw 'paywalld_meter_store_connects_total{result="ok"}')"
		expect_eq "$gw outage logged once" "1" \
			"$(grep -c 'level=error module=redis .*meters follow on_store_error' "$WORK/$gw.log")"
		expect_eq "$gw recovery logged once" "1" \
			"$(grep -c 'module=redis .*answers again: metering resumes' "$WORK/$gw.log")"
		local lines
		lines=$(grep -c 'module=meter msg="request .*meter store failed' "$WORK/$gw.log")
		r_expect_ge "$gw per-request meter line logged" 1 "$lines"
		expect_lt "$gw per-request meter lines (at most one a second over ${outage}s)" \
			"$lines" "$(awk -v o="$outage" 'BEGIN { printf "%d", o + 2 }')"
	done
	expect_contains "readyz: ok again" "$(http "http://127.0.0.1:$gw1_ADMIN/readyz")" "meter store: ok"
}

# on_store_error=closed: the teaser, without the hidden text; readyz can be
# told not to depend on the store.
t_redis_outage_closed_gives_teasers_and_readyz_can_ignore_store() {
	start_redis r || return
	redis_config "$WORK/gw.yaml" "$r_PORT" "$R_RELAXED
  readyz_requires_store: false" "teaser:
  selector: div.article-body
  keep_paragraphs: 2
  marker: paywall-break
  template: $ROOT/policies/templates/paywall.html"
	sed -i 's/  on_store_error: open/  on_store_error: closed/' "$WORK/gw.yaml"
	start_gateway gw1 "$WORK/gw.yaml" || return
	local j="$WORK/jar" reg sub
	reg=$(mint "$WORK/keys/k1.pem" k1 rita --ttl 1h)
	sub=$(mint "$WORK/keys/k1.pem" k1 sam --entitlements digital --ttl 1h)
	r_get gw1 "$j" "$A2"
	expect_eq "before: metered" "full/meter/2" "$(decision)"

	stop "$r_PID"
	r_get gw1 "$j" "$A1"
	expect_eq "closed: status" "200" "$(r_code)"
	expect_eq "closed: teaser" "teaser/meter-unavailable/" "$(decision)"
	expect_eq "closed: no limit header" "" "$(header X-Meter-Limit "$WORK/h")"
	grep -qF "$LEAD1" "$WORK/body" || fail "closed: lead paragraph missing"
	grep -qF 'data-paywall-reason="meter-unavailable"' "$WORK/body" || fail "closed: paywall box reason missing"
	expect_no_hidden_text "closed teaser" "$WORK/body"
	r_get gw1 "$j" "$A2"
	expect_eq "closed: even a counted article" "teaser/meter-unavailable/" "$(decision)"
	r_get gw1 "$WORK/jr" "$A3" -H "Authorization: Bearer $reg"
	expect_eq "closed: registered reader" "teaser/meter-unavailable/" "$(decision)"
	r_get gw1 "$WORK/js" "$A3" -H "Authorization: Bearer $sub"
	expect_eq "closed: a subscriber needs no meter" "full/subscriber/" "$(decision)"
	r_get gw1 "$j" /static/style.css
	expect_eq "closed: free routes stay free" "full/free/" "$(decision)"
	expect_eq "closed: teaser count" "3" \
		"$(r_metric gw1 'paywalld_requests_total{decision="teaser",reason="meter-unavailable"}')"
	r_expect_ge "closed: store errors" 3 "$(r_metric gw1 paywalld_meter_store_errors_total)"
	expect_eq "closed: store up" "0" "$(r_metric gw1 paywalld_meter_store_up)"
	expect_eq "readyz not tied to the store" "200" "$(status "http://127.0.0.1:$gw1_ADMIN/readyz")"
	expect_contains "readyz still says why" "$(http "http://127.0.0.1:$gw1_ADMIN/readyz")" \
		"meter store: failing (answers follow on_store_error=closed)"

	REDIS_PORT=$r_PORT start_redis r || return
	r_until_metered gw1 "$j" "$A1" 10 || fail "not metered 10 s after Redis came back"
	expect_eq "after: full again" "full/meter/2" "$(decision)"
	grep -qF "${HIDDEN[0]}" "$WORK/body" || fail "after: the full article is not served"
}

# A Redis blocked by DEBUG SLEEP: requests fail over after timeout_ms.
t_redis_slow_redis_trips_the_timeout() {
	start_redis r --enable-debug-command yes || return
	redis_config "$WORK/gw.yaml" "$r_PORT" "  redis: {timeout_ms: 50}"
	start_gateway gw1 "$WORK/gw.yaml" || return
	local j="$WORK/jar" sl t i
	# The first count connects and loads the script; a loaded machine may
	# take longer than 50 ms for that once, so ask until it is in.
	r_until_metered gw1 "$j" /echo/s0 5 || fail "not metered before the sleep"
	expect_eq "before: metered" "full/meter/2" "$(decision)"
	redis_cli r DEBUG SLEEP 2 >/dev/null &
	sl=$!
	sleep 0.2
	for ((i = 1; i <= 4; i++)); do
		t=$(http -b "$j" -D "$WORK/h" -o /dev/null -w '%{time_total}' "http://127.0.0.1:$gw1_PORT/echo/s$i")
		expect_lt "read $i during DEBUG SLEEP: seconds" "$t" 0.5
		expect_eq "read $i: status" "200" "$(r_code)"
		expect_eq "read $i: failed over" "full/meter-unavailable/" "$(decision)"
		sleep 0.1
	done
	r_expect_ge "timeouts counted" 1 "$(r_metric gw1 paywalld_meter_store_timeouts_total)"
	r_expect_ge "errors counted" 4 "$(r_metric gw1 paywalld_meter_store_errors_total)"
	wait_log "$WORK/gw1.log" 'level=error module=redis .*timed out' 1 || fail "no timeout in the log"
	wait "$sl"
	r_until_metered gw1 "$j" /echo/s0 10 || fail "not metered 10 s after the sleep"
	expect_contains "after: metered again" "$(decision)" "full/meter/"
	expect_eq "after: store up" "1" "$(r_metric gw1 paywalld_meter_store_up)"
}

# Reader support against the Redis store: show and reset, visitor and user.
t_redis_meter_show_and_reset() {
	start_redis r || return
	redis_config "$WORK/gw.yaml" "$r_PORT"
	start_gateway gw1 "$WORK/gw.yaml" || return
	local j="$WORK/jar" v out reg
	r_get gw1 "$j" "$A1"
	r_get gw1 "$j" "$A2"
	v=$(awk '$6 == "pw_vid" { print $7 }' "$j")
	out=$("$BIN/paywallctl" meter show -c "$WORK/gw.yaml" --visitor "$v")
	expect_contains "visitor show" "$out" "2 of 3 articles read in the current period (30d)"
	expect_eq "visitor show lists both" "2" "$(printf '%s\n' "$out" | grep -c '^  article [0-9a-f]\{16\}\.\.\.  read 20')"
	out=$("$BIN/paywallctl" meter reset -c "$WORK/gw.yaml" --visitor "$v")
	expect_eq "visitor reset" "meter reset for this visitor" "$out"
	expect_eq "reset deletes the key" "0" "$(r_keys r | grep -c .)"
	out=$("$BIN/paywallctl" meter show -c "$WORK/gw.yaml" --visitor "$v")
	expect_contains "visitor show after reset" "$out" "0 of 3 articles read"
	r_get gw1 "$j" "$A3"
	expect_eq "first read after reset" "full/meter/2" "$(decision)"

	reg=$(mint "$WORK/keys/k1.pem" k1 rita --ttl 1h)
	r_get gw1 "$WORK/jr" /echo/u1 -H "Authorization: Bearer $reg"
	r_get gw1 "$WORK/jr" /echo/u2 -H "Authorization: Bearer $reg"
	expect_eq "user 2nd" "full/meter/3" "$(decision)"
	out=$("$BIN/paywallctl" meter show -c "$WORK/gw.yaml" --user rita)
	expect_contains "user show" "$out" "2 of 5 articles read in the current period (calendar-month)"
	out=$("$BIN/paywallctl" meter reset -c "$WORK/gw.yaml" --user rita)
	expect_eq "user reset" "meter reset for this user" "$out"
	r_get gw1 "$WORK/jr" /echo/u3 -H "Authorization: Bearer $reg"
	expect_eq "user first read after reset" "full/meter/4" "$(decision)"

	stop "$r_PID"
	out=$("$BIN/paywallctl" meter show -c "$WORK/gw.yaml" --user rita 2>&1)
	expect_eq "show with Redis down: exit" "1" "$?"
	expect_contains "show with Redis down" "$out" "the meter store failed"
	check_sanitizers
}

# AUTH: password_file and a password in the URL work; a wrong or missing
# password fails over and says why in the log, without the secret.
t_redis_password_file_and_wrong_password() {
	local pw="s3cret-pw-$RANDOM"
	start_redis r --requirepass "$pw" || return
	redis_config "$WORK/base.yaml" "$r_PORT"
	printf '%s\n' "$pw" >"$WORK/redis.pw"
	redis_variant "$WORK/base.yaml" "$WORK/good.yaml" "redis://127.0.0.1:$r_PORT/0
  redis: {password_file: redis.pw, timeout_ms: 1000}"
	redis_variant "$WORK/base.yaml" "$WORK/url.yaml" "redis://:$pw@127.0.0.1:$r_PORT/0
$R_RELAXED"
	redis_variant "$WORK/base.yaml" "$WORK/bad.yaml" "redis://127.0.0.1:$r_PORT/0
  redis: {password: wrong-pw-4711, timeout_ms: 1000}"
	start_gateway gw1 "$WORK/good.yaml" || return
	start_gateway gwu "$WORK/url.yaml" || return
	start_gateway gwb "$WORK/bad.yaml" || return
	start_gateway gwn "$WORK/base.yaml" || return
	local j="$WORK/jar"
	r_get gw1 "$j" "$A1"
	expect_eq "password_file: metered" "full/meter/2" "$(decision)"
	r_get gwu "$j" "$A2"
	expect_eq "password in the URL: metered, same reader" "full/meter/1" "$(decision)"
	r_get gwb "$j" "$A3"
	expect_eq "wrong password: status" "200" "$(r_code)"
	expect_eq "wrong password: fails over" "full/meter-unavailable/" "$(decision)"
	wait_log "$WORK/gwb.log" 'level=error module=redis .*WRONGPASS' 2 || fail "no WRONGPASS in the log"
	expect_eq "wrong password: store up" "0" "$(r_metric gwb paywalld_meter_store_up)"
	r_expect_ge "wrong password: failed connects" 1 \
		"$(r_metric gwb 'paywalld_meter_store_connects_total{result="failed"}')"
	expect_eq "wrong password: readyz" "503" "$(status "http://127.0.0.1:$gwb_ADMIN/readyz")"
	r_get gwn "$j" "$A4"
	expect_eq "no password: fails over" "full/meter-unavailable/" "$(decision)"
	wait_log "$WORK/gwn.log" 'level=error module=redis .*NOAUTH' 2 || fail "no NOAUTH in the log"
	# Redis answers, but refuses: the meter does not work, so the store is not up.
	expect_eq "no password: store up" "0" "$(r_metric gwn paywalld_meter_store_up)"
	expect_eq "no password: readyz" "503" "$(status "http://127.0.0.1:$gwn_ADMIN/readyz")"
	r_get gw1 "$j" "$A3"
	expect_eq "the failed reads did not count" "full/meter/0" "$(decision)"
	expect_eq "good: store up" "1" "$(r_metric gw1 paywalld_meter_store_up)"
	local g
	for g in gw1 gwu gwb gwn; do
		expect_not_contains "$g log keeps the password" "$(cat "$WORK/$g.log")" "$pw"
		expect_not_contains "$g log keeps the wrong password" "$(cat "$WORK/$g.log")" "wrong-pw-4711"
	done
}

# What a reader's meter looks like in Redis, and one EVALSHA per decision.
t_redis_key_layout_prefix_db_and_one_evalsha() {
	start_redis r || return
	redis_config "$WORK/gw.yaml" "$r_PORT"
	redis_variant "$WORK/gw.yaml" "$WORK/eu.yaml" "redis://127.0.0.1:$r_PORT/3
  redis: {key_prefix: \"news-eu:\", timeout_ms: 1000}"
	start_gateway gw1 "$WORK/gw.yaml" || return
	local j="$WORK/jar" keys key ttl
	r_get gw1 "$j" "$A1"
	expect_eq "read" "full/meter/2" "$(decision)"
	keys=$(redis_cli r --scan)
	expect_eq "exactly one key" "1" "$(printf '%s\n' "$keys" | grep -c .)"
	[[ "$keys" =~ ^paywalld:\{v:[0-9a-f]{32}\}$ ]] || fail "visitor key layout: '$keys'"
	key=$keys
	expect_eq "type" "zset" "$(redis_cli r TYPE "$key")"
	expect_eq "ZCARD" "1" "$(redis_cli r ZCARD "$key")"
	ttl=$(redis_cli r TTL "$key")
	expect_lt "TTL positive" 0 "$ttl"
	expect_lt "TTL at most 30 days" "$ttl" 2592001

	local reg ukey
	reg=$(mint "$WORK/keys/k1.pem" k1 rita --ttl 1h)
	r_get gw1 "$WORK/jr" "$A1" -H "Authorization: Bearer $reg"
	expect_eq "registered read" "full/meter/4" "$(decision)"
	ukey=$(redis_cli r --scan --pattern 'paywalld:{u:*')
	[[ "$ukey" =~ ^paywalld:\{u:[0-9a-f]{32}\}$ ]] || fail "user key layout: '$ukey'"
	ttl=$(redis_cli r TTL "$ukey")
	expect_lt "user TTL positive" 0 "$ttl"
	expect_lt "user TTL at most a month and an hour" "$ttl" $((31 * 86400 + 3601))

	# One EVALSHA of the count script per metered decision, re-reads and
	# exhausted ones included; after SCRIPT FLUSH: NOSCRIPT, then one EVAL
	# with the script's text (which caches it again).
	local mon count_re
	count_re="\"EVALSHA\" \"[0-9a-f]{40}\" \"1\" \"paywalld:\\{v:[0-9a-f]{32}\\}\" .* \"3\" \"[01]\" \"[0-9]+\"\$"
	redis-cli -h 127.0.0.1 -p "$r_PORT" MONITOR >"$WORK/monitor" 2>/dev/null &
	mon=$!
	wait_file "$WORK/monitor" 5 || fail "MONITOR did not start"
	r_get gw1 "$j" "$A2"
	r_get gw1 "$j" "$A1"
	r_get gw1 "$j" "$A3"
	r_get gw1 "$j" "$A4"
	expect_eq "4th read" "teaser/meter-exhausted/0" "$(decision)"
	r_get gw1 "$j" "$A4" -I
	expect_eq "HEAD looks only" "teaser/meter-exhausted/0" "$(decision)"
	sleep 0.2
	expect_eq "EVALSHA per decision" "5" "$(grep -cE "$count_re" "$WORK/monitor")"
	redis_cli r SCRIPT FLUSH >/dev/null
	: >"$WORK/monitor"
	r_get gw1 "$j" "$A1"
	expect_eq "after SCRIPT FLUSH: still metered" "full/meter/0" "$(decision)"
	sleep 0.2
	kill -TERM "$mon" 2>/dev/null
	wait "$mon" 2>/dev/null
	expect_eq "after SCRIPT FLUSH: one EVALSHA" "1" "$(grep -cE "$count_re" "$WORK/monitor")"
	expect_eq "after SCRIPT FLUSH: one EVAL" "1" \
		"$(grep -c '"EVAL" "local key = KEYS\[1\]' "$WORK/monitor")"
	expect_eq "after SCRIPT FLUSH: no SCRIPT LOAD" "0" "$(grep -c '"SCRIPT" "LOAD"' "$WORK/monitor")"
	r_expect_ge "round trips counted" 7 "$(r_metric gw1 paywalld_meter_store_round_trips_total)"

	start_gateway gw2 "$WORK/eu.yaml" || return
	r_get gw2 "$WORK/jar2" "$A1"
	expect_eq "custom prefix: read" "full/meter/2" "$(decision)"
	keys=$(redis_cli r -n 3 --scan)
	expect_eq "db 3: one key" "1" "$(printf '%s\n' "$keys" | grep -c .)"
	[[ "$keys" =~ ^news-eu:\{v:[0-9a-f]{32}\}$ ]] || fail "custom prefix layout: '$keys'"
	expect_eq "db 0 untouched by the second gateway" "2" "$(redis_cli r --scan | grep -c .)"
}
