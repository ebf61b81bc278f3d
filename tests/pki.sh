#!/bin/sh
# Make a throwaway PKI in DIR (default ./pki) with GnuTLS's certtool:
#   ca.pem ca.key         the CA that tlsfront trusts
#   server.pem server.key CN=localhost, SAN localhost, 127.0.0.1, ::1
#   client.pem client.key client.der   CN=alice, RSA 2048, signed by ca
# Existing files are kept, so a second run is cheap.
set -eu
dir=${1:-pki}
mkdir -p "$dir"
cd "$dir"

key() {	# key FILE [rsa|ecdsa]
	[ -s "$1" ] && return 0
	case ${2:-ecdsa} in
	rsa) certtool --generate-privkey --key-type=rsa --bits=2048 \
	    --outfile "$1" 2>/dev/null ;;
	*) certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
	    --outfile "$1" 2>/dev/null ;;
	esac
}

# cert NAME ISSUER TEMPLATE-LINES...: NAME.pem from NAME.key, signed by
# ISSUER (self for a self-signed CA).
cert() {
	name=$1 issuer=$2
	shift 2
	[ -s "$name.pem" ] && return 0
	printf '%s\n' "$@" > "$name.tmpl"
	if [ "$issuer" = self ]; then
		certtool --generate-self-signed --load-privkey "$name.key" \
		    --template "$name.tmpl" --outfile "$name.pem" 2>/dev/null
	else
		certtool --generate-certificate --load-privkey "$name.key" \
		    --load-ca-certificate "$issuer.pem" \
		    --load-ca-privkey "$issuer.key" \
		    --template "$name.tmpl" --outfile "$name.pem" 2>/dev/null
	fi
	rm -f "$name.tmpl"
}

key ca.key
cert ca self 'cn = "Test CA"' 'organization = "certcookie tests"' \
    ca cert_signing_key crl_signing_key 'expiration_days = 3650' \
    'serial = 1'
key server.key
cert server ca 'cn = "localhost"' 'dns_name = "localhost"' \
    'ip_address = "127.0.0.1"' 'ip_address = "::1"' tls_www_server \
    signing_key encryption_key 'expiration_days = 3650' 'serial = 2'
key client.key rsa
cert client ca 'cn = "alice"' 'organization = "Example"' \
    'email = "alice@example.org"' tls_www_client signing_key \
    'expiration_days = 3650' 'serial = 4660'
[ -s client.der ] || certtool --certificate-info --infile client.pem \
    --outder --outfile client.der 2>/dev/null

# For tlsfront's tests:
#   fakeca.pem fakeclient.pem   CN=alice again, from a CA nobody trusts
#   expired.pem future.pem      from ca, validity over / not yet begun
#   revoked.pem crl.pem         from ca, revoked in ca's CRL
#   bob.pem                     from ca, with DNS and e-mail SANs
#   server2.pem                 CN=other.test, for SNI
key fakeca.key
cert fakeca self 'cn = "Test CA"' 'organization = "certcookie tests"' \
    ca cert_signing_key crl_signing_key 'expiration_days = 3650' \
    'serial = 1'
key fakeclient.key
cert fakeclient fakeca 'cn = "alice"' 'organization = "Example"' \
    tls_www_client signing_key 'expiration_days = 3650' 'serial = 4660'
key expired.key
cert expired ca 'cn = "old"' tls_www_client signing_key \
    'activation_date = "2001-01-01 00:00:00 UTC"' \
    'expiration_date = "2002-01-01 00:00:00 UTC"' 'serial = 4662'
key future.key
cert future ca 'cn = "future"' tls_www_client signing_key \
    'activation_date = "2090-01-01 00:00:00 UTC"' \
    'expiration_date = "2091-01-01 00:00:00 UTC"' 'serial = 4663'
key revoked.key
cert revoked ca 'cn = "mallory"' tls_www_client signing_key \
    'expiration_days = 3650' 'serial = 4661'
[ -s crl.pem ] || {
	printf '%s\n' 'crl_next_update = 3650' 'crl_number = 1' > crl.tmpl
	certtool --generate-crl --load-ca-privkey ca.key \
	    --load-ca-certificate ca.pem --load-certificate revoked.pem \
	    --template crl.tmpl --outfile crl.pem 2>/dev/null
	rm -f crl.tmpl
}
key bob.key
cert bob ca 'cn = "bob"' 'organization = "Example"' \
    'dns_name = "bob.example.org"' 'dns_name = "www.bob.example.org"' \
    'email = "bob@example.org"' tls_www_client signing_key \
    'expiration_days = 3650' 'serial = 255'
key server2.key
cert server2 ca 'cn = "other.test"' 'dns_name = "other.test"' \
    tls_www_server signing_key encryption_key 'expiration_days = 3650' \
    'serial = 3'
