# One slow backend response must never stall other readers.

t_slow_requests_do_not_stall_fast_ones() {
	gw_default || return
	local i pids=() slow_ok=0 worst=0 t
	for ((i = 0; i < 200; i++)); do
		http -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$gw_PORT/slow?ms=2000" \
			>>"$WORK/slow.codes" &
		pids+=($!)
	done
	sleep 0.5
	for ((i = 0; i < 10; i++)); do
		t=$(http -o /dev/null -w '%{time_total}' "http://127.0.0.1:$gw_PORT/article/tidal-energy-pilot")
		worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
	done
	wait "${pids[@]}"
	slow_ok=$(grep -c '^200$' "$WORK/slow.codes")
	expect_lt "slowest fast request (s) while 200 slow ones are held" "$worst" 0.2
	expect_eq "slow requests answered 200" "200" "$slow_ok"
}
