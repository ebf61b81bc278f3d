#!/bin/bash
# bench/profile.sh: where tlsfront + certcookie spend their CPU, for the
# figures of bench/run.sh that miss their target.
#
#   bench/profile.sh [listen|handoff|inetd] [full|resumed|keepalive] [COUNT]
#
# Starts an nginx backend and tlsfront (--listen, --listen --handoff, or
# one per connection
# under systemd-socket-activate --inetd) in front of
# `certcookie --connect`, on free ports of 127.0.0.1, then drives COUNT
# connections (full, resumed) or requests over 8 connections (keepalive)
# with curl, as bench/run.sh does, twice:
#   1. under `perf record -a`: the front end's samples (its cgroup, when
#      a cgroup v2 hierarchy can be used; else the whole machine's) by
#      program and library (kernel, dynamic loader, GnuTLS, ...);
#   2. under `strace -f -c` attached to the front end (tlsfront --listen
#      gets a SIGHUP first, so that its workers are new): system calls
#      per connection or request.
# Needs perf and strace; root.  Everything started is stopped on exit.
set -eu
cd "$(dirname "$0")/.."
top=$PWD
. bench/lib.sh

mode=${1:-listen} load=${2:-full}
case $load in
keepalive) count=${3:-5000} ;;
*) count=${3:-300} ;;
esac
case $mode in listen | handoff | inetd) ;; *)
	echo "usage: $0 [listen|handoff|inetd] [full|resumed|keepalive]" \
	    "[COUNT]" >&2
	exit 64 ;;
esac
for p in perf strace nginx curl systemd-socket-activate; do
	command -v "$p" >/dev/null ||
	    { echo "profile: $p missing" >&2; exit 1; }
done
is_real ./tlsfront && is_real ./certcookie ||
    { echo "profile: tlsfront or certcookie not built yet" >&2; exit 1; }

mkdir -p bench/out
sh tests/pki.sh bench/out/pki >/dev/null
work=$(mktemp -d "$top/bench/out/profile.XXXXXX")
pids=
# The front end's own cgroup, for perf -G (cgroup v2, as in bench/run.sh).
cg_mnt= cg_name=
for d in /sys/fs/cgroup/unified /sys/fs/cgroup; do
	[ "$(stat -fc %T "$d" 2>/dev/null)" = cgroup2fs ] || continue
	if mkdir "$d/certcookie-profile.$$" 2>/dev/null; then
		cg_mnt=$d cg_name=certcookie-profile.$$
		break
	fi
done
cleanup() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	if [ -n "$cg_name" ]; then
		for p in $(cat "$cg_mnt/$cg_name/cgroup.procs"); do
			kill "$p" 2>/dev/null || true
		done
	fi
	wait 2>/dev/null || true
	[ -z "$cg_name" ] || rmdir "$cg_mnt/$cg_name" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in ca.pem server.pem server.key client.pem client.key; do
	sed -n '/^-----BEGIN/,/^-----END/p' "bench/out/pki/$f" >"$work/$f"
done
B=$(free_port) F=$(free_port)
cat >"$work/backend.conf" <<EOF
user root;
daemon off;
error_log $work/backend.err warn;
pid $work/backend.pid;
worker_processes 1;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $work/cb;
	proxy_temp_path $work/px;
	fastcgi_temp_path $work/fc;
	uwsgi_temp_path $work/uw;
	scgi_temp_path $work/sc;
	keepalive_requests 10000000;
	server {
		listen 127.0.0.1:$B;
		location = / { return 200 "hello\n"; }
	}
}
EOF
nginx -e "$work/backend.err" -p "$work" -c "$work/backend.conf" \
    >/dev/null 2>&1 &
pids="$pids $!"

./tlsfront --new-ticket-key "$work/ticket.key"
tf=("$top/tlsfront" --cert "$work/server.pem" --key "$work/server.key"
    --ca "$work/ca.pem" --ticket-key "$work/ticket.key")
cc=("$top/certcookie" --connect "127.0.0.1:$B")
if [ "$mode" = listen ]; then
	fecmd=("${tf[@]}" --listen "127.0.0.1:$F" -- "${cc[@]}")
elif [ "$mode" = handoff ]; then
	fecmd=("${tf[@]}" --handoff --listen "127.0.0.1:$F" -- "${cc[@]}")
else
	fecmd=(systemd-socket-activate -l "127.0.0.1:$F" --inetd -a
	    "${tf[@]}" -- "${cc[@]}")
fi
if [ -n "$cg_name" ]; then
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' \
	    "$cg_mnt/$cg_name" "${fecmd[@]}" >"$work/fe.log" 2>&1 &
else
	"${fecmd[@]}" >"$work/fe.log" 2>&1 &
fi
fe=$!
pids="$pids $fe"
wait_port "$B" && wait_port "$F"

drive() {	# the client load; prints the count of 200 answers
	local opts=(--parallel --parallel-max 8)
	case $load in
	full) opts+=(--no-sessionid -H 'Connection: close') ;;
	resumed) opts+=(-H 'Connection: close') ;;
	keepalive) opts+=(--no-sessionid) ;;
	esac
	curl -s --cacert "$work/ca.pem" --cert "$work/client.pem" \
	    --key "$work/client.key" --tls13-ciphers TLS_AES_128_GCM_SHA256 \
	    --resolve "localhost:$F:127.0.0.1" "${opts[@]}" -o /dev/null \
	    -w '%{http_code}\n' "https://localhost:$F/?[1-$count]" 2>/dev/null |
	    grep -c '^200$' || true
}
drive >/dev/null	# warm-up

unit=connection
[ "$load" = keepalive ] && unit=request
echo "== tlsfront $mode, $load, $count, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
if [ -n "$cg_name" ]; then
	echo "-- perf record: the front end's samples by program and library"
	pcg=(-e cpu-clock -G "$cg_name")
else
	echo "-- perf record: all samples of the machine (no cgroup to filter)"
	pcg=(-e cpu-clock)
fi
perf record -a "${pcg[@]}" -q -o "$work/perf.data" -- bash -c "$(declare -f drive);
    load=$load count=$count F=$F work=$work drive" >/dev/null 2>&1
perf report -i "$work/perf.data" --sort comm,dso -g none --stdio \
    2>/dev/null | grep '%' | head -n 25
echo
echo "-- perf record: the top symbols"
perf report -i "$work/perf.data" --sort comm,sym -g none --stdio \
    2>/dev/null | grep '%' | head -n 20
echo
echo "-- strace -f -c on the front end: calls per $unit (count $count)"
# strace -f follows only the processes forked after it attached, and
# tlsfront --listen reuses the workers of the loads before: SIGHUP
# retires them, so that the connections below go to new workers.
if [ "$mode" != inetd ]; then
	kill -HUP "$fe"
	sleep 0.3
fi
strace -f -c -o "$work/strace" -p "$fe" 2>/dev/null &
st=$!
sleep 0.5
drive >/dev/null
sleep 0.3
kill -INT "$st" 2>/dev/null || true
wait "$st" 2>/dev/null || true
awk -v n="$count" 'NR > 2 && $1 !~ /^-/ && $NF != "total" {
	calls = $4; err = NF == 6 ? $5 : 0
	printf "%-16s %8.2f per '"$unit"'%s\n", $NF, calls / n,
	    err ? sprintf(" (%.2f failed)", err / n) : "" }' "$work/strace" |
    sort -k2 -rn | head -n 20
