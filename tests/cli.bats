#!/usr/bin/env bats
# certcookie's command line and filter mode, option by option.
load common

setup_file() {
	pki
}

setup() {
	PKI=$BATS_RUN_TMPDIR/pki
	unset SSL_CLIENT_CERT SSL_CLIENT_VERIFY SSL_CLIENT_S_DN \
	    SSL_CLIENT_DN SSL_CLIENT_I_DN SSL_CLIENT_CERT_CHAIN_0
	GET=$BATS_TEST_TMPDIR/get.req
	printf 'GET / HTTP/1.1\r\nHost: a\r\nCookie: x=1; CERT=forged\r\n\r\n' >"$GET"
}

# The value of cookie $1 in the Cookie field of request file $2.
cookie() {
	$PY - "$1" "$2" <<'PY'
import sys
from http.cookies import SimpleCookie
head = open(sys.argv[2], "rb").read().split(b"\r\n\r\n")[0].decode()
for line in head.split("\r\n")[1:]:
    k, v = line.split(":", 1)
    if k.lower() == "cookie":
        c = SimpleCookie(); c.load(v.strip())
        if sys.argv[1] in c:
            print(c[sys.argv[1]].value)
PY
}

sha() { sha256sum | cut -d' ' -f1; }

teardown() {
	stop_closed_port
}

@test "--help lists every option and --version prints the version" {
	run "$CERTCOOKIE" --help
	[ "$status" -eq 0 ]
	for o in name encoding cert-env cert-file chain fields header \
	    no-cookie reject-spoof max-header-bytes max-fields max-value-bytes \
	    allow-unverified upgrade allow-connect connect verbose; do
		[[ "$output" == *"--$o"* ]] || { echo "missing --$o"; false; }
	done
	run "$CERTCOOKIE" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "certcookie "* ]]
}

@test "usage errors exit 64 with a message" {
	run -64 --separate-stderr "$CERTCOOKIE" --bogus
	run -64 --separate-stderr "$CERTCOOKIE" --encoding base32
	[[ "$stderr" == *"unknown encoding"* ]]
	run -64 --separate-stderr "$CERTCOOKIE" --upgrade websocket,h2c
	[[ "$stderr" == *"h2c"* ]]
	run -64 --separate-stderr "$CERTCOOKIE" --no-cookie
	run -64 --separate-stderr "$CERTCOOKIE" --max-header-bytes 12x
	run -64 --separate-stderr "$CERTCOOKIE" --max-fields 0
	[[ "$stderr" == *"--max-fields"* ]]
	run -64 --separate-stderr "$CERTCOOKIE" --max-fields 10001
	run -64 --separate-stderr "$CERTCOOKIE" --max-fields 5x
	run -64 --separate-stderr "$CERTCOOKIE" --name 'a b'
	# Both --connect and a COMMAND; the port, known closed, is not tried.
	closed_port
	run -64 --separate-stderr timeout 10 "$CERTCOOKIE" \
	    --connect "127.0.0.1:$CLOSED_PORT" -- cat
}

@test "the default cookie is the DER in base64url, forged copies removed" {
	"$CERTCOOKIE" --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/out"
	v=$(cookie CERT "$BATS_TEST_TMPDIR/out")
	[[ "$v" != *[=+/]* ]]
	[ "$(printf %s "$v" | $PY -c 'import base64,sys; v=sys.stdin.read(); sys.stdout.buffer.write(base64.urlsafe_b64decode(v+"="*(-len(v)%4)))' | sha)" = "$(sha <"$PKI/client.der")" ]
	[ "$(cookie x "$BATS_TEST_TMPDIR/out")" = 1 ]
	! grep -q forged "$BATS_TEST_TMPDIR/out" || false
	[ "$(grep -c '^Cookie:' "$BATS_TEST_TMPDIR/out")" -eq 1 ]
}

@test "the certificate comes from SSL_CLIENT_CERT, or --cert-env, or DER" {
	SSL_CLIENT_CERT=$(cat "$PKI/client.pem") "$CERTCOOKIE" <"$GET" >"$BATS_TEST_TMPDIR/a"
	MYCERT=$(cat "$PKI/client.pem") "$CERTCOOKIE" --cert-env MYCERT <"$GET" >"$BATS_TEST_TMPDIR/b"
	"$CERTCOOKIE" --cert-file "$PKI/client.der" <"$GET" >"$BATS_TEST_TMPDIR/c"
	a=$(cookie CERT "$BATS_TEST_TMPDIR/a")
	[ -n "$a" ]
	[ "$a" = "$(cookie CERT "$BATS_TEST_TMPDIR/b")" ]
	[ "$a" = "$(cookie CERT "$BATS_TEST_TMPDIR/c")" ]
}

@test "without a certificate nothing is added but forged cookies still go" {
	"$CERTCOOKIE" <"$GET" >"$BATS_TEST_TMPDIR/out"
	grep -q '^Cookie: x=1' "$BATS_TEST_TMPDIR/out"
	! grep -q CERT "$BATS_TEST_TMPDIR/out" || false
}

@test "--name renames the cookie and strips that name" {
	printf 'GET / HTTP/1.1\r\nHost: a\r\nCookie: cLiEnT=forged; CERT=kept\r\n\r\n' |
	    "$CERTCOOKIE" --name Client --cert-file "$PKI/client.pem" >"$BATS_TEST_TMPDIR/out"
	[ "$(cookie CERT "$BATS_TEST_TMPDIR/out")" = kept ]
	[ "$(cookie Client "$BATS_TEST_TMPDIR/out")" = "$(sh -c '"$1" --cert-file "$2" <"$3"' _ "$CERTCOOKIE" "$PKI/client.pem" "$GET" | tr -d '\r' | sed -n 's/^Cookie: x=1; CERT=//p')" ]
}

@test "--encoding base64, pem-url and rfc9440 decode to the certificate" {
	"$CERTCOOKIE" --encoding base64 --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/b64"
	v=$(tr -d '\r' <"$BATS_TEST_TMPDIR/b64" | sed -n 's/^Cookie: x=1; CERT=//p')
	[ "$(printf %s "$v" | base64 -d | sha)" = "$(sha <"$PKI/client.der")" ]
	"$CERTCOOKIE" --encoding pem-url --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/pem"
	v=$(tr -d '\r' <"$BATS_TEST_TMPDIR/pem" | sed -n 's/^Cookie: x=1; CERT=//p')
	[[ "$v" == -----BEGIN%20CERTIFICATE-----%0A* ]]
	$PY -c 'import sys,urllib.parse; sys.stdout.write(urllib.parse.unquote(sys.argv[1]))' "$v" >"$BATS_TEST_TMPDIR/pem.pem"
	[ "$(certtool -i --infile "$BATS_TEST_TMPDIR/pem.pem" --outder | sha)" = "$(sha <"$PKI/client.der")" ]
	"$CERTCOOKIE" --encoding rfc9440 --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/sf"
	v=$(tr -d '\r' <"$BATS_TEST_TMPDIR/sf" | sed -n 's/^Cookie: x=1; CERT=//p')
	[[ "$v" == :*: ]]
	v=${v#:}
	[ "$(printf %s "${v%:}" | base64 -d | sha)" = "$(sha <"$PKI/client.der")" ]
}

@test "an unverified certificate is withheld unless --allow-unverified" {
	SSL_CLIENT_VERIFY=FAILED:expired "$CERTCOOKIE" --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/out"
	! grep -q CERT "$BATS_TEST_TMPDIR/out" || false
	SSL_CLIENT_VERIFY=FAILED:expired "$CERTCOOKIE" --allow-unverified --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/out"
	[ -n "$(cookie CERT "$BATS_TEST_TMPDIR/out")" ]
	[ "$(cookie CERT_VERIFY "$BATS_TEST_TMPDIR/out")" = "FAILED%3Aexpired" ]
	SSL_CLIENT_VERIFY=SUCCESS "$CERTCOOKIE" --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/out"
	[ -n "$(cookie CERT "$BATS_TEST_TMPDIR/out")" ]
	[ -z "$(cookie CERT_VERIFY "$BATS_TEST_TMPDIR/out")" ]
}

@test "--fields sends the certificate's subject, issuer, serial, dates, hash" {
	SSL_CLIENT_VERIFY=SUCCESS "$CERTCOOKIE" --fields --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/out"
	[ "$(cookie CERT_S_DN "$BATS_TEST_TMPDIR/out")" = "CN%3Dalice%2CO%3DExample" ]
	[ "$(cookie CERT_I_DN "$BATS_TEST_TMPDIR/out")" = "CN%3DTest%20CA%2CO%3Dcertcookie%20tests" ]
	[ "$(cookie CERT_SERIAL "$BATS_TEST_TMPDIR/out")" = 1234 ]
	[[ "$(cookie CERT_V_END "$BATS_TEST_TMPDIR/out")" == *%3A*%20GMT ]]
	[ "$(cookie CERT_SHA256 "$BATS_TEST_TMPDIR/out")" = "$(sha <"$PKI/client.der")" ]
	[ "$(cookie CERT_VERIFY "$BATS_TEST_TMPDIR/out")" = SUCCESS ]
}

# mod_ssl's SSL_CLIENT_M_SERIAL is what openssl x509 -serial prints.
@test "--fields: CERT_SERIAL is openssl's serial: 0, 10, 20 bytes with the top bit set, negative" {
	local s want c=$BATS_TEST_TMPDIR/s.pem
	for s in 0 10 0x8102030405060708090a0b0c0d0e0f1011121314 -5; do
		openssl req -x509 -new -key "$PKI/client.key" -subj /CN=s \
		    -days 10 -set_serial "$s" -out "$c" 2>/dev/null
		want=$(openssl x509 -in "$c" -noout -serial)
		want=${want#serial=}
		"$CERTCOOKIE" --fields --cert-file "$c" <"$GET" >"$BATS_TEST_TMPDIR/out"
		[ "$(cookie CERT_SERIAL "$BATS_TEST_TMPDIR/out")" = "$want" ] ||
		    { echo "$s: $(cookie CERT_SERIAL "$BATS_TEST_TMPDIR/out"), openssl $want"; false; }
	done
	[ "$want" = -05 ]
}

@test "--fields without a certificate takes stunnel's SSL_CLIENT_DN" {
	SSL_CLIENT_DN='CN=bob,O=Ex' SSL_CLIENT_I_DN='CN=CA' "$CERTCOOKIE" --fields <"$GET" >"$BATS_TEST_TMPDIR/out"
	[ "$(cookie CERT_S_DN "$BATS_TEST_TMPDIR/out")" = "CN%3Dbob%2CO%3DEx" ]
	[ "$(cookie CERT_I_DN "$BATS_TEST_TMPDIR/out")" = "CN%3DCA" ]
	[ -z "$(cookie CERT "$BATS_TEST_TMPDIR/out")" ]
}

@test "--header adds the RFC 9440 field and removes client copies" {
	printf 'GET / HTTP/1.1\r\nHost: a\r\nclient-cert: :Zm9yZ2Vk:\r\nClient-Cert-Chain: :Zm9yZ2Vk:\r\nX-Cert: evil\r\n\r\n' >"$BATS_TEST_TMPDIR/in"
	"$CERTCOOKIE" --header X-Cert --cert-file "$PKI/client.pem" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	! grep -qi 'Zm9yZ2Vk\|evil' "$BATS_TEST_TMPDIR/out" || false
	v=$(tr -d '\r' <"$BATS_TEST_TMPDIR/out" | sed -n 's/^X-Cert: ://p')
	[ "$(printf %s "${v%:}" | base64 -d | sha)" = "$(sha <"$PKI/client.der")" ]
	grep -q '^Cookie: CERT=' "$BATS_TEST_TMPDIR/out"
	"$CERTCOOKIE" --header Client-Cert --no-cookie --cert-file "$PKI/client.pem" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	! grep -qi '^Cookie' "$BATS_TEST_TMPDIR/out" || false
	[ "$(grep -ci '^Client-Cert:' "$BATS_TEST_TMPDIR/out")" -eq 1 ]
	grep -q '^X-Cert: evil' "$BATS_TEST_TMPDIR/out"
}

@test "--chain sends CERT_CHAIN and Client-Cert-Chain from SSL_CLIENT_CERT_CHAIN_n" {
	SSL_CLIENT_CERT_CHAIN_0=$(cat "$PKI/ca.pem") "$CERTCOOKIE" --chain --header Client-Cert --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/out"
	v=$(cookie CERT_CHAIN "$BATS_TEST_TMPDIR/out")
	[ "$(printf %s "$v" | $PY -c 'import base64,sys; v=sys.stdin.read(); sys.stdout.buffer.write(base64.urlsafe_b64decode(v+"="*(-len(v)%4)))' | sha)" = "$(certtool -i --infile "$PKI/ca.pem" --outder | sha)" ]
	grep -q '^Client-Cert-Chain: :' "$BATS_TEST_TMPDIR/out"
}

@test "a value over --max-value-bytes is replaced by its SHA-256" {
	run --separate-stderr "$CERTCOOKIE" --max-value-bytes 100 --cert-file "$PKI/client.pem" <"$GET"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"over --max-value-bytes"* ]]
	printf '%s' "$output" >"$BATS_TEST_TMPDIR/out"
	[ -z "$(cookie CERT "$BATS_TEST_TMPDIR/out")" ]
	[ "$(cookie CERT_SHA256 "$BATS_TEST_TMPDIR/out")" = "$(sha <"$PKI/client.der")" ]
}

@test "an unreadable certificate exits 66" {
	run -66 --separate-stderr "$CERTCOOKIE" --cert-file /nonexistent <"$GET"
	[[ "$stderr" == *"unable to read certificate /nonexistent"* ]]
	SSL_CLIENT_CERT=garbage run -66 --separate-stderr "$CERTCOOKIE" <"$GET"
}

@test "--reject-spoof refuses the forged request after the earlier ones" {
	printf 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nCookie: cert=x\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n' >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr "$CERTCOOKIE" --reject-spoof --cert-file "$PKI/client.pem" <"$BATS_TEST_TMPDIR/in"
	[[ "$output" == "GET /1 "* ]]
	[[ "$output" != *"GET /2"* && "$output" != *"GET /3"* ]]
	[[ "$stderr" == *"400"* ]]
}

@test "--max-header-bytes caps the head: 431, exit 65" {
	printf 'GET / HTTP/1.1\r\nHost: a\r\nX: %0500d\r\n\r\n' 0 >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr "$CERTCOOKIE" --max-header-bytes 300 <"$BATS_TEST_TMPDIR/in"
	[ -z "$output" ]
	[[ "$stderr" == *"431"* ]]
	run -0 "$CERTCOOKIE" --max-header-bytes 600 <"$BATS_TEST_TMPDIR/in"
}

# fields N FILE: a GET of N fields, Host and N-1 short ones, then /next.
fields() {
	$PY - "$1" "$2" <<'PY'
import sys
n = int(sys.argv[1])
with open(sys.argv[2], "wb") as f:
    f.write(b"GET / HTTP/1.1\r\nHost: a\r\n")
    f.write(b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(1, n)))
    f.write(b"\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
PY
}

@test "--max-fields: 103 fields are 431 by default, forwarded under --max-fields 200" {
	fields 103 "$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr "$CERTCOOKIE" --max-header-bytes 200000 <"$BATS_TEST_TMPDIR/in"
	[ -z "$output" ]
	[[ "$stderr" == *"431 too many fields"* ]]
	"$CERTCOOKIE" --max-header-bytes 200000 --max-fields 200 \
	    --cert-file "$PKI/client.pem" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	[ "$(grep -c '^X-[0-9]*: ' "$BATS_TEST_TMPDIR/out")" -eq 102 ]
	grep -q '^X-102: 102'$'\r''$' "$BATS_TEST_TMPDIR/out"
	grep -q '^Cookie: CERT=' "$BATS_TEST_TMPDIR/out"
	grep -q '^GET /next ' "$BATS_TEST_TMPDIR/out"
	# Ours counts: 199 fields and ours are 200, 200 and ours too many.
	fields 199 "$BATS_TEST_TMPDIR/in"
	run -0 "$CERTCOOKIE" --max-fields 200 --cert-file "$PKI/client.pem" <"$BATS_TEST_TMPDIR/in"
	fields 200 "$BATS_TEST_TMPDIR/in"
	run -0 "$CERTCOOKIE" --max-fields 200 <"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr "$CERTCOOKIE" --max-fields 200 --cert-file "$PKI/client.pem" <"$BATS_TEST_TMPDIR/in"
	[[ "$stderr" == *"431 too many fields with ours"* ]]
	# The largest limit, with ours.
	fields 9999 "$BATS_TEST_TMPDIR/in"
	"$CERTCOOKIE" --max-header-bytes 1000000 --max-fields 10000 \
	    --cert-file "$PKI/client.pem" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	[ "$(grep -c '^X-[0-9]*: ' "$BATS_TEST_TMPDIR/out")" -eq 9998 ]
	grep -q '^Cookie: CERT=' "$BATS_TEST_TMPDIR/out"
	grep -q '^GET /next ' "$BATS_TEST_TMPDIR/out"
}

@test "CONNECT is refused unless --allow-connect" {
	printf 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n' >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr "$CERTCOOKIE" <"$BATS_TEST_TMPDIR/in"
	[[ "$stderr" == *"405"* ]]
	run -0 "$CERTCOOKIE" --allow-connect <"$BATS_TEST_TMPDIR/in"
	[[ "$output" == "CONNECT a:443 HTTP/1.1"* ]]
}

@test "Upgrade: h2c and HTTP2-Settings never pass; websocket does" {
	printf 'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c, websocket\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n' >"$BATS_TEST_TMPDIR/in"
	"$CERTCOOKIE" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	! grep -qi 'h2c\|^HTTP2-Settings' "$BATS_TEST_TMPDIR/out" || false
	grep -q '^Upgrade: websocket' "$BATS_TEST_TMPDIR/out"
	"$CERTCOOKIE" --upgrade '' <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	! grep -qi '^Upgrade' "$BATS_TEST_TMPDIR/out" || false
}

@test "bodies pass byte for byte: 64 MiB Content-Length, chunked with trailers" {
	f=$BATS_TEST_TMPDIR/body
	head -c $((64 << 20)) /dev/urandom >"$f"
	{ printf 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n' $((64 << 20)); cat "$f"; printf 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n'; } >"$BATS_TEST_TMPDIR/in"
	"$CERTCOOKIE" --cert-file "$PKI/client.pem" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	$PY - "$BATS_TEST_TMPDIR/out" "$f" <<'PY'
import sys
out = open(sys.argv[1], "rb").read()
body = open(sys.argv[2], "rb").read()
head, rest = out.split(b"\r\n\r\n", 1)
assert b"\r\nCookie: CERT=" in head
assert rest[:len(body)] == body
assert rest[len(body):].startswith(b"GET /next HTTP/1.1\r\n")
PY
	# The same through a pipe on both ends (splice).
	cat "$BATS_TEST_TMPDIR/in" | "$CERTCOOKIE" --cert-file "$PKI/client.pem" | cat >"$BATS_TEST_TMPDIR/out2"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/out2"
	printf 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n' >"$BATS_TEST_TMPDIR/in"
	"$CERTCOOKIE" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
}

@test "chunk extensions with BWS around ; and = pass; a bare LF still ends the stream" {
	printf 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n3; a = "b"\t;c\r\nabc\r\n0 ; d =e\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n' >"$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr "$CERTCOOKIE" <"$BATS_TEST_TMPDIR/in"
	"$CERTCOOKIE" <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out"
	cmp "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out"
	printf 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n' >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr "$CERTCOOKIE" <"$BATS_TEST_TMPDIR/in"
	[[ "$output" != *hello* && "$output" != */next* ]]
	[[ "$stderr" == *"chunk size line"* ]]
}

@test "a Cookie field in the trailers ends the stream: exit 65" {
	printf 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nCookie: CERT=evil\r\n\r\n' >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr "$CERTCOOKIE" <"$BATS_TEST_TMPDIR/in"
	[[ "$output" != *evil* ]]
	[[ "$stderr" == *trailers* ]]
}

@test "end of input inside a request exits 65 after the whole earlier ones" {
	printf 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost:' >"$BATS_TEST_TMPDIR/in"
	run -65 --separate-stderr "$CERTCOOKIE" <"$BATS_TEST_TMPDIR/in"
	[[ "$output" == "GET /1 HTTP/1.1"* ]]
	[[ "$output" != *"/2"* ]]
}

@test "--fields takes tlsfront's description of SSL_CLIENT_CERT as is" {
	# tlsfront exports the certificate with its description: certcookie
	# uses that (no X.509 parsing); with --cert-file it reads the file.
	export SSL_CLIENT_CERT=$(cat "$PKI/client.pem") SSL_CLIENT_VERIFY=SUCCESS \
	    SSL_CLIENT_S_DN='CN=described' SSL_CLIENT_I_DN='CN=CA' \
	    SSL_CLIENT_M_SERIAL=ABCD SSL_CLIENT_V_START='Jan  1 00:00:00 2026 GMT' \
	    SSL_CLIENT_V_END='Jan  1 00:00:00 2027 GMT'
	"$CERTCOOKIE" --fields <"$GET" >"$BATS_TEST_TMPDIR/out"
	[ "$(cookie CERT_S_DN "$BATS_TEST_TMPDIR/out")" = "CN%3Ddescribed" ]
	[ "$(cookie CERT_SERIAL "$BATS_TEST_TMPDIR/out")" = ABCD ]
	[ "$(cookie CERT_V_START "$BATS_TEST_TMPDIR/out")" = "Jan%20%201%2000%3A00%3A00%202026%20GMT" ]
	[ "$(cookie CERT_SHA256 "$BATS_TEST_TMPDIR/out")" = "$(sha <"$PKI/client.der")" ]
	"$CERTCOOKIE" --fields --cert-file "$PKI/client.pem" <"$GET" >"$BATS_TEST_TMPDIR/out"
	[ "$(cookie CERT_S_DN "$BATS_TEST_TMPDIR/out")" = "CN%3Dalice%2CO%3DExample" ]
	[ "$(cookie CERT_SERIAL "$BATS_TEST_TMPDIR/out")" = 1234 ]
}

@test "--max-value-bytes at its default: a 10 KB certificate goes as CERT_SHA256" {
	local d=$BATS_TEST_TMPDIR i
	# 120 long DNS names: about 9.5 KB of DER, 13 KB in base64url.
	{
		echo 'cn = "many names"'
		for i in $(seq 120); do
			echo "dns_name = \"host-$i.a-rather-long-subdomain-name-for-a-large-certificate.example.org\""
		done
		echo tls_www_client
		echo 'expiration_days = 30'
		echo 'serial = 99'
	} >"$d/big.tmpl"
	certtool --generate-certificate --load-privkey "$PKI/client.key" \
	    --load-ca-certificate "$PKI/ca.pem" --load-ca-privkey "$PKI/ca.key" \
	    --template "$d/big.tmpl" --outfile "$d/big.pem" 2>/dev/null
	certtool --certificate-info --infile "$d/big.pem" --outder >"$d/big.der"
	[ "$(stat -c %s "$d/big.der")" -gt 9000 ]
	run --separate-stderr "$CERTCOOKIE" --cert-file "$d/big.pem" <"$GET"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"over --max-value-bytes 6144: sending CERT_SHA256 instead"* ]]
	printf '%s' "$output" >"$d/out"
	[ -z "$(cookie CERT "$d/out")" ]
	[ "$(cookie CERT_SHA256 "$d/out")" = "$(sha <"$d/big.der")" ]
	[ "$(cookie x "$d/out")" = 1 ]
	run grep -c forged "$d/out"
	[ "$output" = 0 ]
	# The whole head stays far below the 8 KB of common backends.
	[ "$(wc -c <"$d/out")" -lt 1024 ]
}

# spawn_with PYTHON-EXPR ARGS...: certcookie ARGS with $GET on stdin, in
# a child that python prepares with PYTHON-EXPR (os and resource
# imported); its exit status in $status, its stderr in $stderr.
spawn_with() {
	local expr=$1
	shift
	run --separate-stderr timeout 20 $PY -c '
import os, resource, subprocess, sys
pre, req = sys.argv[1], sys.argv[2]
kw = {}
if pre.startswith("stdout="):
    kw["stdout"] = eval(pre[7:])
else:
    kw["preexec_fn"] = lambda: eval(pre)
p = subprocess.run(sys.argv[3:], stdin=open(req), **kw)
sys.exit(p.returncode)' "$expr" "$GET" "$CERTCOOKIE" "$@"
}

@test "exit statuses: 127 and 126 for COMMAND, 74 for an I/O error, 71 for no socketpair" {
	run -127 --separate-stderr timeout 20 "$CERTCOOKIE" -- /nonexistent/cmd <"$GET"
	[[ "$stderr" == *"unable to run /nonexistent/cmd: No such file"* ]]
	# Not executable: a certificate, a directory.
	run -126 --separate-stderr timeout 20 "$CERTCOOKIE" -- "$PKI/ca.pem" <"$GET"
	[[ "$stderr" == *"unable to run $PKI/ca.pem: Permission denied"* ]]
	run -126 --separate-stderr timeout 20 "$CERTCOOKIE" -- "$PKI" <"$GET"
	# 74: stdout a full device, or a pipe with no reader.
	run -74 --separate-stderr timeout 20 sh -c '"$1" <"$2" >/dev/full' _ \
	    "$CERTCOOKIE" "$GET"
	[[ "$stderr" == *"write: No space left on device"* ]]
	spawn_with 'stdout=(lambda r, w: (os.close(r), w)[1])(*os.pipe())'
	[ "$status" -eq 74 ]
	[[ "$stderr" == *"write: Broken pipe"* ]]
	# 71: no descriptors left for COMMAND's socketpair, at the lowest
	# limit at which certcookie starts at all (below it, the dynamic
	# loader fails: 127).
	local n
	for n in $(seq 4 32); do
		spawn_with "resource.setrlimit(resource.RLIMIT_NOFILE, ($n, $n))" -- cat
		[ "$status" -ne 127 ] && break
	done
	echo "RLIMIT_NOFILE $n: $stderr"
	[ "$status" -eq 71 ]
	[[ "$stderr" == *"socketpair: Too many open files"* ]]
}
