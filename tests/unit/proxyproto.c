/*
 * Unit tests of lib/proxyproto.c: every v1 and v2 form, each input also
 * cut at every length (a prefix of a valid header needs more, never
 * succeeds), copied so that it ends at an inaccessible page; builders
 * read back, by the parser and by a TLV reader of the test's own; and
 * a seeded random run over random and mutated headers.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>

#include "proxyproto.h"
#include "unit.h"

#define S(lit)	lit, sizeof(lit) - 1
#define NEED	PROXY_NEED_MORE
#define NOT	PROXY_NOT_PROXY
#define BAD	PROXY_BAD
#define LONG	PROXY_TOO_LONG

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/*
 * proxy_parse() on a copy of in[0..n) that ends at a guard page; the
 * copy is gone on return, so no slice of *h may be read.
 */
static int
parse(const void *in, size_t n, struct proxy_hdr *h)
{
	void *map;
	size_t maplen;
	char *p;
	int r;

	p = guard_copy(in, n, &map, &maplen);
	r = proxy_parse(p, n, h);
	guard_free(map, maplen);
	return r;
}

/*
 * in[0..n) whole gives want; every strict prefix gives PROXY_NEED_MORE
 * when want is a length, and never a length otherwise.  Returns the
 * whole input's result, with *h filled from in itself.
 */
static int
check_cuts(const char *name, const void *in, size_t n, int want,
    struct proxy_hdr *h)
{
	struct proxy_hdr t;
	size_t i;
	int r;

	r = parse(in, n, h);
	CHECK(r == want, "%s: got %d, want %d", name, r, want);
	for (i = 0; i < n; i++) {
		r = parse(in, i, &t);
		if (want > 0 && (size_t)want > i)
			CHECK(r == NEED, "%s: prefix %zu: got %d", name, i, r);
		else if (want > 0)
			CHECK(r == want, "%s: prefix %zu: got %d", name, i, r);
		else
			CHECK(r <= 0, "%s: prefix %zu: got %d", name, i, r);
	}
	/* Once more in place: the slices of *h point into in. */
	return proxy_parse(in, n, h);
}

/* Is ss family af, address addr, port port? */
static int
is_addr(const struct sockaddr_storage *ss, int af, const char *addr,
    unsigned port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	uint8_t a[16];

	if (ss->ss_family != af || inet_pton(af, addr, a) != 1)
		return 0;
	if (af == AF_INET)
		return memcmp(&sin->sin_addr, a, 4) == 0 &&
		    ntohs(sin->sin_port) == port;
	return memcmp(&sin6->sin6_addr, a, 16) == 0 &&
	    ntohs(sin6->sin6_port) == port;
}

static void
make_sa(struct sockaddr_storage *ss, int af, const char *addr, unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)af;
	if (af == AF_INET) {
		inet_pton(af, addr, &sin->sin_addr);
		sin->sin_port = htons((uint16_t)port);
	} else if (af == AF_INET6) {
		inet_pton(af, addr, &sin6->sin6_addr);
		sin6->sin6_port = htons((uint16_t)port);
	}
}

struct v1case {
	const char	*name;
	const char	*in;
	size_t		 len;
	int		 want;		/* length, or an error */
	int		 family;
	const char	*src, *dst;
	unsigned	 sport, dport;
};

#define L4	"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
#define L6	"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n"
#define MAX6	"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff " \
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"

static const struct v1case v1cases[] = {
	{ "TCP4", S(L4), 47, AF_INET, "192.168.0.1", "192.168.0.11", 56324,
	    443 },
	{ "TCP4 then data", S(L4 "GET / HTTP/1.1\r\n"), 47, AF_INET,
	    "192.168.0.1", "192.168.0.11", 56324, 443 },
	{ "TCP4 widest", S("PROXY TCP4 255.255.255.255 255.255.255.255 "
	    "65535 65535\r\n"), 56, AF_INET, "255.255.255.255",
	    "255.255.255.255", 65535, 65535 },
	{ "TCP4 zeros", S("PROXY TCP4 0.0.0.0 10.0.0.0 0 0\r\n"), 33,
	    AF_INET, "0.0.0.0", "10.0.0.0", 0, 0 },
	{ "TCP6", S(L6), 36, AF_INET6, "2001:db8::1", "::1", 1, 65535 },
	{ "TCP6 widest", S("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff FFFF:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
	    104, AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 65535 },
	{ "TCP6 mapped", S("PROXY TCP6 ::ffff:1.2.3.4 :: 80 81\r\n"), 36,
	    AF_INET6, "::ffff:1.2.3.4", "::", 80, 81 },
	{ "UNKNOWN short", S("PROXY UNKNOWN\r\n"), 15, AF_UNSPEC, NULL,
	    NULL, 0, 0 },
	{ "UNKNOWN with addresses", S("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n"),
	    35, AF_UNSPEC, NULL, NULL, 0, 0 },
	{ "UNKNOWN with anything", S("PROXY UNKNOWN  x\t\x01 y\r\n"), 22,
	    AF_UNSPEC, NULL, NULL, 0, 0 },
	{ "UNKNOWN worst case", S(MAX6), 107, AF_UNSPEC, NULL, NULL, 0, 0 },

	{ "UNKNOWN over 107", S("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350"
	    "\r\n"), LONG, 0, NULL, NULL, 0, 0 },
	{ "UNKNOWN CR at 107", S("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:"
	    "ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 "
	    "655350\r"), LONG, 0, NULL, NULL, 0, 0 },
	{ "UNKNOWN without CRLF", S("PROXY UNKNOWN aaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), LONG, 0, NULL, NULL, 0, 0 },
	{ "UNKNOWN glued", S("PROXY UNKNOWNX\r\n"), BAD, 0, NULL, NULL, 0,
	    0 },
	{ "UNKNOWN bare LF inside", S("PROXY UNKNOWN a\nb\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "UNKNOWN bare CR inside", S("PROXY UNKNOWN a\rb\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "missing CR", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "missing LF", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "CR CR LF", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "space before CRLF", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), BAD,
	    0, NULL, NULL, 0, 0 },
	{ "two spaces", S("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "two spaces after PROXY", S("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	    BAD, 0, NULL, NULL, 0, 0 },
	{ "tab", S("PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "no space after PROXY", S("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	    BAD, 0, NULL, NULL, 0, 0 },
	{ "PROXY alone", S("PROXY\r\n"), BAD, 0, NULL, NULL, 0, 0 },
	{ "PROXY space alone", S("PROXY \r\n"), BAD, 0, NULL, NULL, 0, 0 },
	{ "lowercase", S("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), NOT, 0, NULL,
	    NULL, 0, 0 },
	{ "lowercase family", S("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), BAD,
	    0, NULL, NULL, 0, 0 },
	{ "TCP5", S("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "UDP4", S("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "port 65536", S("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "port 99999", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "port of six digits", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 000001\r\n"),
	    BAD, 0, NULL, NULL, 0, 0 },
	{ "port leading zero", S("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), BAD,
	    0, NULL, NULL, 0, 0 },
	{ "port 00", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "port sign", S("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "port hex", S("PROXY TCP4 1.2.3.4 5.6.7.8 0x1 2\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "one port", S("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "three ports", S("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "no destination", S("PROXY TCP4 1.2.3.4\r\n"), BAD, 0, NULL, NULL,
	    0, 0 },
	{ "address leading zero", S("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"),
	    BAD, 0, NULL, NULL, 0, 0 },
	{ "address 256", S("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "address of three parts", S("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"),
	    BAD, 0, NULL, NULL, 0, 0 },
	{ "address of five parts", S("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"),
	    BAD, 0, NULL, NULL, 0, 0 },
	{ "address empty part", S("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n"), BAD,
	    0, NULL, NULL, 0, 0 },
	{ "address trailing dot", S("PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n"),
	    BAD, 0, NULL, NULL, 0, 0 },
	{ "address name", S("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "IPv6 in TCP4", S("PROXY TCP4 ::1 ::1 1 2\r\n"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "IPv4 in TCP6", S("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "IPv6 two ::", S("PROXY TCP6 1::2::3 ::1 1 2\r\n"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "IPv6 nine groups", S("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n"),
	    BAD, 0, NULL, NULL, 0, 0 },
	{ "IPv6 group of five", S("PROXY TCP6 12345::1 ::1 1 2\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "IPv6 zone", S("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), BAD, 0,
	    NULL, NULL, 0, 0 },
	{ "IPv6 brackets", S("PROXY TCP6 [::1] ::1 1 2\r\n"), BAD, 0, NULL,
	    NULL, 0, 0 },
	{ "IPv6 over 39 bytes", S("PROXY TCP6 0000:0000:0000:0000:0000:ffff:"
	    "255.255.255.255 ::1 1 2\r\n"), BAD, 0, NULL, NULL, 0, 0 },
	{ "IPv6 last group of five", S("PROXY TCP6 0:0:0:0:0:0:0:00001 ::1 1 2"
	    "\r\n"), BAD, 0, NULL, NULL, 0, 0 },
	{ "NUL in the line", S("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"), BAD,
	    0, NULL, NULL, 0, 0 },
	{ "HTTP", S("GET / HTTP/1.1\r\n\r\n"), NOT, 0, NULL, NULL, 0, 0 },
	{ "TLS", S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), NOT, 0,
	    NULL, NULL, 0, 0 },
	{ "PROXZ", S("PROXZ TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), NOT, 0, NULL,
	    NULL, 0, 0 },
	{ "P then LF", S("P\n"), NOT, 0, NULL, NULL, 0, 0 },
};

static void
test_v1(void)
{
	const struct v1case *c;
	struct proxy_hdr h;
	size_t i;
	int r;

	for (i = 0; i < sizeof(v1cases) / sizeof(v1cases[0]); i++) {
		c = &v1cases[i];
		r = check_cuts(c->name, c->in, c->len, c->want, &h);
		if (r <= 0 || c->want <= 0)
			continue;
		CHECK(h.version == 1, "%s: version %d", c->name, h.version);
		CHECK(h.command == PROXY_CMD_PROXY, "%s", c->name);
		CHECK(h.family == c->family, "%s: family %d", c->name,
		    h.family);
		CHECK(h.tlv == NULL && h.tlv_len == 0 && !h.has_ssl, "%s",
		    c->name);
		if (c->src == NULL) {
			CHECK(!h.has_addr, "%s: has an address", c->name);
			continue;
		}
		CHECK(h.has_addr && h.socktype == SOCK_STREAM, "%s", c->name);
		CHECK(is_addr(&h.src, c->family, c->src, c->sport),
		    "%s: source", c->name);
		CHECK(is_addr(&h.dst, c->family, c->dst, c->dport),
		    "%s: destination", c->name);
	}
	/* A false start is refused before the line is complete. */
	CHECK(parse(S("PROXY TCP4 01"), &h) == BAD, "early leading zero");
	CHECK(parse(S("PROXY TCP4 1.2.3.4 5.6.7.8 7000"), &h) == NEED,
	    "port prefix");
	CHECK(parse(S("PROXY TCP4 1.2.3.4 5.6.7.8 70000"), &h) == BAD,
	    "early port over 65535");
	CHECK(parse(S("PROXY X"), &h) == BAD, "early family");
	CHECK(parse(S("PROXY TCP"), &h) == NEED, "TCP4 or TCP6 to come");
	CHECK(parse(S("PROXY TCP4 1.2.3.4 "), &h) == NEED, "field to come");
	CHECK(parse(S("PROXY TCP4 1.2.3.4  "), &h) == BAD, "early 2 spaces");
	CHECK(parse(S("PROXY TCP6 g"), &h) == BAD, "early IPv6 byte");
}

/* A v2 header: signature, ver_cmd, fam, then body[0..n). */
static size_t
v2(uint8_t *out, int ver_cmd, int fam, const void *body, size_t n)
{
	memcpy(out, sig, 12);
	out[12] = (uint8_t)ver_cmd;
	out[13] = (uint8_t)fam;
	out[14] = (uint8_t)(n >> 8);
	out[15] = (uint8_t)n;
	if (n > 0)
		memcpy(out + 16, body, n);
	return 16 + n;
}

/* The body of a TCP4 header 1.2.3.4:256 -> 5.6.7.8:443, then tail. */
static size_t
body4(uint8_t *b, const void *tail, size_t n)
{
	static const uint8_t a[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 1, 187 };

	memcpy(b, a, 12);
	if (n > 0)
		memcpy(b + 12, tail, n);
	return 12 + n;
}

/* CRC-32C as RFC 3720 B.4 gives it, to check the parser's own. */
static uint32_t
ref_crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffff;
	int k;

	while (n-- > 0) {
		c ^= *p++;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78 : c >> 1;
	}
	return ~c;
}

static void
test_v2(void)
{
	static const uint8_t ssl[] = {
		0x20, 0, 26, 0x07, 0, 0, 0, 0,
		0x21, 0, 7, 'T', 'L', 'S', 'v', '1', '.', '3',
		0x22, 0, 3, 'b', 'o', 'b',
		0x99, 0, 2, 'x', 'y',
	};
	uint8_t b[8192], body[8192], out[8192];
	struct proxy_hdr h;
	size_t n, m;
	uint32_t crc;
	int r;

	/* TCP over IPv4, then stream data. */
	n = v2(out, 0x21, 0x11, body, body4(body, NULL, 0));
	memcpy(out + n, "GET", 3);
	r = check_cuts("v2 TCP4", out, n + 3, 28, &h);
	CHECK(r == 28 && h.version == 2 && h.command == PROXY_CMD_PROXY &&
	    h.family == AF_INET && h.socktype == SOCK_STREAM && h.has_addr,
	    "v2 TCP4 fields");
	CHECK(is_addr(&h.src, AF_INET, "1.2.3.4", 256) &&
	    is_addr(&h.dst, AF_INET, "5.6.7.8", 443), "v2 TCP4 addresses");
	CHECK(h.tlv_len == 0 && !h.has_ssl, "v2 TCP4 without TLV");

	/* UDP over IPv4. */
	n = v2(out, 0x21, 0x12, body, body4(body, NULL, 0));
	r = check_cuts("v2 UDP4", out, n, 28, &h);
	CHECK(r == 28 && h.family == AF_INET && h.socktype == SOCK_DGRAM &&
	    h.has_addr, "v2 UDP4");

	/* TCP over IPv6. */
	memset(body, 0, 36);
	body[15] = 1;					/* ::1 */
	body[16] = 0x20, body[17] = 0x01, body[31] = 2;	/* 2001::2 */
	body[32] = 0xff, body[33] = 0xff;		/* 65535 */
	body[35] = 80;
	n = v2(out, 0x21, 0x21, body, 36);
	r = check_cuts("v2 TCP6", out, n, 52, &h);
	CHECK(r == 52 && h.family == AF_INET6 && h.socktype == SOCK_STREAM &&
	    h.has_addr, "v2 TCP6 fields");
	CHECK(is_addr(&h.src, AF_INET6, "::1", 65535) &&
	    is_addr(&h.dst, AF_INET6, "2001::2", 80), "v2 TCP6 addresses");
	n = v2(out, 0x21, 0x22, body, 36);
	r = check_cuts("v2 UDP6", out, n, 52, &h);
	CHECK(r == 52 && h.socktype == SOCK_DGRAM, "v2 UDP6");

	/* AF_UNIX: 216 bytes of addresses, no address reported. */
	memset(body, 0, 216);
	memcpy(body, "/run/a.sock", 11);
	n = v2(out, 0x21, 0x31, body, 216);
	r = check_cuts("v2 UNIX stream", out, n, 232, &h);
	CHECK(r == 232 && h.family == AF_UNIX && h.socktype == SOCK_STREAM &&
	    !h.has_addr && h.tlv_len == 0, "v2 UNIX stream");
	n = v2(out, 0x21, 0x32, body, 216);
	CHECK(check_cuts("v2 UNIX dgram", out, n, 232, &h) == 232 &&
	    h.socktype == SOCK_DGRAM, "v2 UNIX dgram");
	n = v2(out, 0x21, 0x31, body, 215);
	check_cuts("v2 UNIX short", out, n, BAD, &h);

	/* UNSPEC and LOCAL. */
	n = v2(out, 0x21, 0x00, NULL, 0);
	r = check_cuts("v2 PROXY UNSPEC", out, n, 16, &h);
	CHECK(r == 16 && h.family == AF_UNSPEC && !h.has_addr &&
	    h.command == PROXY_CMD_PROXY, "v2 PROXY UNSPEC");
	n = v2(out, 0x20, 0x00, NULL, 0);
	r = check_cuts("v2 LOCAL", out, n, 16, &h);
	CHECK(r == 16 && h.command == PROXY_CMD_LOCAL && !h.has_addr &&
	    h.family == AF_UNSPEC, "v2 LOCAL");
	/* LOCAL: the family is ignored, the length still skipped. */
	n = v2(out, 0x20, 0x11, body, body4(body, NULL, 0));
	r = check_cuts("v2 LOCAL with TCP4", out, n, 28, &h);
	CHECK(r == 28 && h.command == PROXY_CMD_LOCAL && !h.has_addr &&
	    h.family == AF_UNSPEC, "v2 LOCAL with TCP4");
	n = v2(out, 0x20, 0xff, "abc", 3);
	CHECK(check_cuts("v2 LOCAL any family", out, n, 19, &h) == 19,
	    "v2 LOCAL any family");
	/* PROXY with an unspecified protocol: opaque, no address. */
	n = v2(out, 0x21, 0x10, "\x01\x02\x03", 3);
	r = check_cuts("v2 INET UNSPEC", out, n, 19, &h);
	CHECK(r == 19 && !h.has_addr && h.family == AF_UNSPEC,
	    "v2 INET UNSPEC");

	/* Wrong version, command, family, protocol; short addresses. */
	n = v2(out, 0x11, 0x11, body, 12);
	check_cuts("v2 version 1", out, n, BAD, &h);
	n = v2(out, 0x31, 0x11, body, 12);
	check_cuts("v2 version 3", out, n, BAD, &h);
	n = v2(out, 0x22, 0x11, body, 12);
	check_cuts("v2 command 2", out, n, BAD, &h);
	n = v2(out, 0x2f, 0x11, body, 12);
	check_cuts("v2 command 15", out, n, BAD, &h);
	n = v2(out, 0x21, 0x41, body, 12);
	check_cuts("v2 family 4", out, n, BAD, &h);
	n = v2(out, 0x21, 0x13, body, 12);
	check_cuts("v2 protocol 3", out, n, BAD, &h);
	n = v2(out, 0x21, 0x11, body, 11);
	check_cuts("v2 TCP4 short", out, n, BAD, &h);
	n = v2(out, 0x21, 0x21, body, 35);
	check_cuts("v2 TCP6 short", out, n, BAD, &h);
	/* Early refusal, before the length has come. */
	CHECK(parse(sig, 12, &h) == NEED, "v2 signature alone");
	memcpy(out, sig, 12);
	out[12] = 0x10;
	CHECK(parse(out, 13, &h) == BAD, "v2 early version");
	out[12] = 0x21;
	out[13] = 0x51;
	CHECK(parse(out, 14, &h) == BAD, "v2 early family");

	/* Bad signatures. */
	n = v2(out, 0x21, 0x11, body, body4(body, NULL, 0));
	out[11] = 0x0b;
	check_cuts("v2 bad signature", out, n, NOT, &h);
	n = v2(out, 0x21, 0x11, body, body4(body, NULL, 0));
	out[4] = 'x';
	check_cuts("v2 signature without NUL", out, n, NOT, &h);
	check_cuts("v2 CRLF then text", "\r\nhello", 7, NOT, &h);

	/* TLVs: skipped, the SSL one read, bounds checked. */
	m = body4(body, "\x04\x00\x02zz\xe0\x00\x00", 8);
	memcpy(body + m, ssl, sizeof(ssl));
	m += sizeof(ssl);
	memcpy(body + m, "\x02\x00\x03" "a.b" "\x01\x00\x02h2", 11);
	m += 11;
	n = v2(out, 0x21, 0x11, body, m);
	r = check_cuts("v2 TLVs", out, n, (int)n, &h);
	CHECK(r == (int)n && h.tlv == out + 28 && h.tlv_len == n - 28,
	    "v2 TLV area");
	CHECK(h.has_ssl && h.ssl.client == 7 && h.ssl.verify == 0,
	    "v2 SSL TLV");
	CHECK(h.ssl.version.len == 7 &&
	    memcmp(h.ssl.version.s, "TLSv1.3", 7) == 0, "v2 SSL version");
	CHECK(h.ssl.cn.len == 3 && memcmp(h.ssl.cn.s, "bob", 3) == 0,
	    "v2 SSL CN");
	CHECK(h.ssl.cipher.s == NULL && h.ssl.key_alg.s == NULL,
	    "v2 SSL absent sub-TLVs");
	CHECK(h.authority.len == 3 && memcmp(h.authority.s, "a.b", 3) == 0,
	    "v2 authority");
	CHECK(h.alpn.len == 2 && memcmp(h.alpn.s, "h2", 2) == 0, "v2 ALPN");
	/* TLVs after an UNSPEC LOCAL header too. */
	n = v2(out, 0x20, 0x00, ssl, sizeof(ssl));
	r = check_cuts("v2 LOCAL SSL", out, n, (int)n, &h);
	CHECK(r == (int)n && h.has_ssl && h.ssl.cn.len == 3, "v2 LOCAL SSL");

	/* A TLV running past the header: its length, its header. */
	n = v2(out, 0x21, 0x11, body, body4(body, "\x04\x00\x03zz", 5));
	check_cuts("v2 TLV past the end", out, n, BAD, &h);
	n = v2(out, 0x21, 0x11, body, body4(body, "\x04\x00", 2));
	check_cuts("v2 TLV header cut", out, n, BAD, &h);
	n = v2(out, 0x21, 0x11, body, body4(body, "\x04", 1));
	check_cuts("v2 TLV type alone", out, n, BAD, &h);
	n = v2(out, 0x21, 0x11, body, body4(body, "\x04\xff\xff", 3));
	check_cuts("v2 TLV of 65535", out, n, BAD, &h);
	/* An SSL TLV too short, and one whose sub-TLV overruns it. */
	n = v2(out, 0x21, 0x11, body, body4(body, "\x20\x00\x04\x01\x00\x00"
	    "\x00", 7));
	check_cuts("v2 SSL TLV short", out, n, BAD, &h);
	memcpy(b, ssl, sizeof(ssl));
	b[26] = 3;		/* the last sub-TLV runs past the SSL TLV */
	n = v2(out, 0x21, 0x11, body, body4(body, b, sizeof(ssl)));
	check_cuts("v2 SSL sub-TLV past its TLV", out, n, BAD, &h);

	/* CRC32C: right, wrong, wrong size. */
	CHECK(ref_crc32c((const uint8_t *)"123456789", 9) == 0xe3069283,
	    "reference CRC32C");
	n = v2(out, 0x21, 0x11, body, body4(body, "\x03\x00\x04\0\0\0\0", 7));
	crc = ref_crc32c(out, n);
	out[31] = (uint8_t)(crc >> 24), out[32] = (uint8_t)(crc >> 16);
	out[33] = (uint8_t)(crc >> 8), out[34] = (uint8_t)crc;
	CHECK(check_cuts("v2 CRC32C", out, n, (int)n, &h) == (int)n,
	    "v2 CRC32C");
	out[34] ^= 1;
	check_cuts("v2 CRC32C wrong", out, n, BAD, &h);
	out[34] ^= 1;
	out[20] ^= 1;
	check_cuts("v2 CRC32C, address changed", out, n, BAD, &h);
	n = v2(out, 0x21, 0x11, body, body4(body, "\x03\x00\x03\0\0\0", 6));
	check_cuts("v2 CRC32C of 3 bytes", out, n, BAD, &h);

	/* Sizes: the largest accepted, one over. */
	memset(b, 0, sizeof(b));
	b[0] = PP2_TYPE_NOOP;
	m = PROXY_V2_MAX - 16 - 12 - 3;
	b[1] = (uint8_t)(m >> 8), b[2] = (uint8_t)m;
	n = v2(out, 0x21, 0x11, body, body4(body, b, m + 3));
	CHECK(n == PROXY_V2_MAX, "largest header size");
	CHECK(parse(out, n, &h) == PROXY_V2_MAX, "largest header");
	CHECK(parse(out, n - 1, &h) == NEED, "largest header cut");
	m++;
	b[1] = (uint8_t)(m >> 8), b[2] = (uint8_t)m;
	n = v2(out, 0x21, 0x11, body, body4(body, b, m + 3));
	CHECK(parse(out, n, &h) == LONG, "one byte over");
	CHECK(parse(out, 16, &h) == LONG, "too long, seen from 16 bytes");
	out[14] = out[15] = 0xff;
	CHECK(parse(out, 16, &h) == LONG, "length 65535");
}

/* A reader of our own: the TLVs of v2 header p[0..n), type by type. */
static const uint8_t *
find_tlv(const uint8_t *p, size_t n, int type, size_t *len)
{
	size_t l;

	while (n >= 3) {
		l = (size_t)p[1] << 8 | p[2];
		if (l > n - 3)
			return NULL;
		if (p[0] == type) {
			*len = l;
			return p + 3;
		}
		p += 3 + l;
		n -= 3 + l;
	}
	return NULL;
}

static int
str_is(struct proxy_str s, const char *want)
{
	if (want == NULL)
		return s.s == NULL;
	return s.s != NULL && s.len == strlen(want) &&
	    memcmp(s.s, want, s.len) == 0;
}

static struct proxy_str
str(const char *s)
{
	struct proxy_str r = { s, s == NULL ? 0 : strlen(s) };

	return r;
}

static void
round_trip(const char *name, int af1, const char *a1, unsigned p1, int af2,
    const char *a2, unsigned p2, const char *want1, int fam)
{
	struct sockaddr_storage s, d;
	struct proxy_hdr h;
	char line[PROXY_V1_MAX];
	uint8_t out[PROXY_V2_MAX];
	const char *wa1 = a1, *wa2 = a2;
	char m1[64], m2[64];
	int n, r;

	make_sa(&s, af1, a1, p1);
	make_sa(&d, af2, a2, p2);
	/* One IPv4 address with an IPv6 one: both IPv6. */
	if (fam == AF_INET6 && af1 == AF_INET) {
		snprintf(m1, sizeof(m1), "::ffff:%s", a1);
		wa1 = m1;
	}
	if (fam == AF_INET6 && af2 == AF_INET) {
		snprintf(m2, sizeof(m2), "::ffff:%s", a2);
		wa2 = m2;
	}

	n = proxy_v1_build(line, sizeof(line), (struct sockaddr *)&s,
	    (struct sockaddr *)&d);
	CHECK(n > 0 && (size_t)n == strlen(want1) &&
	    memcmp(line, want1, (size_t)n) == 0, "%s: v1 line %.*s", name,
	    n > 0 ? n : 0, line);
	r = check_cuts(name, line, (size_t)(n > 0 ? n : 0), n, &h);
	CHECK(r == n && h.family == fam, "%s: v1 family", name);
	if (fam != AF_UNSPEC)
		CHECK(is_addr(&h.src, fam, wa1, p1) &&
		    is_addr(&h.dst, fam, wa2, p2), "%s: v1 addresses", name);
	CHECK(proxy_v1_build(line, (size_t)n - 1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d) == PROXY_NO_SPACE, "%s: v1 no space",
	    name);

	n = proxy_v2_build(out, sizeof(out), (struct sockaddr *)&s,
	    (struct sockaddr *)&d, NULL);
	CHECK(n == (fam == AF_INET ? 28 : fam == AF_INET6 ? 52 : 16),
	    "%s: v2 length %d", name, n);
	r = check_cuts(name, out, (size_t)(n > 0 ? n : 0), n, &h);
	CHECK(r == n && h.version == 2 && h.command == PROXY_CMD_PROXY &&
	    h.family == fam && h.has_addr == (fam != AF_UNSPEC) &&
	    !h.has_ssl, "%s: v2 fields", name);
	if (fam != AF_UNSPEC)
		CHECK(is_addr(&h.src, fam, wa1, p1) &&
		    is_addr(&h.dst, fam, wa2, p2), "%s: v2 addresses", name);
	CHECK(proxy_v2_build(out, (size_t)n - 1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, NULL) == PROXY_NO_SPACE,
	    "%s: v2 no space", name);
}

static void
test_build(void)
{
	struct sockaddr_storage s, d;
	struct sockaddr_un un;
	struct proxy_ssl ssl;
	struct proxy_hdr h;
	uint8_t out[PROXY_V2_MAX + 16];
	const uint8_t *v, *sub;
	static char big[PROXY_V2_MAX];
	size_t len, sublen;
	int n, r;

	round_trip("TCP4", AF_INET, "192.168.0.1", 56324, AF_INET,
	    "192.168.0.11", 443,
	    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", AF_INET);
	round_trip("TCP4 extremes", AF_INET, "0.0.0.0", 0, AF_INET,
	    "255.255.255.255", 65535,
	    "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", AF_INET);
	round_trip("TCP6", AF_INET6, "2001:db8:0:0:1:0:0:1", 1, AF_INET6,
	    "::1", 8443, "PROXY TCP6 2001:db8::1:0:0:1 ::1 1 8443\r\n",
	    AF_INET6);
	round_trip("TCP6 widest", AF_INET6,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, AF_INET6,
	    "fe80::", 1, "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "fe80:: 65535 1\r\n", AF_INET6);
	round_trip("TCP6 zero runs", AF_INET6, "1:0:2:0:0:3:0:0", 2,
	    AF_INET6, "::", 3, "PROXY TCP6 1:0:2::3:0:0 :: 2 3\r\n",
	    AF_INET6);
	round_trip("TCP6 one zero group", AF_INET6, "1:2:3:4:5:6:0:8", 2,
	    AF_INET6, "0:1::", 3, "PROXY TCP6 1:2:3:4:5:6:0:8 0:1:: 2 3\r\n",
	    AF_INET6);
	round_trip("TCP6 mapped, hex", AF_INET6, "::ffff:10.0.0.1", 4000,
	    AF_INET6, "::ffff:10.0.0.2", 443,
	    "PROXY TCP6 ::ffff:a00:1 ::ffff:a00:2 4000 443\r\n", AF_INET6);
	round_trip("TCP4 to TCP6", AF_INET, "10.0.0.1", 5, AF_INET6,
	    "2001:db8::2", 6, "PROXY TCP6 ::ffff:a00:1 2001:db8::2 5 6\r\n",
	    AF_INET6);
	round_trip("TCP6 to TCP4", AF_INET6, "2001:db8::2", 6, AF_INET,
	    "10.0.0.1", 5, "PROXY TCP6 2001:db8::2 ::ffff:a00:1 6 5\r\n",
	    AF_INET6);
	round_trip("UNIX", AF_UNIX, "", 0, AF_UNIX, "", 0,
	    "PROXY UNKNOWN\r\n", AF_UNSPEC);

	/* NULL addresses: UNKNOWN, and v2 PROXY UNSPEC. */
	n = proxy_v1_build((char *)out, sizeof(out), NULL, NULL);
	CHECK(n == 15 && memcmp(out, "PROXY UNKNOWN\r\n", 15) == 0,
	    "v1 without addresses");
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	make_sa(&d, AF_INET, "1.2.3.4", 1);
	n = proxy_v2_build(out, sizeof(out), (struct sockaddr *)&un,
	    (struct sockaddr *)&d, NULL);
	CHECK(n == 16 && out[13] == 0x00 && out[12] == 0x21,
	    "v2 with an AF_UNIX address");

	/* LOCAL. */
	n = proxy_v2_build_local(out, sizeof(out));
	CHECK(n == 16 && memcmp(out, sig, 12) == 0 && out[12] == 0x20 &&
	    out[13] == 0 && out[14] == 0 && out[15] == 0, "v2 LOCAL bytes");
	r = parse(out, 16, &h);
	CHECK(r == 16 && h.command == PROXY_CMD_LOCAL && !h.has_addr,
	    "v2 LOCAL parses");
	CHECK(proxy_v2_build_local(out, 15) == PROXY_NO_SPACE,
	    "v2 LOCAL no space");

	/* The SSL TLV, read by the parser and by our reader. */
	make_sa(&s, AF_INET6, "2001:db8::7", 50000);
	make_sa(&d, AF_INET6, "2001:db8::8", 443);
	memset(&ssl, 0, sizeof(ssl));
	ssl.client = PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN |
	    PP2_CLIENT_CERT_SESS;
	ssl.verify = 0x01020304;
	ssl.version = str("TLSv1.3");
	ssl.cn = str("Jos\xc3\xa9 Example");
	ssl.cipher = str("TLS_AES_256_GCM_SHA384");
	ssl.key_alg = str("RSA2048");
	n = proxy_v2_build(out, sizeof(out), (struct sockaddr *)&s,
	    (struct sockaddr *)&d, &ssl);
	len = 3 + 5 + 3 + 7 + 3 + 13 + 3 + 22 + 3 + 7;
	CHECK(n == (int)(52 + len), "v2 SSL length %d", n);
	r = check_cuts("v2 SSL built", out, (size_t)(n > 0 ? n : 0), n, &h);
	CHECK(r == n && h.has_ssl && h.ssl.client == 7 &&
	    h.ssl.verify == 0x01020304, "v2 SSL client and verify");
	CHECK(str_is(h.ssl.version, "TLSv1.3") &&
	    str_is(h.ssl.cn, "Jos\xc3\xa9 Example") &&
	    str_is(h.ssl.cipher, "TLS_AES_256_GCM_SHA384") &&
	    str_is(h.ssl.key_alg, "RSA2048") && str_is(h.ssl.sig_alg, NULL),
	    "v2 SSL strings");
	CHECK(is_addr(&h.src, AF_INET6, "2001:db8::7", 50000) &&
	    is_addr(&h.dst, AF_INET6, "2001:db8::8", 443),
	    "v2 SSL addresses");
	v = find_tlv(out + 52, (size_t)n - 52, PP2_TYPE_SSL, &len);
	CHECK(v != NULL && len == (size_t)n - 52 - 3 && v[0] == 7 &&
	    v[1] == 1 && v[2] == 2 && v[3] == 3 && v[4] == 4,
	    "v2 SSL TLV, own reader");
	if (v != NULL) {
		sub = find_tlv(v + 5, len - 5, PP2_SUBTYPE_SSL_CN, &sublen);
		CHECK(sub != NULL && sublen == 13 &&
		    memcmp(sub, "Jos\xc3\xa9 Example", 13) == 0,
		    "v2 SSL CN, own reader");
		sub = find_tlv(v + 5, len - 5, PP2_SUBTYPE_SSL_VERSION,
		    &sublen);
		CHECK(sub != NULL && sublen == 7, "v2 SSL version, own reader");
		CHECK(find_tlv(v + 5, len - 5, PP2_SUBTYPE_SSL_SIG_ALG,
		    &sublen) == NULL, "v2 SSL: no sig_alg");
	}
	CHECK(proxy_v2_build(out, (size_t)n - 1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d, &ssl) == PROXY_NO_SPACE,
	    "v2 SSL no space");

	/* An SSL TLV without strings; one too large for PROXY_V2_MAX. */
	memset(&ssl, 0, sizeof(ssl));
	ssl.verify = 1;
	n = proxy_v2_build(out, sizeof(out), NULL, NULL, &ssl);
	CHECK(n == 16 + 8, "v2 bare SSL TLV %d", n);
	CHECK(parse(out, (size_t)n, &h) == n && h.has_ssl &&
	    h.ssl.verify == 1 && h.ssl.cn.s == NULL, "v2 bare SSL parses");
	memset(big, 'a', sizeof(big));
	ssl.cn.s = big;
	ssl.cn.len = PROXY_V2_MAX - 16 - 8 - 3;
	n = proxy_v2_build(out, sizeof(out), NULL, NULL, &ssl);
	CHECK(n == PROXY_V2_MAX && parse(out, (size_t)n, &h) == n &&
	    h.ssl.cn.len == ssl.cn.len, "v2 SSL up to PROXY_V2_MAX");
	ssl.cn.len++;
	CHECK(proxy_v2_build(out, sizeof(out), NULL, NULL, &ssl) ==
	    PROXY_NO_SPACE, "v2 SSL over PROXY_V2_MAX");
	ssl.cn.len = (size_t)-1;
	CHECK(proxy_v2_build(out, sizeof(out), NULL, NULL, &ssl) ==
	    PROXY_NO_SPACE, "v2 SSL of SIZE_MAX");
}

/* A seeded generator (xorshift64*): the same run every time. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

static void
test_random(void)
{
	static const uint8_t tricky[] = { 0x0d, 0x0a, 0x00, ' ', '.', ':',
	    '0', '1', '9', 'P', 'R', 'O', 'X', 'Y', 0x20, 0x21, 0x11, 0xff };
	struct sockaddr_storage s, d;
	struct proxy_ssl ssl;
	struct proxy_hdr h;
	uint8_t seed[8][PROXY_V2_MAX], in[PROXY_V2_MAX + 64];
	size_t seedlen[8], n, i, k;
	int r, bad = 0, prefix_bad = 0, ok = 0;
	unsigned iter;

	/* Valid headers to mutate. */
	make_sa(&s, AF_INET, "10.1.2.3", 1234);
	make_sa(&d, AF_INET, "10.9.8.7", 443);
	seedlen[0] = (size_t)proxy_v1_build((char *)seed[0], PROXY_V2_MAX,
	    (struct sockaddr *)&s, (struct sockaddr *)&d);
	seedlen[1] = (size_t)proxy_v2_build(seed[1], PROXY_V2_MAX,
	    (struct sockaddr *)&s, (struct sockaddr *)&d, NULL);
	make_sa(&s, AF_INET6, "2001:db8::1:2", 1);
	make_sa(&d, AF_INET6, "fe80::abcd", 65535);
	seedlen[2] = (size_t)proxy_v1_build((char *)seed[2], PROXY_V2_MAX,
	    (struct sockaddr *)&s, (struct sockaddr *)&d);
	memset(&ssl, 0, sizeof(ssl));
	ssl.client = 3;
	ssl.cn = str("client.example");
	ssl.version = str("TLSv1.2");
	seedlen[3] = (size_t)proxy_v2_build(seed[3], PROXY_V2_MAX,
	    (struct sockaddr *)&s, (struct sockaddr *)&d, &ssl);
	seedlen[4] = (size_t)proxy_v1_build((char *)seed[4], PROXY_V2_MAX,
	    NULL, NULL);
	seedlen[5] = (size_t)proxy_v2_build_local(seed[5], PROXY_V2_MAX);
	memcpy(seed[6], MAX6, sizeof(MAX6) - 1);
	seedlen[6] = sizeof(MAX6) - 1;
	memset(seed[7], 0, 600);
	seedlen[7] = v2(seed[7], 0x21, 0x31, seed[7] + 300, 216);

	/* Every split point of every valid header. */
	for (k = 0; k < 8; k++) {
		CHECK(parse(seed[k], seedlen[k], &h) == (int)seedlen[k],
		    "seed %zu whole", k);
		for (i = 0; i < seedlen[k]; i++)
			if (proxy_parse(seed[k], i, &h) != NEED)
				prefix_bad++;
	}
	CHECK(prefix_bad == 0, "%d strict prefixes did not need more",
	    prefix_bad);

	for (iter = 0; iter < 200000; iter++) {
		k = rnd() % 8;
		if (iter % 4 == 0) {
			/* Random bytes, often behind a signature. */
			n = rnd() % 300;
			for (i = 0; i < n; i++)
				in[i] = iter % 8 == 0 ?
				    tricky[rnd() % sizeof(tricky)] :
				    (uint8_t)rnd();
			if (n >= 12 && rnd() % 2)
				memcpy(in, sig, 12);
			else if (n >= 6 && rnd() % 2)
				memcpy(in, "PROXY ", 6);
		} else {
			/* A valid header, mutated, cut or extended. */
			n = seedlen[k];
			memcpy(in, seed[k], n);
			for (i = rnd() % 4 + 1; i > 0; i--) {
				switch (rnd() % 4) {
				case 0:
					in[rnd() % n] = (uint8_t)rnd();
					break;
				case 1:
					in[rnd() % n] =
					    tricky[rnd() % sizeof(tricky)];
					break;
				case 2:
					n = rnd() % (n + 1);
					break;
				default:
					if (n < sizeof(in))
						in[n++] = (uint8_t)rnd();
					break;
				}
				if (n == 0)
					break;
			}
		}
		r = parse(in, n, &h);
		if (r > (int)n || r < PROXY_TOO_LONG)
			bad++;
		if (r > 0) {
			ok++;
			/* Its own strict prefixes need more. */
			for (i = 0; i < (size_t)r; i++)
				if (proxy_parse(in, i, &h) != NEED)
					prefix_bad++;
		}
	}
	CHECK(bad == 0, "%d results out of range", bad);
	CHECK(prefix_bad == 0, "%d prefixes of parsed headers succeeded or "
	    "failed", prefix_bad);
	CHECK(ok > 1000, "only %d mutated inputs parsed", ok);
}

int
main(void)
{
	test_v1();
	test_v2();
	test_build();
	test_random();
	return unit_done("proxyproto");
}
