/*
 * Unit tests of lib/cookie.c: which cookie pairs a backend could read
 * as ours, and the rewrite of whole requests, compared byte for byte.
 */
#include <errno.h>

#include "cookie.h"
#include "http1.h"
#include "unit.h"

#define S(lit)	lit, sizeof(lit) - 1

struct pair {
	const char	*pair;
	size_t		 len;
	int		 ours;
};

/* With cookie_cfg_init(cfg, "CERT", NULL). */
static const struct pair pairs[] = {
	{ S("CERT=x"), 1 },
	{ S("CERT="), 1 },
	{ S("CERT"), 1 },
	{ S("cert=x"), 1 },
	{ S("Cert=x"), 1 },
	{ S("cErT=x"), 1 },
	{ S(" CERT =x"), 1 },
	{ S("CERT =x"), 1 },
	{ S("CERT\t=x"), 1 },
	{ S("\tCERT\t=\tx"), 1 },
	{ S("  CERT  "), 1 },
	{ S("%43ERT=x"), 1 },
	{ S("%63%65%72%74=x"), 1 },
	{ S("CE%52T=x"), 1 },
	{ S("CERT%5B%5D=x"), 1 },
	{ S("CERT[x]=y"), 1 },
	{ S("CERT[]=y"), 1 },
	{ S("CERT[=y"), 1 },
	{ S("x=1 CERT=evil"), 1 },
	{ S("x=1\tCERT=evil"), 1 },
	{ S("x=1,CERT=evil"), 1 },
	{ S("x=1, CERT=evil"), 1 },
	{ S("x=1 cert=evil"), 1 },
	/* SimpleCookie allows white space before "=" there too. */
	{ S("x=1 CERT =evil"), 1 },
	{ S("x=1 CERT\t=evil"), 1 },
	{ S("a=\"b\"CERT=x"), 1 },
	{ S("a=\"b\" CERT=x"), 1 },
	{ S("a=b\\CERT=x"), 1 },
	{ S("a=\xc3\xa9" "CERT=x"), 1 },
	{ S("a=\x80" "CERT=x"), 1 },
	{ S("a=\xff" "CERT=x"), 1 },
	/* The other names of ours: NAME_ and a field. */
	{ S("CERT_S_DN=x"), 1 },
	{ S("CERT_I_DN=x"), 1 },
	{ S("CERT_SERIAL=x"), 1 },
	{ S("CERT_V_START=x"), 1 },
	{ S("CERT_V_END=x"), 1 },
	{ S("CERT_SHA256=x"), 1 },
	{ S("CERT_VERIFY=SUCCESS"), 1 },
	{ S("CERT_CHAIN=x"), 1 },
	{ S("cert_verify=SUCCESS"), 1 },
	{ S("CERT.VERIFY=SUCCESS"), 1 },
	{ S("CERT VERIFY=SUCCESS"), 1 },
	{ S("CERT%5FVERIFY=SUCCESS"), 1 },
	{ S("CERT_VERIFY[]=SUCCESS"), 1 },
	{ S("x=1 CERT_VERIFY=SUCCESS"), 1 },
	{ S("x=1,cert_sha256=00"), 1 },
	/* White space that Python, JavaScript, .NET or Java trims. */
	{ S("CERT\xa0=x"), 1 },
	{ S("\xa0" "CERT=x"), 1 },
	{ S("CERT\x85=x"), 1 },
	{ S("CERT\xc2\xa0=x"), 1 },
	{ S("CERT\xe3\x80\x80=x"), 1 },
	{ S("\xef\xbb\xbf" "CERT=x"), 1 },
	{ S("CERT\xc2\xa0\xa0\xe2\x80\x8a=x"), 1 },
	{ S("CERT\x1c=x"), 1 },
	{ S("\x0b" "CERT=x"), 1 },
	{ S("CERT+=x"), 1 },
	{ S("+CERT=x"), 1 },
	{ S("%20\xa0" "CERT+=x"), 1 },
	{ S("CERT%C2%A0=x"), 1 },
	{ S("CERT%0D=x"), 1 },
	{ S("%0ACERT=x"), 1 },
	{ S("%A0CERT=x"), 1 },
	{ S("%u00A0CERT%u3000=x"), 1 },
	{ S("%2543ERT=x"), 1 },
	{ S("CERT%C2\xa0=x"), 1 },
	{ S("CERT\xc2%A0=x"), 1 },
	{ S("CERT%00junk=x"), 1 },
	{ S("CERT[\xa0]=x"), 1 },
	{ S("CERT \xa0[x]=x"), 1 },
	{ S("\xa0" "CERT_VERIFY\xa0=SUCCESS"), 1 },
	{ S("CERT+VERIFY=SUCCESS"), 1 },
	{ S("CERT_\xc5\xbf" "ERIAL=1"), 1 },
	{ S("CERT_VER\xc4\xb1" "FY=SUCCESS"), 1 },
	{ S("x=1 \xa0" "CERT=evil"), 1 },
	{ S("x=1,\xc2\xa0" "CERT\xa0=evil"), 1 },
	{ S("x=1\xa0" "CERT=evil"), 1 },
	{ S("x=1 +CERT=evil"), 1 },
	{ S("x=1 %43ERT=evil"), 1 },
	/* No parser reads CERT in these. */
	{ S("a=x-CERT=y"), 0 },
	{ S("c=CERT=y"), 0 },
	{ S("a=xCERT=y"), 0 },
	{ S("a=CERT"), 0 },
	{ S("a=b"), 0 },
	{ S("CERTX=x"), 0 },
	{ S("XCERT=x"), 0 },
	{ S("CERTIFICATE=x"), 0 },
	{ S("CER=x"), 0 },
	{ S("C ERT=x"), 0 },
	{ S("%43ER=x"), 0 },
	{ S("x=1 CERTX=y"), 0 },
	{ S("x=1 XCERT=y"), 0 },
	{ S("session=abc123"), 0 },
	{ S("CE RT=x"), 0 },
	{ S("CE\xa0RT=x"), 0 },
	{ S("CE%20RT=x"), 0 },
	{ S("CERT\xc2=x"), 0 },
	{ S("CERT%=x"), 0 },
	{ S("CERT%2=x"), 0 },
	{ S("CERT%zz=x"), 0 },
	{ S("CERT\x7f=x"), 0 },
	{ S("CERT\xe2\x80\x8b=x"), 0 },
	{ S("CERT\xa0X=x"), 0 },
	{ S("CERTS=x"), 0 },
	{ S("CERT_=x"), 0 },
	{ S("_CERT=x"), 0 },
	{ S("CERT%5F=x"), 0 },
	{ S("CERT__VERIFY=x"), 0 },
	{ S("CERT-VERIFY=x"), 0 },
	{ S("a=x+CERT=y"), 0 },
	{ S("a=x%CERT=y"), 0 },
	{ S("a=x\xa0" "CERTX=y"), 0 },
	{ S("x=CERT"), 0 },
	{ S(""), 0 },
	{ S(" "), 0 },
};

static void
pairs_test(void)
{
	struct cookie_cfg cfg;
	void *map;
	size_t maplen, i;
	char *p;
	int r;

	CHECK(cookie_cfg_init(&cfg, "CERT", NULL) == 0, "cfg_init CERT");
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		p = guard_copy(pairs[i].pair, pairs[i].len, &map, &maplen);
		r = cookie_pair_is_ours(&cfg, p, pairs[i].len);
		guard_free(map, maplen);
		CHECK(!r == !pairs[i].ours, "pair [%.*s] ours %d, want %d",
		    (int)pairs[i].len, pairs[i].pair, r, pairs[i].ours);
	}

	/* Another name: the old one is no longer special. */
	CHECK(cookie_cfg_init(&cfg, "Client_Id", NULL) == 0, "cfg_init");
	CHECK(cookie_pair_is_ours(&cfg, S("client_id=1")), "client_id");
	CHECK(cookie_pair_is_ours(&cfg, S("Client.Id=1")), "Client.Id");
	CHECK(cookie_pair_is_ours(&cfg, S("CLIENT_ID_VERIFY=1")),
	    "CLIENT_ID_VERIFY");
	CHECK(cookie_pair_is_ours(&cfg, S("x=y,client_id=1")), "x=y,client_id");
	CHECK(!cookie_pair_is_ours(&cfg, S("CERT=1")), "CERT with Client_Id");
	CHECK(!cookie_pair_is_ours(&cfg, S("client=1")), "client");
}

/*
 * Every white space code point that Python's str.strip(), JavaScript's
 * trim(), .NET's Trim() or Java's strip() removes, U+180E of Java 8.
 */
static const unsigned int wspace[] = {
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85,
	0xa0, 0x1680, 0x180e, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
	0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f,
	0x205f, 0x3000, 0xfeff,
};

/* cp as UTF-8 into d; returns the length. */
static size_t
utf8(char *d, unsigned int cp)
{
	if (cp < 0x80) {
		d[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (char)(0xc0 | cp >> 6);
		d[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	d[0] = (char)(0xe0 | cp >> 12);
	d[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	d[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/* The spellings of cp: 0 latin-1, 1 UTF-8, 2 and 3 percent-encoded. */
static size_t
spell(char *d, unsigned int cp, int how)
{
	char u[4];
	size_t n, i, o = 0;

	switch (how) {
	case 0:
		if (cp > 0xff)
			return 0;
		d[0] = (char)cp;
		return 1;
	case 1:
		return utf8(d, cp);
	case 2:
		if (cp > 0xff)
			return 0;
		return (size_t)sprintf(d, "%%%02X", cp);
	default:
		n = utf8(u, cp);
		for (i = 0; i < n; i++)
			o += (size_t)sprintf(d + o, "%%%02x",
			    (unsigned char)u[i]);
		return o;
	}
}

/*
 * Each white space code point, in each spelling, before, after and on
 * both sides of CERT and CERT_VERIFY, also next to a "+" (form-encoded
 * space) or "%20", is ours; inside the name it is not.
 */
static void
space_test(void)
{
	static const char *const names[] = { "CERT", "cert_verify" };
	/* Before the white space, whether it is left or right, after. */
	static const struct {
		const char	*pre;
		int		 left, right;
		const char	*post;
	} at[] = {
		{ "", 1, 0, "" }, { "", 0, 1, "" }, { "", 1, 1, "" },
		{ "+", 1, 0, "" }, { "%20", 1, 0, "+" }, { "", 0, 1, "%20" },
		{ "x=1 ", 1, 0, "" },
	};
	struct cookie_cfg cfg;
	char w[16], pair[128];
	size_t i, j, k, wn, n;
	int how;

	CHECK(cookie_cfg_init(&cfg, "CERT", NULL) == 0, "cfg_init CERT");
	for (i = 0; i < sizeof(wspace) / sizeof(wspace[0]); i++)
		for (how = 0; how < 4; how++) {
			if ((wn = spell(w, wspace[i], how)) == 0)
				continue;
			for (k = 0; k < 2; k++)
				for (j = 0; j < sizeof(at) / sizeof(at[0]);
				    j++) {
					n = (size_t)snprintf(pair, 64, "%s",
					    at[j].pre);
					if (at[j].left) {
						memcpy(pair + n, w, wn);
						n += wn;
					}
					n += (size_t)snprintf(pair + n, 32,
					    "%s", names[k]);
					if (at[j].right) {
						memcpy(pair + n, w, wn);
						n += wn;
					}
					n += (size_t)snprintf(pair + n, 32,
					    "%s=x", at[j].post);
					CHECK(cookie_pair_is_ours(&cfg, pair,
					    n), "U+%04X spelt %d: [%.*s] not "
					    "ours", wspace[i], how, (int)n,
					    pair);
				}
			/* Inside a name, no parser trims it. */
			memcpy(pair, "CE", 2);
			memcpy(pair + 2, w, wn);
			memcpy(pair + 2 + wn, "RT=x", 4);
			n = wn + 6;
			CHECK(!cookie_pair_is_ours(&cfg, pair, n),
			    "U+%04X spelt %d: [%.*s] ours", wspace[i], how,
			    (int)n, pair);
		}
}

/* Names padded far beyond any buffer, and pairs that cost linear time. */
static void
long_test(void)
{
	static char pair[70000];
	struct cookie_cfg cfg;
	size_t n, i;

	CHECK(cookie_cfg_init(&cfg, "CERT", NULL) == 0, "cfg_init CERT");
	/* Raw white space of any length goes without a copy. */
	n = 0;
	for (i = 0; i < 15000; i++) {
		memcpy(pair + n, "\xc2\xa0 ", 3);
		n += 3;
	}
	memcpy(pair + n, "CERT", 4);
	n += 4;
	for (i = 0; i < 20000; i++)
		pair[n++] = i % 2 ? '\xa0' : '+';
	memcpy(pair + n, "=x", 2);
	n += 2;
	CHECK(cookie_pair_is_ours(&cfg, pair, n), "padded CERT not ours");
	/* Encoded white space: ours (PHP 7 decoded names, then trimmed). */
	n = 0;
	for (i = 0; i < 1000; i++)
		n += (size_t)sprintf(pair + n, "%%20");
	n += (size_t)sprintf(pair + n, "CERT=x");
	CHECK(cookie_pair_is_ours(&cfg, pair, n), "%%20...CERT not ours");
	/* A long value of white space, commas, "=": not ours. */
	n = (size_t)sprintf(pair, "a=");
	for (i = 0; i < 30000; i++) {
		memcpy(pair + n, i % 3 ? " C" : ",=", 2);
		n += 2;
	}
	CHECK(!cookie_pair_is_ours(&cfg, pair, n), "long value ours");
	n = (size_t)sprintf(pair, "a=");
	memset(pair + n, ' ', 60000);
	n += 60000;
	n += (size_t)sprintf(pair + n, "CERT =x");
	CHECK(cookie_pair_is_ours(&cfg, pair, n), "a=<spaces>CERT =x not ours");
}

static void
cfg_test(void)
{
	struct cookie_cfg cfg;
	char long41[42];

	memset(long41, 'A', 41);
	long41[41] = '\0';
	errno = 0;
	CHECK(cookie_cfg_init(&cfg, "", NULL) == -1 && errno == EINVAL,
	    "empty name accepted");
	errno = 0;
	CHECK(cookie_cfg_init(&cfg, long41, NULL) == -1 && errno == EINVAL,
	    "41-byte name accepted");
	CHECK(cookie_cfg_init(&cfg, long41 + 1, NULL) == 0,
	    "40-byte name refused");
	CHECK(cookie_cfg_init(&cfg, "CE RT", NULL) == -1, "name with space");
	CHECK(cookie_cfg_init(&cfg, "+", NULL) == -1, "name of white space");
	CHECK(cookie_cfg_init(&cfg, "CE;RT", NULL) == -1, "name with ;");
	CHECK(cookie_cfg_init(&cfg, "CE=RT", NULL) == -1, "name with =");
	CHECK(cookie_cfg_init(&cfg, "CE,RT", NULL) == -1, "name with ,");
	CHECK(cookie_cfg_init(&cfg, "CERT", "Client-Cert") == 0,
	    "header Client-Cert");
	CHECK(cookie_cfg_init(&cfg, "CERT", "X-SSL-Cert") == 0,
	    "header X-SSL-Cert");
}

/* One rewrite case: cfg variant, input, expected output or result. */
struct rw {
	const char	*name;
	const char	*in;
	const char	*out;		/* NULL: check only the result */
	int		 result;	/* COOKIE_OK, COOKIE_SPOOF */
	int		 upgraded;
	int		 cfg;		/* see rw_cfg() */
};

#define CFG_ADD		0	/* add "CERT=ours" */
#define CFG_NOADD	1	/* no certificate: strip only */
#define CFG_HEADER	2	/* --header X-SSL-Cert, fields added */
#define CFG_REJECT	3	/* --reject-spoof */
#define CFG_FIELDS	4	/* several cookies of ours */

#define GET	"GET / HTTP/1.1\r\nHost: a\r\n"

static const struct rw rws[] = {
	{ "no Cookie: one is created", GET "\r\n",
	    GET "Cookie: CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_ADD },
	{ "no Cookie, no certificate: nothing changes",
	    GET "Accept: */*\r\n\r\n", GET "Accept: */*\r\n\r\n", COOKIE_OK,
	    0, CFG_NOADD },
	{ "one Cookie: ours appended",
	    GET "Cookie: a=1; b=2\r\nAccept: */*\r\n\r\n",
	    GET "Accept: */*\r\nCookie: a=1; b=2; CERT=ours\r\n\r\n",
	    COOKIE_OK, 0, CFG_ADD },
	{ "Cookie fields merged in order",
	    GET "Cookie: a=1\r\nX: y\r\ncookie: b=2; c=3\r\nCOOKIE: d=4\r\n"
	    "\r\n",
	    GET "X: y\r\nCookie: a=1; b=2; c=3; d=4; CERT=ours\r\n\r\n",
	    COOKIE_OK, 0, CFG_ADD },
	{ "Cookie fields merged, no certificate",
	    GET "Cookie: a=1\r\ncookie: b=2\r\n\r\n",
	    GET "Cookie: a=1; b=2\r\n\r\n", COOKIE_OK, 0, CFG_NOADD },
	{ "client CERT removed",
	    GET "Cookie: a=1; CERT=evil; b=2\r\n\r\n",
	    GET "Cookie: a=1; b=2; CERT=ours\r\n\r\n", COOKIE_OK, 0,
	    CFG_ADD },
	{ "client CERT removed without a certificate",
	    GET "Cookie: a=1; CERT=evil; b=2\r\n\r\n",
	    GET "Cookie: a=1; b=2\r\n\r\n", COOKIE_OK, 0, CFG_NOADD },
	{ "every spoofing form removed",
	    GET "Cookie: cert=1; a=2;  CERT =3; %43ERT=4; CERT[x]=5\r\n"
	    "Cookie: b=6 CERT=7; c=8,CERT=9; d=\"e\"CERT=10; CERT_VERIFY=ok\r\n"
	    "Cookie: f=x-CERT=11; g=CERT=12\r\n\r\n",
	    GET "Cookie: a=2; f=x-CERT=11; g=CERT=12; CERT=ours\r\n\r\n",
	    COOKIE_OK, 0, CFG_ADD },
	{ "Cookie with only ours dropped",
	    GET "Cookie: CERT=evil\r\nAccept: */*\r\n\r\n",
	    GET "Accept: */*\r\n\r\n", COOKIE_OK, 0, CFG_NOADD },
	{ "empty Cookie dropped", GET "Cookie:\r\nCookie: \r\n\r\n",
	    GET "\r\n", COOKIE_OK, 0, CFG_NOADD },
	{ "empty Cookie replaced by ours", GET "Cookie: \r\n\r\n",
	    GET "Cookie: CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_ADD },
	{ "empty pairs and white space dropped",
	    GET "Cookie:  a=1 ;; ;\tb=2 ;\r\n\r\n",
	    GET "Cookie: a=1; b=2; CERT=ours\r\n\r\n", COOKIE_OK, 0,
	    CFG_ADD },
	{ "Client-Cert, Client-Cert-Chain removed",
	    GET "Client-Cert: :AAAA:\r\nX: 1\r\nclient-cert-chain: :AAAA:\r\n"
	    "CLIENT-CERT: :BBBB:\r\n\r\n",
	    GET "X: 1\r\nCookie: CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_ADD },
	{ "--header field and its -Chain removed, ours added",
	    GET "x-ssl-cert: evil\r\nX-SSL-Cert-Chain: evil\r\n"
	    "Client-Cert: :AAAA:\r\nX: 1\r\n\r\n",
	    GET "X: 1\r\nCookie: CERT=ours\r\nX-SSL-Cert: ours\r\n\r\n",
	    COOKIE_OK, 0, CFG_HEADER },
	{ "HTTP2-Settings and Upgrade: h2c removed",
	    GET "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
	    "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
	    GET "Connection: Upgrade, HTTP2-Settings\r\n"
	    "Cookie: CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_ADD },
	{ "Upgrade: websocket kept",
	    GET "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n",
	    GET "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\nCookie: CERT=ours\r\n\r\n",
	    COOKIE_OK, 1, CFG_ADD },
	{ "Upgrade: WebSocket in another case kept",
	    GET "Connection: upgrade\r\nUpgrade: WebSocket\r\n\r\n",
	    GET "Connection: upgrade\r\nUpgrade: WebSocket\r\n"
	    "Cookie: CERT=ours\r\n\r\n", COOKIE_OK, 1, CFG_ADD },
	{ "h2c dropped from a list, websocket kept",
	    GET "Connection: Upgrade\r\nUpgrade: h2c, websocket\r\n\r\n",
	    GET "Connection: Upgrade\r\nUpgrade: websocket\r\n"
	    "Cookie: CERT=ours\r\n\r\n", COOKIE_OK, 1, CFG_ADD },
	{ "leading empty lines dropped", "\r\n\r\n" GET "\r\n",
	    GET "Cookie: CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_ADD },
	{ "body framing fields kept",
	    "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Cookie: s=1\r\n\r\n",
	    "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Cookie: s=1; CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_ADD },
	{ "chunked kept",
	    "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: a\r\n\r\n",
	    "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: a\r\n"
	    "Cookie: CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_ADD },
	/* Python's http.client keeps the white space after "chunked". */
	{ "chunked with white space after it: forwarded without",
	    "POST /f HTTP/1.1\r\nTransfer-Encoding:\tchunked \t\r\nHost: a"
	    "\r\n\r\n",
	    "POST /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: a\r\n"
	    "Cookie: CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_ADD },
	{ "Chunked and a space, no certificate, another field case",
	    "POST /f HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked \r\n"
	    "X: 1\r\n\r\n",
	    "POST /f HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n"
	    "X: 1\r\n\r\n", COOKIE_OK, 0, CFG_NOADD },
	{ "chunked after a tab kept as it is",
	    "POST /f HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\nHost: a\r\n"
	    "\r\n",
	    "POST /f HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\nHost: a\r\n"
	    "Cookie: CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_ADD },
	{ "HTTP/1.0 kept", "GET /x HTTP/1.0\r\nCookie: a=b\r\n\r\n",
	    "GET /x HTTP/1.0\r\nCookie: a=b; CERT=ours\r\n\r\n", COOKIE_OK, 0,
	    CFG_ADD },
	{ "all names of ours removed",
	    GET "Cookie: CERT_S_DN=x; CERT_VERIFY=SUCCESS; a=1; "
	    "cert_sha256=00\r\n\r\n",
	    GET "Cookie: a=1; CERT=ours; CERT_VERIFY=SUCCESS\r\n\r\n",
	    COOKIE_OK, 0, CFG_FIELDS },
	{ "reject-spoof: clean request passes", GET "Cookie: a=1\r\n\r\n",
	    GET "Cookie: a=1; CERT=ours\r\n\r\n", COOKIE_OK, 0, CFG_REJECT },
	{ "reject-spoof: CERT", GET "Cookie: a=1; CERT=evil\r\n\r\n", NULL,
	    COOKIE_SPOOF, 0, CFG_REJECT },
	{ "reject-spoof: cert in a second line",
	    GET "Cookie: a=1\r\nCookie: b=2 cert=evil\r\n\r\n", NULL,
	    COOKIE_SPOOF, 0, CFG_REJECT },
	{ "reject-spoof: Client-Cert", GET "Client-Cert: :AAAA:\r\n\r\n", NULL,
	    COOKIE_SPOOF, 0, CFG_REJECT },
};

static struct cookie_cfg *
rw_cfg(int which)
{
	static struct cookie_cfg cfg;
	static const char fields[] = "X-SSL-Cert: ours\r\n";
	static const char many[] = "CERT=ours; CERT_VERIFY=SUCCESS";

	if (cookie_cfg_init(&cfg, "CERT",
	    which == CFG_HEADER ? "X-SSL-Cert" : NULL) == -1) {
		fprintf(stderr, "cookie_cfg_init failed\n");
		exit(1);
	}
	cfg.upgrade = "websocket";
	cfg.add = "CERT=ours";
	cfg.add_len = strlen(cfg.add);
	cfg.fields = NULL;
	cfg.fields_len = 0;
	cfg.fields_count = 0;
	cfg.reject_spoof = 0;
	switch (which) {
	case CFG_NOADD:
		cfg.add = NULL;
		cfg.add_len = 0;
		break;
	case CFG_HEADER:
		cfg.fields = fields;
		cfg.fields_len = sizeof(fields) - 1;
		cfg.fields_count = 1;
		break;
	case CFG_REJECT:
		cfg.reject_spoof = 1;
		break;
	case CFG_FIELDS:
		cfg.add = many;
		cfg.add_len = sizeof(many) - 1;
		break;
	}
	return &cfg;
}

/* Concatenate out's iovecs from index from into dst (NUL-terminated). */
static size_t
flatten(const struct cookie_out *out, size_t from, char *dst, size_t cap)
{
	size_t i, n = 0;

	for (i = from; i < out->niov; i++) {
		if (n + out->iov[i].iov_len >= cap)
			break;
		memcpy(dst + n, out->iov[i].iov_base, out->iov[i].iov_len);
		n += out->iov[i].iov_len;
	}
	dst[n] = '\0';
	return n;
}

/* Parse with room for max fields (0: HTTP1_MAX_FIELDS). */
static int
parse_max(const char *in, size_t len, struct http1_req *req, size_t max)
{
	static struct http1_field f[HTTP1_MAX_FIELDS_LIMIT];

	memset(req, 0, sizeof(*req));
	req->fields = f;
	req->max_fields = max ? max : HTTP1_MAX_FIELDS;
	return http1_parse_request(in, len, 0, 65536, req);
}

static int
parse(const char *in, size_t len, struct http1_req *req)
{
	return parse_max(in, len, req, 0);
}

static void
rw_case(const struct rw *c)
{
	static struct http1_req req;
	static char scratch[4096], got[8192];
	struct iovec iov[64];
	struct cookie_out out;
	size_t len = strlen(c->in), n;
	void *map;
	size_t maplen;
	char *p;
	int r, up;

	p = guard_copy(c->in, len, &map, &maplen);
	r = parse(p, len, &req);
	CHECK(r == (int)len, "%s: parse returned %d (%s)", c->name, r,
	    r == HTTP1_BAD ? req.why : "");
	if (r != (int)len)
		goto out;
	memset(&out, 0, sizeof(out));
	out.iov = iov;
	out.maxiov = 64;
	out.scratch = scratch;
	out.cap = sizeof(scratch);
	up = -1;
	r = cookie_rewrite(rw_cfg(c->cfg), &req, &out, &up);
	CHECK(r == c->result, "%s: returned %d, want %d", c->name, r,
	    c->result);
	if (r != COOKIE_OK) {
		CHECK(out.niov == 0 && out.used == 0, "%s: out changed on %d "
		    "(%zu iovecs, %zu used)", c->name, r, out.niov, out.used);
		goto out;
	}
	CHECK(up == c->upgraded, "%s: upgraded %d", c->name, up);
	n = flatten(&out, 0, got, sizeof(got));
	CHECK(c->out != NULL && n == strlen(c->out) &&
	    memcmp(got, c->out, n) == 0, "%s: got\n%s\nwant\n%s", c->name,
	    got, c->out ? c->out : "(null)");
	/* The rewritten request parses again, to the same framing. */
	r = parse(got, n, &req);
	CHECK(r == (int)n, "%s: output does not parse: %d", c->name, r);
out:
	guard_free(map, maplen);
}

/* Two requests into one out, then out of room. */
static void
full_test(void)
{
	static struct http1_req req;
	static const char in[] = GET "Cookie: a=1; CERT=x\r\nX: 1\r\n\r\n";
	static const char want[] = GET "X: 1\r\nCookie: a=1; CERT=ours\r\n\r\n";
	static char scratch[4096], got[8192];
	struct cookie_cfg *cfg = rw_cfg(CFG_ADD);
	struct iovec iov[64];
	struct cookie_out out;
	size_t len = sizeof(in) - 1, n, max, niov, used;
	int r, up, full, ok;

	r = parse(in, len, &req);
	CHECK(r == (int)len, "full: parse %d", r);
	memset(&out, 0, sizeof(out));
	out.iov = iov;
	out.maxiov = 64;
	out.scratch = scratch;
	out.cap = sizeof(scratch);
	CHECK(cookie_rewrite(cfg, &req, &out, &up) == COOKIE_OK, "full: 1st");
	niov = out.niov;
	used = out.used;
	CHECK(cookie_rewrite(cfg, &req, &out, &up) == COOKIE_OK, "full: 2nd");
	n = flatten(&out, 0, got, sizeof(got));
	CHECK(n == 2 * (sizeof(want) - 1) && memcmp(got, want, n / 2) == 0 &&
	    memcmp(got + n / 2, want, n / 2) == 0, "full: two requests:\n%s",
	    got);
	CHECK(out.niov > niov && out.used >= used, "full: not appended");

	/*
	 * With fewer iovecs than the rewrite needs: COOKIE_FULL and out
	 * as it was; with enough, the exact output.
	 */
	full = ok = 0;
	for (max = 0; max <= 64; max++) {
		memset(&out, 0, sizeof(out));
		out.iov = iov;
		out.maxiov = max;
		out.scratch = scratch;
		out.cap = sizeof(scratch);
		r = cookie_rewrite(cfg, &req, &out, &up);
		if (r == COOKIE_FULL) {
			CHECK(out.niov == 0 && out.used == 0, "full: maxiov "
			    "%zu changed out", max);
			CHECK(!ok, "full: maxiov %zu full after success", max);
			full++;
			continue;
		}
		CHECK(r == COOKIE_OK, "full: maxiov %zu returned %d", max, r);
		n = flatten(&out, 0, got, sizeof(got));
		CHECK(out.niov <= max && n == sizeof(want) - 1 &&
		    memcmp(got, want, n) == 0, "full: maxiov %zu: %s", max,
		    got);
		ok++;
	}
	CHECK(full > 0 && ok > 0, "full: %d full, %d ok", full, ok);

	/* The same with a scratch area too small for the Cookie line. */
	memset(&out, 0, sizeof(out));
	out.iov = iov;
	out.maxiov = 64;
	out.scratch = scratch;
	out.cap = 8;
	r = cookie_rewrite(cfg, &req, &out, &up);
	CHECK(r == COOKIE_FULL && out.niov == 0 && out.used == 0,
	    "full: scratch of 8 returned %d", r);

	/* COOKIE_FULL after a first request leaves the first intact. */
	memset(&out, 0, sizeof(out));
	out.iov = iov;
	out.maxiov = 64;
	out.scratch = scratch;
	out.cap = sizeof(scratch);
	CHECK(cookie_rewrite(cfg, &req, &out, &up) == COOKIE_OK, "full: 1st");
	niov = out.niov;
	used = out.used;
	out.maxiov = niov + 1;
	r = cookie_rewrite(cfg, &req, &out, &up);
	CHECK(r == COOKIE_FULL && out.niov == niov && out.used == used,
	    "full: 2nd with one iovec left returned %d", r);
	n = flatten(&out, 0, got, sizeof(got));
	CHECK(n == sizeof(want) - 1 && memcmp(got, want, n) == 0,
	    "full: 1st damaged: %s", got);
}

/* Trailer fields the backend must never take from the client. */
static void
forbidden_test(void)
{
	static const char tr[] = "Cookie: CERT=x\r\nclient-cert: :A:\r\n"
	    "Client-Cert-Chain: :A:\r\nX-SSL-Cert: x\r\nX-SSL-Cert-Chain: x\r\n"
	    "X-Other: 1\r\nCookies: 1\r\nExpires: 0\r\n\r\n";
	static const int want[] = { 1, 1, 1, 1, 1, 0, 0, 0 };
	struct http1_field f[HTTP1_MAX_FIELDS];
	struct cookie_cfg cfg;
	const char *why;
	size_t nf = HTTP1_MAX_FIELDS, i;
	int r;

	r = http1_parse_trailers(tr, sizeof(tr) - 1, 65536, f,
	    HTTP1_MAX_FIELDS, &nf, &why);
	CHECK(r == (int)sizeof(tr) - 1 && nf == 8, "forbidden: parse %d %zu",
	    r, nf);
	if (r != (int)sizeof(tr) - 1 || nf != 8)
		return;
	CHECK(cookie_cfg_init(&cfg, "CERT", "X-SSL-Cert") == 0, "forbidden");
	for (i = 0; i < nf; i++)
		CHECK(!cookie_field_forbidden(&cfg, &f[i]) == !want[i],
		    "forbidden: %.*s: %d", (int)f[i].name_len, f[i].name,
		    !want[i]);
	CHECK(cookie_cfg_init(&cfg, "CERT", NULL) == 0, "forbidden");
	CHECK(cookie_field_forbidden(&cfg, &f[0]), "forbidden: Cookie");
	CHECK(cookie_field_forbidden(&cfg, &f[1]), "forbidden: Client-Cert");
	CHECK(!cookie_field_forbidden(&cfg, &f[3]), "forbidden: X-SSL-Cert "
	    "without --header");
}

/*
 * The output holds at most cfg->max_fields fields, by default
 * HTTP1_MAX_FIELDS: 99 fields and ours pass, 100 without a Cookie field
 * do not (nor 99 with ours and a header); 100 with a Cookie field do,
 * ours merged into it.  Likewise with max_fields 150 and 1.
 */
static void
limit_test(void)
{
	static char in[8192], scratch[4096];
	static struct http1_req req;
	struct iovec iov[512];
	struct cookie_out out;
	struct cookie_cfg *cfg;
	size_t n, i;
	int up, r;
	struct {
		size_t	 fields;	/* besides Host */
		int	 cookie;	/* one of them is a Cookie field */
		int	 which;
		int	 result;
		size_t	 max;		/* cfg->max_fields; 0: the default */
	} c[] = {
		{ 98, 0, CFG_ADD, COOKIE_OK, 0 },
		{ 99, 0, CFG_ADD, COOKIE_TOO_MANY, 0 },
		{ 99, 1, CFG_ADD, COOKIE_OK, 0 },
		{ 98, 0, CFG_HEADER, COOKIE_TOO_MANY, 0 },
		{ 97, 0, CFG_HEADER, COOKIE_OK, 0 },
		{ 99, 0, CFG_NOADD, COOKIE_OK, 0 },
		{ 99, 0, CFG_ADD, COOKIE_OK, 150 },
		{ 148, 0, CFG_ADD, COOKIE_OK, 150 },
		{ 149, 0, CFG_ADD, COOKIE_TOO_MANY, 150 },
		{ 149, 1, CFG_ADD, COOKIE_OK, 150 },
		{ 148, 0, CFG_HEADER, COOKIE_TOO_MANY, 150 },
		{ 147, 0, CFG_HEADER, COOKIE_OK, 150 },
		{ 0, 0, CFG_ADD, COOKIE_TOO_MANY, 1 },
		{ 0, 0, CFG_NOADD, COOKIE_OK, 1 },
	};

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t k;

		n = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\n"
		    "Host: a\r\n");
		for (k = 0; k < c[i].fields; k++)
			n += (size_t)snprintf(in + n, sizeof(in) - n,
			    k == 0 && c[i].cookie ? "Cookie: a=1\r\n" :
			    "X-%zu: 1\r\n", k);
		n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n");
		CHECK(parse_max(in, n, &req, c[i].max) == (int)n,
		    "limit case %zu parses", i);
		memset(&out, 0, sizeof(out));
		out.iov = iov;
		out.maxiov = 512;
		out.scratch = scratch;
		out.cap = sizeof(scratch);
		cfg = rw_cfg(c[i].which);
		if (c[i].max)
			cfg->max_fields = c[i].max;
		r = cookie_rewrite(cfg, &req, &out, &up);
		CHECK(r == c[i].result, "limit case %zu: %d, want %d", i, r,
		    c[i].result);
		if (r != COOKIE_OK)
			CHECK(out.niov == 0 && out.used == 0,
			    "limit case %zu: out left as it was", i);
	}
}

int
main(void)
{
	size_t i;

	pairs_test();
	space_test();
	long_test();
	cfg_test();
	for (i = 0; i < sizeof(rws) / sizeof(rws[0]); i++)
		rw_case(&rws[i]);
	full_test();
	forbidden_test();
	limit_test();
	return unit_done("cookie");
}
