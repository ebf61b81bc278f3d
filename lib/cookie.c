/*
 * The request rewrite.  Which client cookies count as ours follows the
 * measured behaviour of common backend cookie parsers (REFERENCES.md):
 * names compared ignoring case and surrounding white space, after
 * percent-decoding and PHP's name mangling, and names found where
 * SimpleCookie or ASP.NET re-synchronise inside a pair.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cookie.h"
#include "encode.h"

static const char *const suffixes[] = {
	"", "_chain", "_s_dn", "_i_dn", "_serial", "_v_start", "_v_end",
	"_sha256", "_verify",
};

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 'a' - 'A' : c;
}

static int
is_token(const char *s)
{
	const char *t = "!#$%&'*+-.^_`|~";

	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= 'A' && *s <= 'Z') || strchr(t, *s)))
			return 0;
	return 1;
}

/*
 * Normalize a cookie name as the most permissive backend would read it:
 * trim white space, percent-decode, trim again, cut at "[", map " ", "."
 * and "+" to "_", lower-case.  Returns the length, or -1 when it cannot
 * be one of ours (too long).
 */
static int
normalize(const char *s, size_t n, char *out, size_t cap)
{
	char dec[3 * 64];
	size_t i, o = 0, st;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n > cap * 3 || n > sizeof dec)
		return -1;
	n = decode_percent(dec, s, n);
	for (i = 0; i < n && dec[i] != '['; i++) {
		if (o == cap)
			return -1;	/* longer than any of ours */
		out[o++] = dec[i];
	}
	/* Decoding may have uncovered white space. */
	st = 0;
	while (st < o && (out[st] == ' ' || out[st] == '\t'))
		st++;
	while (o > st && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	for (i = st; i < o; i++) {
		int c = lower((unsigned char)out[i]);

		if (c == ' ' || c == '.' || c == '+')
			c = '_';
		out[i - st] = (char)c;
	}
	return (int)(o - st);
}

int
cookie_cfg_init(struct cookie_cfg *cfg, const char *name, const char *header)
{
	size_t i, j, n = strlen(name);

	if (n == 0 || n > 40 || !is_token(name)) {
		errno = EINVAL;
		return -1;
	}
	if (header && (header[0] == '\0' || strlen(header) > 64 ||
	    !is_token(header))) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char *d = cfg->names[i];
		int len;

		for (j = 0; j < n; j++)
			d[j] = name[j];
		strcpy(d + n, suffixes[i]);
		len = normalize(d, strlen(d), d, sizeof cfg->names[i] - 1);
		d[len] = '\0';
		cfg->names_len[i] = (size_t)len;
	}
	cfg->nnames = i;
	cfg->header = header;
	cfg->header_chain[0] = '\0';
	if (header)
		snprintf(cfg->header_chain, sizeof cfg->header_chain,
		    "%s-Chain", header);
	cfg->max_fields = HTTP1_MAX_FIELDS;
	return 0;
}

static int
name_is_ours(const struct cookie_cfg *cfg, const char *s, size_t n)
{
	char buf[64];
	int len;
	size_t i;

	len = normalize(s, n, buf, sizeof buf);
	if (len <= 0)
		return 0;
	for (i = 0; i < cfg->nnames; i++)
		if (cfg->names_len[i] == (size_t)len &&
		    memcmp(cfg->names[i], buf, len) == 0)
			return 1;
	return 0;
}

static int
resync_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '"' || c == '\\' ||
	    c >= 0x80;
}

int
cookie_pair_is_ours(const struct cookie_cfg *cfg, const char *p, size_t n)
{
	const char *eq;
	size_t i, next;

	eq = memchr(p, '=', n);
	if (name_is_ours(cfg, p, eq ? (size_t)(eq - p) : n))
		return 1;
	if (eq == NULL)
		return 0;
	/* Walk backwards, knowing where the next "=" is. */
	next = n;
	for (i = n; i-- > 1;) {
		if (p[i] == '=') {
			next = i;
			continue;
		}
		if (next < n && resync_byte((unsigned char)p[i - 1]) &&
		    name_is_ours(cfg, p + i, next - i))
			return 1;
	}
	return 0;
}

static int
field_named(const struct http1_field *f, const char *name)
{
	return name && name[0] && http1_eq(f->name, f->name_len, name);
}

int
cookie_field_forbidden(const struct cookie_cfg *cfg,
    const struct http1_field *f)
{
	return f->kind == HTTP1_F_COOKIE || f->kind == HTTP1_F_CLIENT_CERT ||
	    f->kind == HTTP1_F_CLIENT_CERT_CHAIN ||
	    field_named(f, cfg->header) || field_named(f, cfg->header_chain);
}

static int
put(struct cookie_out *out, const void *s, size_t n)
{
	if (out->cap - out->used < n)
		return -1;
	memcpy(out->scratch + out->used, s, n);
	out->used += n;
	return 0;
}

void
cookie_iov_append(struct iovec *v, size_t *niov, const void *base, size_t n)
{
	struct iovec *last = *niov ? &v[*niov - 1] : NULL;

	if (n == 0)
		return;
	/* Contiguous bytes extend the last iovec. */
	if (last && (const char *)last->iov_base + last->iov_len == base) {
		last->iov_len += n;
		return;
	}
	v[*niov].iov_base = (void *)(uintptr_t)base;
	v[*niov].iov_len = n;
	(*niov)++;
}

static void
iov(struct cookie_out *out, const void *base, size_t n)
{
	cookie_iov_append(out->iov, &out->niov, base, n);
}

/*
 * Is the upgrade token s[0..n) ("websocket", "foo/2") in the list?  It
 * must equal an entry, ignoring case: a version passes only if listed.
 */
static int
upgrade_allowed(const char *list, const char *s, size_t n)
{
	size_t len;

	if (n == 0 || list == NULL || http1_eq(s, n, "h2c"))
		return 0;
	while (*list) {
		len = strcspn(list, ",");
		if (len == n && strncasecmp(list, s, n) == 0)
			return 1;
		list += len;
		if (*list == ',')
			list++;
	}
	return 0;
}

/*
 * Append "Upgrade: " and the allowed tokens of f to the scratch area.
 * Returns the number of tokens kept, 0 (nothing written) or -1 (full).
 * *all is cleared when a token was dropped.
 */
static int
filter_upgrade(const struct cookie_cfg *cfg, const struct http1_field *f,
    struct cookie_out *out, int *all)
{
	const char *s = f->value, *e = f->value + f->value_len;
	size_t start = out->used;
	int kept = 0;

	*all = 1;
	while (s < e) {
		const char *t, *te;

		while (s < e && (*s == ' ' || *s == '\t' || *s == ','))
			s++;
		t = s;
		while (s < e && *s != ',')
			s++;
		te = s;
		while (te > t && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if (te == t)
			continue;
		if (!upgrade_allowed(cfg->upgrade, t, te - t)) {
			*all = 0;
			continue;
		}
		if (put(out, kept ? ", " : "Upgrade: ", kept ? 2 : 9) == -1 ||
		    put(out, t, te - t) == -1)
			return -1;
		kept++;
	}
	if (kept && put(out, "\r\n", 2) == -1)
		return -1;
	if (*all || !kept)
		out->used = start;
	return kept;
}

int
cookie_rewrite(const struct cookie_cfg *cfg, const struct http1_req *req,
    struct cookie_out *out, int *upgraded)
{
	size_t niov = out->niov, used = out->used, i, npairs = 0, ckend;
	size_t nout = 0;	/* fields forwarded */
	const char *seg, *end;
	int spoof = 0, r, all;
	struct {
		const char *s;
		size_t n;
	} rep = { NULL, 0 };	/* the line that replaces a dropped one */
	/* iov() may extend the last iovec: keep its length to undo that. */
	size_t last = niov ? out->iov[niov - 1].iov_len : 0;

	*upgraded = 0;
	if (out->maxiov - out->niov < 2 * req->nfields + 6)
		return COOKIE_FULL;
	/* The merged Cookie line, built first in the scratch area. */
	if (put(out, "Cookie: ", 8) == -1)
		goto full;
	for (i = 0; i < req->nfields; i++) {
		const struct http1_field *f = &req->fields[i];
		const char *p = f->value, *e = f->value + f->value_len;

		if (f->kind != HTTP1_F_COOKIE)
			continue;
		while (p < e) {
			const char *s = p, *q;

			q = memchr(p, ';', e - p);
			if (q == NULL)
				q = e;
			p = q + 1;
			while (s < q && (*s == ' ' || *s == '\t'))
				s++;
			while (q > s && (q[-1] == ' ' || q[-1] == '\t'))
				q--;
			if (q == s)
				continue;
			if (cookie_pair_is_ours(cfg, s, q - s)) {
				spoof = 1;
				continue;
			}
			if ((npairs++ && put(out, "; ", 2) == -1) ||
			    put(out, s, q - s) == -1)
				goto full;
		}
	}
	/* Ours goes after the kept pairs, from cfg->add, not copied. */
	if (npairs && cfg->add_len && put(out, "; ", 2) == -1)
		goto full;
	if (!npairs && !cfg->add_len)
		out->used = used;
	ckend = out->used;

	/* The head, without the fields we drop or replace. */
	seg = req->line;
	end = req->line + req->line_len;
	for (i = 0; i < req->nfields; i++) {
		const struct http1_field *f = &req->fields[i];
		int drop = 0;

		end = f->line + f->line_len;
		switch (f->kind) {
		case HTTP1_F_COOKIE:
		case HTTP1_F_HTTP2_SETTINGS:
			drop = 1;
			break;
		case HTTP1_F_CLIENT_CERT:
		case HTTP1_F_CLIENT_CERT_CHAIN:
			drop = spoof = 1;
			break;
		case HTTP1_F_UPGRADE:
			rep.s = out->scratch + out->used;
			r = filter_upgrade(cfg, f, out, &all);
			if (r == -1)
				goto full;
			rep.n = out->scratch + out->used - rep.s;
			if (r > 0)
				*upgraded = 1;
			drop = !all;
			break;
		case HTTP1_F_TRANSFER_ENCODING:
			/*
			 * White space after the value: forwarded without,
			 * for backends that keep it ("chunked " is not
			 * chunked to Python's http.client).
			 */
			if (f->value + f->value_len == end - 2)
				break;
			rep.s = out->scratch + out->used;
			if (put(out, f->name, f->name_len) == -1 ||
			    put(out, ": ", 2) == -1 ||
			    put(out, f->value, f->value_len) == -1 ||
			    put(out, "\r\n", 2) == -1)
				goto full;
			rep.n = out->scratch + out->used - rep.s;
			drop = 1;
			break;
		default:
			if (field_named(f, cfg->header) ||
			    field_named(f, cfg->header_chain))
				drop = spoof = 1;
			break;
		}
		if (!drop || rep.n)
			nout++;
		if (!drop)
			continue;
		iov(out, seg, f->line - seg);
		if (rep.n) {
			iov(out, rep.s, rep.n);
			rep.n = 0;
		}
		seg = end;
	}
	if (spoof && cfg->reject_spoof) {
		r = COOKIE_SPOOF;
		goto undo;
	}
	if (nout + (ckend > used) + cfg->fields_count > cfg->max_fields) {
		r = COOKIE_TOO_MANY;
		goto undo;
	}
	iov(out, seg, end - seg);
	if (ckend > used) {
		iov(out, out->scratch + used, ckend - used);
		if (cfg->add_len)
			iov(out, cfg->add, cfg->add_len);
		iov(out, "\r\n", 2);
	}
	if (cfg->fields_len)
		iov(out, cfg->fields, cfg->fields_len);
	iov(out, end, 2);	/* the empty line */
	return COOKIE_OK;
full:
	r = COOKIE_FULL;
undo:
	out->niov = niov;
	out->used = used;
	if (niov)
		out->iov[niov - 1].iov_len = last;
	return r;
}
