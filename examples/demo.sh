#!/bin/sh
# make demo: a throwaway CA, server and client certificate in demo/pki, a
# small backend (examples/backends/python/app.py) and tlsfront -> certcookie
# in front of it on 127.0.0.1, then curl --cert twice: once plain, once with
# a forged CERT cookie.  Shows what the backend received, stops everything
# it started, and prints the command to try it by hand.
# The Makefile builds first; run as "make demo".  DEMO_DIR (default demo)
# is where the certificates and logs go.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${DEMO_DIR:-$top/demo}
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
d=${dir#"$top"/}	# as shown to the user
py=/usr/bin/python3
pids=

cleanup() {
	for pid in $pids; do
		kill "$pid" 2>/dev/null || :
	done
	for pid in $pids; do
		wait "$pid" 2>/dev/null || :
	done
	pids=
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	$py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve FUNC LOG: FUNC PORT starts a server on 127.0.0.1 PORT in the
# background.  Try free ports until the server listens on one (another
# process may take a port first; tests/listening.py tells them apart),
# 5 times at most.  Sets port.
serve() {
	for i in 1 2 3 4 5; do
		port=$(free_port)
		"$1" "$port"
		pids="$pids $!"
		st=0
		$py "$top/tests/listening.py" "$!" "$port" || st=$?
		[ $st -eq 0 ] && return 0
		[ $st -eq 2 ] || break
	done
	echo "demo: no server listens on 127.0.0.1; see $2" >&2
	exit 1
}

backend() {
	PORT=$1 $py "$top/examples/backends/python/app.py" \
	    >"$dir/backend.log" 2>&1 &
}

front() {
	"$top/tlsfront" --listen "127.0.0.1:$1" --cert "$pki/server.pem" \
	    --key "$pki/server.key" --ca "$pki/ca.pem" -- \
	    "$top/certcookie" --connect "127.0.0.1:$bport" \
	    2>"$dir/tlsfront.log" &
}

mkdir -p "$dir"
echo "== certificates (a throwaway CA, server and client) in $d/pki"
sh "$top/tests/pki.sh" "$dir/pki"
pki=$dir/pki

serve backend "$d/backend.log"
bport=$port
serve front "$d/tlsfront.log"
fport=$port

echo "== backend (plain HTTP) on 127.0.0.1:$bport," \
    "tlsfront on 127.0.0.1:$fport"
echo
echo "\$ curl --cert $d/pki/client.pem --key $d/pki/client.key" \
    "--cacert $d/pki/ca.pem https://localhost:$fport/"
curl -sS --cert "$pki/client.pem" --key "$pki/client.key" \
    --cacert "$pki/ca.pem" "https://localhost:$fport/"
echo
echo "\$ curl ... -b 'CERT=forged; theme=dark' https://localhost:$fport/" \
    "  (the forged CERT never arrives)"
curl -sS --cert "$pki/client.pem" --key "$pki/client.key" \
    --cacert "$pki/ca.pem" -b 'CERT=forged; theme=dark' \
    "https://localhost:$fport/"

cleanup
echo
echo "== all stopped.  Try it by hand (then the curl lines above, on port" \
    "8443):"
echo "PORT=8080 python3 examples/backends/python/app.py &" \
    "./tlsfront --listen 127.0.0.1:8443 --cert $d/pki/server.pem" \
    "--key $d/pki/server.key --ca $d/pki/ca.pem --" \
    "./certcookie --connect 127.0.0.1:8080"
