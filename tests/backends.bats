#!/usr/bin/env bats
# End to end behind the whole chain: curl --cert -> tlsfront --listen ->
# certcookie -> a real backend (Django, Starlette on uvicorn, Express with
# Debian's node-cookie).  Every spelling of CERT that one of them reads
# (tests/consumers.py) carries another user's certificate; the backend
# must see only the client's, or, without a client certificate, none.
bats_require_minimum_version 1.5.0
load common

setup_file() {
	pki
}

setup() {
	PKI=$BATS_RUN_TMPDIR/pki
	PIDS=()
	CLIENT_SHA=$(sha256sum < "$PKI/client.der" | cut -c1-64)
	# Bob's certificate, as a forger would send it.
	BOB=$(certtool --certificate-info --infile "$PKI/bob.pem" --outder |
	    basenc --base64url -w0 | tr -d =)
	BOB_SHA=$(certtool --certificate-info --infile "$PKI/bob.pem" \
	    --outder | sha256sum | cut -c1-64)
	[ -n "$BOB" ] && [ "$BOB_SHA" != "$CLIENT_SHA" ]
}

tree() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do tree "$c"; done
}

teardown() {
	local p all=()
	for p in "${PIDS[@]}"; do all+=($(tree "$p")); done
	for p in "${all[@]}"; do kill "$p" 2>/dev/null || :; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || :; done
}

# bg LOG CMD...: CMD in the background, no descriptor of bats open.
bg() {
	local log=$1
	shift
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec "$@"
	) > "$log" 2>&1 < /dev/null &
	PIDS+=($!)
}

# The spellings: each one a Cookie field, with $BOB in place of B.
spoofs() {
	local s
	for s in 'CERT=B' 'cert=B' ' CERT =B' 'CERT\t=B' $'CERT\xa0=B' \
	    $'\xa0CERT=B' $'CERT\x85=B' $'\x85CERT=B' $'CERT\xc2\xa0=B' \
	    $'\xc2\xa0CERT=B' $'CERT\xe3\x80\x80=B' $'CERT\xe2\x80\x83=B' \
	    $'\xef\xbb\xbfCERT=B' $'CERT\xe2\x80\xa8=B' $'\xa0CERT\xc2\xa0=B' \
	    'x=1 CERT=B' 'x=1,CERT=B' $'x=1\xa0CERT=B' 'CERT[x]=B' \
	    '%43ERT=B' 'CERT%C2%A0=B' $'%20\xa0CERT+=B' 'CERT%0D=B' \
	    '%0ACERT=B' '%A0CERT=B' 'CERT+=B'; do
		s=${s//\\t/$'\t'}
		printf '%s\n' "a=1; ${s//B/$BOB}; b=2"
	done
}

# front BACKEND-PORT: tlsfront --listen (--verify optional) ->
# certcookie --connect; sets FRONT_PORT.
front() {
	FRONT_PORT=$(free_port)
	bg "$BATS_TEST_TMPDIR/front.log" "$TLSFRONT" \
	    --listen "127.0.0.1:$FRONT_PORT" --cert "$PKI/server.pem" \
	    --key "$PKI/server.key" --ca "$PKI/ca.pem" --verify optional -- \
	    "$CERTCOOKIE" --connect "127.0.0.1:$1"
	wait_port 127.0.0.1 "$FRONT_PORT"
}

# ask COOKIE [CURL-ARGS...]: one request through the chain; the
# backend's answer on stdout.
ask() {
	local cookie=$1
	shift
	curl -sS --max-time 20 --resolve "localhost:$FRONT_PORT:127.0.0.1" \
	    --cacert "$PKI/ca.pem" -H "Cookie: $cookie" "$@" \
	    "https://localhost:$FRONT_PORT/"
}

# spoofed NAME PORT CMD...: start the backend CMD (PORT in its
# environment), the chain in front, and send every spelling with and
# without the client certificate.
spoofed() {
	local name=$1 port=$2 n=0 failed=0 c out
	shift 2
	PORT=$port bg "$BATS_TEST_TMPDIR/$name.log" "$@"
	wait_port 127.0.0.1 "$port" || { cat "$BATS_TEST_TMPDIR/$name.log"; return 1; }
	# Straight to the backend, the plain forgery works: the test can see
	# one.
	out=$(curl -sS --max-time 20 -H "Cookie: CERT=$BOB" \
	    "http://127.0.0.1:$port/")
	grep -qx "sha256: $BOB_SHA" <<< "$out"
	front "$port"
	while IFS= read -r c; do
		n=$((n + 1))
		out=$(ask "$c" --cert "$PKI/client.pem" --key "$PKI/client.key")
		if ! grep -qx "sha256: $CLIENT_SHA" <<< "$out" ||
		    grep -q "$BOB_SHA" <<< "$out"; then
			echo "$name, client certificate, Cookie: $c"
			echo "  answer: $out"
			failed=$((failed + 1))
		fi
		out=$(ask "$c")
		if [ "$out" != "no client certificate" ]; then
			echo "$name, no certificate, Cookie: $c"
			echo "  answer: $out"
			failed=$((failed + 1))
		fi
	done < <(spoofs)
	echo "$name: $n spellings, $failed failed"
	[ "$n" -ge 26 ] && [ "$failed" -eq 0 ]
}

@test "backends: Django (wsgiref, UTF-8) behind the chain sees only the client's certificate" {
	$PY -c 'import django, cryptography' || { echo "python3-django or python3-cryptography missing: run tests/deps.sh"; return 1; }
	spoofed django "$(free_port)" $PY "$TOP/examples/backends/django/app.py"
}

@test "backends: Starlette on uvicorn (latin-1) behind the chain sees only the client's certificate" {
	$PY -c 'import starlette, uvicorn, cryptography' || { echo "python3-starlette, python3-uvicorn or python3-cryptography missing: run tests/deps.sh"; return 1; }
	spoofed starlette "$(free_port)" $PY "$TOP/examples/backends/starlette/app.py"
}

@test "backends: Express with Debian's node-cookie behind the chain sees only the client's certificate" {
	NODE_PATH=/usr/share/nodejs node -e 'require("express"); require("cookie-parser"); require("cookie")' || { echo "node-express, node-cookie-parser or node-cookie missing: run tests/deps.sh"; return 1; }
	NODE_PATH=/usr/share/nodejs spoofed express "$(free_port)" \
	    node "$TOP/examples/backends/express/app.js"
}
