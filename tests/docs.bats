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
