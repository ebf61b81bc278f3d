#!/usr/bin/env bats
# tlsfront under attack: fds that outlive their connection, connections
# that hold a slot without a handshake, log lines forged through the
# certificate, the server's cipher order.  Every server runs on
# 127.0.0.0/8 and is stopped here.
load common
bats_require_minimum_version 1.5.0

setup_file() {
	pki
	export PKI
}

setup() {
	PIDS=()
	cd "$PKI"
}

teardown() {
	local p c
	for p in "${PIDS[@]}"; do
		for c in $(pgrep -P "$p"); do
			kill "$c" 2>/dev/null || true
		done
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}

SRV=(--cert server.pem --key server.key --ca ca.pem --crl crl.pem)
alice=(--cert client.pem --key client.key)

# only012 CMD...: CMD with no fd open but 0, 1 and 2, whatever this shell
# inherited.
only012() {
	$PY -c 'import os, sys
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

# listen ARGS...: tlsfront --listen on a free port of 127.0.0.1; sets
# PORT, TF_PID; its stderr goes to $LOG.
listen() {
	LOG=$BATS_TEST_TMPDIR/tlsfront.err
	PORT=$(free_port)
	only012 "$TLSFRONT" --listen "127.0.0.1:$PORT" "$@" </dev/null \
	    2>>"$LOG" 3>&- &
	PIDS+=($!)
	TF_PID=$!
	wait_port 127.0.0.1 "$PORT"
	kill -0 "$TF_PID"
}

# get [CURL-ARGS...]: an HTTPS request to localhost:$PORT; the answer in
# $output.
get() {
	run curl -sS --http0.9 --max-time 10 --cacert ca.pem \
	    --resolve "localhost:$PORT:127.0.0.1" "$@" "https://localhost:$PORT/"
}

# silent N [SRC]: N TCP connections from SRC (default 127.0.0.1) that
# send nothing; prints, one line each, how long until the server closed
# them (or "open" after $SILENT_MAX seconds, default 10).
silent() {
	timeout 60 $PY - "$PORT" "$1" "${2:-127.0.0.1}" \
	    "${SILENT_MAX:-10}" <<-'EOF'
	import selectors, socket, sys, time
	port, n, src, limit = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
	sel = selectors.DefaultSelector()
	t0 = time.monotonic()
	socks = []
	for i in range(n):
	    s = socket.socket()
	    s.bind((src, 0))
	    s.connect(("127.0.0.1", port))
	    socks.append(s)
	    sel.register(s, selectors.EVENT_READ)
	done = {}
	while len(done) < n and time.monotonic() - t0 < limit:
	    for k, _ in sel.select(0.1):
	        try:
	            k.fileobj.recv(100)
	        except OSError:
	            pass
	        done[k.fileobj] = time.monotonic() - t0
	        sel.unregister(k.fileobj)
	for s in socks:
	    print("%.1f" % done[s] if s in done else "open")
	EOF
}

@test "--listen: the first connection of a new worker is closed at the handshake timeout" {
	listen "${SRV[@]}" --handshake-timeout 1 -- true
	# Three at once: at least two go to workers forked for them.
	run silent 3
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	local l
	for l in "${lines[@]}"; do
		[ "$l" != open ]
		[ "${l%.*}" -lt 4 ]
	done
}

# FDS: a COMMAND that lists its fds: a shell's own, from ls (no pipe,
# whose far end the shell would hold while ls runs).
FDS=(sh -c 'ls /proc/$$/fd')

@test "--listen: COMMAND has only fds 0, 1 and 2, in new and reused workers" {
	listen "${SRV[@]}" -- "${FDS[@]}"
	local i
	for i in 1 2 3; do
		get "${alice[@]}"
		echo "connection $i:" $output
		[ "$status" -eq 0 ]
		[ "$(echo $output)" = "0 1 2" ]
	done
	# Three at once: the second runs in a worker forked for it.
	run timeout 20 $PY - "$PORT" <<-'EOF'
	import socket, ssl, sys
	ctx = ssl.create_default_context(cafile="ca.pem")
	ctx.load_cert_chain("client.pem", "client.key")
	ctx.check_hostname = False
	port = int(sys.argv[1])
	ts = []
	for i in range(3):
	    s = socket.create_connection(("127.0.0.1", port), timeout=10)
	    ts.append(ctx.wrap_socket(s, server_hostname="localhost"))
	for t in ts:
	    out = b""
	    while True:
	        b = t.recv(4096)
	        if not b:
	            break
	        out += b
	    print(" ".join(out.decode().split()))
	EOF
	[ "$status" -eq 0 ]
	echo "$output"
	[ "${#lines[@]}" -eq 3 ]
	for i in 0 1 2; do
		[ "${lines[$i]}" = "0 1 2" ]
	done
	# And no worker keeps a connection the client has closed.
	for i in $(seq 40); do
		[ -z "$(ss -Htn state close-wait "( sport = :$PORT )")" ] && break
		sleep 0.05
	done
	ss -Htn state close-wait "( sport = :$PORT )"
	[ -z "$(ss -Htn state close-wait "( sport = :$PORT )")" ]
}

@test "inetd and systemd: COMMAND has only fds 0, 1 and 2" {
	local mode
	for mode in "--inetd -a" "-a" ""; do
		PORT=$(free_port)
		# shellcheck disable=SC2086
		only012 systemd-socket-activate -l "127.0.0.1:$PORT" $mode \
		    "$TLSFRONT" "${SRV[@]}" -- "${FDS[@]}" </dev/null \
		    2>>"$BATS_TEST_TMPDIR/activate.err" 3>&- &
		PIDS+=($!)
		wait_port 127.0.0.1 "$PORT"
		get "${alice[@]}"
		[ "$status" -eq 0 ]
		echo "mode '$mode':" $output
		[ "$(echo $output)" = "0 1 2" ]
	done
}
