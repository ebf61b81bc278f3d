/*
 * HTTP/1.x framing, RFC 9112.  Requests strictly, responses leniently.
 */
#include <string.h>

#include "http1.h"
#include "tchar.h"

int
http1_eq(const char *s, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char a = s[i], b = lit[i];

		if (b == '\0')
			return 0;
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return 0;
	}
	return lit[n] == '\0';
}

static enum http1_kind
kind_of(const char *n, size_t len)
{
	switch (len) {
	case 4:
		if (http1_eq(n, len, "host"))
			return HTTP1_F_HOST;
		break;
	case 6:
		if (http1_eq(n, len, "cookie"))
			return HTTP1_F_COOKIE;
		break;
	case 7:
		if (http1_eq(n, len, "upgrade"))
			return HTTP1_F_UPGRADE;
		break;
	case 10:
		if (http1_eq(n, len, "connection"))
			return HTTP1_F_CONNECTION;
		break;
	case 11:
		if (http1_eq(n, len, "client-cert"))
			return HTTP1_F_CLIENT_CERT;
		break;
	case 14:
		if (http1_eq(n, len, "content-length"))
			return HTTP1_F_CONTENT_LENGTH;
		if (http1_eq(n, len, "http2-settings"))
			return HTTP1_F_HTTP2_SETTINGS;
		break;
	case 17:
		if (http1_eq(n, len, "client-cert-chain"))
			return HTTP1_F_CLIENT_CERT_CHAIN;
		if (http1_eq(n, len, "transfer-encoding"))
			return HTTP1_F_TRANSFER_ENCODING;
		break;
	}
	return HTTP1_F_OTHER;
}

static int
bad(struct http1_req *req, int status, const char *why)
{
	req->status = status;
	req->why = why;
	return HTTP1_BAD;
}

/*
 * Parse field lines from buf[*off..len) until the empty line, strictly.
 * Returns 0 with *off past the empty line, HTTP1_INCOMPLETE, or HTTP1_BAD
 * with *status and *why set.
 */
static int
parse_fields(const char *buf, size_t len, size_t *off,
    struct http1_field *fields, size_t max_fields, size_t *nfields,
    int *status, const char **why)
{
	size_t p = *off, n = 0;

	for (;;) {
		const char *lf, *line = buf + p, *e;
		size_t i, llen, nlen, vs, ve;

		if (p == len)
			goto incomplete;
		if (buf[p] == '\r') {
			if (p + 1 == len)
				goto incomplete;
			if (buf[p + 1] != '\n') {
				*why = "bare CR";
				goto fail;
			}
			*off = p + 2;
			*nfields = n;
			return 0;
		}
		if (buf[p] == '\n') {
			*why = "bare LF";
			goto fail;
		}
		if (buf[p] == ' ' || buf[p] == '\t') {
			*why = "obs-fold or white space before a field";
			goto fail;
		}
		lf = memchr(line, '\n', len - p);
		if (lf == NULL)
			goto incomplete;
		if (lf[-1] != '\r') {
			*why = "bare LF";
			goto fail;
		}
		llen = lf + 1 - line;
		e = lf - 1;	/* the CR */
		for (i = 0; line + i < e && tchar_token(line[i]); i++)
			;
		nlen = i;
		if (line + i == e || line[i] != ':' || nlen == 0) {
			*why = line[i] == ' ' || line[i] == '\t' ?
			    "white space before the colon" :
			    "malformed field name";
			goto fail;
		}
		for (i++; line + i < e; i++)
			if (!tchar_is(line[i], TCHAR_VALUE)) {
				*why = line[i] == '\r' ? "bare CR" :
				    line[i] == '\0' ? "NUL in a field" :
				    "control character in a field";
				goto fail;
			}
		vs = nlen + 1;
		ve = e - line;
		while (vs < ve && (line[vs] == ' ' || line[vs] == '\t'))
			vs++;
		while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
			ve--;
		if (n == max_fields) {
			*why = "too many fields";
			*status = 431;
			return HTTP1_BAD;
		}
		fields[n].line = line;
		fields[n].line_len = llen;
		fields[n].name = line;
		fields[n].name_len = nlen;
		fields[n].value = line + vs;
		fields[n].value_len = ve - vs;
		fields[n].kind = kind_of(line, nlen);
		n++;
		p += llen;
	}
incomplete:
	*nfields = n;
	return HTTP1_INCOMPLETE;
fail:
	*status = 400;
	return HTTP1_BAD;
}

/* Content-Length: 1*DIGIT, at most 18 digits (no overflow). */
static int
parse_length(const char *s, size_t n, uint64_t *v)
{
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return 0;
}

/*
 * Check the Transfer-Encoding list of one field: every element a token,
 * "chunked" exactly once and last overall.  *chunked_last carries state
 * across several fields; *other records another coding.  Returns 0 or -1.
 */
static int
parse_te(const char *s, size_t n, int *chunked_last, int *other)
{
	size_t i = 0;

	for (;;) {
		size_t st;

		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		st = i;
		while (i < n && tchar_token(s[i]))
			i++;
		if (i == st)
			return -1;	/* empty element or junk */
		if (*chunked_last)
			return -1;	/* something after chunked */
		if (http1_eq(s + st, i - st, "chunked"))
			*chunked_last = 1;
		else
			*other = 1;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n)
			return 0;
		if (s[i] != ',')
			return -1;	/* parameters or junk */
		i++;
	}
}

/*
 * RFC 9112 3.2: origin-form ("/p"), absolute-form ("http://h/p"),
 * authority-form ("h:443") for CONNECT only, asterisk-form for OPTIONS
 * only.  Backends differ on anything else, so it is refused.
 */
static int
target_ok(const struct http1_req *req)
{
	const char *t = req->target;
	size_t n = req->target_len, i, d;

	if (req->flags & HTTP1_CONNECT) {
		for (i = n; i > 0 && t[i - 1] >= '0' && t[i - 1] <= '9'; i--)
			continue;
		d = n - i;
		if (d == 0 || d > 5 || i < 2 || t[i - 1] != ':')
			return 0;
		return memchr(t, '/', n) == NULL && memchr(t, '@', n) == NULL;
	}
	if (n == 1 && t[0] == '*')
		return http1_eq(req->method, req->method_len, "OPTIONS");
	if (t[0] == '/')
		return 1;
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	if (!((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z'))
		return 0;
	for (i = 1; i < n && t[i] != ':'; i++)
		if (!(((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '+' ||
		    t[i] == '-' || t[i] == '.'))
			return 0;
	return i < n && i + 1 < n;
}

/* A parse sets these whatever it returns: nothing stale from a last one. */
static void
req_init(struct http1_req *req)
{
	req->status = 0;
	req->why = NULL;
	req->nfields = 0;
	req->flags = 0;
	req->body = HTTP1_BODY_NONE;
	req->content_length = 0;
}

/*
 * RFC 9112 2.2: a server should ignore at least one empty line before
 * the request line; more than 8 are taken as junk.  Returns 0 with *p
 * past them, HTTP1_INCOMPLETE, or HTTP1_BAD.
 */
static int
skip_empty_lines(const char *buf, size_t len, size_t *p,
    struct http1_req *req)
{
	size_t i;

	for (i = 0; *p < len && buf[*p] == '\r'; i++) {
		if (*p + 1 == len)
			return HTTP1_INCOMPLETE;
		if (buf[*p + 1] != '\n' || i == 8)
			return bad(req, 400, "empty lines before the request");
		*p += 2;
	}
	return 0;
}

/*
 * HTTP-version = "HTTP/" DIGIT "." DIGIT, at v (8 bytes), of which only
 * 1.0 and 1.1 are served: another well-formed one is a 505.
 */
static int
parse_version(const char *v, struct http1_req *req)
{
	if (memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return bad(req, 400, "malformed HTTP version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return bad(req, 505, "HTTP version not supported");
	req->minor = v[7] - '0';
	return 0;
}

/*
 * request-line = method SP request-target SP HTTP-version CRLF, at
 * l[0..n).  The line alone may not exceed max_head: past it, no head
 * could fit, so it is a 431 before its LF arrives.  Returns 0 with the
 * line's slices in req, HTTP1_INCOMPLETE, or HTTP1_BAD.
 */
static int
parse_request_line(const char *l, size_t n, size_t max_head,
    struct http1_req *req)
{
	const char *lf;
	size_t i;

	lf = memchr(l, '\n', n);
	if (lf == NULL) {
		if (n >= max_head)
			return bad(req, 431, "request line too long");
		return HTTP1_INCOMPLETE;
	}
	if ((size_t)(lf + 1 - l) > max_head)
		return bad(req, 431, "request line too long");
	if (lf == l || lf[-1] != '\r')
		return bad(req, 400, "bare LF");
	req->line = l;
	req->line_len = lf + 1 - l;
	/* The LF ends both loops: it is neither tchar nor VCHAR. */
	for (i = 0; tchar_token(l[i]); i++)
		;
	if (i == 0 || l[i] != ' ')
		return bad(req, 400, "malformed method");
	req->method = l;
	req->method_len = i;
	req->target = l + ++i;
	for (; tchar_is(l[i], TCHAR_TARGET); i++)
		;
	req->target_len = l + i - req->target;
	if (req->target_len == 0 || l[i] != ' ')
		return bad(req, 400, "malformed request target");
	i++;
	if (lf - 1 - (l + i) != 8)
		return bad(req, 400, "malformed HTTP version");
	return parse_version(l + i, req);
}

/* What the framing rules need to know of a request's fields. */
struct req_framing {
	size_t	nhost, ncl, nte;
	int	chunked, other;		/* parse_te() state across fields */
};

/*
 * Count Host, Content-Length and Transfer-Encoding fields and check
 * each value on its own; the rules between them are req_body()'s.
 */
static int
scan_fields(struct http1_req *req, struct req_framing *fr)
{
	size_t i;

	memset(fr, 0, sizeof(*fr));
	for (i = 0; i < req->nfields; i++) {
		const struct http1_field *f = &req->fields[i];

		switch (f->kind) {
		case HTTP1_F_HOST:
			fr->nhost++;
			break;
		case HTTP1_F_CONTENT_LENGTH:
			if (++fr->ncl > 1)
				return bad(req, 400, "several Content-Length");
			if (parse_length(f->value, f->value_len,
			    &req->content_length) == -1)
				return bad(req, 400, "malformed Content-Length");
			break;
		case HTTP1_F_TRANSFER_ENCODING:
			fr->nte++;
			/*
			 * OWS around the value is no part of it (RFC 9110
			 * 5.5), but Python's http.client keeps it after the
			 * value: "chunked " is no chunked there.
			 * cookie_rewrite() forwards the value trimmed.
			 */
			if (parse_te(f->value, f->value_len, &fr->chunked,
			    &fr->other) == -1)
				return bad(req, 400,
				    "malformed Transfer-Encoding");
			break;
		default:
			break;
		}
	}
	return 0;
}

/*
 * RFC 9112 3.2 and 6: one Host (exactly one in 1.1); the body framed by
 * chunked alone or one Content-Length, never both, since backends that
 * pick differently would split the stream at different places.
 */
static int
req_body(struct http1_req *req, const struct req_framing *fr)
{
	if (req->minor == 1 && fr->nhost != 1)
		return bad(req, 400, fr->nhost ? "several Host fields" :
		    "no Host field");
	if (fr->nhost > 1)
		return bad(req, 400, "several Host fields");
	if (fr->nte) {
		if (req->minor == 0)
			return bad(req, 400, "Transfer-Encoding in HTTP/1.0");
		if (fr->ncl)
			return bad(req, 400,
			    "Content-Length with Transfer-Encoding");
		if (!fr->chunked)
			return bad(req, 400, "chunked is not the final coding");
		if (fr->other)
			return bad(req, 501, "transfer coding not supported");
		req->body = HTTP1_BODY_CHUNKED;
	} else if (fr->ncl)
		req->body = HTTP1_BODY_LENGTH;
	return 0;
}

int
http1_parse_request(const char *buf, size_t len, size_t last_len,
    size_t max_head, struct http1_req *req)
{
	struct req_framing fr;
	size_t p = 0, start;
	int r;

	req_init(req);
	/* Nothing new to look at until another LF arrives. */
	if (last_len > 0 && last_len < len &&
	    memchr(buf + last_len, '\n', len - last_len) == NULL) {
		if (len > max_head + 16)
			return bad(req, 431, "request head too large");
		return HTTP1_INCOMPLETE;
	}
	if ((r = skip_empty_lines(buf, len, &p, req)) != 0)
		return r;
	req->skip = start = p;
	if (p == len)
		return HTTP1_INCOMPLETE;
	if ((r = parse_request_line(buf + p, len - p, max_head, req)) != 0)
		return r;
	p += req->line_len;

	r = parse_fields(buf, len, &p, req->fields, req->max_fields,
	    &req->nfields, &req->status, &req->why);
	if (r == HTTP1_INCOMPLETE) {
		if (len - start >= max_head)
			return bad(req, 431, "request head too large");
		return r;
	}
	if (r == HTTP1_BAD)
		return r;
	if (p - start > max_head)
		return bad(req, 431, "request head too large");
	if (scan_fields(req, &fr) != 0 || req_body(req, &fr) != 0)
		return HTTP1_BAD;

	if (http1_eq(req->method, req->method_len, "HEAD"))
		req->flags |= HTTP1_HEAD;
	else if (http1_eq(req->method, req->method_len, "CONNECT"))
		req->flags |= HTTP1_CONNECT;
	if (!target_ok(req))
		return bad(req, 400, "malformed request target");
	return (int)p;
}

/* The end of the BWS (spaces and tabs) that starts at buf[i]. */
static size_t
bws(const char *buf, size_t len, size_t i)
{
	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	return i;
}

/*
 * chunk-size = 1*HEXDIG, at most 16 digits so that it fits 64 bits.
 * Returns the digits' count with *v set, HTTP1_INCOMPLETE or HTTP1_BAD.
 */
static int
chunk_size(const char *buf, size_t len, uint64_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < len && tchar_is(buf[i], TCHAR_HEX); i++) {
		unsigned char c = buf[i];

		if (i == 16)
			return HTTP1_BAD;
		*v = *v << 4 | (uint64_t)(c <= '9' ? c - '0' :
		    (c | 0x20) - 'a' + 10);
	}
	if (i == len)
		return i > 16 ? HTTP1_BAD : HTTP1_INCOMPLETE;
	if (i == 0)
		return HTTP1_BAD;
	return (int)i;
}

/*
 * A chunk-ext value at buf[*ip]: a token or a quoted-string (whose
 * escapes may quote any byte of a field value).  Returns 0 with *ip
 * past it, HTTP1_INCOMPLETE with *ip where the bytes ran out, or
 * HTTP1_BAD.
 */
static int
chunk_ext_value(const char *buf, size_t len, size_t *ip)
{
	size_t i = *ip, tok;

	if (buf[i] == '"') {
		for (i++; i < len && buf[i] != '"'; i++) {
			if (buf[i] == '\\' && ++i == len)
				break;
			if (!tchar_is(buf[i], TCHAR_VALUE))
				return HTTP1_BAD;
		}
		*ip = i;
		if (i == len)
			return HTTP1_INCOMPLETE;
		*ip = i + 1;
		return 0;
	}
	for (tok = i; i < len && tchar_token(buf[i]); i++)
		continue;
	*ip = i;
	return i == tok ? HTTP1_BAD : 0;
}

/*
 * One chunk-ext element at buf[*ip]: BWS ";" BWS name [ BWS "=" BWS
 * value ], name a token.  BWS before the first ";" too, as the grammar
 * allows ("6 ;x"): Go's net/http and llhttp refuse such a line, which
 * only ends that request; no backend reads another size from it.
 * Returns 0 with *ip past the element, 1 with *ip at the CR that ends
 * the line, HTTP1_INCOMPLETE with *ip where the bytes ran out, or
 * HTTP1_BAD.
 */
static int
chunk_ext(const char *buf, size_t len, size_t *ip)
{
	size_t i = *ip, tok;
	int r = HTTP1_INCOMPLETE;

	i = bws(buf, len, tok = i);
	if (i == len)
		goto out;
	/* BWS only before ";": "5 \r\n" is not a chunk line. */
	if (buf[i] == '\r' && i == tok) {
		r = 1;
		goto out;
	}
	if (buf[i] != ';')
		return HTTP1_BAD;
	for (tok = i = bws(buf, len, i + 1); i < len && tchar_token(buf[i]);
	    i++)
		continue;
	if (i == len)
		goto out;
	if (i == tok)
		return HTTP1_BAD;
	i = bws(buf, len, tok = i);
	if (i == len)
		goto out;
	if (buf[i] == '\r' && i != tok)
		return HTTP1_BAD;
	if (buf[i] != '=') {
		r = 0;	/* a name alone */
		goto out;
	}
	i = bws(buf, len, i + 1);
	if (i == len)
		goto out;
	r = chunk_ext_value(buf, len, &i);
out:
	*ip = i;
	return r;
}

int
http1_parse_chunk_line(const char *buf, size_t len, uint64_t *size)
{
	size_t i, ext;
	uint64_t v;
	int r;

	if ((r = chunk_size(buf, len, &v)) < 0)
		return r;
	/*
	 * chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ), at
	 * most HTTP1_MAX_CHUNK_EXT bytes of it: checked after each
	 * element so that a long line costs no more than that.
	 */
	i = ext = (size_t)r;
	while ((r = chunk_ext(buf, len, &i)) == 0)
		if (i - ext > HTTP1_MAX_CHUNK_EXT)
			return HTTP1_BAD;
	if (r == HTTP1_BAD || i - ext > HTTP1_MAX_CHUNK_EXT)
		return HTTP1_BAD;
	if (r == HTTP1_INCOMPLETE || i + 1 >= len)
		return HTTP1_INCOMPLETE;
	if (buf[i + 1] != '\n')
		return HTTP1_BAD;
	*size = v;
	return (int)(i + 2);
}

int
http1_parse_trailers(const char *buf, size_t len, size_t max,
    struct http1_field *fields, size_t max_fields, size_t *nfields,
    const char **why)
{
	size_t p = 0;
	int r, status;

	*nfields = 0;
	r = parse_fields(buf, len, &p, fields, max_fields, nfields, &status,
	    why);
	if (r == HTTP1_INCOMPLETE) {
		if (len >= max) {
			*why = "trailer section too large";
			return HTTP1_BAD;
		}
		return r;
	}
	if (r == HTTP1_BAD)
		return r;
	if (p > max) {
		*why = "trailer section too large";
		return HTTP1_BAD;
	}
	return (int)p;
}

/*
 * status-line = HTTP-version SP 3DIGIT SP [ reason ]: its first 13
 * bytes, enough to tell a response from anything else.  A status from
 * 100 to 999 is taken; LF alone may end the line.  Returns 0 with
 * resp->status set, HTTP1_INCOMPLETE or HTTP1_BAD.
 */
static int
status_line(const char *buf, size_t len, size_t max, struct http1_resp *resp)
{
	if (len < 13) {
		if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0)
			return HTTP1_BAD;
		return len == max ? HTTP1_BAD : HTTP1_INCOMPLETE;
	}
	if (memcmp(buf, "HTTP/1.", 7) != 0 || buf[7] < '0' || buf[7] > '9' ||
	    buf[8] != ' ' || buf[9] < '1' || buf[9] > '9' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' ||
	    buf[11] > '9' || (buf[12] != ' ' && buf[12] != '\r' &&
	    buf[12] != '\n'))
		return HTTP1_BAD;
	resp->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 +
	    (buf[11] - '0');
	return 0;
}

/* What the framing of a response needs to know of its fields. */
struct resp_framing {
	int		chunked, other;	/* parse_te() state across fields */
	int		te;		/* a Transfer-Encoding field */
	int		ncl, badcl;	/* Content-Length fields, one bad */
	uint64_t	cl;
};

/*
 * One field line l[0..n) of a response, leniently: no colon, the line
 * is skipped; white space before the colon is tolerated.  Only the
 * framing fields count, and several Content-Length must agree.
 */
static void
resp_field(const char *l, size_t n, struct resp_framing *fr)
{
	const char *colon;
	size_t e, vs, ve;
	uint64_t v = 0;

	colon = memchr(l, ':', n);
	if (colon == NULL)
		return;
	e = colon - l;
	while (e > 0 && (l[e - 1] == ' ' || l[e - 1] == '\t'))
		e--;
	vs = colon + 1 - l;
	ve = n;
	while (vs < ve && (l[vs] == ' ' || l[vs] == '\t'))
		vs++;
	while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
		ve--;
	switch (kind_of(l, e)) {
	case HTTP1_F_CONTENT_LENGTH:
		if (parse_length(l + vs, ve - vs, &v) == -1 ||
		    (fr->ncl && v != fr->cl))
			fr->badcl = 1;
		fr->cl = v;
		fr->ncl++;
		break;
	case HTTP1_F_TRANSFER_ENCODING:
		fr->te = 1;
		if (parse_te(l + vs, ve - vs, &fr->chunked, &fr->other) == -1)
			fr->chunked = 0, fr->other = 1;
		break;
	default:
		break;
	}
}

/*
 * The field lines from buf[p] through the empty line, CRLF or LF alone.
 * Returns the head's length, HTTP1_INCOMPLETE, or HTTP1_BAD once len
 * reaches max.
 */
static int
resp_fields(const char *buf, size_t len, size_t max, size_t p,
    struct resp_framing *fr)
{
	for (;;) {
		const char *l = buf + p, *lf;
		size_t n;

		lf = memchr(l, '\n', len - p);
		if (lf == NULL)
			return len == max ? HTTP1_BAD : HTTP1_INCOMPLETE;
		n = lf - l;
		if (n > 0 && l[n - 1] == '\r')
			n--;
		p = lf + 1 - buf;
		if (n == 0)
			return (int)p;
		resp_field(l, n, fr);
	}
}

/*
 * RFC 9112 6.3: no body after HEAD, 1xx, 204 and 304; then
 * Transfer-Encoding wins over Content-Length; a length that is bad or
 * missing leaves the connection's end as the only framing.
 */
static void
resp_body(struct http1_resp *resp, int head, const struct resp_framing *fr)
{
	resp->content_length = 0;
	if (head || resp->status < 200 || resp->status == 204 ||
	    resp->status == 304)
		resp->body = HTTP1_BODY_NONE;
	else if (fr->te)
		resp->body = fr->chunked ? HTTP1_BODY_CHUNKED :
		    HTTP1_BODY_CLOSE;
	else if (fr->ncl && !fr->badcl) {
		resp->body = HTTP1_BODY_LENGTH;
		resp->content_length = fr->cl;
	} else
		resp->body = HTTP1_BODY_CLOSE;
}

int
http1_parse_response(const char *buf, size_t len, size_t max, int head,
    struct http1_resp *resp)
{
	struct resp_framing fr;
	const char *lf;
	int r;

	if (len > max)
		len = max;
	if ((r = status_line(buf, len, max, resp)) != 0)
		return r;
	lf = memchr(buf, '\n', len);
	if (lf == NULL)
		return len == max ? HTTP1_BAD : HTTP1_INCOMPLETE;
	memset(&fr, 0, sizeof(fr));
	r = resp_fields(buf, len, max, lf + 1 - buf, &fr);
	if (r < 0)
		return r;
	resp_body(resp, head, &fr);
	return r;
}
