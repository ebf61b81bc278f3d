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
