#!/usr/bin/env bats
# The chain behind a real layer-4 balancer: Debian's HAProxy, in mode
# tcp with send-proxy-v2 (examples/haproxy.cfg), balancing round-robin
# over two tlsfront --listen --proxy-protocol instances on 127.0.0.2 and
# 127.0.0.3 that share one --ticket-key; behind them certcookie
# --send-proxy-v2 to nginx, whose realip module takes the client's
# address from that header.  curl connects from 127.0.0.5.  Every
# server runs on 127.0.0.0/8 and is stopped here.
load common
bats_require_minimum_version 1.5.0

setup_file() {
	pki
	export PKI
	export ALICE_SHA=$(sha256sum <"$PKI/client.der" | cut -d' ' -f1)
}

setup() {
	PIDS=()
	cd "$PKI"
	W=$BATS_TEST_TMPDIR
	mkdir -p "$W/nginx-tmp"
}

teardown() {
	kill_trees "${PIDS[@]}"
}

# nginx_backend: nginx on 127.0.0.1:$NGINX_PORT, PROXY protocol in,
# realip from it; it answers with the client's address and the CERT
# cookie's SHA-256, and logs "$remote_addr $proxy_protocol_addr".
nginx_backend() {
	NGINX_PORT=$(free_port)
	cat >"$W/nginx.conf" <<-EOF
	user root;
	daemon off;
	error_log $W/nginx.err warn;
	pid $W/nginx.pid;
	events { worker_connections 64; }
	http {
		client_body_temp_path $W/nginx-tmp/cb;
		proxy_temp_path $W/nginx-tmp/px;
		fastcgi_temp_path $W/nginx-tmp/fc;
		uwsgi_temp_path $W/nginx-tmp/uw;
		scgi_temp_path $W/nginx-tmp/sc;
		log_format who '\$remote_addr \$proxy_protocol_addr \$request_uri';
		access_log $W/access.log who;
		server {
			listen 127.0.0.1:$NGINX_PORT proxy_protocol;
			set_real_ip_from 127.0.0.1;
			real_ip_header proxy_protocol;
			location / {
				default_type text/plain;
				return 200 "\$remote_addr \$cookie_CERT\n";
			}
		}
	}
	EOF
	nginx -p "$W" -c "$W/nginx.conf" -e "$W/nginx.err" 2>>"$W/nginx.err" &
	PIDS+=($!)
	wait_port 127.0.0.1 "$NGINX_PORT"
}

# front NAME ADDR VERBOSITY: tlsfront --listen ADDR:free port
# --proxy-protocol; its port in PORT_NAME, its log in $W/NAME.log.
front() {
	local p
	p=$(free_port)
	"$TLSFRONT" --listen "$2:$p" "$3" --cert server.pem --key server.key \
	    --ca ca.pem --ticket-key "$W/ticket.key" --proxy-protocol \
	    --proxy-from 127.0.0.1 -- "$CERTCOOKIE" --send-proxy-v2 \
	    --connect "127.0.0.1:$NGINX_PORT" </dev/null 2>>"$W/$1.log" 3>&- &
	PIDS+=($!)
	# Not a probe connection: it would be refused, and logged.
	wait_listen $! "$p"
	printf -v "PORT_$1" %s "$p"
}

# haproxy_front: examples/haproxy.cfg on 127.0.0.1:$LB_PORT, its servers
# the two tlsfront instances.
haproxy_front() {
	LB_PORT=$(free_port)
	sed -e "s/bind :443/bind 127.0.0.1:$LB_PORT/" \
	    -e "s/10.0.0.11:8443/127.0.0.2:$PORT_a/" \
	    -e "s/10.0.0.12:8443/127.0.0.3:$PORT_b/" \
	    "$TOP/examples/haproxy.cfg" >"$W/haproxy.cfg"
	grep -q "127.0.0.3:$PORT_b" "$W/haproxy.cfg"
	haproxy -db -f "$W/haproxy.cfg" </dev/null >"$W/haproxy.log" 2>&1 &
	PIDS+=($!)
	# A probe would reach a tlsfront, and end there as a failed handshake.
	wait_listen $! "$LB_PORT"
}

@test "HAProxy mode tcp over two tlsfront --proxy-protocol: the backend sees the client's address; a session made on one resumes on the other; health checks are not logged" {
	"$TLSFRONT" --new-ticket-key "$W/ticket.key"
	nginx_backend
	# a logs debug lines too: the health checks show there.
	front a 127.0.0.2 -vv
	front b 127.0.0.3 -v
	haproxy_front
	# Two connections in one curl: its session cache resumes the first
	# one's session on the second, which round-robin sends elsewhere.
	run curl -sS --max-time 20 --interface 127.0.0.5 --cacert ca.pem \
	    --cert client.pem --key client.key -H 'Connection: close' \
	    --resolve "localhost:$LB_PORT:127.0.0.1" \
	    "https://localhost:$LB_PORT/one" "https://localhost:$LB_PORT/two"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	local l cert
	for l in "${lines[@]}"; do
		[ "${l%% *}" = 127.0.0.5 ]
		cert=${l#* }
		[ "$($PY -c 'import base64, hashlib, sys
v = sys.argv[1]
print(hashlib.sha256(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))).hexdigest())' "$cert")" = "$ALICE_SHA" ]
	done
	# nginx logged both requests as from 127.0.0.5, by the header.
	cat "$W/access.log"
	[ "$(grep -c '^127.0.0.5 127.0.0.5 /' "$W/access.log")" -eq 2 ]
	# One instance made the session, the other resumed it; each logged
	# the client's address.
	sleep 3
	cat "$W/a.log" "$W/b.log"
	local logs
	logs=$(cat "$W/a.log" "$W/b.log")
	[ "$(grep -c '^tlsfront: 127.0.0.5:[0-9]* .* new verify=SUCCESS' <<<"$logs")" -eq 1 ]
	[ "$(grep -c '^tlsfront: 127.0.0.5:[0-9]* .* resumed verify=SUCCESS' <<<"$logs")" -eq 1 ]
	# ... on different instances.
	[ "$(grep -c -e ' new ' -e ' resumed ' "$W/a.log")" -eq 1 ]
	[ "$(grep -c -e ' new ' -e ' resumed ' "$W/b.log")" -eq 1 ]
	# HAProxy's health checks (every 2 s, PROXY LOCAL, then close)
	# reached both: not one warning, nor a failed handshake; at -v, b
	# logged the one connection it served and nothing else.
	# (When the check's reset comes before the worker reads, the
	# connection is gone before its header is read: quiet too.)
	grep -q -e 'PROXY LOCAL, then end of file: a health check' \
	    -e 'gone before its PROXY header was read' "$W/a.log"
	run ! grep -q -e refused -e "handshake failed" -e "without a status" \
	    "$W/a.log" "$W/b.log"
	[ "$(wc -l <"$W/b.log")" -eq 1 ]
	run ! grep -q DOWN "$W/haproxy.log"
}
