#!/bin/bash
# bench/chain.sh: connection rate and bulk throughput of the full chain
#
#   curl --cert ==TLS==> tlsfront -> certcookie --connect -> tests/backend.py
#
# with tlsfront started four ways, side by side in one run:
#   plain      curl straight to the backend over HTTP (the baseline)
#   listen     tlsfront --listen (own accept loop, fork per connection)
#   accept-no  systemd-socket-activate, listening socket (Accept=no)
#   accept-yes systemd-socket-activate -a, LISTEN_FDS connected (Accept=yes)
#   inetd      systemd-socket-activate --inetd -a: a new tlsfront process
#              per connection, which loads its credentials each time
#
# Connection rate: N requests (default 1000), each on a new connection
# with a full handshake (curl --no-sessionid, Connection: close), C at a
# time (default 4).  Every handshake verifies alice's client certificate
# and every request carries the CERT cookie to the backend.
# Bulk: a SIZE (default 1 GiB) download and a SIZE upload (from a file,
# with Content-Length) on one connection each; the backend checksums
# the upload, the download is counted.
#
# Environment: REPS (3), N, C, SIZE (bytes), MODES (the list above),
# CONNECTOR (builtin: certcookie --connect; nc: certcookie -- nc -N;
# socat: certcookie -- socat).  Medians, with min-max.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

REPS=${REPS:-3}
N=${N:-1000}
C=${C:-4}
SIZE=${SIZE:-$((1 << 30))}
out=bench/out
pki=$out/pki
tf=${TLSFRONT:-./tlsfront}
cc=${CERTCOOKIE:-./certcookie}
mkdir -p "$out"
sh tests/pki.sh "$pki" >/dev/null
is_real "$tf" || { echo "chain: $tf is not built" >&2; exit 1; }
is_real "$cc" || { echo "chain: $cc is not built" >&2; exit 1; }
pki=$(cd "$pki" && pwd)
tf=$(cd "$(dirname "$tf")" && pwd)/$(basename "$tf")
cc=$(cd "$(dirname "$cc")" && pwd)/$(basename "$cc")

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bport=$(free_port)
python3 tests/backend.py --port "$bport" >/dev/null 2>&1 &
pids+=($!)
wait_port "$bport"

tls=(--cert "$pki/server.pem" --key "$pki/server.key" --ca "$pki/ca.pem")
case ${CONNECTOR:-builtin} in
builtin) chain=(-- "$cc" --connect "127.0.0.1:$bport") ;;
nc) chain=(-- "$cc" -- nc -N 127.0.0.1 "$bport") ;;
socat) chain=(-- "$cc" -- socat - "TCP:127.0.0.1:$bport") ;;
*) echo "chain: CONNECTOR is builtin, nc or socat" >&2; exit 64 ;;
esac

# start MODE: start tlsfront as MODE on a free port; sets port, scheme.
start() {
	port=$(free_port)
	scheme=https
	case $1 in
	plain) port=$bport scheme=http; return 0 ;;
	listen) "$tf" -q --listen "127.0.0.1:$port" --max-conns 1024 \
	    "${tls[@]}" "${chain[@]}" </dev/null & ;;
	accept-no) systemd-socket-activate -l "127.0.0.1:$port" \
	    "$tf" -q --max-conns 1024 "${tls[@]}" "${chain[@]}" \
	    </dev/null 2>/dev/null & ;;
	accept-yes) systemd-socket-activate -a -l "127.0.0.1:$port" \
	    "$tf" -q "${tls[@]}" "${chain[@]}" </dev/null 2>/dev/null & ;;
	inetd) systemd-socket-activate --inetd -a -l "127.0.0.1:$port" \
	    "$tf" -q "${tls[@]}" "${chain[@]}" </dev/null 2>/dev/null & ;;
	esac
	pids+=($!)
	wait_port "$port"
}

curl_tls=(--cacert "$pki/ca.pem" --cert "$pki/client.pem"
    --key "$pki/client.key" --resolve "localhost:0:127.0.0.1")

# rate: connections per second for N requests, C in parallel.
rate() {
	local t0 t1 codes ok
	t0=$(now_ns)
	codes=$(curl -s -Z --parallel-max "$C" --no-sessionid \
	    -H 'Connection: close' "${curl_tls[@]}" \
	    --resolve "localhost:$port:127.0.0.1" -o /dev/null \
	    -w '%{http_code}\n' "$scheme://localhost:$port/r[1-$N]" \
	    2>/dev/null || true)
	t1=$(now_ns)
	ok=$(printf '%s\n' "$codes" | grep -c '^200$' || true)
	if [ "$ok" -ne "$N" ]; then
		echo "fail($ok/$N)"
		return
	fi
	calc "$N / (($t1 - $t0) / 1e9)"
}

# down, up: MB/s (10^6 bytes) for SIZE bytes on one connection.
down() {
	local t0 t1 n
	t0=$(now_ns)
	n=$(curl -sS "${curl_tls[@]}" --resolve "localhost:$port:127.0.0.1" \
	    -o /dev/null -w '%{size_download}' \
	    "$scheme://localhost:$port/download?n=$SIZE" || true)
	t1=$(now_ns)
	[ "$n" = "$SIZE" ] || { echo "fail($n)"; return; }
	calc "$SIZE / 1e6 / (($t1 - $t0) / 1e9)"
}

up() {
	local t0 t1 body
	t0=$(now_ns)
	body=$(curl -sS "${curl_tls[@]}" \
	    --resolve "localhost:$port:127.0.0.1" -H 'Expect:' -T "$upfile" \
	    "$scheme://localhost:$port/up" || true)
	t1=$(now_ns)
	case $body in
	*"\"body_len\": $SIZE,"*) ;;
	*) echo "fail"; return ;;
	esac
	calc "$SIZE / 1e6 / (($t1 - $t0) / 1e9)"
}

# The upload, with a Content-Length (made once).
upfile=$out/up-$SIZE.bin
[ -s "$upfile" ] || head -c "$SIZE" /dev/urandom >"$upfile"

# The chain must deliver alice's certificate before anything is timed.
start listen
want=$(sha256sum <"$pki/client.der" | cut -d' ' -f1)
got=$(curl -sS "${curl_tls[@]}" --resolve "localhost:$port:127.0.0.1" \
    "https://localhost:$port/check" | sed -n 's/.*"cert_der_sha256": "\(.*\)".*/\1/p')
if [ "$got" != "$want" ]; then
	echo "chain: the backend did not get alice's certificate" >&2
	exit 1
fi
cleanup
python3 tests/backend.py --port "$bport" >/dev/null 2>&1 &
pids+=($!)
wait_port "$bport"

modes=${MODES:-plain listen accept-no accept-yes inetd}
check_idle
declare -A R D U
for rep in $(seq "$REPS"); do
	for m in $modes; do
		start "$m"
		R[$m]="${R[$m]:-} $(rate)"
		D[$m]="${D[$m]:-} $(down)"
		U[$m]="${U[$m]:-} $(up)"
		echo "chain: rep $rep $m: conn/s${R[$m]##* } down MB/s" \
		    "${D[$m]##* } up MB/s ${U[$m]##* }" >&2
		if [ "$m" != plain ]; then
			kill "${pids[-1]}" 2>/dev/null || true
			wait "${pids[-1]}" 2>/dev/null || true
			unset 'pids[-1]'
		fi
	done
done

# nums V...: only the runs that produced a number (a failed run is
# reported on stderr above and left out of the figures).
nums() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | tr '\n' ' '; }

report=$out/chain-latest.md
{
	echo "# bench/chain.sh, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "Connector: ${CONNECTOR:-builtin}." \
	    "N=$N connections, $C in parallel, full handshakes with a" \
	    "client certificate; SIZE=$SIZE bytes; REPS=$REPS;" \
	    "$(nproc) cores.  Median (min-max)."
	echo
	echo "| mode | connections/s | download MB/s | upload MB/s |"
	echo "|---|---|---|---|"
	for m in $modes; do
		# shellcheck disable=SC2086
		r=$(nums ${R[$m]}) d=$(nums ${D[$m]}) u=$(nums ${U[$m]})
		printf '| %s | %.0f (%s) | %.0f (%s) | %.0f (%s) |\n' "$m" \
		    "$(median $r)" "$(FMT=%.0f minmax $r)" \
		    "$(median $d)" "$(FMT=%.0f minmax $d)" \
		    "$(median $u)" "$(FMT=%.0f minmax $u)"
	done
} | tee "$report"
