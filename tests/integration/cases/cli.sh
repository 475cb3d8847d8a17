# Config checking from the command line: FILE:LINE:COL and exit codes.

t_config_check_reports_positions() {
	printf 'server:\n  listen: localhost:80\n  max_connections: many\nupstream:\n  url: http://127.0.0.1:1\n  colour: blue\n' >"$WORK/bad.yaml"
	local out rc
	out=$("$BIN/paywallctl" check -c "$WORK/bad.yaml")
	rc=$?
	expect_eq "paywallctl exit" "1" "$rc"
	expect_contains "listen error" "$out" "$WORK/bad.yaml:2:11: listen: expected HOST:PORT"
	expect_contains "int error" "$out" "$WORK/bad.yaml:3:20: max_connections: expected an integer"
	expect_contains "unknown key" "$out" "$WORK/bad.yaml:6:3: unknown key 'colour'"
	"$BIN/paywalld" --check -c "$WORK/bad.yaml" 2>"$WORK/err" >/dev/null
	expect_eq "paywalld --check exit" "2" "$?"
	expect_contains "paywalld --check output" "$(cat "$WORK/err")" "bad.yaml:6:3: unknown key 'colour'"
	"$BIN/paywalld" -c "$WORK/bad.yaml" 2>/dev/null
	expect_eq "paywalld refuses to start" "2" "$?"
	write_config "$WORK/good.yaml" 1
	out=$("$BIN/paywallctl" check -c "$WORK/good.yaml")
	expect_eq "valid config" "0" "$?"
	expect_contains "valid output" "$out" "ok"
	printf 'upstream:\n  url: [http://x\n' >"$WORK/syntax.yaml"
	out=$("$BIN/paywallctl" check -c "$WORK/syntax.yaml")
	expect_contains "syntax error position" "$out" "$WORK/syntax.yaml:3:1: YAML syntax error"
	check_sanitizers
}

t_example_policy_is_valid() {
	local out
	# A copy beside its own dev keys, as make demo lays them out.
	mkdir -p "$WORK/site"
	cp -r "$ROOT/policies" "$WORK/site/policies"
	"$ROOT/deploy/demo/devkeys.sh" "$WORK/site/keys" "$BIN/paywallctl" >/dev/null 2>&1
	out=$("$BIN/paywallctl" check -c "$WORK/site/policies/paywall.yaml")
	expect_eq "policies/paywall.yaml passes check" "0" "$?"
	expect_contains "output" "$out" "ok"
}

t_identity_config_errors_have_positions() {
	mkdir -p "$WORK/k"
	printf '{"keys":[{"kty":"EC","crv":"P-256","kid":"bad","x":"AAAA","y":"AAAA"}]}\n' >"$WORK/k/jwks.json"
	printf 'upstream:\n  url: http://127.0.0.1:1\nidentity:\n  jwks_file: k/jwks.json\n  leeway_s: -5\n  tokens: 1\n  issuer: y\n  audience: x\n' >"$WORK/id.yaml"
	local out
	out=$("$BIN/paywallctl" check -c "$WORK/id.yaml")
	expect_eq "exit" "1" "$?"
	expect_contains "bad key" "$out" "id.yaml:4:14: jwks_file: key 1 (kid \"bad\"): EC key: x and y must be base64url of the curve's size"
	expect_contains "range" "$out" "id.yaml:5:13: leeway_s: -5 is out of range [0, 600]"
	expect_contains "unknown key" "$out" "id.yaml:6:3: unknown key 'tokens'"
	printf 'upstream:\n  url: http://127.0.0.1:1\nidentity:\n  audience: x\n  issuer: y\n' >"$WORK/nokeys.yaml"
	out=$("$BIN/paywallctl" check -c "$WORK/nokeys.yaml")
	expect_contains "keys required" "$out" "nokeys.yaml:4:3: identity: needs jwks_file or jwks_url (or both)"
	printf 'upstream:\n  url: http://127.0.0.1:1\nidentity:\n  jwks_file: missing.json\n  issuer: y\n  audience: x\n' >"$WORK/missing.yaml"
	out=$("$BIN/paywallctl" check -c "$WORK/missing.yaml")
	expect_contains "missing file" "$out" "missing.yaml:4:14: jwks_file: cannot open"
	check_sanitizers
}
