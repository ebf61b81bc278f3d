/*
 * HTTP/1.x message framing, RFC 9112.  Requests are parsed strictly;
 * responses only as far as needed to follow their framing.  The parser
 * is pure: it reads bytes the caller owns, stores (pointer, length)
 * slices into them, never allocates and never needs NUL termination.
 */
#ifndef HTTP1_H
#define HTTP1_H

#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_FIELDS	100	/* default limit on fields (Apache) */
#define HTTP1_MAX_FIELDS_LIMIT	10000	/* the largest limit a caller may set */
#define HTTP1_MAX_CHUNK_EXT	4096	/* bytes of chunk extensions per line */

#define HTTP1_INCOMPLETE	(-2)	/* need more bytes */
#define HTTP1_BAD		(-1)	/* malformed: see status and why */

/* Fields the framing or the rewriter cares about. */
enum http1_kind {
	HTTP1_F_OTHER,
	HTTP1_F_CONTENT_LENGTH,
	HTTP1_F_TRANSFER_ENCODING,
	HTTP1_F_HOST,
	HTTP1_F_COOKIE,
	HTTP1_F_CONNECTION,
	HTTP1_F_UPGRADE,
	HTTP1_F_HTTP2_SETTINGS,
	HTTP1_F_CLIENT_CERT,		/* RFC 9440 */
	HTTP1_F_CLIENT_CERT_CHAIN,	/* RFC 9440 */
};

struct http1_field {
	const char	*line;		/* start of the field line */
	size_t		 line_len;	/* with its CRLF */
	const char	*name;
	size_t		 name_len;
	const char	*value;		/* without surrounding white space */
	size_t		 value_len;
	enum http1_kind	 kind;
};

enum http1_body {
	HTTP1_BODY_NONE,
	HTTP1_BODY_LENGTH,	/* content_length bytes */
	HTTP1_BODY_CHUNKED,
	HTTP1_BODY_CLOSE,	/* responses only: until the connection ends */
};

/* Request flags. */
#define HTTP1_HEAD	0x01	/* method HEAD */
#define HTTP1_CONNECT	0x02	/* method CONNECT */

struct http1_req {
	size_t		 skip;		/* empty lines before the request line */
	const char	*line;		/* request line */
	size_t		 line_len;	/* with its CRLF */
	const char	*method;
	size_t		 method_len;
	const char	*target;
	size_t		 target_len;
	int		 minor;		/* HTTP/1.minor: 0 or 1 */
	struct http1_field *fields;	/* room for max_fields, caller's */
	size_t		 max_fields;	/* up to HTTP1_MAX_FIELDS_LIMIT */
	size_t		 nfields;
	enum http1_body	 body;
	uint64_t	 content_length;
	unsigned	 flags;
	int		 status;	/* on HTTP1_BAD: 400, 431, 501 or 505 */
	const char	*why;		/* on HTTP1_BAD: static, for the log */
};

/*
 * Parse one request head (request line, fields, empty line) at the start
 * of buf[0..len) into req, whose fields and max_fields the caller set.
 * last_len is the len of the previous call for the same head that
 * returned HTTP1_INCOMPLETE, else 0: it lets a head that trickles in
 * byte by byte cost linear time.  max_head caps the head
 * (request line, fields and empty line, but not leading empty lines
 * before the request line, of which at most 8 pairs of CRLF are skipped).
 *
 * Returns the bytes consumed (skip + head), HTTP1_INCOMPLETE, or
 * HTTP1_BAD with req->status and req->why set: 431 when the head would
 * exceed max_head or hold more than req->max_fields fields, 501 for a
 * transfer coding other than chunked alone, 505 for a version other than 1.0 and 1.1, 400 for
 * every other fault (bare CR or LF, obs-fold, space before the colon,
 * CTL or NUL, CL with TE, several or malformed CL, TE in 1.0, several or
 * no Host in 1.1, ...).  Strict: anything ambiguous is HTTP1_BAD.
 */
int	http1_parse_request(const char *buf, size_t len, size_t last_len,
	    size_t max_head, struct http1_req *req);

/*
 * Parse a chunk-size line ("1a;ext=v\r\n") at the start of buf.  Returns
 * the bytes consumed with *size set, HTTP1_INCOMPLETE, or HTTP1_BAD (no
 * hex digit, over 16 digits, bad extension, extensions over
 * HTTP1_MAX_CHUNK_EXT, bare CR or LF, white space before the size).
 */
int	http1_parse_chunk_line(const char *buf, size_t len, uint64_t *size);

/*
 * Parse a trailer section (field lines then the empty line) at the start
 * of buf, with the rules of request fields, into fields[0..*nfields),
 * at most max_fields of them.  Returns the bytes consumed,
 * HTTP1_INCOMPLETE (HTTP1_BAD once len reaches max), or HTTP1_BAD.
 * *why is set on HTTP1_BAD.
 */
int	http1_parse_trailers(const char *buf, size_t len, size_t max,
	    struct http1_field *fields, size_t max_fields, size_t *nfields,
	    const char **why);

struct http1_resp {
	int		 status;	/* 100-999 */
	enum http1_body	 body;
	uint64_t	 content_length;
};

/*
 * Parse a response head at the start of buf, leniently (LF line ends
 * are accepted), as far as framing needs: a response to HEAD (head set)
 * and 1xx, 204 and 304 have no body; chunked as the final coding means
 * chunked; another coding, a missing or malformed length means
 * HTTP1_BODY_CLOSE.  Returns the head length, HTTP1_INCOMPLETE (HTTP1_BAD
 * once len reaches max), or HTTP1_BAD when the bytes are not a response.
 */
int	http1_parse_response(const char *buf, size_t len, size_t max,
	    int head, struct http1_resp *resp);

/* Case-insensitive ASCII comparison of a slice with a C string. */
int	http1_eq(const char *s, size_t n, const char *lit);

#endif
