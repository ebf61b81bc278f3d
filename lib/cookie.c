/*
 * The request rewrite.  Which client cookies count as ours follows the
 * measured behaviour of common backend cookie parsers (REFERENCES.md,
 * tests/consumers.py): names compared ignoring case and any white space
 * at either end, after percent- and form-decoding and PHP's name
 * mangling, and names found where SimpleCookie or ASP.NET re-synchronise
 * inside a pair.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cookie.h"
#include "tchar.h"

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
	for (; *s; s++)
		if (!tchar_token(*s))
			return 0;
	return 1;
}

/*
 * Which client cookie names count as ours.  A name is taken as the most
 * permissive common backend could read it, with its bytes decoded as
 * latin-1 and as UTF-8 (REFERENCES.md):
 *
 * - trimmed of white space at either end, the union of what Python's
 *   str.strip(), JavaScript's trim(), .NET's Trim() and Java's strip()
 *   and trim() remove: every byte up to 0x20, U+0085, U+00A0, U+1680,
 *   U+180E (Java 8), U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000
 *   and U+FEFF, as a latin-1 byte where there is one and as UTF-8;
 * - form-decoded ("+" is a space) and percent-decoded, %uHHHH too, again
 *   until nothing changes, and trimmed again each time;
 * - cut at a "[" (PHP's arrays) or at a NUL (older PHP's C strings);
 * - compared ignoring case (ASCII, and the U+017F, U+0131 and U+212A that
 *   Unicode case mappings turn into s, i and k), with " " and "." read as
 *   "_" (PHP).
 *
 * The configured names go through the same steps.
 */

/* Work buffer for a name that needs decoding; longer ones, see below. */
#define NAME_WORK	512

/* Is the UTF-8 sequence at s (2 bytes) white space? */
static int
ws2(const unsigned char *s)
{
	return s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0);
}

/* Is the UTF-8 sequence at s (3 bytes) white space? */
static int
ws3(const unsigned char *s)
{
	switch (s[0]) {
	case 0xe1:	/* U+1680, U+180E */
		return (s[1] == 0x9a && s[2] == 0x80) ||
		    (s[1] == 0xa0 && s[2] == 0x8e);
	case 0xe2:	/* U+2000-200A, U+2028, U+2029, U+202F, U+205F */
		return (s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8a) ||
		    s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf)) ||
		    (s[1] == 0x81 && s[2] == 0x9f);
	case 0xe3:	/* U+3000 */
		return s[1] == 0x80 && s[2] == 0x80;
	case 0xef:	/* U+FEFF */
		return s[1] == 0xbb && s[2] == 0xbf;
	}
	return 0;
}

static int
ws1(unsigned char c)
{
	return c <= 0x20 || c == '+' || c == 0x85 || c == 0xa0;
}

/* Length of the white space unit that s[0..n) starts with, or 0. */
static size_t
ws_left(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (ws1(s[0]))
		return 1;
	if (n >= 2 && ws2(s))
		return 2;
	if (n >= 3 && ws3(s))
		return 3;
	return 0;
}

/*
 * Length of the white space unit that s[0..n) ends with, or 0.  The
 * longest wins: the lead bytes that a latin-1 trim of "\xc2\xa0" would
 * leave behind could never be trimmed.
 */
static size_t
ws_right(const unsigned char *s, size_t n)
{
	if (n >= 3 && ws3(s + n - 3))
		return 3;
	if (n >= 2 && ws2(s + n - 2))
		return 2;
	if (n >= 1 && ws1(s[n - 1]))
		return 1;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Percent-decode s[0..*n) in place (%XX, and %uHHHH to UTF-8).  Returns
 * whether anything changed.  Form-decoding needs nothing here: "+" is
 * trimmed and compared as a space anyway.
 */
static int
decode_name(unsigned char *s, size_t *n)
{
	size_t i, o = 0;
	int a, b, c, d;
	unsigned int cp;

	for (i = 0; i < *n; i++) {
		if (s[i] == '%' && i + 2 < *n && (a = hexval(s[i + 1])) >= 0 &&
		    (b = hexval(s[i + 2])) >= 0) {
			s[o++] = (unsigned char)(a << 4 | b);
			i += 2;
			continue;
		}
		if (s[i] == '%' && i + 5 < *n && (s[i + 1] | 0x20) == 'u' &&
		    (a = hexval(s[i + 2])) >= 0 && (b = hexval(s[i + 3])) >= 0 &&
		    (c = hexval(s[i + 4])) >= 0 && (d = hexval(s[i + 5])) >= 0) {
			cp = (unsigned int)(a << 12 | b << 8 | c << 4 | d);
			if (cp < 0x80)
				s[o++] = (unsigned char)cp;
			else if (cp < 0x800) {
				s[o++] = (unsigned char)(0xc0 | cp >> 6);
				s[o++] = (unsigned char)(0x80 | (cp & 0x3f));
			} else {
				s[o++] = (unsigned char)(0xe0 | cp >> 12);
				s[o++] = (unsigned char)(0x80 |
				    ((cp >> 6) & 0x3f));
				s[o++] = (unsigned char)(0x80 | (cp & 0x3f));
			}
			i += 5;
			continue;
		}
		s[o++] = s[i];
	}
	if (o == *n)
		return 0;
	*n = o;
	return 1;
}

/*
 * The name s[0..n) (n <= NAME_WORK) as compared: trimmed, cut, decoded
 * until nothing changes, lower-cased, with " ", "+" and "." as "_", into
 * out (64 bytes).  Returns the length, or -1 when it can be none of
 * ours: longer than 63, or a byte outside ASCII is left.
 */
static int
canon(const unsigned char *src, size_t n, char *out)
{
	unsigned char b[NAME_WORK], *s = b;
	size_t u, i, o;
	int c;

	memcpy(b, src, n);
	/* Decoded first: "%C2\xa0" is U+00A0 only before a trim. */
	while (decode_name(s, &n))
		;
	for (;;) {
		while ((u = ws_left(s, n)) > 0)
			s += u, n -= u;
		for (i = 0; i < n && s[i] != '[' && s[i] != '\0'; i++)
			;
		n = i;
		while ((u = ws_right(s, n)) > 0)
			n -= u;
		if (!decode_name(s, &n))
			break;
	}
	for (i = o = 0; i < n; i++) {
		c = s[i];
		if (o == 63)
			return -1;
		if (c == 0xc5 && i + 1 < n && s[i + 1] == 0xbf)
			c = 's', i++;	/* U+017F */
		else if (c == 0xc4 && i + 1 < n && s[i + 1] == 0xb1)
			c = 'i', i++;	/* U+0131 */
		else if (c == 0xe2 && i + 2 < n && s[i + 1] == 0x84 &&
		    s[i + 2] == 0xaa)
			c = 'k', i += 2;	/* U+212A */
		else if (c >= 0x80)
			return -1;
		else if (c == ' ' || c == '+' || c == '.')
			c = '_';
		out[o++] = (char)lower(c);
	}
	return (int)o;
}

static void
lead_add(struct cookie_cfg *cfg, int c)
{
	cfg->lead[c >> 3] |= (unsigned char)(1 << (c & 7));
}

static int
is_lead(const struct cookie_cfg *cfg, unsigned char c)
{
	return cfg->lead[c >> 3] & (1 << (c & 7));
}

/*
 * Is s[0..n), trimmed and cut at "[" already, one of cfg's names?  dec:
 * it holds a "%" or NUL.  A name that needs decoding and is longer than
 * NAME_WORK is taken as ours when long_ours is set.
 */
static int
name_rest(const struct cookie_cfg *cfg, const unsigned char *s, size_t n,
    int dec, int long_ours)
{
	char c[64];
	size_t i;
	int len;

	/* Decoding shortens, a character takes at most three bytes. */
	if (n < cfg->minlen || (!dec && n > 3 * cfg->maxlen))
		return 0;
	if (n > NAME_WORK)
		return long_ours;
	if ((len = canon(s, n, c)) <= 0)
		return 0;
	for (i = 0; i < cfg->nnames; i++)
		if (cfg->names_len[i] == (size_t)len &&
		    memcmp(cfg->names[i], c, len) == 0)
			return 1;
	return 0;
}

/*
 * The name of a pair: white space (any amount) and a "[" suffix go
 * without a copy; the first byte left must be one that can begin one of
 * ours, so that most names cost a few comparisons.  Encoded white space
 * can pad a name without bound (PHP 7 decoded names): one that needs
 * decoding and is longer than NAME_WORK is taken as ours.
 */
static int
name_is_ours(const struct cookie_cfg *cfg, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p, *cut;
	size_t u;
	int dec;

	while ((u = ws_left(s, n)) > 0)
		s += u, n -= u;
	if (n < cfg->minlen || !is_lead(cfg, s[0]))
		return 0;
	if ((cut = memchr(s, '[', n)) != NULL)
		n = (size_t)(cut - s);
	dec = memchr(s, '%', n) != NULL || memchr(s, '\0', n) != NULL;
	/*
	 * A lone byte 0x80-0xbf at the end may finish a UTF-8 sequence
	 * that a %XX before it begins: canon() trims it after decoding.
	 */
	while ((u = ws_right(s, n)) > 0 && !(dec && u == 1 &&
	    s[n - 1] >= 0x80))
		n -= u;
	return name_rest(cfg, s, n, dec, 1);
}

/* Where SimpleCookie (\s, its value's end) or ASP.NET (",") resync. */
static int
resync_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '"' || c == '\\' ||
	    c == '\n' || c == '\r' || c == '\v' || c == '\f' || c >= 0x80;
}

/*
 * The pair's own name, then every name that begins after a resync byte
 * and ends at the next "=".  The walk goes backwards, once: it carries
 * the next "=", "[", "%" or NUL, the end of the white space that begins
 * at each of the last three positions, and the trimmed end before the
 * next "=" or "[", so that a long pair costs linear time.  Those
 * parsers do not decode names, so a long encoded one is not ours here.
 */
int
cookie_pair_is_ours(const struct cookie_cfg *cfg, const char *pair, size_t n)
{
	const unsigned char *p = (const unsigned char *)pair, *eq;
	size_t i, u, t, e, next = n, brk = n, pct = n;
	size_t t1 = n, t2 = n, t3 = n;	/* where trimming from i+1.. ends */
	size_t rt_for = SIZE_MAX, rt = 0, done = SIZE_MAX, done_end = 0;

	eq = memchr(p, '=', n);
	if (name_is_ours(cfg, pair, eq ? (size_t)(eq - p) : n))
		return 1;
	if (eq == NULL)
		return 0;
	for (i = n; i-- > 1;) {
		/* Most bytes are printable ASCII: no white space begins. */
		u = p[i] > 0x20 && p[i] < 0x80 && p[i] != '+' ? 0 :
		    ws_left(p + i, n - i);
		t = u == 0 ? i : u == 1 ? t1 : u == 2 ? t2 : t3;
		t3 = t2;
		t2 = t1;
		t1 = t;
		if (p[i] == '=') {
			next = i;
			continue;
		}
		if (p[i] == '[')
			brk = i;
		else if (p[i] == '%' || p[i] == '\0')
			pct = i;
		if (next == n || !resync_byte(p[i - 1]))
			continue;
		/* Trimmed from i, it is the name from i + u, seen already. */
		if (u > 0 && resync_byte(p[i + u - 1]))
			continue;
		e = next < brk ? next : brk;
		if (t >= e || !is_lead(cfg, p[t]))
			continue;
		if (rt_for != e) {
			rt_for = rt = e;
			while ((u = ws_right(p, rt)) > 0)
				rt -= u;
		}
		if (rt <= t || (t == done && rt == done_end))
			continue;
		done = t;
		done_end = rt;
		if (name_rest(cfg, p + t, rt - t, pct < rt, 0))
			return 1;
	}
	return 0;
}

int
cookie_cfg_init(struct cookie_cfg *cfg, const char *name, const char *header)
{
	unsigned char d[64];
	size_t i, n = strlen(name);
	int len, c;

	if (n == 0 || n > 40 || !is_token(name)) {
		errno = EINVAL;
		return -1;
	}
	if (header && (header[0] == '\0' || strlen(header) > 64 ||
	    !is_token(header))) {
		errno = EINVAL;
		return -1;
	}
	memset(cfg->lead, 0, sizeof cfg->lead);
	cfg->minlen = SIZE_MAX;
	cfg->maxlen = 0;
	for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		memcpy(d, name, n);
		memcpy(d + n, suffixes[i], strlen(suffixes[i]));
		len = canon(d, n + strlen(suffixes[i]), cfg->names[i]);
		if (len <= 0) {
			errno = EINVAL;	/* nothing left, as "+" */
			return -1;
		}
		cfg->names[i][len] = '\0';
		cfg->names_len[i] = (size_t)len;
		if ((size_t)len < cfg->minlen)
			cfg->minlen = (size_t)len;
		if ((size_t)len > cfg->maxlen)
			cfg->maxlen = (size_t)len;
		/* The bytes that can begin a name that ends up as this one. */
		c = (unsigned char)cfg->names[i][0];
		lead_add(cfg, c);
		if (c >= 'a' && c <= 'z')
			lead_add(cfg, c - 'a' + 'A');
		if (c == '_') {
			lead_add(cfg, '.');
			lead_add(cfg, ' ');
			lead_add(cfg, '+');
		}
		if (c == 's' || c == 'i' || c == 'k') {
			lead_add(cfg, 0xc4);
			lead_add(cfg, 0xc5);
			lead_add(cfg, 0xe2);
		}
		lead_add(cfg, '%');
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

/*
 * Whether f is named name, ignoring case, and with "_" and "-" alike:
 * CGI, WSGI and PHP map both to the same variable (HTTP_X_FORWARDED_FOR),
 * and some servers keep the last, or join them.
 */
static int
field_named(const struct http1_field *f, const char *name)
{
	size_t i;
	int a, b;

	if (name == NULL || name[0] == '\0' || strlen(name) != f->name_len)
		return 0;
	for (i = 0; i < f->name_len; i++) {
		a = (unsigned char)f->name[i];
		b = (unsigned char)name[i];
		a = a == '_' ? '-' : a >= 'A' && a <= 'Z' ? a + 32 : a;
		b = b == '_' ? '-' : b >= 'A' && b <= 'Z' ? b + 32 : b;
		if (a != b)
			return 0;
	}
	return 1;
}

/* A field of ours that a client must not send: --header, --forwarded... */
static int
field_ours(const struct cookie_cfg *cfg, const struct http1_field *f)
{
	size_t i;

	if (field_named(f, cfg->header) || field_named(f, cfg->header_chain))
		return 1;
	for (i = 0; i < cfg->nstrip; i++)
		if (field_named(f, cfg->strip[i]))
			return 1;
	return 0;
}

int
cookie_field_forbidden(const struct cookie_cfg *cfg,
    const struct http1_field *f)
{
	return f->kind == HTTP1_F_COOKIE || f->kind == HTTP1_F_CLIENT_CERT ||
	    f->kind == HTTP1_F_CLIENT_CERT_CHAIN ||
	    field_ours(cfg, f);
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

/* Is s[0..n) an entry of the comma-separated list, ignoring case? */
static int
list_has(const char *list, const char *s, size_t n)
{
	size_t len;

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
 * Is the upgrade token s[0..n) ("websocket", "foo/2") in the list?  It
 * must equal an entry, ignoring case: a version passes only if listed.
 * Never h2c: see cookie_upgrade_check().
 */
static int
upgrade_allowed(const char *list, const char *s, size_t n)
{
	if (n == 0 || list == NULL || http1_eq(s, n, "h2c"))
		return 0;
	return list_has(list, s, n);
}

int
cookie_upgrade_check(const char *list)
{
	return list_has(list, "h2c", 3) ? -1 : 0;
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

/* One rewrite's state, shared by its steps. */
struct rewrite {
	const struct cookie_cfg	*cfg;
	const struct http1_req	*req;
	struct cookie_out	*out;
	size_t			 used;	/* out->used before: the Cookie line */
	size_t			 ckend;	/* its end; used when there is none */
	size_t			 npairs;	/* client pairs kept in it */
	size_t			 nout;	/* fields forwarded */
	const char		*seg;	/* head bytes not in out->iov yet */
	const char		*end;	/* the end of the last line seen */
	int			 spoof;	/* a client copy of ours was seen */
	int			*upgraded;
};

/*
 * Append the pairs of Cookie field f that are not ours to the merged
 * line, "; "-joined, empty ones skipped.  Returns 0, or -1 when the
 * scratch area is full.
 */
static int
keep_pairs(struct rewrite *rw, const struct http1_field *f)
{
	const char *p = f->value, *e = f->value + f->value_len;

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
		if (cookie_pair_is_ours(rw->cfg, s, q - s)) {
			rw->spoof = 1;
			continue;
		}
		if ((rw->npairs++ && put(rw->out, "; ", 2) == -1) ||
		    put(rw->out, s, q - s) == -1)
			return -1;
	}
	return 0;
}

/*
 * The merged Cookie line, built first in the scratch area so that its
 * size is known before the head is cut: "Cookie: " and the kept pairs,
 * up to where cfg->add goes (an iovec of its own, not copied).  No
 * pair kept and nothing to add: no line.  Returns 0, or -1 when full.
 */
static int
merge_cookies(struct rewrite *rw)
{
	const struct http1_req *req = rw->req;
	size_t i;

	if (put(rw->out, "Cookie: ", 8) == -1)
		return -1;
	for (i = 0; i < req->nfields; i++)
		if (req->fields[i].kind == HTTP1_F_COOKIE &&
		    keep_pairs(rw, &req->fields[i]) == -1)
			return -1;
	/* Ours goes after the kept pairs. */
	if (rw->npairs && rw->cfg->add_len && put(rw->out, "; ", 2) == -1)
		return -1;
	if (!rw->npairs && !rw->cfg->add_len)
		rw->out->used = rw->used;
	rw->ckend = rw->out->used;
	return 0;
}

/*
 * A Transfer-Encoding field with white space after its value is
 * forwarded without it, for backends that keep it ("chunked " is not
 * chunked to Python's http.client).  Returns as field_action().
 */
static int
te_trimmed(struct cookie_out *out, const struct http1_field *f,
    const char **rep, size_t *nrep)
{
	if (f->value + f->value_len == f->line + f->line_len - 2)
		return 0;
	*rep = out->scratch + out->used;
	if (put(out, f->name, f->name_len) == -1 ||
	    put(out, ": ", 2) == -1 ||
	    put(out, f->value, f->value_len) == -1 ||
	    put(out, "\r\n", 2) == -1)
		return -1;
	*nrep = out->scratch + out->used - *rep;
	return 1;
}

/*
 * What becomes of field f in the forwarded head.  Returns 0 to keep it,
 * 1 to drop it (for rep[0..*nrep) in the scratch area when *nrep > 0),
 * or -1 when the scratch area is full.  Client copies of our fields set
 * rw->spoof.
 */
static int
field_action(struct rewrite *rw, const struct http1_field *f,
    const char **rep, size_t *nrep)
{
	struct cookie_out *out = rw->out;
	int r, all;

	*nrep = 0;
	switch (f->kind) {
	case HTTP1_F_COOKIE:		/* merged into one, placed last */
	case HTTP1_F_HTTP2_SETTINGS:	/* h2c is never forwarded */
		return 1;
	case HTTP1_F_CLIENT_CERT:
	case HTTP1_F_CLIENT_CERT_CHAIN:
		rw->spoof = 1;
		return 1;
	case HTTP1_F_UPGRADE:
		*rep = out->scratch + out->used;
		if ((r = filter_upgrade(rw->cfg, f, out, &all)) == -1)
			return -1;
		*nrep = out->scratch + out->used - *rep;
		if (r > 0)
			*rw->upgraded = 1;
		return !all;
	case HTTP1_F_TRANSFER_ENCODING:
		return te_trimmed(out, f, rep, nrep);
	default:
		if (field_ours(rw->cfg, f)) {
			rw->spoof = 1;
			return 1;
		}
		return 0;
	}
}

/*
 * The head from the request line through the last field as iovecs over
 * the input, cut around each dropped field, with its replacement.
 * Counts the fields forwarded.  Returns 0, or -1 when full.
 */
static int
strip_fields(struct rewrite *rw)
{
	const struct http1_req *req = rw->req;
	const char *rep = NULL;
	size_t i, nrep;
	int drop;

	rw->seg = req->line;
	rw->end = req->line + req->line_len;
	for (i = 0; i < req->nfields; i++) {
		const struct http1_field *f = &req->fields[i];

		rw->end = f->line + f->line_len;
		if ((drop = field_action(rw, f, &rep, &nrep)) == -1)
			return -1;
		if (!drop || nrep)
			rw->nout++;
		if (!drop)
			continue;
		iov(rw->out, rw->seg, f->line - rw->seg);
		if (nrep)
			iov(rw->out, rep, nrep);
		rw->seg = rw->end;
	}
	return 0;
}

/*
 * The rest of the head: the bytes after the last dropped field, the
 * merged Cookie line with ours, cfg->fields, the empty line.
 */
static void
finish_head(struct rewrite *rw)
{
	const struct cookie_cfg *cfg = rw->cfg;
	struct cookie_out *out = rw->out;

	iov(out, rw->seg, rw->end - rw->seg);
	if (rw->ckend > rw->used) {
		iov(out, out->scratch + rw->used, rw->ckend - rw->used);
		if (cfg->add_len)
			iov(out, cfg->add, cfg->add_len);
		iov(out, "\r\n", 2);
	}
	if (cfg->fields_len)
		iov(out, cfg->fields, cfg->fields_len);
	iov(out, rw->end, 2);	/* the empty line */
}

int
cookie_rewrite(const struct cookie_cfg *cfg, const struct http1_req *req,
    struct cookie_out *out, int *upgraded)
{
	struct rewrite rw;
	size_t niov = out->niov;
	/* iov() may extend the last iovec: keep its length to undo that. */
	size_t last = niov ? out->iov[niov - 1].iov_len : 0;
	int r;

	*upgraded = 0;
	if (out->maxiov - out->niov < 2 * req->nfields + 6)
		return COOKIE_FULL;
	memset(&rw, 0, sizeof rw);
	rw.cfg = cfg;
	rw.req = req;
	rw.out = out;
	rw.used = out->used;
	rw.upgraded = upgraded;
	if (merge_cookies(&rw) == -1 || strip_fields(&rw) == -1)
		r = COOKIE_FULL;
	else if (rw.spoof && cfg->reject_spoof)
		r = COOKIE_SPOOF;
	else if (rw.nout + (rw.ckend > rw.used) + cfg->fields_count >
	    cfg->max_fields)
		r = COOKIE_TOO_MANY;
	else {
		finish_head(&rw);
		return COOKIE_OK;
	}
	/* Nothing of a failed rewrite stays in out. */
	out->niov = niov;
	out->used = rw.used;
	if (niov)
		out->iov[niov - 1].iov_len = last;
	return r;
}
