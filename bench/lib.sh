# Helpers shared by bench/filter.sh and bench/run.sh (sourced, bash).

# now_ns: monotonic-enough wall clock in nanoseconds.
now_ns() { date +%s%N; }

# median V...: the median of numbers (the lower middle for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
	    END { if (NR) print v[int((NR + 1) / 2)] }'
}

# minmax V...: "min-max" of numbers, formatted with FMT (default %.2f).
minmax() {
	fmt=${FMT:-%.2f}
	printf '%s\n' "$@" | sort -g | awk -v f="$fmt" '
	    NR == 1 { lo = $1 } { hi = $1 }
	    END { if (NR) printf f "-" f "\n", lo, hi }'
}

# calc EXPR: floating-point arithmetic with awk; prints "-" when an
# operand is not a number (a row that did not run).
calc() { awk "BEGIN { r = $1; print r }" 2>/dev/null || echo -; }

# is_real PROGRAM: true when PROGRAM exists and answers --version, i.e.
# it is the real program and not the placeholder of the first commit.
is_real() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

# free_port: a TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT [SECONDS]: wait until something listens on 127.0.0.1:PORT.
wait_port() {
	i=0
	while [ "$i" -lt "$((${2:-10} * 20))" ]; do
		ss -ltnH "sport = :$1" | grep -q . && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "bench: nothing listens on 127.0.0.1:$1" >&2
	return 1
}

# check_idle: warn when the machine is busy (1-minute load average).
check_idle() {
	read -r l1 _ </proc/loadavg
	if awk -v l="$l1" 'BEGIN { exit !(l >= 0.5) }'; then
		echo "bench: WARNING: load average $l1, the machine is not" \
		    "idle; figures will be noisy" >&2
	fi
}
