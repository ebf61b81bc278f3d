# certcookie + tlsfront
.SUFFIXES:

MAKEFLAGS += --no-print-directory

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
CC	?= cc
CFLAGS	?= -O2 -g
GNUTLS_CFLAGS != pkg-config --cflags gnutls 2>/dev/null || true
GNUTLS_LIBS   != pkg-config --libs gnutls 2>/dev/null || echo -lgnutls
# GNUTLS_STATIC=1: GnuTLS and its crypto libraries linked into tlsfront
# (p11-kit and libunistring stay shared).  A process then starts without
# resolving GnuTLS's symbols across eight libraries: about 0.7 ms less
# CPU per connection under inetd or systemd Accept=yes.  A GnuTLS
# security update then needs tlsfront rebuilt.
GNUTLS_STATIC ?=
TLSFRONT_LIBS != if [ -n "$(GNUTLS_STATIC)" ]; then \
	    echo -Wl,-Bstatic -lgnutls -lhogweed -lnettle -lgmp -ltasn1 \
	    -lidn2 -Wl,-Bdynamic -l:libunistring.so.2 -lp11-kit; \
	else echo '$(GNUTLS_LIBS)'; fi
# certcookie is exec'd once per connection under inetd and systemd
# Accept=yes, so its start-up is paid per connection: linked statically
# it starts without the dynamic loader finding, mapping and relocating
# libc (bench/exec.sh measures it).  -static-pie keeps its address
# randomised.  CERTCOOKIE_STATIC= links it dynamically.  What static
# glibc still loads at run time must come from the glibc it was linked
# with (the link warns about it): NSS modules for host names other than
# the built-in files and dns, and GnuTLS for --fields; rebuild
# certcookie after a glibc update.  Never with -fsanitize: the
# sanitizers' runtimes are shared libraries.
CERTCOOKIE_STATIC ?= -static-pie
CERTCOOKIE_LDFLAGS != case "$(CFLAGS) $(LDFLAGS)" in *-fsanitize*) ;; \
	*) echo "$(CERTCOOKIE_STATIC)" ;; esac
WARN	= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	  -Wmissing-prototypes -Wpointer-arith -Wwrite-strings -Wvla \
	  -Wformat=2 -fno-common
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Ilib $(GNUTLS_CFLAGS) $(CFLAGS)
LIBS	= $(GNUTLS_LIBS)
SAN	= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=all
FUZZTIME ?= 60

PROGS	= certcookie tlsfront
LIBSRC	!= ls lib/*.c
LIBOBJ	= $(LIBSRC:.c=.o)
LIBHDR	!= ls lib/*.h
UNITSRC	!= ls tests/unit/*.c 2>/dev/null || true
UNITS	= $(UNITSRC:.c=)
FUZZSRC	!= ls tests/fuzz/*.c 2>/dev/null | grep -v /replay.c || true
REPLAYS	= $(FUZZSRC:.c=-replay)
FUZZERS	= $(FUZZSRC:.c=-fuzz)

all: $(PROGS)

.SUFFIXES: .c .o
.c.o:
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBOBJ) certcookie.o tlsfront.o: $(LIBHDR)

lib/libcc.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

certcookie: certcookie.o lib/libcc.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(CERTCOOKIE_LDFLAGS) -o $@ \
	    certcookie.o lib/libcc.a

tlsfront: tlsfront.o lib/libcc.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ tlsfront.o lib/libcc.a \
	    $(TLSFRONT_LIBS) -pthread

$(UNITS): %: %.c lib/libcc.a $(LIBHDR) tests/unit/unit.h
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libcc.a $(LIBS)

# The stream generator drives the certcookie binary.
tests/unit/stream: certcookie

$(REPLAYS): %-replay: %.c lib/libcc.a $(LIBHDR) tests/fuzz/replay.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $*.c \
	    tests/fuzz/replay.c lib/libcc.a $(LIBS)

deps:
	@sh tests/deps.sh check

unit: $(UNITS)
	@for t in $(UNITS); do echo "unit: $$t"; $$t || exit 1; done

replay: $(REPLAYS)
	@for r in $(REPLAYS); do \
	    n=$${r#tests/fuzz/}; n=$${n%-replay}; \
	    echo "replay: $$n"; $$r tests/fuzz/corpus/$$n || exit 1; done

# bats, closing with one "N passed, N failed, N skipped" line.
bats: all
	@rc=$$(mktemp); \
	{ bats --print-output-on-failure tests; echo $$? >"$$rc"; } | \
	    awk '{ print } /^ok .* # skip/ { s++; next } /^ok / { p++ } \
	    /^not ok / { f++ } END { printf "bats: %d passed, %d failed, %d skipped\n", p, f, s }'; \
	st=$$(cat "$$rc"); rm -f "$$rc"; exit $$st

check: deps
	@$(MAKE) all unit replay
	@$(MAKE) bats

sanitize: deps
	$(MAKE) clean
	$(MAKE) CFLAGS="$(SAN)" LDFLAGS="$(SAN)" all unit replay bats
	$(MAKE) clean

# The stream generator's inputs seed every fuzzer (-o writes them).
fuzz: deps all tests/unit/stream
	rm -rf tests/fuzz/out/stream-seeds
	mkdir -p tests/fuzz/out/stream-seeds
	tests/unit/stream -n 2000 -o tests/fuzz/out/stream-seeds
	for f in $(FUZZSRC); do \
	    n=$${f#tests/fuzz/}; n=$${n%.c}; \
	    clang -std=c11 -D_GNU_SOURCE -Ilib $(GNUTLS_CFLAGS) -g -O1 \
	        -fsanitize=fuzzer,address,undefined -o tests/fuzz/$$n-fuzz \
	        $$f lib/*.c $(LIBS) || exit 1; \
	    mkdir -p tests/fuzz/out/$$n; \
	    tests/fuzz/$$n-fuzz -max_total_time=$(FUZZTIME) \
	        -artifact_prefix=tests/fuzz/out/$$n- \
	        tests/fuzz/out/$$n tests/fuzz/corpus/$$n \
	        tests/fuzz/out/stream-seeds || exit 1; \
	done

lint:
	mandoc -Tlint -Wwarning certcookie.1 tlsfront.1

demo: 
	@sh tests/deps.sh demo
	@$(MAKE) -s all
	@sh examples/demo.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp $(PROGS) $(DESTDIR)$(BINDIR)/
	cp certcookie.1 tlsfront.1 $(DESTDIR)$(MANDIR)/man1/

clean:
	rm -f $(PROGS) *.o lib/*.o lib/libcc.a $(UNITS) $(REPLAYS) \
	    tests/fuzz/*-fuzz

.PHONY: all deps unit replay bats check sanitize fuzz lint demo install clean
