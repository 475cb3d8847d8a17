#!/bin/sh
# Checks that the libraries and tools paywalld needs are present; when they
# are not, installs them as root through install-deps.sh, or prints the exact
# command to run. Called by the Makefile before anything is built.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

PCS="libmicrohttpd libcurl yaml-0.1 jansson libjwt gumbo lmdb hiredis zlib libcrypto check"
TOOLS="curl wrk nginx redis-server clang node npm python3 chromium logrotate openssl groff man systemd-analyze"

ok=1
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists $PCS; then
	ok=0
fi
for t in $TOOLS; do
	if ! command -v "$t" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$t" ]; then
		ok=0
	fi
done
[ "$ok" -eq 1 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	exec "$here/install-deps.sh"
fi
echo "check-deps: missing Debian packages; install them with:" >&2
echo "  sudo $here/install-deps.sh" >&2
exit 1
