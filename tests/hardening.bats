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

# Everything a test started, down to the COMMANDs of tlsfront's workers.
teardown() {
	kill_trees "${PIDS[@]}"
}

SRV=(--cert server.pem --key server.key --ca ca.pem --crl crl.pem)
alice=(--cert client.pem --key client.key)

# only012 CMD... &: CMD with no fd open but 0, 1 and 2, whatever this
# shell inherited; in the background only, as it execs ($! is CMD's pid).
only012() {
	exec $PY -c 'import os, sys
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
# them (or "open" after $SILENT_MAX seconds, default 10).  With
# SILENT_READY set, that file appears once all N are connected.  With
# SILENT_BYTE=1, each sends the first byte of a TLS record, then nothing.
silent() {
	timeout 60 $PY - "$PORT" "$1" "${2:-127.0.0.1}" \
	    "${SILENT_MAX:-10}" "${SILENT_READY:-}" "${SILENT_BYTE:-0}" <<-'EOF'
	import os, selectors, socket, sys, time
	port, n, src = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
	limit, ready, byte = float(sys.argv[4]), sys.argv[5], sys.argv[6] == "1"
	sel = selectors.DefaultSelector()
	t0 = time.monotonic()
	socks = []
	for i in range(n):
	    s = socket.socket()
	    s.bind((src, 0))
	    s.connect(("127.0.0.1", port))
	    if byte:
	        s.sendall(b"\x16")
	    socks.append(s)
	    sel.register(s, selectors.EVENT_READ)
	if ready:
	    open(ready + ".tmp", "w").close()
	    os.rename(ready + ".tmp", ready)
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
	# Three at once: at least two go to workers forked for them.  A
	# byte each, or the accept loop would close them itself.
	SILENT_BYTE=1 run silent 3
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

@test "--listen --handoff: COMMAND has only fds 0, 1, 2 and the handoff socket, and each connection's own" {
	listen "${SRV[@]}" --handoff -- $PY "$TOP/tests/resident.py" fds
	local i
	for i in 1 2 3; do
		get "${alice[@]}"
		echo "connection $i: $output"
		[ "$status" -eq 0 ]
		[ "$output" = "start: 0 1 2 H; now: 0 1 2 C H" ]
	done
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

# workers: how many workers tlsfront's accept loop has now.
workers() {
	pgrep -P "$TF_PID" | wc -l
}

# stop_idle: SIGTERM once the accept loop is down to its spare workers
# (16 at most are kept idle), and wait for it; its last line in $LOG says
# how many connections it still counted as running.
stop_idle() {
	local i st=0
	for i in $(seq 200); do
		[ "$(workers)" -le 16 ] && break
		sleep 0.05
	done
	kill -TERM "$TF_PID"
	wait "$TF_PID" || st=$?
	[ "$st" -eq 0 ]
}

@test "--listen: 200 silent connections hold no slot; a real client is served at once, theirs end at the handshake timeout" {
	listen "${SRV[@]}" -v --handshake-timeout 2 --max-conns 100 -- \
	    echo served
	local res=$BATS_TEST_TMPDIR/silent
	SILENT_READY=$BATS_TEST_TMPDIR/ready SILENT_MAX=20 \
	    silent 200 127.0.0.2 >"$res" &
	local att=$!
	PIDS+=($att)
	local i
	for i in $(seq 200); do
		[ -e "$BATS_TEST_TMPDIR/ready" ] && break
		sleep 0.05
	done
	[ -e "$BATS_TEST_TMPDIR/ready" ]
	echo "workers during the attack: $(workers)"
	# While all 200 are open: alice from another address.
	run curl -sS --http0.9 --max-time 10 --interface 127.0.0.3 \
	    --cacert ca.pem "${alice[@]}" -w ' %{time_total}' \
	    --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/"
	echo "alice: $output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = served ]
	$PY -c 'import sys; sys.exit(float(sys.argv[1]) >= 1)' "${output##* }"
	# Each attacker was closed once its deferral ran out (the handshake
	# timeout, rounded up to a SYN-ACK retransmission: 3 s), by the
	# accept loop, without a worker.
	wait "$att"
	sort "$res" | uniq -c
	[ "$(wc -l <"$res")" -eq 200 ]
	run grep -c open "$res"
	[ "$output" = 0 ]
	[ "$(grep -c '^tlsfront: 127\.0\.0\.2: nothing sent in 3 s: closed$' \
	    "$LOG")" -eq 200 ]
	# Every slot is free again.
	stop_idle
	[ "$(tail -n 1 "$LOG")" = "tlsfront: stopping: waiting for 0 connection(s)" ]
}

# hold N SRC: N connections as alice from SRC, each held until a line
# arrives on stdin; then each says its line and prints the answer.
hold_py() {
	cat <<-'EOF'
	import os, socket, ssl, sys, time
	ctx = ssl.create_default_context(cafile="ca.pem")
	ctx.load_cert_chain("client.pem", "client.key")
	ctx.check_hostname = False
	def conn(port, src):
	    s = socket.create_connection(("127.0.0.1", port), timeout=10,
	        source_address=(src, 0))
	    return ctx.wrap_socket(s, server_hostname="localhost")
	def closed(s):
	    # Refused: end of file, or a reset for the byte it never read.
	    try:
	        return s.recv(10) == b""
	    except ConnectionResetError:
	        return True
	def ask(t, line):
	    t.sendall(line.encode() + b"\n")
	    out = b""
	    while True:
	        b = t.recv(4096)
	        if not b:
	            return out.decode()
	        out += b
	EOF
}

@test "--max-conns-per-ip: one connection too many from an address is closed at once and logged" {
	listen "${SRV[@]}" --max-conns-per-ip 2 -- sh -c 'read x; echo "got $x"'
	run timeout 30 $PY -c "$(hold_py)
port = int(sys.argv[1])
a = conn(port, '127.0.0.2')
b = conn(port, '127.0.0.2')
# The third from 127.0.0.2: closed before any handshake.
t0 = time.monotonic()
try:
    c = conn(port, '127.0.0.2')
    ask(c, 'three')
    sys.exit('third connection served')
except (ssl.SSLError, ConnectionError, OSError):
    pass
took = time.monotonic() - t0
assert took < 1, took
# Another address is not affected.
print(ask(conn(port, '127.0.0.3'), 'other'), end='')
print(ask(a, 'one'), end='')
# One slot of 127.0.0.2 is free again, once the loop has heard that
# the worker is done (just after the client saw the end).
for i in range(40):
    try:
        print(ask(conn(port, '127.0.0.2'), 'again'), end='')
        break
    except (ssl.SSLError, ConnectionError):
        time.sleep(0.05)
print(ask(b, 'two'), end='')" "$PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "got other
got one
got again
got two" ]
	cat "$LOG"
	grep -q '^tlsfront: 127\.0\.0\.2: over --max-conns-per-ip 2: refused$' "$LOG"
}

@test "--max-conns-per-ip: a flood from one address is logged once a second, not once per connection" {
	listen "${SRV[@]}" --max-conns-per-ip 1 -- sh -c 'read x; echo "got $x"'
	run timeout 30 $PY -c "$(hold_py)
port = int(sys.argv[1])
a = conn(port, '127.0.0.2')
for i in range(50):
    s = socket.create_connection(('127.0.0.1', port), timeout=5,
        source_address=('127.0.0.2', 0))
    s.sendall(b'x')
    assert closed(s)
    s.close()
time.sleep(1.1)
s = socket.create_connection(('127.0.0.1', port), timeout=5,
    source_address=('127.0.0.2', 0))
s.sendall(b'x')
assert closed(s)
print(ask(a, 'one'), end='')" "$PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "got one" ]
	cat "$LOG"
	run grep -c 'over --max-conns-per-ip' "$LOG"
	[ "$output" -ge 2 ]
	[ "$output" -le 4 ]
	grep -q 'refused (and [0-9]* more from any address since' "$LOG"
}

# cipher_with PRIO: the cipher suite tlsfront chose for a gnutls-cli
# client with priority string PRIO (a client that prefers the
# CCM ciphers, which come last in tlsfront's own order).
cipher_with() {
	timeout 10 gnutls-cli --x509cafile ca.pem --x509certfile client.pem \
	    --x509keyfile client.key --priority "$1" -p "$PORT" localhost \
	    </dev/null 2>&1 | sed -n 's/^- Description: //p'
}

@test "the default priority has the server's cipher order, in TLS 1.2 and 1.3" {
	listen "${SRV[@]}" -- echo ok
	local out
	out=$(cipher_with 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CCM:+CHACHA20-POLY1305:+AES-128-GCM')
	echo "TLS 1.2: $out"
	[[ "$out" == *"(AES-128-GCM)"* ]]
	out=$(cipher_with 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-CCM:+CHACHA20-POLY1305:+AES-128-GCM')
	echo "TLS 1.3: $out"
	[[ "$out" == *"(AES-128-GCM)"* ]]
	# The client's order stands with a --priority that does not say so.
	kill "$TF_PID"
	listen "${SRV[@]}" --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3' -- echo ok
	out=$(cipher_with 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CCM:+CHACHA20-POLY1305:+AES-128-GCM')
	echo "TLS 1.2, client's order: $out"
	[[ "$out" == *"(AES-128-CCM)"* ]]
}

# commands: how many COMMANDs the workers of $TF_PID are running.
commands() {
	local w
	for w in $(pgrep -P "$TF_PID"); do
		pgrep -P "$w" || true
	done | wc -l
}

# all_free: no COMMAND left (within 10 s); then SIGTERM, and tlsfront
# stops counting no connection still running.
all_free() {
	local i
	for i in $(seq 100); do
		[ "$(commands)" -eq 0 ] && break
		sleep 0.1
	done
	[ "$(commands)" -eq 0 ]
	stop_idle
	grep -v '^certcookie: ' "$LOG" | tail -n 3
	[ "$(grep -v '^certcookie: ' "$LOG" | tail -n 1)" = \
	    "tlsfront: stopping: waiting for 0 connection(s)" ]
}

@test "--listen + certcookie: 200 heads dripped a byte a second end at --head-timeout with 408; a real client is served at once; the slots come back" {
	start_backend
	listen "${SRV[@]}" -v --verify optional --max-conns 256 -- \
	    "$CERTCOOKIE" --head-timeout 2 --connect "127.0.0.1:$BACKEND_PORT"
	local res=$BATS_TEST_TMPDIR/drip ready=$BATS_TEST_TMPDIR/ready
	timeout 120 $PY "$TOP/tests/drip.py" "$PORT" 200 127.0.0.2 ca.pem 20 \
	    "$ready" >"$res" &
	local att=$!
	PIDS+=($att)
	local i
	for i in $(seq 1200); do
		[ -e "$ready" ] && break
		sleep 0.05
	done
	[ -e "$ready" ]
	echo "certcookie processes during the attack: $(commands)"
	# While all 200 heads are dripping: alice from another address.
	run curl -sS --max-time 10 --interface 127.0.0.3 --cacert ca.pem \
	    "${alice[@]}" -w '\n%{time_total}' \
	    --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/"
	echo "alice: $output"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"cert_der_sha256"'* ]]
	$PY -c 'import sys; sys.exit(float(sys.argv[1]) >= 1)' "${lines[-1]}"
	# Every dripper got 408 about 2 s after its first byte, then EOF.
	wait "$att"
	sort "$res" | uniq -c
	[ "$(wc -l <"$res")" -eq 200 ]
	[ "$(grep -c ' 408$' "$res")" -eq 200 ]
	# Not before the timeout, and well before the 20 s a whole drip
	# takes: under make sanitize the last of 200 certcookies may start
	# (and start its clock) seconds after the first byte was sent.
	$PY - "$res" <<-'PY'
	import sys
	t = [float(l.split()[0]) for l in open(sys.argv[1])]
	assert all(1.5 <= x < 14 for x in t), (min(t), max(t))
	PY
	# Every slot and every certcookie is free again.
	all_free
	stop_backend
}

@test "--listen --max-conns 3: three clients that end inside a request free their slots at once; the next one is served" {
	fault keepopen
	PIDS+=("$FAULT_PID")
	listen "${SRV[@]}" -v --max-conns 3 --idle-timeout 60 -- \
	    "$CERTCOOKIE" --connect "127.0.0.1:$FAULT_PORT"
	# Each ends inside its request line, head or chunked body, with
	# the TLS close_notify and a full close.
	for part in 'GET / HT' 'GET / HTTP/1.1\r\nHost: a\r\n' \
	    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'; do
		printf "$part" | timeout 10 gnutls-cli --logfile=/dev/null \
		    --x509cafile ca.pem --x509certfile client.pem \
		    --x509keyfile client.key -p "$PORT" localhost \
		    >/dev/null 2>&1 || true
	done
	run curl -sS --max-time 5 --cacert ca.pem "${alice[@]}" \
	    -w '\n%{time_total}' --resolve "localhost:$PORT:127.0.0.1" \
	    "https://localhost:$PORT/"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = ok ]
	$PY -c 'import sys; sys.exit(float(sys.argv[1]) >= 2)' "${lines[-1]}"
	[ "$(grep -c 'certcookie: request .*: 400 end of input inside a request' "$LOG")" -eq 3 ]
	all_free
}

@test "--listen + certcookie: a silent, a slow and a half-answering backend: each client gets its answer or its end, the COMMANDs and slots come back" {
	local mode want code t
	for mode in silent slow half; do
		fault "$mode"
		PIDS+=("$FAULT_PID")
		listen "${SRV[@]}" -v --max-conns 2 -- "$CERTCOOKIE" \
		    --response-timeout 5 --connect "127.0.0.1:$FAULT_PORT"
		run curl -sS --max-time 20 --cacert ca.pem "${alice[@]}" \
		    -o /dev/null -w '%{http_code} %{time_total}' \
		    --resolve "localhost:$PORT:127.0.0.1" \
		    "https://localhost:$PORT/"
		echo "$mode: curl $status: $output"
		read -r code t <<<"${output##*$'\n'}"
		# 504 at --response-timeout; 200 after the backend's 3 s;
		# half a response head, then the end of the connection (which
		# curl 7.88 takes without complaint: its status is not ours).
		case $mode in
		silent) want=(0 504 4.5 10) ;;
		slow) want=(0 200 2.5 5) ;;
		half) want=("$status" 200 0 3) ;;
		esac
		[ "$status" -eq "${want[0]}" ]
		[ "$code" = "${want[1]}" ]
		# Seconds within [want[2], want[3]).
		$PY -c 'import sys; t, lo, hi = map(float, sys.argv[1:]); \
		    sys.exit(not lo <= t < hi)' "$t" "${want[2]}" "${want[3]}"
		all_free
	done
}
