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
	with open(errfile, "w") as err:
	    p = subprocess.Popen(sys.argv[3:], stdin=c, stdout=c, stderr=err)
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
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}

# Server options shared by most tests.
SRV=(--cert server.pem --key server.key --ca ca.pem --crl crl.pem)

# listen ARGS...: tlsfront --listen on a free port of 127.0.0.1; sets PORT.
listen() {
	PORT=$(free_port)
	"$TLSFRONT" --listen "127.0.0.1:$PORT" "$@" </dev/null \
	    2>>"$BATS_TEST_TMPDIR/tlsfront.err" 3>&- &
	PIDS+=($!)
	TF_PID=$!
	wait_port 127.0.0.1 "$PORT"
}

# once ARGS...: tlsfront with a single inetd-style connection; sets PORT,
# ONCE_PID; `wait $ONCE_PID` gives tlsfront's exit status.
once() {
	local pf=$BATS_TEST_TMPDIR/once.port i
	rm -f "$pf"
	$PY "$SERVE_ONCE" "$pf" "$BATS_TEST_TMPDIR/once.err" \
	    "$TLSFRONT" "$@" </dev/null 3>&- &
	ONCE_PID=$!
	PIDS+=($!)
	for i in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
	PORT=$(cat "$pf")
}

# get [CURL-ARGS...]: an HTTPS request to localhost:$PORT as alice; the
# answer (tlsfront running env) in $output.
get() {
	run curl -sS --http0.9 --max-time 10 --cacert ca.pem \
	    --resolve "localhost:$PORT:127.0.0.1" "$@" "https://localhost:$PORT/"
}

alice=(--cert client.pem --key client.key)

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
