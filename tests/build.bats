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
