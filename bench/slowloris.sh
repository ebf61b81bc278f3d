#!/bin/sh
# TLS-level slowloris against tlsfront --listen: N TCP connections from
# 127.0.0.2 that never send a byte, then, while they are open, one curl
# with alice's certificate from 127.0.0.3.  Prints how long curl took,
# and the memory the tlsfront processes held meanwhile (sum of RSS and
# of PSS, from /proc/PID/smaps_rollup, accept loop, workers
# and COMMANDs).
#
#   bench/slowloris.sh [N] [TLSFRONT-OPTION...]
#   TLSFRONT=/path/to/old/tlsfront bench/slowloris.sh 300
#   DELAY=5 bench/slowloris.sh 300     # memory 5 s into the attack
#
# Not part of make check.  Loopback only; everything it starts it stops.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-300}
[ $# -gt 0 ] && shift
tf=$(realpath "${TLSFRONT:-$top/tlsfront}")	# it runs from a temporary directory
tmp=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do
		pkill -P "$p" 2>/dev/null || true
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
sh "$top/tests/pki.sh" "$tmp/pki" >/dev/null 2>&1
cd "$tmp/pki"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tf" --listen "127.0.0.1:$port" --cert server.pem --key server.key \
    --ca ca.pem "$@" -- sh -c 'echo served' </dev/null 2>"$tmp/err" &
tfpid=$!
pids="$tfpid"
for i in $(seq 100); do
	ss -Htln "( sport = :$port )" | grep -q . && break
	sleep 0.05
done

# The attackers: N silent connections from 127.0.0.2, held until killed.
python3 - "$port" "$n" >"$tmp/att" <<-'EOF' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    socks.append(s)
print("open", flush=True)
time.sleep(120)
EOF
attpid=$!
pids="$pids $attpid"
for i in $(seq 100); do [ -s "$tmp/att" ] && break; sleep 0.05; done

rss() {
	# Every process in tlsfront's tree: the loop, workers, COMMANDs.
	all=$(ps -e -o pid=,ppid= | awk -v root="$tfpid" '
	    { parent[$1] = $2 } END { for (p in parent) { q = p
	    while (q != "" && q != root && q > 1) q = parent[q]
	    if (q == root) print p } }')
	for p in $all; do
		cat "/proc/$p/smaps_rollup" 2>/dev/null
	done | awk -v np="$(echo "$all" | wc -w)" '
	    /^Rss:/ { r += $2 } /^Pss:/ { s += $2 }
	    END { printf "%d processes, RSS sum %.1f MB, PSS sum %.1f MB\n",
	    np, r / 1024, s / 1024 }'
}
echo "tlsfront: $($tf --version 2>/dev/null | head -1), $n silent connections from 127.0.0.2, options: $*"
# Memory DELAY seconds into the attack, while curl runs or waits.
(sleep "${DELAY:-2}"; rss >"$tmp/rss") &
sampler=$!
# At once, while all N are open.
out=$(curl -sS --http0.9 --max-time 30 --interface 127.0.0.3 --cacert ca.pem \
    --cert client.pem --key client.key -o /dev/null \
    -w '%{time_total} s (connect %{time_connect} s, TLS done %{time_appconnect} s)' \
    --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/" 2>&1) ||
    out="curl failed: $out"
echo "legitimate client from 127.0.0.3: $out"
wait "$sampler"
echo "${DELAY:-2} s into the attack: $(cat "$tmp/rss")"
