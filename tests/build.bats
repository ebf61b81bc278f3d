#!/usr/bin/env bats
# The build itself: both programs exist and the shared PKI script works.
load common

@test "both programs are built" {
	[ -x "$CERTCOOKIE" ]
	[ -x "$TLSFRONT" ]
}

@test "pki.sh makes a CA-signed client certificate" {
	pki
	run certtool --verify --load-ca-certificate "$PKI/ca.pem" \
	    --infile "$PKI/client.pem"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Chain verification output: Verified"* ]]
}

# certcookie loads GnuTLS only for --fields (lib/cert.c, the code that
# also gives tlsfront's SSL_CLIENT_* with the GnuTLS it is linked with).
@test "certcookie does not link GnuTLS" {
	run ldd "$CERTCOOKIE"
	[ "$status" -eq 0 ]
	[[ "$output" != *libgnutls* ]]
}

# The default build links certcookie -static-pie (Makefile); glibc's
# static getaddrinfo still reads /etc/hosts and the resolver, and
# --fields still loads GnuTLS.
@test "certcookie is static-pie by default, and still resolves --connect localhost:PORT and reads --fields" {
	if [ -n "$SANITIZED" ]; then
		run file "$CERTCOOKIE"
		[[ "$output" == *"dynamically linked"* ]]
	else
		run file "$CERTCOOKIE"
		echo "$output"
		[[ "$output" == *"static-pie linked"* ]]
	fi
	start_backend
	printf 'GET /n HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >"$BATS_TEST_TMPDIR/req"
	run --separate-stderr timeout 20 "$CERTCOOKIE" --fields \
	    --cert-file "$TOP/tests/data/cert.pem" \
	    --connect "localhost:$BACKEND_PORT" <"$BATS_TEST_TMPDIR/req"
	stop_backend
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == "HTTP/1.0 200 "* || "$output" == "HTTP/1.1 200 "* ]]
	[[ "$output" == *'"path": "/n"'* ]]
	[[ "$output" == *CERT_S_DN=CN%3Dcorpus* ]]
}
