#!/usr/bin/env bash
# make demo: the demo article backend on 127.0.0.1:9000 and paywalld on
# 127.0.0.1:8080 with the example policy (policies/paywall.yaml), until
# Ctrl-C. Both are stopped by PID on the way out.
set -euo pipefail
cd "$(dirname "$0")/../.."

GATEWAY_PORT=8080
BACKEND_PORT=9000
STATE=var/demo
mkdir -p "$STATE"
rm -f "$STATE"/*.ready

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

for p in $GATEWAY_PORT $BACKEND_PORT; do
	if port_busy "$p"; then
		echo "demo: port $p on 127.0.0.1 is in use; stop what holds it and retry" >&2
		exit 1
	fi
done

pids=()
stop_all() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	echo "demo: stopped"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "demo: $2 did not start; see $STATE/$2.log" >&2
	exit 1
}

deploy/demo/devkeys.sh keys bin/paywallctl
TOKEN=$(bin/paywallctl token mint --key keys/dev-es256.pem --kid dev-es256 --sub demo-subscriber \
	--entitlements digital,premium --ttl 24h --iss https://id.example.com --aud news-site)

bin/demo-backend --listen "127.0.0.1:$BACKEND_PORT" --root deploy/demo/site \
	--ready-file "$STATE/backend.ready" 2>"$STATE/backend.log" &
pids+=($!)
wait_ready "$STATE/backend.ready" backend

bin/paywalld -c policies/paywall.yaml --ready-file "$STATE/gateway.ready" \
	2> >(tee "$STATE/gateway.log" >&2) &
pids+=($!)
wait_ready "$STATE/gateway.ready" gateway

G="http://127.0.0.1:$GATEWAY_PORT"
cat <<MSG

  paywalld demo
  -------------
  gateway:  $G/            (paywalld, policies/paywall.yaml)
  backend:  http://127.0.0.1:$BACKEND_PORT/   (demo news site, direct)

  Try:
    curl -i $G/article/harbour-bridge-reopens
    curl -I $G/premium/investigation-port-contracts
    curl -s $G/api/articles.json
    curl -s $G/echo -H 'X-Paywall-User: forged'     # the forged header never reaches the backend

  A subscriber token (dev key, valid 24 h):
    TOKEN=$TOKEN
    curl -s $G/echo -H "Authorization: Bearer \$TOKEN"   # the backend sees X-Paywall-User
    bin/paywallctl token inspect -c policies/paywall.yaml "\$TOKEN"
    kill -HUP \$(cat $STATE/gateway.pid)                # reload policies/paywall.yaml

  Open $G/ in a browser. Logs: $STATE/*.log. Ctrl-C stops both.

MSG
echo "${pids[1]}" >"$STATE/gateway.pid"
wait "${pids[1]}"
