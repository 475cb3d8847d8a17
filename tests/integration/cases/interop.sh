# Interoperability: tokens minted by an independent JOSE implementation (the
# npm package jose, tests/interop/) are accepted by the gateway's verifier,
# for every algorithm it supports.

INTEROP="$ROOT/tests/interop"

# jose_jwks DIR ALG...: one jose-generated key per alg; DIR/jwks.json holds them.
jose_jwks() {
	local dir=$1 alg
	shift
	mkdir -p "$dir"
	for alg in "$@"; do
		node "$INTEROP/mint.mjs" --genkey "$alg" --out "$dir" --kid "j-$alg" >"$dir/$alg.jwk" ||
			fail "jose could not generate $alg"
	done
	python3 -c 'import json,sys; print(json.dumps({"keys":[json.load(open(f)) for f in sys.argv[1:]]}))' \
		"$dir"/*.jwk >"$dir/jwks.json"
}

jose_mint() {
	local dir=$1 alg=$2 ext=pem
	shift 2
	case "$alg" in HS*) ext=key ;; esac
	node "$INTEROP/mint.mjs" --alg "$alg" --key "$dir/j-$alg.$ext" --kid "j-$alg" --sub "jose-$alg" \
		--iss https://id.example.test --aud news-site "$@"
}

t_jose_tokens_verify_for_every_algorithm() {
	local algs="HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 ES512 PS256 PS384 PS512 EdDSA" alg tok out
	# shellcheck disable=SC2086
	jose_jwks "$WORK/jose" $algs
	write_identity_config "$WORK/gw.yaml" "$be_PORT" "jwks_file: jose/jwks.json"
	for alg in $algs; do
		tok=$(jose_mint "$WORK/jose" "$alg" --ent digital --ttl 3600)
		out=$("$BIN/paywallctl" token inspect -c "$WORK/gw.yaml" "$tok")
		expect_contains "jose $alg accepted" "$out" "verdict: accepted (sub jose-$alg"
		tok=$(jose_mint "$WORK/jose" "$alg" --exp-offset -3600)
		out=$("$BIN/paywallctl" token inspect -c "$WORK/gw.yaml" "$tok")
		expect_contains "jose $alg expired" "$out" "verdict: rejected: expired"
	done
	# And through the running gateway, for one of each family.
	start_gateway gw "$WORK/gw.yaml" || return
	for alg in HS256 RS256 ES256 PS256 EdDSA; do
		tok=$(jose_mint "$WORK/jose" "$alg" --ent premium --ttl 3600)
		out=$(http "http://127.0.0.1:$gw_PORT/echo" -H "Authorization: Bearer $tok")
		expect_contains "gateway accepts jose $alg" "$out" "[\"X-Paywall-User\",\"jose-$alg\"]"
	done
	check_sanitizers
}
