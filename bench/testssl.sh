#!/bin/sh
# Debian's testssl.sh against tlsfront --listen with its default TLS
# settings and --verify optional (so that testssl.sh, which has no client
# certificate, completes its handshakes).  COMMAND answers every
# connection with a small HTTP response, for the header checks.
#
#   bench/testssl.sh [TESTSSL-OPTION...]
#
# Exits 1 when testssl.sh reports anything "NOT ok" or vulnerable, 2 when
# it could not run; prints its findings either way.  Not part of make
# check: a run takes 5 to 15 minutes.  Loopback only; it stops what it
# starts.  The full output is left in bench/out/testssl.txt and .json.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tf=$(realpath "${TLSFRONT:-$top/tlsfront}")	# it runs from a temporary directory
if ! command -v testssl >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    testssl.sh >&2
	else
		echo "testssl.sh: not installed (apt-get install testssl.sh)" >&2
		exit 2
	fi
fi
out=$top/bench/out
mkdir -p "$out"
tmp=$(mktemp -d)
tfpid=
cleanup() {
	if [ -n "$tfpid" ]; then
		kill "$tfpid" 2>/dev/null || true
		wait "$tfpid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
sh "$top/tests/pki.sh" "$tmp/pki" >/dev/null 2>&1
cd "$tmp/pki"
# A server certificate as a public CA would issue it (a random serial, a
# CRL URI), so that the findings are about tlsfront, not the test PKI;
# testssl.sh is told to trust the test CA.
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
    --outfile site.key 2>/dev/null
printf '%s\n' 'cn = "localhost"' 'dns_name = "localhost"' tls_www_server \
    signing_key 'expiration_days = 90' \
    'crl_dist_points = "http://localhost/ca.crl"' >site.tmpl
certtool --generate-certificate --load-privkey site.key \
    --load-ca-certificate ca.pem --load-ca-privkey ca.key \
    --template site.tmpl --outfile site.pem 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tf" --listen "127.0.0.1:$port" --cert site.pem --key site.key \
    --ca ca.pem --verify optional -- sh -c 'printf "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"' \
    </dev/null 2>"$tmp/err" &
tfpid=$!
for i in $(seq 100); do
	ss -Htln "( sport = :$port )" | grep -q . && break
	sleep 0.05
done

rm -f "$out/testssl.json" "$out/testssl.txt"
st=0
timeout 1800 testssl --quiet --color 0 --warnings off --ip one \
    --add-ca "$tmp/pki/ca.pem" \
    --jsonfile "$out/testssl.json" "$@" "localhost:$port" \
    >"$out/testssl.txt" 2>&1 || st=$?
# testssl.sh's status counts findings too; its output tells.
if [ ! -s "$out/testssl.json" ]; then
	cat "$out/testssl.txt"
	echo "testssl.sh: did not run (status $st)" >&2
	exit 2
fi
grep -E 'Has server cipher order|Negotiated protocol|Negotiated cipher' \
    "$out/testssl.txt" || true
bad=$(grep -E 'NOT ok|VULNERABLE' "$out/testssl.txt" |
    grep -v 'not vulnerable' || true)
if [ -n "$bad" ]; then
	echo "testssl.sh: findings:"
	printf '%s\n' "$bad"
	exit 1
fi
echo "testssl.sh: nothing NOT ok, nothing vulnerable (output: bench/out/testssl.txt)"
