# Shared by the bats files: paths, PKI, ports, servers.
bats_require_minimum_version 1.5.0
TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
CERTCOOKIE=$TOP/certcookie
TLSFRONT=$TOP/tlsfront
# Debian's python3, which has the packages tests/deps.sh installs.
PY=/usr/bin/python3
# SANITIZED: the binaries come from make sanitize (ASan and UBSan), which
# start about ten times slower.
SANITIZED=
if grep -q __asan_init "$CERTCOOKIE" 2>/dev/null; then
	SANITIZED=1
fi
# No test may hang the run: bats stops one that runs longer (seconds).
# The slowest take about a minute, several under make sanitize.
if [ -z "${BATS_TEST_TIMEOUT:-}" ]; then
	BATS_TEST_TIMEOUT=300
	if [ -n "$SANITIZED" ]; then
		BATS_TEST_TIMEOUT=900
	fi
fi

# The PKI of tests/pki.sh, made once per bats run.
pki() {
	PKI=$BATS_RUN_TMPDIR/pki
	sh "$TOP/tests/pki.sh" "$PKI" >&2
}

# A TCP port on 127.0.0.1 that nothing listens on now.  Another process
# may take it before the test's server binds it: start servers with
# listen_retry, which tries again on another port.
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_listen PID PORT: until PID listens on PORT (0), not in 20 s (1),
# or PID ended first (2); see tests/listening.py.
wait_listen() {
	$PY "$TOP/tests/listening.py" "$1" "$2"
}

# listen_retry FUNC [ARG...]: set PORT to a free port and run FUNC, which
# starts a server on PORT in the background and sets SERVER_PID; return
# once that server listens there.  A server that ends first, whose port
# another process took after free_port, is tried again on another port
# (5 times at most).
listen_retry() {
	local i st
	for i in 1 2 3 4 5; do
		PORT=$(free_port)
		SERVER_PID=
		"$@" || return
		st=0
		wait_listen "$SERVER_PID" "$PORT" || st=$?
		[ "$st" -eq 2 ] || return "$st"
		wait "$SERVER_PID" 2>/dev/null || :
		echo "server $SERVER_PID ended before listening on $PORT:" \
		    "another port" >&2
	done
	return 1
}

# closed_port: set CLOSED_PORT to a port of 127.0.0.1 that stays closed
# until stop_closed_port: a socket of ours is bound to it and does not
# listen, so a connection there is refused and a bind fails.
closed_port() {
	local pf=$BATS_TEST_TMPDIR/closed.port i
	rm -f "$pf"
	$PY -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)' "$pf" </dev/null >/dev/null 3>&- &
	CLOSED_PID=$!
	for i in $(seq 200); do [ -s "$pf" ] && break; sleep 0.05; done
	CLOSED_PORT=$(cat "$pf")
	[ -n "$CLOSED_PORT" ]
}

stop_closed_port() {
	if [ -n "${CLOSED_PID:-}" ]; then
		kill "$CLOSED_PID" 2>/dev/null || :
		wait "$CLOSED_PID" 2>/dev/null || :
	fi
	CLOSED_PID=
}

# tree PID: PID and all its descendants, parents first.
tree() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do tree "$c"; done
}

# kill_trees PID...: each PID and everything under it, then reap PIDs.
kill_trees() {
	local p all=()
	for p in "$@"; do all+=($(tree "$p")); done
	for p in "${all[@]}"; do kill "$p" 2>/dev/null || :; done
	for p in "$@"; do wait "$p" 2>/dev/null || :; done
}

# Wait until HOST PORT accepts a connection (20 s at most).
wait_port() {
	local i
	for i in $(seq 400); do
		$PY -c 'import socket,sys; socket.create_connection((sys.argv[1],int(sys.argv[2])),1)' "$1" "$2" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "nothing listens on $1 $2" >&2
	return 1
}

# fault MODE: a misbehaving backend, tests/fault.py MODE, on a port of its
# own choosing (it writes the port once it listens), its events logged to
# $FAULT_LOG if set; sets FAULT_PORT and FAULT_PID.
fault() {
	local pf i
	pf=$(mktemp "$BATS_TEST_TMPDIR/fault.XXXXXX")
	rm -f "$pf"
	$PY "$TOP/tests/fault.py" "$1" "$pf" ${FAULT_LOG:+"$FAULT_LOG"} 3>&- &
	FAULT_PID=$!
	for i in $(seq 200); do [ -s "$pf" ] && break; sleep 0.05; done
	FAULT_PORT=$(cat "$pf")
	[ -n "$FAULT_PORT" ]
}

# Start the echo backend on a free port: sets BACKEND_PORT, BACKEND_PID.
# It answers every request with a JSON description of what it received.
start_backend() {
	local pf=$BATS_TEST_TMPDIR/backend.port
	rm -f "$pf"
	$PY "$TOP/tests/backend.py" --port-file "$pf" "$@" 3>&- &
	BACKEND_PID=$!
	local i
	for i in $(seq 400); do [ -s "$pf" ] && break; sleep 0.05; done
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
