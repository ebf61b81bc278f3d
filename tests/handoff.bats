#!/usr/bin/env bats
# tlsfront --listen --handoff: one certcookie per worker, kept running
# and passed each connection with its environment (HANDOFF_FD).  With
# --max-conns 1 and one client at a time, one worker serves every
# connection, so one resident certcookie sees them all.  Every server
# runs on 127.0.0.1 and is stopped here.
load common
bats_require_minimum_version 1.5.0

setup_file() {
	pki
	export PKI
	export ALICE_SHA=$(sha256sum <"$PKI/client.der" | cut -d' ' -f1)
	export BOB_SHA=$(openssl x509 -in "$PKI/bob.pem" -outform der |
	    sha256sum | cut -d' ' -f1)
}

setup() {
	PIDS=()
	cd "$PKI"
	start_backend
	PIDS+=("$BACKEND_PID")
	TARGET=$BATS_TEST_TMPDIR/target
	echo "$BACKEND_PORT" >"$TARGET"
}

teardown() {
	kill_trees "${PIDS[@]}"
}

SRV=(--cert server.pem --key server.key --ca ca.pem --verify optional)
alice=(--cert client.pem --key client.key)
bob=(--cert bob.pem --key bob.key)

# handoff [TLSFRONT-ARGS...] -- CERTCOOKIE-ARGS...: tlsfront --listen
# --handoff --max-conns 1 on a free port of 127.0.0.1 with certcookie
# as COMMAND; sets PORT, TF_PID, LOG.
handoff() {
	local targs=()
	while [ "$1" != -- ]; do targs+=("$1"); shift; done
	shift
	LOG=$BATS_TEST_TMPDIR/tlsfront.err
	PORT=$(free_port)
	"$TLSFRONT" --listen "127.0.0.1:$PORT" "${SRV[@]}" --max-conns 1 \
	    --handoff "${targs[@]}" -- "$CERTCOOKIE" "$@" </dev/null \
	    2>>"$LOG" 3>&- &
	TF_PID=$!
	PIDS+=("$TF_PID")
	wait_port 127.0.0.1 "$PORT"
}

# via_file: certcookie's connector reads the backend's port from
# $TARGET for each connection, so that a test can point it elsewhere.
VIA_FILE=(-- sh -c 'exec nc -N 127.0.0.1 "$(cat "$1")"' sh)

# residents: the certcookies tlsfront's workers keep, one pid a line.
residents() {
	local w
	for w in $(pgrep -P "$TF_PID"); do
		pgrep -P "$w" -x certcookie || true
	done
}

# who [CURL-ARGS...]: whose certificate the backend saw in CERT: alice,
# bob, none, or what else it printed.
who() {
	local out sha
	out=$(curl -sS --max-time 10 --cacert ca.pem "$@" \
	    --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/")
	sha=$(jq -r '.cert_der_sha256 // "none"' <<<"$out")
	case $sha in
	"$ALICE_SHA") echo alice ;;
	"$BOB_SHA") echo bob ;;
	none) jq -e '[.cookies[]? | select(.[0] | startswith("CERT"))] |
	    length == 0' <<<"$out" >/dev/null && echo none || echo "$out" ;;
	*) echo "$out" ;;
	esac
}

# alternate: alice, bob, no certificate, alice again; each sees its own.
alternate() {
	local got
	got="$(who "${alice[@]}") $(who "${bob[@]}") $(who) $(who "${alice[@]}")"
	echo "alternation: $got"
	[ "$got" = "alice bob none alice" ]
}

# raw BYTES-FILE [OPENSSL-ARGS...]: send the file's bytes as alice over
# TLS and print what came back until the server closed.
raw() {
	local f=$1
	shift
	timeout 20 openssl s_client -quiet -connect "127.0.0.1:$PORT" \
	    -CAfile ca.pem "${alice[@]}" "$@" <"$f" 2>/dev/null || true
}

@test "--handoff: alice, bob, no certificate and alice again on one resident certcookie, each with only its own certificate" {
	handoff -- --connect "127.0.0.1:$BACKEND_PORT"
	who "${alice[@]}"
	local pid
	pid=$(residents)
	echo "resident: $pid"
	[ -n "$pid" ]
	[ "$(wc -l <<<"$pid")" -eq 1 ]
	alternate
	alternate
	[ "$(residents)" = "$pid" ]
	# Nothing of a connection is left in the environment it had.
	[ "$(tr '\0' '\n' </proc/$pid/environ | grep -c '^HANDOFF_FD=')" -eq 1 ]
}

@test "--handoff: after a 400, an unreachable backend (502), a client reset inside a body and a WebSocket tunnel, the next clients get their own certificates" {
	helper_ws
	handoff -- "${VIA_FILE[@]}" "$TARGET"
	who "${alice[@]}"
	local pid
	pid=$(residents)
	[ -n "$pid" ]

	# A 400: a request line that is no HTTP.
	printf 'BAD\r\n\r\n' >"$BATS_TEST_TMPDIR/bad"
	run raw "$BATS_TEST_TMPDIR/bad"
	echo "$output"
	[[ "$output" == "HTTP/1.1 400 "* ]]
	alternate

	# A backend that is down: 502.
	free_port >"$TARGET"
	run curl -sS --max-time 10 --cacert ca.pem "${alice[@]}" \
	    -o /dev/null -w '%{http_code}' \
	    --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/"
	[ "$output" = 502 ]
	echo "$BACKEND_PORT" >"$TARGET"
	alternate

	# A client that resets its connection inside a body.
	timeout 20 $PY - "$PORT" <<-'PY'
	import socket, ssl, struct, sys, time
	ctx = ssl.create_default_context(cafile="ca.pem")
	ctx.load_cert_chain("client.pem", "client.key")
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	t = ctx.wrap_socket(s, server_hostname="localhost")
	t.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000)
	time.sleep(0.3)
	t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	t.close()
	PY
	alternate

	# A WebSocket tunnel, to its end.
	echo "$WS_PORT" >"$TARGET"
	run timeout 30 $PY "$TOP/tests/proxy_client.py" ws 'CERT=forged' -- \
	    socat - "OPENSSL:127.0.0.1:$PORT,cafile=ca.pem,cert=client.pem,key=client.key,commonname=localhost"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r .echo_last <<<"$output")" = bye ]
	echo "$BACKEND_PORT" >"$TARGET"
	alternate

	# One certcookie did it all.
	[ "$(residents)" = "$pid" ]
}

# helper_ws: the websockets echo server of proxy_client.py; WS_PORT.
helper_ws() {
	local pf=$BATS_TEST_TMPDIR/ws.port i
	$PY "$TOP/tests/proxy_client.py" serve-ws "$pf" </dev/null 3>&- &
	PIDS+=($!)
	for i in $(seq 400); do [ -s "$pf" ] && break; sleep 0.05; done
	WS_PORT=$(cat "$pf")
	[ -n "$WS_PORT" ]
}

@test "--handoff: kill -9 of the resident certcookie ends only the transfer it was in; the next connection is served" {
	handoff -- --connect "127.0.0.1:$BACKEND_PORT"
	who "${alice[@]}"
	local pid dl=$BATS_TEST_TMPDIR/dl
	pid=$(residents)
	[ -n "$pid" ]
	curl -sS --max-time 60 --limit-rate 2M --cacert ca.pem "${alice[@]}" \
	    --resolve "localhost:$PORT:127.0.0.1" -o "$dl" \
	    "https://localhost:$PORT/download?n=200000000" 2>/dev/null &
	local c=$!
	local i
	for i in $(seq 200); do
		[ "$(stat -c %s "$dl" 2>/dev/null || echo 0)" -gt 1000000 ] &&
		    break
		sleep 0.05
	done
	[ "$(stat -c %s "$dl")" -gt 1000000 ]
	kill -9 "$pid"
	run wait "$c"
	echo "curl: $status, $(stat -c %s "$dl") bytes"
	[ "$status" -ne 0 ]
	[ "$(stat -c %s "$dl")" -lt 200000000 ]
	alternate
	local now
	now=$(residents)
	[ -n "$now" ]
	[ "$now" != "$pid" ]
	grep -q 'ended the connection without a status: started again' "$LOG"
}

@test "--handoff: SIGHUP replaces the workers and their certcookies, SIGTERM stops them all; none is left" {
	handoff -- --connect "127.0.0.1:$BACKEND_PORT"
	alternate
	local old
	old=$(residents)
	[ -n "$old" ]
	kill -HUP "$TF_PID"
	local i
	for i in $(seq 100); do
		kill -0 "$old" 2>/dev/null || break
		sleep 0.05
	done
	run ! kill -0 "$old"
	alternate
	local new
	new=$(residents)
	[ -n "$new" ]
	[ "$new" != "$old" ]
	kill -TERM "$TF_PID"
	run timeout 20 tail --pid="$TF_PID" -f /dev/null
	[ "$status" -eq 0 ]
	run ! kill -0 "$new"
	run pgrep -f "$CERTCOOKIE --connect 127.0.0.1:$BACKEND_PORT"
	[ "$status" -eq 1 ]
}

@test "--handoff: a COMMAND that sends no status is killed 5 s after the connection and started again; the next client is served" {
	LOG=$BATS_TEST_TMPDIR/tlsfront.err
	PORT=$(free_port)
	# Answers each connection with its pid; the first time, it then
	# holds its status back for 60 s.
	"$TLSFRONT" --listen "127.0.0.1:$PORT" "${SRV[@]}" --max-conns 1 \
	    --handoff -- $PY "$TOP/tests/resident.py" hold \
	    "$BATS_TEST_TMPDIR/held" </dev/null 2>>"$LOG" 3>&- &
	TF_PID=$!
	PIDS+=("$TF_PID")
	wait_port 127.0.0.1 "$PORT"
	local one two t
	one=$(curl -sS --http0.9 --max-time 10 --cacert ca.pem "${alice[@]}" \
	    --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/")
	[ -n "$one" ]
	run curl -sS --http0.9 --max-time 20 --cacert ca.pem "${alice[@]}" \
	    -w ' %{time_total}' --resolve "localhost:$PORT:127.0.0.1" \
	    "https://localhost:$PORT/"
	echo "first $one, then: $output"
	[ "$status" -eq 0 ]
	two=${lines[0]} t=${output##* }
	[ -n "$two" ] && [ "$two" != "$one" ]
	# The slot came back after the 5 s, not at once, not after 60 s.
	$PY -c 'import sys; sys.exit(not 3 <= float(sys.argv[1]) <= 12)' "$t"
	run ! kill -0 "$one"
	grep -q 'sent no status 5 s after the connection ended: started again' \
	    "$LOG"
}

@test "--handoff: a COMMAND that cannot be run is logged, the connection closed, and the worker goes on" {
	LOG=$BATS_TEST_TMPDIR/tlsfront.err
	PORT=$(free_port)
	"$TLSFRONT" --listen "127.0.0.1:$PORT" "${SRV[@]}" --handoff -- \
	    /nonexistent/command </dev/null 2>>"$LOG" 3>&- &
	TF_PID=$!
	PIDS+=("$TF_PID")
	wait_port 127.0.0.1 "$PORT"
	run curl -sS --max-time 10 --cacert ca.pem "${alice[@]}" \
	    --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/"
	[ "$status" -ne 0 ]
	run curl -sS --max-time 10 --cacert ca.pem "${alice[@]}" \
	    --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/"
	[ "$status" -ne 0 ]
	[ "$(grep -c 'exec /nonexistent/command' "$LOG")" -eq 2 ]
	kill -0 "$TF_PID"
}

@test "certcookie under HANDOFF_FD: a message without a connection is answered with status 70 and the next is served" {
	run --separate-stderr timeout 20 $PY - "$CERTCOOKIE" "$BACKEND_PORT" <<-'PY'
	import os, socket, subprocess, sys
	a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
	os.set_inheritable(b.fileno(), True)
	env = {"PATH": os.environ["PATH"], "HANDOFF_FD": str(b.fileno())}
	p = subprocess.Popen([sys.argv[1], "--connect", "127.0.0.1:" + sys.argv[2]],
	    env=env, pass_fds=[b.fileno()], stdin=subprocess.DEVNULL)
	b.close()
	a.send(b"SSL_CLIENT_VERIFY=NONE\0")          # no fd: refused
	st = a.recv(1)
	print("status", st[0])
	c, d = socket.socketpair()
	socket.send_fds(a, [b"REMOTE_ADDR=192.0.2.1\0"], [d.fileno()])
	d.close()
	c.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nCookie: CERT=forged\r\nConnection: close\r\n\r\n")
	resp = b""
	while True:
	    x = c.recv(65536)
	    if not x:
	        break
	    resp += x
	print(resp.split(b"\r\n")[0].decode())
	print("forged" in resp.decode())
	print("status", a.recv(1)[0])
	a.close()
	print("exit", p.wait(10))
	PY
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "status 70" ]
	[ "${lines[1]}" = "HTTP/1.1 200 OK" ]
	[ "${lines[2]}" = False ]
	[ "${lines[3]}" = "status 0" ]
	[ "${lines[4]}" = "exit 0" ]
}
