#!/bin/bash
# bench/filter.sh: certcookie's throughput next to cat's, in the same run.
#
#   (a) 1 GiB of POST bodies: 1024 requests with a 1 MiB body each
#   (b) 1,000,000 pipelined browser-like GETs with four cookies
#
# Each input is made once under bench/out/ with a 2048-bit RSA client
# certificate (tests/pki.sh).  Every measured stage sits between the same
# producer and consumer:   cat IN | STAGE | cat > /dev/null
# so both of its ends are pipes.  The stages:
#   cat                  moves the bytes certcookie writes: the rewritten
#                        requests (for (b) the cookie makes them 3.3 times
#                        larger than the input), i.e. the same bytes out
#   certcookie           filter mode (no COMMAND)
#   certcookie -- sink   proxy mode; COMMAND is bench/sink.py on
#                        certcookie's socketpair: it discards the requests
#                        and answers each with a 27-byte "204 No Content"
#                        (certcookie keeps only a bounded number of requests
#                        awaiting an answer, so a sink that never answers
#                        would stall it), and certcookie relays the answers
#                        to the consumer
#   certcookie --connect the same sink over TCP loopback
#   sink.py alone        the sink reading the rewritten requests straight
#                        from the producer: its own share of the proxy rows
# The proxy rows also pay for the Python sink (on the same two cores) and
# move the requests into a socket, not a pipe: read their ratio as "proxy
# mode, answers included, against cat through pipes".
#
# Environment: REPS (default 3) repetitions, interleaved; medians and
# min-max of wall time.  TIMEOUT (default 60) seconds per run; a run that
# takes longer is reported as stalled.
# CERTCOOKIE: the program to measure (default ./certcookie).
# BEFORE: another certcookie (an older build, say) whose filter mode runs
# in the same repetitions, for a before/after comparison from one run.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

REPS=${REPS:-3}
TIMEOUT=${TIMEOUT:-60}
out=bench/out
pki=$out/pki
cc=${CERTCOOKIE:-./certcookie}
mkdir -p "$out"
sh tests/pki.sh "$pki" >/dev/null
cert=$pki/client.pem

for kind in post get; do
	if [ ! -s "$out/$kind.in" ] || [ ! -s "$out/$kind.expected" ] ||
	    [ bench/gen.py -nt "$out/$kind.in" ] ||
	    [ "$pki/client.der" -nt "$out/$kind.in" ]; then
		echo "filter: generating $out/$kind.in (once)" >&2
		python3 bench/gen.py "$kind" "$pki/client.der" \
		    "$out/$kind.in" "$out/$kind.expected"
	fi
done

have_cc=no
is_real "$cc" && have_cc=yes

sink_pid=
cleanup() { [ -z "$sink_pid" ] || kill "$sink_pid" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# timed_pipe IN STAGE...: run `cat IN | STAGE | cat > /dev/null`, print
# the wall time in seconds; a failing stage prints "fail(STATUS)".
timed_pipe() {
	local in=$1 t0 t1 st
	shift
	t0=$(now_ns)
	set +e
	cat "$in" | timeout "$TIMEOUT" "$@" | cat >/dev/null
	st=("${PIPESTATUS[@]}")
	set -e
	t1=$(now_ns)
	if [ "${st[1]}" -ne 0 ]; then
		echo "fail(${st[1]})"
		return
	fi
	calc "($t1 - $t0) / 1e9"
}

# The sink of the --connect row: bench/sink.py on 127.0.0.1, one
# connection.  Started afresh before each run.
sink_port=
start_sink() {
	sink_port=$(free_port)
	python3 bench/sink.py --listen "$sink_port" >/dev/null 2>&1 &
	sink_pid=$!
	wait_port "$sink_port" 5
}
stop_sink() {
	[ -z "$sink_pid" ] && return 0
	kill "$sink_pid" 2>/dev/null || true
	wait "$sink_pid" 2>/dev/null || true
	sink_pid=
}

# run_stage NAME IN: one measurement of the stage named NAME.
run_stage() {
	case $1 in
	cat) timed_pipe "$2" cat ;;
	filter) timed_pipe "$2" "$cc" --cert-file "$cert" ;;
	before) timed_pipe "$2" "$BEFORE" --cert-file "$cert" ;;
	sink) timed_pipe "$2" python3 bench/sink.py ;;
	proxy) timed_pipe "$2" "$cc" --cert-file "$cert" -- \
	    python3 bench/sink.py ;;
	connect)
		start_sink
		timed_pipe "$2" "$cc" --cert-file "$cert" \
		    --connect "127.0.0.1:$sink_port"
		stop_sink ;;
	esac
}

stages="cat filter sink proxy connect"
[ -z "${BEFORE:-}" ] || stages="cat before filter sink proxy connect"
label() {
	case $1 in
	cat) echo "cat" ;;
	filter) echo "certcookie (filter)" ;;
	before) echo "BEFORE (filter)" ;;
	sink) echo "sink.py alone" ;;
	proxy) echo "certcookie -- sink.py" ;;
	connect) echo "certcookie --connect sink.py" ;;
	esac
}

# Correctness first (and it warms the page cache): filter mode must
# produce exactly the expected rewrite.
if [ "$have_cc" = yes ]; then
	for kind in post get; do
		if "$cc" --cert-file "$cert" <"$out/$kind.in" |
		    cmp -s - "$out/$kind.expected"; then
			echo "filter: $kind: certcookie output is the expected" \
			    "rewrite" >&2
		else
			echo "filter: WARNING: $kind: certcookie output differs" \
			    "from the expected rewrite" >&2
		fi
	done
else
	cat "$out"/*.in "$out"/*.expected >/dev/null
fi

check_idle
declare -A t
for rep in $(seq "$REPS"); do
	for kind in post get; do
		for s in $stages; do
			case $s in cat | sink) ;; *)
				[ "$have_cc" = yes ] || continue ;;
			esac
			case $s in
			cat | sink) in=$out/$kind.expected ;;
			*) in=$out/$kind.in ;;
			esac
			# a stage that stalled once is not run again
			case "${t[$kind.$s]:-}" in *"fail(124)"*) continue ;; esac
			t[$kind.$s]="${t[$kind.$s]:-} $(run_stage "$s" "$in")"
		done
	done
	echo "filter: repetition $rep of $REPS done" >&2
done
check_idle

# The table.  MB/s counts the bytes the stage writes (1 MB = 10^6 bytes);
# "x cat" compares medians, "best" the fastest run of each.
printf '\nbench/filter.sh, %s, %s, %d repetitions (median, min-max)\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc) cores" "$REPS"
if [ "$have_cc" = yes ]; then
	printf '%s, built %s UTC; HEAD %s\n' \
	    "$("$cc" --version 2>&1 | head -n 1)" \
	    "$(date -u -r "$cc" '+%Y-%m-%d %H:%M')" \
	    "$(git log -1 --format=%h 2>/dev/null || echo -)"
fi
row() { printf '| %-21s | %-28s | %6s | %-17s | %7s | %6s | %6s |\n' "$@"; }
printf '\n'
row workload stage "MB/s" "seconds" "kreq/s" "x cat" "best"
row ------------------ ------------------------ ---- --------------- \
    ----- ---- ----
for kind in post get; do
	if [ "$kind" = post ]; then
		wl="(a) 1 GiB POST bodies"
		nreq=1024
	else
		wl="(b) 1M pipelined GETs"
		nreq=1000000
	fi
	bytes=$(stat -c %s "$out/$kind.expected")
	base=
	for s in $stages; do
		if [ "$s" != cat ] && [ "$s" != sink ] && [ "$have_cc" != yes ]; then
			row "$wl" "$(label "$s")" - "not built yet" - - -
			continue
		fi
		# Failed runs are left out of the figures and counted in a
		# footnote; timeout(1) says 124 when it killed a stalled run.
		ok= bad=
		for v in ${t[$kind.$s]}; do
			case $v in
			"fail(124)") bad="${bad:+$bad, }stalled" ;;
			fail*) bad="${bad:+$bad, }exit $(echo "$v" | tr -dc 0-9)" ;;
			*) ok="$ok $v" ;;
			esac
		done
		if [ -n "$bad" ]; then
			note="${note:-}
$wl, $(label "$s"): $bad."
		fi
		if [ -z "$ok" ]; then
			row "$wl" "$(label "$s")" - "failed" - - -
			continue
		fi
		# shellcheck disable=SC2086
		set -- $ok
		med=$(median "$@")
		best=$(printf '%s\n' "$@" | sort -g | head -n 1)
		[ "$s" = cat ] && base=$med basebest=$best
		row "$wl" "$(label "$s")" \
		    "$(printf %.0f "$(calc "$bytes / $med / 1e6")")" \
		    "$(awk -v v="$med" 'BEGIN { printf "%.2f", v }') ($(minmax "$@"))" \
		    "$(printf %.1f "$(calc "$nreq / $med / 1e3")")" \
		    "$(printf %.2fx "$(calc "$base / $med")")" \
		    "$(printf %.2fx "$(calc "$basebest / $best")")"
	done
done
printf '\nInput: (a) %s bytes, (b) %s bytes in, %s bytes rewritten (%.1fx).\n' \
    "$(stat -c %s "$out/post.in")" "$(stat -c %s "$out/get.in")" \
    "$(stat -c %s "$out/get.expected")" \
    "$(calc "$(stat -c %s "$out/get.expected") / $(stat -c %s "$out/get.in")")"
echo "Targets: (a) >= 0.80x cat, (b) >= 0.50x cat (filter mode)."
[ -z "${note:-}" ] ||
    printf 'Failed runs, left out above (a stalled stage is not run again):%s\n' \
    "$note"
