#!/usr/bin/env bats
# Long pipelines and generated request streams through certcookie, in
# filter and proxy mode (tests/unit/stream.c is the generator).
load common

CERT=$TOP/tests/data/cert.pem

# pipeline N [EXTRA-FIELD]: N pipelined GETs to $BATS_TEST_TMPDIR/in.
pipeline() {
	$PY - "$1" "${2:-}" >"$BATS_TEST_TMPDIR/in" <<'PY'
import sys
n, extra = int(sys.argv[1]), sys.argv[2].encode()
f = extra + b"\r\n" if extra else b""
sys.stdout.buffer.write(b"".join(
    b"GET /%d HTTP/1.1\r\nHost: x\r\n%s\r\n" % (i, f) for i in range(n)))
PY
}

@test "filter mode: 300 pipelined requests read at once all come out" {
	pipeline 300
	run --separate-stderr "$CERTCOOKIE" --cert-file "$CERT" \
	    <"$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(grep -c '^GET /' <<<"$output")" -eq 300 ]
	[ "$(grep -c '^Cookie: CERT=' <<<"$output")" -eq 300 ]
	[[ "$(grep '^GET /' <<<"$output" | tail -1)" == "GET /299 HTTP/1.1"* ]]
}

@test "filter mode: 500 pipelined requests with client CERT cookies, no certificate" {
	pipeline 500 'Cookie: a=1; CERT=forged; b=2; cert=x; CERT =y'
	run --separate-stderr "$CERTCOOKIE" <"$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(grep -c '^GET /' <<<"$output")" -eq 500 ]
	[ "$(grep -c '^Cookie: a=1; b=2'$'\r''$' <<<"$output")" -eq 500 ]
	run ! grep -qi 'cert' <<<"$output"
}

@test "filter mode: 2000 pipelined requests through a pipe, in small writes" {
	pipeline 2000 'Cookie: CERT=forged'
	run --separate-stderr bash -c '
	    dd if="$1" bs=61 status=none | "$2" --cert-file "$3"' _ \
	    "$BATS_TEST_TMPDIR/in" "$CERTCOOKIE" "$CERT"
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(grep -c '^GET /' <<<"$output")" -eq 2000 ]
	run ! grep -q forged <<<"$output"
}
