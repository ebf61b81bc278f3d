/*
 * Unit tests of lib/http1.c: every case runs on the whole input and
 * again one byte at a time, each prefix copied so that it ends at an
 * inaccessible page, so any read past the given length faults.
 */
#include <inttypes.h>
#include <stdint.h>

#include "http1.h"
#include "tchar.h"
#include "unit.h"

#define S(lit)	lit, sizeof(lit) - 1
#define OK	0
#define INC	HTTP1_INCOMPLETE
#define BAD	HTTP1_BAD
#define ANY	(-9)		/* do not check this member */
#define BIG	65536		/* the default --max-header-bytes */

#define H11	"Host: a\r\n"
/* The members after max_head, for cases that are not OK. */
#define REST	NULL, NULL, 0, 0, 0, 0, 0, 0

struct rcase {
	const char	*name;
	const char	*in;
	size_t		 len;
	int		 ret;		/* OK, INC or BAD */
	size_t		 tail;		/* on OK: input bytes after the head */
	int		 status;	/* on BAD */
	size_t		 max_head;	/* 0: BIG */
	const char	*method;	/* NULL: not checked */
	const char	*target;
	int		 minor;		/* ANY: not checked */
	int		 body;		/* ANY: not checked */
	uint64_t	 cl;
	unsigned	 flags;
	int		 nfields;	/* ANY: not checked */
	size_t		 skip;
};

/* req emptied, with room for max fields (0: HTTP1_MAX_FIELDS). */
static void
req_reset(struct http1_req *req, size_t max)
{
	static struct http1_field f[HTTP1_MAX_FIELDS_LIMIT];

	memset(req, 0, sizeof(*req));
	req->fields = f;
	req->max_fields = max ? max : HTTP1_MAX_FIELDS;
}

static const struct rcase rcases[] = {
	/* Request-line forms, RFC 9112 3.2. */
	{ "origin-form", S("GET / HTTP/1.1\r\n" H11 "\r\n"), OK, 0, 0, 0,
	    "GET", "/", 1, HTTP1_BODY_NONE, 0, 0, 1, 0 },
	{ "origin-form query", S("GET /a/b?c=d&e HTTP/1.1\r\n" H11 "\r\n"),
	    OK, 0, 0, 0, "GET", "/a/b?c=d&e", 1, HTTP1_BODY_NONE, 0, 0, 1, 0 },
	{ "absolute-form", S("GET http://a:80/x HTTP/1.1\r\n" H11 "\r\n"),
	    OK, 0, 0, 0, "GET", "http://a:80/x", 1, ANY, 0, 0, 1, 0 },
	{ "authority-form", S("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
	    OK, 0, 0, 0, "CONNECT", "a:443", 1, ANY, 0, HTTP1_CONNECT, 1, 0 },
	{ "asterisk-form", S("OPTIONS * HTTP/1.1\r\n" H11 "\r\n"), OK, 0, 0,
	    0, "OPTIONS", "*", 1, ANY, 0, 0, 1, 0 },
	{ "neither origin nor absolute form", S("GET p HTTP/1.1\r\n" H11
	    "\r\n"), BAD, 0, 400, 0, REST },
	{ "scheme without anything after", S("GET http: HTTP/1.1\r\n" H11
	    "\r\n"), BAD, 0, 400, 0, REST },
	{ "scheme starting with a digit", S("GET 1http://a/ HTTP/1.1\r\n"
	    H11 "\r\n"), BAD, 0, 400, 0, REST },
	{ "asterisk-form outside OPTIONS", S("GET * HTTP/1.1\r\n" H11
	    "\r\n"), BAD, 0, 400, 0, REST },
	{ "CONNECT to a path", S("CONNECT /a HTTP/1.1\r\n" H11 "\r\n"), BAD,
	    0, 400, 0, REST },
	{ "CONNECT without a port", S("CONNECT a HTTP/1.1\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "CONNECT with userinfo", S("CONNECT u@a:443 HTTP/1.1\r\n" H11
	    "\r\n"), BAD, 0, 400, 0, REST },
	{ "CONNECT to [::1]:443", S("CONNECT [::1]:443 HTTP/1.1\r\n"
	    "Host: [::1]:443\r\n\r\n"), OK, 0, 0, 0, "CONNECT", "[::1]:443",
	    1, ANY, 0, HTTP1_CONNECT, 1, 0 },
	{ "HEAD flag", S("HEAD / HTTP/1.1\r\n" H11 "\r\n"), OK, 0, 0, 0,
	    "HEAD", "/", 1, HTTP1_BODY_NONE, 0, HTTP1_HEAD, 1, 0 },
	{ "extension method", S("PURGE /x HTTP/1.1\r\n" H11 "\r\n"), OK, 0, 0,
	    0, "PURGE", "/x", 1, ANY, 0, 0, 1, 0 },
	{ "bytes after the head are not consumed",
	    S("GET / HTTP/1.1\r\n" H11 "\r\nGET /2 HTTP/1.1\r\n"), OK, 17, 0,
	    0, "GET", "/", 1, ANY, 0, 0, 1, 0 },
	{ "method with a non-token byte", S("G(T / HTTP/1.1\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "empty method", S(" / HTTP/1.1\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "two spaces after the method", S("GET  / HTTP/1.1\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "tab as separator", S("GET\t/ HTTP/1.1\r\n" H11 "\r\n"), BAD, 0,
	    400, 0, REST },
	{ "space inside the target", S("GET /a b HTTP/1.1\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "no target", S("GET HTTP/1.1\r\n" H11 "\r\n"), BAD, 0, 400, 0, REST },
	{ "CTL in the target", S("GET /a\x01 HTTP/1.1\r\n" H11 "\r\n"), BAD,
	    0, 400, 0, REST },
	{ "DEL in the target", S("GET /a\x7f HTTP/1.1\r\n" H11 "\r\n"), BAD,
	    0, 400, 0, REST },
	{ "NUL in the target", S("GET /a\0b HTTP/1.1\r\n" H11 "\r\n"), BAD, 0,
	    400, 0, REST },
	{ "space after the version", S("GET / HTTP/1.1 \r\n" H11 "\r\n"), BAD,
	    0, 400, 0, REST },
	{ "no version (HTTP/0.9)", S("GET /\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "bare LF after the request line", S("GET / HTTP/1.1\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "bare CR in the request line", S("GET /\r HTTP/1.1\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "CR CR LF", S("GET / HTTP/1.1\r\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },

	/* Versions. */
	{ "HTTP/1.0", S("GET / HTTP/1.0\r\n\r\n"), OK, 0, 0, 0, "GET", "/", 0,
	    HTTP1_BODY_NONE, 0, 0, 0, 0 },
	{ "HTTP/2.0", S("GET / HTTP/2.0\r\n" H11 "\r\n"),
	    BAD, 0, 505, 0, REST },
	{ "HTTP/1.2", S("GET / HTTP/1.2\r\n" H11 "\r\n"),
	    BAD, 0, 505, 0, REST },
	{ "HTTP/0.9", S("GET / HTTP/0.9\r\n" H11 "\r\n"),
	    BAD, 0, 505, 0, REST },
	{ "HTTP/3.0", S("GET / HTTP/3.0\r\n" H11 "\r\n"),
	    BAD, 0, 505, 0, REST },
	{ "lower-case http", S("GET / http/1.1\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "HTTX/1.1", S("GET / HTTX/1.1\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "HTTP/1", S("GET / HTTP/1\r\n" H11 "\r\n"), BAD, 0, 400, 0, REST },
	{ "HTTP/1.", S("GET / HTTP/1.\r\n" H11 "\r\n"), BAD, 0, 400, 0, REST },
	{ "HTTP/1.x", S("GET / HTTP/1.x\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "HTTP/1.10", S("GET / HTTP/1.10\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "HTTP/11", S("GET / HTTP/11\r\n" H11 "\r\n"), BAD, 0, 400, 0, REST },

	/* Leading empty lines: at most 8 CRLF pairs are skipped. */
	{ "one leading CRLF", S("\r\nGET / HTTP/1.1\r\n" H11 "\r\n"), OK, 0, 0,
	    0, "GET", "/", 1, ANY, 0, 0, 1, 2 },
	{ "eight leading CRLFs",
	    S("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" H11 "\r\n"),
	    OK, 0, 0, 0, "GET", "/", 1, ANY, 0, 0, 1, 16 },
	{ "nine leading CRLFs",
	    S("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" H11
	    "\r\n"), BAD, 0, 400, 0, REST },
	{ "leading bare LF", S("\nGET / HTTP/1.1\r\n" H11 "\r\n"), BAD, 0,
	    400, 0, REST },
	{ "leading space", S(" GET / HTTP/1.1\r\n" H11 "\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "only CRLFs so far", S("\r\n\r\n"), INC, 0, 0, 0, REST },
	{ "leading CRLFs do not count against max_head",
	    S("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" H11 "\r\n"), OK, 0, 0, 27,
	    "GET", "/", 1, ANY, 0, 0, 1, 8 },

	/* Host, RFC 9112 3.2. */
	{ "1.1 without Host", S("GET / HTTP/1.1\r\nX: y\r\n\r\n"), BAD, 0,
	    400, 0, REST },
	{ "1.1 with two Hosts", S("GET / HTTP/1.1\r\n" H11 "Host: b\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "1.1 with the same Host twice", S("GET / HTTP/1.1\r\n" H11 H11
	    "\r\n"), BAD, 0, 400, 0, REST },
	{ "Host in any case", S("GET / HTTP/1.1\r\nhOST: a\r\n\r\n"), OK, 0, 0,
	    0, "GET", "/", 1, ANY, 0, 0, 1, 0 },
	{ "1.0 without Host", S("GET / HTTP/1.0\r\nX: y\r\n\r\n"), OK, 0, 0, 0,
	    "GET", "/", 0, ANY, 0, 0, 1, 0 },

	/* Field syntax, RFC 9112 5. */
	{ "field value OWS", S("GET / HTTP/1.1\r\n" H11 "X: \t a b \t\r\n\r\n"),
	    OK, 0, 0, 0, NULL, NULL, 1, ANY, 0, 0, 2, 0 },
	{ "empty field value", S("GET / HTTP/1.1\r\n" H11 "X:\r\n\r\n"), OK, 0,
	    0, 0, NULL, NULL, 1, ANY, 0, 0, 2, 0 },
	{ "obs-text in a value", S("GET / HTTP/1.1\r\n" H11
	    "X: caf\xc3\xa9\r\n\r\n"), OK, 0, 0, 0, NULL, NULL, 1, ANY, 0, 0,
	    2, 0 },
	{ "space before the colon", S("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "tab before the colon", S("GET / HTTP/1.1\r\n" H11 "X\t: y\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "obs-fold", S("GET / HTTP/1.1\r\n" H11 "X: a\r\n b\r\n\r\n"), BAD, 0,
	    400, 0, REST },
	{ "obs-fold with a tab", S("GET / HTTP/1.1\r\n" H11
	    "X: a\r\n\tb\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "first field line starts with a space",
	    S("GET / HTTP/1.1\r\n " H11 "\r\n"), BAD, 0, 400, 0, REST },
	{ "no colon", S("GET / HTTP/1.1\r\n" H11 "X\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "empty field name", S("GET / HTTP/1.1\r\n" H11 ": y\r\n\r\n"), BAD, 0,
	    400, 0, REST },
	{ "non-token field name", S("GET / HTTP/1.1\r\n" H11 "X(y): z\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "non-ASCII field name", S("GET / HTTP/1.1\r\n" H11
	    "X\xc3\xa9: z\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "NUL in a value", S("GET / HTTP/1.1\r\n" H11 "X: a\0b\r\n\r\n"), BAD,
	    0, 400, 0, REST },
	{ "NUL in a name", S("GET / HTTP/1.1\r\n" H11 "X\0: b\r\n\r\n"), BAD, 0,
	    400, 0, REST },
	{ "CTL in a value", S("GET / HTTP/1.1\r\n" H11 "X: a\x01" "b\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "DEL in a value", S("GET / HTTP/1.1\r\n" H11 "X: a\x7f\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "bare CR in a value", S("GET / HTTP/1.1\r\n" H11 "X: a\rb\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "bare CR ends a value", S("GET / HTTP/1.1\r\n" H11 "X: a\r\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "bare LF ends a field", S("GET / HTTP/1.1\r\n" H11 "X: a\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "bare LF ends the head", S("GET / HTTP/1.1\r\n" H11 "\n"), BAD, 0,
	    400, 0, REST },
	{ "LF LF", S("GET / HTTP/1.1\n\n"), BAD, 0, 400, 0, REST },
	{ "incomplete head", S("GET / HTTP/1.1\r\n" H11), INC, 0, 0, 0, REST },
	{ "incomplete field", S("GET / HTTP/1.1\r\n" H11 "X: abc"),
	    INC, 0, 0, 0, REST },
	{ "empty input", S(""), INC, 0, 0, 0, REST },

	/* Content-Length and Transfer-Encoding, RFC 9112 6. */
	{ "Content-Length", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 5\r\n\r\nhello"), OK, 5, 0, 0, "POST", "/", 1,
	    HTTP1_BODY_LENGTH, 5, 0, 2, 0 },
	{ "Content-Length with OWS", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: \t 12 \t\r\n\r\n"), OK, 0, 0, 0, NULL, NULL, 1,
	    HTTP1_BODY_LENGTH, 12, 0, 2, 0 },
	{ "Content-Length with leading zeros", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 007\r\n\r\n"), OK, 0, 0, 0, NULL, NULL, 1,
	    HTTP1_BODY_LENGTH, 7, 0, 2, 0 },
	{ "Content-Length in 1.0", S("POST / HTTP/1.0\r\n"
	    "content-length: 3\r\n\r\nabc"), OK, 3, 0, 0, NULL, NULL, 0,
	    HTTP1_BODY_LENGTH, 3, 0, 1, 0 },
	{ "large Content-Length", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 1099511627776\r\n\r\n"), OK, 0, 0, 0, NULL, NULL,
	    1, HTTP1_BODY_LENGTH, 1099511627776ULL, 0, 2, 0 },
	{ "two equal Content-Lengths", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"), BAD, 0,
	    400, 0, REST },
	{ "two different Content-Lengths", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"), BAD, 0,
	    400, 0, REST },
	{ "Content-Length list", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 5, 5\r\n\r\nhello"), BAD, 0, 400, 0, REST },
	{ "Content-Length with +", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: +5\r\n\r\nhello"), BAD, 0, 400, 0, REST },
	{ "Content-Length with -", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: -5\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "Content-Length with inner space", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 1 2\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "Content-Length in hex", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 0x5\r\n\r\nhello"), BAD, 0, 400, 0, REST },
	{ "empty Content-Length", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length:\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "Content-Length overflow", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 99999999999999999999999\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "Content-Length 2^64", S("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 18446744073709551616\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "Content-Length with space before the colon", S("POST / HTTP/1.1\r\n"
	    H11 "Content-Length : 5\r\n\r\nhello"), BAD, 0, 400, 0, REST },
	{ "chunked", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked\r\n\r\n"), OK, 0, 0, 0, "POST", "/", 1,
	    HTTP1_BODY_CHUNKED, 0, 0, 2, 0 },
	{ "Chunked in another case", S("POST / HTTP/1.1\r\n" H11
	    "transfer-encoding: ChUnKeD\r\n\r\n"), OK, 0, 0, 0, NULL, NULL, 1,
	    HTTP1_BODY_CHUNKED, 0, 0, 2, 0 },
	{ "chunked after OWS", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding:\t chunked\r\n\r\n"), OK, 0, 0, 0, NULL, NULL,
	    1, HTTP1_BODY_CHUNKED, 0, 0, 2, 0 },
	/* RFC 9110 5.6.3: OWS around a field value is no part of it. */
	{ "chunked and a space", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked \r\n\r\n"), OK, 0, 0, 0, NULL, NULL,
	    1, HTTP1_BODY_CHUNKED, 0, 0, 2, 0 },
	{ "tab, chunked, tab", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding:\tchunked\t\r\n\r\n"), OK, 0, 0, 0, NULL,
	    NULL, 1, HTTP1_BODY_CHUNKED, 0, 0, 2, 0 },
	{ "chunked and OWS, then CL", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked \r\nContent-Length: 5\r\n\r\n"),
	    BAD, 0, 400, 0, REST },
	{ "gzip , chunked", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: gzip , chunked\r\n\r\n"), BAD, 0, 501, 0,
	    REST },
	{ "gzip\t,\tchunked\t", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: gzip\t,\tchunked\t\r\n\r\n"), BAD, 0, 501, 0,
	    REST },
	{ "chunked , chunked", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked , chunked\r\n\r\n"), BAD, 0, 400, 0,
	    REST },
	{ "chunked , (an empty element)", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked ,\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "chunked and a space inside", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chun ked\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "CL and TE", S("POST / HTTP/1.1\r\n" H11 "Content-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "TE and CL", S("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked"
	    "\r\nContent-Length: 5\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "TE and CL 0", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked"
	    "\r\nContent-Length: 0\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "TE in 1.0", S("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n"), BAD, 0, 400, 0, REST },
	/*
	 * Chunked not final: RFC 9112 6.1 says 400, an unknown coding 501;
	 * either status will do as long as the request is refused.
	 */
	{ "xchunked", S("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: xchunked"
	    "\r\n\r\n"), BAD, 0, ANY, 0, REST },
	{ "gzip, chunked", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: gzip, chunked\r\n\r\n"), BAD, 0, 501, 0, REST },
	{ "identity", S("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: identity"
	    "\r\n\r\n"), BAD, 0, ANY, 0, REST },
	{ "chunked, identity", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked, identity\r\n\r\n"),
	    BAD, 0, ANY, 0, REST },
	{ "chunked, chunked", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked, chunked\r\n\r\n"),
	    BAD, 0, ANY, 0, REST },
	{ "two TE fields", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    BAD, 0, ANY, 0, REST },
	{ "TE gzip then TE chunked", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    BAD, 0, ANY, 0, REST },
	{ "empty TE", S("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding:\r\n\r\n"),
	    BAD, 0, ANY, 0, REST },
	{ "chunked with a parameter", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked;q=1\r\n\r\n"), BAD, 0, ANY, 0, REST },
	{ "TE with a vertical tab", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked\x0b\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "TE with obs-fold", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding:\r\n chunked\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "TE with space before the colon", S("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding : chunked\r\n\r\n"), BAD, 0, 400, 0, REST },
	{ "TE name with a leading space", S("POST / HTTP/1.1\r\n" H11
	    " Transfer-Encoding: chunked\r\n\r\n"), BAD, 0, 400, 0, REST },

	/* Limits. */
	{ "head of exactly max_head", S("GET / HTTP/1.1\r\n" H11 "\r\n"), OK, 0,
	    0, 27, "GET", "/", 1, ANY, 0, 0, 1, 0 },
	{ "head one over max_head", S("GET / HTTP/1.1\r\n" H11 "\r\n"), BAD, 0,
	    431, 26, REST },
	{ "incomplete head over max_head", S("GET / HTTP/1.1\r\n" H11 "X: "),
	    BAD, 0, 431, 20, REST },
};

/* Parse in[0..n) copied to end at a guard page. */
static int
parse_at_guard(const char *in, size_t n, size_t last_len, size_t max_head,
    struct http1_req *req, int *status)
{
	void *map;
	size_t maplen;
	char *p;
	int r;

	p = guard_copy(in, n, &map, &maplen);
	r = http1_parse_request(p, n, last_len, max_head, req);
	*status = req->status;
	guard_free(map, maplen);
	return r;
}

static int
slice_is(const char *s, size_t n, const char *lit)
{
	return lit != NULL && n == strlen(lit) && memcmp(s, lit, n) == 0;
}

/*
 * Check one request case whole, then prefix by prefix two ways, with
 * room for max_fields fields (0: HTTP1_MAX_FIELDS).
 */
static void
req_case_max(const struct rcase *c, size_t max_fields)
{
	static struct http1_req req;
	size_t max = c->max_head ? c->max_head : BIG;
	size_t n, last, step;
	void *map;
	size_t maplen;
	char *p;
	int r, want, st, pass;

	want = c->ret == OK ? (int)(c->len - c->tail) : c->ret;
	req_reset(&req, max_fields);
	p = guard_copy(c->in, c->len, &map, &maplen);
	r = http1_parse_request(p, c->len, 0, max, &req);
	CHECK(r == want, "%s: returned %d, want %d (%s)", c->name, r, want,
	    r == BAD && req.why ? req.why : "");
	if (r == BAD && c->ret == BAD && c->status != ANY)
		CHECK(req.status == c->status, "%s: status %d, want %d (%s)",
		    c->name, req.status, c->status, req.why ? req.why : "");
	if (r == BAD)
		CHECK(req.why != NULL && (req.status == 400 ||
		    req.status == 431 || req.status == 501 ||
		    req.status == 505), "%s: status %d why %s", c->name,
		    req.status, req.why ? req.why : "(null)");
	if (r == want && c->ret == OK) {
		CHECK(req.skip == c->skip, "%s: skip %zu, want %zu", c->name,
		    req.skip, c->skip);
		CHECK(req.line == p + c->skip, "%s: line at %td", c->name,
		    req.line - p);
		if (c->method != NULL)
			CHECK(slice_is(req.method, req.method_len, c->method),
			    "%s: method %.*s", c->name, (int)req.method_len,
			    req.method);
		if (c->target != NULL)
			CHECK(slice_is(req.target, req.target_len, c->target),
			    "%s: target %.*s", c->name, (int)req.target_len,
			    req.target);
		if (c->minor != ANY)
			CHECK(req.minor == c->minor, "%s: minor %d", c->name,
			    req.minor);
		if (c->body != ANY)
			CHECK((int)req.body == c->body, "%s: body %d, want %d",
			    c->name, (int)req.body, c->body);
		if (c->body == HTTP1_BODY_LENGTH)
			CHECK(req.content_length == c->cl, "%s: cl %" PRIu64,
			    c->name, req.content_length);
		CHECK((req.flags & (HTTP1_HEAD | HTTP1_CONNECT)) == c->flags,
		    "%s: flags %#x", c->name, req.flags);
		if (c->nfields != ANY)
			CHECK(req.nfields == (size_t)c->nfields,
			    "%s: %zu fields, want %d", c->name, req.nfields,
			    c->nfields);
	}
	guard_free(map, maplen);

	/*
	 * Growing prefixes, as a reader gets them: pass 0 hands the
	 * previous length as last_len, pass 1 always 0.  Every prefix
	 * before the answer is known must be incomplete; the first other
	 * answer must be the answer for the whole input.
	 */
	step = c->len > 65536 ? 1021 : c->len > 4096 ? 61 : 1;
	for (pass = 0; pass < 2; pass++) {
		req_reset(&req, max_fields);
		last = 0;
		r = INC;
		st = 0;
		for (n = 0; n <= c->len; n += step) {
			if (n + step > c->len)
				n = c->len;
			r = parse_at_guard(c->in, n, pass ? 0 : last, max,
			    &req, &st);
			if (r != INC)
				break;
			last = n;
			if (n == c->len)
				break;
		}
		if (r == want && c->ret == OK)
			CHECK(n >= (size_t)want, "%s: complete at %zu of %d",
			    c->name, n, want);
		CHECK(r == want, "%s: by pieces (pass %d) returned %d at %zu, "
		    "want %d", c->name, pass, r, n, want);
		if (r == BAD && c->ret == BAD && c->status != ANY)
			CHECK(st == c->status, "%s: by pieces status %d, want "
			    "%d", c->name, st, c->status);
	}
}

static void
req_case(const struct rcase *c)
{
	req_case_max(c, 0);
}

/* Field slices: name, trimmed value, kind, whole line. */
static void
fields_test(void)
{
	static struct http1_req req;
	static const char in[] = "POST /x HTTP/1.1\r\n"
	    "hOsT: example.org\r\n"
	    "X-Empty:\r\n"
	    "X-Ows: \t a \t b\t \r\n"
	    "cookie: a=1\r\n"
	    "COOKIE: b=2\r\n"
	    "Connection: keep-alive, Upgrade\r\n"
	    "upgrade: websocket\r\n"
	    "HTTP2-Settings: AAMAAABkAAQAAP__\r\n"
	    "client-cert: :AAA=:\r\n"
	    "Client-Cert-Chain: :AAA=:\r\n"
	    "Content-Length: 0\r\n"
	    "\r\n";
	static const struct {
		const char *name, *value;
		enum http1_kind kind;
	} want[] = {
		{ "hOsT", "example.org", HTTP1_F_HOST },
		{ "X-Empty", "", HTTP1_F_OTHER },
		{ "X-Ows", "a \t b", HTTP1_F_OTHER },
		{ "cookie", "a=1", HTTP1_F_COOKIE },
		{ "COOKIE", "b=2", HTTP1_F_COOKIE },
		{ "Connection", "keep-alive, Upgrade", HTTP1_F_CONNECTION },
		{ "upgrade", "websocket", HTTP1_F_UPGRADE },
		{ "HTTP2-Settings", "AAMAAABkAAQAAP__",
		    HTTP1_F_HTTP2_SETTINGS },
		{ "client-cert", ":AAA=:", HTTP1_F_CLIENT_CERT },
		{ "Client-Cert-Chain", ":AAA=:", HTTP1_F_CLIENT_CERT_CHAIN },
		{ "Content-Length", "0", HTTP1_F_CONTENT_LENGTH },
	};
	size_t len = sizeof(in) - 1, i;
	const char *line;
	void *map;
	size_t maplen;
	char *p;
	int r;

	p = guard_copy(in, len, &map, &maplen);
	req_reset(&req, 0);
	r = http1_parse_request(p, len, 0, BIG, &req);
	CHECK(r == (int)len, "fields: returned %d (%s)", r,
	    r == BAD ? req.why : "");
	if (r != (int)len)
		goto out;
	CHECK(req.line_len == strlen("POST /x HTTP/1.1\r\n"), "fields: "
	    "line_len %zu", req.line_len);
	CHECK(req.nfields == sizeof(want) / sizeof(want[0]), "fields: %zu",
	    req.nfields);
	CHECK(req.content_length == 0, "fields: content_length %" PRIu64,
	    req.content_length);
	line = p + req.line_len;
	for (i = 0; i < req.nfields && i < sizeof(want) / sizeof(want[0]);
	    i++) {
		const struct http1_field *f = &req.fields[i];

		CHECK(slice_is(f->name, f->name_len, want[i].name),
		    "fields: name %zu: %.*s", i, (int)f->name_len, f->name);
		CHECK(slice_is(f->value, f->value_len, want[i].value),
		    "fields: value %zu: [%.*s]", i, (int)f->value_len,
		    f->value);
		CHECK(f->kind == want[i].kind, "fields: kind %zu: %d", i,
		    (int)f->kind);
		CHECK(f->line == line, "fields: line %zu at %td", i,
		    f->line - p);
		CHECK(f->line_len >= 2 && f->line[f->line_len - 2] == '\r' &&
		    f->line[f->line_len - 1] == '\n', "fields: line_len %zu",
		    i);
		CHECK(f->name == f->line, "fields: name %zu not at line start",
		    i);
		line += f->line_len;
	}
	CHECK(line + 2 == p + len, "fields: lines end at %td of %zu",
	    line - p, len);
out:
	guard_free(map, maplen);
}

/* The field limit and max_head on generated heads. */
static void
limits_test(void)
{
	static char buf[80000], big[200000];
	struct rcase c;
	size_t n, i;

	/* Exactly HTTP1_MAX_FIELDS fields, the Host one included. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n" H11);
	for (i = 1; i < HTTP1_MAX_FIELDS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "X-%zu: %zu\r\n", i, i);
	memcpy(buf + n, "\r\n", 2);
	memset(&c, 0, sizeof(c));
	c.name = "100 fields";
	c.in = buf;
	c.len = n + 2;
	c.ret = OK;
	c.minor = 1;
	c.body = ANY;
	c.nfields = HTTP1_MAX_FIELDS;
	req_case(&c);

	/* One more is 431. */
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-last: 1\r\n\r\n");
	c.name = "101 fields";
	c.len = n;
	c.ret = BAD;
	c.status = 431;
	req_case(&c);
	/* The same 101 fields with room for 200, or for exactly 101. */
	c.name = "101 fields, max_fields 200";
	c.ret = OK;
	c.nfields = HTTP1_MAX_FIELDS + 1;
	req_case_max(&c, 200);
	c.name = "101 fields, max_fields 101";
	req_case_max(&c, HTTP1_MAX_FIELDS + 1);
	c.name = "101 fields, max_fields 50";
	c.ret = BAD;
	req_case_max(&c, 50);
	c.name = "1 field, max_fields 1";
	c.in = "GET / HTTP/1.1\r\n" H11 "\r\n";
	c.len = strlen(c.in);
	c.ret = OK;
	c.nfields = 1;
	req_case_max(&c, 1);
	c.name = "2 fields, max_fields 1";
	c.in = "GET / HTTP/1.1\r\n" H11 "X: 1\r\n\r\n";
	c.len = strlen(c.in);
	c.ret = BAD;
	req_case_max(&c, 1);

	/* HTTP1_MAX_FIELDS_LIMIT fields with that limit, then one more. */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n" H11);
	for (i = 1; i < HTTP1_MAX_FIELDS_LIMIT; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "X-%zu: %zu\r\n", i, i);
	memcpy(big + n, "\r\n", 2);
	c.name = "HTTP1_MAX_FIELDS_LIMIT fields";
	c.in = big;
	c.len = n + 2;
	c.ret = OK;
	c.nfields = HTTP1_MAX_FIELDS_LIMIT;
	c.max_head = sizeof(big);
	req_case_max(&c, HTTP1_MAX_FIELDS_LIMIT);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "X-last: 1\r\n\r\n");
	c.name = "HTTP1_MAX_FIELDS_LIMIT + 1 fields";
	c.len = n;
	c.ret = BAD;
	req_case_max(&c, HTTP1_MAX_FIELDS_LIMIT);
	c.in = buf;
	c.max_head = 0;

	/* A head over the default limit, one big field. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n" H11
	    "X-Big: ");
	memset(buf + n, 'a', 70000);
	n += 70000;
	memcpy(buf + n, "\r\n\r\n", 4);
	c.name = "70000-byte field";
	c.len = n + 4;
	c.ret = BAD;
	c.status = 431;
	c.max_head = 0;
	req_case(&c);

	/* The same with the limit just large enough. */
	c.name = "70000-byte field, max_head fits";
	c.ret = OK;
	c.max_head = c.len;
	c.nfields = 2;
	req_case(&c);
}

struct ccase {
	const char	*name;
	const char	*in;
	size_t		 len;
	int		 ret;		/* consumed, INC or BAD */
	uint64_t	 size;
};

static const struct ccase ccases[] = {
	{ "zero", S("0\r\n"), 3, 0 },
	{ "lower hex", S("1a\r\n"), 4, 26 },
	{ "upper hex", S("1A\r\n"), 4, 26 },
	{ "data follows", S("5\r\nhello\r\n"), 3, 5 },
	{ "leading zeros", S("0005\r\n"), 6, 5 },
	{ "16 digits", S("ffffffffffffffff\r\n"), 18, UINT64_MAX },
	{ "16 digits, leading zeros", S("000000000000001f\r\n"), 18, 31 },
	{ "extension", S("5;a=b\r\n"), 7, 5 },
	{ "extension without value", S("5;a\r\n"), 5, 5 },
	{ "two extensions", S("5;a=b;c\r\n"), 9, 5 },
	{ "quoted extension", S("5;a=\"b;c\"\r\n"), 11, 5 },
	/* RFC 9112 7.1.1: BWS around ";" and "=". */
	{ "BWS before the \";\"", S("5 ;a=b\r\n"), 8, 5 },
	{ "tab before the \";\"", S("5\t;a\r\n"), 6, 5 },
	{ "BWS everywhere", S("5 ; a = b\r\n"), 11, 5 },
	{ "BWS before a second \";\"", S("5;a=b ;c = \"d\"\r\n"), 16, 5 },
	{ "BWS around \"=\"", S("5;a =\tb\r\n"), 9, 5 },
	{ "BWS, then a bare LF", S("5 ;a=b\n"), BAD, 0 },
	{ "BWS, then a bare CR", S("5 ;a=b\rx"), BAD, 0 },
	{ "BWS, then no name", S("5 ;\r\n"), BAD, 0 },
	{ "BWS, then no \";\"", S("5 a=b\r\n"), BAD, 0 },
	{ "BWS, then a CTL", S("5 \x01;a\r\n"), BAD, 0 },
	{ "extension with BWS after the \";\"", S("5; a = b\r\n"), 10, 5 },
	{ "space after the size", S("5 \r\n"), BAD, 0 },
	{ "tab after the size", S("5\t\r\n"), BAD, 0 },
	{ "space after an extension", S("5;a=b \r\n"), BAD, 0 },
	{ "space after an extension name", S("5;a\t\r\n"), BAD, 0 },
	{ "quoted-pair in an extension", S("5;a=\"b\\\"c\"\r\n"), 12, 5 },
	{ "extension name, then a space and junk", S("5;a b\r\n"), BAD, 0 },
	{ "extension with an empty value", S("5;a=\r\n"), BAD, 0 },
	{ "extension value with a space", S("5;a=b c\r\n"), BAD, 0 },
	{ "CR in a quoted extension", S("5;a=\"b\r\n\"\r\n"), BAD, 0 },
	{ "extension with a non-token value", S("5;a=b@c\r\n"), BAD, 0 },
	{ "17 digits", S("10000000000000000\r\n"), BAD, 0 },
	{ "17 digits, leading zeros", S("00000000000000001\r\n"), BAD, 0 },
	{ "0x prefix", S("0x5\r\n"), BAD, 0 },
	{ "negative", S("-1\r\n"), BAD, 0 },
	{ "plus", S("+1\r\n"), BAD, 0 },
	{ "leading space", S(" 5\r\n"), BAD, 0 },
	{ "leading tab", S("\t5\r\n"), BAD, 0 },
	{ "no digit", S("\r\n"), BAD, 0 },
	{ "extension without digit", S(";a\r\n"), BAD, 0 },
	{ "not hex", S("g\r\n"), BAD, 0 },
	{ "bare LF", S("5\n"), BAD, 0 },
	{ "bare CR", S("5\rx"), BAD, 0 },
	{ "bare LF after an extension", S("5;a=b\n"), BAD, 0 },
	{ "NUL in an extension", S("5;a=\0\r\n"), BAD, 0 },
	{ "CTL in an extension", S("5;a=\x01\r\n"), BAD, 0 },
	{ "empty extension name", S("5;=b\r\n"), BAD, 0 },
	{ "garbage after the size", S("5 x\r\n"), BAD, 0 },
	{ "empty", S(""), INC, 0 },
	{ "size only", S("5"), INC, 0 },
	{ "CR only", S("5\r"), INC, 0 },
	{ "in an extension", S("5;a=b"), INC, 0 },
};

static void
chunk_case(const char *name, const char *in, size_t len, int want,
    uint64_t wsize)
{
	uint64_t size;
	void *map;
	size_t maplen, n;
	char *p;
	int r;

	p = guard_copy(in, len, &map, &maplen);
	size = 12345;
	r = http1_parse_chunk_line(p, len, &size);
	guard_free(map, maplen);
	CHECK(r == want, "%s: returned %d, want %d", name, r, want);
	if (r == want && want > 0)
		CHECK(size == wsize, "%s: size %" PRIu64 ", want %" PRIu64,
		    name, size, wsize);
	/* Prefixes are incomplete until the answer is known. */
	for (n = 0; n < len; n++) {
		p = guard_copy(in, n, &map, &maplen);
		r = http1_parse_chunk_line(p, n, &size);
		guard_free(map, maplen);
		if (r != INC)
			break;
	}
	if (n < len)
		CHECK(r == want, "%s: prefix %zu returned %d, want %d", name,
		    n, r, want);
}

static void
chunk_test(void)
{
	static char buf[HTTP1_MAX_CHUNK_EXT + 64];
	size_t i, n;

	for (i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++)
		chunk_case(ccases[i].name, ccases[i].in, ccases[i].len,
		    ccases[i].ret, ccases[i].size);

	/* Extensions of up to HTTP1_MAX_CHUNK_EXT bytes, not more. */
	buf[0] = '5';
	buf[1] = ';';
	memset(buf + 2, 'e', HTTP1_MAX_CHUNK_EXT - 1);
	n = 1 + HTTP1_MAX_CHUNK_EXT;
	memcpy(buf + n, "\r\n", 2);
	chunk_case("extension of the maximum", buf, n + 2, (int)n + 2, 5);
	buf[n] = 'e';
	memcpy(buf + n + 1, "\r\n", 2);
	chunk_case("extension one over the maximum", buf, n + 3, BAD, 0);
	/* An endless extension is refused before its end arrives. */
	memset(buf + 2, 'e', sizeof(buf) - 2);
	chunk_case("endless extension", buf, sizeof(buf), BAD, 0);
}

struct tcase {
	const char	*name;
	const char	*in;
	size_t		 len;
	size_t		 max;		/* 0: BIG */
	int		 ret;		/* OK (all of in), INC or BAD */
	size_t		 nfields;
	enum http1_kind	 kind;		/* of the first field */
};

static const struct tcase tcases[] = {
	{ "no trailers", S("\r\n"), 0, OK, 0, 0 },
	{ "one trailer", S("X-Sum: abc\r\n\r\n"), 0, OK, 1, HTTP1_F_OTHER },
	{ "two trailers", S("A: 1\r\nB: 2\r\n\r\n"), 0, OK, 2, HTTP1_F_OTHER },
	{ "Cookie trailer parses", S("cookie: CERT=x\r\n\r\n"), 0, OK, 1,
	    HTTP1_F_COOKIE },
	{ "Client-Cert trailer parses", S("Client-Cert: :AA==:\r\n\r\n"), 0, OK,
	    1, HTTP1_F_CLIENT_CERT },
	{ "exactly max", S("A: 1\r\n\r\n"), 8, OK, 1, HTTP1_F_OTHER },
	{ "over max", S("A: 1\r\n\r\n"), 7, BAD, 0, 0 },
	{ "incomplete at max", S("A: 1\r\n"), 6, BAD, 0, 0 },
	{ "incomplete", S("A: 1\r\n"), 0, INC, 0, 0 },
	{ "empty", S(""), 0, INC, 0, 0 },
	{ "obs-fold", S("A: 1\r\n 2\r\n\r\n"), 0, BAD, 0, 0 },
	{ "space before the colon", S("A : 1\r\n\r\n"), 0, BAD, 0, 0 },
	{ "bare LF", S("A: 1\n\r\n"), 0, BAD, 0, 0 },
	{ "bare LF at the end", S("A: 1\r\n\n"), 0, BAD, 0, 0 },
	{ "bare LF alone", S("\n"), 0, BAD, 0, 0 },
	{ "bare CR", S("A: 1\r2\r\n\r\n"), 0, BAD, 0, 0 },
	{ "NUL", S("A: \0\r\n\r\n"), 0, BAD, 0, 0 },
	{ "no colon", S("A\r\n\r\n"), 0, BAD, 0, 0 },
	{ "leading space", S(" A: 1\r\n\r\n"), 0, BAD, 0, 0 },
};

static void
trailer_case(const struct tcase *c)
{
	struct http1_field f[HTTP1_MAX_FIELDS];
	size_t nf, max = c->max ? c->max : BIG, n;
	const char *why;
	int want = c->ret == OK ? (int)c->len : c->ret, r;
	void *map;
	size_t maplen;
	char *p;

	p = guard_copy(c->in, c->len, &map, &maplen);
	nf = HTTP1_MAX_FIELDS;
	why = NULL;
	r = http1_parse_trailers(p, c->len, max, f, HTTP1_MAX_FIELDS, &nf,
	    &why);
	CHECK(r == want, "%s: returned %d, want %d (%s)", c->name, r, want,
	    why ? why : "");
	if (r == BAD)
		CHECK(why != NULL, "%s: no why", c->name);
	if (r == want && c->ret == OK) {
		CHECK(nf == c->nfields, "%s: %zu fields", c->name, nf);
		if (nf > 0)
			CHECK(f[0].kind == c->kind && f[0].line == p,
			    "%s: kind %d", c->name, (int)f[0].kind);
	}
	guard_free(map, maplen);
	for (n = 0; n < c->len; n++) {
		p = guard_copy(c->in, n, &map, &maplen);
		nf = HTTP1_MAX_FIELDS;
		r = http1_parse_trailers(p, n, max, f, HTTP1_MAX_FIELDS, &nf,
		    &why);
		guard_free(map, maplen);
		if (r != INC)
			break;
	}
	if (n < c->len)
		CHECK(r == want, "%s: prefix %zu returned %d, want %d",
		    c->name, n, r, want);
}

static void
trailer_test(void)
{
	static char buf[4096];
	struct tcase c;
	size_t i, n;

	for (i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++)
		trailer_case(&tcases[i]);

	memset(&c, 0, sizeof(c));
	n = 0;
	for (i = 0; i < HTTP1_MAX_FIELDS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "T%zu: v\r\n",
		    i);
	memcpy(buf + n, "\r\n", 2);
	c.name = "100 trailers";
	c.in = buf;
	c.len = n + 2;
	c.ret = OK;
	c.nfields = HTTP1_MAX_FIELDS;
	c.kind = HTTP1_F_OTHER;
	trailer_case(&c);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "T: v\r\n\r\n");
	c.name = "101 trailers";
	c.len = n;
	c.ret = BAD;
	trailer_case(&c);
}

struct pcase {
	const char	*name;
	const char	*in;
	size_t		 len;
	int		 head;		/* a response to HEAD */
	size_t		 max;		/* 0: BIG */
	int		 ret;		/* OK (all but tail), INC, BAD */
	size_t		 tail;
	int		 status;
	enum http1_body	 body;
	uint64_t	 cl;
};

static const struct pcase pcases[] = {
	{ "200 with Content-Length", S("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 5\r\n\r\nhello"), 0, 0, OK, 5, 200,
	    HTTP1_BODY_LENGTH, 5 },
	{ "200 to HEAD", S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), 1,
	    0, OK, 0, 200, HTTP1_BODY_NONE, 0 },
	{ "chunked", S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\n"), 0, 0, OK, 3, 200, HTTP1_BODY_CHUNKED, 0 },
	{ "gzip, chunked", S("HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n"), 0, 0, OK, 0, 200,
	    HTTP1_BODY_CHUNKED, 0 },
	{ "chunked, gzip", S("HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked, gzip\r\n\r\n"), 0, 0, OK, 0, 200,
	    HTTP1_BODY_CLOSE, 0 },
	{ "chunked wins over Content-Length", S("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 0, 0,
	    OK, 0, 200, HTTP1_BODY_CHUNKED, 0 },
	{ "no length", S("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nabc"), 0, 0, OK,
	    3, 200, HTTP1_BODY_CLOSE, 0 },
	{ "malformed length", S("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
	    0, 0, OK, 0, 200, HTTP1_BODY_CLOSE, 0 },
	{ "1.0 without length", S("HTTP/1.0 200 OK\r\n\r\n"), 0, 0, OK, 0, 200,
	    HTTP1_BODY_CLOSE, 0 },
	{ "100 Continue", S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
	    0, 0, OK, 17, 100, HTTP1_BODY_NONE, 0 },
	{ "103 with a length", S("HTTP/1.1 103 Early Hints\r\n"
	    "Content-Length: 9\r\n\r\n"), 0, 0, OK, 0, 103,
	    HTTP1_BODY_NONE, 0 },
	{ "101", S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n\x81\x05hello"), 0, 0, OK, 7, 101,
	    HTTP1_BODY_NONE, 0 },
	{ "204 with a length", S("HTTP/1.1 204 No Content\r\n"
	    "Content-Length: 5\r\n\r\n"), 0, 0, OK, 0, 204,
	    HTTP1_BODY_NONE, 0 },
	{ "304 with a length", S("HTTP/1.1 304 Not Modified\r\n"
	    "Content-Length: 5\r\n\r\n"), 0, 0, OK, 0, 304,
	    HTTP1_BODY_NONE, 0 },
	{ "304 chunked", S("HTTP/1.1 304 Not Modified\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 0, 0, OK, 0, 304,
	    HTTP1_BODY_NONE, 0 },
	{ "HEAD, chunked", S("HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 1, 0, OK, 0, 200,
	    HTTP1_BODY_NONE, 0 },
	{ "LF line ends", S("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi"), 0, 0,
	    OK, 2, 200, HTTP1_BODY_LENGTH, 2 },
	{ "no reason phrase", S("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"),
	    0, 0, OK, 0, 404, HTTP1_BODY_LENGTH, 0 },
	{ "status 999", S("HTTP/1.1 999 X\r\nContent-Length: 1\r\n\r\n"), 0, 0,
	    OK, 0, 999, HTTP1_BODY_LENGTH, 1 },
	{ "content-length in lower case", S("HTTP/1.1 200 OK\r\n"
	    "content-length: 12\r\n\r\n"), 0, 0, OK, 0, 200,
	    HTTP1_BODY_LENGTH, 12 },
	{ "incomplete", S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"), 0, 0,
	    INC, 0, 0, 0, 0 },
	{ "incomplete at max", S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"), 0,
	    20, BAD, 0, 0, 0, 0 },
	{ "a request", S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    0, 0, BAD, 0, 0, 0, 0 },
	{ "two-digit status", S("HTTP/1.1 20 OK\r\n\r\n"),
	    0, 0, BAD, 0, 0, 0, 0 },
	{ "status 099", S("HTTP/1.1 099 OK\r\n\r\n"),
	    0, 0, BAD, 0, 0, 0, 0 },
	{ "letters in the status", S("HTTP/1.1 2x0 OK\r\n\r\n"),
	    0, 0, BAD, 0, 0, 0, 0 },
	{ "not HTTP", S("SSH-2.0-OpenSSH_9.2\r\n\r\n"),
	    0, 0, BAD, 0, 0, 0, 0 },
};

static void
resp_case(const struct pcase *c)
{
	struct http1_resp resp;
	size_t max = c->max ? c->max : BIG, n;
	int want = c->ret == OK ? (int)(c->len - c->tail) : c->ret, r;
	void *map;
	size_t maplen;
	char *p;

	p = guard_copy(c->in, c->len, &map, &maplen);
	memset(&resp, 0, sizeof(resp));
	r = http1_parse_response(p, c->len, max, c->head, &resp);
	guard_free(map, maplen);
	CHECK(r == want, "%s: returned %d, want %d", c->name, r, want);
	if (r == want && c->ret == OK) {
		CHECK(resp.status == c->status, "%s: status %d", c->name,
		    resp.status);
		CHECK(resp.body == c->body, "%s: body %d, want %d", c->name,
		    (int)resp.body, (int)c->body);
		if (c->body == HTTP1_BODY_LENGTH)
			CHECK(resp.content_length == c->cl, "%s: length %"
			    PRIu64, c->name, resp.content_length);
	}
	for (n = 0; n < c->len; n++) {
		p = guard_copy(c->in, n, &map, &maplen);
		r = http1_parse_response(p, n, max, c->head, &resp);
		guard_free(map, maplen);
		if (r != INC)
			break;
	}
	if (n < c->len)
		CHECK(r == want, "%s: prefix %zu returned %d, want %d",
		    c->name, n, r, want);
}

static void
eq_test(void)
{
	CHECK(http1_eq("Cookie", 6, "cookie"), "eq: Cookie");
	CHECK(http1_eq("COOKIE", 6, "cookie"), "eq: COOKIE");
	CHECK(!http1_eq("Cookie", 6, "cookies"), "eq: cookies");
	CHECK(!http1_eq("Cookies", 7, "cookie"), "eq: longer slice");
	CHECK(!http1_eq("Cookie", 5, "cookie"), "eq: slice length");
	CHECK(http1_eq("", 0, ""), "eq: empty");
	/* Only ASCII letters fold: 'K' ^ 0x20 is 'k', '[' ^ 0x20 is '{'. */
	CHECK(!http1_eq("[", 1, "{"), "eq: [ and {");
}

/* The compiled table against the grammar, byte by byte (RFC 9110). */
static void
tchar_test(void)
{
	unsigned want;
	int c;

	for (c = 0; c < 256; c++) {
		want = 0;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') ||
		    (c && strchr("!#$%&'*+-.^_`|~", c)))
			want |= TCHAR_TOKEN;
		if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' ||
		    c == '\t')
			want |= TCHAR_VALUE;
		if (c >= 0x21 && c <= 0x7e)
			want |= TCHAR_TARGET;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F'))
			want |= TCHAR_HEX;
		CHECK(tchar_class[c] == want, "tchar: byte 0x%02x is 0x%02x, "
		    "want 0x%02x", c, tchar_class[c], want);
		CHECK(!tchar_token(c) == !(want & TCHAR_TOKEN),
		    "tchar: tchar_token(0x%02x)", c);
	}
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++)
		req_case(&rcases[i]);
	fields_test();
	limits_test();
	chunk_test();
	trailer_test();
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++)
		resp_case(&pcases[i]);
	eq_test();
	tchar_test();
	return unit_done("http1");
}
