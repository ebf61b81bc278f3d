/*
 * The request rewrite: strip every client copy of our cookies and
 * headers, merge the Cookie fields, add ours.  The output is an iovec
 * list over the caller's input buffer plus a scratch area, for writev().
 */
#ifndef COOKIE_H
#define COOKIE_H

#include <sys/uio.h>

#include <stddef.h>

#include "http1.h"

#define COOKIE_MAX_NAMES	16
#define COOKIE_MAX_STRIP	4

struct cookie_cfg {
	/* Names stripped from Cookie fields: NAME and NAME_* (normalized). */
	char		 names[COOKIE_MAX_NAMES][64];
	size_t		 names_len[COOKIE_MAX_NAMES];
	size_t		 nnames;
	size_t		 minlen, maxlen;	/* of names_len */
	unsigned char	 lead[32];	/* bytes that can begin one, a bitmap */
	/* Field names always stripped besides Client-Cert(-Chain). */
	const char	*header;	/* --header NAME, or NULL */
	char		 header_chain[80];	/* NAME-Chain */
	/* Others: --forwarded, --x-forwarded ("_" and "-" alike). */
	const char	*strip[COOKIE_MAX_STRIP];
	size_t		 nstrip;
	/* Appended to the merged Cookie field: "CERT=...; CERT_X=..." */
	const char	*add;
	size_t		 add_len;
	/* Field lines added before the empty line ("Client-Cert: ...\r\n") */
	const char	*fields;
	size_t		 fields_len;
	size_t		 fields_count;	/* how many lines that is */
	/* Upgrade tokens forwarded, comma-separated, any case. */
	const char	*upgrade;
	int		 reject_spoof;
	/* Fields a rewritten head may hold (HTTP1_MAX_FIELDS by default). */
	size_t		 max_fields;
};

/*
 * Fill cfg's name lists for cookie name NAME (1-40 bytes of token) and
 * header (NULL for none); max_fields gets HTTP1_MAX_FIELDS.  Returns 0,
 * or -1 with errno EINVAL.
 */
int	cookie_cfg_init(struct cookie_cfg *cfg, const char *name,
	    const char *header);

/*
 * Is the cookie pair p[0..n) (one ";"-separated piece of a Cookie field)
 * one that some common backend parser could read as one of cfg's names?
 * That is: its name, decoded as latin-1 and as UTF-8, equals one ignoring
 * case after trimming any white space that Python, JavaScript, .NET or
 * Java trims, percent- and form-decoding, cutting a "[" suffix and
 * mapping " " and "." to "_" (PHP), each as often as it changes anything;
 * or such a name followed by "=" begins after a space, tab, comma, quote,
 * backslash, other ASCII white space or non-ASCII byte (SimpleCookie,
 * ASP.NET).  No allocation; time linear in n.
 */
int	cookie_pair_is_ours(const struct cookie_cfg *cfg, const char *p,
	    size_t n);

struct cookie_out {
	struct iovec	*iov;
	size_t		 niov;
	size_t		 maxiov;
	char		*scratch;	/* holds built field lines */
	size_t		 used;
	size_t		 cap;
};

/* cookie_rewrite() results: 0, or a failure below 0 (as http1, tls). */
#define COOKIE_OK	0
#define COOKIE_FULL	(-1)	/* out of iovecs or scratch: flush, retry */
#define COOKIE_SPOOF	(-2)	/* a client copy, and cfg->reject_spoof */
#define COOKIE_TOO_MANY	(-3)	/* the output would exceed cfg->max_fields */

/*
 * Append to out the iovecs of req rewritten (from req->line through the
 * empty line; req->skip bytes of leading empty lines are dropped).
 * Client Cookie pairs of ours, Client-Cert, Client-Cert-Chain, the
 * --header field and its -Chain, HTTP2-Settings, and Upgrade tokens not
 * in cfg->upgrade are removed; a Transfer-Encoding field with white
 * space after its value is forwarded without it; Cookie fields are
 * merged into one, "; "-joined, with cfg->add appended, placed last;
 * cfg->fields follow.
 * The output may not hold more than cfg->max_fields fields, so that it
 * parses again here and in backends with that limit: COOKIE_TOO_MANY.
 * On COOKIE_FULL, COOKIE_SPOOF or COOKIE_TOO_MANY, out is left as it was.
 * *upgraded is set when an Upgrade field is forwarded.
 */
int	cookie_rewrite(const struct cookie_cfg *cfg, const struct http1_req *req,
	    struct cookie_out *out, int *upgraded);

/*
 * Append base[0..n) to the iovecs v[0..*niov), extending the last one
 * when the bytes follow it in memory.  The caller ensures room for one.
 */
void	cookie_iov_append(struct iovec *v, size_t *niov, const void *base,
	    size_t n);

/*
 * May the comma-separated list of Upgrade tokens be forwarded?  Never
 * h2c: its requests would come as HTTP/2, which we cannot rewrite.
 * Returns 0, or -1 when the list names h2c.
 */
int	cookie_upgrade_check(const char *list);

/*
 * Does a trailer field carry something the backend must never take from
 * the client (Cookie, Client-Cert, Client-Cert-Chain, --header)?
 */
int	cookie_field_forbidden(const struct cookie_cfg *cfg,
	    const struct http1_field *f);

#endif
