/*
 * Generated request streams through the certcookie binary, in filter
 * and in proxy mode.  A seeded generator builds pipelined streams of
 * valid and invalid heads, bodies by length and chunked, trailers,
 * upgrades, many Cookie lines and cookie names in every spelling that
 * some backend reads as ours; each stream is written in random splits.
 * The generator knows what it wrote, so the checks need no parser:
 *
 *   - every request accepted comes out, in order, its request line and
 *     other field lines unchanged, its body byte for byte;
 *   - a refused request forwards none of its head, and nothing after
 *     it goes; a request cut inside its body never arrives whole;
 *   - no client cookie pair of ours survives, ours comes last, and the
 *     client's other pairs stay, in order;
 *   - the output does not depend on how the input was split;
 *   - in proxy mode the client gets every response byte for byte, in
 *     order, then an error response for a refused request.
 *
 * Usage: stream [-n STREAMS] [-s SEED] [-m filter|proxy|both] [-o DIR]
 * STREAM_SEED in the environment also sets the seed.  -o DIR writes
 * each stream's input to DIR, as seeds for make fuzz.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/sockios.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define CERTCOOKIE	"./certcookie"
#define CERTFILE	"tests/data/cert.pem"
#define MAXHEAD		4096	/* --max-header-bytes of the runs */
#define MAXIN		(4 << 20)
#define MAXOUT		(8 << 20)
#define MAXREQ		700
#define MAXF		48
#define MAXP		24

enum kind { OK, BAD_HEAD, BAD_BODY };

struct span {
	size_t	 off, len;	/* in the stream */
};

struct req {
	enum kind	 kind;
	int		 head;		/* HEAD: the response has no body */
	int		 expect;	/* Expect: 100-continue */
	int		 chunked_resp;
	int		 cut;		/* the stream ends inside its body */
	struct span	 line;		/* request line, no CRLF */
	struct span	 keep[MAXF];	/* field lines that pass unchanged */
	size_t		 nkeep;
	struct span	 pair[MAXP];	/* client cookie pairs that stay */
	size_t		 npair;
	struct span	 body;		/* as forwarded */
};

static char in[MAXIN], out[2][MAXOUT], back[2][MAXOUT], cli[2][MAXOUT];
static size_t inlen, outlen[2], backlen[2], clilen[2];
static struct req reqs[MAXREQ];
static size_t nreq;
static uint64_t rng;
static char ours[4096];		/* "CERT=..." as certcookie adds it */
static size_t ourslen;
static int long_stream;		/* hundreds of requests: small bodies */
static int withcert;		/* this stream's run has --cert-file */
static char sockpath[108];
static unsigned long nruns, nrequests, nbad;
static int modes_run;

/* xorshift64* */
static uint64_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static unsigned
pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static int
chance(unsigned pct)
{
	return pick(100) < pct;
}

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static uint64_t stream_seed;

static void
die(const char *fmt, ...)
{
	va_list ap;
	char path[64];
	FILE *f;

	va_start(ap, fmt);
	fprintf(stderr, "stream: seed %llu: ", (unsigned long long)stream_seed);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	snprintf(path, sizeof path, "/tmp/stream-%llu.in",
	    (unsigned long long)stream_seed);
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(in, 1, inlen, f);
		fclose(f);
		fprintf(stderr, "stream: input in %s; rerun with "
		    "STREAM_SEED=%llu -n 1\n", path,
		    (unsigned long long)stream_seed);
	}
	exit(1);
}

static void
put(const void *p, size_t n)
{
	if (inlen + n > MAXIN)
		die("stream too large");
	memcpy(in + inlen, p, n);
	inlen += n;
}

static void
puts_(const char *s)
{
	put(s, strlen(s));
}

static void
putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
putf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	put(buf, (size_t)n);
}

/* Append a random token of 1..max characters. */
static void
token(unsigned max)
{
	static const char t[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.!#$&'*+^`|~";
	unsigned n = 1 + pick(max);

	while (n--)
		put(&t[pick(sizeof t - 1)], 1);
}

/* A field value: visible characters, spaces inside, none at the ends. */
static void
value(unsigned max)
{
	unsigned n = 1 + pick(max), i;
	char c;

	for (i = 0; i < n; i++) {
		c = (char)(0x21 + pick(0x5e));
		if (i > 0 && i + 1 < n && chance(10))
			c = ' ';
		put(&c, 1);
	}
}

/*
 * Cookie names that some backend reads as CERT or one of our CERT_*
 * cookies (REFERENCES.md, "Names that parsers trim to CERT"), and
 * pairs in which SimpleCookie or ASP.NET finds CERT=.
 */
static const char *const spoof_names[] = {
	"CERT", "cert", "Cert", "cErT", " CERT", "CERT ", "\tCERT", "CERT\t",
	"%43ERT", "CE%52T", "CERT%20", "%20CERT", "cert%09", "+CERT",
	"CERT+", "CERT[]", "CERT[x]", "CERT_S_DN", "cert_verify",
	"CERT_SHA256", "CERT_CHAIN", "Cert_I_Dn", "CERT.S.DN", "CERT S DN",
	"CERT_V_END", "CERT_SERIAL", "CERT_V_START", "%2BCERT",
	/* Unicode white space, as latin-1 bytes and as UTF-8. */
	"CERT\xa0", "\xa0" "CERT", "CERT\x85", "CERT\xc2\xa0",
	"\xc2\xa0" "CERT", "CERT\xe3\x80\x80", "\xe2\x80\x8a" "CERT",
	"\xef\xbb\xbf" "CERT", "CERT\xe2\x80\xa8", "CERT%0D", "%0ACERT",
	"%A0CERT", "CERT%C2%A0", "%1cCERT", "CERT%0b", "+%20\xa0" "cert+",
};

static const char *const spoof_pairs[] = {
	"x=1 CERT=evil", "x=a,CERT=evil", "x=\"a\"CERT=evil",
	"x=a\\CERT=evil", "x=1\tCERT=evil", "x=a, cert=evil",
};

/* Names no backend reads as one of ours. */
static const char *const safe_names[] = {
	"a", "sid", "CERTX", "xCERT", "CERT_ID", "CERTS", "certificate",
	"theme", "C", "CERT_S", "CERT_CHAINS", "lang",
};

static const char *const safe_values[] = {
	"1", "x", "abc-DEF_123", "x-CERT=y", "CERT=y", "\"quoted\"", "",
	"a/b", "%20", "MIIB_-",
};

/* One Cookie field line, recording the pairs that must stay. */
static void
cookie_line(struct req *r)
{
	unsigned n = 1 + pick(6), i;
	size_t off;

	puts_(chance(80) ? "Cookie: " : chance(50) ? "cookie:" : "COOKIE: ");
	for (i = 0; i < n; i++) {
		if (i > 0)
			puts_(chance(80) ? "; " : ";");
		off = inlen;
		if (chance(30)) {
			puts_(spoof_names[pick(sizeof spoof_names /
			    sizeof spoof_names[0])]);
			puts_("=forged");
			if (chance(50))
				token(8);
		} else if (chance(8)) {
			puts_(spoof_pairs[pick(sizeof spoof_pairs /
			    sizeof spoof_pairs[0])]);
		} else {
			puts_(safe_names[pick(sizeof safe_names /
			    sizeof safe_names[0])]);
			puts_("=");
			puts_(safe_values[pick(sizeof safe_values /
			    sizeof safe_values[0])]);
			if (r->npair < MAXP) {
				r->pair[r->npair].off = off;
				r->pair[r->npair].len = inlen - off;
				r->npair++;
			} else
				die("too many pairs");
		}
	}
	puts_("\r\n");
}

static void
keep_line(struct req *r, size_t off)
{
	if (r->nkeep == MAXF)
		die("too many fields");
	r->keep[r->nkeep].off = off;
	r->keep[r->nkeep].len = inlen - off;
	r->nkeep++;
	puts_("\r\n");
}

/* A bad head: ambiguous or malformed, never to be forwarded. */
static void
bad_field(void)
{
	switch (pick(12)) {
	case 0:
		puts_("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n");
		break;
	case 1:
		puts_("Content-Length: 3\r\nContent-Length: 4\r\n");
		break;
	case 2:
		puts_("Transfer-Encoding: chunked, gzip\r\n");
		break;
	case 3:
		puts_("X-Fold: a\r\n b\r\n");
		break;
	case 4:
		puts_("X-Lf: a\n");
		break;
	case 5:
		puts_("X-Space : a\r\n");
		break;
	case 6:
		put("X-Nul: a\0b\r\n", 12);
		break;
	case 7:
		puts_("X-Cr: a\rb\r\n");
		break;
	case 8:
		puts_("Content-Length: 1x\r\n");
		break;
	case 9: {
		unsigned i;

		puts_("X-Big: ");
		for (i = 0; i < MAXHEAD; i++)
			puts_("a");
		puts_("\r\n");
		break;
	}
	case 10:
		puts_("Cookie: a=1\r\n\tCERT=x\r\n");
		break;
	default:
		puts_("Bad Name: x\r\n");
		break;
	}
}

/* A chunked body, with extensions and trailers; bad: one flaw. */
static void
chunked_body(struct req *r, int bad)
{
	unsigned n = pick(6), i, size, j, flaw = bad ? pick(n + 1) : ~0u;

	r->body.off = inlen;
	for (i = 0; i <= n; i++) {
		size = i == n ? 0 : 1 + pick(chance(long_stream ? 0 : 20) ?
		    3000 : 40);
		if (i == flaw) {
			switch (pick(5)) {
			case 0:
				puts_("zz\r\n");
				break;
			case 1:
				putf("%x\n", size ? size : 1);
				break;
			case 2:
				putf("%x\r\n", size ? size : 1);
				for (j = 0; j < (size ? size : 1); j++)
					puts_("d");
				puts_("XX");
				break;
			case 3:
				puts_("0\r\nCookie: CERT=evil\r\n\r\n");
				break;
			default:
				putf("-%x\r\n", size + 1);
				break;
			}
			r->body.len = inlen - r->body.off;
			return;
		}
		if (chance(30))
			putf("%X", size);
		else if (chance(10))
			putf("00%x", size);
		else
			putf("%x", size);
		if (chance(15)) {
			static const char *const ext[] = {
				";a=b", ";ext=\"q v\"", " ;a=b", "; a = b",
				"\t;\ta\t=\tb", ";x", " ; x=\"a;b\"",
			};

			puts_(ext[pick(sizeof ext / sizeof ext[0])]);
		}
		puts_("\r\n");
		if (size == 0)
			break;
		for (j = 0; j < size; j++) {
			char c = (char)pick(256);

			put(&c, 1);
		}
		puts_("\r\n");
	}
	if (chance(30))
		puts_("X-Trailer: t\r\n");
	puts_("\r\n");
	r->body.len = inlen - r->body.off;
}

static const char *const methods[] = {
	"GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "PATCH",
};

/*
 * Append one request.  bad: 0, or make it refused at its head
 * (BAD_HEAD) or inside its body (BAD_BODY).
 */
static void
gen_request(struct req *r, enum kind bad)
{
	unsigned nf, i, cookies, body, bad_at;
	size_t off;
	const char *m;

	memset(r, 0, sizeof *r);
	r->kind = bad;
	if (chance(3))
		puts_("\r\n");	/* an empty line before a request is skipped */
	m = methods[pick(sizeof methods / sizeof methods[0])];
	r->head = strcmp(m, "HEAD") == 0;
	r->line.off = inlen;
	if (bad == BAD_HEAD && chance(15)) {
		puts_(chance(30) ? "GET / HTTP/2.0" : chance(50) ?
		    "GET  / HTTP/1.1" : "CONNECT x:1 HTTP/1.1");
		r->line.len = inlen - r->line.off;
		puts_("\r\nHost: x\r\n\r\n");
		return;
	}
	putf("%s /", m);
	token(20);
	puts_(" HTTP/1.1");
	r->line.len = inlen - r->line.off;
	puts_("\r\n");
	body = bad == BAD_BODY ? 2 : pick(3);	/* none, length, chunked */
	nf = pick(8);
	cookies = pick(4);
	bad_at = bad == BAD_HEAD ? pick(nf + 1) : ~0u;
	off = inlen;
	puts_("Host: x");
	keep_line(r, off);
	for (i = 0; i < nf; i++) {
		if (i == bad_at)
			bad_field();
		if (i < cookies) {
			cookie_line(r);
			continue;
		}
		switch (pick(12)) {
		case 0:
			puts_("Client-Cert: :Zm9yZ2Vk:\r\n");
			continue;
		case 1:
			puts_("Client-Cert-Chain: :Zm9yZ2Vk:\r\n");
			continue;
		case 2:
			puts_(chance(50) ? "Upgrade: h2c\r\n" :
			    "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n");
			continue;
		case 4:
			off = inlen;
			puts_("Upgrade: websocket");
			keep_line(r, off);
			continue;
		case 3:
			if (body == 1 || r->expect)
				break;
			r->expect = 1;
			off = inlen;
			puts_("Expect: 100-continue");
			keep_line(r, off);
			continue;
		default:
			break;
		}
		off = inlen;
		puts_("X-");
		token(12);
		puts_(chance(80) ? ": " : ":");
		value(40);
		keep_line(r, off);
	}
	if (i == bad_at)
		bad_field();
	if (body == 1) {
		unsigned len = pick(chance(long_stream ? 0 : 10) ? 70000 : 300), j;

		off = inlen;
		putf("Content-Length: %u", len);
		keep_line(r, off);
		puts_("\r\n");
		r->body.off = inlen;
		for (j = 0; j < len; j++) {
			char c = (char)pick(256);

			put(&c, 1);
		}
		r->body.len = len;
		return;
	}
	if (body == 2) {
		off = inlen;
		puts_(chance(80) ? "Transfer-Encoding: chunked" :
		    "transfer-encoding: chunked");
		keep_line(r, off);
		puts_("\r\n");
		chunked_body(r, bad == BAD_BODY);
		return;
	}
	puts_("\r\n");
	r->body.off = inlen;
}

/* A stream: mostly valid requests, at most one bad one, at its end. */
static void
gen_stream(void)
{
	unsigned n, i;
	enum kind bad = OK;

	inlen = 0;
	long_stream = chance(3);
	n = long_stream ? 250 + pick(400) : 1 + pick(12);
	if (chance(40))
		bad = chance(50) ? BAD_HEAD : BAD_BODY;
	for (i = 0; i < n; i++)
		gen_request(&reqs[i], i + 1 == n ? bad : OK);
	nreq = n;
	/* Cut inside the last request, as a client that goes away. */
	if (bad == OK && chance(10)) {
		struct req *r = &reqs[n - 1];
		size_t end = r->body.off + r->body.len;

		inlen = r->line.off + 1 + pick((unsigned)(end - r->line.off -
		    1));
		r->kind = inlen <= r->body.off ? BAD_HEAD : BAD_BODY;
		if (r->kind == BAD_BODY) {
			r->body.len = inlen - r->body.off;
			r->cut = 1;
		}
	}
}

static int
same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/* Does the line start with field name "name:" (any case)? */
static int
is_field(const char *l, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(l, name, k) == 0 && l[k] == ':';
}

/* Check one request's head at o[*pos..olen); advance *pos past it. */
static void
check_head(const struct req *r, size_t ri, const char *o, size_t olen,
    size_t *pos)
{
	size_t p = *pos, e, k = 0, ncookie = 0;
	const char *line, *v, *ve, *s;
	size_t ll, pi;

	if (!(olen - p >= r->line.len + 2 && memcmp(o + p, in + r->line.off,
	    r->line.len) == 0 && memcmp(o + p + r->line.len, "\r\n", 2) == 0))
		die("request %zu: request line lost or changed at %zu: "
		    "%.60s", ri, p, o + p);
	p += r->line.len + 2;
	for (;;) {
		const char *nl = memmem(o + p, olen - p, "\r\n", 2);

		if (nl == NULL)
			die("request %zu: head not ended", ri);
		e = (size_t)(nl - o);
		line = o + p;
		ll = e - p;
		if (memchr(line, '\n', ll) || memchr(line, '\r', ll))
			die("request %zu: bare CR or LF in the output", ri);
		p = e + 2;
		if (ll == 0)
			break;
		if (is_field(line, ll, "Client-Cert") ||
		    is_field(line, ll, "Client-Cert-Chain") ||
		    is_field(line, ll, "HTTP2-Settings"))
			die("request %zu: a client field passed: %.*s", ri,
			    (int)ll, line);
		if (!is_field(line, ll, "Cookie")) {
			if (k == r->nkeep || !same(line, ll, in +
			    r->keep[k].off, r->keep[k].len))
				die("request %zu: field line %zu: want [%.*s] "
				    "got [%.*s]", ri, k, k < r->nkeep ?
				    (int)r->keep[k].len : 0, k < r->nkeep ?
				    in + r->keep[k].off : "", (int)ll, line);
			k++;
			continue;
		}
		/* Our one Cookie field: the client's pairs that stay, ours. */
		if (ncookie++)
			die("request %zu: two Cookie fields", ri);
		v = line + 7;
		ve = line + ll;
		if (v < ve && *v == ' ')
			v++;
		for (pi = 0;; pi++) {
			s = memmem(v, (size_t)(ve - v), "; ", 2);
			if (s == NULL)
				s = ve;
			if (pi < r->npair) {
				if (!same(v, (size_t)(s - v), in +
				    r->pair[pi].off, r->pair[pi].len))
					die("request %zu: cookie pair %zu: "
					    "want [%.*s] got [%.*s]", ri, pi,
					    (int)r->pair[pi].len,
					    in + r->pair[pi].off,
					    (int)(s - v), v);
			} else if (withcert && pi == r->npair) {
				if (!same(v, (size_t)(s - v), ours, ourslen))
					die("request %zu: ours is not last: "
					    "[%.*s]", ri, (int)(s - v), v);
			} else
				die("request %zu: an extra cookie pair: "
				    "[%.*s]", ri, (int)(s - v), v);
			if (s == ve)
				break;
			v = s + 2;
		}
		if (pi + 1 != r->npair + (size_t)withcert)
			die("request %zu: %zu cookie pairs, want %zu", ri,
			    pi + 1, r->npair + (size_t)withcert);
	}
	if (k != r->nkeep)
		die("request %zu: %zu of %zu field lines", ri, k, r->nkeep);
	if (ncookie == 0 && (r->npair || withcert))
		die("request %zu: no Cookie field", ri);
	*pos = p;
}

/*
 * Walk the forwarded bytes o[0..olen) against the requests.  Returns
 * the number of requests that arrived whole; final: the stream has
 * ended, so the bytes must end where the requests do.
 */
static size_t
check_forwarded(const char *o, size_t olen, int final)
{
	size_t pos = 0, i, save;
	const struct req *r;

	for (i = 0; i < nreq; i++) {
		r = &reqs[i];
		if (r->kind == BAD_HEAD)
			break;
		if (!final) {
			/* Only a whole head can be checked yet. */
			const char *e = memmem(o + pos, olen - pos,
			    "\r\n\r\n", 4);

			if (e == NULL)
				return i;
		}
		save = pos;
		check_head(r, i, o, olen, &pos);
		if (r->kind == BAD_BODY) {
			if (olen - pos > r->body.len ||
			    (!r->cut && olen - pos == r->body.len) ||
			    memcmp(o + pos, in + r->body.off, olen - pos))
				die("request %zu: a cut body went further "
				    "than its flaw, or changed", i);
			pos = olen;
			break;
		}
		if (olen - pos < r->body.len) {
			if (final)
				die("request %zu: body lost (%zu of %zu)", i,
				    olen - pos, r->body.len);
			(void)save;
			return i;
		}
		if (memcmp(o + pos, in + r->body.off, r->body.len) != 0)
			die("request %zu: body changed", i);
		pos += r->body.len;
	}
	if (final && pos != olen)
		die("%zu bytes forwarded after request %zu: %.60s",
		    olen - pos, i, o + pos);
	return i;
}

/* The backend's response to request i, in buf; returns its length. */
static size_t
response(size_t i, char *buf, size_t cap)
{
	const struct req *r = &reqs[i];
	int n = 0;

	if (r->expect)
		n += snprintf(buf, cap, "HTTP/1.1 100 Continue\r\n\r\n");
	if (r->chunked_resp)
		n += snprintf(buf + n, cap - n, "HTTP/1.1 200 OK\r\n"
		    "Transfer-Encoding: chunked\r\nX-I: %zu\r\n\r\n%s", i,
		    r->head ? "" : "5\r\nhello\r\n0\r\n\r\n");
	else {
		n += snprintf(buf + n, cap - n, "HTTP/1.1 200 OK\r\n"
		    "Content-Length: 6\r\nX-I: %zu\r\n\r\n", i);
		if (!r->head)
			n += snprintf(buf + n, cap - n, "%05zu\n", i % 100000);
	}
	return (size_t)n;
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Split points: whole (0), random small writes (1). */
static size_t
next_split(int split, size_t at)
{
	size_t n, mean;

	if (split == 0)
		return inlen;
	/*
	 * About 40 writes a stream, so that a run costs what a process
	 * costs; a short stream goes byte by byte now and then.
	 */
	mean = inlen / 40 + 1;
	if (inlen < 600 && chance(20))
		n = 1;
	else if (chance(30))
		n = 1 + pick(8);
	else
		n = 1 + pick((unsigned)(2 * mean));
	return at + n > inlen ? inlen : at + n;
}

/* A run that hangs in a system call still ends, as a failure. */
static void
on_alarm(int sig)
{
	static const char msg[] = "stream: a run took over 60 s\n";

	(void)sig;
	(void)write(2, msg, sizeof msg - 1);
	_exit(1);
}

static pid_t
start(int fd0, int fd1, int proxy)
{
	char maxhead[16];
	pid_t pid;

	char conn[128];
	const char *argv[12];
	int a = 0;

	snprintf(maxhead, sizeof maxhead, "%d", MAXHEAD);
	argv[a++] = getenv("CERTCOOKIE") ? getenv("CERTCOOKIE") : CERTCOOKIE;
	argv[a++] = "--quiet";
	argv[a++] = "--max-header-bytes";
	argv[a++] = maxhead;
	if (withcert) {
		argv[a++] = "--cert-file";
		argv[a++] = CERTFILE;
	}
	if (proxy) {
		snprintf(conn, sizeof conn, "unix:%s", sockpath);
		argv[a++] = "--connect";
		argv[a++] = conn;
	}
	argv[a] = NULL;
	/* vfork: the tens of MiB of buffers here are not copied. */
	if ((pid = vfork()) == -1) {
		perror("vfork");
		exit(1);
	}
	if (pid == 0) {

		dup2(fd0, 0);
		dup2(fd1, 1);
		if (fd0 > 2)
			close(fd0);
		if (fd1 > 2 && fd1 != fd0)
			close(fd1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int
wait_exit(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Has the peer read everything we wrote to the socket? */
static int
drained(int fd)
{
	int q = 0;

	return ioctl(fd, SIOCOUTQ, &q) == 0 && q == 0;
}

/*
 * The client's writes: the next split once the peer has read this one
 * (or 20 ms after it went, when the peer stopped reading), and the
 * half-close once all is written.
 */
static void
next_write(int fd, int split, size_t at, size_t *end, uint64_t *tw,
    int *shut)
{
	if (at == *end && at < inlen && (drained(fd) ||
	    (*tw && now_ms() - *tw > 20))) {
		*end = next_split(split, at);
		*tw = 0;
	}
	if (at == inlen && !*shut) {
		shutdown(fd, SHUT_WR);
		*shut = 1;
	}
}

/* Filter mode: stdin a socket written in splits, stdout a pipe. */
static int
run_filter(int split, char *o, size_t *olen)
{
	int sv[2], pp[2], st, shut = 0;
	size_t at = 0, end;
	uint64_t t0 = now_ms(), tw = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    pipe2(pp, O_CLOEXEC) == -1) {
		perror("socketpair");
		exit(1);
	}
	pid = start(sv[1], pp[1], 0);
	close(sv[1]);
	close(pp[1]);
	nonblock(sv[0]);
	nonblock(pp[0]);
	*olen = 0;
	end = next_split(split, 0);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = pp[0], .events = POLLIN },
			{ .fd = sv[0], .events = POLLOUT },
		};
		ssize_t n;

		if (now_ms() - t0 > 20000)
			die("filter run stalled (%zu of %zu written)", at,
			    inlen);
		/* One split at a time: the next once this one is read. */
		next_write(sv[0], split, at, &end, &tw, &shut);
		if (at == end)
			pfd[1].fd = -1;
		if (poll(pfd, 2, at == end && at < inlen ? 1 : 100) == -1 &&
		    errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pfd[1].revents) {
			n = write(sv[0], in + at, end - at);
			if (n > 0) {
				at += (size_t)n;
				if (at == end)
					tw = now_ms();
			} else if (n == -1 && errno != EAGAIN) {
				/* certcookie stopped reading: it refused. */
				at = end = inlen;
			}
		}
		if (pfd[0].revents) {
			n = read(pp[0], o + *olen, MAXOUT - *olen);
			if (n == 0)
				break;
			if (n > 0)
				*olen += (size_t)n;
			if (*olen == MAXOUT)
				die("output too large");
		}
	}
	close(sv[0]);
	close(pp[0]);
	st = wait_exit(pid);
	nruns++;
	return st;
}

/*
 * Proxy mode: the client is a socket written in splits, the backend a
 * UNIX socket that answers each request once it has come whole.
 */
static int
run_proxy(int split, char *b, size_t *blen, char *c, size_t *clen)
{
	static char resp[MAXREQ * 160];
	int sv[2], lfd, bfd = -1, st, cshut = 0, ceof = 0;
	size_t at = 0, end, answered = 0, rlen = 0, roff = 0, whole;
	struct sockaddr_un sun;
	uint64_t t0 = now_ms(), tw = 0;
	pid_t pid;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, sockpath);
	unlink(sockpath);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&sun, sizeof sun) ==
	    -1 || listen(lfd, 4) == -1 || socketpair(AF_UNIX, SOCK_STREAM |
	    SOCK_CLOEXEC, 0, sv) == -1) {
		perror("backend socket");
		exit(1);
	}
	pid = start(sv[1], sv[1], 1);
	close(sv[1]);
	nonblock(sv[0]);
	*blen = *clen = 0;
	end = next_split(split, 0);
	while (!ceof) {
		struct pollfd pfd[3] = {
			{ .fd = sv[0], .events = POLLIN },
			{ .fd = bfd == -1 ? lfd : bfd >= 0 ? bfd : -1,
			    .events = POLLIN },
			{ .fd = -1, .events = POLLOUT },
		};

		/* bfd: -1 before the accept, -2 once the backend closed. */
		ssize_t n;

		if (now_ms() - t0 > 20000)
			die("proxy run stalled (%zu of %zu written, %zu "
			    "answered)", at, inlen, answered);
		next_write(sv[0], split, at, &end, &tw, &cshut);
		if (at < end)
			pfd[0].events |= POLLOUT;
		if (bfd != -1 && roff < rlen)
			pfd[2].fd = bfd;
		if (poll(pfd, 3, at == end && at < inlen ? 1 : 100) == -1 &&
		    errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pfd[0].revents & POLLOUT && at < end) {
			n = write(sv[0], in + at, end - at);
			if (n > 0) {
				at += (size_t)n;
				if (at == end)
					tw = now_ms();
			} else if (n == -1 && errno != EAGAIN) {
				at = end = inlen;
				cshut = 1;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			n = read(sv[0], c + *clen, MAXOUT - *clen);
			if (n == 0 || (n == -1 && errno != EAGAIN))
				ceof = 1;
			else if (n > 0)
				*clen += (size_t)n;
		}
		if (bfd == -1 && pfd[1].revents) {
			bfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC |
			    SOCK_NONBLOCK);
			continue;
		}
		if (bfd >= 0 && pfd[1].revents) {
			n = read(bfd, b + *blen, MAXOUT - *blen);
			if (n == 0) {
				/* The answers owed go out first. */
				fcntl(bfd, F_SETFL, 0);
				while (roff < rlen && (n = write(bfd, resp +
				    roff, rlen - roff)) > 0)
					roff += (size_t)n;
				close(bfd);
				bfd = -2;	/* gone: never accept again */
			} else if (n > 0) {
				*blen += (size_t)n;
				whole = check_forwarded(b, *blen, 0);
				for (; answered < whole; answered++) {
					if (rlen + 160 > sizeof resp)
						die("responses");
					rlen += response(answered, resp + rlen,
					    sizeof resp - rlen);
				}
			}
		}
		if (bfd >= 0 && pfd[2].revents) {
			n = write(bfd, resp + roff, rlen - roff);
			if (n > 0)
				roff += (size_t)n;
		}
	}
	if (bfd >= 0)
		close(bfd);
	close(lfd);
	close(sv[0]);
	st = wait_exit(pid);
	unlink(sockpath);
	nruns++;
	return st;
}

/* Is the stream's last request a refused one? */
static int
refused(void)
{
	return nreq > 0 && reqs[nreq - 1].kind != OK;
}

static void
check_client(const char *c, size_t clen)
{
	static char want[MAXREQ * 160];
	size_t i, n = 0, whole = 0;

	for (i = 0; i < nreq && reqs[i].kind == OK; i++) {
		n += response(i, want + n, sizeof want - n);
		whole++;
	}
	if (clen < n || memcmp(c, want, n) != 0) {
		fprintf(stderr, "want:\n%.*s\ngot:\n%.*s\n", (int)n, want,
		    (int)clen, c);
		die("the client did not get the %zu responses byte for byte "
		    "(%zu of %zu bytes)", whole, clen, n);
	}
	if (!refused()) {
		if (clen != n)
			die("the client got more than the responses: %.60s",
			    c + n);
		return;
	}
	if (clen - n < 12 || memcmp(c + n, "HTTP/1.1 ", 9) != 0 ||
	    (c[n + 9] != '4' && c[n + 9] != '5') ||
	    memmem(c + n, clen - n, "\r\nConnection: close\r\n", 21) == NULL)
		die("no error response after the earlier ones: [%.*s]",
		    (int)(clen - n > 60 ? 60 : clen - n), c + n);
}

static void
one_stream(int mode)
{
	size_t i;
	int st[2], k;

	for (i = 0; i < nreq; i++)
		reqs[i].chunked_resp = chance(20);
	withcert = chance(70);
	for (k = 0; k < 2; k++) {
		if (mode == 0) {
			st[k] = run_filter(k, out[k], &outlen[k]);
			check_forwarded(out[k], outlen[k], 1);
		} else {
			st[k] = run_proxy(k, back[k], &backlen[k], cli[k],
			    &clilen[k]);
			check_forwarded(back[k], backlen[k], 1);
			check_client(cli[k], clilen[k]);
		}
		if (st[k] != (refused() ? 65 : 0))
			die("%s mode, split %d: exit %d, want %d",
			    mode ? "proxy" : "filter", k, st[k],
			    refused() ? 65 : 0);
	}
	if (mode == 0 && !same(out[0], outlen[0], out[1], outlen[1]))
		die("filter output depends on the split");
	if (mode == 1 && !same(back[0], backlen[0], back[1], backlen[1]))
		die("proxy output depends on the split");
	if (mode == 0 || !(modes_run & 1)) {
		nrequests += nreq;
		nbad += refused();
	}
}

/* Our cookie, as certcookie adds it to a request without one. */
static void
learn_ours(void)
{
	struct req r = { 0 };
	char *p, *e;

	inlen = 0;
	puts_("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	nreq = 1;
	reqs[0] = r;
	withcert = 1;
	if (run_filter(0, out[0], &outlen[0]) != 0)
		die("certcookie does not run");
	p = memmem(out[0], outlen[0], "Cookie: CERT=", 13);
	if (p == NULL || (e = memmem(p, outlen[0] - (size_t)(p - out[0]),
	    "\r\n", 2)) == NULL || (size_t)(e - p - 8) >= sizeof ours)
		die("no CERT cookie in %.*s", (int)outlen[0], out[0]);
	ourslen = (size_t)(e - p - 8);
	memcpy(ours, p + 8, ourslen);
}

/*
 * Streams a run: 1000 by default; under make sanitize, where every run
 * of certcookie costs about ten times more, 250 (the fuzzers take the
 * parser further under ASan than more streams would).
 */
#ifdef __SANITIZE_ADDRESS__
#define STREAMS	250
#else
#define STREAMS	1000
#endif

int
main(int argc, char *argv[])
{
	unsigned long streams = STREAMS, s;
	uint64_t seed = 1;
	const char *dir = NULL, *env;
	int c, modes = 3, m;
	uint64_t t0;

	if ((env = getenv("STREAM_SEED")) != NULL)
		seed = strtoull(env, NULL, 10);
	while ((c = getopt(argc, argv, "n:s:m:o:")) != -1) {
		switch (c) {
		case 'n':
			streams = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			modes = strcmp(optarg, "filter") == 0 ? 1 :
			    strcmp(optarg, "proxy") == 0 ? 2 : 3;
			break;
		case 'o':
			dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: stream [-n STREAMS] [-s SEED] "
			    "[-m filter|proxy|both] [-o DIR]\n");
			return 64;
		}
	}
	modes_run = modes;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	snprintf(sockpath, sizeof sockpath, "/tmp/stream-backend.%d",
	    (int)getpid());
	t0 = now_ms();
	if (dir && mkdir(dir, 0777) == -1 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	learn_ours();
	for (s = 0; s < streams; s++) {
		stream_seed = seed + s;
		rng = stream_seed * 0x9e3779b97f4a7c15ull + 1;
		gen_stream();
		if (dir) {
			char path[512];
			FILE *f;

			if (inlen > 65536)
				continue;	/* too slow a fuzzer input */
			snprintf(path, sizeof path, "%s/stream-%llu", dir,
			    (unsigned long long)stream_seed);
			if ((f = fopen(path, "w")) != NULL) {
				fwrite(in, 1, inlen, f);
				fclose(f);
			}
			continue;
		}
		alarm(60);
		for (m = 0; m < 2; m++)
			if (modes & (1 << m))
				one_stream(m);
		alarm(0);
	}
	if (dir) {
		printf("stream: seeds of up to 64 KiB written to %s\n", dir);
		return 0;
	}
	printf("stream: seed %llu: %lu streams, %lu requests (%lu streams "
	    "end refused or cut), %lu runs of certcookie, %llu ms\n",
	    (unsigned long long)seed, streams, nrequests, nbad, nruns,
	    (unsigned long long)(now_ms() - t0));
	printf("stream: %lu passed, 0 failed\n", streams);
	return 0;
}
