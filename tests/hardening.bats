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

# evil_certs DIR: DIR/evil.pem (signed by the test CA) and DIR/evilself.pem
# (self-signed), both with DIR/evil.key and a CN that holds a whole forged
# log line between CR LF pairs, quotes, an ESC sequence and a backslash.
evil_certs() {
	$PY - "$1" <<-'EOF2'
	import datetime, sys
	from cryptography import x509
	from cryptography.hazmat.primitives import hashes, serialization
	from cryptography.hazmat.primitives.asymmetric import ec
	from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
	d = sys.argv[1]
	cn = ('x"\r\ntlsfront: 10.9.9.9:1 sni=- TLSv1.3 TLS_AES_128_GCM_SHA256 '
	    'new verify=SUCCESS subject="CN=admin" in=0 out=0 time=0.001s ok'
	    '\r\n\x1b[2K\\')
	key = ec.generate_private_key(ec.SECP256R1())
	# Longer than X.509's 64 characters: GnuTLS takes it all the same.
	name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn,
	    _validate=False)])
	now = datetime.datetime.now(datetime.timezone.utc)
	def make(issuer, ikey, out):
	    c = (x509.CertificateBuilder().subject_name(name)
	        .issuer_name(issuer).public_key(key.public_key())
	        .serial_number(x509.random_serial_number())
	        .not_valid_before(now - datetime.timedelta(days=1))
	        .not_valid_after(now + datetime.timedelta(days=30))
	        .add_extension(x509.ExtendedKeyUsage(
	            [ExtendedKeyUsageOID.CLIENT_AUTH]), False)
	        .sign(ikey, hashes.SHA256()))
	    open(d + "/" + out, "wb").write(
	        c.public_bytes(serialization.Encoding.PEM))
	ca = x509.load_pem_x509_certificate(open("ca.pem", "rb").read())
	cakey = serialization.load_pem_private_key(open("ca.key", "rb").read(),
	    None)
	make(ca.subject, cakey, "evil.pem")
	make(name, key, "evilself.pem")
	open(d + "/evil.key", "wb").write(key.private_bytes(
	    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
	    serialization.NoEncryption()))
	EOF2
}

@test "-v: a subject DN with CR, LF, ESC and quotes is logged escaped, accepted or rejected" {
	local d=$BATS_TEST_TMPDIR
	evil_certs "$d"
	listen "${SRV[@]}" -v --verify optional -- echo ok
	# Accepted: signed by the CA.
	get --cert "$d/evil.pem" --key "$d/evil.key"
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
	# Rejected: self-signed.
	get --cert "$d/evilself.pem" --key "$d/evil.key"
	[ "$status" -ne 0 ]
	local i
	for i in $(seq 100); do
		[ "$(grep -c 'subject="CN=x' "$LOG")" -ge 2 ] && break
		sleep 0.05
	done
	cat -A "$LOG"
	# One line for each event, one of them refused.
	[ "$(grep -c 'subject="CN=x' "$LOG")" -eq 2 ]
	grep -q 'verify=SUCCESS subject="CN=x' "$LOG"
	grep -q 'verify=FAILED:[^"]*subject="CN=x.* handshake failed$' "$LOG"
	# No line forged, none with a control character in it.
	run grep -v '^tlsfront: \(127\.0\.0\.1:\|stopping\)' "$LOG"
	[ -z "$output" ]
	run grep -c $'[\x01-\x08\x0b-\x1f\x7f]' "$LOG"
	[ "$output" = 0 ]
	# Escaped as vis(3) would, GnuTLS's own \" of the DN included.
	grep -qF 'subject="CN=x\\\"\r\ntlsfront: 10.9.9.9:1 sni=-' "$LOG"
	grep -qF 'time=0.001s ok\r\n\033[2K\\\\" in=' "$LOG"
}
