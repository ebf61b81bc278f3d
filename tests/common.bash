# Shared by the bats files: paths, PKI, ports, servers.
bats_require_minimum_version 1.5.0
TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
CERTCOOKIE=$TOP/certcookie
TLSFRONT=$TOP/tlsfront
# Debian's python3, which has the packages tests/deps.sh installs.
PY=/usr/bin/python3

# The PKI of tests/pki.sh, made once per bats run.
pki() {
	PKI=$BATS_RUN_TMPDIR/pki
	sh "$TOP/tests/pki.sh" "$PKI" >&2
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait until HOST PORT accepts a connection (5 s at most).
wait_port() {
	local i
	for i in $(seq 100); do
		$PY -c 'import socket,sys; socket.create_connection((sys.argv[1],int(sys.argv[2])),1)' "$1" "$2" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "nothing listens on $1 $2" >&2
	return 1
}

# Start the echo backend on a free port: sets BACKEND_PORT, BACKEND_PID.
# It answers every request with a JSON description of what it received.
start_backend() {
	local pf=$BATS_TEST_TMPDIR/backend.port
	rm -f "$pf"
	$PY "$TOP/tests/backend.py" --port-file "$pf" "$@" 3>&- &
	BACKEND_PID=$!
	local i
	for i in $(seq 100); do [ -s "$pf" ] && break; sleep 0.05; done
	BACKEND_PORT=$(cat "$pf")
	[ -n "$BACKEND_PORT" ]
}

stop_backend() {
	if [ -n "${BACKEND_PID:-}" ]; then
		kill "$BACKEND_PID" 2>/dev/null || true
		wait "$BACKEND_PID" 2>/dev/null || true
	fi
	BACKEND_PID=
}
