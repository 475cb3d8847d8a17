#!/usr/bin/env bash
# Gateway throughput on teaser answers (anonymous reader past the meter: a
# hard wall) against full answers (a subscriber), same article, same run.
# The teaser cache is warm after the first request, as in production.
set -euo pipefail
PROG=teasers
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
start_work paywalld-teasers

bin/demo-backend --listen 127.0.0.1:0 --root deploy/demo/site --ready-file "$WORK/be" 2>/dev/null &
PIDS+=($!)
wait_ready "$WORK/be" 1 $! backend || die "backend did not start"
mkdir -p "$WORK/keys"
bin/paywallctl keys generate --alg ES256 --kid b1 --dir "$WORK/keys" >/dev/null
head -c 48 /dev/urandom | base64 >"$WORK/visitor.key"
cat >"$WORK/gw.yaml" <<YAML
server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}
upstream: {url: "http://127.0.0.1:$(head -n1 "$WORK/be")"}
identity: {jwks_file: keys/jwks.json, issuer: bench, audience: bench, subscriber_entitlements: [digital]}
visitor: {secret_file: visitor.key, secure_cookie: false}
meter: {store: memory, anonymous: {limit: 0, period: 30d}, registered: {limit: 0, period: 30d}}
routes: [{path: /article/*, access: metered}]
teaser: {selector: div.article-body, keep_paragraphs: 2, template: $PWD/policies/templates/paywall.html}
YAML
bin/paywalld -c "$WORK/gw.yaml" --ready-file "$WORK/gw" 2>"$WORK/gw.log" &
PIDS+=($!)
wait_ready "$WORK/gw" 1 $! gateway || die "gateway did not start"
tok=$(bin/paywallctl token mint --key "$WORK/keys/b1.pem" --kid b1 --sub bench --entitlements digital --iss bench --aud bench --ttl 1h)
url="http://127.0.0.1:$(head -n1 "$WORK/gw")/article/harbour-bridge-reopens"
curl -s -o /dev/null "$url"   # warm the teaser cache
rps() { wrk -t1 -c32 -d"${BENCH_SECONDS:-4}"s "$@" | awk '/Requests\/sec/ {print $2}'; }
teaser=$(rps "$url")
full=$(rps -H "Authorization: Bearer $tok" "$url")
printf 'machine: nproc=%s; %s\n' "$(nproc)" "$(utc_now)"
printf '%-28s %10s\n' "answer" "req/s"
printf '%-28s %10.0f\n' "teaser (anonymous, cached)" "$teaser" "full (subscriber)" "$full"
awk -v t="$teaser" -v f="$full" 'BEGIN { printf "teaser/full: %.2f\n", t / f }'
