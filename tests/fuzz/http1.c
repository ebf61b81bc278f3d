/*
 * libFuzzer target: parse the requests of the input, rewrite each as
 * certcookie does, pass the bodies, then parse the output again.  Every
 * output request must parse, carry no client copy of our cookie or
 * headers, keep its method, target, version, body framing and body
 * bytes and every other field line, and rewrite to itself again.
 * Anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "http1.h"

#define MAXHEAD		65536
#define OURS		"CERT=ours-0123456789_-"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct cookie_cfg cfg, cfg2;
static struct http1_req in, out2, out3, again;
static struct http1_field in_f[HTTP1_MAX_FIELDS], out2_f[HTTP1_MAX_FIELDS],
    out3_f[HTTP1_MAX_FIELDS], again_f[HTTP1_MAX_FIELDS];
static struct iovec iov[4 * HTTP1_MAX_FIELDS];
static char scratch[2 * MAXHEAD], head[4 * MAXHEAD], head2[4 * MAXHEAD];

#define REQUIRE(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz/http1: %s:%d: %s\n", __FILE__,	\
		    __LINE__, #c);					\
		abort();						\
	}								\
} while (0)

/* req emptied, with room for HTTP1_MAX_FIELDS fields in f. */
static void
reset(struct http1_req *req, struct http1_field *f)
{
	memset(req, 0, sizeof(*req));
	req->fields = f;
	req->max_fields = HTTP1_MAX_FIELDS;
}

static int
same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

/*
 * Length of req's body at buf[0..len), as certcookie passes it, or -1
 * when it is incomplete or refused (bad chunk, forbidden trailer).
 */
static long
body_len(const struct http1_req *req, const char *buf, size_t len)
{
	struct http1_field tf[HTTP1_MAX_FIELDS];
	const char *why;
	uint64_t size;
	size_t p = 0, nf, i;
	int n;

	switch (req->body) {
	case HTTP1_BODY_NONE:
		return 0;
	case HTTP1_BODY_LENGTH:
		return req->content_length <= len ? (long)req->content_length :
		    -1;
	case HTTP1_BODY_CHUNKED:
		break;
	default:
		REQUIRE(!"a request body delimited by close");
	}
	for (;;) {
		n = http1_parse_chunk_line(buf + p, len - p, &size);
		if (n < 0)
			return -1;
		p += (size_t)n;
		if (size == 0)
			break;
		if (size > len - p || len - p - size < 2)
			return -1;
		p += size;
		if (buf[p] != '\r' || buf[p + 1] != '\n')
			return -1;
		p += 2;
	}
	n = http1_parse_trailers(buf + p, len - p, MAXHEAD, tf,
	    HTTP1_MAX_FIELDS, &nf, &why);
	if (n < 0)
		return -1;
	for (i = 0; i < nf; i++)
		if (cookie_field_forbidden(&cfg, &tf[i]))
			return -1;
	return (long)(p + (size_t)n);
}

/* Rewrite req into dst; returns the length. */
static size_t
rewrite(const struct http1_req *req, char *dst, int *up)
{
	struct cookie_out o;
	size_t i, n = 0;
	int r;

	memset(&o, 0, sizeof(o));
	o.iov = iov;
	o.maxiov = sizeof(iov) / sizeof(iov[0]);
	o.scratch = scratch;
	o.cap = sizeof(scratch);
	r = cookie_rewrite(&cfg, req, &o, up);
	/* Only a request near the field limit can be refused for it. */
	if (r == COOKIE_TOO_MANY) {
		REQUIRE(req->nfields >= HTTP1_MAX_FIELDS - 1);
		return 0;
	}
	REQUIRE(r == COOKIE_OK);
	for (i = 0; i < o.niov; i++) {
		REQUIRE(n + o.iov[i].iov_len <= sizeof(head));
		memcpy(dst + n, o.iov[i].iov_base, o.iov[i].iov_len);
		n += o.iov[i].iov_len;
	}
	return n;
}

/* Is this field line one the rewrite may change or remove? */
static int
touched(const struct http1_field *f)
{
	return f->kind == HTTP1_F_COOKIE || f->kind == HTTP1_F_UPGRADE ||
	    f->kind == HTTP1_F_TRANSFER_ENCODING ||
	    f->kind == HTTP1_F_CLIENT_CERT ||
	    f->kind == HTTP1_F_CLIENT_CERT_CHAIN ||
	    f->kind == HTTP1_F_HTTP2_SETTINGS;
}

/*
 * The rewritten head h[0..hn) against the request it came from.
 * Returns 0, or -1 when it cannot be parsed back: a head of exactly
 * HTTP1_MAX_FIELDS fields gains a Cookie field, one over the limit
 * that our own parser (not the backend's) sets.
 */
static int
check_head(const struct http1_req *req, const char *h, size_t hn)
{
	const struct http1_field *f;
	const char *v, *e, *s, *t;
	size_t i, j, ncookie = 0;
	int n, up;

	reset(&out2, out2_f);
	n = http1_parse_request(h, hn, 0, sizeof(head), &out2);
	if (n == HTTP1_BAD && out2.status == 431 &&
	    req->nfields == HTTP1_MAX_FIELDS)
		return -1;
	if (n != (int)hn)
		fprintf(stderr, "output head does not parse (%d, %s):\n%.*s\n",
		    n, n == HTTP1_BAD ? out2.why : "", (int)hn, h);
	REQUIRE(n == (int)hn);
	REQUIRE(out2.skip == 0);
	REQUIRE(same(out2.method, out2.method_len, req->method,
	    req->method_len));
	REQUIRE(same(out2.target, out2.target_len, req->target,
	    req->target_len));
	REQUIRE(out2.minor == req->minor);
	REQUIRE(out2.body == req->body);
	REQUIRE(out2.content_length == req->content_length);
	REQUIRE(out2.flags == req->flags);

	/* Every other field line passes unchanged and in order. */
	for (i = j = 0; i < req->nfields; i++) {
		if (touched(&req->fields[i]))
			continue;
		while (j < out2.nfields && touched(&out2.fields[j]))
			j++;
		REQUIRE(j < out2.nfields);
		REQUIRE(same(out2.fields[j].line, out2.fields[j].line_len,
		    req->fields[i].line, req->fields[i].line_len));
		j++;
	}
	while (j < out2.nfields && touched(&out2.fields[j]))
		j++;
	REQUIRE(j == out2.nfields);

	for (i = 0; i < out2.nfields; i++) {
		f = &out2.fields[i];
		REQUIRE(f->kind != HTTP1_F_CLIENT_CERT);
		REQUIRE(f->kind != HTTP1_F_CLIENT_CERT_CHAIN);
		REQUIRE(f->kind != HTTP1_F_HTTP2_SETTINGS);
		/* No white space after a Transfer-Encoding value. */
		if (f->kind == HTTP1_F_TRANSFER_ENCODING)
			REQUIRE(f->value + f->value_len ==
			    f->line + f->line_len - 2);
		if (f->kind == HTTP1_F_UPGRADE) {
			/* Only websocket tokens are forwarded. */
			v = f->value;
			e = v + f->value_len;
			while (v < e) {
				while (v < e && (*v == ' ' || *v == '\t' ||
				    *v == ','))
					v++;
				for (t = v; t < e && *t != ',' && *t != ' ' &&
				    *t != '\t'; t++)
					continue;
				if (t > v)
					REQUIRE(http1_eq(v, (size_t)(t - v),
					    "websocket"));
				v = t;
			}
		}
		if (f->kind != HTTP1_F_COOKIE)
			continue;
		/* One Cookie field: no pair of ours but the last, ours. */
		ncookie++;
		v = f->value;
		e = v + f->value_len;
		for (;;) {
			for (s = v; s < e && *s != ';'; s++)
				continue;
			if (s == e) {
				REQUIRE(same(v, (size_t)(e - v), OURS,
				    strlen(OURS)));
				break;
			}
			if (cookie_pair_is_ours(&cfg, v, (size_t)(s - v)))
				fprintf(stderr, "client pair survives: [%.*s]"
				    "\n", (int)(s - v), v);
			REQUIRE(!cookie_pair_is_ours(&cfg, v, (size_t)(s - v)));
			REQUIRE(s + 1 < e && s[1] == ' ');
			v = s + 2;
		}
	}
	REQUIRE(ncookie == 1);

	/* The rewrite is idempotent: the output rewrites to itself. */
	REQUIRE(rewrite(&out2, head2, &up) == hn);
	REQUIRE(memcmp(head2, h, hn) == 0);
	return 0;
}

/*
 * The same request rewritten without a certificate but with --header
 * X-SSL-Cert: no pair of ours, no empty Cookie field, no client copy
 * of the header, ours last.
 */
static void
check_noadd(const struct http1_req *req)
{
	static const char ours[] = "X-SSL-Cert: ours\r\n";
	const struct http1_field *f;
	struct cookie_out o;
	const char *v, *e, *s;
	size_t i, n = 0, ncookie = 0;
	int r, up;

	memset(&o, 0, sizeof(o));
	o.iov = iov;
	o.maxiov = sizeof(iov) / sizeof(iov[0]);
	o.scratch = scratch;
	o.cap = sizeof(scratch);
	r = cookie_rewrite(&cfg2, req, &o, &up);
	if (r == COOKIE_TOO_MANY) {
		REQUIRE(req->nfields >= HTTP1_MAX_FIELDS - 1);
		return;
	}
	REQUIRE(r == COOKIE_OK);
	for (i = 0; i < o.niov; i++) {
		REQUIRE(n + o.iov[i].iov_len <= sizeof(head2));
		memcpy(head2 + n, o.iov[i].iov_base, o.iov[i].iov_len);
		n += o.iov[i].iov_len;
	}
	reset(&out3, out3_f);
	r = http1_parse_request(head2, n, 0, sizeof(head2), &out3);
	if (r == HTTP1_BAD && out3.status == 431 &&
	    req->nfields == HTTP1_MAX_FIELDS)
		return;
	REQUIRE(r == (int)n);
	REQUIRE(out3.nfields > 0);
	f = &out3.fields[out3.nfields - 1];
	REQUIRE(same(f->line, f->line_len, ours, sizeof(ours) - 1));
	for (i = 0; i + 1 < out3.nfields; i++) {
		f = &out3.fields[i];
		REQUIRE(f->kind != HTTP1_F_CLIENT_CERT);
		REQUIRE(f->kind != HTTP1_F_CLIENT_CERT_CHAIN);
		REQUIRE(!http1_eq(f->name, f->name_len, "X-SSL-Cert"));
		REQUIRE(!http1_eq(f->name, f->name_len, "X-SSL-Cert-Chain"));
		if (f->kind != HTTP1_F_COOKIE)
			continue;
		ncookie++;
		REQUIRE(f->value_len > 0);
		v = f->value;
		e = v + f->value_len;
		for (;;) {
			for (s = v; s < e && *s != ';'; s++)
				continue;
			REQUIRE(s > v);
			REQUIRE(!cookie_pair_is_ours(&cfg2, v,
			    (size_t)(s - v)));
			if (s == e)
				break;
			REQUIRE(s + 1 < e && s[1] == ' ');
			v = s + 2;
		}
	}
	REQUIRE(ncookie <= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t off = 0, hn;
	long bn, bn2;
	int n, r, up, checked;

	if (cfg.nnames == 0) {
		REQUIRE(cookie_cfg_init(&cfg, "CERT", NULL) == 0);
		cfg.add = OURS;
		cfg.add_len = strlen(OURS);
		cfg.upgrade = "websocket";
		REQUIRE(cookie_cfg_init(&cfg2, "CERT", "X-SSL-Cert") == 0);
		cfg2.fields = "X-SSL-Cert: ours\r\n";
		cfg2.fields_len = strlen(cfg2.fields);
		cfg2.fields_count = 1;
		cfg2.upgrade = "websocket";
	}
	while (off < size) {
		reset(&in, in_f);
		n = http1_parse_request(buf + off, size - off, 0, MAXHEAD, &in);
		if (n < 0)
			break;
		/* The same head parses to the same answer incrementally. */
		if (n > 1) {
			reset(&again, again_f);
			r = http1_parse_request(buf + off, (size_t)n - 1,
			    (size_t)n / 2, MAXHEAD, &again);
			REQUIRE(r == HTTP1_INCOMPLETE);
		}
		hn = rewrite(&in, head, &up);
		if (hn == 0)
			break;
		REQUIRE(hn >= in.line_len + 2);
		off += (size_t)n;
		checked = check_head(&in, head, hn) == 0;
		check_noadd(&in);
		bn = body_len(&in, buf + off, size - off);
		if (bn < 0)
			break;
		/* The body, copied behind the new head, frames the same. */
		if (checked && (size_t)bn <= sizeof(head) - hn) {
			memcpy(head + hn, buf + off, (size_t)bn);
			bn2 = body_len(&out2, head + hn, (size_t)bn);
			REQUIRE(bn2 == bn);
		}
		off += (size_t)bn;
	}
	return 0;
}
