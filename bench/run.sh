#!/bin/bash
# bench/run.sh: what a TLS front end costs per connection, per request,
# per GiB and per idle connection, for tlsfront + certcookie and for the
# peers, all measured side by side in the same run.
#
# Backend: nginx on 127.0.0.1 (a 6-byte answer at /, a sparse 1 GiB file
# at /big).  Front ends, each with an ECDSA P-256 server key, a client
# certificate required and verified against the same CA, TLS 1.2-1.3:
#   nginx          proxy_pass, verified cert as X-SSL-Client-Cert
#                  ($ssl_client_escaped_cert), upstream keep-alive
#   haproxy        verify required, X-SSL-Client-Cert %[ssl_c_der,base64]
#   stunnel        daemon (threads), tunnel only: nothing forwarded
#   stunnel-inetd  one stunnel per connection under
#                  systemd-socket-activate --inetd, tunnel only
#   tlsfront       tlsfront --listen -- certcookie --connect BACKEND
#   tlsfront-handoff  the same with --handoff: certcookie started once per
#                  worker and passed each connection
#   tlsfront-inetd one tlsfront per connection under
#                  systemd-socket-activate --inetd, same chain
# Both per-connection front ends get a ticket key shared by all their
# processes, so that resumption can work there too.
#
# Client: curl (OpenSSL), offering TLS_AES_128_GCM_SHA256 only, so every
# front end runs the same cipher; the client certificate is RSA 2048.
#   full      N connections, --parallel --parallel-max 8, --no-sessionid,
#             Connection: close: CPU ms per connection
#   resumed   the same with session reuse (the first 8 connections of the
#             N are full handshakes: curl has no ticket yet)
#   keepalive M requests over 8 keep-alive connections: CPU us per
#             request, after subtracting the connections' own cost (the
#             number curl opened times the "full" figure of this run)
#   download  one 1 GiB download: CPU s per GiB, and MB/s
#   memory    K idle connections (after one request each): private memory
#             (Private_* of /proc/PID/smaps_rollup, all processes of the
#             front end) minus that before, KiB per connection
#   exec      this machine's own cost of starting a program: posix_spawn
#             + wait of an empty C program, static and dynamic (built in
#             the work directory), X times each, interleaved; the median
#             wall time, printed under every table (bench/spawn.c, as
#             bench/exec.sh), the floor of any per-connection front end
# CPU is that of the front end's whole process tree, reaped children
# included: each front end runs in its own cgroup (cpu.stat usage_usec, or
# cpuacct.usage), which also holds the processes that leave the tree
# (tlsfront's per-connection relay is reparented to init).  Without
# cgroups (or with CPU_FROM=proc), /proc/PID/stat of the tree, utime +
# stime + cutime + cstime: that misses processes that left the tree, and
# the table says "CPU from proc".
# The systemd-socket-activate process counts as part of the per-connection
# front ends (it accepts and forks, as inetd or systemd would).
#
# Environment:
#   QUICK=1      smaller counts, whole run in under two minutes
#   REPS=3       repetitions; front ends interleaved within each, their
#                order rotated from one repetition to the next
#   N, M, K, DOWNLOAD_MIB, X   override the counts
#   FRONTENDS="nginx haproxy ..."   a subset
#   METRICS="full memory ..."   a subset of full resumed keepalive download
#                memory (default all; keepalive needs full, download also
#                gives MB/s); the others show "not run".  The memory
#                figure of tlsfront --listen depends on the loads before
#                it (its reused workers): compare it with all metrics run.
#   TLSFRONT, CERTCOOKIE  the programs (default ./tlsfront, ./certcookie)
# Output: the table on stdout, also bench/out/run-latest.md; raw figures in
# bench/out/run-DATE.tsv.  Only 127.0.0.1 is used; every process started
# here is stopped on exit.
set -eu
cd "$(dirname "$0")/.."
top=$PWD
. bench/lib.sh

QUICK=${QUICK:-0}
REPS=${REPS:-3}
if [ "$QUICK" = 1 ]; then
	N=${N:-100} M=${M:-2000} K=${K:-30} DOWNLOAD_MIB=${DOWNLOAD_MIB:-256}
	X=${X:-300}
else
	N=${N:-500} M=${M:-20000} K=${K:-100} DOWNLOAD_MIB=${DOWNLOAD_MIB:-1024}
	X=${X:-1000}
fi
FRONTENDS=${FRONTENDS:-nginx haproxy stunnel stunnel-inetd tlsfront tlsfront-handoff tlsfront-inetd}
METRICS=${METRICS:-full resumed keepalive download memory}
for m in $METRICS; do
	case $m in
	full | resumed | keepalive | download | memory) ;;
	*) echo "bench: METRICS: unknown metric $m" >&2; exit 64 ;;
	esac
done
# want METRIC: true when METRIC is to be measured.
want() { case " $METRICS " in *" $1 "*) ;; *) return 1 ;; esac; }
TLSFRONT=$(realpath -m "${TLSFRONT:-./tlsfront}")
CERTCOOKIE=$(realpath -m "${CERTCOOKIE:-./certcookie}")
PAR=8		# curl --parallel-max

if [ "$(id -u)" -eq 0 ]; then
	sh tests/deps.sh bench
fi
for p in nginx haproxy stunnel4 curl python3 systemd-socket-activate \
    openssl ss; do
	command -v "$p" >/dev/null ||
	    { echo "bench: $p missing: sh tests/deps.sh bench" >&2; exit 1; }
done

mkdir -p bench/out
sh tests/pki.sh bench/out/pki >/dev/null
pki=$top/bench/out/pki
work=$(mktemp -d "$top/bench/out/run.XXXXXX")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
raw=$top/bench/out/run-$stamp.tsv

# --- process groups ---------------------------------------------------
# cg_mode: v2 (cgroup2 cpu.stat), v1 (cpuacct) or proc (no cgroup).
cg_mode=proc cg_base=
for d in ${CPU_FROM:+/nonexistent} /sys/fs/cgroup/unified /sys/fs/cgroup; do
	[ "$(stat -fc %T "$d" 2>/dev/null)" = cgroup2fs ] || continue
	if mkdir "$d/certcookie-bench.$$" 2>/dev/null; then
		cg_mode=v2 cg_base=$d/certcookie-bench.$$
		break
	fi
done
if [ "$cg_mode" = proc ] && [ -z "${CPU_FROM:-}" ] &&
    [ -d /sys/fs/cgroup/cpuacct ] &&
    mkdir "/sys/fs/cgroup/cpuacct/certcookie-bench.$$" 2>/dev/null; then
	cg_mode=v1 cg_base=/sys/fs/cgroup/cpuacct/certcookie-bench.$$
fi

declare -A root_pid	# group name -> PID started (proc mode)

# spawn GROUP LOG CMD...: start CMD in the background in its own group.
spawn() {
	local g=$1 log=$2
	shift 2
	if [ "$cg_mode" = proc ]; then
		"$@" >"$log" 2>&1 </dev/null &
	else
		mkdir -p "$cg_base/$g"
		sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' \
		    "$cg_base/$g" "$@" >"$log" 2>&1 </dev/null &
	fi
	root_pid[$g]=$!
}

# client CMD...: run a client command in the "client" group, so that its
# CPU is known too (for the idle check).
client() {
	if [ "$cg_mode" = proc ]; then
		"$@"
	else
		mkdir -p "$cg_base/client"
		sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' \
		    "$cg_base/client" "$@"
	fi
}

# tree PID: PID and all its descendants.
tree() {
	ps -e -o pid=,ppid= | awk -v r="$1" '
	    { kid[$2] = kid[$2] " " $1 }
	    END { q = r; while (q != "") { split(q, a, " "); q = "";
	        for (i in a) { print a[i]; q = q " " kid[a[i]] } } }'
}

# pids GROUP: the processes of a group.
pids() {
	if [ "$cg_mode" = proc ]; then
		[ -n "${root_pid[$1]:-}" ] && tree "${root_pid[$1]}"
	else
		cat "$cg_base/$1/cgroup.procs" 2>/dev/null || true
	fi
}

# cpu_us GROUP: CPU microseconds used so far by the group, reaped
# processes included.
cpu_us() {
	case $cg_mode in
	v2) awk '$1 == "usage_usec" { print $2 }' "$cg_base/$1/cpu.stat" ;;
	v1) awk '{ printf "%.0f\n", $1 / 1000 }' "$cg_base/$1/cpuacct.usage" ;;
	proc)
		local hz
		hz=$(getconf CLK_TCK)
		for p in $(pids "$1"); do
			# fields after the ")" of comm: utime is the 12th
			sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true
		done | awk -v hz="$hz" '{ t += $12 + $13 + $14 + $15 }
		    END { printf "%.0f\n", t * 1e6 / hz }' ;;
	esac
}

# mem_kib GROUP: private memory of all processes of the group, in KiB.
mem_kib() {
	pid_mem_kib $(pids "$1")
}

# pid_mem_kib PID...: private memory of these processes, in KiB.
pid_mem_kib() {
	for p in "$@"; do
		cat "/proc/$p/smaps_rollup" 2>/dev/null || true
	done | awk '/^Private_/ { t += $2 } END { print t + 0 }'
}

# machine_busy_us: CPU time used by the whole machine (all cores).
machine_busy_us() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {
	    printf "%.0f\n", ($2 + $3 + $4 + $7 + $8) * 1e6 / hz }' /proc/stat
}

stop_all() {
	local g p
	for g in "${!root_pid[@]}"; do
		for p in $(pids "$g"); do
			kill "$p" 2>/dev/null || true
		done
		kill "${root_pid[$g]}" 2>/dev/null || true
	done
	sleep 0.3
	for g in "${!root_pid[@]}"; do
		for p in $(pids "$g"); do
			kill -9 "$p" 2>/dev/null || true
		done
	done
	wait 2>/dev/null || true
	if [ -n "$cg_base" ]; then
		for g in "$cg_base"/*/; do
			[ -d "$g" ] && rmdir "$g" 2>/dev/null || true
		done
		rmdir "$cg_base" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# --- configurations ----------------------------------------------------
# Plain PEM files (certtool puts a text dump before the PEM blocks).
for f in ca.pem server.pem server.key client.pem client.key; do
	sed -n '/^-----BEGIN/,/^-----END/p' "$pki/$f" >"$work/$f"
done
cat "$work/server.pem" "$work/server.key" >"$work/server-combined.pem"
ca=$work/ca.pem scert=$work/server.pem skey=$work/server.key
ccert=$work/client.pem ckey=$work/client.key

big=$top/bench/out/big-$DOWNLOAD_MIB.bin
[ -e "$big" ] || truncate -s "${DOWNLOAD_MIB}M" "$big"
download_bytes=$((DOWNLOAD_MIB * 1048576))

declare -A port
for fe in backend $FRONTENDS; do
	port[$fe]=$(free_port)
done
B=${port[backend]}
mkdir -p "$work/nginx-tmp"

nginx_common="user root;
daemon off;
error_log $work/%s.err warn;
pid $work/%s.pid;
events { worker_connections 4096; }"
nginx_temps="client_body_temp_path $work/nginx-tmp/cb;
	proxy_temp_path $work/nginx-tmp/px;
	fastcgi_temp_path $work/nginx-tmp/fc;
	uwsgi_temp_path $work/nginx-tmp/uw;
	scgi_temp_path $work/nginx-tmp/sc;"

# shellcheck disable=SC2059
{ printf "$nginx_common\n" backend backend; cat <<EOF
worker_processes 1;
http {
	access_log off;
	$nginx_temps
	sendfile on;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	server {
		listen 127.0.0.1:$B;
		location = / { return 200 "hello\n"; }
		location = /big { alias $big; }
		location = /check {
			return 200 "header=\$http_x_ssl_client_cert cookie=\$http_cookie\n";
		}
	}
}
EOF
} >"$work/backend.conf"

# shellcheck disable=SC2059
{ printf "$nginx_common\n" nginx nginx; cat <<EOF
worker_processes auto;
http {
	access_log off;
	$nginx_temps
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	upstream backend { server 127.0.0.1:$B; keepalive 64; }
	server {
		listen 127.0.0.1:${port[nginx]:-0} ssl;
		ssl_certificate $scert;
		ssl_certificate_key $skey;
		ssl_client_certificate $ca;
		ssl_verify_client on;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_session_cache shared:SSL:10m;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
			proxy_max_temp_file_size 0;
		}
	}
}
EOF
} >"$work/nginx.conf"

cat >"$work/haproxy.cfg" <<EOF
global
	maxconn 4000
	ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
	mode http
	timeout connect 5s
	timeout client 300s
	timeout server 300s
	timeout http-keep-alive 300s
frontend tls
	bind 127.0.0.1:${port[haproxy]:-0} ssl crt $work/server-combined.pem ca-file $ca verify required alpn http/1.1
	http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64]
	default_backend plain
backend plain
	server backend 127.0.0.1:$B
EOF

stunnel_tls="cert = $scert
key = $skey
CAfile = $ca
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.2
connect = 127.0.0.1:$B"
cat >"$work/stunnel.conf" <<EOF
foreground = yes
pid =
debug = 3
[tls]
accept = 127.0.0.1:${port[stunnel]:-0}
$stunnel_tls
EOF
# inetd mode: no service section, no accept; the ticket secrets let every
# process decrypt the tickets of the others.
cat >"$work/stunnel-inetd.conf" <<EOF
foreground = yes
pid =
debug = 3
$stunnel_tls
ticketKeySecret = $(openssl rand -hex 32)
ticketMacSecret = $(openssl rand -hex 32)
EOF

# tlsfront's arguments, with a shared ticket key when it has the option.
tf_args=(--cert "$scert" --key "$skey" --ca "$ca")
cc_args=(--connect "127.0.0.1:$B")
have_tlsfront=no
if is_real "$TLSFRONT" && is_real "$CERTCOOKIE"; then
	have_tlsfront=yes
	if "$TLSFRONT" --help 2>&1 | grep -q -- --ticket-key; then
		if "$TLSFRONT" --help 2>&1 | grep -q -- --new-ticket-key; then
			"$TLSFRONT" --new-ticket-key "$work/ticket.key"
		else
			head -c 64 /dev/urandom >"$work/ticket.key"
		fi
		tf_ticket=(--ticket-key "$work/ticket.key")
	else
		tf_ticket=()
	fi
fi

# --- start everything ----------------------------------------------------
started=
start_fe() {
	local fe=$1 p=${port[$1]:-}
	case $fe in
	backend) spawn backend "$work/backend.log" \
	    nginx -e "$work/backend.err" -p "$work" -c "$work/backend.conf" ;;
	nginx) spawn nginx "$work/nginx.log" \
	    nginx -e "$work/nginx.err" -p "$work" -c "$work/nginx.conf" ;;
	haproxy) spawn haproxy "$work/haproxy.log" \
	    haproxy -db -f "$work/haproxy.cfg" ;;
	stunnel) spawn stunnel "$work/stunnel.log" \
	    stunnel4 "$work/stunnel.conf" ;;
	stunnel-inetd) spawn stunnel-inetd "$work/stunnel-inetd.log" \
	    systemd-socket-activate -l "127.0.0.1:$p" --inetd -a \
	    stunnel4 "$work/stunnel-inetd.conf" ;;
	tlsfront)
		[ "$have_tlsfront" = yes ] || return 1
		spawn tlsfront "$work/tlsfront.log" "$TLSFRONT" "${tf_args[@]}" \
		    "${tf_ticket[@]}" --listen "127.0.0.1:$p" -- \
		    "$CERTCOOKIE" "${cc_args[@]}" ;;
	tlsfront-handoff)
		[ "$have_tlsfront" = yes ] || return 1
		"$TLSFRONT" --help 2>&1 | grep -q -- --handoff || return 1
		spawn tlsfront-handoff "$work/tlsfront-handoff.log" \
		    "$TLSFRONT" "${tf_args[@]}" "${tf_ticket[@]}" --handoff \
		    --listen "127.0.0.1:$p" -- "$CERTCOOKIE" "${cc_args[@]}" ;;
	tlsfront-inetd)
		[ "$have_tlsfront" = yes ] || return 1
		spawn tlsfront-inetd "$work/tlsfront-inetd.log" \
		    systemd-socket-activate -l "127.0.0.1:$p" --inetd -a \
		    "$TLSFRONT" "${tf_args[@]}" "${tf_ticket[@]}" -- \
		    "$CERTCOOKIE" "${cc_args[@]}" ;;
	esac
	wait_port "${port[$fe]}" 10 || return 1
	started="$started $fe"
}

start_fe backend || { cat "$work"/backend.*; exit 1; }
declare -A state	# front end -> ok | not built yet | failed to start
for fe in $FRONTENDS; do
	if start_fe "$fe"; then
		state[$fe]=ok
	elif [ "${fe#tlsfront}" != "$fe" ] && [ "$have_tlsfront" != yes ]; then
		state[$fe]="not built yet"
	else
		state[$fe]="failed to start"
		echo "bench: $fe did not start:" >&2
		tail -n 5 "$work/$fe".* >&2 || true
	fi
done

# --- the client -----------------------------------------------------------
# curl_tls PORT ARGS...: curl with the client certificate, the same cipher
# for everybody, "localhost" pinned to 127.0.0.1.
curl_tls() {
	local p=$1
	shift
	client curl -s --cacert "$ca" --cert "$ccert" --key "$ckey" \
	    --connect-timeout 10 --max-time 120 \
	    --tls13-ciphers TLS_AES_128_GCM_SHA256 \
	    --resolve "localhost:$p:127.0.0.1" "$@"
}
url() { echo "https://localhost:${port[$1]}$2"; }

# --- what each front end does (checked once, printed with the table) ---
declare -A note
for fe in $FRONTENDS; do
	[ "${state[$fe]}" = ok ] || continue
	p=${port[$fe]}
	proto=$(curl_tls "$p" -v -o /dev/null "$(url "$fe" /)" 2>&1 |
	    sed -n 's/^\* SSL connection using \([^ ]*\) \/ \([^ ]*\).*/\1 \2/p' |
	    head -n 1)
	chk=$(curl_tls "$p" "$(url "$fe" /check)" || true)
	case $chk in
	*"header= cookie="*CERT=?*) fwd="CERT cookie" ;;
	*"header= cookie="*) fwd="nothing forwarded" ;;
	*header=?*) fwd="X-SSL-Client-Cert header" ;;
	*) fwd="check failed" ;;
	esac
	nocert=$(client curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$ca" \
	    --resolve "localhost:$p:127.0.0.1" "$(url "$fe" /)" || true)
	case $nocert in
	000) nocert="refused in handshake" ;;
	*) nocert="answered HTTP $nocert" ;;
	esac
	# Resumption, checked with openssl s_client (TLS 1.3 ticket).
	rm -f "$work/sess"
	printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
	    timeout 10 openssl s_client -connect "127.0.0.1:$p" \
	    -servername localhost -CAfile "$ca" -cert "$ccert" -key "$ckey" \
	    -sess_out "$work/sess" -ign_eof >/dev/null 2>&1 || true
	resumed=no
	if [ -s "$work/sess" ] &&
	    printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
	    timeout 10 openssl s_client -connect "127.0.0.1:$p" \
	    -servername localhost -CAfile "$ca" -cert "$ccert" -key "$ckey" \
	    -sess_in "$work/sess" -ign_eof 2>/dev/null | grep -q '^Reused'
	then
		resumed=yes
	fi
	note[$fe]="$proto; forwards: $fwd; without a client cert: $nocert; resumes: $resumed"
done

# --- the measurements -------------------------------------------------------
# Each prints one figure, or "err" when the transfers did not all succeed.

m_full() {	# CPU ms per connection, full handshakes
	local fe=$1 c0 c1 ok
	c0=$(cpu_us "$fe")
	ok=$(curl_tls "${port[$fe]}" --parallel --parallel-max $PAR \
	    --no-sessionid -H 'Connection: close' -o /dev/null \
	    -w '%{http_code}\n' "$(url "$fe" "/?[1-$N]")" 2>/dev/null | grep -c '^200$' ||
	    true)
	c1=$(cpu_us "$fe")
	[ "$ok" -eq "$N" ] || { echo err; return; }
	calc "($c1 - $c0) / $N / 1000"
}

m_resumed() {	# CPU ms per connection, session reuse
	local fe=$1 c0 c1 ok
	c0=$(cpu_us "$fe")
	ok=$(curl_tls "${port[$fe]}" --parallel --parallel-max $PAR \
	    -H 'Connection: close' -o /dev/null \
	    -w '%{http_code}\n' "$(url "$fe" "/?[1-$N]")" 2>/dev/null | grep -c '^200$' ||
	    true)
	c1=$(cpu_us "$fe")
	[ "$ok" -eq "$N" ] || { echo err; return; }
	calc "($c1 - $c0) / $N / 1000"
}

m_keepalive() {	# CPU us per request on open connections; $2: full ms
	local fe=$1 full=$2 c0 c1 out ok conns
	c0=$(cpu_us "$fe")
	out=$(curl_tls "${port[$fe]}" --parallel --parallel-max $PAR \
	    --no-sessionid -o /dev/null -w '%{http_code} %{num_connects}\n' \
	    "$(url "$fe" "/?[1-$M]")" 2>/dev/null || true)
	c1=$(cpu_us "$fe")
	ok=$(grep -c '^200 ' <<<"$out" || true)
	conns=$(awk '{ n += $2 } END { print n + 0 }' <<<"$out")
	[ "$ok" -eq "$M" ] && [ "$full" != err ] || { echo err; return; }
	calc "(($c1 - $c0) - $conns * $full * 1000) / ($M - $conns)"
}

m_download() {	# "CPU s per GiB" and "MB/s", one transfer
	local fe=$1 c0 c1 out
	c0=$(cpu_us "$fe")
	out=$(curl_tls "${port[$fe]}" -o /dev/null \
	    -w '%{http_code} %{size_download} %{time_total}\n' \
	    "$(url "$fe" /big)" || true)
	c1=$(cpu_us "$fe")
	set -- $out
	if [ "${1:-}" != 200 ] || [ "${2:-0}" -ne "$download_bytes" ]; then
		echo "err err"
		return
	fi
	echo "$(calc "($c1 - $c0) / 1e6 * 1073741824 / $2")" \
	    "$(calc "$2 / $3 / 1e6")"
}

m_memory() {	# private KiB per idle connection
	local fe=$1 m0 m1 ready alive
	m0=$(mem_kib "$fe")
	# tlsfront --listen keeps up to 16 idle workers from the loads
	# before; they are there for connections, so they count as the
	# connections' memory: the baseline is the accept loop alone.
	case $fe in
	tlsfront | tlsfront-handoff) m0=$(pid_mem_kib "${root_pid[$fe]}") ;;
	esac
	coproc HOLD { client python3 "$top/bench/hold.py" "${port[$fe]}" "$K" \
	    "$ca" "$ccert" "$ckey" 2>/dev/null; }
	read -r -t 120 _ ready <&"${HOLD[0]}" || ready=0
	sleep 0.5
	m1=$(mem_kib "$fe")
	echo >&"${HOLD[1]}"
	read -r -t 30 _ alive <&"${HOLD[0]}" || alive=0
	wait "$HOLD_PID" 2>/dev/null || true
	if [ "$ready" -ne "$K" ] || [ "$alive" -ne "$K" ]; then
		echo err
		return
	fi
	calc "($m1 - $m0) / $K"
}

metrics="full resumed keepalive download mbps memory"
declare -A val	# "fe metric" -> space-separated figures, one per repetition
record() {	# record FE METRIC VALUE REP
	val[$1 $2]="${val[$1 $2]:-} $3"
	printf '%s\t%s\t%s\t%s\n' "$4" "$1" "$2" "$3" >>"$raw"
}

live=
for fe in $FRONTENDS; do
	[ "${state[$fe]}" = ok ] && live="$live $fe"
done
read -r -a order <<<"$live"

printf 'rep\tfrontend\tmetric\tvalue\n' >"$raw"
check_idle
t_start=$(now_ns)
for rep in $(seq "$REPS"); do
	# rotate the order of the front ends by one each repetition
	if [ "${#order[@]}" -gt 1 ] && [ "$rep" -gt 1 ]; then
		order=("${order[@]:1}" "${order[0]}")
	fi
	busy0=$(machine_busy_us) ours0=0
	for g in backend client $live; do
		ours0=$((ours0 + $(cpu_us "$g" 2>/dev/null || echo 0)))
	done
	w0=$(now_ns)
	declare -A fullnow=()
	for fe in "${order[@]}"; do
		want full || break
		v=$(m_full "$fe"); fullnow[$fe]=$v; record "$fe" full "$v" "$rep"
	done
	for fe in "${order[@]}"; do
		want resumed || break
		record "$fe" resumed "$(m_resumed "$fe")" "$rep"
	done
	for fe in "${order[@]}"; do
		want keepalive || break
		record "$fe" keepalive \
		    "$(m_keepalive "$fe" "${fullnow[$fe]:-err}")" "$rep"
	done
	for fe in "${order[@]}"; do
		want download || break
		read -r s mbps <<<"$(m_download "$fe")"
		record "$fe" download "$s" "$rep"
		record "$fe" mbps "$mbps" "$rep"
	done
	for fe in "${order[@]}"; do
		want memory || break
		record "$fe" memory "$(m_memory "$fe")" "$rep"
	done
	# CPU used meanwhile by processes that are not ours, in cores
	if [ "$cg_mode" != proc ]; then
		busy1=$(machine_busy_us) ours1=0
		for g in backend client $live; do
			ours1=$((ours1 + $(cpu_us "$g" 2>/dev/null || echo 0)))
		done
		# (jiffy granularity: a small negative figure means about 0)
		other=$(calc "(($busy1 - $busy0) - ($ours1 - $ours0)) / ((\
$(now_ns) - $w0) / 1000)")
		echo "bench: repetition $rep of $REPS done; other processes used" \
		    "$(printf %.2f "$other") of $(nproc) cores meanwhile" >&2
		others="${others:+$others, }$(printf %.2f "$other")"
		if awk -v o="$other" 'BEGIN { exit !(o > 0.25) }'; then
			echo "bench: WARNING: the machine was not idle during" \
			    "repetition $rep; figures are noisy" >&2
			busy_reps="${busy_reps:-} $rep"
		fi
	else
		echo "bench: repetition $rep of $REPS done" >&2
		check_idle
	fi
done
elapsed=$(calc "($(now_ns) - $t_start) / 1e9")

# --- the cost of one exec on this machine ----------------------------------
exec_note="not measured (no C compiler)"
if command -v cc >/dev/null &&
    cc -std=c11 -D_GNU_SOURCE -O2 -o "$work/spawn" bench/spawn.c &&
    echo 'int main(void) { return 0; }' >"$work/empty.c" &&
    cc -O2 -static -o "$work/empty-static" "$work/empty.c" &&
    cc -O2 -o "$work/empty-dynamic" "$work/empty.c"; then
	echo "bench: exec: $X posix_spawn + wait of each empty program" >&2
	{ read -r st _ && read -r dy _; } < <("$work/spawn" "$X" /dev/null \
	    -- "$work/empty-static" -- "$work/empty-dynamic") || st=
	if [ -n "$st" ]; then
		exec_note=$(printf 'static %.2f ms, dynamic %.2f ms' \
		    "$(calc "$st / 1000")" "$(calc "$dy / 1000")")
	else
		exec_note="failed"
	fi
fi

# --- the table ---------------------------------------------------------------
label() {
	case $1 in
	nginx) echo "nginx (header)" ;;
	haproxy) echo "HAProxy (header)" ;;
	stunnel) echo "stunnel (tunnel only)" ;;
	stunnel-inetd) echo "stunnel, process per connection" ;;
	tlsfront) echo "tlsfront --listen + certcookie" ;;
	tlsfront-handoff) echo "tlsfront --listen --handoff + certcookie" ;;
	tlsfront-inetd) echo "tlsfront per connection + certcookie" ;;
	esac
}
fmt_of() {
	case $1 in
	full | resumed) echo %.2f ;;
	download) echo %.2f ;;
	keepalive | mbps | memory) echo %.0f ;;
	esac
}

# cell FE METRIC: "median (min-max) ratio-to-nginx"
cell() {
	local fe=$1 m=$2 f med ref
	f=$(fmt_of "$m")
	want "${m/mbps/download}" || { echo "not run"; return; }
	# shellcheck disable=SC2086
	set -- ${val[$fe $m]:-}
	case " $* " in *" err "* | "  ") echo "error"; return ;; esac
	med=$(median "$@")
	# awk formats both, so that the median and min-max round alike
	printf '%s (%s)' "$(awk -v v="$med" -v f="$f" 'BEGIN { printf f, v }')" \
	    "$(FMT=$f minmax "$@")"
	# shellcheck disable=SC2086
	set -- ${val[nginx $m]:-}
	case " $* " in *" err "* | "  ") echo; return ;; esac
	ref=$(median "$@")
	printf ' %.2fx\n' "$(calc "$med / $ref")"
}

table() {
	local fe m
	printf 'bench/run.sh, %s, %s cores, load %s, %d repetitions' \
	    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" \
	    "$(cut -d' ' -f1-3 /proc/loadavg)" "$REPS"
	printf ' (N=%d, M=%d, K=%d, %d MiB; CPU from %s; %.0f s)\n' \
	    "$N" "$M" "$K" "$DOWNLOAD_MIB" "$cg_mode" "$elapsed"
	if [ "$have_tlsfront" = yes ]; then
		printf 'tlsfront and certcookie built %s and %s UTC; HEAD %s.\n' \
		    "$(date -u -r "$TLSFRONT" '+%Y-%m-%d %H:%M')" \
		    "$(date -u -r "$CERTCOOKIE" '+%H:%M')" \
		    "$(git log -1 --format=%h 2>/dev/null || echo -)"
	fi
	[ -z "${others:-}" ] || printf 'Cores used by other processes meanwhile: %s.\n' \
	    "$others"
	[ -z "${busy_reps:-}" ] || printf 'Not idle during repetition(s)%s.\n' \
	    "$busy_reps"
	printf 'Cells: median (min-max) and the ratio to nginx.\n\n'
	printf '| front end | full handshake ms/conn | resumed ms/conn |'
	printf ' keep-alive us/req | download s CPU/GiB | download MB/s |'
	printf ' idle KiB/conn |\n|---|---|---|---|---|---|---|\n'
	for fe in $FRONTENDS; do
		printf '| %s |' "$(label "$fe")"
		if [ "${state[$fe]}" != ok ]; then
			for m in $metrics; do printf ' %s |' "${state[$fe]}"; done
			echo
			continue
		fi
		for m in $metrics; do printf ' %s |' "$(cell "$fe" "$m")"; done
		echo
	done
	# the floor of a process per connection, in the full handshake column
	printf '| empty C program, exec + wait, wall (median of %d) | %s | | | | | |\n' \
	    "$X" "$exec_note"
	echo
	for fe in $FRONTENDS; do
		[ -n "${note[$fe]:-}" ] && printf -- '- %s: %s\n' "$fe" "${note[$fe]}"
	done
	true
}

# targets: issue 5's, from the same run's medians.
med_of() {	# med_of FE METRIC
	# shellcheck disable=SC2086
	set -- ${val[$1 $2]:-}
	case " $* " in *" err "* | "  ") echo -; return ;; esac
	median "$@"
}
target() {	# target TEXT VALUE OP LIMIT [UNIT]
	local v=$2 verdict
	if [ "$v" = - ] || [ "$4" = - ]; then
		verdict="not measured"
	elif awk -v v="$v" -v l="$4" "BEGIN { exit !(v $3 l) }"; then
		verdict=met
	else
		verdict=MISSED
	fi
	if [ "$verdict" = "not measured" ]; then
		printf -- '- %s: not measured\n' "$1"
	else
		printf -- '- %s: %s (%.2f%s)\n' "$1" "$verdict" "$v" "${5-x}"
	fi
}
targets() {
	local n t ti si
	[ "${state[tlsfront]:-}" = ok ] || [ "${state[tlsfront-inetd]:-}" = ok ] ||
	    return 0
	echo
	echo "Targets of issue 5 (tlsfront + certcookie --connect):"
	r() { calc "$(med_of "$1" "$3") / $(med_of "$2" "$3")"; }
	target "--listen full handshake <= 1.0x nginx" \
	    "$(r tlsfront nginx full)" "<=" 1.0
	target "--listen resumed <= 1.2x nginx" "$(r tlsfront nginx resumed)" \
	    "<=" 1.2
	target "per connection full handshake <= 0.4x stunnel per connection" \
	    "$(r tlsfront-inetd stunnel-inetd full)" "<=" 0.4
	target "keep-alive CPU/request <= 1.0x nginx" \
	    "$(r tlsfront nginx keepalive)" "<=" 1.0
	target "bulk CPU/GiB <= 1.1x nginx" "$(r tlsfront nginx download)" \
	    "<=" 1.1
	target "bulk MB/s >= 0.9x nginx" "$(r tlsfront nginx mbps)" ">=" 0.9
	target "per connection idle memory <= 0.25x stunnel per connection" \
	    "$(r tlsfront-inetd stunnel-inetd memory)" "<=" 0.25
	target "--listen idle memory <= 400 KiB/conn" \
	    "$(med_of tlsfront memory)" "<=" 400 " KiB"
	[ "${state[tlsfront-handoff]:-}" = ok ] || return 0
	echo
	echo "Targets of issue 13 (tlsfront --listen --handoff + certcookie --connect):"
	target "--handoff full handshake <= 1.0x nginx" \
	    "$(r tlsfront-handoff nginx full)" "<=" 1.0
	target "--handoff resumed <= 1.2x nginx" \
	    "$(r tlsfront-handoff nginx resumed)" "<=" 1.2
	target "--handoff idle memory <= 400 KiB/conn" \
	    "$(med_of tlsfront-handoff memory)" "<=" 400 " KiB"
	printf -- '- --handoff keep-alive CPU/request: %.2fx nginx\n' \
	    "$(r tlsfront-handoff nginx keepalive)"
}

{
	echo
	table
	targets
} | tee "$top/bench/out/run-latest.md"
echo "(raw figures: ${raw#"$top"/})"
