# Teasers: the hidden text never leaves the gateway, by any side door.

# Sentences of /article/harbour-bridge-reopens: two kept, the rest hidden.
LEAD1="The Harbour Bridge reopened to traffic at six o'clock on Monday morning"
LEAD2="A group of about forty cyclists waited under the old toll lamp"
HIDDEN=("Engineers replaced every one of the two hundred and twelve rusted rivets"
	"The repair budget rose from four million to five point two million crowns"
	"Bus route 7, which had been sent along the ring road since the closure"
	"A small exhibition of photographs from the original 1911 opening")

gw_teasers() {
	gated_config "$WORK/gw.yaml" memory "teaser:
  selector: div.article-body
  keep_paragraphs: 2
  marker: paywall-break
  template: $ROOT/policies/templates/paywall.html
  remove: ['[data-paywall=subscriber]', 'link[rel=amphtml]']
${1:-}"
	# A hard wall for anonymous readers: every gated answer is a teaser.
	sed -i 's/anonymous: {limit: 3, period: 30d}/anonymous: {limit: 0, period: 30d}/' "$WORK/gw.yaml"
	sed -i 's|  - {path: /echo/\*, access: metered}|  - {path: /echo/*, access: metered}\n  - {path: /api/article/*, access: metered}|' "$WORK/gw.yaml"
	start_gateway gw "$WORK/gw.yaml"
}

expect_no_hidden_text() {
	local what=$1 file=$2 s
	for s in "${HIDDEN[@]}"; do
		grep -qF "$s" "$file" && fail "$what: hidden text leaked: $s"
	done
	return 0
}

t_teaser_keeps_the_lead_and_hides_the_rest() {
	gw_teasers || return
	read_article "$WORK/jar" "$A1"
	expect_eq "decision" "teaser/meter-exhausted/0" "$(decision)"
	expect_eq "status" "200" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	grep -qF "$LEAD1" "$WORK/body" || fail "lead paragraph 1 missing"
	grep -qF "$LEAD2" "$WORK/body" || fail "lead paragraph 2 missing"
	grep -qF 'class="paywall-box"' "$WORK/body" || fail "paywall box missing"
	expect_no_hidden_text "GET" "$WORK/body"
	grep -qF '"articleBody"' "$WORK/body" && fail "articleBody left in JSON-LD"
	grep -qF '"isAccessibleForFree":false' "$WORK/body" || fail "isAccessibleForFree not false"
	grep -qF '"hasPart"' "$WORK/body" || fail "hasPart missing"
	grep -qF 'The Harbourside Herald &middot; 3 Chandler' "$WORK/body" || fail "footer (outside the container) changed"
	expect_eq "Content-Length matches" "$(wc -c <"$WORK/body")" "$(header Content-Length "$WORK/h")"
	expect_eq "no ETag of the full page" "" "$(header ETag "$WORK/h")"
	# The same teaser again comes from the cache, byte for byte.
	cp "$WORK/body" "$WORK/first"
	read_article "$WORK/jar" "$A1"
	cmp -s "$WORK/first" "$WORK/body" || fail "cached teaser differs"
	expect_contains "cache hit counted" "$(http "http://127.0.0.1:$gw_ADMIN/metrics")" \
		'paywalld_teaser_cache_total{result="hit"} 1'
}

t_teaser_side_doors_stay_shut() {
	gw_teasers || return
	local u="http://127.0.0.1:$gw_PORT$A1" full_etag len_get
	full_etag=$(http -D - -o /dev/null "http://127.0.0.1:$be_PORT$A1" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
	http -D "$WORK/hg" -o "$WORK/get" "$u"
	len_get=$(wc -c <"$WORK/get")
	# HEAD: the GET's headers, no body.
	local reply
	reply=$(printf 'HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$A1" | raw "$gw_PORT" | tr -d '\r')
	expect_contains "HEAD is a teaser too" "$reply" "X-Paywall-Decision: teaser"
	expect_contains "HEAD length is the teaser's" "$reply" "Content-Length: $len_get"
	expect_eq "HEAD body" "" "$(printf '%s' "$reply" | sed '1,/^$/d')"
	# Range for the tail of the page.
	http -D "$WORK/h" -o "$WORK/range" "$u" -H 'Range: bytes=5000-'
	expect_eq "no 206" "200" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	expect_no_hidden_text "Range" "$WORK/range"
	# An encoding the gateway might not rewrite: it asks upstream for identity, compresses after.
	http -D "$WORK/h" -o "$WORK/gz" "$u" -H 'Accept-Encoding: gzip'
	expect_eq "gzip to the client" "gzip" "$(header Content-Encoding "$WORK/h")"
	gzip -dc "$WORK/gz" >"$WORK/gunz" || fail "not gzip"
	grep -qF 'class="paywall-box"' "$WORK/gunz" || fail "gzip body is not the teaser"
	expect_no_hidden_text "gzip" "$WORK/gunz"
	# The full page's ETag must not get a 304 (or the full copy) back.
	http -D "$WORK/h" -o "$WORK/cond" "$u" -H "If-None-Match: $full_etag"
	expect_eq "no 304 on the full page's ETag" "200" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	expect_no_hidden_text "conditional" "$WORK/cond"
	# The JSON representation of the same article.
	http -D "$WORK/h" -o "$WORK/json" "http://127.0.0.1:$gw_PORT/api/article/harbour-bridge-reopens.json"
	expect_eq "JSON: 402" "402" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	expect_contains "JSON reason" "$(cat "$WORK/json")" '"reason":"meter-exhausted"'
	expect_no_hidden_text "JSON" "$WORK/json"
}

t_subscribers_get_the_full_page_through_every_door() {
	gw_teasers || return
	local tok u="http://127.0.0.1:$gw_PORT$A1"
	tok=$(mint "$WORK/keys/k1.pem" k1 pat --entitlements premium --ttl 1h)
	http -o "$WORK/full" "$u" -H "Authorization: Bearer $tok"
	grep -qF "${HIDDEN[0]}" "$WORK/full" || fail "subscriber GET misses text"
	http -o "$WORK/gz" "$u" -H "Authorization: Bearer $tok" -H 'Accept-Encoding: gzip'
	{ gzip -dc "$WORK/gz" 2>/dev/null || cat "$WORK/gz"; } | grep -qF "${HIDDEN[1]}" || fail "subscriber gzip misses text"
	http -o "$WORK/range" "$u" -H "Authorization: Bearer $tok" -H 'Range: bytes=5000-'
	grep -qF "${HIDDEN[2]}" "$WORK/range" || fail "subscriber Range misses text"
	http -o "$WORK/json" "http://127.0.0.1:$gw_PORT/api/article/harbour-bridge-reopens.json" -H "Authorization: Bearer $tok"
	grep -qF "${HIDDEN[3]}" "$WORK/json" || fail "subscriber JSON misses text"
}

t_uncuttable_pages_fail_closed() {
	gw_teasers || return
	http -D "$WORK/h" -o "$WORK/body" "http://127.0.0.1:$gw_PORT/hint?access=subscribers"
	expect_eq "status" "200" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	grep -qF 'hinted page' "$WORK/body" && fail "page without the container sent whole"
	grep -qF 'class="paywall-box"' "$WORK/body" || fail "generic paywall page missing"
	expect_eq "reason kept" "subscribers-only" "$(header X-Paywall-Reason "$WORK/h")"
	wait_log "$WORK/gw.log" 'module=rewrite .*generic paywall page' 2 || fail "not logged"
}

t_promotion_banner_on_full_pages() {
	local now
	now=$(date +%s)
	gw_teasers "promotions:
  - id: open-house
    starts: $(date -u -d "@$((now - 60))" +%Y-%m-%dT%H:%M:%S+00:00)
    ends: $(date -u -d "@$((now + 3600))" +%Y-%m-%dT%H:%M:%S+00:00)
    paths: [/article/*]
    banner: $ROOT/policies/templates/promo-banner.html" || return
	read_article "$WORK/jar" "$A1"
	expect_eq "granted" "full/promotion/" "$(decision)"
	grep -qF 'class="paywall-promo-banner"' "$WORK/body" || fail "banner not injected"
	grep -qF "${HIDDEN[0]}" "$WORK/body" || fail "promotion page is not full"
	grep -qF "(open-house)" "$WORK/body" || fail "promotion id not in the banner"
}

# What a reader's browser shows: the box is visible and the hidden
# paragraphs are nowhere in the rendered text (not merely hidden by CSS).
t_browser_renders_the_teaser_without_hidden_text() {
	gw_teasers || return
	local art="$ROOT/tests/artifacts/browser" out tok s
	mkdir -p "$art"
	out=$(node "$ROOT/tests/interop/browser.mjs" "http://127.0.0.1:$gw_PORT$A1" "$art/teaser.png") ||
		{ fail "browser run failed: $out"; return; }
	expect_contains "paywall box visible" "$out" '"boxVisible":true'
	expect_contains "lead rendered" "$out" "${LEAD1:0:40}"
	for s in "${HIDDEN[@]}"; do
		expect_not_contains "rendered text" "$out" "${s:0:40}"
	done
	tok=$(mint "$WORK/keys/k1.pem" k1 pat --entitlements premium --ttl 1h)
	out=$(node "$ROOT/tests/interop/browser.mjs" "http://127.0.0.1:$gw_PORT$A1" "$art/full.png" "$tok") ||
		{ fail "browser run failed: $out"; return; }
	expect_contains "subscriber sees the text" "$out" "${HIDDEN[0]:0:40}"
	expect_contains "no box for subscribers" "$out" '"boxVisible":false'
	[ -s "$art/teaser.png" ] && [ -s "$art/full.png" ] || fail "screenshots missing"
}

# A section with its own layout: the route's teaser map overrides the global one.
t_route_teaser_overrides_the_section() {
	gw_teasers || return
	sed -i 's|  - {path: /premium/\*, access: subscribers, entitlements: \[premium\]}|  - path: /premium/*\n    access: subscribers\n    entitlements: [premium]\n    teaser: {keep_paragraphs: 0}|' "$WORK/gw.yaml"
	kill -HUP "$gw_PID"
	wait_log "$WORK/gw.log" 'reload ok' 3 || { fail "reload: $(tail -n 3 "$WORK/gw.log")"; return; }
	local first
	first=$(sed -n '/<div class="article-body">/,/<\/div>/p' "$ROOT/deploy/demo/site/premium/investigation-port-contracts.html" |
		grep -m1 -o '<p>[^<]*' | cut -c4-60)
	read_article "$WORK/jar" /premium/investigation-port-contracts
	expect_eq "premium teaser" "teaser/subscribers-only/" "$(decision)"
	grep -qF 'class="paywall-box"' "$WORK/body" || fail "no box"
	grep -qF "$first" "$WORK/body" && fail "keep_paragraphs 0 on this route, but the first paragraph is there"
	read_article "$WORK/jar" "$A1"
	grep -qF "$LEAD2" "$WORK/body" || fail "other routes keep the global 2 paragraphs"
	return 0
}
