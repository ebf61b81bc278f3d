#!/usr/bin/env bats
# certcookie --forwarded and --x-forwarded behind the whole chain: curl
# --cert from 127.0.0.5 -> tlsfront --listen -> certcookie -> Flask
# behind Werkzeug's ProxyFix, Express with 'trust proxy', Django with
# SECURE_PROXY_SSL_HEADER (tests/data/forwarded/).  Each app's own
# "client address" API must show 127.0.0.5, and no forged copy of a
# forwarding field may reach it.  Every server runs on 127.0.0.0/8 and
# is stopped here.
load common
bats_require_minimum_version 1.5.0

APPS=$BATS_TEST_DIRNAME/data/forwarded

setup_file() {
	pki
	export PKI
}

setup() {
	PIDS=()
	cd "$PKI"
}

teardown() {
	kill_trees "${PIDS[@]}"
}

# app NAME CMD...: the app on a free port; APP_PORT.
app() {
	local name=$1
	shift
	APP_PORT=$(free_port)
	PORT=$APP_PORT "$@" </dev/null >"$BATS_TEST_TMPDIR/$name.log" 2>&1 3>&- &
	PIDS+=($!)
	wait_port 127.0.0.1 "$APP_PORT" || { cat "$BATS_TEST_TMPDIR/$name.log"; return 1; }
}

# front CERTCOOKIE-ARGS...: tlsfront --listen -> certcookie ARGS
# --connect the app; FRONT_PORT.
front() {
	FRONT_PORT=$(free_port)
	"$TLSFRONT" --listen "127.0.0.1:$FRONT_PORT" --cert server.pem \
	    --key server.key --ca ca.pem --verify optional -- \
	    "$CERTCOOKIE" "$@" --connect "127.0.0.1:$APP_PORT" </dev/null \
	    2>>"$BATS_TEST_TMPDIR/front.log" 3>&- &
	PIDS+=($!)
	wait_port 127.0.0.1 "$FRONT_PORT"
}

# ask [CURL-ARGS...]: a request from 127.0.0.5 with forged forwarding
# fields, every spelling a backend might read; the answer on stdout.
FORGED=(-H 'X-Forwarded-For: 6.6.6.6' -H 'X-Forwarded-Proto: http'
    -H 'X-Forwarded-Port: 6666' -H 'Forwarded: for=6.6.6.6;proto=http'
    -H 'x-forwarded-for: 6.6.6.6' -H 'X_Forwarded_For: 6.6.6.6'
    -H 'X-FORWARDED-PROTO: http' -H 'forwarded: for="6.6.6.6"')
ask() {
	curl -sS --max-time 20 --interface 127.0.0.5 --cacert ca.pem \
	    --resolve "localhost:$FRONT_PORT:127.0.0.1" "$@" \
	    "https://localhost:$FRONT_PORT/"
}

# check: the app saw the client as 127.0.0.5 over https on FRONT_PORT,
# through our fields only, with and without a client certificate.
check() {
	local out
	for c in "--cert client.pem --key client.key" ""; do
		out=$(ask $c "${FORGED[@]}")
		echo "$c: $out"
		[[ "$out" == "127.0.0.5 https $FRONT_PORT | "* ]]
		[[ "$out" != *6.6.6.6* ]]
		[[ "$out" != *6666* ]]
		[[ "$out" != *proto=http\;* && "$out" != *'proto=http '* ]]
	done
}

@test "--x-forwarded --forwarded: Flask behind Werkzeug's ProxyFix sees the client's address, and no forged one" {
	$PY -c 'import flask' || { echo "python3-flask missing: run tests/deps.sh"; return 1; }
	app flask $PY "$APPS/flask_app.py"
	front --x-forwarded --forwarded
	check
	out=$(ask)
	[[ "$out" == *"HTTP_FORWARDED=for=\"127.0.0.5:"*"\";proto=https"* ]]
}

@test "--x-forwarded --forwarded: Express with 'trust proxy' sees the client's address, and no forged one" {
	NODE_PATH=/usr/share/nodejs node -e 'require("express")' || { echo "node-express missing: run tests/deps.sh"; return 1; }
	NODE_PATH=/usr/share/nodejs app express node "$APPS/express_app.js"
	front --x-forwarded --forwarded
	check
}

@test "--x-forwarded --forwarded: Django with SECURE_PROXY_SSL_HEADER sees the client's address and https, and no forged one" {
	$PY -c 'import django' || { echo "python3-django missing: run tests/deps.sh"; return 1; }
	app django $PY "$APPS/django_app.py"
	front --x-forwarded --forwarded
	check
}

@test "--x-forwarded --reject-spoof: a request with a forged X-Forwarded-For gets 400, one without is served" {
	$PY -c 'import flask' || { echo "python3-flask missing: run tests/deps.sh"; return 1; }
	app flask $PY "$APPS/flask_app.py"
	front --x-forwarded --reject-spoof
	run ask -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 6.6.6.6'
	[ "$output" = 400 ]
	run ask -o /dev/null -w '%{http_code}' -H 'X_Forwarded_For: 6.6.6.6'
	[ "$output" = 400 ]
	run ask
	[[ "$output" == "127.0.0.5 https $FRONT_PORT | "* ]]
}

@test "without --forwarded or --x-forwarded, forwarding fields are the client's and pass as sent" {
	$PY -c 'import flask' || { echo "python3-flask missing: run tests/deps.sh"; return 1; }
	app flask $PY "$APPS/flask_app.py"
	front
	run ask -H 'X-Forwarded-For: 6.6.6.6'
	echo "$output"
	[[ "$output" == "6.6.6.6 "* ]]
}

@test "--forwarded --x-forwarded without REMOTE_ADDR: the address of a TCP client socket (inetd-style), proto http" {
	start_backend
	PIDS+=("$BACKEND_PID")
	local port
	port=$(free_port)
	systemd-socket-activate -l "127.0.0.1:$port" --inetd -a \
	    env -u REMOTE_ADDR -u REMOTE_PORT "$CERTCOOKIE" --forwarded \
	    --x-forwarded --connect "127.0.0.1:$BACKEND_PORT" </dev/null \
	    2>"$BATS_TEST_TMPDIR/ssa.log" 3>&- &
	PIDS+=($!)
	wait_listen $! "$port"
	run timeout 20 $PY - "$port" <<-'PY'
	import json, socket, sys
	s = socket.socket()
	s.bind(("127.0.0.6", 0))
	s.connect(("127.0.0.1", int(sys.argv[1])))
	s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n")
	got = b""
	while True:
	    d = s.recv(65536)
	    if not d:
	        break
	    got += d
	h = dict((k.lower(), v) for k, v in json.loads(got.split(b"\r\n\r\n", 1)[1])["headers"])
	print(s.getsockname()[1])
	print(h.get("forwarded"))
	print(h.get("x-forwarded-for"), h.get("x-forwarded-proto"), h.get("x-forwarded-port"))
	PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "for=\"127.0.0.6:${lines[0]}\";proto=http" ]
	[ "${lines[2]}" = "127.0.0.6 http $port" ]
}

@test "generated: 2000 seeded spellings of forwarding fields, split at random, never pass --forwarded --x-forwarded; other fields always do" {
	run timeout 60 $PY - "$CERTCOOKIE" <<-'PY'
	import random, subprocess, sys
	rng = random.Random(13)
	ours = ["Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port"]
	others = ["X-Forwarded-Host", "X-Real-IP", "Forwarded-For", "X-Forwarded",
	          "XForwarded-For", "X-Forwarded-Fo", "Forwardedx"]
	def spell(n):
	    return "".join(rng.choice([c.lower(), c.upper()]) if c.isalpha()
	                   else rng.choice("-_") if c == "-" else c for c in n)
	reqs, want = [], []
	for i in range(2000):
	    name = spell(rng.choice(ours + others))
	    reqs.append(b"GET /%d HTTP/1.1\r\nHost: a\r\n%s: 6.6.6.6\r\n\r\n" % (i, name.encode()))
	    want.append(name.replace("_", "-").lower() not in [o.lower() for o in ours])
	data = b"".join(reqs)
	# Random splits: the input arrives in pieces of 1 to 200 bytes.
	p = subprocess.Popen([sys.argv[1], "--forwarded", "--x-forwarded"],
	    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
	    env={"REMOTE_ADDR": "192.0.2.7", "REMOTE_PORT": "1", "PATH": "/usr/bin"})
	import threading
	out = []
	t = threading.Thread(target=lambda: out.append(p.stdout.read()))
	t.start()
	i = 0
	while i < len(data):
	    n = rng.randint(1, 200)
	    p.stdin.write(data[i:i + n]); p.stdin.flush()
	    i += n
	p.stdin.close(); t.join(); p.wait()
	heads = out[0].split(b"GET /")[1:]
	bad = 0
	for i, h in enumerate(heads):
	    passed = b"6.6.6.6" in h
	    if passed != want[i] or b"X-Forwarded-For: 192.0.2.7" not in h:
	        bad += 1
	print(len(heads), sum(want), bad, p.returncode)
	PY
	echo "$output"
	[ "$status" -eq 0 ]
	set -- $output
	[ "$1" -eq 2000 ]
	[ "$2" -gt 500 ]
	[ "$3" -eq 0 ]
	[ "$4" -eq 0 ]
}
