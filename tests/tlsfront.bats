#!/usr/bin/env bats
# tlsfront: the connection sources, client verification, the exported
# environment, protocol limits, SNI, PKCS#11, resumption, timeouts and
# the accept loop.  Every server runs on loopback and is stopped here.
load common
bats_require_minimum_version 1.5.0

setup_file() {
	pki
	export PKI
	# serve-once: accept one connection on 127.0.0.1 and run the command
	# with it on fds 0 and 1 (as inetd does); exit with its status.
	cat >"$BATS_FILE_TMPDIR/serve_once.py" <<-'EOF'
	import os, socket, subprocess, sys
	portfile, errfile = sys.argv[1], sys.argv[2]
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	s.listen(1)
	with open(portfile + ".tmp", "w") as f:
	    f.write("%d\n" % s.getsockname()[1])
	os.rename(portfile + ".tmp", portfile)
	c, _ = s.accept()
	s.close()
	# "-": stderr is the client socket too, as under inetd.
	with open(os.devnull if errfile == "-" else errfile, "w") as err:
	    p = subprocess.Popen(sys.argv[3:], stdin=c, stdout=c,
	        stderr=c if errfile == "-" else err)
	c.close()
	rc = p.wait()
	sys.exit(rc if rc >= 0 else 128 - rc)
	EOF
	export SERVE_ONCE=$BATS_FILE_TMPDIR/serve_once.py
}

setup() {
	PIDS=()
	cd "$PKI"
}

teardown() {
	# The workers of tlsfront's accept loop and their COMMANDs, too.
	kill_trees "${PIDS[@]}"
	stop_backend
}

# Server options shared by most tests.
SRV=(--cert server.pem --key server.key --ca ca.pem --crl crl.pem)

# listen ARGS...: tlsfront --listen on a free port of 127.0.0.1; sets
# PORT and TF_PID once tlsfront listens there.
listen() {
	listen_retry listen_at 127.0.0.1 "$@"
	TF_PID=$SERVER_PID
}

# listen_at ADDR ARGS...: tlsfront --listen ADDR:$PORT in the background.
listen_at() {
	local addr=$1
	shift
	"$TLSFRONT" --listen "$addr:$PORT" "$@" </dev/null \
	    2>>"$BATS_TEST_TMPDIR/tlsfront.err" 3>&- &
	PIDS+=($!)
	SERVER_PID=$!
}

# exits STATUS ARGS...: tlsfront --listen on a free port of 127.0.0.1
# with ARGS exits with STATUS, output in $output.  It binds first, then
# reads its files: a port taken meanwhile (71, "Address already in
# use") gives another try.  timeout: a tlsfront that serves fails.
exits() {
	local want=$1 i
	shift
	for i in 1 2 3 4 5; do
		run timeout 20 "$TLSFRONT" --listen "127.0.0.1:$(free_port)" "$@"
		[ "$status" -eq 71 ] &&
		    [[ "$output" == *"Address already in use"* ]] || break
	done
	[ "$status" -eq "$want" ] ||
	    { echo "exit status $status, not $want: $output"; return 1; }
}

# workers_idle PID: wait (20 s at most) until every worker of the accept
# loop PID has told it that its connection is done, so that the next
# connection goes to one of them: its connection thread is back in
# recvmsg(2), waiting for the next (after 250 ms of idleness), and its
# COMMAND has ended.  Until then the loop counts the worker busy.
workers_idle() {
	local i w t nr sc busy idle
	case $(uname -m) in
	x86_64) nr=47 ;;
	aarch64|riscv64) nr=212 ;;
	*) sleep 1; return 0 ;;
	esac
	for i in $(seq 400); do
		busy=
		for w in $(pgrep -P "$1"); do
			idle=
			for t in /proc/"$w"/task/*; do
				read -r sc _ <"$t/syscall" 2>/dev/null || continue
				[ "$sc" = "$nr" ] && idle=1
			done
			[ -n "$idle" ] && ! pgrep -P "$w" >/dev/null || busy=$w
		done
		[ -z "$busy" ] && return 0
		sleep 0.05
	done
	echo "worker $busy still busy" >&2
	return 1
}

# once ARGS...: tlsfront with a single inetd-style connection; sets PORT,
# ONCE_PID; `wait $ONCE_PID` gives tlsfront's exit status.  With
# ONCE_ERR=-, fd 2 is the connection too.
once() {
	local pf=$BATS_TEST_TMPDIR/once.port i
	rm -f "$pf"
	$PY "$SERVE_ONCE" "$pf" "${ONCE_ERR:-$BATS_TEST_TMPDIR/once.err}" \
	    "$TLSFRONT" "$@" </dev/null 3>&- &
	ONCE_PID=$!
	PIDS+=($!)
	for i in $(seq 400); do [ -s "$pf" ] && break; sleep 0.05; done
	PORT=$(cat "$pf")
	[ -n "$PORT" ]
}

# get [CURL-ARGS...]: an HTTPS request to localhost:$PORT as alice; the
# answer (tlsfront running env) in $output.
get() {
	run curl -sS --http0.9 --max-time 10 --cacert ca.pem \
	    --resolve "localhost:$PORT:127.0.0.1" "$@" "https://localhost:$PORT/"
}

alice=(--cert client.pem --key client.key)

# novar NAME: $output has no variable NAME.
novar() {
	! var "$1" >/dev/null
}

# The value of variable $1 in $output (env's), one line.
var() {
	local line
	while IFS= read -r line; do
		case $line in "$1="*) printf '%s\n' "${line#*=}"; return 0 ;; esac
	done <<<"$output"
	return 1
}

@test "--listen: alice's certificate is verified and exported" {
	listen "${SRV[@]}" -- env
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	[ "$(var SSL_CLIENT_S_DN)" = "CN=alice,O=Example" ]
	[ "$(var SSL_CLIENT_I_DN)" = "CN=Test CA,O=certcookie tests" ]
	[ "$(var SSL_CLIENT_M_SERIAL)" = 1234 ]
	[ "$(var SSL_CLIENT_SAN_Email_0)" = alice@example.org ]
	[ "$(var SSL_PROTOCOL)" = TLSv1.3 ]
	[ "$(var SSL_TLS_SNI)" = localhost ]
	[ "$(var SSL_SESSION_RESUMED)" = Initial ]
	[ "$(var REMOTE_ADDR)" = 127.0.0.1 ]
	[ "$(var SERVER_PORT)" = "$PORT" ]
	[[ "$(var SSL_CIPHER)" == TLS_*_GCM_* || "$(var SSL_CIPHER)" == TLS_CHACHA20* ]]
	# The dates as mod_ssl prints them.
	[[ "$(var SSL_CLIENT_V_END)" =~ ^[A-Z][a-z][a-z]\ [\ 1-3][0-9]\ [0-9:]{8}\ 20[0-9]{2}\ GMT$ ]]
	# The PEM is alice's certificate, byte for byte once decoded.
	local pem
	pem=$(printf '%s\n' "$output" | sed -n '/^SSL_CLIENT_CERT=/,/END CERTIFICATE/p' |
	    sed 's/^SSL_CLIENT_CERT=//')
	[ "$(printf '%s\n' "$pem" | certtool --certificate-info --outder | sha256sum)" = \
	    "$(sha256sum <client.der)" ]
}

# once_status: wait for the tlsfront of once(); its exit status in ST.
once_status() {
	ST=0
	wait "$ONCE_PID" || ST=$?
}

@test "inetd (fd 0): require without a certificate: refused, status 77" {
	once "${SRV[@]}" -- env
	get
	[ "$status" -ne 0 ]
	once_status
	[ "$ST" -eq 77 ]
	grep -q 'no client certificate' "$BATS_TEST_TMPDIR/once.err"
}

@test "inetd: a certificate from another CA: refused, status 77" {
	once "${SRV[@]}" -- env
	get --cert fakeclient.pem --key fakeclient.key
	[ "$status" -ne 0 ]
	once_status
	[ "$ST" -eq 77 ]
	grep -q 'unable to get local issuer certificate' "$BATS_TEST_TMPDIR/once.err"
}

@test "inetd: an expired certificate: refused, status 77" {
	once "${SRV[@]}" -- env
	get --cert expired.pem --key expired.key
	[ "$status" -ne 0 ]
	once_status
	[ "$ST" -eq 77 ]
	grep -q 'certificate has expired' "$BATS_TEST_TMPDIR/once.err"
}

@test "inetd: a not yet valid certificate: refused, status 77" {
	once "${SRV[@]}" -- env
	get --cert future.pem --key future.key
	[ "$status" -ne 0 ]
	once_status
	[ "$ST" -eq 77 ]
	grep -q 'certificate is not yet valid' "$BATS_TEST_TMPDIR/once.err"
}

@test "inetd: a revoked certificate (CRL): refused, status 77" {
	once "${SRV[@]}" -- env
	get --cert revoked.pem --key revoked.key
	[ "$status" -ne 0 ]
	once_status
	[ "$ST" -eq 77 ]
	grep -q 'certificate revoked' "$BATS_TEST_TMPDIR/once.err"
}

@test "inetd: the revoked certificate passes without the CRL (control)" {
	once --cert server.pem --key server.key --ca ca.pem -- env
	get --cert revoked.pem --key revoked.key
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	[ "$(var SSL_CLIENT_S_DN)" = CN=mallory ]
	once_status
	[ "$ST" -eq 0 ]
}

@test "inetd: the exit status is COMMAND's own" {
	once "${SRV[@]}" -- sh -c 'echo hi; exit 42'
	get "${alice[@]}"
	[ "$output" = hi ]
	once_status
	[ "$ST" -eq 42 ]
}

@test "inetd: COMMAND runs in tlsfront's own pid, and the relay is not its child" {
	# The supervisor (here serve_once.py) is COMMAND's parent; pgrep,
	# exec'd in COMMAND's pid, lists that pid's children: none.
	once "${SRV[@]}" -- sh -c 'echo "ppid=$PPID"; exec pgrep -a -P $$'
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$output" = "ppid=$ONCE_PID" ]
	once_status
	# pgrep: 1, nothing matched.
	[ "$ST" -eq 1 ]
}

@test "optional: no certificate passes with SSL_CLIENT_VERIFY=NONE" {
	listen "${SRV[@]}" --verify optional -- env
	get
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = NONE ]
	novar SSL_CLIENT_CERT
	novar SSL_CLIENT_S_DN
	get "${alice[@]}"
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
}

@test "optional: a certificate that fails is still refused" {
	once "${SRV[@]}" --verify optional -- env
	get --cert fakeclient.pem --key fakeclient.key
	[ "$status" -ne 0 ]
	once_status
	[ "$ST" -eq 77 ]
}

@test "optional-no-ca: failures reach COMMAND as FAILED:reason" {
	listen "${SRV[@]}" --verify optional-no-ca -- env
	get --cert fakeclient.pem --key fakeclient.key
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = "FAILED:unable to get local issuer certificate" ]
	[ "$(var SSL_CLIENT_S_DN)" = "CN=alice,O=Example" ]
	var SSL_CLIENT_CERT
	get --cert expired.pem --key expired.key
	[ "$(var SSL_CLIENT_VERIFY)" = "FAILED:certificate has expired" ]
	get --cert revoked.pem --key revoked.key
	[ "$(var SSL_CLIENT_VERIFY)" = "FAILED:certificate revoked" ]
	get "${alice[@]}"
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	get
	[ "$(var SSL_CLIENT_VERIFY)" = NONE ]
}

@test "--verify none: no certificate asked for, none exported" {
	listen --cert server.pem --key server.key -- env
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = NONE ]
	novar SSL_CLIENT_CERT
}

@test "inherited SSL_* and CGI variables never reach COMMAND" {
	SSL_CLIENT_VERIFY=SUCCESS SSL_CLIENT_S_DN=CN=admin SSL_CLIENT_CERT=x \
	    SSL_FOO=bar REMOTE_ADDR=10.9.9.9 SERVER_PORT=1 KEEP_ME=yes \
	    listen --cert server.pem --key server.key --ca ca.pem \
	    --verify optional -- env
	get
	[ "$status" -eq 0 ]
	[ "$(var KEEP_ME)" = yes ]
	[ "$(var SSL_CLIENT_VERIFY)" = NONE ]
	[ "$(var REMOTE_ADDR)" = 127.0.0.1 ]
	[ "$(var SERVER_PORT)" = "$PORT" ]
	novar SSL_CLIENT_S_DN
	novar SSL_CLIENT_CERT
	novar SSL_FOO
	novar LISTEN_FDS
	[ "$(printf '%s\n' "$output" | grep -c '^SSL_')" -eq 5 ]
}

@test "SANs and the serial as mod_ssl has them" {
	listen "${SRV[@]}" -- env
	get --cert bob.pem --key bob.key
	[ "$(var SSL_CLIENT_S_DN)" = "CN=bob,O=Example" ]
	[ "$(var SSL_CLIENT_M_SERIAL)" = FF ]
	[ "$(var SSL_CLIENT_SAN_DNS_0)" = bob.example.org ]
	[ "$(var SSL_CLIENT_SAN_DNS_1)" = www.bob.example.org ]
	[ "$(var SSL_CLIENT_SAN_Email_0)" = bob@example.org ]
	novar SSL_CLIENT_SAN_DNS_2
}

# cli ARGS...: gnutls-cli as alice to localhost:$PORT, stdin empty.
cli() {
	run timeout 10 gnutls-cli --x509cafile ca.pem --x509certfile client.pem \
	    --x509keyfile client.key -p "$PORT" "$@" localhost </dev/null
}

@test "TLS 1.0 and 1.1 clients are refused, TLS 1.2 passes" {
	listen "${SRV[@]}" -- env
	cli --priority NORMAL:-VERS-ALL:+VERS-TLS1.0
	[ "$status" -ne 0 ]
	[[ "$output" != *SSL_PROTOCOL* ]]
	cli --priority NORMAL:-VERS-ALL:+VERS-TLS1.1
	[ "$status" -ne 0 ]
	[[ "$output" != *SSL_PROTOCOL* ]]
	cli --priority NORMAL:-VERS-ALL:+VERS-TLS1.2
	[ "$status" -eq 0 ]
	[[ "$output" == *SSL_PROTOCOL=TLSv1.2* ]]
}

@test "a CBC-only client is refused with status 76" {
	once "${SRV[@]}" -- env
	cli --priority NORMAL:-VERS-TLS1.3:-CIPHER-ALL:+AES-128-CBC:+AES-256-CBC
	[ "$status" -ne 0 ]
	[[ "$output" != *SSL_PROTOCOL* ]]
	once_status
	[ "$ST" -eq 76 ]
}

@test "ALPN: an h2-only client is refused, h2 or http/1.1 gets http/1.1" {
	listen "${SRV[@]}" -- env
	cli --alpn h2
	[ "$status" -ne 0 ]
	[[ "$output" == *"No supported application protocol"* ]]
	cli --alpn h2 --alpn http/1.1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Application protocol: http/1.1"* ]]
	[[ "$output" == *SSL_PROTOCOL=TLSv1.3* ]]
	# No ALPN at all is fine too.
	cli
	[ "$status" -eq 0 ]
	[[ "$output" == *SSL_PROTOCOL=TLSv1.3* ]]
}

@test "SNI picks the certificate; the first is the default" {
	listen --cert server.pem --key server.key --cert server2.pem \
	    --key server2.key -- env
	run timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -servername other.test \
	    -ign_eof </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"subject=CN = other.test"* ]]
	[[ "$output" == *SSL_TLS_SNI=other.test* ]]
	run timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost \
	    -ign_eof </dev/null
	[[ "$output" == *"subject=CN = localhost"* ]]
	[[ "$output" == *SSL_TLS_SNI=localhost* ]]
	run timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -noservername \
	    -ign_eof </dev/null
	[[ "$output" == *"subject=CN = localhost"* ]]
	[[ "$output" != *SSL_TLS_SNI* ]]
	run timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -servername unknown.test \
	    -ign_eof </dev/null
	[[ "$output" == *"subject=CN = localhost"* ]]
	[[ "$output" == *SSL_TLS_SNI=unknown.test* ]]
	# And curl verifies each name against its own certificate.
	run curl -sS --max-time 10 --http0.9 --cacert ca.pem \
	    --resolve "other.test:$PORT:127.0.0.1" "https://other.test:$PORT/"
	[ "$status" -eq 0 ]
	[[ "$output" == *SSL_TLS_SNI=other.test* ]]
}

# activate ARGS...: systemd-socket-activate on a free port; sets PORT.
activate() {
	listen_retry activate_at "$@"
}

activate_at() {
	systemd-socket-activate -l "127.0.0.1:$PORT" "$@" </dev/null \
	    2>>"$BATS_TEST_TMPDIR/activate.err" 3>&- &
	PIDS+=($!)
	SERVER_PID=$!
}

@test "systemd-socket-activate --inetd -a: one tlsfront per connection" {
	activate --inetd -a "$TLSFRONT" "${SRV[@]}" -- env
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	[ "$(var SERVER_PORT)" = "$PORT" ]
	novar LISTEN_FDS
	get
	[ "$status" -ne 0 ]
}

@test "systemd-socket-activate -a: LISTEN_FDS with a connected socket" {
	activate -a "$TLSFRONT" "${SRV[@]}" -- env
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	[ "$(var SSL_CLIENT_S_DN)" = "CN=alice,O=Example" ]
	novar LISTEN_FDS
	novar LISTEN_PID
}

@test "systemd-socket-activate without -a: tlsfront's own accept loop" {
	activate "$TLSFRONT" "${SRV[@]}" -- env
	local i
	for i in 1 2 3; do
		get "${alice[@]}"
		[ "$status" -eq 0 ]
		[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
		novar LISTEN_FDS
	done
}

@test "--listen on IPv6 [::1]" {
	listen_retry listen_at '[::1]' "${SRV[@]}" -- env
	run curl -sS --max-time 10 --http0.9 --cacert ca.pem "${alice[@]}" "https://[::1]:$PORT/"
	[ "$status" -eq 0 ]
	[ "$(var REMOTE_ADDR)" = ::1 ]
	[ "$(var SERVER_ADDR)" = ::1 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
}

@test "a key in SoftHSM2 through a pkcs11: URL" {
	export SOFTHSM2_CONF=$BATS_TEST_TMPDIR/softhsm2.conf
	mkdir "$BATS_TEST_TMPDIR/tokens"
	echo "directories.tokendir = $BATS_TEST_TMPDIR/tokens" >"$SOFTHSM2_CONF"
	softhsm2-util --init-token --free --label tlsfront --pin 1234 \
	    --so-pin 5678 >/dev/null
	GNUTLS_PIN=1234 p11tool --login --write --label srv \
	    --load-privkey server.key "pkcs11:token=tlsfront" >/dev/null
	# A wrong object is an unusable key: 78.
	exits 78 --cert server.pem \
	    --key "pkcs11:token=tlsfront;object=nothere;pin-value=1234" -- env
	listen --cert server.pem \
	    --key "pkcs11:token=tlsfront;object=srv;pin-value=1234" \
	    --ca ca.pem -- env
	# Twice: the second connection's child also signs with the token.
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	# The PIN from a file (pin-source), not on the command line.
	printf 1234 >"$BATS_TEST_TMPDIR/pin"
	listen --cert server.pem --ca ca.pem \
	    --key "pkcs11:token=tlsfront;object=srv?pin-source=$BATS_TEST_TMPDIR/pin" \
	    -- env
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
}

# sclient PORT ARGS...: openssl s_client as alice, reading to the end.
sclient() {
	local port=$1
	shift
	run timeout 20 openssl s_client -connect "127.0.0.1:$port" -CAfile ca.pem \
	    -cert client.pem -key client.key -ign_eof "$@" </dev/null
}

@test "resumption across two processes sharing --ticket-key" {
	local key=$BATS_TEST_TMPDIR/ticket.key sess=$BATS_TEST_TMPDIR/sess
	run "$TLSFRONT" --new-ticket-key "$key"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$key")" = 600 ]
	# Never overwritten.
	run -73 "$TLSFRONT" --new-ticket-key "$key"
	local tls
	for tls in -tls1_3 -tls1_2; do
		rm -f "$sess"
		listen "${SRV[@]}" --ticket-key "$key" -- env
		local a=$PORT
		listen "${SRV[@]}" --ticket-key "$key" -- env
		local b=$PORT
		sclient "$a" "$tls" -sess_out "$sess"
		[[ "$output" == *"New, TLSv1."* ]]
		[[ "$output" == *SSL_SESSION_RESUMED=Initial* ]]
		sclient "$b" "$tls" -sess_in "$sess"
		[[ "$output" == *"Reused, TLSv1."* ]]
		[[ "$output" == *SSL_SESSION_RESUMED=Resumed* ]]
		[[ "$output" == *SSL_CLIENT_VERIFY=SUCCESS* ]]
		[[ "$output" == *"SSL_CLIENT_S_DN=CN=alice,O=Example"* ]]
		[[ "$output" == *"SSL_CLIENT_CERT=-----BEGIN CERTIFICATE-----"* ]]
	done
}

@test "no resumption across processes with their own random keys" {
	local sess=$BATS_TEST_TMPDIR/sess
	listen "${SRV[@]}" -- env
	local a=$PORT
	listen "${SRV[@]}" -- env
	sclient "$a" -sess_out "$sess"
	[[ "$output" == *SSL_SESSION_RESUMED=Initial* ]]
	sclient "$PORT" -sess_in "$sess"
	[[ "$output" == *"New, TLSv1.3"* ]]
	[[ "$output" == *SSL_SESSION_RESUMED=Initial* ]]
	[[ "$output" == *SSL_CLIENT_VERIFY=SUCCESS* ]]
}

@test "a silent client is closed after the handshake timeout (76)" {
	once "${SRV[@]}" --handshake-timeout 1 -- env
	local t0=$SECONDS
	run timeout 20 $PY -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(repr(s.recv(100)))' "$PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "b''" ]
	[ $((SECONDS - t0)) -le 5 ]
	once_status
	[ "$ST" -eq 76 ]
}

@test "an idle connection is closed after the idle timeout" {
	listen "${SRV[@]}" --idle-timeout 1 -- sleep 30
	# A client that neither sends nor closes: the end must come from
	# tlsfront, 1 s after the handshake, not before.
	run timeout 20 $PY -c "$(client_py)
a = conn(int(sys.argv[1]), timeout=15)
t0 = time.monotonic()
try:
    b = a.recv(100)
except (ConnectionResetError, ssl.SSLEOFError):
    b = b''
print(repr(b), '%.2f' % (time.monotonic() - t0))" "$PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	local got t
	read -r got t <<<"$output"
	[ "$got" = "b''" ]
	# Not before the second, and not long after it.
	[ "$($PY -c 'import sys; print(0.95 <= float(sys.argv[1]) <= 5)' "$t")" = True ]
}

@test "half-close: client close_notify is EOF to COMMAND, its output still arrives" {
	listen "${SRV[@]}" -- sh -c 'wc -c; echo after-eof'
	run timeout 10 gnutls-cli --x509cafile ca.pem --x509certfile client.pem \
	    --x509keyfile client.key -p "$PORT" localhost <<<"hello world"
	[ "$status" -eq 0 ]
	[[ "$output" == *"12"*after-eof* ]]
}

# client.py: Python's ssl as alice, for tests that hold connections.
client_py() {
	cat <<-'EOF2'
	import os, signal, socket, ssl, sys, time
	ctx = ssl.create_default_context(cafile="ca.pem")
	ctx.load_cert_chain("client.pem", "client.key")
	ctx.check_hostname = False
	def conn(port, timeout=10):
	    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
	    t = ctx.wrap_socket(s, server_hostname="localhost")
	    return t
	def subject(t):
	    return dict(x[0] for x in t.getpeercert()["subject"])["commonName"]
	def ask(t, line):
	    t.sendall(line.encode() + b"\n")
	    out = b""
	    while True:
	        b = t.recv(4096)
	        if not b:
	            return out.decode()
	        out += b
	EOF2
}

@test "SIGTERM: no new connections, running ones finish, then exit 0" {
	listen "${SRV[@]}" -- sh -c 'read x; echo "got $x"'
	run timeout 20 $PY -c "$(client_py)
port, pid = int(sys.argv[1]), int(sys.argv[2])
a = conn(port)
os.kill(pid, signal.SIGTERM)
for i in range(100):
    try:
        socket.create_connection(('127.0.0.1', port), 1).close()
    except (ConnectionRefusedError, ConnectionResetError):
        # Refused, or reset: a probe still in the accept queue when
        # the listening socket closed (accept is deferred until data).
        break
    time.sleep(0.05)
else:
    sys.exit('still accepting')
print(ask(a, 'hello'))" "$PORT" "$TF_PID"
	[ "$status" -eq 0 ]
	[ "$output" = "got hello" ]
	local st=0
	wait "$TF_PID" || st=$?
	[ "$st" -eq 0 ]
}

@test "SIGHUP reloads the certificate; open connections stay" {
	local d=$BATS_TEST_TMPDIR
	cp server.pem "$d/srv.pem"
	cp server.key "$d/srv.key"
	listen --cert "$d/srv.pem" --key "$d/srv.key" --ca ca.pem -- \
	    sh -c 'read x; echo "got $x"'
	run timeout 20 $PY -c "$(client_py)
port, pid, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
a = conn(port)
assert subject(a) == 'localhost', subject(a)
# A broken file first: the old credentials stay.
open(d + '/srv.pem', 'w').write('garbage')
os.kill(pid, signal.SIGHUP)
for i in range(20):
    b = conn(port)
    assert subject(b) == 'localhost'
    b.close()
os.system('cp server2.pem %s/srv.pem; cp server2.key %s/srv.key' % (d, d))
os.kill(pid, signal.SIGHUP)
for i in range(100):
    b = conn(port)
    s = subject(b)
    b.close()
    if s == 'other.test':
        break
    time.sleep(0.05)
else:
    sys.exit('not reloaded')
print(ask(a, 'hello'))" "$PORT" "$TF_PID" "$d"
	[ "$status" -eq 0 ]
	[ "$output" = "got hello" ]
	grep -q 'reload failed' "$d/tlsfront.err"
}

@test "--max-conns: the next handshake waits for a free slot" {
	listen "${SRV[@]}" -v --max-conns 1 -- sh -c 'read x; echo "got $x"'
	run timeout 30 $PY -c "$(client_py)
port = int(sys.argv[1])
a = conn(port)
# The second sends its hello (TCP_DEFER_ACCEPT queues it only then) and
# gets no answer: it waits in the accept queue, not in a slow worker.
try:
    conn(port, timeout=1)
    sys.exit('second connection served')
except (socket.timeout, TimeoutError):
    pass
queued = [int(l.split()[4].split(':')[1], 16)
    for l in open('/proc/net/tcp').read().splitlines()[1:]
    if l.split()[1] == '0100007F:%04X' % port and l.split()[3] == '0A']
if queued != [1]:
    sys.exit('accept queue: %r' % queued)
s = socket.create_connection(('127.0.0.1', port))
print(ask(a, 'one'), end='')
b = ctx.wrap_socket(s, server_hostname='localhost')
print(ask(b, 'two'), end='')" "$PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "got one
got two" ]
	grep -q '1 connections: not accepting more' "$BATS_TEST_TMPDIR/tlsfront.err"
}

@test "--max-conns: a COMMAND still running 5 s after its connection is killed, its slot comes back" {
	listen "${SRV[@]}" --max-conns 1 -- \
	    sh -c 'read x; echo "$x $$"; exec sleep 60 <&- >&-'
	run timeout 30 $PY -c "$(client_py)
port = int(sys.argv[1])
one = ask(conn(port), 'one').split()
t0 = time.monotonic()
two = ask(conn(port, timeout=15), 'two').split()
t = time.monotonic() - t0
if not 4 <= t <= 9:
    sys.exit('second served after %.1f s' % t)
try:
    os.kill(int(one[1]), 0)
    sys.exit('first COMMAND still running')
except ProcessLookupError:
    pass
print(one[0], two[0])" "$PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "one two" ]
	grep -q 'still running 5 s after its connection ended: killed' \
	    "$BATS_TEST_TMPDIR/tlsfront.err"
}

@test "usage errors exit 64, unusable files 78, a missing COMMAND 127" {
	run -64 "$TLSFRONT" --cert server.pem
	[[ "$output" == *"no COMMAND"* ]]
	exits 64 -- env
	[[ "$output" == *"no --cert"* ]]
	run -64 "$TLSFRONT" --cert server.pem --verify maybe -- env
	run -64 "$TLSFRONT" --cert server.pem --verify require -- env
	run -64 "$TLSFRONT" --cert server.pem --handshake-timeout 0 -- env
	run -64 "$TLSFRONT" --cert server.pem --key a --key b -- env
	run -64 "$TLSFRONT" --cert server.pem --priority NORMAL:+NONSENSE -- env
	run -64 "$TLSFRONT" --cert server.pem -- env </dev/null
	[[ "$output" == *"no connection"* ]]
	exits 78 --cert server.pem --key client.key -- env </dev/null
	exits 78 --cert server.pem --key server.key --ca nothere.pem \
	    -- env </dev/null
	exits 78 --cert server.pem --key server.key --ca ca.pem \
	    --crl server.pem -- env </dev/null
	exits 78 --cert server.pem --key server.key --ticket-key ca.pem \
	    -- env </dev/null
	once "${SRV[@]}" -- /nonexistent/cmd
	get "${alice[@]}"
	once_status
	[ "$ST" -eq 127 ]
	once "${SRV[@]}" -- "$PKI/ca.pem"
	get "${alice[@]}"
	once_status
	[ "$ST" -eq 126 ]
}

@test "COMMAND's own options reach it intact" {
	listen "${SRV[@]}" -- sh -c 'echo "$@"' sh -v --cert -- x
	get "${alice[@]}"
	[ "$output" = "-v --cert -- x" ]
}

# The whole chain: tlsfront -> certcookie -> the echo backend.
chain() {
	start_backend
	listen "$@" -- "$CERTCOOKIE" --connect "127.0.0.1:$BACKEND_PORT"
}

@test "chain: keep-alive requests each carry alice's CERT, forged ones never arrive" {
	chain "${SRV[@]}"
	run timeout 20 $PY -c "$(client_py)
import http.client, json
c = http.client.HTTPSConnection('127.0.0.1', int(sys.argv[1]), context=ctx)
for i, cookie in enumerate(['CERT=forged', 'a=1; CERT=forged; cert=x', None]):
    h = {'Cookie': cookie} if cookie else {}
    c.request('GET', '/r%d' % i, headers=h)
    r = c.getresponse()
    d = json.loads(r.read())
    print(d['path'], d['cookies'].get('CERT', '')[:12], d.get('cert_der_sha256'),
        sorted(d['cookies']))
print('one connection:', c.sock is not None)" "$PORT"
	[ "$status" -eq 0 ]
	local sha
	sha=$(sha256sum <client.der | cut -d' ' -f1)
	[[ "${lines[0]}" == "/r0 MII"*" $sha ['CERT']" ]]
	[[ "${lines[1]}" == "/r1 MII"*" $sha ['CERT', 'a']" ]]
	[[ "${lines[2]}" == "/r2 MII"*" $sha ['CERT']" ]]
	[ "${lines[3]}" = "one connection: True" ]
	[[ "$output" != *forged* ]]
}

@test "chain: curl --cert, forged cookie replaced; without a cert nothing passes" {
	chain "${SRV[@]}" --verify optional
	get "${alice[@]}" -b 'CERT=forged'
	[ "$status" -eq 0 ]
	local sha
	sha=$(sha256sum <client.der | cut -d' ' -f1)
	[[ "$output" == *"\"cert_der_sha256\": \"$sha\""* ]]
	[[ "$output" != *forged* ]]
	get -b 'CERT=forged'
	[ "$status" -eq 0 ]
	[[ "$output" == *'"cookies": {}'* ]]
	[[ "$output" != *forged* ]]
	[[ "$output" != *cert_der_sha256* ]]
}

@test "chain: optional-no-ca forwards FAILED:reason in CERT_VERIFY" {
	start_backend
	listen "${SRV[@]}" --verify optional-no-ca -- "$CERTCOOKIE" --fields \
	    --allow-unverified --connect "127.0.0.1:$BACKEND_PORT"
	get --cert fakeclient.pem --key fakeclient.key
	[ "$status" -eq 0 ]
	[[ "$output" == *'"CERT_VERIFY": "FAILED%3Aunable%20to%20get%20local%20issuer%20certificate"'* ]]
	local sha
	sha=$(certtool --certificate-info --outder <fakeclient.pem | sha256sum |
	    cut -d' ' -f1)
	[[ "$output" == *"\"cert_der_sha256\": \"$sha\""* ]]
}

@test "chain: optional-no-ca without --allow-unverified forwards no certificate" {
	chain "${SRV[@]}" --verify optional-no-ca
	get --cert fakeclient.pem --key fakeclient.key
	[ "$status" -eq 0 ]
	[[ "$output" == *'"path": "/"'* ]]
	[[ "$output" != *cert_der_sha256* ]]
	get "${alice[@]}"
	[[ "$output" == *cert_der_sha256* ]]
}

@test "chain: a resumed session still sends the CERT cookie" {
	local key=$BATS_TEST_TMPDIR/ticket.key sess=$BATS_TEST_TMPDIR/sess
	"$TLSFRONT" --new-ticket-key "$key"
	chain "${SRV[@]}" --ticket-key "$key"
	local a=$PORT
	listen "${SRV[@]}" --ticket-key "$key" -- "$CERTCOOKIE" \
	    --connect "127.0.0.1:$BACKEND_PORT"
	local req='GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	run timeout 20 openssl s_client -connect "127.0.0.1:$a" -CAfile ca.pem \
	    -cert client.pem -key client.key -ign_eof -sess_out "$sess" \
	    < <(printf "$req")
	[[ "$output" == *"New, TLSv1.3"* ]]
	run timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -CAfile ca.pem \
	    -ign_eof -sess_in "$sess" < <(printf "$req")
	[[ "$output" == *"Reused, TLSv1.3"* ]]
	local sha
	sha=$(sha256sum <client.der | cut -d' ' -f1)
	[[ "$output" == *"\"cert_der_sha256\": \"$sha\""* ]]
}

@test "chain: 1 GiB upload and 1 GiB download arrive intact" {
	chain "${SRV[@]}"
	local n=$((1 << 30)) up=$BATS_TEST_TMPDIR/up.bin
	head -c "$n" /dev/urandom >"$up"
	run curl -sS --max-time 120 -H "Expect:" --cacert ca.pem \
	    --cert client.pem --key client.key -T "$up" "https://127.0.0.1:$PORT/up"
	[ "$status" -eq 0 ]
	[[ "$output" == *"\"body_len\": $n,"* ]]
	[[ "$output" == *"\"body_sha256\": \"$(sha256sum <"$up" | cut -d' ' -f1)\""* ]]
	rm -f "$up"
	local want got
	want=$($PY -c 'import hashlib
c = bytes(range(256)) * 256
h = hashlib.sha256()
for i in range(16384): h.update(c)
print(h.hexdigest())')
	got=$(curl -sS --max-time 120 --cacert ca.pem --cert client.pem \
	    --key client.key "https://127.0.0.1:$PORT/download?n=$n" |
	    sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ]
}

@test "inetd with fd 2 on the socket: no plaintext ever reaches the client" {
	# A silent client: the handshake times out and tlsfront logs it.
	ONCE_ERR=- once "${SRV[@]}" -v -v -v --handshake-timeout 1 -- env
	run timeout 10 $PY -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
out = b""
while True:
    try:
        b = s.recv(4096)
    except ConnectionResetError:
        break
    if not b:
        break
    out += b
print(repr(out))' "$PORT"
	[ "$status" -eq 0 ]
	[ "$output" = "b''" ]
	once_status
	[ "$ST" -eq 76 ]
	# COMMAND's stderr goes into the TLS stream, not around it.
	ONCE_ERR=- once "${SRV[@]}" -- sh -c 'echo to-stderr >&2; echo to-stdout'
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[[ "$output" == *to-stderr*to-stdout* ]] || [[ "$output" == *to-stdout*to-stderr* ]]
}

@test "--user: COMMAND runs as that user, keys were read before" {
	id nobody >/dev/null
	cp server.key "$BATS_TEST_TMPDIR/root-only.key"
	chmod 600 "$BATS_TEST_TMPDIR/root-only.key"
	listen --cert server.pem --key "$BATS_TEST_TMPDIR/root-only.key" \
	    --ca ca.pem --user nobody -- sh -c 'id -u; id -g'
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(id -u nobody)" ]
	[ "${lines[1]}" = "$(id -g nobody)" ]
	exits 64 --cert server.pem --key server.key \
	    --user no-such-user-here -- env </dev/null
}

@test "chain: --chain sends the chain alice presented as CERT_CHAIN" {
	start_backend
	listen "${SRV[@]}" -- "$CERTCOOKIE" --chain \
	    --connect "127.0.0.1:$BACKEND_PORT"
	cat client.pem ca.pem >"$BATS_TEST_TMPDIR/chain.pem"
	get --cert "$BATS_TEST_TMPDIR/chain.pem" --key client.key \
	    -b 'CERT_CHAIN=forged'
	[ "$status" -eq 0 ]
	local sha
	sha=$(sha256sum <client.der | cut -d' ' -f1)
	[[ "$output" == *"\"cert_der_sha256\": \"$sha\""* ]]
	[[ "$output" != *forged* ]]
	# CERT_CHAIN: the CA's DER, the one certificate after alice's.
	[ "$($PY -c 'import base64, hashlib, json, sys
v = json.load(sys.stdin)["cookies"]["CERT_CHAIN"]
print(hashlib.sha256(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))).hexdigest())' \
	    <<<"$output")" = "$(certtool --certificate-info --outder <ca.pem |
	    sha256sum | cut -d' ' -f1)" ]
}

# helper MODE: a server of tests/proxy_client.py (serve-ws, serve-connect)
# on 127.0.0.1; sets HELPER_PORT.
helper() {
	local pf=$BATS_TEST_TMPDIR/helper.port i
	rm -f "$pf"
	$PY "$TOP/tests/proxy_client.py" "$1" "$pf" </dev/null 3>&- &
	PIDS+=($!)
	for i in $(seq 400); do [ -s "$pf" ] && break; sleep 0.05; done
	HELPER_PORT=$(cat "$pf")
	[ -n "$HELPER_PORT" ]
}

# tls_cmd: a netcat-style TLS client as alice to tlsfront on $PORT, for
# tests/proxy_client.py's own clients.
tls_cmd() {
	TLS_CMD=(socat - "OPENSSL:127.0.0.1:$PORT,cafile=$PKI/ca.pem,cert=$PKI/client.pem,key=$PKI/client.key,commonname=localhost")
}

@test "chain: a WebSocket behind TLS, the handshake with alice's CERT" {
	helper serve-ws
	listen "${SRV[@]}" -- "$CERTCOOKIE" --connect "127.0.0.1:$HELPER_PORT"
	tls_cmd
	run timeout 30 $PY "$TOP/tests/proxy_client.py" ws 'CERT=forged; a=1' \
	    -- "${TLS_CMD[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	local b64
	b64=$($PY -c 'import base64, sys
print(base64.urlsafe_b64encode(open(sys.argv[1], "rb").read()).rstrip(b"=").decode())' client.der)
	[ "$(jq -r .server_saw_cookie <<<"$output")" = "a=1; CERT=$b64" ]
	[ "$(jq -r .echo_text <<<"$output")" = hello ]
	[ "$(jq -r .echo_binary_ok <<<"$output")" = true ]
	[ "$(jq -r .echo_last <<<"$output")" = bye ]
}

@test "chain: CONNECT behind TLS with --allow-connect, then raw bytes both ways" {
	helper serve-connect
	listen "${SRV[@]}" -- "$CERTCOOKIE" --allow-connect \
	    --connect "127.0.0.1:$HELPER_PORT"
	tls_cmd
	local req=$BATS_TEST_TMPDIR/req
	printf 'CONNECT ok:1 HTTP/1.1\r\nHost: ok:1\r\n\r\n' >"$req"
	printf 'raw GET / HTTP/1.1\r\nCookie: CERT=tunnelled\r\n\r\n' >"$req.2"
	run timeout 30 $PY "$TOP/tests/proxy_client.py" run "$req" \
	    "$BATS_TEST_TMPDIR/raw" --then "$req.2" -- "${TLS_CMD[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.responses[0].status' <<<"$output")" = 200 ]
	[ "$(jq -r '.responses[0].body' <<<"$output")" = "$(cat "$req.2")" ]
	# Without --allow-connect: 405, and the backend sees nothing.
	listen "${SRV[@]}" -- "$CERTCOOKIE" --connect "127.0.0.1:$HELPER_PORT"
	tls_cmd
	run timeout 30 $PY "$TOP/tests/proxy_client.py" run "$req" \
	    "$BATS_TEST_TMPDIR/raw" -- "${TLS_CMD[@]}"
	echo "$output"
	[ "$(jq -r '.responses[0].status' <<<"$output")" = 405 ]
}

@test "chain: Expect: 100-continue behind TLS; another expectation gets the backend's 417" {
	chain "${SRV[@]}"
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/body"
	run --separate-stderr curl -sS -v --max-time 20 --expect100-timeout 15 \
	    -H 'Expect: 100-continue' --cacert ca.pem "${alice[@]}" \
	    --data-binary @"$BATS_TEST_TMPDIR/body" "https://127.0.0.1:$PORT/up"
	[ "$status" -eq 0 ]
	# The backend's 100 came back through, then the body went.
	[[ "$stderr" == *"< HTTP/1.1 100 Continue"* ]]
	[[ "$output" == *'"body_len": 100000,'* ]]
	[[ "$output" == *"\"body_sha256\": \"$(sha256sum <"$BATS_TEST_TMPDIR/body" | cut -d' ' -f1)\""* ]]
	[[ "$output" == *cert_der_sha256* ]]
	# certcookie has no 417 of its own: the field passes, the backend
	# refuses it, and its answer reaches the client.
	run curl -sS --max-time 20 -o /dev/null -w '%{http_code}' \
	    -H 'Expect: something-else' --cacert ca.pem "${alice[@]}" \
	    "https://127.0.0.1:$PORT/"
	[ "$status" -eq 0 ]
	[ "$output" = 417 ]
}

@test "chain with a connector COMMAND: certcookie -- nc" {
	start_backend
	listen "${SRV[@]}" -- "$CERTCOOKIE" -- nc -N 127.0.0.1 "$BACKEND_PORT"
	get "${alice[@]}" -b 'CERT=forged'
	[ "$status" -eq 0 ]
	local sha
	sha=$(sha256sum <client.der | cut -d' ' -f1)
	[[ "$output" == *"\"cert_der_sha256\": \"$sha\""* ]]
	[[ "$output" != *forged* ]]
}

@test "the client's chain is exported as SSL_CLIENT_CERT_CHAIN_n" {
	cat client.pem ca.pem >"$BATS_TEST_TMPDIR/chain.pem"
	listen "${SRV[@]}" -- env
	run timeout 10 gnutls-cli --x509cafile ca.pem \
	    --x509certfile "$BATS_TEST_TMPDIR/chain.pem" \
	    --x509keyfile client.key -p "$PORT" localhost </dev/null
	[ "$status" -eq 0 ]
	local pem
	pem=$(printf '%s\n' "$output" |
	    sed -n '/^SSL_CLIENT_CERT_CHAIN_0=/,/END CERTIFICATE/p' |
	    sed 's/^SSL_CLIENT_CERT_CHAIN_0=//')
	[ "$(printf '%s\n' "$pem" | certtool --certificate-info --outder | sha256sum)" = \
	    "$(certtool --certificate-info --outder <ca.pem | sha256sum)" ]
	[[ "$output" != *SSL_CLIENT_CERT_CHAIN_1=* ]]
	[[ "$output" == *"SSL_CLIENT_S_DN=CN=alice,O=Example"* ]]
}

@test "half-close: COMMAND's EOF is close_notify, the client may still send" {
	local got=$BATS_TEST_TMPDIR/late
	listen "${SRV[@]}" -- $PY -c '
import socket, sys
s = socket.socket(fileno=1)
s.sendall(b"first\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
open(sys.argv[1], "wb").write(data)' "$got"
	run timeout 20 $PY -c "$(client_py)
a = conn(int(sys.argv[1]))
out = b''
while True:
    b = a.recv(4096)
    if not b:
        break
    out += b
print(out.decode(), end='')
a.sendall(b'late data\n')
a.unwrap().close()" "$PORT"
	[ "$status" -eq 0 ]
	[ "$output" = first ]
	local i
	for i in $(seq 100); do [ -s "$got" ] && break; sleep 0.05; done
	[ "$(cat "$got")" = "late data" ]
}

@test "SIGHUP reloads the CRL: a newly revoked certificate is refused" {
	local d=$BATS_TEST_TMPDIR
	printf '%s\n' 'crl_next_update = 30' 'crl_number = 1' >"$d/crl.tmpl"
	certtool --generate-crl --load-ca-privkey ca.key \
	    --load-ca-certificate ca.pem --template "$d/crl.tmpl" \
	    --outfile "$d/crl.pem" 2>/dev/null
	listen --cert server.pem --key server.key --ca ca.pem \
	    --crl "$d/crl.pem" -- env
	get --cert revoked.pem --key revoked.key
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	cp crl.pem "$d/crl.pem"
	kill -HUP "$TF_PID"
	local i
	for i in $(seq 100); do
		get --cert revoked.pem --key revoked.key
		[ "$status" -ne 0 ] && break
		sleep 0.05
	done
	[ "$status" -ne 0 ]
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
}

@test "-v: one line per connection with peer, SNI, protocol, verify, bytes" {
	listen "${SRV[@]}" -v -- sh -c 'head -c 5 >/dev/null; printf 1234567'
	run timeout 10 gnutls-cli --x509cafile ca.pem --x509certfile client.pem \
	    --x509keyfile client.key -p "$PORT" localhost <<<"abcd"
	[ "$status" -eq 0 ]
	local log=$BATS_TEST_TMPDIR/tlsfront.err i
	# (wait_port's probe made a "handshake failed" line before.)
	for i in $(seq 100); do grep -q ' ok$' "$log" && break; sleep 0.05; done
	run grep ' sni=localhost' "$log"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" =~ ^tlsfront:\ 127\.0\.0\.1:[0-9]+\ sni=localhost\ TLSv1\.3\ TLS_[A-Z0-9_]+\ new\ verify=SUCCESS\ subject=\"CN=alice,O=Example\"\ in=5\ out=7\ time=[0-9.]+s\ ok$ ]]
	# Certificates and cookies are never logged below -vvv.
	run grep -c 'BEGIN CERTIFICATE' "$log"
	[ "$output" = 0 ]
}

@test "SIGHUP keeps the random ticket key: sessions resume after a reload" {
	local sess=$BATS_TEST_TMPDIR/sess
	listen "${SRV[@]}" -v -- env
	sclient "$PORT" -sess_out "$sess"
	[[ "$output" == *SSL_SESSION_RESUMED=Initial* ]]
	kill -HUP "$TF_PID"
	local log=$BATS_TEST_TMPDIR/tlsfront.err i
	for i in $(seq 100); do grep -q reloaded "$log" && break; sleep 0.05; done
	grep -q reloaded "$log"
	sclient "$PORT" -sess_in "$sess"
	[[ "$output" == *"Reused, TLSv1.3"* ]]
	[[ "$output" == *SSL_SESSION_RESUMED=Resumed* ]]
	[[ "$output" == *SSL_CLIENT_VERIFY=SUCCESS* ]]
}

@test "chain with nc: a 256 MiB chunked upload arrives intact" {
	start_backend
	listen "${SRV[@]}" -- "$CERTCOOKIE" -- nc -N 127.0.0.1 "$BACKEND_PORT"
	local n=$((256 << 20)) up=$BATS_TEST_TMPDIR/up.bin
	head -c "$n" /dev/urandom >"$up"
	# From a pipe: curl does not know the length and sends it chunked.
	run bash -c 'curl -sS --max-time 60 -H "Expect:" --cacert ca.pem \
	    --cert client.pem --key client.key -T - "https://127.0.0.1:$1/up" <"$2"' \
	    _ "$PORT" "$up"
	[ "$status" -eq 0 ]
	[[ "$output" == *"\"body_len\": $n,"* ]]
	[[ "$output" == *"\"body_sha256\": \"$(sha256sum <"$up" | cut -d' ' -f1)\""* ]]
	[[ "$output" == *cert_der_sha256* ]]
	[[ "$output" == *'"chunked"'* ]]
	rm -f "$up"
}

@test "--alpn '': no ALPN at all, an h2-only client is not refused" {
	listen "${SRV[@]}" --alpn '' -- env
	cli --alpn h2
	[ "$status" -eq 0 ]
	[[ "$output" != *"Application protocol:"* ]]
	[[ "$output" == *SSL_PROTOCOL=TLSv1.3* ]]
}

@test "several --listen addresses in one process" {
	local P6
	# P6: the second port, found anew on each try of listen_retry.
	listen_two() {
		P6=$(free_port)
		listen_at 127.0.0.1 --listen "[::1]:$P6" "$@"
	}
	listen_retry listen_two "${SRV[@]}" -- env
	wait_listen "$SERVER_PID" "$P6"
	run curl -sS --max-time 10 --http0.9 --cacert ca.pem "${alice[@]}" \
	    "https://127.0.0.1:$PORT/"
	[ "$status" -eq 0 ]
	[ "$(var REMOTE_ADDR)" = 127.0.0.1 ]
	run curl -sS --max-time 10 --http0.9 --cacert ca.pem "${alice[@]}" \
	    "https://[::1]:$P6/"
	[ "$status" -eq 0 ]
	[ "$(var REMOTE_ADDR)" = ::1 ]
}

@test "--listen '*:PORT': IPv4 and IPv6 alike on one socket" {
	listen_retry listen_at '*' "${SRV[@]}" -- env
	run curl -sS --max-time 10 --http0.9 --cacert ca.pem "${alice[@]}" \
	    "https://127.0.0.1:$PORT/"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	[ "$(var REMOTE_ADDR)" = 127.0.0.1 ]
	run curl -sS --max-time 10 --http0.9 --cacert ca.pem "${alice[@]}" \
	    "https://[::1]:$PORT/"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	[ "$(var REMOTE_ADDR)" = ::1 ]
}

@test "LISTEN_FDS for another process (LISTEN_PID) is ignored" {
	LISTEN_FDS=1 LISTEN_PID=1 listen "${SRV[@]}" -- env
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	novar LISTEN_FDS
	novar LISTEN_PID
}

@test "TLS 1.2 renegotiation is refused: the identity cannot change" {
	listen "${SRV[@]}" -- cat
	cli --priority NORMAL:-VERS-ALL:+VERS-TLS1.2 --rehandshake
	[ "$status" -ne 0 ]
	[[ "$output" == *"ReHandshake has failed"* ]]
}

@test "inetd: the relay refuses a TLS 1.2 renegotiation and follows a TLS 1.3 key update" {
	once "${SRV[@]}" -- cat
	cli --priority NORMAL:-VERS-ALL:+VERS-TLS1.2 --rehandshake
	[ "$status" -ne 0 ]
	[[ "$output" == *"ReHandshake has failed"* ]]
	once_status
	[ "$ST" -eq 0 ]
	# TLS 1.3: --rehandshake is a key update, both ways.
	once "${SRV[@]}" -- cat
	run timeout 10 gnutls-cli --x509cafile ca.pem --x509certfile client.pem \
	    --x509keyfile client.key -p "$PORT" \
	    --priority NORMAL:-VERS-ALL:+VERS-TLS1.3 --rehandshake localhost \
	    <<<"after the update"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ReHandshake was completed"*"after the update"* ]]
	once_status
	[ "$ST" -eq 0 ]
}

@test "a client sending its hello a byte at a time is cut at the handshake timeout" {
	once "${SRV[@]}" --handshake-timeout 1 -- env
	run timeout 20 $PY -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.2)
t0 = time.time()
hello = bytes.fromhex("16030100c8010000c40303") + bytes(190)
try:
    for b in hello:
        s.send(bytes([b]))
        try:
            if s.recv(100) == b"":
                break
        except socket.timeout:
            pass
except (BrokenPipeError, ConnectionResetError):
    pass
print(round(time.time() - t0))' "$PORT"
	[ "$status" -eq 0 ]
	[ "$output" -le 3 ]
	once_status
	[ "$ST" -eq 76 ]
	grep -q 'timed out' "$BATS_TEST_TMPDIR/once.err"
}

@test "make GNUTLS_STATIC=1: tlsfront without libgnutls.so verifies alice" {
	[ -e "$(${CC:-cc} -print-file-name=libgnutls.a)" ] ||
	    skip "no libgnutls.a"
	local d=$BATS_TEST_TMPDIR/static
	mkdir -p "$d/lib"
	cp "$TOP/Makefile" "$TOP/tlsfront.c" "$TOP/certcookie.c" "$d/"
	cp "$TOP"/lib/*.[ch] "$d/lib/"
	run make -C "$d" GNUTLS_STATIC=1 tlsfront
	[ "$status" -eq 0 ]
	run ldd "$d/tlsfront"
	[[ "$output" != *libgnutls* ]]
	# lib/cert.c's weak references to GnuTLS are bound in the binary:
	# the fields never load a second, shared GnuTLS.
	run nm "$d/tlsfront"
	[[ "$output" == *" T gnutls_x509_crt_get_serial"* ]]
	[[ "$output" != *" w gnutls_"* ]]
	TLSFRONT=$d/tlsfront listen "${SRV[@]}" -- env
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	[ "$(var SSL_CLIENT_S_DN)" = "CN=alice,O=Example" ]
	[ "$(var SSL_CLIENT_M_SERIAL)" = 1234 ]
}

@test "--listen: a worker serves connection after connection, each with only its own variables" {
	listen "${SRV[@]}" --verify optional -- sh -c 'echo "WORKER=$PPID"; env'
	get "${alice[@]}" -H 'Host: first'
	[ "$status" -eq 0 ]
	local first
	first=$(var WORKER)
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	[ "$(var SSL_CLIENT_S_DN)" = "CN=alice,O=Example" ]
	# The connections run in the worker's second thread (its own
	# malloc arena); the first waits for it.
	[ "$(ls "/proc/$first/task" | wc -l)" -eq 2 ]
	# The next connection, without a certificate, in the same worker.
	workers_idle "$TF_PID"
	get
	[ "$status" -eq 0 ]
	[ "$(var WORKER)" = "$first" ]
	[ "$(var SSL_CLIENT_VERIFY)" = NONE ]
	novar SSL_CLIENT_CERT
	novar SSL_CLIENT_S_DN
	novar SSL_CLIENT_M_SERIAL
	# SSL_CLIENT_VERIFY alone: nothing of alice's is left.
	[ "$(grep -c '^SSL_CLIENT_' <<<"$output")" -eq 1 ]
	# A failed handshake does not cost the worker either.
	workers_idle "$TF_PID"
	get --cert fakeclient.pem --key fakeclient.key
	[ "$status" -ne 0 ]
	workers_idle "$TF_PID"
	get "${alice[@]}"
	[ "$(var WORKER)" = "$first" ]
	[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	[ "$(grep -c '^SSL_CLIENT_CERT=' <<<"$output")" -eq 1 ]
}

@test "SIGHUP reloads the CRL: a resumed session of a revoked certificate is refused" {
	local d=$BATS_TEST_TMPDIR sess=$BATS_TEST_TMPDIR/sess
	printf '%s\n' 'crl_next_update = 30' 'crl_number = 1' >"$d/crl.tmpl"
	certtool --generate-crl --load-ca-privkey ca.key \
	    --load-ca-certificate ca.pem --template "$d/crl.tmpl" \
	    --outfile "$d/crl.pem" 2>/dev/null
	listen --cert server.pem --key server.key --ca ca.pem \
	    --crl "$d/crl.pem" -v -- env
	local tls
	for tls in -tls1_3 -tls1_2; do
		sclient "$PORT" "$tls" -cert revoked.pem -key revoked.key \
		    -sess_out "$sess.$tls"
		[[ "$output" == *SSL_SESSION_RESUMED=Initial* ]]
		[[ "$output" == *SSL_CLIENT_VERIFY=SUCCESS* ]]
		# Resumed: verified again, successfully.
		sclient "$PORT" "$tls" -cert revoked.pem -key revoked.key \
		    -sess_in "$sess.$tls"
		[[ "$output" == *"Reused, TLSv1."* ]]
		[[ "$output" == *SSL_SESSION_RESUMED=Resumed* ]]
		[[ "$output" == *SSL_CLIENT_VERIFY=SUCCESS* ]]
	done
	# The ticket key outlives the reload; the verdict does not.
	cp crl.pem "$d/crl.pem"
	kill -HUP "$TF_PID"
	local log=$d/tlsfront.err i
	for i in $(seq 100); do grep -q reloaded "$log" && break; sleep 0.05; done
	grep -q reloaded "$log"
	for tls in -tls1_3 -tls1_2; do
		sclient "$PORT" "$tls" -cert revoked.pem -key revoked.key \
		    -sess_in "$sess.$tls"
		[[ "$output" == *"Reused, TLSv1."* ]]
		[[ "$output" != *SSL_CLIENT_VERIFY* ]]
	done
	[ "$(grep -c 'client certificate: FAILED:certificate revoked' "$log")" -eq 2 ]
	sclient "$PORT"
	[[ "$output" == *SSL_CLIENT_VERIFY=SUCCESS* ]]
}

@test "--listen: a worker verifies a client's chain once, the next connections reuse it" {
	listen "${SRV[@]}" -v -v -- env
	local i
	# A process's first chain is not kept (inetd sees only one): the
	# second is, and the third and fourth find it.
	for i in 1 2 3 4; do
		workers_idle "$TF_PID"
		get "${alice[@]}"
		[ "$status" -eq 0 ]
		[ "$(var SSL_CLIENT_VERIFY)" = SUCCESS ]
	done
	local log=$BATS_TEST_TMPDIR/tlsfront.err
	[ "$(grep -c 'handshake done:.*verify=SUCCESS$' "$log")" -eq 2 ]
	[ "$(grep -c 'verify=SUCCESS (verified before)' "$log")" -eq 2 ]
	# Never a failure: a revoked certificate is refused every time.
	for i in 1 2; do
		get --cert revoked.pem --key revoked.key
		[ "$status" -ne 0 ]
	done
	[ "$(grep -c 'client certificate: FAILED:certificate revoked' "$log")" -eq 2 ]
}

# bss_rss PID SYMBOL: resident KiB of the mapping of tlsfront (process
# PID) that holds the static SYMBOL.
bss_rss() {
	local pid=$1 off base addr line lo hi hit=0
	off=$(nm "$TLSFRONT" | awk -v s="$2" '$3 == s { print $1; exit }')
	base=$(awk -v f="$(realpath "$TLSFRONT")" '$6 == f { print $1; exit }' \
	    "/proc/$pid/maps")
	[ -n "$off" ] && [ -n "$base" ] || return 1
	addr=$(( 0x${base%%-*} + 0x$off ))
	while read -r line; do
		if [[ $line =~ ^([0-9a-f]+)-([0-9a-f]+)\  ]]; then
			lo=$(( 0x${BASH_REMATCH[1]} )) hi=$(( 0x${BASH_REMATCH[2]} ))
			hit=$(( addr >= lo && addr < hi ))
		elif [ "$hit" = 1 ] && [[ $line =~ ^Rss:\ +([0-9]+) ]]; then
			echo "${BASH_REMATCH[1]}"
			return 0
		fi
	done <"/proc/$pid/smaps"
	return 1
}

@test "--listen: a connection idle for a moment gives its relay buffers back" {
	listen "${SRV[@]}" -- sh -c 'head -c 3000000 /dev/zero; exec sleep 30'
	local out=$BATS_TEST_TMPDIR/out w= i
	# -quiet implies -ign_eof: it holds the connection open, idle.
	timeout 60 openssl s_client -connect "127.0.0.1:$PORT" -CAfile ca.pem \
	    -cert client.pem -key client.key -quiet </dev/null >"$out" \
	    2>/dev/null &
	PIDS+=($!)
	for i in $(seq 400); do
		[ "$(stat -c %s "$out")" -ge 3000000 ] && break
		sleep 0.05
	done
	[ "$(stat -c %s "$out")" -eq 3000000 ]
	# The worker relaying: the one whose COMMAND still runs.
	for i in $(pgrep -P "$TF_PID"); do
		! pgrep -P "$i" >/dev/null || w=$i
	done
	[ -n "$w" ]
	# 3 MB went through 64 KiB buffers; now the connection is idle,
	# and 250 ms later the buffers go.
	for i in $(seq 400); do
		run bss_rss "$w" n2a
		[ "$status" -eq 0 ]
		[ "$output" -lt 40 ] && break
		sleep 0.05
	done
	echo "relay buffers resident: $output KiB"
	[ "$output" -lt 40 ]
	pkill -P "$w"
}

@test "--listen: COMMAND starts with SIGPIPE and SIGHUP at their defaults and no signal blocked" {
	# Not a shell: dash clears its signal mask when it starts.
	listen "${SRV[@]}" -- grep -E '^Sig(Ign|Blk):' /proc/self/status
	get "${alice[@]}"
	[ "$status" -eq 0 ]
	local ign blk
	ign=$(awk '$1 == "SigIgn:" { print $2 }' <<<"$output")
	blk=$(awk '$1 == "SigBlk:" { print $2 }' <<<"$output")
	[ -n "$ign" ] && [ -n "$blk" ]
	# Bit 0 is SIGHUP, bit 12 SIGPIPE: both ignored in the worker.
	[ $(( 0x$ign & 0x1001 )) -eq 0 ]
	[ $(( 0x$blk )) -eq 0 ]
}

@test "--listen: a COMMAND that cannot be executed is logged, and the worker goes on" {
	listen "${SRV[@]}" -- /nonexistent/cmd
	local i w
	for i in 1 2; do
		workers_idle "$TF_PID"
		get "${alice[@]}"
		[ "$status" -ne 0 ]
	done
	[ "$(grep -c 'exec /nonexistent/cmd: No such file or directory' \
	    "$BATS_TEST_TMPDIR/tlsfront.err")" -eq 2 ]
	# One worker served both, and left no zombie behind.
	w=$(pgrep -P "$TF_PID")
	[ "$(wc -w <<<"$w")" -eq 1 ]
	[ -z "$(pgrep -P "$w")" ]
}
