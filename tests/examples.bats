#!/usr/bin/env bats
# Every file under examples/ is run here, as a user would run it, against
# real servers started on 127.0.0.1 by the test: nothing in examples/ can
# rot unnoticed.
bats_require_minimum_version 1.5.0
load common

setup_file() {
	pki
}

setup() {
	PKI=$BATS_RUN_TMPDIR/pki
	PIDS=()
	CLIENT_SHA=$(sha256sum < "$PKI/client.der" | cut -c1-64)
}

teardown() {
	# The servers and whatever they started, connections included.
	kill_trees "${PIDS[@]}"
	stop_backend
}

# bg LOG CMD...: start CMD in the background, stdout and stderr to LOG,
# with no other descriptor of bats open (a leftover holding one would
# hang the run instead of failing the test).
bg() {
	local log=$1
	shift
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec "$@"
	) > "$log" 2>&1 < /dev/null &
	PIDS+=($!)
	SERVER_PID=$!
}

# curl_cert PORT [CURL-ARGS...]: an HTTPS request to localhost:PORT with
# the client certificate of the test PKI.
curl_cert() {
	local port=$1
	shift
	curl -sS --max-time 20 --resolve "localhost:$port:127.0.0.1" \
	    --cacert "$PKI/ca.pem" --cert "$PKI/client.pem" \
	    --key "$PKI/client.key" "$@" "https://localhost:$port/"
}

# json EXPR: evaluate the Python expression EXPR with d, the JSON object
# on stdin (an answer of tests/backend.py).
json() {
	$PY -c 'import json, sys, urllib.parse as u; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

@test "pipeline.sh: the request file in, the rewritten requests out" {
	# Not through "run", which would drop the final newline.
	PATH=$TOP:$PATH sh "$TOP/examples/pipeline.sh" "$PKI/client.pem" \
	    > "$BATS_TEST_TMPDIR/out"
	$PY - "$BATS_TEST_TMPDIR/out" "$PKI/client.der" <<'PY'
import base64, sys
out = open(sys.argv[1], "rb").read()
der = open(sys.argv[2], "rb").read()
assert b"forged" not in out, out
heads = [l for l in out.split(b"\r\n") if l.lower().startswith(b"cookie:")]
assert len(heads) == 2, heads
assert heads[0].startswith(b"Cookie: theme=dark; CERT="), heads[0]
assert heads[1].startswith(b"Cookie: CERT="), heads[1]
for h in heads:
    v = h.split(b"CERT=", 1)[1].decode()
    assert base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)) == der
assert out.startswith(b"GET /hello HTTP/1.1\r\nHost: app.example\r\n")
assert out.count(b"POST /form HTTP/1.1\r\n") == 1
assert out.endswith(b"\r\n\r\nname=alice\n"), out[-40:]
PY
}

@test "pipeline.sh: a malformed request ends with status 65, earlier ones whole" {
	printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost : x\r\n\r\n' \
	    > "$BATS_TEST_TMPDIR/bad.http"
	PATH=$TOP:$PATH run -65 --separate-stderr \
	    sh "$TOP/examples/pipeline.sh" "$PKI/client.pem" \
	    "$BATS_TEST_TMPDIR/bad.http"
	[[ "$output" == "GET /a HTTP/1.1"* ]]
	[[ "$output" != *"/b"* ]]
}

@test "stunnel.conf: stunnel runs certcookie, the backend sees the subject" {
	command -v stunnel4 || { echo "stunnel4 not installed: run tests/deps.sh"; return 1; }
	start_backend
	local port
	listen_retry stunnel_at
	port=$PORT
	run --separate-stderr curl_cert "$port" \
	    -b 'CERT_S_DN=CN%3Dadmin; CERT=forged; theme=dark'
	cat "$BATS_TEST_TMPDIR/stunnel.log"
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(json 'u.unquote(d["cookies"]["CERT_S_DN"])' <<< "$output")" = \
	    "O=Example, CN=alice" ]
	[ "$(json 'u.unquote(d["cookies"]["CERT_I_DN"])' <<< "$output")" = \
	    "O=certcookie tests, CN=Test CA" ]
	[ "$(json 'd["cookies"]["theme"]' <<< "$output")" = dark ]
	# No certificate under stunnel, so no CERT cookie, forged or not.
	[ "$(json '"CERT" in d["cookies"]' <<< "$output")" = False ]
	[[ "$output" != *admin* && "$output" != *forged* ]]
}

# stunnel_at: examples/stunnel.conf, with the test's $PORT, PKI, binary
# and backend, under stunnel in the background.
stunnel_at() {
	local conf=$BATS_TEST_TMPDIR/stunnel.conf
	sed -e "s|^accept = 443\$|accept = 127.0.0.1:$PORT|" \
	    -e "s|/etc/tlsfront/|$PKI/|" \
	    -e "s|^exec = /usr/local/bin/certcookie\$|exec = $CERTCOOKIE|" \
	    -e "s|127\.0\.0\.1:8080\$|127.0.0.1:$BACKEND_PORT|" \
	    "$TOP/examples/stunnel.conf" > "$conf"
	grep -q "^accept = 127.0.0.1:$PORT\$" "$conf"
	grep -q "^exec = $CERTCOOKIE\$" "$conf"
	grep -q -- "--connect 127.0.0.1:$BACKEND_PORT\$" "$conf"
	bg "$BATS_TEST_TMPDIR/stunnel.log" stunnel4 "$conf"
}

# units DIR: the example units in DIR with the binaries in $TOP, and the
# manual pages of Documentation= findable, for systemd-analyze verify.
units() {
	local dir=$1 u
	mkdir -p "$dir/man/man1"
	ln -sf "$TOP/certcookie.1" "$TOP/tlsfront.1" "$dir/man/man1/"
	for u in "$TOP"/examples/systemd/*; do
		sed "s|/usr/local/bin/|$TOP/|g" "$u" > "$dir/${u##*/}"
	done
}

@test "systemd: tlsfront.socket + tlsfront@.service (Accept=yes) verify cleanly" {
	local d=$BATS_TEST_TMPDIR/units
	units "$d"
	grep -qx 'Accept=yes' "$d/tlsfront.socket"
	grep -qx 'StandardInput=socket' "$d/tlsfront@.service"
	grep -qx 'StandardError=journal' "$d/tlsfront@.service"
	grep -qx 'DynamicUser=yes' "$d/tlsfront@.service"
	grep -qx 'ProtectSystem=strict' "$d/tlsfront@.service"
	grep -qx 'NoNewPrivileges=yes' "$d/tlsfront@.service"
	cd "$d"
	MANPATH=$d/man: run systemd-analyze verify ./tlsfront.socket \
	    ./tlsfront@.service
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "systemd: tlsfront-single.socket + .service (Accept=no) verify cleanly" {
	local d=$BATS_TEST_TMPDIR/units
	units "$d"
	grep -qx 'Accept=no' "$d/tlsfront-single.socket"
	cd "$d"
	MANPATH=$d/man: run systemd-analyze verify ./tlsfront-single.socket \
	    ./tlsfront-single.service
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

# cred DIR: the credentials directory that LoadCredential= makes (%d).
cred() {
	mkdir -p "$1"
	cp "$PKI/server.pem" "$PKI/server.key" "$PKI/ca.pem" "$1/"
}

# exec_start UNIT: the ExecStart= command line of the example UNIT, with
# the binaries in $TOP, %d the test's credentials and the backend on
# $BACKEND_PORT, word-split into CMD.
exec_start() {
	local line
	line=$(sed -n 's/^ExecStart=//p' "$TOP/examples/systemd/$1")
	[ -n "$line" ]
	line=${line//\/usr\/local\/bin\//$TOP/}
	line=${line//%d/$BATS_TEST_TMPDIR/cred}
	line=${line//127.0.0.1:8080/127.0.0.1:$BACKEND_PORT}
	[[ "$line" == *"127.0.0.1:$BACKEND_PORT"* ]]
	eval "CMD=($line)"
	cred "$BATS_TEST_TMPDIR/cred"
}

# activate_at OPTION...: systemd-socket-activate on 127.0.0.1:$PORT with
# OPTIONS and $CMD, in the background.
activate_at() {
	bg "$BATS_TEST_TMPDIR/activate.log" systemd-socket-activate \
	    -l "127.0.0.1:$PORT" "$@" -- "${CMD[@]}"
}

# check_answer OUTPUT: tests/backend.py received the client certificate
# in CERT, and no trace of the forged cookie of curl_forged.
check_answer() {
	echo "$1"
	[ "$(json 'd.get("cert_der_sha256")' <<< "$1")" = "$CLIENT_SHA" ]
	[ "$(json 'd["cookies"]["theme"]' <<< "$1")" = dark ]
	[[ "$1" != *forged* ]]
}

curl_forged() {
	curl_cert "$1" -b 'CERT=forged; theme=dark'
}

@test "systemd: tlsfront@.service's command under systemd-socket-activate -a (Accept=yes)" {
	start_backend
	exec_start tlsfront@.service
	local port mode
	for mode in -a "--inetd -a"; do
		# $mode unquoted: "--inetd -a" is two options.
		listen_retry activate_at $mode
		port=$PORT
		run --separate-stderr curl_forged "$port"
		[ "$status" -eq 0 ]
		check_answer "$output"
		# A second connection gets a new instance.
		run --separate-stderr curl_forged "$port"
		check_answer "$output"
	done
}

@test "systemd: tlsfront-single.service's command under systemd-socket-activate (Accept=no)" {
	start_backend
	exec_start tlsfront-single.service
	local port pid
	listen_retry activate_at
	port=$PORT pid=$SERVER_PID
	local i
	for i in 1 2 3; do
		run --separate-stderr curl_forged "$port"
		[ "$status" -eq 0 ]
		check_answer "$output"
	done
	# One process served them all (systemd-socket-activate execs it).
	[ "$(ps -o args= -p "$pid")" = "${CMD[*]}" ]
	# systemctl stop: SIGTERM, and a clean exit.
	local st=0
	kill -TERM "$pid"
	wait "$pid" || st=$?
	echo "exit status after SIGTERM: $st"
	cat "$BATS_TEST_TMPDIR/activate.log"
	[ "$st" -eq 0 ]
}

@test "inetd.conf: the line under openbsd-inetd, curl --cert through it" {
	command -v inetd || { echo "openbsd-inetd not installed: run tests/deps.sh"; return 1; }
	start_backend
	local port conf=$BATS_TEST_TMPDIR/inetd.conf line
	inetd_at() {
		port=$PORT
		line=$(grep -v '^#' "$TOP/examples/inetd.conf" | grep .)
		[ "$(wc -l <<< "$line")" -eq 1 ]
		# The test's port on 127.0.0.1, root instead of the user
		# "tlsfront", the test's PKI, binaries and backend.
		line=$(sed -e "s|^https\t|127.0.0.1:$port\t|" \
		    -e "s|\ttlsfront\t/usr/local/bin/tlsfront\t|\troot\t/usr/local/bin/tlsfront\t|" \
		    -e "s|/etc/tlsfront/|$PKI/|g" -e "s|/usr/local/bin/|$TOP/|g" \
		    -e "s|127\.0\.0\.1:8080\$|127.0.0.1:$BACKEND_PORT|" <<< "$line")
		[[ "$line" == "127.0.0.1:$port	stream	tcp	nowait	root	$TLSFRONT	tlsfront "* ]]
		[[ "$line" == *"--connect 127.0.0.1:$BACKEND_PORT" ]]
		printf '%s\n' "$line" > "$conf"
		# -d: debug, in the foreground.
		bg "$BATS_TEST_TMPDIR/inetd.log" inetd -d "$conf"
	}
	listen_retry inetd_at
	run --separate-stderr curl_forged "$port"
	[ "$status" -eq 0 ]
	check_answer "$output"
	grep -q "execv $TLSFRONT" "$BATS_TEST_TMPDIR/inetd.log"
}

@test "xinetd.d/tlsfront: the service under xinetd, curl --cert through it" {
	# Debian's xinetd and openbsd-inetd conflict (both are the
	# inet-superserver), so tests/deps.sh installs openbsd-inetd, and
	# xinetd is unpacked here from Debian's package, not installed.
	local xinetd=${XINETD:-$(command -v xinetd || :)}
	if [ -z "$xinetd" ]; then
		xinetd=$BATS_RUN_TMPDIR/xinetd/usr/sbin/xinetd
		[ -x "$xinetd" ] || (cd "$BATS_RUN_TMPDIR" &&
		    apt-get download -qq xinetd 2>/dev/null &&
		    dpkg-deb -x xinetd_*.deb xinetd) ||
		    skip "no xinetd: it conflicts with openbsd-inetd, and apt-get download xinetd failed"
	fi
	start_backend
	local port conf=$BATS_TEST_TMPDIR/xinetd.conf
	xinetd_at() {
		port=$PORT
		sed -e "s|^\tport\t\t= 443\$|\tport\t\t= $port\n\tbind\t\t= 127.0.0.1|" \
		    -e "s|^\tuser\t\t= tlsfront\$|\tuser\t\t= root|" \
		    -e "s|/etc/tlsfront/|$PKI/|g" -e "s|/usr/local/bin/|$TOP/|g" \
		    -e "s|127\.0\.0\.1:8080\$|127.0.0.1:$BACKEND_PORT|" \
		    "$TOP/examples/xinetd.d/tlsfront" > "$conf"
		grep -q "port		= $port" "$conf"
		bg "$BATS_TEST_TMPDIR/xinetd.log" "$xinetd" -dontfork \
		    -f "$conf" -pidfile "$BATS_TEST_TMPDIR/xinetd.pid"
	}
	listen_retry xinetd_at
	run --separate-stderr curl_forged "$port"
	[ "$status" -eq 0 ]
	check_answer "$output"
}

# front BACKEND-PORT: tlsfront --listen -> certcookie --connect in front
# of the backend; sets FRONT_PORT.
front() {
	listen_retry front_at -- "$CERTCOOKIE" --connect "127.0.0.1:$1"
	FRONT_PORT=$PORT
}

# front_at -- COMMAND...: tlsfront --listen 127.0.0.1:$PORT with the
# test's PKI, in the background.
front_at() {
	bg "$BATS_TEST_TMPDIR/front.log" "$TLSFRONT" \
	    --listen "127.0.0.1:$PORT" --cert "$PKI/server.pem" \
	    --key "$PKI/server.key" --ca "$PKI/ca.pem" "$@"
}

# backend_answers CMD...: start the example backend CMD on a free port,
# in PORT in its environment and for @PORT@ in its arguments, put the
# chain in front, and check that its answer names the client
# certificate, a forged CERT cookie notwithstanding.
backend_answers() {
	listen_retry backend_at "$@" ||
	    { cat "$BATS_TEST_TMPDIR/backend.log"; return 1; }
	front "$PORT"
	run --separate-stderr curl_forged "$FRONT_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx "sha256: $CLIENT_SHA" <<< "$output"
	grep -qx "serial: 1234" <<< "$output"
	grep -q '^subject: .*CN=alice' <<< "$output"
	grep -q '^subject: .*O=Example' <<< "$output"
}

backend_at() {
	PORT=$PORT bg "$BATS_TEST_TMPDIR/backend.log" "${@//@PORT@/$PORT}"
}

@test "backends/python: the standard-library app behind the chain" {
	backend_answers $PY "$TOP/examples/backends/python/app.py"
	grep -qx "issuer: CN=Test CA,O=certcookie tests" <<< "$output"
	grep -q "^cookie header: theme=dark; CERT=MII" <<< "$output"
}

@test "backends/flask: the Flask app behind the chain" {
	$PY -c 'import flask, cryptography' || { echo "python3-flask or python3-cryptography missing: run tests/deps.sh"; return 1; }
	backend_answers $PY "$TOP/examples/backends/flask/app.py"
}

@test "backends/django: the one-file Django app behind the chain" {
	$PY -c 'import django, cryptography' || { echo "python3-django or python3-cryptography missing: run tests/deps.sh"; return 1; }
	backend_answers $PY "$TOP/examples/backends/django/app.py"
}

@test "backends/starlette: the Starlette app on uvicorn behind the chain" {
	$PY -c 'import starlette, uvicorn, cryptography' || { echo "python3-starlette, python3-uvicorn or python3-cryptography missing: run tests/deps.sh"; return 1; }
	backend_answers $PY "$TOP/examples/backends/starlette/app.py"
}

@test "backends/express: the Express app (cookie-parser) behind the chain" {
	# Debian's nodejs finds Debian's node-* modules by itself; other
	# builds of node need NODE_PATH.
	NODE_PATH=/usr/share/nodejs node -e 'require("express"); require("cookie-parser")' || { echo "node-express or node-cookie-parser missing: run tests/deps.sh"; return 1; }
	NODE_PATH=/usr/share/nodejs backend_answers \
	    node "$TOP/examples/backends/express/app.js"
}

@test "backends/php: the PHP app behind the chain" {
	command -v php || { echo "php-cli missing: run tests/deps.sh"; return 1; }
	backend_answers php -S 127.0.0.1:@PORT@ \
	    "$TOP/examples/backends/php/index.php"
}

@test "backends/go: the Go app behind the chain" {
	command -v go || { echo "golang-go missing: run tests/deps.sh"; return 1; }
	[ -n "${HOME:-}" ] || export HOME=$BATS_RUN_TMPDIR
	go build -o "$BATS_TEST_TMPDIR/whoami" "$TOP/examples/backends/go/main.go"
	backend_answers "$BATS_TEST_TMPDIR/whoami"
}

# no_commands PID: tlsfront PID runs no COMMAND any more, within 5 s:
# its only children are idle workers, which have none of their own.
no_commands() {
	local i w busy
	for i in $(seq 100); do
		busy=
		for w in $(pgrep -P "$1"); do
			pgrep -P "$w" >/dev/null && busy=$w
		done
		[ -n "$busy" ] || return 0
		sleep 0.05
	done
	echo "still running under $busy:"
	pgrep -a -P "$busy"
	return 1
}

@test "certcookie.1: the nc -N and socat connectors behind tlsfront, nothing lingers" {
	start_backend
	local connector
	for connector in "nc -N 127.0.0.1 $BACKEND_PORT" \
	    "socat - TCP:127.0.0.1:$BACKEND_PORT"; do
		# $connector unquoted: it is the COMMAND and its arguments.
		listen_retry front_at -- "$CERTCOOKIE" -- $connector
		FRONT_PORT=$PORT
		run --separate-stderr curl_forged "$FRONT_PORT"
		[ "$status" -eq 0 ]
		check_answer "$output"
		# The client has gone: certcookie and the connector end,
		# though the backend keeps connections alive.
		no_commands "${PIDS[-1]}"
	done
}

@test "systemd: both services are hardened (systemd-analyze security: exposure at most 2.0)" {
	local d=$BATS_TEST_TMPDIR/units u
	units "$d"
	cd "$d"
	for u in tlsfront@.service tlsfront-single.service; do
		# --threshold is in tenths: fail above an exposure of 2.0.
		run systemd-analyze security --offline=yes --threshold=20 "./$u"
		echo "$output" | tail -n 1
		[ "$status" -eq 0 ]
		[[ "$output" == *"Overall exposure level for ${u/@/@i}: "[0-2].[0-9]" OK"* ]]
	done
}
