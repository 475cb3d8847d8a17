# Subscriber identity: tokens verified at the gateway, forwarded as headers.

ISS=https://id.example.test
AUD=news-site

# keys_new DIR ALG KID: a key pair, the public half added to DIR/jwks.json.
keys_new() {
	mkdir -p "$1"
	"$BIN/paywallctl" keys generate --alg "$2" --kid "$3" --dir "$1" >/dev/null 2>&1 ||
		fail "keys generate $2 $3 failed"
}

# mint KEYFILE KID SUB [extra mint args]: prints a token.
mint() {
	local key=$1 kid=$2 sub=$3
	shift 3
	"$BIN/paywallctl" token mint --key "$key" --kid "$kid" --sub "$sub" --iss "$ISS" --aud "$AUD" "$@"
}

# write_identity_config FILE UPSTREAM_PORT IDENTITY_LINES...
write_identity_config() {
	local file=$1 port=$2
	shift 2
	write_config "$file" "$port" "  trusted_proxies: [127.0.0.1/32]"
	{
		echo "identity:"
		echo "  issuer: $ISS"
		echo "  audience: $AUD"
		echo "  subscriber_entitlements: [digital, premium]"
		printf '  %s\n' "$@"
	} >>"$file"
}

gw_identity() {
	keys_new "$WORK/keys" ES256 k1
	write_identity_config "$WORK/gw.yaml" "$be_PORT" "jwks_file: keys/jwks.json"
	start_gateway gw "$WORK/gw.yaml"
}

t_valid_token_reaches_backend_as_headers() {
	gw_identity || return
	local tok out
	tok=$(mint "$WORK/keys/k1.pem" k1 alice --entitlements digital,premium --ttl 1h)
	http -D "$WORK/h" -o "$WORK/body" "http://127.0.0.1:$gw_PORT/echo" -H "Authorization: Bearer $tok"
	out=$(cat "$WORK/body")
	expect_contains "user forwarded" "$out" '["X-Paywall-User","alice"]'
	expect_contains "entitlements forwarded" "$out" '["X-Paywall-Entitlements","digital,premium"]'
	expect_eq "no token complaint" "" "$(header X-Paywall-Token "$WORK/h")"
	out=$(http "http://127.0.0.1:$gw_PORT/echo" -H "Cookie: theme=dark; pw_token=$tok")
	expect_contains "token from the cookie" "$out" '["X-Paywall-User","alice"]'
}

t_forged_user_header_never_reaches_backend() {
	gw_identity || return
	local tok out
	tok=$(mint "$WORK/keys/k1.pem" k1 alice --ttl 1h)
	out=$(http "http://127.0.0.1:$gw_PORT/echo" -H "Authorization: Bearer $tok" \
		-H 'X-Paywall-User: mallory' -H 'X-Paywall-Entitlements: premium')
	expect_eq "one X-Paywall-User" "1" "$(printf '%s' "$out" | grep -o 'X-Paywall-User' | wc -l)"
	expect_not_contains "forged user" "$out" 'mallory'
	expect_contains "no entitlements claimed" "$out" '["X-Paywall-Entitlements",""]'
	out=$(http "http://127.0.0.1:$gw_PORT/echo" -H 'X-Paywall-User: mallory')
	expect_not_contains "forged user without a token" "$out" 'X-Paywall-User'
}

t_rejected_tokens_make_the_reader_anonymous() {
	gw_identity || return
	keys_new "$WORK/other" ES256 k1
	local u="http://127.0.0.1:$gw_PORT/echo" tok
	tok=$(mint "$WORK/other/k1.pem" k1 alice --ttl 1h)
	http -D "$WORK/h" -o "$WORK/body" "$u" -H "Authorization: Bearer $tok"
	expect_eq "wrong key: status" "200" "$(head -n1 "$WORK/h" | awk '{print $2}')"
	expect_eq "wrong key: header" "invalid" "$(header X-Paywall-Token "$WORK/h")"
	expect_not_contains "wrong key: no user" "$(cat "$WORK/body")" 'X-Paywall-User'
	tok=$(mint "$WORK/keys/k1.pem" k1 alice --ttl -2m)
	http -D "$WORK/h" -o "$WORK/body" "$u" -H "Authorization: Bearer $tok"
	expect_eq "expired: header" "expired" "$(header X-Paywall-Token "$WORK/h")"
	expect_not_contains "expired: no user" "$(cat "$WORK/body")" 'X-Paywall-User'
	http -D "$WORK/h" -o /dev/null "$u" -H "Authorization: Bearer not.a.token"
	expect_eq "garbage" "invalid" "$(header X-Paywall-Token "$WORK/h")"
	tok=$(mint "$WORK/keys/k1.pem" k1 alice --ttl 1h)
	http -D "$WORK/h" -o /dev/null "$u" -H "Cookie: pw_token=$tok; pw_token=$tok"
	expect_eq "token cookie twice" "invalid" "$(header X-Paywall-Token "$WORK/h")"
	http -D "$WORK/h" -o /dev/null "$u" -H "Authorization: Basic YTpi"
	expect_eq "other auth scheme is no token" "" "$(header X-Paywall-Token "$WORK/h")"
	# Over the 8 KB token cap but under the header limit: invalid, not a crash.
	printf 'Authorization: Bearer %s.%s.%s\n' "$(head -c 3000 /dev/zero | tr '\0' A)" \
		"$(head -c 3000 /dev/zero | tr '\0' A)" "$(head -c 3000 /dev/zero | tr '\0' A)" >"$WORK/hdr"
	http -D "$WORK/h" -o /dev/null "$u" -H @"$WORK/hdr"
	expect_eq "9 KB token" "invalid" "$(header X-Paywall-Token "$WORK/h")"
	# 100 KB: refused by the header limit before any parsing.
	printf 'Cookie: pw_token=%s\n' "$(head -c 100000 /dev/zero | tr '\0' A)" >"$WORK/hdr"
	expect_eq "100 KB token" "431" "$(status "$u" -H @"$WORK/hdr")"
}

t_sighup_rotates_keys() {
	gw_identity || return
	keys_new "$WORK/keys" RS256 k2
	local u="http://127.0.0.1:$gw_PORT/echo" t1 t2
	# The gateway loaded jwks.json before k2 was added to it.
	t2=$(mint "$WORK/keys/k2.pem" k2 bob --ttl 1h)
	http -D "$WORK/h" -o /dev/null "$u" -H "Authorization: Bearer $t2"
	expect_eq "new key before reload" "invalid" "$(header X-Paywall-Token "$WORK/h")"
	kill -HUP "$gw_PID"
	wait_log "$WORK/gw.log" 'reload ok' 3 || fail "no reload"
	expect_contains "new key after reload" "$(http "$u" -H "Authorization: Bearer $t2")" '["X-Paywall-User","bob"]'
	# Remove k1: its tokens must fail after the reload, cached or not.
	t1=$(mint "$WORK/keys/k1.pem" k1 alice --ttl 1h)
	expect_contains "k1 valid (and now cached)" "$(http "$u" -H "Authorization: Bearer $t1")" 'alice'
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["keys"]=[k for k in d["keys"] if k["kid"]!="k1"]; json.dump(d,open(sys.argv[1],"w"))' "$WORK/keys/jwks.json"
	kill -HUP "$gw_PID"
	wait_log "$WORK/gw.log" 'config generation 3' 3 || fail "no second reload"
	http -D "$WORK/h" -o "$WORK/body" "$u" -H "Authorization: Bearer $t1"
	expect_eq "removed key's token" "invalid" "$(header X-Paywall-Token "$WORK/h")"
	expect_not_contains "removed key's user" "$(cat "$WORK/body")" 'alice'
}

t_jwks_url_is_fetched_and_refreshed() {
	keys_new "$WORK/idp" ES256 u1
	keys_new "$WORK/spare" ES384 u2
	cp "$WORK/idp/jwks.json" "$WORK/served.json"
	# The identity provider: a backend serving the key set it is given.
	"$BIN/demo-backend" --listen 127.0.0.1:0 --root "$ROOT/deploy/demo/site" \
		--ready-file "$WORK/idp.ready" --jwks "$WORK/served.json" 2>"$WORK/idp.log" &
	PIDS+=($!)
	wait_file "$WORK/idp.ready" 10 || { fail "idp did not start"; return; }
	local idp
	idp=$(head -n1 "$WORK/idp.ready")
	write_identity_config "$WORK/gw.yaml" "$be_PORT" \
		"jwks_url: http://127.0.0.1:$idp/.well-known/jwks.json" "jwks_refresh_s: 600" \
		"jwks_min_refresh_s: 1"
	start_gateway gw "$WORK/gw.yaml" || return
	wait_log "$WORK/gw.log" 'module=jwks .*1 keys from' 5 || fail "jwks_url not fetched at start"
	local u="http://127.0.0.1:$gw_PORT/echo" t1 t2
	t1=$(mint "$WORK/idp/u1.pem" u1 carol --ttl 1h)
	expect_contains "key from jwks_url" "$(http "$u" -H "Authorization: Bearer $t1")" 'carol'
	# The IdP rotates in a new key; a token naming it triggers an early refresh.
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); a["keys"]+=b["keys"]; json.dump(a,open(sys.argv[3],"w"))' \
		"$WORK/idp/jwks.json" "$WORK/spare/jwks.json" "$WORK/served.json"
	t2=$(mint "$WORK/spare/u2.pem" u2 dave --ttl 1h)
	sleep 1.1
	http -D "$WORK/h" -o /dev/null "$u" -H "Authorization: Bearer $t2"
	expect_eq "unknown kid at first" "invalid" "$(header X-Paywall-Token "$WORK/h")"
	wait_log "$WORK/gw.log" 'module=jwks .*2 keys from' 5 || fail "unknown kid did not trigger a refresh"
	expect_contains "rotated key accepted" "$(http "$u" -H "Authorization: Bearer $t2")" 'dave'
	# Unknown kids do not hammer the IdP: many bad tokens, few fetches.
	local i before after
	before=$(backend_stat "$idp" jwks_fetches)
	t2=$(mint "$WORK/spare/u2.pem" nosuchkid eve --ttl 1h)
	for ((i = 0; i < 30; i++)); do http -o /dev/null "$u" -H "Authorization: Bearer $t2"; done
	after=$(backend_stat "$idp" jwks_fetches)
	expect_lt "fetches caused by 30 unknown-kid tokens" $((after - before)) 3
	# A broken key set is refused and the last good one kept.
	echo '{"keys": [' >"$WORK/served.json"
	sleep 1.1
	http -o /dev/null "$u" -H "Authorization: Bearer $t2"
	wait_log "$WORK/gw.log" 'module=jwks .*keeping the last good keys' 5 || fail "failed fetch not logged"
	expect_contains "last good keys kept" "$(http "$u" -H "Authorization: Bearer $t1")" 'carol'
}

t_token_inspect_explains() {
	keys_new "$WORK/keys" HS256 h1
	write_identity_config "$WORK/gw.yaml" 1 "jwks_file: keys/jwks.json"
	local tok out
	tok=$(mint "$WORK/keys/h1.key" h1 alice --ttl 1h)
	out=$("$BIN/paywallctl" token inspect -c "$WORK/gw.yaml" "$tok")
	expect_eq "accepted exit" "0" "$?"
	expect_contains "accepted" "$out" "verdict: accepted (sub alice"
	out=$("$BIN/paywallctl" token inspect -c "$WORK/gw.yaml" "$(mint "$WORK/keys/h1.key" h1 alice --ttl -1h)")
	expect_eq "rejected exit" "1" "$?"
	expect_contains "expired explained" "$out" "verdict: rejected: expired"
	# Without --alg, mint signs with the alg the key's JWK is pinned to.
	keys_new "$WORK/keys" RS512 r5
	out=$("$BIN/paywallctl" token inspect -c "$WORK/gw.yaml" "$(mint "$WORK/keys/r5.pem" r5 bob --ttl 1h)")
	expect_contains "RS512 key, no --alg" "$out" "verdict: accepted (sub bob"
	check_sanitizers
}

# Review finding: keys from a jwks_url the publisher removed must not stay trusted.
t_removing_jwks_url_revokes_its_keys() {
	keys_new "$WORK/idp" ES256 u1
	keys_new "$WORK/local" ES256 f1
	"$BIN/demo-backend" --listen 127.0.0.1:0 --root "$ROOT/deploy/demo/site" \
		--ready-file "$WORK/idp.ready" --jwks "$WORK/idp/jwks.json" 2>"$WORK/idp.log" &
	PIDS+=($!)
	wait_file "$WORK/idp.ready" 10 || { fail "idp did not start"; return; }
	write_identity_config "$WORK/gw.yaml" "$be_PORT" "jwks_file: local/jwks.json" \
		"jwks_url: http://127.0.0.1:$(head -n1 "$WORK/idp.ready")/.well-known/jwks.json"
	start_gateway gw "$WORK/gw.yaml" || return
	wait_log "$WORK/gw.log" 'module=jwks .*1 keys from' 5 || fail "jwks_url not fetched"
	local u="http://127.0.0.1:$gw_PORT/echo" t
	t=$(mint "$WORK/idp/u1.pem" u1 carol --ttl 1h)
	expect_contains "url key trusted" "$(http "$u" -H "Authorization: Bearer $t")" 'carol'
	write_identity_config "$WORK/gw.yaml" "$be_PORT" "jwks_file: local/jwks.json"
	kill -HUP "$gw_PID"
	wait_log "$WORK/gw.log" 'reload ok' 3 || fail "no reload"
	t=$(mint "$WORK/idp/u1.pem" u1 carol2 --ttl 1h)
	http -D "$WORK/h" -o "$WORK/body" "$u" -H "Authorization: Bearer $t"
	expect_eq "removed url's key" "invalid" "$(header X-Paywall-Token "$WORK/h")"
	expect_not_contains "no user" "$(cat "$WORK/body")" 'carol2'
	t=$(mint "$WORK/local/f1.pem" f1 dora --ttl 1h)
	expect_contains "file key still trusted" "$(http "$u" -H "Authorization: Bearer $t")" 'dora'
}

t_identity_requires_issuer_audience_and_safe_url() {
	printf 'upstream:\n  url: http://127.0.0.1:1\nidentity:\n  jwks_url: http://idp.example.com/jwks.json\n' >"$WORK/a.yaml"
	local out
	out=$("$BIN/paywallctl" check -c "$WORK/a.yaml")
	expect_contains "issuer required" "$out" "a.yaml:4:3: missing required key 'issuer'"
	expect_contains "audience required" "$out" "a.yaml:4:3: missing required key 'audience'"
	printf 'upstream:\n  url: http://127.0.0.1:1\nidentity:\n  jwks_url: http://idp.example.com/jwks.json\n  issuer: x\n  audience: y\n' >"$WORK/b.yaml"
	out=$("$BIN/paywallctl" check -c "$WORK/b.yaml")
	expect_contains "plain http refused" "$out" "b.yaml:4:3: identity: jwks_url must be https://"
	check_sanitizers
}
