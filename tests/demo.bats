#!/usr/bin/env bats
# make demo, as a new user runs it: twice in a row, each run showing the
# client certificate decoded by the backend, and nothing left running.
bats_require_minimum_version 1.5.0
load common

# demo_run N: run "make demo" in a new session (its id in $BATS_TEST_TMPDIR/
# sid.N), with the certificates in $BATS_TEST_TMPDIR/demo.
# Output goes to files, not pipes, so that a process left behind holding
# them open cannot hang the test.
demo_run() {
	local st=0
	DEMO_DIR=$BATS_TEST_TMPDIR/demo \
	    setsid -w sh -c 'echo $$ > "$1"; exec make -s --no-print-directory -C "$2" demo' \
	    sh "$BATS_TEST_TMPDIR/sid.$1" "$TOP" \
	    > "$BATS_TEST_TMPDIR/out.$1" 2> "$BATS_TEST_TMPDIR/err.$1" || st=$?
	output=$(cat "$BATS_TEST_TMPDIR/out.$1")
	echo "$output"
	cat "$BATS_TEST_TMPDIR/err.$1" >&2
	[ "$st" -eq 0 ]
}

teardown() {
	# Stop whatever a failed run left, so the suite can go on.
	local f pid
	for f in "$BATS_TEST_TMPDIR"/sid.*; do
		[ -s "$f" ] || continue
		for pid in $(left "$(cat "$f")" | awk '{ print $3 }'); do
			kill "$pid" 2>/dev/null || :
		done
	done
}

# left SID: the live processes of session SID, or that use the demo's
# certificates (zombies, already handed to init, do not count).
left() {
	ps -eo sid=,stat=,pid=,args= |
	    awk -v sid="$1" -v dir="$BATS_TEST_TMPDIR/demo" \
	    '$2 !~ /^Z/ && ($1 == sid || index($0, dir)) { print }' |
	    grep -v -e ' ps -eo ' -e ' awk -v ' || :
}

check_output() {
	local sha
	sha=$(sha256sum < "$BATS_TEST_TMPDIR/demo/pki/client.der" | cut -c1-64)
	[[ "$output" == *"tlsfront on 127.0.0.1:"[0-9]* ]]
	# Both answers: the certificate decoded back by the backend.
	[ "$(grep -c '^subject: CN=alice,O=Example$' <<< "$output")" -eq 2 ]
	[ "$(grep -c '^issuer: CN=Test CA,O=certcookie tests$' <<< "$output")" -eq 2 ]
	[ "$(grep -c '^serial: 1234$' <<< "$output")" -eq 2 ]
	[ "$(grep -c '^not before: ' <<< "$output")" -eq 2 ]
	[ "$(grep -c '^not after: ' <<< "$output")" -eq 2 ]
	[ "$(grep -c "^sha256: $sha\$" <<< "$output")" -eq 2 ]
	# The first without other cookies, the second with the forged one gone.
	grep -q '^cookie header: CERT=MII' <<< "$output"
	grep -q '^cookie header: theme=dark; CERT=MII' <<< "$output"
	! grep -q '^cookie header: .*forged' <<< "$output" || false
	# It ends with the command to try it by hand.
	[[ "$(tail -n 1 <<< "$output")" == "PORT=8080 python3 examples/backends/python/app.py & ./tlsfront --listen 127.0.0.1:8443 "*" -- ./certcookie --connect 127.0.0.1:8080" ]]
}

@test "make demo works twice in a row and leaves no process behind" {
	demo_run 1
	check_output
	run left "$(cat "$BATS_TEST_TMPDIR/sid.1")"
	[ -z "$output" ] || { echo "left behind: $output"; return 1; }
	[ -s "$BATS_TEST_TMPDIR/demo/pki/client.pem" ]
	demo_run 2
	check_output
	run left "$(cat "$BATS_TEST_TMPDIR/sid.2")"
	[ -z "$output" ] || { echo "left behind: $output"; return 1; }
}
