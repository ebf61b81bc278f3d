#!/bin/bash
# bench/exec.sh: what one exec of certcookie costs, as inetd or systemd
# Accept=yes pay it once per connection, next to this machine's cost of
# starting any program at all.
#
# Programs, linked in a temporary directory at run time:
#   empty static        int main(void) { return 0; }, cc -static
#   empty dynamic       the same, dynamically linked (libc only)
#   certcookie dynamic  certcookie.o + lib/libcc.a, as the Makefile links
#                       it with CERTCOOKIE_STATIC= (libc only, or libc
#                       and libnettle once lib/ uses nettle)
#   certcookie static   the same objects, cc -static
#   certcookie static-pie   cc -static-pie
#   certcookie + nettle the dynamic one with -Wl,--no-as-needed -lnettle:
#                       libnettle loaded and relocated but not called,
#                       the cost of a dynamic crypto library
# The certcookie variants come from the objects of the last `make`: run
# `make` first.  Two workloads:
#   version  certcookie --version (the empty ones: no argument)
#   filter   certcookie --cert-file tests/data/cert.pem <
#            examples/request.http >/dev/null: parse a PEM certificate
#            (base64), rewrite one request (base64url), exit
# bench/spawn.c starts each program with posix_spawn() (clone with
# CLONE_VFORK, then exec) and waits for it, the programs interleaved
# (A B C ... A B C ...), N times each; the table shows the median and the
# 10th-90th percentiles of the wall time per run, and the median of the
# child's user + system CPU time, in microseconds.
#
# Environment: N (default 2000) runs per program and workload; WORKLOADS
# (default "version filter"); CC (default cc).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

N=${N:-2000}
WORKLOADS=${WORKLOADS:-version filter}
CC=${CC:-cc}
if [ ! -e certcookie.o ] || [ ! -e lib/libcc.a ]; then
	echo "bench: certcookie.o or lib/libcc.a missing: run make first" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The libraries lib/ needs: nettle when its objects call it.
libs=
if nm lib/libcc.a 2>/dev/null | grep -q ' U nettle_'; then
	libs=-lnettle
fi

$CC -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$tmp/spawn" bench/spawn.c
echo 'int main(void) { return 0; }' >"$tmp/empty.c"
$CC -O2 -o "$tmp/empty-dynamic" "$tmp/empty.c"
$CC -O2 -static -o "$tmp/empty-static" "$tmp/empty.c"
cc_link() {	# cc_link OUT FLAGS...
	local out=$1
	shift
	# static glibc warns that getaddrinfo needs its shared NSS modules
	$CC -o "$tmp/$out" certcookie.o lib/libcc.a $libs "$@" 2>"$tmp/ld.err" ||
	    { cat "$tmp/ld.err" >&2; exit 1; }
}
cc_link cc-dynamic
cc_link cc-static -static
cc_link cc-static-pie -static-pie
cc_link cc-nettle -Wl,--no-as-needed -lnettle -Wl,--as-needed

variants="empty-static empty-dynamic cc-dynamic cc-static cc-static-pie
    cc-nettle"
label() {
	case $1 in
	empty-static) echo "empty program, static" ;;
	empty-dynamic) echo "empty program, dynamic" ;;
	cc-dynamic) echo "certcookie, dynamic${libs:+ (nettle)}" ;;
	cc-static) echo "certcookie, -static" ;;
	cc-static-pie) echo "certcookie, -static-pie" ;;
	cc-nettle) echo "certcookie, dynamic + libnettle" ;;
	esac
}
# shared LIBS: the shared objects a program loads, comma-separated.
shared() {
	ldd "$1" 2>/dev/null | awk '/=>/ { sub(/\..*/, "", $1); printf "%s%s",
	    n++ ? "," : "", $1 }' || true
}

check_idle
declare -A res
for w in $WORKLOADS; do
	args=()
	for v in $variants; do
		args+=(-- "$tmp/$v")
		case $w,$v in
		*,empty-*) ;;
		version,*) args+=(--version) ;;
		filter,*) args+=(--cert-file tests/data/cert.pem) ;;
		*) echo "bench: WORKLOADS: unknown workload $w" >&2; exit 64 ;;
		esac
	done
	in=/dev/null
	[ "$w" != filter ] || in=examples/request.http
	echo "exec: $w: $N runs of each program, interleaved" >&2
	i=0
	read -r -a vs <<<"$(echo $variants)"
	while read -r med lo hi cpu; do
		res[$w,${vs[$i]}]="$med $lo $hi $cpu"
		i=$((i + 1))
	done < <("$tmp/spawn" "$N" "$in" "${args[@]}")
done
check_idle

printf '\nbench/exec.sh, %s, %s cores, load %s, N=%d; %s\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" "$N" \
    "$(ldd --version 2>&1 | head -n 1 | sed 's/^ldd //')"
printf 'HEAD %s; microseconds per run: wall median (10th-90th), CPU median\n\n' \
    "$(git log -1 --format=%h 2>/dev/null || echo -)"
printf '| program | shared objects |'
for w in $WORKLOADS; do printf ' %s wall us | %s CPU us |' "$w" "$w"; done
printf '\n|---|---|'
for w in $WORKLOADS; do printf -- '---|---|'; done
echo
for v in $variants; do
	so=$(shared "$tmp/$v")
	printf '| %s | %s |' "$(label "$v")" "${so:-none}"
	for w in $WORKLOADS; do
		read -r med lo hi cpu <<<"${res[$w,$v]}"
		printf ' %.0f (%.0f-%.0f) | %.0f |' "$med" "$lo" "$hi" "$cpu"
	done
	echo
done
