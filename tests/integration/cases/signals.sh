# Signals: HUP reloads atomically, TERM drains and stops cleanly.

t_sighup_reload_switches_new_requests_only() {
	start_backend be2 || return
	write_config "$WORK/gw.yaml" "$be_PORT"
	start_gateway gw "$WORK/gw.yaml" || return
	http -X POST "http://127.0.0.1:$be2_PORT/stats/reset" >/dev/null
	# A request in flight on the first config...
	http -o "$WORK/slow.body" -w '%{http_code}' "http://127.0.0.1:$gw_PORT/slow?ms=1500" >"$WORK/slow.code" &
	local cpid=$!
	sleep 0.3
	# ...while the config is replaced by one pointing at the second backend.
	write_config "$WORK/gw.yaml" "$be2_PORT"
	kill -HUP "$gw_PID"
	wait_log "$WORK/gw.log" 'reload ok, config generation 2' 3 || fail "no reload in the log"
	http -o /dev/null "http://127.0.0.1:$gw_PORT/article/harbour-bridge-reopens"
	wait "$cpid"
	expect_eq "in-flight request finished on its config" "200" "$(cat "$WORK/slow.code")"
	expect_eq "in-flight body" "slow 1500" "$(cat "$WORK/slow.body")"
	# The second backend saw exactly the request sent after the reload (and /stats itself).
	expect_eq "new requests go to the new upstream" "2" "$(backend_stat "$be2_PORT" requests)"
}

t_sighup_with_invalid_config_keeps_old_one() {
	gw_default || return
	printf 'server:\n  listen: 127.0.0.1:0\n  bogus_key: 1\nupstream:\n  url: ftp://nowhere\n' >"$WORK/gw.yaml"
	kill -HUP "$gw_PID"
	wait_log "$WORK/gw.log" 'reload failed, keeping the running config: .*gw.yaml:3:3: unknown key' 3 ||
		fail "reload error with file:line:col not logged: $(tail -n 3 "$WORK/gw.log")"
	grep -q 'gw.yaml:5:8: url: expected an absolute http' "$WORK/gw.log" ||
		fail "second error not logged"
	expect_eq "old config still serves" "200" "$(status "http://127.0.0.1:$gw_PORT/article/harbour-bridge-reopens")"
	grep -q 'reload ok' "$WORK/gw.log" && fail "a broken config was reported as loaded"
}

t_sigterm_drains_in_flight_requests() {
	gw_default || return
	http -o "$WORK/slow.body" -w '%{http_code}' "http://127.0.0.1:$gw_PORT/slow?ms=1500" >"$WORK/slow.code" &
	local cpid=$!
	sleep 0.3
	kill -TERM "$gw_PID"
	sleep 0.3
	expect_eq "no new connections while draining" "000" "$(status "http://127.0.0.1:$gw_PORT/echo" -m 1)"
	wait "$cpid"
	expect_eq "in-flight request completed" "200" "$(cat "$WORK/slow.code")"
	stop "$gw_PID" 0
	grep -q 'level=info module=main msg="stopped"' "$WORK/gw.log" || fail "no clean stop logged"
}

t_sigterm_drain_is_bounded() {
	write_config "$WORK/gw.yaml" "$be_PORT"
	sed -i 's/drain_timeout_ms: 5000/drain_timeout_ms: 300/' "$WORK/gw.yaml"
	start_gateway gw "$WORK/gw.yaml" || return
	http -o /dev/null "http://127.0.0.1:$gw_PORT/slow?ms=10000" &
	local cpid=$! start end
	sleep 0.3
	start=$(date +%s.%N)
	stop "$gw_PID" 0
	end=$(date +%s.%N)
	wait "$cpid"
	expect_lt "stop time (s) with a 10 s request in flight" "$(awk -v s="$start" -v e="$end" 'BEGIN{print e-s}')" 3
	grep -q 'drain timeout' "$WORK/gw.log" || fail "drain timeout not logged"
}
