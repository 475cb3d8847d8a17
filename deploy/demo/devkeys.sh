#!/bin/sh
# Creates the demo's development signing key (ES256, kid dev-es256) in DIR
# unless one is there: DIR/dev-es256.pem (private, 0600) and DIR/jwks.json
# (public). Development keys only; never use them for a real site.
set -eu
dir=${1:?usage: devkeys.sh DIR [PAYWALLCTL]}
ctl=${2:-bin/paywallctl}
if [ -s "$dir/jwks.json" ] && [ -s "$dir/dev-es256.pem" ]; then
	exit 0
fi
mkdir -p "$dir"
"$ctl" keys generate --alg ES256 --kid dev-es256 --dir "$dir"
