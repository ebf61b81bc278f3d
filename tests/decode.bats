#!/usr/bin/env bats
# The backend's side: certcookie rewrites a request, a real server in each
# backend language reads the cookie through its ordinary API, decodes it
# and sends the bytes back; they must be the client certificate's DER.
# The servers live in tests/decode/.
load common
bats_require_minimum_version 1.5.0

DECODE=$TOP/tests/decode

# start NAME COMMAND...: run a server in the background, with @PORT@ in
# its arguments replaced by a free port; sets NAME_PORT and NAME_PID,
# exported for the tests, once it listens there.
start() {
	local name=$1
	shift
	listen_retry start_at "$name" "$@" ||
	    { cat "$BATS_FILE_TMPDIR/$name.log"; return 1; }
	export "${name}_PID=$SERVER_PID" "${name}_PORT=$PORT"
}

start_at() {
	local name=$1
	shift
	"${@//@PORT@/$PORT}" >"$BATS_FILE_TMPDIR/$name.log" 2>&1 3>&- &
	SERVER_PID=$!
}

setup_file() {
	pki
	export PKI NODE_PATH=/usr/share/nodejs
	export GOCACHE=$BATS_FILE_TMPDIR/gocache GOPATH=$BATS_FILE_TMPDIR/go
	go build -o "$BATS_FILE_TMPDIR/goserver" "$DECODE/server.go"
	start PYTHON "$PY" "$DECODE/simplecookie.py" @PORT@
	start FLASK "$PY" "$DECODE/flask_app.py" @PORT@
	start PHP php -S 127.0.0.1:@PORT@ -t "$DECODE" "$DECODE/cookie.php"
	start NODE node "$DECODE/node_server.js" http @PORT@
	start EXPRESS node "$DECODE/node_server.js" express @PORT@
	start GO "$BATS_FILE_TMPDIR/goserver" @PORT@
}

teardown_file() {
	local pid
	for pid in "${PYTHON_PID:-}" "${FLASK_PID:-}" "${PHP_PID:-}" \
	    "${NODE_PID:-}" "${EXPRESS_PID:-}" "${GO_PID:-}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
		[ -n "$pid" ] && wait "$pid" 2>/dev/null
	done
	return 0
}

# request PATH [COOKIE-HEADER-LINE...]: a GET of PATH with these lines.
request() {
	local path=$1 line
	shift
	{
		printf 'GET %s HTTP/1.1\r\nHost: localhost\r\n' "$path"
		for line in "$@"; do
			printf '%s\r\n' "$line"
		done
		printf 'Accept: */*\r\nConnection: close\r\n\r\n'
	} >"$BATS_TEST_TMPDIR/request.txt"
}

# rewrite [OPTION...]: certcookie, in filter mode, on request.txt.
rewrite() {
	"$CERTCOOKIE" --cert-file "$PKI/client.pem" "$@" \
	    <"$BATS_TEST_TMPDIR/request.txt" >"$BATS_TEST_TMPDIR/rewritten.txt"
}

# decodes PORT: the server on PORT answers the rewritten request with
# exactly the DER of client.pem (certtool's client.der).
decodes() {
	"$PY" "$DECODE/send.py" "$1" "$BATS_TEST_TMPDIR/rewritten.txt" \
	    "$BATS_TEST_TMPDIR/body"
	cmp "$BATS_TEST_TMPDIR/body" "$PKI/client.der"
}

# A forged cookie that the client sends: a real certificate, the CA's.
forged() {
	local b64
	b64=$(certtool --certificate-info --outder --infile "$PKI/ca.pem" |
	    base64 -w0 | tr '+/' '-_' | tr -d =)
	printf 'CERT=%s' "$b64"
}

@test "the servers answer 500 when no certificate was added" {
	request /base64url 'Cookie: a=1'
	cp "$BATS_TEST_TMPDIR/request.txt" "$BATS_TEST_TMPDIR/rewritten.txt"
	local port
	for port in "$PYTHON_PORT" "$FLASK_PORT" "$PHP_PORT" "$NODE_PORT" \
	    "$EXPRESS_PORT" "$GO_PORT"; do
		# A 500 from the server, not a server that is not there.
		run -1 --separate-stderr "$PY" "$DECODE/send.py" "$port" \
		    "$BATS_TEST_TMPDIR/rewritten.txt" "$BATS_TEST_TMPDIR/body"
		[[ "$stderr" == "status 500: "* ]] ||
		    { echo "port $port: $stderr"; return 1; }
	done
}

@test "python SimpleCookie reads the base64url cookie byte-exact" {
	request /base64url 'Cookie: a=1; b=2'
	rewrite
	decodes "$PYTHON_PORT"
}

@test "python SimpleCookie reads base64 and rfc9440 cookies byte-exact" {
	request /base64 'Cookie: a=1'
	rewrite --encoding base64
	decodes "$PYTHON_PORT"
	request /rfc9440 'Cookie: a=1'
	rewrite --encoding rfc9440
	decodes "$PYTHON_PORT"
}

@test "python reads the Client-Cert header byte-exact" {
	request /header 'Client-Cert: :Zm9yZ2Vk:'
	rewrite --header Client-Cert
	decodes "$PYTHON_PORT"
}

@test "flask request.cookies reads the base64url cookie byte-exact" {
	request /base64url 'Cookie: a=1'
	rewrite
	decodes "$FLASK_PORT"
}

@test "flask reads ours, not a CERT cookie the client sent first" {
	request /base64url "Cookie: $(forged); a=1"
	rewrite
	decodes "$FLASK_PORT"
}

@test "php \$_COOKIE reads the base64url cookie byte-exact" {
	request /base64url 'Cookie: a=1; b=2'
	rewrite
	decodes "$PHP_PORT"
	# Without any Cookie header from the client.
	request /base64url
	rewrite
	decodes "$PHP_PORT"
}

@test "php \$_COOKIE reads base64, pem-url and rfc9440 byte-exact" {
	request /base64 'Cookie: a=1'
	rewrite --encoding base64
	decodes "$PHP_PORT"
	request /pem-url 'Cookie: a=1'
	rewrite --encoding pem-url
	decodes "$PHP_PORT"
	request /rfc9440 'Cookie: a=1'
	rewrite --encoding rfc9440
	decodes "$PHP_PORT"
}

@test "php reads the Client-Cert header byte-exact" {
	request /header 'Client-Cert: :Zm9yZ2Vk:'
	rewrite --header Client-Cert
	decodes "$PHP_PORT"
}

@test "php reads ours, not a CERT cookie the client sent first" {
	request /base64url "Cookie: $(forged); a=1"
	rewrite
	decodes "$PHP_PORT"
	request /base64url "Cookie: a=1" "Cookie: $(forged)"
	rewrite
	decodes "$PHP_PORT"
}

@test "node cookie.parse reads base64url and pem-url byte-exact" {
	request /base64url 'Cookie: a=1; b=2'
	rewrite
	decodes "$NODE_PORT"
	request /pem-url 'Cookie: a=1'
	rewrite --encoding pem-url
	decodes "$NODE_PORT"
}

@test "node reads ours, not a CERT cookie the client sent first" {
	request /base64url "Cookie: $(forged); a=1"
	rewrite
	decodes "$NODE_PORT"
}

@test "express cookie-parser reads base64url, base64 and pem-url byte-exact" {
	request /base64url 'Cookie: a=1; b=2'
	rewrite
	decodes "$EXPRESS_PORT"
	request /base64 'Cookie: a=1'
	rewrite --encoding base64
	decodes "$EXPRESS_PORT"
	request /pem-url 'Cookie: a=1'
	rewrite --encoding pem-url
	decodes "$EXPRESS_PORT"
}

@test "express reads ours, not a CERT cookie the client sent first" {
	request /base64url "Cookie: $(forged); a=1"
	rewrite
	decodes "$EXPRESS_PORT"
}

@test "node reads the Client-Cert header byte-exact" {
	request /header 'Client-Cert: :Zm9yZ2Vk:'
	rewrite --header Client-Cert
	decodes "$NODE_PORT"
	decodes "$EXPRESS_PORT"
}

@test "go r.Cookie reads the base64url cookie byte-exact" {
	request /base64url 'Cookie: a=1; b=2'
	rewrite
	decodes "$GO_PORT"
}

@test "go reads ours, not a CERT cookie the client sent first" {
	request /base64url "Cookie: $(forged); a=1"
	rewrite
	decodes "$GO_PORT"
}

@test "a DER --cert-file and the SSL_CLIENT_CERT PEM decode the same" {
	request /base64url 'Cookie: a=1'
	"$CERTCOOKIE" --cert-file "$PKI/client.der" \
	    <"$BATS_TEST_TMPDIR/request.txt" >"$BATS_TEST_TMPDIR/rewritten.txt"
	decodes "$PYTHON_PORT"
	decodes "$PHP_PORT"
	# What tlsfront, mod_ssl-style, exports to certcookie.
	SSL_CLIENT_CERT=$(cat "$PKI/client.pem") SSL_CLIENT_VERIFY=SUCCESS \
	    "$CERTCOOKIE" <"$BATS_TEST_TMPDIR/request.txt" \
	    >"$BATS_TEST_TMPDIR/rewritten.txt"
	decodes "$PYTHON_PORT"
	decodes "$NODE_PORT"
}

@test "php and node read the --fields cookies decoded, as openssl prints them" {
	local os="$BATS_TEST_TMPDIR/openssl" want="$BATS_TEST_TMPDIR/want"
	openssl x509 -in "$PKI/client.pem" -noout -subject -issuer -serial \
	    -startdate -enddate -fingerprint -sha256 -nameopt RFC2253 >"$os"
	{
		sed -n 's/^subject=//p' "$os"
		sed -n 's/^issuer=//p' "$os"
		sed -n 's/^serial=//p' "$os"
		sed -n 's/^notBefore=//p' "$os"
		sed -n 's/^notAfter=//p' "$os"
		sed -n 's/^sha256 Fingerprint=//p' "$os" | tr -d : |
		    tr A-F a-f
	} >"$want"
	grep -qx 'CN=alice,O=Example' "$want"
	request /fields 'Cookie: a=1'
	rewrite --fields
	local port
	for port in "$PHP_PORT" "$NODE_PORT" "$EXPRESS_PORT"; do
		"$PY" "$DECODE/send.py" "$port" \
		    "$BATS_TEST_TMPDIR/rewritten.txt" "$BATS_TEST_TMPDIR/body"
		diff -u "$want" "$BATS_TEST_TMPDIR/body"
	done
}
