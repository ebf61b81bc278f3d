#!/usr/bin/env bats
# Slow, silent and vanishing peers on both sides of certcookie in proxy
# mode: every wait ends, and the process with it.  tests/fault.py is
# the misbehaving backend; tests/proxy_client.py the client.
load common

CERT=$TOP/tests/data/cert.pem
CLIENT=$TOP/tests/proxy_client.py
GET='GET /a HTTP/1.1\r\nHost: a\r\n\r\n'

setup() {
	REQ=$BATS_TEST_TMPDIR/req
	RAW=$BATS_TEST_TMPDIR/raw
	BLOG=$BATS_TEST_TMPDIR/backend.log
	: >"$BLOG"
	FAULT_PID=
	FAULT_LOG=$BLOG
}

teardown() {
	if [ -n "$FAULT_PID" ]; then
		kill "$FAULT_PID" 2>/dev/null || true
		wait "$FAULT_PID" 2>/dev/null || true
	fi
	return 0
}

# client [CLIENT-OPTS] -- CERTCOOKIE-ARGS: $REQ through certcookie;
# JSON in $output, seconds taken in $secs.
client() {
	local opts=() t0
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	t0=$(date +%s%N)
	run --separate-stderr $PY "$CLIENT" run "$REQ" "$RAW" "${opts[@]}" \
	    -- "$CERTCOOKIE" --cert-file "$CERT" "$@"
	secs=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "$output"; echo "stderr: $stderr"; echo "ms: $secs"
	[ "$status" -eq 0 ]
	[ "$(q .timeout)" = false ]
}

q() { jq -r "$1" <<<"$output"; }

# How many lines of the backend's log are $1.
seen() { grep -cx "$1" "$BLOG" || true; }

@test "the client ends inside a request line: 65 at once, nothing of it forwarded" {
	fault keepopen
	printf "${GET}GET /b HT" >"$REQ"
	client -- --connect "127.0.0.1:$FAULT_PORT"
	[ "$(q .exit)" = 65 ]
	[ "$(q '.responses | length')" = 2 ]
	[ "$(q '.responses[0].status')" = 200 ]
	[ "$(q '.responses[1].status')" = 400 ]
	[ "$(seen head)" = 1 ]
	[ "$secs" -lt 5000 ]
	[[ "$stderr" == *"end of input inside a request"* ]]
}

@test "the client ends inside a request after the earlier response came: the 400 still goes" {
	fault keepopen
	printf "${GET}" >"$REQ"
	printf "GET /b HT" >"$BATS_TEST_TMPDIR/then"
	client --then "$BATS_TEST_TMPDIR/then" -- --connect "127.0.0.1:$FAULT_PORT"
	[ "$(q .exit)" = 65 ]
	[ "$(q '.responses | length')" = 2 ]
	[ "$(q '.responses[1].status')" = 400 ]
	[ "$secs" -lt 5000 ]
}

@test "the client ends inside a head: 65 at once, the backend is released" {
	fault keepopen
	printf "${GET}GET /b HTTP/1.1\r\nHost: a\r\nCookie: x=1" >"$REQ"
	client -- --connect "127.0.0.1:$FAULT_PORT"
	[ "$(q .exit)" = 65 ]
	[ "$(q '.responses[1].status')" = 400 ]
	[ "$(seen head)" = 1 ]
	[ "$(seen eof)" = 1 ]
	[ "$secs" -lt 5000 ]
}

@test "the client ends inside a chunked body: 65, the backend sees a cut request" {
	fault keepopen
	printf "${GET}POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab" >"$REQ"
	client -- --connect "127.0.0.1:$FAULT_PORT"
	[ "$(q .exit)" = 65 ]
	[ "$(q '.responses[0].status')" = 200 ]
	[ "$(seen eof)" = 1 ]
	[ "$secs" -lt 5000 ]
}

@test "the client ends inside a Content-Length body, through an exec'd nc: 65 at once" {
	fault keepopen
	printf "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc" >"$REQ"
	client -- -- nc -N 127.0.0.1 "$FAULT_PORT"
	[ "$(q .exit)" = 65 ]
	[ "$secs" -lt 5000 ]
}

@test "a clean end, with a backend that keeps its end open: exit 0 once answered" {
	fault keepopen
	printf "${GET}${GET}" >"$REQ"
	client -- --connect "127.0.0.1:$FAULT_PORT"
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses | length')" = 2 ]
	[ "$secs" -lt 5000 ]
}

@test "--head-timeout: a head that stops coming gets 408 after the earlier response" {
	fault answer
	printf "${GET}GET /b HTTP/1.1\r\nHost: a\r\n" >"$REQ"
	client --keep-open -- --connect "127.0.0.1:$FAULT_PORT" --head-timeout 1
	[ "$(q .exit)" = 65 ]
	[ "$(q '.responses | length')" = 2 ]
	[ "$(q '.responses[0].status')" = 200 ]
	[ "$(q '.responses[1].status')" = 408 ]
	[ "$(seen head)" = 1 ]
	[ "$secs" -ge 900 ] && [ "$secs" -lt 5000 ]
	[[ "$stderr" == *"request head timeout"* ]]
}

@test "--head-timeout counts from the head's first byte, not from the last one" {
	fault answer
	# One byte every 0.4 s never completes the head within 2 s.
	run --separate-stderr timeout 20 $PY -c '
import subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE)
t0 = time.time()
for b in b"GET / HTTP/1.1\r\nHost: a\r\n":
    try:
        p.stdin.write(bytes([b])); p.stdin.flush()
    except BrokenPipeError:
        break
    time.sleep(0.4)
    if p.poll() is not None:
        break
out = p.stdout.read()
print(p.wait(), int((time.time() - t0) * 1000), out.split(b"\r\n")[0].decode())
' "$CERTCOOKIE" --connect "127.0.0.1:$FAULT_PORT" --head-timeout 2
	echo "$output $stderr"
	read -r st ms line <<<"$output"
	[ "$st" = 65 ]
	[ "$ms" -ge 1900 ] && [ "$ms" -lt 6000 ]
	[ "$line" = "HTTP/1.1 408 Request Timeout" ]
}

@test "--body-timeout: a body that stops coming is cut, 408, the backend released" {
	fault silent
	printf "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc" >"$REQ"
	client --keep-open -- --connect "127.0.0.1:$FAULT_PORT" --body-timeout 1
	[ "$(q .exit)" = 65 ]
	[ "$(q '.responses[0].status')" = 408 ]
	[ "$(seen eof)" = 1 ]
	[ "$secs" -ge 900 ] && [ "$secs" -lt 5000 ]
}

@test "--response-timeout: a silent backend gives 504 after the earlier response" {
	fault silent
	printf "${GET}" >"$REQ"
	client -- --connect "127.0.0.1:$FAULT_PORT" --response-timeout 1
	[ "$(q .exit)" = 69 ]
	[ "$(q '.responses | length')" = 1 ]
	[ "$(q '.responses[0].status')" = 504 ]
	[ "$secs" -ge 900 ] && [ "$secs" -lt 5000 ]
	[[ "$stderr" == *"backend response timeout"* ]]
}

@test "--response-timeout: a slow backend within it is waited for" {
	fault slow
	printf "${GET}" >"$REQ"
	client -- --connect "127.0.0.1:$FAULT_PORT" --response-timeout 6
	[ "$(q .exit)" = 0 ]
	[ "$(q '.responses[0].status')" = 200 ]
	[ "$secs" -ge 2900 ]
}

@test "a backend that closes inside a response: the client gets what came, the process ends" {
	fault half
	printf "${GET}" >"$REQ"
	client -- --connect "127.0.0.1:$FAULT_PORT"
	[ "$(head -c 15 "$RAW")" = "HTTP/1.1 200 OK" ]
	[ "$(wc -c <"$RAW")" -eq 20 ]
	[ "$(q .exit)" = 69 ]
	[ "$secs" -lt 5000 ]
}

@test "--connect-timeout: a backend that never completes the connect gives 504, exit 69" {
	fault backlog
	printf "${GET}" >"$REQ"
	client -- --connect "127.0.0.1:$FAULT_PORT" --connect-timeout 1
	[ "$(q .exit)" = 69 ]
	[ "$(q '.responses[0].status')" = 504 ]
	[ "$secs" -ge 900 ] && [ "$secs" -lt 5000 ]
}

@test "timeouts are options with defaults on the man page and in --help" {
	run "$CERTCOOKIE" --help
	for o in head-timeout body-timeout connect-timeout response-timeout; do
		[[ "$output" == *"--$o"* ]]
		grep -qF ".It Fl \\-$o Ns = Ns Ar SECS" "$TOP/certcookie.1"
	done
	run -64 --separate-stderr "$CERTCOOKIE" --head-timeout 0
}
