# Deployment material (deploy/, make install): each file is checked by the
# real program that will read it in production (make, systemd-analyze,
# logrotate, nginx, groff, apt and the gateway itself), so none of it can rot
# unnoticed while the code moves on.

DEPLOY_PREFIX=/usr/local

# deploy_tool NAME: the path of a tool, also from /usr/sbin for non-root PATHs.
deploy_tool() {
	command -v "$1" 2>/dev/null && return 0
	[ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1" && return 0
	return 1
}

# deploy_install DESTDIR [PREFIX]: `make install` of the binaries under test.
# -o keeps make from rebuilding them (with other flags, or from sources
# someone is editing): exactly what the other cases test gets installed.
deploy_install() {
	make -C "$ROOT" --no-print-directory -o "$BIN/paywalld" -o "$BIN/paywallctl" install \
		DESTDIR="$1" PREFIX="${2:-$DEPLOY_PREFIX}" BUILD=build/asan BINDIR="$BIN" \
		>"$WORK/install.log" 2>&1 && return 0
	fail "make install: $(tail -n 5 "$WORK/install.log")"
	return 1
}

# deploy_guide_config SHARE ETC: runs step 3 of deploy/README.md (copy the
# installed examples to /etc/paywalld and edit them) with /etc/paywalld moved
# to ETC, then adds development keys. The guide's own commands run, so the
# guide cannot drift from the installed layout.
deploy_guide_config() {
	local share=$1 etc=$2
	awk '/^\*\*3\. The config/ { f = 1 } f && /^```sh/ { p = 1; next } p && /^```/ { exit } p' \
		"$ROOT/deploy/README.md" |
		sed -e "s|/etc/paywalld|$etc|g" -e "s|^S=.*|S=$share|" >"$WORK/guide-step3.sh"
	grep -q "sed -i" "$WORK/guide-step3.sh" || { fail "step 3 of deploy/README.md not found"; return 1; }
	bash -e "$WORK/guide-step3.sh" >"$WORK/guide-step3.log" 2>&1 ||
		{ fail "guide step 3: $(tail -n 5 "$WORK/guide-step3.log")"; return 1; }
	"$ROOT/deploy/demo/devkeys.sh" "$etc/keys" "$BIN/paywallctl" >/dev/null 2>&1 ||
		{ fail "devkeys.sh into $etc/keys failed"; return 1; }
}

t_deploy_make_install_stays_under_destdir_prefix() {
	local root="$WORK/root" pre=${DEPLOY_PREFIX#/} f want got
	local p="$root$DEPLOY_PREFIX"
	deploy_install "$root" || return
	# Every file with its mode, and nothing anywhere else under DESTDIR.
	want=$(
		echo "755 $pre/sbin/paywalld"
		echo "755 $pre/bin/paywallctl"
		echo "644 $pre/share/man/man8/paywalld.8"
		echo "644 $pre/share/man/man1/paywallctl.1"
		for f in paywall.yaml promotions.yaml crawlers.json; do
			echo "644 $pre/share/paywalld/policies/$f"
		done
		for f in "$ROOT"/policies/templates/*; do
			echo "644 $pre/share/paywalld/templates/${f##*/}"
		done
		for f in systemd/paywalld.service systemd/paywalld.sysusers logrotate/paywalld \
			nginx/paywalld.conf README.md; do
			echo "644 $pre/share/paywalld/deploy/$f"
		done
	)
	got=$(cd "$root" && find . ! -type d -printf '%m %P\n' | sort -k2)
	expect_eq "files installed" "$(printf '%s\n' "$want" | sort -k2)" "$got"
	cmp -s "$BIN/paywalld" "$p/sbin/paywalld" || fail "installed paywalld is not $BIN/paywalld"
	cmp -s "$BIN/paywallctl" "$p/bin/paywallctl" || fail "installed paywallctl is not $BIN/paywallctl"
	expect_contains "installed paywalld runs" "$("$p/sbin/paywalld" --version)" "paywalld "
	expect_eq "unit under the default PREFIX" \
		"ExecStart=$DEPLOY_PREFIX/sbin/paywalld -c /etc/paywalld/paywall.yaml" \
		"$(grep '^ExecStart=' "$p/share/paywalld/deploy/systemd/paywalld.service")"

	# Another PREFIX: the installed unit names the binary where it went.
	deploy_install "$WORK/opt" /opt/paywalld || return
	local unit="$WORK/opt/opt/paywalld/share/paywalld/deploy/systemd/paywalld.service"
	[ -x "$WORK/opt/opt/paywalld/sbin/paywalld" ] || fail "PREFIX=/opt/paywalld: no sbin/paywalld"
	expect_eq "unit under PREFIX=/opt/paywalld" \
		"ExecStart=/opt/paywalld/sbin/paywalld -c /etc/paywalld/paywall.yaml" \
		"$(grep '^ExecStart=' "$unit")"
	expect_eq "no /usr/local left in that unit" "" "$(grep -n /usr/local/ "$unit")"

	# The installed examples, laid out and edited as the guide says, are a
	# valid production config with nothing left pointing outside /etc.
	local etc="$WORK/etc/paywalld" out
	deploy_guide_config "$p/share/paywalld" "$etc" || return
	out=$("$p/sbin/paywalld" --check -c "$etc/paywall.yaml" 2>&1)
	expect_eq "paywalld --check on the guide's config" "$etc/paywall.yaml: ok" "$out"
	expect_eq "no ../ paths left" "" "$(grep -n '\.\./' "$etc/paywall.yaml")"
	expect_contains "LMDB meter in the state directory" "$(cat "$etc/paywall.yaml")" \
		"store: lmdb:/var/lib/paywalld/meter"
	expect_contains "audit log in the logs directory" "$(cat "$etc/paywall.yaml")" \
		"log: /var/log/paywalld/access.log"
	expect_contains "secure cookie behind TLS" "$(cat "$etc/paywall.yaml")" "secure_cookie: true"
}

# deploy_verify SYSTEMD_ANALYZE UNIT MANDIR: systemd-analyze verify, with
# Documentation= looked up in MANDIR. Unknown keys and bad values are only
# warnings (exit 0), so any line about the unit counts as a failure; lines
# about other units (the host's own) are not this test's business.
# Sets DEPLOY_OUT; returns 0 only for a clean unit.
deploy_verify() {
	local name rc
	name=$(basename "$2")
	DEPLOY_OUT=$(MANPATH=$3 SYSTEMD_LOG_COLOR=0 "$1" verify "$2" 2>&1)
	rc=$?
	DEPLOY_OUT=$(printf '%s\n' "$DEPLOY_OUT" | grep -F "$name")
	[ "$rc" = 0 ] && [ -z "$DEPLOY_OUT" ]
}

# deploy_reload UNIT CONFIG MAINPID: the unit's ExecReload= lines, in order,
# stopping at the first that fails, as systemd runs them.
deploy_reload() {
	local cmd
	while read -r cmd; do
		cmd=${cmd//\/etc\/paywalld\/paywall.yaml/$2}
		cmd=${cmd//\$MAINPID/$3}
		$cmd >/dev/null 2>&1 || return 1
	done < <(sed -n 's/^ExecReload=//p' "$1")
}

t_deploy_systemd_unit_verifies_and_drives_the_gateway() {
	local sa
	if ! sa=$(deploy_tool systemd-analyze); then
		echo "    note: systemd-analyze is not installed: the unit was not verified"
		return 0
	fi
	deploy_install "$WORK/root" || return
	local p="$WORK/root$DEPLOY_PREFIX" unit="$WORK/unit/paywalld.service"
	mkdir -p "$WORK/unit" "$WORK/bad"
	# verify checks that the Exec binaries exist: aim the installed unit at
	# the installed tree, and its Documentation= at the installed man pages.
	sed "s|$DEPLOY_PREFIX/|$p/|g" "$p/share/paywalld/deploy/systemd/paywalld.service" >"$unit"
	deploy_verify "$sa" "$unit" "$p/share/man" || fail "systemd-analyze verify: $DEPLOY_OUT"

	# The same verify does catch broken units: a misspelt directive, a bad
	# value, a missing binary, a man page that is not installed.
	sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$unit" >"$WORK/bad/paywalld.service"
	deploy_verify "$sa" "$WORK/bad/paywalld.service" "$p/share/man" &&
		fail "verify accepted an unknown directive"
	sed 's/^ProtectSystem=strict/ProtectSystem=strictest/' "$unit" >"$WORK/bad/paywalld.service"
	deploy_verify "$sa" "$WORK/bad/paywalld.service" "$p/share/man" &&
		fail "verify accepted a bad value"
	sed "s|^ExecStart=$p/sbin/paywalld|ExecStart=$WORK/nowhere/paywalld|" "$unit" >"$WORK/bad/paywalld.service"
	deploy_verify "$sa" "$WORK/bad/paywalld.service" "$p/share/man" &&
		fail "verify accepted a missing ExecStart binary"
	deploy_verify "$sa" "$unit" "$WORK/no-man" && fail "verify accepted missing man pages"

	# The hardening the issue asks for, line by line, and systemd's own score.
	local line
	while read -r line; do
		grep -qxF "$line" "$unit" || fail "unit lacks '$line'"
	done <<'UNIT'
Type=simple
User=paywalld
Group=paywalld
ExecReload=/bin/kill -HUP $MAINPID
KillSignal=SIGTERM
Restart=on-failure
ConfigurationDirectory=paywalld
StateDirectory=paywalld
LogsDirectory=paywalld
CapabilityBoundingSet=
AmbientCapabilities=
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
RestrictNamespaces=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictRealtime=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
UNIT
	"$sa" security --offline=true --threshold=20 "$unit" >"$WORK/security.txt" 2>&1 ||
		fail "exposure above 2.0: $(tail -n 1 "$WORK/security.txt")"
	# Without the hardening block the same threshold fails: the score is real.
	sed '/^# Hardening/,/^\[Install\]/{/^\[Install\]/!d}' "$unit" >"$WORK/bad/paywalld.service"
	"$sa" security --offline=true --threshold=20 "$WORK/bad/paywalld.service" >/dev/null 2>&1 &&
		fail "an unhardened unit passed the exposure threshold"

	# SIGTERM drains for drain_timeout_ms; systemd must not SIGKILL first.
	local stop_s drain_ms
	stop_s=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$unit")
	drain_ms=$(awk '$1 == "drain_timeout_ms:" { print $2 }' "$ROOT/policies/paywall.yaml")
	expect_lt "drain_timeout_ms under TimeoutStopSec" "$drain_ms" "$((${stop_s:-0} * 1000))"

	# The unit's own command lines drive the real gateway: check, start,
	# reload (check, then HUP), a refused reload, and a clean stop.
	write_config "$WORK/gw.yaml" "$be_PORT"
	local pre start out
	pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
	start=$(sed -n 's/^ExecStart=//p' "$unit")
	pre=${pre//\/etc\/paywalld\/paywall.yaml/$WORK/gw.yaml}
	start=${start//\/etc\/paywalld\/paywall.yaml/$WORK/gw.yaml}
	out=$($pre 2>&1)
	expect_eq "ExecStartPre" "$WORK/gw.yaml: ok" "$out"
	$start --ready-file "$WORK/unit.ready" 2>"$WORK/unitgw.log" &
	local pid=$!
	PIDS+=("$pid")
	wait_file "$WORK/unit.ready" 10 || { fail "ExecStart did not start: $(tail -n 3 "$WORK/unitgw.log")"; return; }
	deploy_reload "$unit" "$WORK/gw.yaml" "$pid" || fail "ExecReload failed on a valid config"
	wait_log "$WORK/unitgw.log" 'reload ok' 5 || fail "ExecReload did not reload the gateway"
	printf 'bogus: [\n' >>"$WORK/gw.yaml"
	deploy_reload "$unit" "$WORK/gw.yaml" "$pid" && fail "ExecReload accepted a broken config"
	sleep 0.3
	grep -q 'reload failed' "$WORK/unitgw.log" && fail "the gateway was sent SIGHUP with a broken config"
	expect_eq "still serving" "200" "$(status "http://127.0.0.1:$(head -n 1 "$WORK/unit.ready")/static/style.css")"
	stop "$pid"

	# The sysusers file makes the user the unit runs as, with no shell.
	local su
	if su=$(deploy_tool systemd-sysusers); then
		mkdir -p "$WORK/sysroot/etc"
		"$su" --root="$WORK/sysroot" "$ROOT/deploy/systemd/paywalld.sysusers" >/dev/null 2>&1 ||
			fail "systemd-sysusers refused paywalld.sysusers"
		grep -qE '^paywalld:x:[0-9]+:[0-9]+:[^:]*:/var/lib/paywalld:/usr/sbin/nologin$' \
			"$WORK/sysroot/etc/passwd" || fail "sysusers: no paywalld user: $(cat "$WORK/sysroot/etc/passwd")"
		grep -q '^paywalld:x:' "$WORK/sysroot/etc/group" || fail "sysusers: no paywalld group"
	fi
}

# deploy_has_lines FILE N: FILE has at least N lines.
deploy_has_lines() {
	[ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]
}

# deploy_has_count FILE PATTERN N: PATTERN matches at least N lines of FILE.
deploy_has_count() {
	[ "$(grep -cE "$2" "$1" 2>/dev/null)" -ge "$3" ]
}

# deploy_wait_lines FILE N SECONDS: until FILE has at least N lines.
deploy_wait_lines() {
	wait_until "$3" deploy_has_lines "$1" "$2"
}

# deploy_wait_count FILE PATTERN N SECONDS: until PATTERN matches N lines.
deploy_wait_count() {
	wait_until "$4" deploy_has_count "$1" "$2" "$3"
}

t_deploy_logrotate_rotates_and_the_chain_still_verifies() {
	local lr
	lr=$(deploy_tool logrotate) || { fail "logrotate missing: run deploy/install-deps.sh"; return; }
	local shipped="$ROOT/deploy/logrotate/paywalld" conf="$WORK/logrotate.conf" me
	me="$(id -un) $(id -gn)"
	grep -qw copytruncate "$shipped" && fail "copytruncate loses lines: the gateway reopens on SIGUSR1"

	# The shipped file parses. Only the user is swapped when this host has
	# no paywalld user: logrotate resolves su/create names while parsing.
	local dconf=$shipped
	if ! getent passwd paywalld >/dev/null; then
		sed "s/paywalld paywalld/$me/" "$shipped" >"$WORK/logrotate-d.conf"
		dconf="$WORK/logrotate-d.conf"
	fi
	"$lr" -d -s "$WORK/logrotate-d.state" "$dconf" >"$WORK/logrotate-d.out" 2>&1 ||
		fail "logrotate -d: $(grep -i error "$WORK/logrotate-d.out" | head -n 3)"
	expect_not_contains "logrotate -d errors" "$(cat "$WORK/logrotate-d.out")" "error:"

	mkdir -p "$WORK/logs"
	head -c 48 /dev/urandom | base64 >"$WORK/audit.key"
	gw_gated memory "audit:
  log: logs/access.log
  key_file: audit.key
  fsync_ms: 50" || return
	# The real file, with the test's log directory, user and gateway PID.
	sed -e "s|/var/log/paywalld/|$WORK/logs/|" -e "s/paywalld paywalld/$me/" \
		-e "s|systemctl --quiet is-active paywalld.service|kill -0 $gw_PID|" \
		-e "s|systemctl kill --signal=SIGUSR1 --kill-whom=main paywalld.service|kill -USR1 $gw_PID|" \
		"$shipped" >"$conf"
	expect_eq "every systemctl call rewritten" "" "$(grep -n systemctl "$conf")"

	read_article "$WORK/jar" "$A1"
	read_article "$WORK/jar" "$A2"
	read_article "$WORK/jar" /static/style.css
	deploy_wait_lines "$WORK/logs/access.log" 3 5 || fail "3 lines were not logged"
	"$lr" -f -s "$WORK/logrotate.state" "$conf" >"$WORK/logrotate.out" 2>&1 ||
		fail "logrotate: $(tail -n 3 "$WORK/logrotate.out")"
	deploy_wait_count "$WORK/gw.log" "reopened $WORK/logs/access.log" 1 5 ||
		fail "postrotate did not make the gateway reopen"
	read_article "$WORK/jar" "$A3"
	read_article "$WORK/jar" /premium/investigation-port-contracts
	deploy_wait_lines "$WORK/logs/access.log" 3 5 || fail "the new file did not get the new lines"
	# A second rotation compresses the first (delaycompress); names carry the
	# epoch, so they must be a second apart.
	sleep 1.1
	"$lr" -f -s "$WORK/logrotate.state" "$conf" >>"$WORK/logrotate.out" 2>&1 ||
		fail "logrotate (2): $(tail -n 3 "$WORK/logrotate.out")"
	deploy_wait_count "$WORK/gw.log" "reopened $WORK/logs/access.log" 2 5 ||
		fail "no reopen after the second rotation"
	read_article "$WORK/jar" "$A4"
	stop "$gw_PID"

	local files=("$WORK"/logs/access.log-*)
	expect_eq "rotated files" "2" "${#files[@]}"
	[[ "${files[0]##*/}" =~ ^access\.log-[0-9]{8}-[0-9]{10}\.gz$ ]] ||
		fail "oldest not compressed as access.log-YYYYMMDD-EPOCH.gz: ${files[0]##*/}"
	[[ "${files[1]##*/}" =~ ^access\.log-[0-9]{8}-[0-9]{10}$ ]] ||
		fail "newest rotated not plain (delaycompress): ${files[1]##*/}"
	expect_eq "current log mode (create 0640)" "640" "$(stat -c %a "$WORK/logs/access.log")"
	# Every request is in exactly the file that was current when it was served.
	expect_eq "oldest: 3 requests" "3" "$(zcat "${files[0]}" | grep -vc '"type":"header"')"
	expect_eq "middle: 2 requests" "2" "$(grep -vc '"type":"header"' "${files[1]}")"
	expect_eq "current: 1 request" "1" "$(grep -vc '"type":"header"' "$WORK/logs/access.log")"
	expect_contains "the last request went to the new file" "$(cat "$WORK/logs/access.log")" \
		"\"path\":\"$A4\""
	expect_eq "reopened files start with a header" '{"type":"header",' \
		"$(head -c 17 "$WORK/logs/access.log")"

	# The chain holds across the rotations, read the way the guide says.
	local out last
	out=$(zcat -f "${files[@]}" | "$BIN/paywallctl" audit verify --key "$WORK/audit.key" - \
		"$WORK/logs/access.log")
	expect_eq "verify across rotated + current" "0" "$?"
	expect_contains "verify output" "$out" "ok: 8 lines in 2 files"
	last=$(sed -n 's/.*closed: .*last chain \([0-9a-f]\{64\}\).*/\1/p' "$WORK/gw.log" | tail -n 1)
	out=$(zcat -f "${files[@]}" | "$BIN/paywallctl" audit verify --key "$WORK/audit.key" \
		--expect-last "$last" - "$WORK/logs/access.log")
	expect_eq "verify --expect-last the chain logged at stop" "0" "$?"
}

# deploy_nginx_conf TLS_PORT HTTP_PORT UPSTREAM_PORT: the shipped nginx file
# made runnable here: loopback ports, the test certificate, logs in $WORK.
deploy_nginx_conf() {
	sed -e "s|listen 443 ssl http2;|listen 127.0.0.1:$1 ssl http2;|" \
		-e "s|listen 80;|listen 127.0.0.1:$2;|" -e '/listen \[::\]/d' \
		-e "s|server 127.0.0.1:8080;|server 127.0.0.1:$3;|" \
		-e "s|/etc/ssl/certs/news.example.com.pem|$WORK/nginx/cert.pem|" \
		-e "s|/etc/ssl/private/news.example.com.key|$WORK/nginx/key.pem|" \
		-e "s|/var/log/nginx/|$WORK/nginx/|" "$ROOT/deploy/nginx/paywalld.conf"
}

# deploy_start_nginx UPSTREAM_PORT: nginx in the foreground, one process, the
# shipped server blocks inside a minimal main context. Sets NG_TLS, NG_HTTP.
deploy_start_nginx() {
	local nginx d="$WORK/nginx" attempt pid i
	nginx=$(deploy_tool nginx) || { fail "nginx missing: run deploy/install-deps.sh"; return 1; }
	mkdir -p "$d/tmp"
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 64; }
http {
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	include $d/paywalld.conf;
}
EOF
	# nginx cannot bind port 0: pick free ports, and retry if one was taken.
	for attempt in 1 2 3; do
		NG_TLS=$(free_port)
		NG_HTTP=$(free_port)
		deploy_nginx_conf "$NG_TLS" "$NG_HTTP" "$1" >"$d/paywalld.conf"
		"$nginx" -t -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >"$d/t.out" 2>&1 ||
			{ fail "nginx -t: $(cat "$d/t.out")"; return 1; }
		expect_contains "nginx -t" "$(cat "$d/t.out")" "test is successful"
		"$nginx" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" 2>>"$d/stderr.log" &
		pid=$!
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			if http -k -o /dev/null "https://127.0.0.1:$NG_TLS/static/style.css"; then
				PIDS+=("$pid")
				return 0
			fi
			sleep 0.05
		done
		kill -0 "$pid" 2>/dev/null && { PIDS+=("$pid"); fail "nginx did not answer"; return 1; }
		wait "$pid" 2>/dev/null
		grep -q 'bind()' "$d/error.log" || break
	done
	fail "nginx did not start: $(tail -n 3 "$d/error.log")"
	return 1
}

t_deploy_nginx_front_passes_the_real_client() {
	local d="$WORK/nginx"
	mkdir -p "$d"
	command -v openssl >/dev/null || { fail "openssl missing (Debian package openssl)"; return; }
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=news.example.com -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1 ||
		{ fail "openssl could not make a test certificate"; return; }
	# The paywalld side of the pairing, as the nginx file's comment gives it.
	head -c 48 /dev/urandom | base64 >"$WORK/audit.key"
	write_config "$WORK/gw.yaml" "$be_PORT" "  trusted_proxies: [127.0.0.1/32]"
	printf 'audit:\n  log: access.jsonl\n  key_file: audit.key\n  client_ip: full\n  fsync_ms: 50\n' \
		>>"$WORK/gw.yaml"
	start_gateway gw "$WORK/gw.yaml" || return
	deploy_start_nginx "$gw_PORT" || return

	# The reader connects from 127.0.0.2 and forges X-Forwarded-For; nginx
	# connects to paywalld from 127.0.0.1, the trusted proxy.
	http -k --interface 127.0.0.2 -D "$WORK/h" -o "$WORK/echo.json" \
		-H 'X-Forwarded-For: 203.0.113.9' -H 'Host: news.example.com' \
		"https://127.0.0.1:$NG_TLS/echo"
	expect_eq "HTTP/2 over TLS" "HTTP/2 200" "$(head -n 1 "$WORK/h" | tr -d '\r' | sed 's/ *$//')"
	local body rid
	body=$(cat "$WORK/echo.json")
	# The backend sees the reader as nginx saw it, then nginx: the forged
	# entry is gone, not merely outvoted.
	expect_contains "X-Forwarded-For at the backend" "$body" \
		'["X-Forwarded-For","127.0.0.2, 127.0.0.1"]'
	expect_not_contains "forged entry dropped" "$body" "203.0.113"
	expect_contains "X-Forwarded-Proto" "$body" '["X-Forwarded-Proto","https"]'
	expect_contains "X-Forwarded-Host" "$body" '["X-Forwarded-Host","news.example.com"]'
	# nginx's request id is the gateway's, the backend's and the log's.
	rid=$(header X-Request-Id "$WORK/h")
	wait_log "$d/paywalld-access.log" "rid=$rid" 5 || fail "request id $rid not in nginx's access log"
	expect_contains "request id at the backend" "$body" "[\"X-Request-Id\",\"$rid\"]"
	wait_log "$WORK/access.jsonl" "\"id\":\"$rid\"" 5 || fail "request $rid not in the audit log"
	local line
	line=$(grep -F "\"id\":\"$rid\"" "$WORK/access.jsonl")
	# paywalld took the reader's address from the trusted proxy's header:
	# not the proxy's own (127.0.0.1), not the forged one.
	expect_contains "audit client" "$line" '"client":"127.0.0.2"'

	# Port 80 only redirects to https, keeping the target.
	http -D "$WORK/h80" -o /dev/null -H 'Host: news.example.com' \
		"http://127.0.0.1:$NG_HTTP/article/x?y=1"
	expect_eq "redirect status" "301" "$(head -n 1 "$WORK/h80" | awk '{print $2}')"
	expect_eq "redirect target" "https://news.example.com/article/x?y=1" "$(header Location "$WORK/h80")"
}

# deploy_compose_service NAME: the lines of one service in compose.yaml.
deploy_compose_service() {
	awk -v name="$1" '
		/^[^ #]/ { in_services = ($0 == "services:"); inside = 0; next }
		in_services && /^  [^ #]/ { inside = ($0 == "  " name ":"); next }
		inside' "$ROOT/deploy/docker/compose.yaml"
}

# deploy_compose_list LINES KEY: the items of a list (volumes, ports) in a
# service's lines, quotes removed.
deploy_compose_list() {
	printf '%s\n' "$1" | awk -v key="$2" '
		/^    [^ ]/ { inside = ($0 == "    " key ":"); next }
		inside && /^      - / { v = $0; sub(/^      - /, "", v); gsub(/"/, "", v); print v }'
}

# deploy_yaml SECTION KEY: a scalar of the compose config deploy/docker/paywall.yaml.
deploy_yaml() {
	awk -v s="$1" -v k="$2" '
		/^[^ #]/ { sect = $0; sub(/:.*/, "", sect); next }
		sect == s && $1 == k ":" { v = $2; gsub(/^"|"$/, "", v); print v; exit }' \
		"$ROOT/deploy/docker/paywall.yaml"
}

# deploy_stage_packages STAGE: the packages the Dockerfile's stage (its FROM
# image) installs with apt-get.
deploy_stage_packages() {
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$ROOT/deploy/docker/Dockerfile" | awk -v want="$1" '
		/^FROM / { stage = $2; next }
		stage == want && /^RUN / {
			n = split($0, seg, "&&")
			for (i = 1; i <= n; i++) {
				if (seg[i] !~ /apt-get install/)
					continue
				m = split(seg[i], w, /[ \t]+/)
				on = 0
				for (j = 1; j <= m; j++) {
					if (on && w[j] != "" && w[j] !~ /^-/)
						print w[j]
					if (w[j] == "install")
						on = 1
				}
			}
		}' | sort -u
}

# deploy_lib_owners PATH...: "PATH PACKAGE" for each shared library, from one
# dpkg query (it is slow per call). Merged /usr: ldd may say /lib where dpkg
# says /usr/lib, or the other way round, so every spelling is asked for.
deploy_lib_owners() {
	local so r line c
	local -a cands=()
	local -A owner=()
	for so in "$@"; do
		r=$(readlink -f "$so")
		cands+=("$so" "/usr$so" "${so#/usr}" "$r" "/usr$r" "${r#/usr}")
	done
	while IFS= read -r line; do
		owner[${line#*: }]=${line%%:*}
	done < <(dpkg -S "${cands[@]}" 2>/dev/null | grep -v '^diversion')
	for so in "$@"; do
		r=$(readlink -f "$so")
		for c in "$so" "/usr$so" "${so#/usr}" "$r" "/usr$r" "${r#/usr}"; do
			[ -n "${owner[$c]:-}" ] && { echo "$so ${owner[$c]}"; continue 2; }
		done
		echo "$so ?"
	done
}

# deploy_mount_for PATH VOLUMES: the volume entry whose target holds PATH.
deploy_mount_for() {
	local v tgt
	while read -r v; do
		tgt=${v#*:}
		tgt=${tgt%%:*}
		case "$1" in "$tgt" | "$tgt"/*) echo "$v"; return 0 ;; esac
	done <<<"$2"
	return 1
}

# deploy_compose_tree SERVICE DIR: what SERVICE sees of its volumes, under
# DIR: bind mounts copied from the repository, the keys volume filled the way
# the keys service fills it (deploy/demo/devkeys.sh), other volumes empty.
deploy_compose_tree() {
	local v src tgt vols
	vols=$(deploy_compose_list "$(deploy_compose_service "$1")" volumes)
	[ -n "$vols" ] || { fail "$1 has no volumes"; return 1; }
	while read -r v; do
		src=${v%%:*}
		tgt=${v#*:}
		tgt=${tgt%%:*}
		mkdir -p "$(dirname "$2$tgt")"
		case "$src" in
		./* | ../*) cp -R "$ROOT/deploy/docker/$src" "$2$tgt" ;;
		keys) "$ROOT/deploy/demo/devkeys.sh" "$2$tgt" "$BIN/paywallctl" >/dev/null 2>&1 ||
			{ fail "devkeys.sh into $2$tgt failed"; return 1; } ;;
		*) mkdir -p "$2$tgt" ;;
		esac
	done <<<"$vols"
}

t_deploy_docker_config_compose_and_image_agree() {
	local dk="$ROOT/deploy/docker" cfgfile="$ROOT/deploy/docker/paywall.yaml"
	local services s
	services=$(awk '/^[^ #]/ { in_s = ($0 == "services:"); next }
		in_s && /^  [^ #]/ { n = $1; sub(/:$/, "", n); print n }' "$dk/compose.yaml")
	for s in redis backend keys gateway1 gateway2; do
		grep -qx "$s" <<<"$services" || fail "compose.yaml has no service $s"
	done

	# Hosts and ports the gateway config names are services and ports of compose.
	local url uhost uport store rhost rport listen admin
	url=$(deploy_yaml upstream url)
	uhost=${url#http://}
	uhost=${uhost%%/*}
	uport=${uhost##*:}
	uhost=${uhost%:*}
	grep -qx "$uhost" <<<"$services" || fail "upstream host $uhost is not a compose service"
	expect_contains "the backend listens on the upstream port" \
		"$(deploy_compose_service "$uhost")" "\"0.0.0.0:$uport\""
	store=$(deploy_yaml meter store)
	[[ "$store" =~ ^redis://([a-z0-9-]+):([0-9]+)(/[0-9]+)?$ ]] ||
		{ fail "meter.store is not redis://HOST:PORT[/DB]: $store"; return; }
	rhost=${BASH_REMATCH[1]}
	rport=${BASH_REMATCH[2]}
	grep -qx "$rhost" <<<"$services" || fail "redis host $rhost is not a compose service"
	expect_eq "Redis on its image's port" "6379" "$rport"
	expect_contains "the Redis service is Redis" "$(deploy_compose_service "$rhost")" "image: redis:"
	listen=$(deploy_yaml server listen)
	admin=$(deploy_yaml server admin_listen)
	case "$listen $admin" in *127.0.0.1* | *::1*) fail "a container's loopback is unreachable: $listen $admin" ;; esac
	grep -q "^EXPOSE .*\b${listen##*:}\b" "$dk/Dockerfile" || fail "Dockerfile does not EXPOSE ${listen##*:}"
	grep -q "^EXPOSE .*\b${admin##*:}\b" "$dk/Dockerfile" || fail "Dockerfile does not EXPOSE ${admin##*:}"

	# Every file the config reads is mounted into each gateway: bind mounts
	# from the repository, or the keys volume the keys service fills.
	local cfgdir paths path gw lines vols v src keysvc keytgt
	paths=$(grep -oE '(^|[ {,])(jwks_file|secret_file|password_file|ranges_file|template|key_file|log|include): *[^ ,}#]+' \
		"$cfgfile" | sed -E 's/^[ {,]?[a-z_]+: *//')
	keysvc=$(deploy_compose_service keys)
	keytgt=$(deploy_compose_list "$keysvc" volumes | awk -F: '$1 == "keys" { print $2 }')
	for gw in gateway1 gateway2; do
		lines=$(deploy_compose_service "$gw")
		vols=$(deploy_compose_list "$lines" volumes)
		cfgdir=$(awk -F: '$1 == "./paywall.yaml" { print $2 }' <<<"$vols")
		expect_eq "$gw: the config is mounted" "/etc/paywalld/paywall.yaml" "$cfgdir"
		cfgdir=${cfgdir%/*}
		for path in $paths; do
			case "$path" in /*) ;; *) path="$cfgdir/$path" ;; esac
			v=$(deploy_mount_for "$path" "$vols") || { fail "$gw: $path is not mounted"; continue; }
			src=${v%%:*}
			case "$src" in
			./* | ../*)
				[ -e "$dk/$src${path#"$(cut -d: -f2 <<<"$v")"}" ] ||
					fail "$gw: $path comes from $src, where it does not exist"
				;;
			keys) [ "${v#keys:}" = "$keytgt:ro" ] || fail "$gw: keys volume not at $keytgt read-only: $v" ;;
			*) [[ "$v" == *:ro ]] && fail "$gw: $path is on a read-only volume: $v" ;;
			esac
		done
		# Published to the ports the gateway listens on inside the container.
		deploy_compose_list "$lines" ports | grep -qE ":${listen##*:}\$" ||
			fail "$gw does not publish container port ${listen##*:}"
		deploy_compose_list "$lines" ports | grep -qE ":${admin##*:}\$" ||
			fail "$gw does not publish container port ${admin##*:}"
		expect_contains "$gw: health check on /readyz" "$lines" "127.0.0.1:${admin##*:}/readyz"
		for s in "$rhost" "$uhost" keys; do
			printf '%s\n' "$lines" | awk '/^    depends_on:/ { d = 1; next } /^    [^ ]/ { d = 0 } d' |
				grep -qx "      $s:" || fail "$gw does not depend on $s"
		done
	done

	# The container as compose assembles it, --checked by the real binary.
	local ctr="$WORK/ctr" out entry
	entry=$(printf '%s\n' "$keysvc" | sed -n 's/^    entrypoint: \["\([^"]*\)"\]$/\1/p')
	grep -qF "deploy/demo/devkeys.sh /out$entry" "$dk/Dockerfile" ||
		fail "the keys service runs $entry, which the Dockerfile does not install from devkeys.sh"
	expect_contains "keys service writes into its volume" "$keysvc" "command: [\"$keytgt\""
	deploy_compose_tree gateway1 "$ctr" || return
	out=$("$BIN/paywalld" --check -c "$ctr/etc/paywalld/paywall.yaml" 2>&1)
	expect_eq "paywalld --check on the compose config" "$ctr/etc/paywalld/paywall.yaml: ok" "$out"

	# The build stage installs every -dev library the project builds with.
	local libs lib
	libs=$(sed -n '/^LIBS="/,/"$/p' "$ROOT/deploy/install-deps.sh" | tr -d '"' | sed 's/^LIBS=//')
	for lib in $libs; do
		[ "$lib" = check ] && continue	# unit tests only
		grep -qx "$lib" <<<"$(deploy_stage_packages debian:12)" ||
			fail "the build stage does not install $lib"
	done

	# The runtime stage installs the package of every shared library the
	# programs load, directly or through apt dependencies. The sanitizer
	# runtime of this test build is left out: the image builds without it,
	# so the release set is each NEEDED library and what that one loads.
	local runtime closure name so pkg bin
	local -A direct=() all=()
	runtime=$(deploy_stage_packages debian:12-slim)
	[ -n "$runtime" ] || { fail "no apt-get install in the debian:12-slim stage"; return; }
	closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances $runtime 2>/dev/null | grep -v '^ ' | sort -u)
	for bin in "$BIN/paywalld" "$BIN/paywallctl" "$BIN/demo-backend"; do
		for name in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
			grep -vE '^lib(asan|ubsan|lsan|tsan)\.so'); do
			so=$(ldd "$bin" | awk -v n="$name" '$1 == n { print $3 }')
			[ -n "$so" ] || { fail "${bin##*/}: ldd does not find $name"; continue; }
			direct[$so]=${bin##*/}
			all[$so]=1
			while read -r name; do
				all[$name]=1
			done < <(ldd "$so" | awk '$3 ~ /^\// { print $3 }')
		done
	done
	expect_lt "libraries found" 10 "${#all[@]}"
	while read -r so pkg; do
		[ "$pkg" != "?" ] || { fail "no Debian package owns $so"; continue; }
		grep -qx "$pkg" <<<"$closure" || fail "$so ($pkg) is not installed in the runtime image"
		# Linked directly: named in the Dockerfile, not left to a dependency.
		[ -z "${direct[$so]:-}" ] || [ "$pkg" = libc6 ] || grep -qx "$pkg" <<<"$runtime" ||
			fail "${direct[$so]} links $so ($pkg), which the runtime stage does not name"
	done < <(deploy_lib_owners "${!all[@]}")
}

# deploy_render PAGE: a man page as plain text, wide and unhyphenated, so
# every option appears whole.
deploy_render() {
	groff -man -Tascii -rLL=300n -rHY=0 -P-cbou "$1" 2>/dev/null
}

# deploy_usage CMD [SUB]: paywallctl's own usage text for one command: what
# its --help or a bare call prints, the lines about CMD [SUB] and their
# continuations only.
deploy_usage() {
	local cmd=$1 sub=${2:-}
	{
		"$BIN/paywallctl" "$cmd" --help
		"$BIN/paywallctl" "$cmd"
		if [ -n "$sub" ]; then
			"$BIN/paywallctl" "$cmd" "$sub" --help
			"$BIN/paywallctl" "$cmd" "$sub"
		fi
	} 2>&1 | sed 's/ | paywallctl /\nusage: paywallctl /g' |
		awk -v re="paywallctl $cmd${sub:+ ([a-z]+[|])*$sub}( |[|]|$)" '
			$0 ~ re { keep = 1; print; next }
			index($0, "paywallctl ") { keep = 0; next }
			keep && /^[ \t]/ { print; next }
			{ keep = 0 }'
}

# deploy_flags: the options named in stdin, -h and --help aside.
deploy_flags() {
	grep -oE -- '(^|[][ (|,])--?[a-zA-Z][a-zA-Z-]*' | sed -E 's/^[][ (|,]//' |
		grep -vxE -- '-h|--help' | sort -u
}

# deploy_subcommands: each paywallctl command with its subcommands, one
# "CMD [SUB]" per line, from the command list paywallctl prints.
deploy_subcommands() {
	"$BIN/paywallctl" --help | awk '/^  [a-z]/' | while read -r cmd summary; do
		local subs
		subs=$(printf '%s\n' "$summary" | sed 's/.*paywallctl //' | tr '|' '\n' |
			awk -v c="$cmd" '{ for (i = 1; i <= NF; i++) if ($i != c) { if ($i ~ /^[a-z]+$/) print $i; break } }')
		if [ -z "$subs" ]; then
			echo "$cmd"
		else
			printf "$cmd %s\n" $subs
		fi
	done
}

t_deploy_man_pages_render_cleanly_and_cover_every_option() {
	local page out
	command -v groff >/dev/null || { fail "groff missing (Debian package groff-base)"; return; }
	for page in "$ROOT/deploy/man/paywalld.8" "$ROOT/deploy/man/paywallctl.1"; do
		out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
		expect_eq "groff -ww warnings in ${page##*/}" "" "$out"
		if command -v man >/dev/null; then
			out=$(man --warnings -l "$page" 2>&1 >/dev/null)
			expect_eq "man --warnings in ${page##*/}" "" "$out"
		fi
	done

	# paywalld.8: every option of --help under OPTIONS, every signal main.c
	# waits for under SIGNALS.
	local text flag sig options signals
	text=$(deploy_render "$ROOT/deploy/man/paywalld.8")
	options=$(awk '/^OPTIONS/ { p = 1; next } p && /^[^ ]/ { exit } p' <<<"$text")
	for flag in $("$BIN/paywalld" --help | deploy_flags); do
		grep -qE -- "(^|[^a-zA-Z-])$flag([^a-zA-Z-]|$)" <<<"$options" ||
			fail "paywalld.8's OPTIONS lacks $flag"
	done
	signals=$(awk '/^SIGNALS/ { p = 1; next } p && /^[^ ]/ { exit } p' <<<"$text")
	for sig in $(grep -oE 'sigaddset\(set, SIG[A-Z0-9]+\)' "$ROOT/gateway/main.c" | grep -oE 'SIG[A-Z0-9]+'); do
		grep -qw "$sig" <<<"$signals" || fail "paywalld.8's SIGNALS does not say what $sig does"
	done

	# paywallctl.1: a section per command and subcommand paywallctl lists,
	# naming every option its usage names.
	local cmd sub section n=0
	text=$(deploy_render "$ROOT/deploy/man/paywallctl.1")
	while read -r cmd sub; do
		n=$((n + 1))
		section=$(awk -v re="^   paywallctl $cmd${sub:+ [(]?([a-z]+[|])*$sub}( |[|)]|$)" '
			$0 ~ re { p = 1; print; next }
			p && (/^   [^ ]/ || /^[^ ]/) { exit }
			p' <<<"$text")
		[ -n "$section" ] || { fail "paywallctl.1 has no section for '$cmd${sub:+ $sub}'"; continue; }
		for flag in $(deploy_usage "$cmd" "$sub" | deploy_flags); do
			grep -qE -- "(^|[^a-zA-Z-])$flag([^a-zA-Z-]|$)" <<<"$section" ||
				fail "paywallctl.1, '$cmd${sub:+ $sub}': no $flag"
		done
	done < <(deploy_subcommands)
	expect_lt "commands and subcommands found" 9 "$n"
}

t_deploy_guide_commands_use_real_options() {
	# Every paywallctl and paywalld command the guide shows, in code blocks
	# and in inline code, uses options the programs have.
	local guide="$ROOT/deploy/README.md" joined cmdline cmd sub words flag known n=0
	local cmds
	cmds=$(deploy_subcommands)
	joined=$(sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' "$guide")
	while read -r cmdline; do
		read -r -a words <<<"$cmdline"
		cmd=${words[1]:-}
		sub=${words[2]:-}
		if grep -qx "$cmd $sub" <<<"$cmds"; then
			known=$(deploy_usage "$cmd" "$sub" | deploy_flags)
		elif grep -qx "$cmd" <<<"$cmds"; then
			known=$(deploy_usage "$cmd" | deploy_flags)
		else
			continue	# prose: "paywallctl" as a name
		fi
		n=$((n + 1))
		for flag in $(printf '%s\n' "${words[@]:2}" | grep -E '^--?[a-zA-Z]' | sed 's/=.*//'); do
			grep -qxF -- "$flag" <<<"$known" || fail "guide: '$cmdline': paywallctl $cmd has no $flag"
		done
	done < <(grep -oE 'paywallctl [^`|;#]*' <<<"$joined" | sed -E 's/ *(&&.*)?$//')
	expect_lt "paywallctl commands in the guide" 10 "$n"
	known=$("$BIN/paywalld" --help | deploy_flags)
	while read -r cmdline; do
		for flag in $(printf '%s\n' $cmdline | grep -E '^--?[a-zA-Z]'); do
			grep -qxF -- "$flag" <<<"$known" || fail "guide: '$cmdline': paywalld has no $flag"
		done
	done < <(grep -oE '(`|/sbin/)paywalld [^`|;#]*' <<<"$joined")

	# The promotions workflow runs as written, on the guide's own config.
	deploy_install "$WORK/root" || return
	local etc="$WORK/etc/paywalld" out
	deploy_guide_config "$WORK/root$DEPLOY_PREFIX/share/paywalld" "$etc" || return
	while read -r cmdline; do
		cmdline=${cmdline//\/etc\/paywalld/$etc}
		out=$("$BIN"/$cmdline 2>&1)
		expect_eq "guide: $cmdline" "0" "$?"
		expect_contains "guide: $cmdline" "$out" "decision:"
	done < <(grep -oE 'paywallctl explain [^`|;#]*' <<<"$joined" | sed 's/ *$//')
	# systemctl's option for the main process, as the guide and logrotate spell it.
	if command -v systemctl >/dev/null; then
		expect_contains "systemctl knows --kill-whom" "$(systemctl --help)" "--kill-whom"
	fi
}

t_deploy_docker_two_gateways_share_the_redis_meter() {
	declare -F start_redis >/dev/null || { fail "lib.sh has no start_redis"; return; }
	# compose's topology on loopback: its Redis, its backend, and gateway1 and
	# gateway2 each with what compose mounts, the service names swapped for
	# the local ports and the log for a file of their own.
	local ctr="$WORK/ctr" etc="$WORK/ctr/etc/paywalld" g
	deploy_compose_tree gateway1 "$ctr" || return
	start_redis redis || return
	for g in gw1 gw2; do
		mkdir -p "$WORK/$g"
		sed -e 's|listen: 0.0.0.0:[0-9]*|listen: 127.0.0.1:0|' \
			-e "s|http://backend:9000|http://127.0.0.1:$be_PORT|" \
			-e "s|redis://redis:6379/|redis://127.0.0.1:$redis_PORT/|" \
			-e "s|/var/log/paywalld/access.log|$WORK/$g/access.log|" \
			"$etc/paywall.yaml" >"$etc/$g.yaml"
		start_gateway "$g" "$etc/$g.yaml" || return
	done
	local jar="$WORK/jar" a out
	# One reader, served by both gateways in turn: one cookie, one count.
	for a in "gw1 $A1 2" "gw2 $A2 1" "gw1 $A3 0"; do
		set -- $a
		local port="${1}_PORT"
		http -c "$jar" -b "$jar" -D "$WORK/h" -o /dev/null "http://127.0.0.1:${!port}$2"
		expect_eq "$1 $2" "full/meter/$3" "$(decision)"
	done
	http -c "$jar" -b "$jar" -D "$WORK/h" -o /dev/null "http://127.0.0.1:$gw2_PORT$A4"
	expect_eq "gw2: the shared meter is used up" "teaser/meter-exhausted/0" "$(decision)"
	expect_eq "gw1 ready" "200" "$(status "http://127.0.0.1:$gw1_ADMIN/readyz")"
	# readyz_requires_store: false: a Redis outage does not take the fleet
	# out of its load balancer; /readyz says so, the metric alerts.
	stop "$redis_PID"
	http -c "$jar" -b "$jar" -o /dev/null "http://127.0.0.1:$gw1_PORT$A1"
	out=$(http "http://127.0.0.1:$gw1_ADMIN/readyz")
	expect_eq "gw1 still ready without Redis" "200" "$(status "http://127.0.0.1:$gw1_ADMIN/readyz")"
	expect_contains "readyz names the store" "$out" "meter store: failing"
	expect_contains "store down in /metrics" "$(http "http://127.0.0.1:$gw1_ADMIN/metrics")" \
		"paywalld_meter_store_up 0"
	stop "$gw1_PID"
	stop "$gw2_PID"
	for g in gw1 gw2; do
		"$BIN/paywallctl" audit verify --key "$etc/keys/audit.key" "$WORK/$g/access.log" >/dev/null ||
			fail "$g: its audit log does not verify with the shared key"
	done
}
