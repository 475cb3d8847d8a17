#!/bin/sh
# Creates the demo's development keys in DIR unless they are there: the
# signing key (ES256, kid dev-es256) as DIR/dev-es256.pem (private, 0600)
# and DIR/jwks.json (public), DIR/visitor.key (HMAC secret for visitor
# cookies) and DIR/audit.key (HMAC secret for the access log chain). Development keys only; never use them for a real site.
set -eu
dir=${1:?usage: devkeys.sh DIR [PAYWALLCTL]}
ctl=${2:-bin/paywallctl}
mkdir -p "$dir"
for k in visitor audit; do
	if [ ! -s "$dir/$k.key" ]; then
		(umask 077 && head -c 48 /dev/urandom | base64 >"$dir/$k.key")
	fi
done
if [ -s "$dir/jwks.json" ] && [ -s "$dir/dev-es256.pem" ]; then
	exit 0
fi
"$ctl" keys generate --alg ES256 --kid dev-es256 --dir "$dir"
