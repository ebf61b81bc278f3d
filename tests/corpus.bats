#!/usr/bin/env bats
# The filter-mode corpus of tests/data/http1: NAME.req through
# certcookie must give exactly NAME.out (or nothing) on stdout and the
# exit status in NAME.err (or 0).  See tests/data/mkcorpus.py.
load common

DATA=$TOP/tests/data
CERT=$DATA/cert.pem

setup() {
	unset SSL_CLIENT_CERT SSL_CLIENT_VERIFY
}

# check NAME STATUS OUTFILE: compare one run with the expectation;
# prints what differs and returns 1.
check() {
	local name=$1 st=$2 got=$3 f=$DATA/http1/$1
	local want=0 wantout=/dev/null
	[ -e "$f.err" ] && want=$(cat "$f.err")
	[ -e "$f.out" ] && wantout=$f.out
	if [ "$st" != "$want" ]; then
		echo "$name: exit $st, want $want"
		return 1
	fi
	if ! cmp -s "$got" "$wantout"; then
		echo "$name: output differs from $wantout:"
		cmp "$got" "$wantout" || true
		return 1
	fi
}

# run_corpus CMD...: run every case with stdin from NAME.req.
run_corpus() {
	local f name st failed=0 n=0
	for f in "$DATA"/http1/*.req; do
		name=$(basename "$f" .req)
		st=0
		"$@" <"$f" >"$BATS_TEST_TMPDIR/out" \
		    2>"$BATS_TEST_TMPDIR/err" || st=$?
		n=$((n + 1))
		if ! check "$name" "$st" "$BATS_TEST_TMPDIR/out"; then
			sed 's/^/  stderr: /' "$BATS_TEST_TMPDIR/err"
			failed=$((failed + 1))
		fi
	done
	echo "$n cases, $failed failed"
	[ "$n" -ge 100 ] && [ "$failed" -eq 0 ]
}

@test "corpus: certificate from --cert-file" {
	run_corpus "$CERTCOOKIE" --cert-file "$CERT"
}

@test "corpus: certificate from SSL_CLIENT_CERT" {
	export SSL_CLIENT_CERT="$(cat "$CERT")"
	run_corpus "$CERTCOOKIE"
}

@test "corpus: certificate from SSL_CLIENT_CERT with SSL_CLIENT_VERIFY=SUCCESS" {
	export SSL_CLIENT_CERT="$(cat "$CERT")" SSL_CLIENT_VERIFY=SUCCESS
	run_corpus "$CERTCOOKIE"
}

# The same inputs arriving a few bytes at a time: the parser's
# incremental path must give the same bytes and status.
@test "corpus: input trickling in 1 to 7 bytes a write" {
	local f name st failed=0 n=0
	for f in "$DATA"/http1/*.req; do
		[ "$(stat -c %s "$f")" -le 4096 ] || continue
		name=$(basename "$f" .req)
		st=0
		$PY -c '
import os, subprocess, sys, time
data = open(sys.argv[1], "rb").read()
p = subprocess.Popen(sys.argv[3:], stdin=subprocess.PIPE,
                     stdout=open(sys.argv[2], "wb"), stderr=subprocess.DEVNULL)
i = k = 0
try:
    while i < len(data):
        k = k % 7 + 1
        p.stdin.write(data[i:i + k])
        p.stdin.flush()
        i += k
        time.sleep(0.0002)
    p.stdin.close()
except BrokenPipeError:
    pass
sys.exit(p.wait(timeout=20))
' "$f" "$BATS_TEST_TMPDIR/out" "$CERTCOOKIE" --cert-file "$CERT" || st=$?
		n=$((n + 1))
		check "$name" "$st" "$BATS_TEST_TMPDIR/out" ||
		    failed=$((failed + 1))
	done
	echo "$n cases, $failed failed"
	[ "$n" -ge 100 ] && [ "$failed" -eq 0 ]
}

@test "corpus: files are binary-exact (CRLF kept, no text conversion in git)" {
	# Every line of the good GET-only inputs ends in CRLF.
	local f
	for f in "$DATA"/http1/ok-{get,get-cookie-appended,http10,head}.req \
	    "$DATA"/http1/ok-{pipeline-get3,upgrade-websocket}.req; do
		if LC_ALL=C grep -q $'[^\r]$' "$f"; then
			echo "$f: a line without CR"
			return 1
		fi
	done
	grep -q $'\r$' "$DATA/http1/ok-get.req"
	# In a git checkout, git must never convert them.
	if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		run git -C "$TOP" check-attr text -- tests/data/http1/ok-get.req
		[ "$status" -eq 0 ]
		[[ "$output" == *": text: unset" ]]
	fi
}

# The rewrite is idempotent: an accepted output passes through again
# unchanged (our CERT is stripped and added back in the same place).
@test "corpus: certcookie's own output passes through it unchanged" {
	local f name failed=0 n=0 st
	for f in "$DATA"/http1/*.out; do
		name=$(basename "$f" .out)
		[ -e "$DATA/http1/$name.err" ] && continue
		st=0
		"$CERTCOOKIE" --cert-file "$CERT" <"$f" >"$BATS_TEST_TMPDIR/out" \
		    2>/dev/null || st=$?
		n=$((n + 1))
		if [ "$st" -ne 0 ] || ! cmp -s "$f" "$BATS_TEST_TMPDIR/out"; then
			echo "$name: exit $st, or the output changed"
			failed=$((failed + 1))
		fi
	done
	echo "$n outputs, $failed changed"
	[ "$n" -ge 30 ] && [ "$failed" -eq 0 ]
}

# 4000 mutants of the corpus, 400 under make sanitize, where each run of
# certcookie costs ten times more (seed 1; other seeds: run mutate.py by
# hand), read back as Python's http.server and http.cookies read them.
@test "corpus mutants: the backend never reads a CERT but ours, never desyncs" {
	local n=4000
	[ -z "$SANITIZED" ] || n=400
	run $PY "$DATA/mutate.py" "$CERTCOOKIE" "$CERT" "$DATA/http1" "$n" 1 \
	    "$BATS_TEST_TMPDIR/failed"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$n mutants, 0 failed"* ]]
}

# What certcookie accepts, Node's strict parser (llhttp) and Go's
# net/http must read as the same requests with the same Cookie fields as
# Python does, or refuse; never read other requests.  Node's cookie
# module, Go's r.Cookies() and PHP's $_COOKIE find our CERT only.
@test "corpus mutants: Node, Go, PHP and Python agree, CERT is ours" {
	export GOCACHE=$BATS_RUN_TMPDIR/gocache GOFLAGS=
	local n=3000 read='[0-9]{3}'
	[ -z "$SANITIZED" ] || n=300 read='[0-9]{2}'
	run $PY "$DATA/mutate.py" "$CERTCOOKIE" "$CERT" "$DATA/http1" "$n" 2 \
	    "$BATS_TEST_TMPDIR/failed" --node --go --php
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$n mutants, 0 failed"* ]]
	# Both really read them.
	[[ "$output" =~ "go read requests: "$read ]]
	[[ "$output" =~ "node read requests: "$read ]]
	[[ "$output" =~ "php read: "$read ]]
}
