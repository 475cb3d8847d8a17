#!/usr/bin/env bash
# Token verification speed (issue 3): the gateway's verifier on each path,
# cached lookups, and `openssl speed` for the same algorithms as the ceiling.
set -euo pipefail
bench=${1:?usage: tokens.sh TOKEN_BENCH [SECONDS]}
secs=${2:-2}
echo "machine: nproc=$(nproc); cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); $(openssl version); $(date -u +%FT%TZ)"
"$bench" "$secs"
echo
echo "openssl speed (one core, verify/s):"
openssl speed -seconds "$secs" rsa2048 ecdsap256 ecdsap384 2>/dev/null |
	awk '/^rsa 2048/ {print "  RS256 (rsa2048)  " $7} /256 bits ecdsa/ {print "  ES256 (nistp256) " $7} /384 bits ecdsa/ {print "  ES384 (nistp384) " $7}'
