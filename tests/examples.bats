#!/usr/bin/env bats
# Every file under examples/ is run here, as a user would run it, against
# real servers started on 127.0.0.1 by the test: nothing in examples/ can
# rot unnoticed.
bats_require_minimum_version 1.5.0
load common

setup_file() {
	pki
}

setup() {
	PKI=$BATS_RUN_TMPDIR/pki
	PIDS=()
	CLIENT_SHA=$(sha256sum < "$PKI/client.der" | cut -c1-64)
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || :; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || :; done
	stop_backend
}

# bg LOG CMD...: start CMD in the background, stdout and stderr to LOG.
bg() {
	local log=$1
	shift
	"$@" > "$log" 2>&1 3>&- &
	PIDS+=($!)
}

# curl_cert PORT [CURL-ARGS...]: an HTTPS request to localhost:PORT with
# the client certificate of the test PKI.
curl_cert() {
	local port=$1
	shift
	curl -sS --max-time 20 --resolve "localhost:$port:127.0.0.1" \
	    --cacert "$PKI/ca.pem" --cert "$PKI/client.pem" \
	    --key "$PKI/client.key" "$@" "https://localhost:$port/"
}

# json EXPR: evaluate the Python expression EXPR with d, the JSON object
# on stdin (an answer of tests/backend.py).
json() {
	$PY -c 'import json, sys, urllib.parse as u; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

@test "pipeline.sh: the request file in, the rewritten requests out" {
	# Not through "run", which would drop the final newline.
	PATH=$TOP:$PATH sh "$TOP/examples/pipeline.sh" "$PKI/client.pem" \
	    > "$BATS_TEST_TMPDIR/out"
	$PY - "$BATS_TEST_TMPDIR/out" "$PKI/client.der" <<'PY'
import base64, sys
out = open(sys.argv[1], "rb").read()
der = open(sys.argv[2], "rb").read()
assert b"forged" not in out, out
heads = [l for l in out.split(b"\r\n") if l.lower().startswith(b"cookie:")]
assert len(heads) == 2, heads
assert heads[0].startswith(b"Cookie: theme=dark; CERT="), heads[0]
assert heads[1].startswith(b"Cookie: CERT="), heads[1]
for h in heads:
    v = h.split(b"CERT=", 1)[1].decode()
    assert base64.urlsafe_b64decode(v + "=" * (-len(v) % 4)) == der
assert out.startswith(b"GET /hello HTTP/1.1\r\nHost: app.example\r\n")
assert out.count(b"POST /form HTTP/1.1\r\n") == 1
assert out.endswith(b"\r\n\r\nname=alice\n"), out[-40:]
PY
}

@test "pipeline.sh: a malformed request ends with status 65, earlier ones whole" {
	printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost : x\r\n\r\n' \
	    > "$BATS_TEST_TMPDIR/bad.http"
	PATH=$TOP:$PATH run -65 --separate-stderr \
	    sh "$TOP/examples/pipeline.sh" "$PKI/client.pem" \
	    "$BATS_TEST_TMPDIR/bad.http"
	[[ "$output" == "GET /a HTTP/1.1"* ]]
	[[ "$output" != *"/b"* ]]
}

@test "stunnel.conf: stunnel runs certcookie, the backend sees the subject" {
	command -v stunnel4 || { echo "stunnel4 not installed: run tests/deps.sh"; return 1; }
	start_backend
	local port conf=$BATS_TEST_TMPDIR/stunnel.conf
	port=$(free_port)
	# The example, with the test's port, PKI, binary and backend.
	sed -e "s|^accept = 443\$|accept = 127.0.0.1:$port|" \
	    -e "s|/etc/tlsfront/|$PKI/|" \
	    -e "s|^exec = /usr/local/bin/certcookie\$|exec = $CERTCOOKIE|" \
	    -e "s|127\.0\.0\.1:8080\$|127.0.0.1:$BACKEND_PORT|" \
	    "$TOP/examples/stunnel.conf" > "$conf"
	grep -q "^accept = 127.0.0.1:$port\$" "$conf"
	grep -q "^exec = $CERTCOOKIE\$" "$conf"
	grep -q -- "--connect 127.0.0.1:$BACKEND_PORT\$" "$conf"
	bg "$BATS_TEST_TMPDIR/stunnel.log" stunnel4 "$conf"
	wait_port 127.0.0.1 "$port"
	run --separate-stderr curl_cert "$port" \
	    -b 'CERT_S_DN=CN%3Dadmin; CERT=forged; theme=dark'
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(json 'u.unquote(d["cookies"]["CERT_S_DN"])' <<< "$output")" = \
	    "O=Example, CN=alice" ]
	[ "$(json 'u.unquote(d["cookies"]["CERT_I_DN"])' <<< "$output")" = \
	    "O=certcookie tests, CN=Test CA" ]
	[ "$(json 'd["cookies"]["theme"]' <<< "$output")" = dark ]
	# No certificate under stunnel, so no CERT cookie, forged or not.
	[ "$(json '"CERT" in d["cookies"]' <<< "$output")" = False ]
	[[ "$output" != *admin* && "$output" != *forged* ]]
}

# units DIR: the example units in DIR with the binaries in $TOP, and the
# manual pages of Documentation= findable, for systemd-analyze verify.
units() {
	local dir=$1 u
	mkdir -p "$dir/man/man1"
	ln -sf "$TOP/certcookie.1" "$TOP/tlsfront.1" "$dir/man/man1/"
	for u in "$TOP"/examples/systemd/*; do
		sed "s|/usr/local/bin/|$TOP/|g" "$u" > "$dir/${u##*/}"
	done
}

@test "systemd: tlsfront.socket + tlsfront@.service (Accept=yes) verify cleanly" {
	local d=$BATS_TEST_TMPDIR/units
	units "$d"
	grep -qx 'Accept=yes' "$d/tlsfront.socket"
	grep -qx 'StandardInput=socket' "$d/tlsfront@.service"
	grep -qx 'StandardError=journal' "$d/tlsfront@.service"
	grep -qx 'DynamicUser=yes' "$d/tlsfront@.service"
	grep -qx 'ProtectSystem=strict' "$d/tlsfront@.service"
	grep -qx 'NoNewPrivileges=yes' "$d/tlsfront@.service"
	cd "$d"
	MANPATH=$d/man: run systemd-analyze verify ./tlsfront.socket \
	    ./tlsfront@.service
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "systemd: tlsfront-single.socket + .service (Accept=no) verify cleanly" {
	local d=$BATS_TEST_TMPDIR/units
	units "$d"
	grep -qx 'Accept=no' "$d/tlsfront-single.socket"
	cd "$d"
	MANPATH=$d/man: run systemd-analyze verify ./tlsfront-single.socket \
	    ./tlsfront-single.service
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
