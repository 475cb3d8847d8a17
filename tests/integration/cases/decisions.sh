# Access decisions: routes, the meter, promotions, verified crawlers.

# gated_config FILE STORE [EXTRA_YAML]: the paywall of the demo site.
gated_config() {
	local file=$1 store=$2
	keys_new "$WORK/keys" ES256 k1
	head -c 48 /dev/urandom | base64 >"$WORK/visitor.key"
	printf '{"creationTime":"2026-11-01T00:00:00","prefixes":[{"ipv4Prefix":"66.249.64.0/19"},{"ipv6Prefix":"2001:4860:4801:10::/64"}]}\n' >"$WORK/crawlers.json"
	write_identity_config "$file" "$be_PORT" "jwks_file: keys/jwks.json"
	cat >>"$file" <<YAML
visitor:
  cookie: pw_vid
  secret_file: visitor.key
  secure_cookie: false
meter:
  store: $store
  timezone: UTC
  anonymous: {limit: 3, period: 30d}
  registered: {limit: 5, period: calendar-month}
  on_store_error: open
routes:
  - {path: /static/*, access: free}
  - {path: /sponsored/*, access: free}
  - {path: /premium/*, access: subscribers, entitlements: [premium]}
  - {path: /article/*, access: metered}
  - {path: /echo/*, access: metered}
  - {path: /hint*, access: metered}
crawlers:
  ranges_file: crawlers.json
  user_agents: [Googlebot, bingbot]
YAML
	[ -n "${3:-}" ] && printf '%s\n' "$3" >>"$file"
	return 0
}

gw_gated() {
	gated_config "$WORK/gw.yaml" "${1:-memory}" "${2:-}"
	start_gateway gw "$WORK/gw.yaml"
}

# read_article JAR PATH [curl args]: GET with a cookie jar; headers in $WORK/h.
read_article() {
	local jar=$1 path=$2
	shift 2
	http -c "$jar" -b "$jar" -D "$WORK/h" -o "$WORK/body" "http://127.0.0.1:$gw_PORT$path" "$@"
}

decision() {
	echo "$(header X-Paywall-Decision "$WORK/h")/$(header X-Paywall-Reason "$WORK/h")/$(header X-Meter-Remaining "$WORK/h")"
}

A1=/article/harbour-bridge-reopens
A2=/article/council-budget-vote
A3=/article/night-market-returns
A4=/article/school-robotics-win

t_meter_gives_three_articles_then_a_teaser() {
	gw_gated || return
	local jar="$WORK/jar"
	read_article "$jar" "$A1"
	expect_eq "1st" "full/meter/2" "$(decision)"
	expect_contains "visitor cookie set" "$(header Set-Cookie "$WORK/h")" "pw_vid="
	expect_contains "HttpOnly, Lax" "$(header Set-Cookie "$WORK/h")" "HttpOnly; SameSite=Lax"
	expect_eq "limit" "3" "$(header X-Meter-Limit "$WORK/h")"
	expect_eq "private" "private" "$(header Cache-Control "$WORK/h")"
	expect_contains "vary" "$(header Vary "$WORK/h")" "Cookie, Authorization"
	read_article "$jar" "$A2"
	expect_eq "2nd" "full/meter/1" "$(decision)"
	expect_eq "cookie set once" "" "$(header Set-Cookie "$WORK/h")"
	read_article "$jar" "$A3"
	expect_eq "3rd" "full/meter/0" "$(decision)"
	read_article "$jar" "$A4"
	expect_eq "4th" "teaser/meter-exhausted/0" "$(decision)"
	read_article "$jar" "$A1"
	expect_eq "re-read of the 1st" "full/meter/0" "$(decision)"
	read_article "$jar" "$A1?utm_source=x"
	expect_eq "query does not make a new article" "full/meter/0" "$(decision)"
	# A new cookie is a new visitor: the meter costs a reader one cookie.
	read_article "$WORK/jar2" "$A4"
	expect_eq "another visitor" "full/meter/2" "$(decision)"
}

t_head_and_post_never_count() {
	gw_gated || return
	local jar="$WORK/jar"
	read_article "$jar" "$A1" -I
	expect_eq "HEAD" "full/meter/3" "$(decision)"
	read_article "$jar" "/echo/a" -X POST -d x=1
	expect_eq "POST" "full/meter/3" "$(decision)"
	read_article "$jar" "$A1"
	expect_eq "GET counts" "full/meter/2" "$(decision)"
	read_article "$jar" "$A2" -I
	expect_eq "HEAD after" "full/meter/2" "$(decision)"
	read_article "$jar" "/article/no-such-story"
	expect_eq "404 does not count" "404" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	read_article "$jar" "$A2"
	expect_eq "next GET" "full/meter/1" "$(decision)"
}

t_free_and_unmatched_routes() {
	gw_gated || return
	read_article "$WORK/jar" /static/style.css
	expect_eq "free route" "full/free/" "$(decision)"
	expect_eq "free route keeps its caching" "public, max-age=60" "$(header Cache-Control "$WORK/h")"
	expect_eq "no cookie on free routes" "" "$(header Set-Cookie "$WORK/h")"
	read_article "$WORK/jar" /
	expect_eq "unmatched: no decision" "//" "$(decision)"
}

t_subscribers_and_registered_readers() {
	gw_gated || return
	local prem dig reg
	prem=$(mint "$WORK/keys/k1.pem" k1 pat --entitlements premium --ttl 1h)
	dig=$(mint "$WORK/keys/k1.pem" k1 dan --entitlements digital --ttl 1h)
	reg=$(mint "$WORK/keys/k1.pem" k1 rita --ttl 1h)
	read_article "$WORK/j1" /premium/investigation-port-contracts -H "Authorization: Bearer $prem"
	expect_eq "premium on premium" "full/subscriber/" "$(decision)"
	read_article "$WORK/j2" /premium/investigation-port-contracts -H "Authorization: Bearer $dig"
	expect_eq "digital on premium" "teaser/subscribers-only/" "$(decision)"
	read_article "$WORK/j3" /premium/investigation-port-contracts
	expect_eq "anonymous on premium" "teaser/subscribers-only/" "$(decision)"
	read_article "$WORK/j2" "$A1" -H "Authorization: Bearer $dig"
	expect_eq "digital on metered" "full/subscriber/" "$(decision)"
	expect_eq "no meter for subscribers" "" "$(header X-Meter-Limit "$WORK/h")"
	# Registered (valid token, no subscription): metered by sub, whatever the cookie.
	read_article "$WORK/j4" "$A1" -H "Authorization: Bearer $reg"
	expect_eq "registered 1st" "full/meter/4" "$(decision)"
	expect_eq "registered limit" "5" "$(header X-Meter-Limit "$WORK/h")"
	read_article "$WORK/j5" "$A2" -H "Authorization: Bearer $reg"
	expect_eq "same sub, other browser" "full/meter/3" "$(decision)"
}

t_forged_visitor_cookie_is_a_new_visitor() {
	gw_gated || return
	local jar="$WORK/jar" v
	read_article "$jar" "$A1"
	read_article "$jar" "$A2"
	read_article "$jar" "$A3"
	v=$(awk '$6 == "pw_vid" {print $7}' "$jar")
	# Flip one character of the tag: the forged cookie is not this visitor.
	local forged="${v%?}$([ "${v: -1}" = A ] && echo B || echo A)"
	http -D "$WORK/h" -o /dev/null "http://127.0.0.1:$gw_PORT$A4" -H "Cookie: pw_vid=$forged"
	expect_eq "forged cookie" "full/meter/2" "$(decision)"
	expect_contains "forged cookie replaced" "$(header Set-Cookie "$WORK/h")" "pw_vid="
	http -D "$WORK/h" -o /dev/null "http://127.0.0.1:$gw_PORT$A4" -H "Cookie: pw_vid=$v"
	expect_eq "genuine cookie, exhausted" "teaser/meter-exhausted/0" "$(decision)"
}

t_parallel_requests_count_exactly() {
	gw_gated "lmdb:$WORK/meter" || return
	local jar="$WORK/jar" i pids=()
	read_article "$jar" /static/style.css   # no cookie yet: free route sets none
	read_article "$jar" /echo/warmup -I     # a HEAD on a metered route sets the cookie
	for ((i = 0; i < 20; i++)); do
		http -b "$jar" -D "$WORK/h.$i" -o /dev/null "http://127.0.0.1:$gw_PORT/echo/p$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	local full=0 teaser=0
	for ((i = 0; i < 20; i++)); do
		case "$(header X-Paywall-Decision "$WORK/h.$i")" in
		full) full=$((full + 1)) ;;
		teaser) teaser=$((teaser + 1)) ;;
		esac
	done
	expect_eq "full answers out of 20 parallel" "3" "$full"
	expect_eq "teasers" "17" "$teaser"
}

t_meter_counts_survive_restart_and_kill9() {
	gated_config "$WORK/gw.yaml" "lmdb:$WORK/meter"
	start_gateway gw "$WORK/gw.yaml" || return
	local jar="$WORK/jar"
	read_article "$jar" "$A1"
	stop "$gw_PID"
	start_gateway gw "$WORK/gw.yaml" || return
	read_article "$jar" "$A2"
	expect_eq "after restart" "full/meter/1" "$(decision)"
	kill -KILL "$gw_PID"
	wait "$gw_PID" 2>/dev/null
	rm -f "$WORK"/asan/* 2>/dev/null	# a killed process may leave a partial report
	start_gateway gw "$WORK/gw.yaml" || return
	read_article "$jar" "$A3"
	expect_eq "after kill -9" "full/meter/0" "$(decision)"
	read_article "$jar" "$A4"
	expect_eq "still exhausted" "teaser/meter-exhausted/0" "$(decision)"
}

t_promotion_window_opens_and_closes_live() {
	local now starts ends
	now=$(date +%s)
	starts=$(date -u -d "@$((now + 3))" +%Y-%m-%dT%H:%M:%S+00:00)
	ends=$(date -u -d "@$((now + 6))" +%Y-%m-%dT%H:%M:%S+00:00)
	gw_gated memory "promotions:
  - id: open-weekend
    starts: $starts
    ends: $ends
    paths: [/article/*, /premium/*]
    audience: everyone" || return
	local jar="$WORK/jar"
	read_article "$jar" "$A1"
	expect_eq "before the window" "full/meter/2" "$(decision)"
	sleep $(( now + 3 - $(date +%s) ))
	sleep 0.2
	read_article "$jar" "$A2"
	expect_eq "inside the window" "full/promotion/" "$(decision)"
	expect_eq "promotion id" "open-weekend" "$(header X-Paywall-Promotion "$WORK/h")"
	read_article "$jar" /premium/investigation-port-contracts
	expect_eq "premium opened too" "full/promotion/" "$(decision)"
	read_article "$jar" "$A3"
	read_article "$jar" "$A4"
	sleep $(( now + 6 - $(date +%s) ))
	sleep 0.2
	read_article "$jar" "$A2"
	expect_eq "after the window: promotion reads did not count" "full/meter/1" "$(decision)"
	read_article "$jar" /premium/investigation-port-contracts
	expect_eq "premium closed again" "teaser/subscribers-only/" "$(decision)"
}

t_only_verified_crawlers_get_in() {
	gw_gated || return
	local ua='Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
	read_article "$WORK/j1" "$A1" -A "$ua" -H 'X-Forwarded-For: 66.249.66.1'
	expect_eq "verified Googlebot" "full/crawler/" "$(decision)"
	read_article "$WORK/j1" /premium/investigation-port-contracts -A "$ua" -H 'X-Forwarded-For: 66.249.66.1'
	expect_eq "verified Googlebot on premium" "full/crawler/" "$(decision)"
	read_article "$WORK/j2" "$A1" -A "$ua" -H 'X-Forwarded-For: 6.6.6.6'
	expect_eq "spoofed Googlebot" "full/meter/2" "$(decision)"
	read_article "$WORK/j3" "$A1" -A "$ua"
	expect_eq "Googlebot from the proxy itself" "full/meter/2" "$(decision)"
	# A client-written entry left of an untrusted one is not believed.
	read_article "$WORK/j4" "$A1" -A "$ua" -H 'X-Forwarded-For: 66.249.66.1, 6.6.6.6'
	expect_eq "range address behind an untrusted one" "full/meter/2" "$(decision)"
}

t_backend_hints_override_the_route() {
	gw_gated || return
	local jar="$WORK/jar"
	read_article "$jar" "/hint?access=free"
	expect_eq "backend says free" "full/free/" "$(decision)"
	read_article "$jar" "/hint?access=subscribers"
	expect_eq "backend says subscribers" "teaser/subscribers-only/" "$(decision)"
	read_article "$jar" "/hint/a?article=story-1"
	expect_eq "article id from backend" "full/meter/2" "$(decision)"
	read_article "$jar" "/hint/b?article=story-1"
	expect_eq "same article id, other URL" "full/meter/2" "$(decision)"
	expect_eq "hints stripped" "" "$(header X-Paywall-Access "$WORK/h")$(header X-Paywall-Article-Id "$WORK/h")"
}

t_path_variants_are_decided_like_their_canonical_form() {
	gw_gated || return
	local v code
	for v in '/ARTICLE/harbour-bridge-reopens' '//article/harbour-bridge-reopens' \
		'/static/../article/harbour-bridge-reopens' '/static/%2e%2e/article/harbour-bridge-reopens' \
		'/%61rticle/harbour-bridge-reopens' '/article/harbour-bridge-reopens;jsessionid=1' \
		'/static;x=1/../article/harbour-bridge-reopens' '/article/./harbour-bridge-reopens' \
		'/article./harbour-bridge-reopens' '/article/harbour-bridge-reopens.' \
		'/Static/../Article/harbour-bridge-reopens' '/article/harbour-bridge-reopens/' \
		'/static/..;/article/harbour-bridge-reopens' '/static/.%2E/article/harbour-bridge-reopens'; do
		read_article "$WORK/jar-$RANDOM" "$v" --path-as-is
		expect_eq "variant $v" "meter" "$(header X-Paywall-Reason "$WORK/h")"
	done
	code=$(status "http://127.0.0.1:$gw_PORT/static%2F..%2Farticle/x" --path-as-is)
	expect_eq "encoded slash" "400" "$code"
	code=$(status "http://127.0.0.1:$gw_PORT/static/%5C../article/x" --path-as-is)
	expect_eq "encoded backslash" "400" "$code"
	# What the backend sees is the normalized path the decision was made on.
	local out
	out=$(http --path-as-is "http://127.0.0.1:$gw_PORT/static/../echo/%61b;p=1//c/?q=%2e%2e")
	expect_contains "forwarded normalized" "$out" '"uri":"/echo/ab/c/?q=%2e%2e"'
}

t_store_errors_follow_on_store_error() {
	gated_config "$WORK/open.yaml" memory "" 
	sed -i 's/  on_store_error: open/  on_store_error: open\n  memory_max_entries: 1/' "$WORK/open.yaml"
	start_gateway gw "$WORK/open.yaml" || return
	read_article "$WORK/jar" "$A1"
	read_article "$WORK/jar2" "$A2"
	expect_eq "store full, open" "full/meter-unavailable/" "$(decision)"
	expect_eq "status" "200" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	wait_log "$WORK/gw.log" 'module=meter .*store failed' 2 || fail "store error not logged"
	stop "$gw_PID"
	sed 's/on_store_error: open/on_store_error: closed/' "$WORK/open.yaml" >"$WORK/closed.yaml"
	start_gateway gw "$WORK/closed.yaml" || return
	read_article "$WORK/jar3" "$A1"
	read_article "$WORK/jar4" "$A2"
	expect_eq "store full, closed" "teaser/meter-unavailable/" "$(decision)"
}

t_explain_answers_for_past_running_and_upcoming_promotions() {
	gated_config "$WORK/gw.yaml" memory "promotions:
  - id: sep30
    starts: 2022-09-01T00:00:00+09:00
    ends: 2022-10-01T00:00:00+09:00
    paths: [/article/*]
    audience: everyone"
	local out
	out=$("$BIN/paywallctl" explain -c "$WORK/gw.yaml" --path /article/x --at 2022-08-31T23:59:59+09:00)
	expect_contains "upcoming" "$out" "promotion: sep30 [2022-08-31T15:00:00Z, 2022-09-30T15:00:00Z) for everyone: upcoming"
	expect_contains "metered before" "$out" "decision:  full, reason meter"
	out=$("$BIN/paywallctl" explain -c "$WORK/gw.yaml" --path /article/x --at 2022-09-01T00:00:00+09:00 --reads 9)
	expect_contains "running at starts" "$out" ": running"
	expect_contains "granted" "$out" "decision:  full, reason promotion, promotion sep30"
	out=$("$BIN/paywallctl" explain -c "$WORK/gw.yaml" --path /article/x --at 2022-10-01T00:00:00+09:00 --reads 3)
	expect_contains "past at ends (exclusive)" "$out" ": past"
	expect_contains "meter after" "$out" "decision:  teaser, reason meter-exhausted"
	out=$("$BIN/paywallctl" explain -c "$WORK/gw.yaml" --path '/static/../Article/x;s=1')
	expect_contains "normalized" "$out" "path:      /Article/x"
	out=$("$BIN/paywallctl" explain -c "$WORK/gw.yaml" --path /article/x --ua Googlebot --ip 66.249.66.1)
	expect_contains "verified crawler" "$out" "decision:  full, reason crawler"
	check_sanitizers
}

t_meter_show_and_reset_for_reader_support() {
	gw_gated "lmdb:$WORK/meter" || return
	local jar="$WORK/jar" v out
	read_article "$jar" "$A1"
	read_article "$jar" "$A2"
	v=$(awk '$6 == "pw_vid" {print $7}' "$jar")
	out=$("$BIN/paywallctl" meter show -c "$WORK/gw.yaml" --visitor "$v")
	expect_contains "show" "$out" "2 of 3 articles read in the current period (30d)"
	"$BIN/paywallctl" meter reset -c "$WORK/gw.yaml" --visitor "$v" >/dev/null
	read_article "$jar" "$A3"
	expect_eq "after reset" "full/meter/2" "$(decision)"
	out=$("$BIN/paywallctl" meter show -c "$WORK/gw.yaml" --visitor "${v%?}x" 2>/dev/null)
	expect_contains "forged visitor refused" "$out$("$BIN/paywallctl" meter show -c "$WORK/gw.yaml" --visitor "${v%?}x" 2>&1)" "not signed"
	check_sanitizers
}

t_limit_zero_is_a_hard_wall_and_secure_cookies() {
	gated_config "$WORK/gw.yaml" memory
	sed -i 's/anonymous: {limit: 3, period: 30d}/anonymous: {limit: 0, period: 30d}/; s/secure_cookie: false/secure_cookie: true/' "$WORK/gw.yaml"
	start_gateway gw "$WORK/gw.yaml" || return
	read_article "$WORK/jar" "$A1"
	expect_eq "limit 0" "teaser/meter-exhausted/0" "$(decision)"
	expect_contains "Secure cookie" "$(header Set-Cookie "$WORK/h")" "; Secure"
	expect_contains "two years" "$(header Set-Cookie "$WORK/h")" "Max-Age=63244800"
	local reg
	reg=$(mint "$WORK/keys/k1.pem" k1 rita --ttl 1h)
	read_article "$WORK/jar2" "$A1" -H "Authorization: Bearer $reg"
	expect_eq "registered readers keep their own limit" "full/meter/4" "$(decision)"
}
