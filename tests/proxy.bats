#!/usr/bin/env bats
# certcookie in proxy mode against real backends: tests/backend.py
# (Python's http.server and http.cookies), a websockets server and a
# server that refuses upgrades with 426, through nc, socat and the
# built-in --connect.  tests/proxy_client.py is the client on
# certcookie's stdin and stdout.
load common

CERT=$TOP/tests/data/cert.pem
CLIENT=$TOP/tests/proxy_client.py

setup_file() {
	local der=$BATS_FILE_TMPDIR/cert.der
	certtool --certificate-info --infile "$CERT" --outder \
	    --outfile "$der" 2>/dev/null
	export CERT_SHA=$(sha256sum <"$der" | cut -d' ' -f1)
	export CERT_B64=$($PY -c 'import base64,sys
print(base64.urlsafe_b64encode(open(sys.argv[1],"rb").read()).rstrip(b"=").decode())' "$der")
	export CERT_STD=$(base64 -w0 <"$der")
}

setup() {
	unset SSL_CLIENT_CERT SSL_CLIENT_VERIFY
	REQ=$BATS_TEST_TMPDIR/req
	RAW=$BATS_TEST_TMPDIR/raw
	start_backend
	SERVER_PID=
}

teardown() {
	stop_backend || true
	stop_closed_port
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	return 0
}

# client [--keep-open] [--heads=I,J] -- CERTCOOKIE-ARGS...: send $REQ
# through certcookie --cert-file $CERT ARGS; JSON in $output.
client() {
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	run --separate-stderr $PY "$CLIENT" run "$REQ" "$RAW" "${opts[@]}" \
	    -- "$CERTCOOKIE" --cert-file "$CERT" "$@"
	[ "$status" -eq 0 ] || { echo "client failed: $stderr"; return 1; }
	[ "$(q .timeout)" = false ] || { echo "timed out"; return 1; }
}

# q JQ-FILTER: query the client's JSON output.
q() {
	jq -r "$1" <<<"$output"
}

# Start a helper server of proxy_client.py: sets SERVER_PORT.
start_server() {
	local pf=$BATS_TEST_TMPDIR/server.port
	$PY "$CLIENT" "$1" "$pf" 3>&- &
	SERVER_PID=$!
	local i
	for i in $(seq 200); do [ -s "$pf" ] && break; sleep 0.05; done
	SERVER_PORT=$(cat "$pf")
	[ -n "$SERVER_PORT" ]
}

GET='GET / HTTP/1.1\r\nHost: a\r\n'

@test "nc: the backend's http.cookies reads CERT, the client's certificate" {
	printf "GET /one HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\n\r\n" >"$REQ"
	client -- -- nc -N 127.0.0.1 "$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses | length')" = 1 ]
	[ "$(q '.responses[0].status')" = 200 ]
	[ "$(q '.responses[0].json.path')" = /one ]
	[ "$(q '.responses[0].json.cookies.a')" = 1 ]
	[ "$(q '.responses[0].json.cookies.CERT')" = "$CERT_B64" ]
	[ "$(q '.responses[0].json.cert_der_sha256')" = "$CERT_SHA" ]
}

@test "socat: pipelined requests each carry CERT; forged copies never arrive" {
	printf "$GET\r\n" >"$REQ"
	printf "${GET}Cookie: CERT=evil1\r\n\r\n" >>"$REQ"
	printf "${GET}cookie: a=1, CERT=evil2\r\nCookie: b=2 cert=evil3\r\n\r\n" \
	    >>"$REQ"
	printf "${GET}Cookie: %%43ERT=evil4; CERT[x]=evil5; c=3\r\n\r\n" \
	    >>"$REQ"
	printf "${GET}Client-Cert: :ZXZpbDY=:\r\nCookie: CERT_VERIFY=evil7\r\n\r\n" \
	    >>"$REQ"
	client -- -- socat - "TCP:127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses | length')" = 5 ]
	[ "$(q '[.responses[] | select(.status == 200 and
	    .json.cert_der_sha256 == env.CERT_SHA)] | length')" = 5 ]
	[ "$(q '.responses[3].json.cookies.c')" = 3 ]
	# The backend echoes every header it got: no forged value is there.
	run grep -c evil "$RAW"
	[ "$output" = 0 ]
}

@test "--connect: bodies pass byte for byte, in a pipeline" {
	$PY -c '
import sys
body = bytes(range(256)) * 300
chunks = b"".join(b"%x\r\n" % len(c) + c + b"\r\n"
    for c in (body[:1000], body[1000:50000], body[50000:]))
sys.stdout.buffer.write(
    b"POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body)
    + body + b"POST /chunked HTTP/1.1\r\nHost: a\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\nX-T: 1\r\n\r\n"
    + b"GET /last HTTP/1.1\r\nHost: a\r\n\r\n")
' >"$REQ"
	sha=$($PY -c 'import hashlib
print(hashlib.sha256(bytes(range(256)) * 300).hexdigest())')
	client -- --connect "127.0.0.1:$BACKEND_PORT"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses | length')" = 3 ]
	[ "$(q '.responses[0].json.body_len')" = 76800 ]
	[ "$(q '.responses[0].json.body_sha256')" = "$sha" ]
	[ "$(q '.responses[1].json.path')" = /chunked ]
	[ "$(q '.responses[1].json.body_len')" = 76800 ]
	[ "$(q '.responses[1].json.body_sha256')" = "$sha" ]
	[ "$(q '.responses[2].json.path')" = /last ]
	[ "$(q '[.responses[].json.cert_der_sha256 == env.CERT_SHA] | all')" = true ]
}

@test "responses reach the client byte for byte, as the backend sent them" {
	printf 'GET /download?n=3000000 HTTP/1.1\r\nHost: a\r\n\r\n' >"$REQ"
	# The same requests straight to the backend.
	$PY -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read())
s.shutdown(socket.SHUT_WR)
out = open(sys.argv[3], "wb")
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    out.write(b)
' "$BACKEND_PORT" "$REQ" "$BATS_TEST_TMPDIR/direct"
	client -- --connect "127.0.0.1:$BACKEND_PORT"
	echo "exit $(q .exit): $stderr"
	[ "$(q .exit)" = 0 ]
	[ "$(q '[.responses[].status] | join(",")')" = 200 ]
	[ "$(q '.responses[0].body_len')" = 3000000 ]
	# Equal but for the Date fields.
	grep -av '^Date: ' "$RAW" >"$BATS_TEST_TMPDIR/a"
	grep -av '^Date: ' "$BATS_TEST_TMPDIR/direct" >"$BATS_TEST_TMPDIR/b"
	cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[ "$(stat -c %s "$RAW")" -gt 3000000 ]
}

# error_case STATUS BAD-REQUEST: two good requests, the bad one, one more.
error_case() {
	local want=$1
	printf "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" >"$REQ"
	printf "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n" >>"$REQ"
	printf "%s" "$2" >>"$REQ"
	printf "GET /after HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil\r\n\r\n" \
	    >>"$REQ"
	shift 2
	client -- "$@"
	echo "$output"
	[ "$(q .exit)" = 65 ]
	[ "$(q '.responses | length')" = 3 ]
	[ "$(q '.responses[0].json.path')" = /1 ]
	[ "$(q '.responses[1].json.path')" = /2 ]
	[ "$(q '.responses[0].json.cert_der_sha256')" = "$CERT_SHA" ]
	[ "$(q '.responses[2].status')" = "$want" ]
	[ "$(q '.responses[2].headers[] | select(.[0] | ascii_downcase ==
	    "connection") | .[1]')" = close ]
	# Nothing after the error: the backend never saw the request after.
	run grep -c -e /after -e evil "$RAW"
	[ "$output" = 0 ]
}

@test "400 for CL.TE, after the earlier responses, with Connection: close" {
	error_case 400 $'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' \
	    --connect "127.0.0.1:$BACKEND_PORT"
}

# http.server keeps the space: to it "chunked " is not chunked, and the
# body would be the next request.  It gets "chunked", and reads a body.
@test "Transfer-Encoding: chunked with a trailing space reaches http.server as chunked" {
	printf 'POST /1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \t\r\n\r\n2e\r\nGET / HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil\r\n\r\n\r\n0\r\n\r\n' >"$REQ"
	printf 'GET /2 HTTP/1.1\r\nHost: a\r\n\r\n' >>"$REQ"
	client -- --connect "127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '[.responses[].json.path] | join(",")')" = /1,/2 ]
	[ "$(q '.responses[0].json.body_len')" = 46 ]
	[ "$(q '.responses[0].json.headers[] | select(.[0] ==
	    "Transfer-Encoding") | .[1]')" = chunked ]
	[ "$(q '[.responses[].json.cert_der_sha256] | unique | join(",")')" = "$CERT_SHA" ]
}

@test "400 for obs-fold, through nc" {
	error_case 400 $'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n' \
	    -- nc -N 127.0.0.1 "$BACKEND_PORT"
}

@test "431 for a head over --max-header-bytes" {
	error_case 431 "$(printf 'GET / HTTP/1.1\r\nHost: a\r\nX: %04000d\r\n\r\n' 0)" \
	    --max-header-bytes 2048 --connect "127.0.0.1:$BACKEND_PORT"
}

@test "501 for Transfer-Encoding: gzip, chunked" {
	error_case 501 $'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n' \
	    -- socat - "TCP:127.0.0.1:$BACKEND_PORT"
}

@test "505 for HTTP/2.0" {
	error_case 505 $'GET / HTTP/2.0\r\nHost: a\r\n\r\n' \
	    --connect "127.0.0.1:$BACKEND_PORT"
}

@test "a 400 after a HEAD response: the HEAD response has no body to wait for" {
	printf 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\n' >"$REQ"
	printf 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' >>"$REQ"
	client --heads=0 -- --connect "127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 65 ]
	[ "$(q '[.responses[].status] | join(",")')" = 200,400 ]
	[ "$(q '.responses[0].body_len')" = 0 ]
}

@test "a bad chunk ends the connection: the backend never sees a complete request" {
	printf 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n' >"$REQ"
	printf 'POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' >>"$REQ"
	printf '5\r\nhello\r\n0\r\nCookie: CERT=evil\r\n\r\n' >>"$REQ"
	printf 'GET /3 HTTP/1.1\r\nHost: a\r\n\r\n' >>"$REQ"
	client -- --connect "127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 65 ]
	[ "$(q '.responses[0].json.path')" = /1 ]
	# No response of the backend to /2 or /3.
	run grep -c -e '"/2"' -e '"/3"' -e evil "$RAW"
	[ "$output" = 0 ]
}

# The response follower reads the chunks: else it stops following, and
# the 400 owed after the response never comes.
@test "a chunked response with BWS in its chunk extensions: the 400 after it arrives" {
	printf 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' >"$REQ"
	client -- -- sh -c 'sed -n "/^\r$/q"; printf "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a = b\r\nhello\r\n0 ;c\r\n\r\n"; exec cat >/dev/null'
	echo "$output"
	[ "$(q .exit)" = 65 ]
	[ "$(q '[.responses[].status] | join(",")')" = 200,400 ]
	[ "$(q '.responses[0].body')" = hello ]
}

@test "CONNECT is answered 405 by certcookie, never forwarded" {
	printf 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n' >"$REQ"
	client -- --connect "127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q '.responses | length')" = 1 ]
	# http.server would have said 501: the 405 is certcookie's own.
	[ "$(q '.responses[0].status')" = 405 ]
	[ "$(q '.responses[0].headers[] | select(.[0] | ascii_downcase ==
	    "connection") | .[1]')" = close ]
}

@test "Upgrade: h2c and HTTP2-Settings never reach the backend" {
	printf 'GET /switch HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n' >"$REQ"
	printf "${GET}Cookie: CERT=evil\r\n\r\n" >>"$REQ"
	client -- -- nc -N 127.0.0.1 "$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses | length')" = 2 ]
	[ "$(q '[.responses[0].json.headers[][0] | ascii_downcase] |
	    map(select(. == "upgrade" or . == "http2-settings")) | length')" = 0 ]
	[ "$(q '[.responses[].json.cert_der_sha256 == env.CERT_SHA] | all')" = true ]
	run grep -c -e h2c -e evil "$RAW"
	[ "$output" = 0 ]
}

@test "WebSocket through --connect: a real client and server, CERT in the handshake" {
	start_server serve-ws
	run --separate-stderr $PY "$CLIENT" ws "a=1; CERT=evil" -- \
	    "$CERTCOOKIE" --cert-file "$CERT" --connect "127.0.0.1:$SERVER_PORT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(q .server_saw_cookie)" = "a=1; CERT=$CERT_B64" ]
	[ "$(q .echo_text)" = hello ]
	[ "$(q .echo_binary_ok)" = true ]
	[ "$(q .echo_last)" = bye ]
	[ "$(q .exit)" = 0 ]
}

@test "WebSocket through socat as COMMAND" {
	start_server serve-ws
	run --separate-stderr $PY "$CLIENT" ws "CERT=evil" -- \
	    "$CERTCOOKIE" --cert-file "$CERT" -- socat - "TCP:127.0.0.1:$SERVER_PORT"
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$(q .server_saw_cookie)" = "CERT=$CERT_B64" ]
	[ "$(q .echo_binary_ok)" = true ]
}

# The client waits for the refusal before it sends the forged request.
@test "a refused upgrade (200) does not open a tunnel: the next request is sanitized" {
	printf 'GET /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' >"$REQ"
	printf "GET /next HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil\r\n\r\n" >"$REQ.2"
	client --then "$REQ.2" -- --connect "127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '[.responses[].status] | join(",")')" = 200,200 ]
	[ "$(q '.responses[0].json.path')" = /up ]
	[ "$(q '.responses[1].json.path')" = /next ]
	[ "$(q '.responses[1].json.cert_der_sha256')" = "$CERT_SHA" ]
	run grep -c evil "$RAW"
	[ "$output" = 0 ]
}

@test "a refused upgrade (426) does not open a tunnel: the next requests are sanitized" {
	start_server serve-426
	printf 'GET /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' >"$REQ"
	printf "GET /next HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil; a=1\r\n\r\n" >"$REQ.2"
	printf "GET /next HTTP/1.1\r\nHost: a\r\nCookie: x=1 CERT=evil\r\n\r\n" >>"$REQ.2"
	client --then "$REQ.2" -- -- nc -N 127.0.0.1 "$SERVER_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '[.responses[].status] | join(",")')" = 426,200,200 ]
	[ "$(q '.responses[1].json.cookie | join("|")')" = "a=1; CERT=$CERT_B64" ]
	[ "$(q '.responses[2].json.cookie | join("|")')" = "CERT=$CERT_B64" ]
}

# Pipelined: the forged request is already buffered when the refusal comes.
@test "a refused upgrade (200), pipelined: the buffered next request is sanitized" {
	printf 'GET /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' >"$REQ"
	printf "GET /next HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil\r\n\r\n" >>"$REQ"
	client -- --connect "127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '[.responses[].status] | join(",")')" = 200,200 ]
	[ "$(q '.responses[1].json.path')" = /next ]
	[ "$(q '.responses[1].json.cert_der_sha256')" = "$CERT_SHA" ]
	run grep -c evil "$RAW"
	[ "$output" = 0 ]
}

@test "a refused upgrade (426), pipelined, through nc: both next requests sanitized" {
	start_server serve-426
	printf 'GET /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' >"$REQ"
	printf "GET /next HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil; a=1\r\n\r\n" >>"$REQ"
	printf "GET /next HTTP/1.1\r\nHost: a\r\nCookie: x=1 CERT=evil\r\n\r\n" >>"$REQ"
	client -- -- nc -N 127.0.0.1 "$SERVER_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '[.responses[].status] | join(",")')" = 426,200,200 ]
	[ "$(q '.responses[1].json.cookie | join("|")')" = "a=1; CERT=$CERT_B64" ]
	[ "$(q '.responses[2].json.cookie | join("|")')" = "CERT=$CERT_B64" ]
}

# A 101 nobody asked for opens no tunnel: the client's next bytes would
# reach the backend unchecked.  Exit 69, a faulty backend, as documented
# (not 76, which tlsfront, exiting with certcookie's status, uses for a
# failed handshake).
@test "a 101 to a request without Upgrade: closed, no tunnel, exit 69" {
	local got=$BATS_TEST_TMPDIR/got
	printf 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n' >"$REQ"
	printf 'GET /evil HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil\r\n\r\n' >"$REQ.2"
	client --then "$REQ.2" -- -- $PY -c '
import os, sys
b = b""
while b"\r\n\r\n" not in b:
    d = os.read(0, 65536)
    if not d:
        break
    b += d
os.write(1, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
         b"Upgrade: websocket\r\n\r\n")
while True:
    d = os.read(0, 65536)
    if not d:
        break
    b += d
open(sys.argv[1], "wb").write(b)
' "$got"
	echo "$output $stderr"
	[ "$(q .exit)" = 69 ]
	[ "$(q '.responses[0].status')" = 101 ]
	[[ "$stderr" == *"101 without an Upgrade request"* ]]
	grep -q '^GET /1 ' "$got"
	run grep -c -e evil -e /evil "$got"
	[ "$output" = 0 ]
}

@test "a large spliced response, another one, then the client's EOF: both arrive" {
	printf 'GET /download?n=3000000 HTTP/1.1\r\nHost: a\r\n\r\n' >"$REQ"
	printf 'GET /download?n=1 HTTP/1.1\r\nHost: a\r\n\r\n' >>"$REQ"
	client -- --connect "127.0.0.1:$BACKEND_PORT"
	[ "$(q .exit)" = 0 ]
	[ "$(q '[.responses[].body_len] | join(",")')" = 3000000,1 ]
}

@test "Expect: 100-continue: the interim 100, then the body, then the answer" {
	printf 'POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n' >"$REQ"
	printf 'hello' >"$REQ.2"
	printf "GET /after HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil\r\n\r\n" >>"$REQ.2"
	client --then "$REQ.2" -- --connect "127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '[.responses[].status] | join(",")')" = 100,200,200 ]
	[ "$(q '.responses[1].json.body_len')" = 5 ]
	[ "$(q '.responses[2].json.path')" = /after ]
	[ "$(q '[.responses[1,2].json.cert_der_sha256 == env.CERT_SHA] | all')" = true ]
}

@test "--reject-spoof: 400 for the forged request, after the earlier response" {
	printf "GET /1 HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\n\r\n" >"$REQ"
	printf "GET /2 HTTP/1.1\r\nHost: a\r\nCookie: a=1 CERT=evil\r\n\r\n" >>"$REQ"
	printf "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n" >>"$REQ"
	client -- --reject-spoof --connect "127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 65 ]
	[ "$(q '[.responses[].status] | join(",")')" = 200,400 ]
	[ "$(q '.responses[0].json.cert_der_sha256')" = "$CERT_SHA" ]
	run grep -c -e evil -e '"/3"' "$RAW"
	[ "$output" = 0 ]
}

@test "--header Client-Cert: the backend gets ours, never a client copy" {
	printf "GET / HTTP/1.1\r\nHost: a\r\nClient-Cert: :ZXZpbA==:\r\nclient-cert-chain: :ZXZpbA==:\r\n\r\n" >"$REQ"
	printf "GET / HTTP/1.1\r\nHost: a\r\nCLIENT-CERT: :ZXZpbA==:\r\n\r\n" >>"$REQ"
	client -- --header Client-Cert --no-cookie --connect "127.0.0.1:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses | length')" = 2 ]
	for i in 0 1; do
		[ "$(q ".responses[$i].json.headers | map(select(.[0] |
		    ascii_downcase | startswith(\"client-cert\"))) |
		    map(.[1]) | join(\"|\")")" = ":$CERT_STD:" ]
		[ "$(q ".responses[$i].json.cookies | length")" = 0 ]
	done
	run grep -c ZXZpbA "$RAW"
	[ "$output" = 0 ]
}

@test "--allow-connect: after a 2xx the bytes pass untouched both ways" {
	start_server serve-connect
	printf 'CONNECT ok:1 HTTP/1.1\r\nHost: ok:1\r\n\r\n' >"$REQ"
	printf 'raw GET / HTTP/1.1\r\nCookie: CERT=tunnelled\r\n\r\n' >"$REQ.2"
	client --then "$REQ.2" -- --allow-connect --connect "127.0.0.1:$SERVER_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses[0].status')" = 200 ]
	# The echo: exactly what the client sent into the tunnel.
	[ "$(q '.responses[0].body')" = "$(cat "$REQ.2")" ]
}

@test "--allow-connect: a refused CONNECT (403) leaves HTTP, the next request sanitized" {
	start_server serve-connect
	printf 'CONNECT no:1 HTTP/1.1\r\nHost: no:1\r\n\r\n' >"$REQ"
	printf 'GET /next HTTP/1.1\r\nHost: a\r\nCookie: CERT=evil\r\n\r\n' >"$REQ.2"
	client --then "$REQ.2" -- --allow-connect --connect "127.0.0.1:$SERVER_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '[.responses[].status] | join(",")')" = 403,200 ]
	[ "$(q '.responses[1].json | map(select(startswith("Cookie")) |
	    rtrimstr("\r\n")) | join("|")')" = "Cookie: CERT=$CERT_B64" ]
}

@test "--connect to a closed port: 502 to the client, exit 69" {
	closed_port
	printf "$GET\r\n" >"$REQ"
	client -- --connect "127.0.0.1:$CLOSED_PORT"
	echo "$output"
	[ "$(q .exit)" = 69 ]
	[ "$(q '.responses | length')" = 1 ]
	[ "$(q '.responses[0].status')" = 502 ]
}

@test "--connect unix:PATH: a backend on a UNIX socket gets CERT, not the client's" {
	stop_backend || true
	start_backend --unix "$BATS_TEST_TMPDIR/backend.sock"
	[ -S "$BATS_TEST_TMPDIR/backend.sock" ]
	printf "${GET}Cookie: CERT=evil; a=1\r\n\r\n" >"$REQ"
	client -- --connect "unix:$BATS_TEST_TMPDIR/backend.sock"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses[0].status')" = 200 ]
	[ "$(q '.responses[0].json.cert_der_sha256')" = "$CERT_SHA" ]
	[ "$(q '.responses[0].json.cookies.a')" = 1 ]
	run grep -c evil "$RAW"
	[ "$output" = 0 ]
	# Nothing listens there any more: 502, exit 69.
	stop_backend
	client -- --connect "unix:$BATS_TEST_TMPDIR/backend.sock"
	[ "$(q .exit)" = 69 ]
	[ "$(q '.responses[0].status')" = 502 ]
}

@test "--connect over IPv6 to [::1]" {
	stop_backend || true
	start_backend --host ::1
	printf "${GET}Cookie: cert=evil\r\n\r\n" >"$REQ"
	client -- --connect "[::1]:$BACKEND_PORT"
	echo "$output"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses[0].json.cert_der_sha256')" = "$CERT_SHA" ]
}

@test "half-close: the client's EOF reaches the backend, its last response arrives" {
	# http.server keeps the connection open until it reads EOF: the
	# exit needs certcookie's shutdown toward the backend, and the
	# response must still come back after it.
	printf "${GET}\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" >"$REQ"
	client -- --connect "127.0.0.1:$BACKEND_PORT"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses | length')" = 2 ]
	[ "$(q '.responses[1].json.body_len')" = 3 ]
}

# Bodies spliced through a pipe into a slow COMMAND, then the client's
# EOF: the last body's end must still count as a request boundary.
@test "spliced bodies, then EOF: every run ends cleanly (exit 0, all answered)" {
	local i n
	$PY - "$BATS_TEST_TMPDIR/posts" <<'PY'
import sys
body = bytes(range(256)) * 1024
with open(sys.argv[1], "wb") as f:
    for i in range(64):
        f.write(b"POST /%d HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % (i, len(body)))
        f.write(body)
PY
	for i in $(seq 10); do
		run --separate-stderr timeout 60 \
		    sh -c 'cat "$1" | "$2" --cert-file "$3" -- "$4" "$5"' _ \
		    "$BATS_TEST_TMPDIR/posts" "$CERTCOOKIE" "$CERT" "$PY" "$TOP/bench/sink.py"
		[ "$status" -eq 0 ] || { echo "run $i: exit $status: $stderr"; return 1; }
		n=$(grep -c '^HTTP/1.1 204' <<<"$output")
		[ "$n" -eq 64 ] || { echo "run $i: $n answers"; return 1; }
	done
}
