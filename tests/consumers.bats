#!/usr/bin/env bats
# Ask the real consumers: cookie names spelt as Django, Starlette,
# SimpleCookie, Werkzeug, node-cookie, Go and PHP read CERT, and as they
# do not, through certcookie in filter mode, then read back by each of
# them.  See tests/consumers.py; another seed: run it by hand.
load common

setup() {
	unset SSL_CLIENT_CERT SSL_CLIENT_VERIFY
	export GOCACHE=$BATS_RUN_TMPDIR/gocache GOFLAGS=
	[ -n "${HOME:-}" ] || export HOME=$BATS_RUN_TMPDIR
}

@test "consumers: no parser reads a CERT cookie but ours after certcookie, with and without a certificate" {
	$PY -c 'import django, starlette, werkzeug' || { echo "python3-django, python3-starlette or python3-werkzeug missing: run tests/deps.sh"; return 1; }
	TMPDIR=$BATS_TEST_TMPDIR run $PY "$TOP/tests/consumers.py" \
	    "$CERTCOOKIE" "$TOP/tests/data/cert.pem" 2000 1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"2000 names, 0 failed (seed 1)"* ]]
	# Every parser really read forged names on the input.
	local who
	for who in "django (WSGI, UTF-8)" "django (ASGI, latin-1)" starlette \
	    simplecookie werkzeug node-cookie "go net/http" "php \$_COOKIE"; do
		[[ "$output" =~ "$who reads CERT on the input: "[0-9]{3} ]]
	done
	[[ "$output" =~ "--reject-spoof refused: "[0-9]{2} ]]
}
