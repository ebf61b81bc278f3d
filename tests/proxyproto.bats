#!/usr/bin/env bats
# tlsfront --proxy-protocol and --proxy-from: the client's address from
# a PROXY v1 or v2 header (tests/pp_client.py sends them), in --listen,
# inetd and systemd modes.  Every server runs on 127.0.0.0/8 and is
# stopped here.
load common
bats_require_minimum_version 1.5.0

setup_file() {
	pki
	export PKI
}

setup() {
	PIDS=()
	cd "$PKI"
	LOG=$BATS_TEST_TMPDIR/tlsfront.err
}

teardown() {
	kill_trees "${PIDS[@]}"
}

SRV=(--cert server.pem --key server.key --ca ca.pem --verify optional)
# COMMAND: an answer with the four addresses it was given.
ADDRS=(sh -c 'printf "HTTP/1.0 200 OK\r\n\r\n%s\n" "$REMOTE_ADDR $REMOTE_PORT $SERVER_ADDR $SERVER_PORT"')

# listen ARGS...: tlsfront --listen on a free port of 127.0.0.1.
listen() {
	PORT=$(free_port)
	"$TLSFRONT" --listen "127.0.0.1:$PORT" "$@" </dev/null 2>>"$LOG" 3>&- &
	TF_PID=$!
	PIDS+=("$TF_PID")
	wait_port 127.0.0.1 "$PORT"
}

pp() {
	run timeout 40 $PY "$TOP/tests/pp_client.py" "$PORT" "$@"
	echo "$* -> $output"
}

@test "--proxy-protocol: v1 TCP4 and TCP6, v2 over IPv4 and IPv6: the client's and server's addresses are the header's" {
	listen "${SRV[@]}" --proxy-protocol -- "${ADDRS[@]}"
	pp 'v1:TCP4 203.0.113.7 192.0.2.1 5555 443'
	[ "$output" = "203.0.113.7 5555 192.0.2.1 443" ]
	pp 'v1:TCP6 2001:db8::7 2001:db8::1 6000 8443'
	[ "$output" = "2001:db8::7 6000 2001:db8::1 8443" ]
	pp 'v2:proxy:inet:198.51.100.9,4242;192.0.2.2,443'
	[ "$output" = "198.51.100.9 4242 192.0.2.2 443" ]
	pp 'v2:proxy:inet6:2001:db8::9,1;2001:db8::2,443'
	[ "$output" = "2001:db8::9 1 2001:db8::2 443" ]
	# The log names the client, not the balancer.
	kill "$TF_PID"
	wait "$TF_PID" || :
	run ! grep -q refused "$LOG"
}

@test "--proxy-protocol: v1 UNKNOWN, v2 UNSPEC and a LOCAL command keep the socket's addresses" {
	listen "${SRV[@]}" --proxy-protocol -- "${ADDRS[@]}"
	pp 'v1:UNKNOWN'
	[[ "$output" == "127.0.0.1 "*" 127.0.0.1 $PORT" ]]
	pp 'v2:proxy:unspec::'
	[[ "$output" == "127.0.0.1 "*" 127.0.0.1 $PORT" ]]
	pp 'v2:local:unspec::'
	[[ "$output" == "127.0.0.1 "*" 127.0.0.1 $PORT" ]]
}

@test "--proxy-protocol: no header, a bad one, one cut short or one too slow is refused within the handshake timeout and logged" {
	listen "${SRV[@]}" --proxy-protocol --handshake-timeout 2 -- "${ADDRS[@]}"
	# A TLS client without a header.
	run curl -sS --max-time 10 --cacert ca.pem \
	    --resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/"
	[ "$status" -ne 0 ]
	pp 'v1:TCP4 203.0.113.7 192.0.2.1 5555 65536'
	[[ "$output" == refused:* ]]
	pp 'v1:TCP4 203.0.113.7  192.0.2.1 5555 443'
	[[ "$output" == refused:* ]]
	pp 'b"PROXY TCP4 203.0.113.7 192.0.2.1 5555 443\n"'
	[[ "$output" == refused:* ]]
	pp 'b"PROXY TCP4 203.0.113.7 19"' --close
	# A header a byte every 0.5 s: cut at the 2 s timeout.
	local t0=$SECONDS
	pp 'v1:TCP4 203.0.113.7 192.0.2.1 5555 443' --drip 0.5
	[[ "$output" == refused:* ]]
	[ $((SECONDS - t0)) -lt 10 ]
	sleep 0.2
	cat "$LOG"
	grep -q 'no PROXY header: refused' "$LOG"
	grep -q 'malformed PROXY header: refused' "$LOG"
	grep -q 'end of file inside the PROXY header: refused' "$LOG"
	grep -q 'no PROXY header in time: refused' "$LOG"
	# Refusals name the peer the socket saw.
	[ "$(grep -c '^tlsfront: 127.0.0.1:[0-9]*: .*refused$' "$LOG")" -ge 5 ]
}

@test "--proxy-from: only its peers may connect, and it needs --proxy-protocol" {
	listen "${SRV[@]}" --proxy-protocol --proxy-from 127.0.0.2/32,10.0.0.0/8 \
	    --proxy-from ::1 -- "${ADDRS[@]}"
	pp 'v1:TCP4 203.0.113.7 192.0.2.1 5555 443' --src 127.0.0.2
	[ "$output" = "203.0.113.7 5555 192.0.2.1 443" ]
	pp 'v1:TCP4 203.0.113.7 192.0.2.1 5555 443' --src 127.0.0.3
	[[ "$output" == refused:* ]]
	sleep 0.2
	grep -q '^tlsfront: 127.0.0.3:[0-9]*: not a --proxy-from peer: refused$' "$LOG"
	run -64 "$TLSFRONT" --listen 127.0.0.1:1 "${SRV[@]}" --proxy-from 127.0.0.1 -- true
	[[ "$output" == *"--proxy-from needs --proxy-protocol"* ]]
	run -64 "$TLSFRONT" --listen 127.0.0.1:1 "${SRV[@]}" --proxy-protocol \
	    --proxy-from 127.0.0.1/33 -- true
	[[ "$output" == *"--proxy-from: want ADDR or ADDR/BITS"* ]]
}

@test "--proxy-protocol: a balancer's health check (PROXY LOCAL, then close) is neither logged nor a failed handshake" {
	listen "${SRV[@]}" -v --proxy-protocol -- "${ADDRS[@]}"
	pp 'v2:local:unspec::' --close
	pp 'v2:local:unspec::' --close
	pp 'v1:TCP4 203.0.113.7 192.0.2.1 5555 443'
	[ "$output" = "203.0.113.7 5555 192.0.2.1 443" ]
	sleep 0.2
	cat "$LOG"
	run ! grep -q -e refused -e 'handshake failed' -e 'warning' "$LOG"
	# The one line is the real client's.
	[ "$(grep -c '^tlsfront: 203.0.113.7:5555 ' "$LOG")" -eq 1 ]
	[ "$(wc -l <"$LOG")" -eq 1 ]
}

# activate ARGS...: systemd-socket-activate on a free port of 127.0.0.1.
activate() {
	PORT=$(free_port)
	systemd-socket-activate -l "127.0.0.1:$PORT" "$@" </dev/null \
	    2>>"$LOG" 3>&- &
	PIDS+=($!)
	wait_port 127.0.0.1 "$PORT"
}

@test "--proxy-protocol under inetd, systemd Accept=yes and Accept=no" {
	local mode
	for mode in --inetd '' none; do
		case $mode in
		--inetd) activate --inetd -a "$TLSFRONT" "${SRV[@]}" \
		    --proxy-protocol -- "${ADDRS[@]}" ;;
		'') activate -a "$TLSFRONT" "${SRV[@]}" --proxy-protocol -- \
		    "${ADDRS[@]}" ;;
		none) activate "$TLSFRONT" "${SRV[@]}" --proxy-protocol -- \
		    "${ADDRS[@]}" ;;
		esac
		pp 'v2:proxy:inet:198.51.100.9,4242;192.0.2.2,443'
		[ "$output" = "198.51.100.9 4242 192.0.2.2 443" ]
		pp 'v2:local:unspec::' --close
		pp 'b"GET / HTTP/1.0\r\n\r\n"'
		[[ "$output" == refused:* ]]
		kill_trees "${PIDS[@]}"
		PIDS=()
	done
	cat "$LOG"
	[ "$(grep -c 'no PROXY header: refused' "$LOG")" -eq 3 ]
	run ! grep -q 'handshake failed' "$LOG"
}

# pp_backend: tests/pp_backend.py on a free port; PP_PORT.
pp_backend() {
	local pf=$BATS_TEST_TMPDIR/pp.port i
	$PY "$TOP/tests/pp_backend.py" "$pf" </dev/null 3>&- &
	PIDS+=($!)
	for i in $(seq 400); do [ -s "$pf" ] && break; sleep 0.05; done
	PP_PORT=$(cat "$pf")
	[ -n "$PP_PORT" ]
}

@test "certcookie --send-proxy and --send-proxy-v2: the client's addresses, and in v2 the TLS version, cipher, CN and verify result" {
	pp_backend
	local req=$BATS_TEST_TMPDIR/req
	printf 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >"$req"
	# Behind tlsfront: alice from a PROXY v1 header's address.
	listen "${SRV[@]}" --proxy-protocol -- "$CERTCOOKIE" --send-proxy-v2 \
	    --connect "127.0.0.1:$PP_PORT"
	run timeout 20 $PY "$TOP/tests/pp_client.py" "$PORT" \
	    'v1:TCP4 203.0.113.7 192.0.2.1 5555 443' --cert client.pem client.key
	echo "$output"
	[ "$(jq -r .version <<<"$output")" = 2 ]
	[ "$(jq -r .command <<<"$output")" = PROXY ]
	[ "$(jq -r .src <<<"$output")" = 203.0.113.7:5555 ]
	[ "$(jq -r .dst <<<"$output")" = 192.0.2.1:443 ]
	[ "$(jq -r .ssl.client <<<"$output")" = 7 ]	# SSL, CERT_CONN, CERT_SESS
	[ "$(jq -r .ssl.verify <<<"$output")" = 0 ]
	[ "$(jq -r .ssl.cn <<<"$output")" = alice ]
	[ "$(jq -r .ssl.version <<<"$output")" = TLSv1.3 ]
	[[ "$(jq -r .ssl.cipher <<<"$output")" == TLS_* ]]
	[ "$(jq -r .request <<<"$output")" = "GET / HTTP/1.0" ]
	# Without a client certificate: SSL only, verify not 0.
	run timeout 20 $PY "$TOP/tests/pp_client.py" "$PORT" \
	    'v1:TCP6 2001:db8::7 2001:db8::1 6000 8443'
	echo "$output"
	[ "$(jq -r .src <<<"$output")" = "[2001:db8::7]:6000" ]
	[ "$(jq -r .ssl.client <<<"$output")" = 1 ]
	[ "$(jq -r .ssl.verify <<<"$output")" != 0 ]
	[ "$(jq -r .ssl.cn <<<"$output")" = null ]
	# v1, from the environment alone.
	run --separate-stderr env REMOTE_ADDR=198.51.100.9 REMOTE_PORT=4242 \
	    SERVER_ADDR=192.0.2.2 SERVER_PORT=443 timeout 20 "$CERTCOOKIE" \
	    --send-proxy --connect "127.0.0.1:$PP_PORT" <"$req"
	echo "$output"
	[[ "$output" == *'"version": 1, "command": "TCP4", "src": "198.51.100.9:4242", "dst": "192.0.2.2:443"'* ]]
	# No address known: UNKNOWN.
	run --separate-stderr timeout 20 "$CERTCOOKIE" --send-proxy \
	    --connect "127.0.0.1:$PP_PORT" <"$req"
	[[ "$output" == *'"version": 1, "command": "UNKNOWN"'* ]]
	# An environment whose SSL TLV cannot fit a v2 header (4096 bytes):
	# 70, certcookie's internal error, and nothing sent.
	run -70 --separate-stderr env SSL_PROTOCOL=TLSv1.3 \
	    SSL_CIPHER="$(head -c 5000 /dev/zero | tr '\0' x)" timeout 20 \
	    "$CERTCOOKIE" --send-proxy-v2 --connect "127.0.0.1:$PP_PORT" <"$req"
	[[ "$stderr" == *"PROXY header too large"* ]]
	[ -z "$output" ]
	run -64 "$CERTCOOKIE" --send-proxy -- true
	[[ "$output" == *"need --connect"* ]]
}
