#!/bin/sh
# Installs the Debian 12 packages paywalld needs to build, test, benchmark and
# run. Idempotent: packages already present are left alone, and apt is only
# touched when something is missing. Must run as root.
set -eu

# Build and runtime libraries.
LIBS="libmicrohttpd-dev libssl-dev libjwt-dev libjansson-dev
libcurl4-openssl-dev libyaml-dev libgumbo-dev liblmdb-dev libhiredis-dev
zlib1g-dev check pkg-config"
# Toolchain and tools the tests, fuzzing and benchmarks drive.
TOOLS="gcc make clang libclang-rt-14-dev curl wrk nginx-light redis-server
procps python3 chromium logrotate openssl groff-base man-db systemd"
# Node.js runs the independent JOSE implementation of the interop tests; any
# installed Node.js (>= 18) will do, Debian's is installed only when none is.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || TOOLS="$TOOLS nodejs npm"

missing=""
for p in $LIBS $TOOLS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing" >&2
	echo "install-deps: run as root: sudo $0" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
