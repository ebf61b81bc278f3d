#!/usr/bin/env bats
# The manual pages: mandoc finds nothing to warn about, and the options
# documented in each page are exactly those of the program's --help.
bats_require_minimum_version 1.5.0
load common

@test "make lint: mandoc -Tlint -Wwarning finds nothing in either page" {
	run make -s --no-print-directory -C "$TOP" lint
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "man ./certcookie.1 and man ./tlsfront.1 render without a message" {
	local page
	for page in certcookie.1 tlsfront.1; do
		run --separate-stderr env MANWIDTH=80 man "$TOP/$page"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ] || { echo "$page: $stderr"; return 1; }
		[[ "$output" == *"EXIT STATUS"* ]]
	done
}

# opts_match PROGRAM: the option tags of PROGRAM.1's DESCRIPTION list and
# the options of PROGRAM --help are the same set.
opts_match() {
	local prog=$1
	"$TOP/$prog" --help > "$BATS_TEST_TMPDIR/help"
	MANWIDTH=200 man "$TOP/$prog.1" > "$BATS_TEST_TMPDIR/man"
	$PY - "$BATS_TEST_TMPDIR/help" "$BATS_TEST_TMPDIR/man" "$prog" <<'PY'
import re, sys
help_text, man_text, prog = (open(sys.argv[1]).read(),
                             open(sys.argv[2]).read(), sys.argv[3])
opt = r"(--[a-z][a-z0-9-]*|-[A-Za-z?])"
helped = set()
for line in help_text.splitlines():
    m = re.match(r"^ {2,}((?:-[A-Za-z?], )?--[a-z][^ =\[]*)", line)
    if m:
        helped.update(re.findall(opt, m.group(1)))
# The tags of the option list: lines indented 5 spaces that start with
# "-", between "The options are as follows" and the next section.
body = man_text.split("The options are as follows", 1)[1]
body = re.split(r"\n[A-Z][A-Z ]+\n", body, 1)[0]
documented = set()
for line in body.splitlines():
    if re.match(r"^ {5}-", line):
        documented.update(re.findall(r"(?:^|[ ,])" + opt, line))
missing = sorted(helped - documented)
extra = sorted(documented - helped)
print("%s --help: %s" % (prog, " ".join(sorted(helped))))
if missing:
    print("%s.1 lacks: %s" % (prog, " ".join(missing)))
if extra:
    print("%s.1 documents options --help lacks: %s" % (prog, " ".join(extra)))
sys.exit(1 if missing or extra or len(helped) < 5 else 0)
PY
}

@test "certcookie.1 documents exactly the options of certcookie --help" {
	opts_match certcookie
}

@test "tlsfront.1 documents exactly the options of tlsfront --help" {
	opts_match tlsfront
}

@test "README: the systemd units of the first screen verify cleanly" {
	local d=$BATS_TEST_TMPDIR/readme
	mkdir -p "$d"
	awk -v d="$d" '
	    /^    # \/etc\/systemd\/system\/tlsfront\.socket$/ { f = d "/tlsfront.socket" }
	    /^    # \/etc\/systemd\/system\/tlsfront@\.service$/ { f = d "/tlsfront@.service" }
	    /^[^ ]/ { f = "" }
	    f != "" { print substr($0, 5) > f }' "$TOP/README.md"
	grep -qx 'Accept=yes' "$d/tlsfront.socket"
	grep -q '^ExecStart=/usr/local/bin/tlsfront ' "$d/tlsfront@.service"
	sed -i "s|/usr/local/bin/|$TOP/|g" "$d/tlsfront@.service"
	cd "$d"
	run systemd-analyze verify ./tlsfront.socket ./tlsfront@.service
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "README: the pipeline example of the first screen gives what it shows" {
	pki
	local cmd
	cmd=$(grep -A1 "^    \$ printf 'GET / HTTP/1.1" "$TOP/README.md" |
	    sed -e 's/^    \$ //' -e 's/^    //' -e "s|demo/pki/|$PKI/|")
	[[ "$cmd" == *"certcookie --cert-file $PKI/client.pem" ]]
	PATH=$TOP:$PATH run --separate-stderr bash -c "$cmd"
	[ "$status" -eq 0 ]
	local want
	want=$(sed -n '/^    \$ printf .GET/,/^$/p' "$TOP/README.md" |
	    sed -n '3,$p' | sed -e 's/^    //' -e '/^$/d')
	[ "$(tr -d '\r' <<< "$output" | head -n 2)" = "$(head -n 2 <<< "$want")" ]
	[[ "$(tr -d '\r' <<< "$output" | sed -n 3p)" == "Cookie: CERT=MII"* ]]
	[[ "$(sed -n 3p <<< "$want")" == "Cookie: CERT=MII"* ]]
	[[ "$output" != *forged* ]]
}

@test "tlsfront.1: the systemd units of EXAMPLES verify cleanly" {
	local d=$BATS_TEST_TMPDIR/man
	mkdir -p "$d"
	# The literal blocks holding [Socket] and [Service], \e made \.
	awk -v d="$d" '
	    /^\.Bd -literal/ { n++; inblock = 1; next }
	    /^\.Ed/ { inblock = 0; next }
	    inblock { sub(/^    /, ""); gsub(/\\e/, "\\"); print > (d "/block." n) }
	    ' "$TOP/tlsfront.1"
	grep -l '^\[Socket\]' "$d"/block.* | head -n 1 | xargs -I{} cp {} "$d/tlsfront.socket"
	grep -l '^\[Service\]' "$d"/block.* | head -n 1 | xargs -I{} cp {} "$d/tlsfront@.service"
	grep -qx 'Accept=yes' "$d/tlsfront.socket"
	grep -q '^ExecStart=/usr/local/bin/tlsfront ' "$d/tlsfront@.service"
	sed -i "s|/usr/local/bin/|$TOP/|g" "$d/tlsfront@.service"
	cd "$d"
	run systemd-analyze verify ./tlsfront.socket ./tlsfront@.service
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
