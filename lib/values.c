/*
 * The CERT cookie list and the --header, --forwarded and --x-forwarded
 * field lines, built once per connection from the certificate and the
 * environment.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "log.h"
#include "peer.h"
#include "values.h"

/* Growable string; once an allocation failed, it takes nothing more. */
struct str {
	char	*s;
	size_t	 len, cap;
	int	 failed;
};

/* One build: the options, the result, and the two strings it grows. */
struct build {
	const struct values_cfg *cfg;
	struct values	*v;
	struct str	 add, fld;
	int		 err;	/* errno at the failure */
};

static void
str_add(struct str *b, const char *s, size_t n)
{
	char *p;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		if ((p = realloc(b->s, (b->len + n + 1) * 2)) == NULL) {
			b->failed = 1;
			return;
		}
		b->s = p;
		b->cap = (b->len + n + 1) * 2;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
str_cat(struct str *b, const char *s)
{
	str_add(b, s, strlen(s));
}

/* Record what failed, and errno, for the caller's fatal(). */
static int __attribute__((format(printf, 3, 4)))
fail(struct build *b, int code, const char *fmt, ...)
{
	va_list ap;

	b->err = errno;
	va_start(ap, fmt);
	vsnprintf(b->v->err, sizeof b->v->err, fmt, ap);
	va_end(ap);
	return code;
}

/* Add "NAME_SUFFIX=pct(value)" to the cookie list. */
static int
add_field(struct build *b, const char *suffix, const char *value)
{
	char *enc;

	if (value == NULL)
		return 0;
	if ((enc = malloc(ENCODE_PCT_LEN(strlen(value)) + 1)) == NULL)
		return fail(b, VALUES_ENOMEM, "malloc");
	encode_percent(enc, value, strlen(value));
	if (b->add.len)
		str_cat(&b->add, "; ");
	str_cat(&b->add, b->cfg->name);
	str_cat(&b->add, suffix);
	str_cat(&b->add, "=");
	str_cat(&b->add, enc);
	free(enc);
	return 0;
}

/*
 * Load the certificate named by the configuration into c: *have gets 1,
 * or 0 when there is none.
 */
static int
load_cert(struct build *b, struct cert *c, int *have)
{
	const struct values_cfg *cfg = b->cfg;
	const char *pem;

	*have = 0;
	if (cfg->cert_file) {
		if (cert_load_file(c, cfg->cert_file) == -1)
			return fail(b, VALUES_ECERT,
			    "unable to read certificate %s", cfg->cert_file);
		*have = 1;
		return 0;
	}
	pem = getenv(cfg->cert_env);
	if (pem == NULL || *pem == '\0')
		return 0;
	if (cert_load_mem(c, pem, strlen(pem)) == -1)
		return fail(b, VALUES_ECERT,
		    "unable to read the certificate in %s", cfg->cert_env);
	*have = 1;
	return 0;
}

/*
 * Encode the chain from SSL_CLIENT_CERT_CHAIN_0.. as sep-separated
 * values of enc into *out, a malloc'd string; NULL when there is none.
 */
static int
chain_value(struct build *b, enum cert_encoding enc, const char *sep,
    char **out)
{
	struct str s = { NULL, 0, 0, 0 };
	char var[64], *v;
	const char *pem;
	struct cert c;
	size_t len;
	int i, r = 0;

	for (i = 0; i < 100; i++) {
		snprintf(var, sizeof var, "SSL_CLIENT_CERT_CHAIN_%d", i);
		if ((pem = getenv(var)) == NULL || *pem == '\0')
			break;
		if (cert_load_mem(&c, pem, strlen(pem)) == -1) {
			r = fail(b, VALUES_ECERT,
			    "unable to read the certificate in %s", var);
			break;
		}
		v = cert_encode(&c, enc, &len);
		if (v == NULL)
			r = fail(b, VALUES_EENCODE, "cert_encode");
		cert_free(&c);
		if (v == NULL)
			break;
		if (s.len)
			str_cat(&s, sep);
		str_add(&s, v, len);
		free(v);
	}
	if (r == 0 && s.failed) {
		errno = ENOMEM;
		r = fail(b, VALUES_ENOMEM, "realloc");
	}
	if (r != 0) {
		free(s.s);
		return r;
	}
	*out = s.s;
	return 0;
}

/*
 * The fields of a certificate that came with its description in the
 * environment (tlsfront, mod_ssl): no X.509 parsing, so no GnuTLS to
 * load.  *from_env gets 0 when the certificate did not come from there
 * or the description is incomplete.
 */
static int
fields_from_tlsfront(struct build *b, const struct cert *c,
    struct cert_fields *f, int *from_env)
{
	static const char *const need[] = { "SSL_CLIENT_S_DN",
	    "SSL_CLIENT_I_DN", "SSL_CLIENT_M_SERIAL", "SSL_CLIENT_V_START",
	    "SSL_CLIENT_V_END" };
	size_t i;

	*from_env = 0;
	if (b->cfg->cert_file ||
	    strcmp(b->cfg->cert_env, "SSL_CLIENT_CERT") != 0)
		return 0;
	for (i = 0; i < sizeof need / sizeof need[0]; i++)
		if (getenv(need[i]) == NULL)
			return 0;
	memset(f, 0, sizeof *f);
	if (cert_fields_from_env(f) == -1 ||
	    (f->sha256 = malloc(ENCODE_HEX_LEN(32) + 1)) == NULL)
		return fail(b, VALUES_ENOMEM, "malloc");
	cert_sha256_hex(c, f->sha256);
	*from_env = 1;
	return 0;
}

/* The certificate's fields, from the environment or from c itself. */
static int
cert_fields(struct build *b, const struct cert *c, struct cert_fields *f)
{
	int r, from_env;

	if ((r = fields_from_tlsfront(b, c, f, &from_env)) != 0 || from_env)
		return r;
	if (cert_fields_get(c, f) == -1)
		return fail(b, VALUES_ECERT,
		    "unable to read the certificate's fields");
	return 0;
}

/* NAME=cert, and NAME_CHAIN with --chain, to the cookie list. */
static int
add_cert_cookie(struct build *b, const struct cert *c)
{
	const struct values_cfg *cfg = b->cfg;
	char *v, *chain = NULL;
	size_t len;
	int r = 0;

	if ((v = cert_encode(c, cfg->enc, &len)) == NULL)
		return fail(b, VALUES_EENCODE, "cert_encode");
	if (len > cfg->max_value) {
		char hex[ENCODE_HEX_LEN(32) + 1];

		log_notef(b->cfg->log, 1, "certificate is %zu bytes encoded, "
		    "over --max-value-bytes %zu: sending %s_SHA256 instead",
		    len, cfg->max_value, cfg->name);
		cert_sha256_hex(c, hex);
		if (!cfg->fields)
			r = add_field(b, "_SHA256", hex);
	} else {
		str_cat(&b->add, cfg->name);
		str_cat(&b->add, "=");
		str_add(&b->add, v, len);
	}
	free(v);
	if (r != 0 || !cfg->chain)
		return r;
	if ((r = chain_value(b, cfg->enc, ".", &chain)) != 0 || chain == NULL)
		return r;
	if (strlen(chain) + 1 > cfg->max_value)
		log_notef(b->cfg->log, 1,
		    "chain over --max-value-bytes: not sent");
	else {
		str_cat(&b->add, "; ");
		str_cat(&b->add, cfg->name);
		str_cat(&b->add, "_CHAIN=");
		str_cat(&b->add, chain);
	}
	free(chain);
	return 0;
}

/* The --header field, and its -Chain with --chain. */
static int
add_cert_header(struct build *b, const struct cert *c)
{
	const struct values_cfg *cfg = b->cfg;
	char *v, *chain = NULL;
	size_t len;
	int r;

	if ((v = cert_encode(c, CERT_ENC_RFC9440, &len)) == NULL)
		return fail(b, VALUES_EENCODE, "cert_encode");
	str_cat(&b->fld, cfg->header);
	str_cat(&b->fld, ": ");
	str_add(&b->fld, v, len);
	str_cat(&b->fld, "\r\n");
	free(v);
	if (!cfg->chain)
		return 0;
	if ((r = chain_value(b, CERT_ENC_RFC9440, ", ", &chain)) != 0 ||
	    chain == NULL)
		return r;
	str_cat(&b->fld, cfg->header_chain);
	str_cat(&b->fld, ": ");
	str_cat(&b->fld, chain);
	str_cat(&b->fld, "\r\n");
	free(chain);
	return 0;
}

/*
 * The field cookies: the certificate's (f, filled from c when there is
 * one) and whatever the environment describes, then NAME_VERIFY.
 */
static int
add_fields(struct build *b, struct cert_fields *f, int have,
    const char *verify, int verified)
{
	static const char *const suffix[] = { "_S_DN", "_I_DN", "_SERIAL",
	    "_V_START", "_V_END", "_SHA256" };
	const struct values_cfg *cfg = b->cfg;
	const char *val[6];
	size_t i;
	int r;

	if (cfg->fields && (have || verify == NULL || verified)) {
		if (cert_fields_from_env(f) == -1)
			return fail(b, VALUES_ENOMEM, "cert_fields_from_env");
		val[0] = f->s_dn;
		val[1] = f->i_dn;
		val[2] = f->serial;
		val[3] = f->v_start;
		val[4] = f->v_end;
		val[5] = f->sha256;
		for (i = 0; i < 6 && !cfg->no_cookie; i++)
			if ((r = add_field(b, suffix[i], val[i])) != 0)
				return r;
	}
	if (!cfg->no_cookie && verify && ((have && !verified) ||
	    (cfg->fields && (have || verified))))
		return add_field(b, "_VERIFY", verify);
	return 0;
}

/*
 * The scheme the client used: https when the connection came over TLS,
 * as the variables of tlsfront, mod_ssl or stunnel say.
 */
static const char *
scheme(void)
{
	static const char *const tls[] = { "SSL_PROTOCOL", "SSL_CLIENT_VERIFY",
	    "SSL_CLIENT_CERT", "SSL_CLIENT_DN", "SSL_CIPHER" };
	const char *h = getenv("HTTPS");
	size_t i;

	if (h != NULL)
		return strcmp(h, "on") == 0 ? "https" : "http";
	for (i = 0; i < sizeof tls / sizeof tls[0]; i++)
		if (getenv(tls[i]) != NULL)
			return "https";
	return "http";
}

/*
 * --forwarded and --x-forwarded: the client's address, the scheme, and
 * the port it connected to.  With no client address known, nothing, and
 * a note.
 */
static int
add_forwarded(struct build *b)
{
	const struct values_cfg *cfg = b->cfg;
	struct sockaddr_storage rem, loc;
	char host[64], port[8], lhost[64], lport[8];
	const char *proto = scheme();
	int known, af;

	known = peer_addrs(cfg->client_fd, &rem, &loc);
	if (!(known & PEER_REMOTE) || (af = peer_str(&rem, host, sizeof host,
	    port, sizeof port)) == -1) {
		log_notef(b->cfg->log, 1, "client address unknown (no "
		    "REMOTE_ADDR and REMOTE_PORT, and not a TCP client): "
		    "no %s added",
		    cfg->forwarded ? "Forwarded" : "X-Forwarded-For");
		return 0;
	}
	if (cfg->forwarded) {
		str_cat(&b->fld, af == AF_INET6 ? "Forwarded: for=\"[" :
		    "Forwarded: for=\"");
		str_cat(&b->fld, host);
		str_cat(&b->fld, af == AF_INET6 ? "]:" : ":");
		str_cat(&b->fld, port);
		str_cat(&b->fld, "\";proto=");
		str_cat(&b->fld, proto);
		str_cat(&b->fld, "\r\n");
	}
	if (cfg->x_forwarded) {
		str_cat(&b->fld, "X-Forwarded-For: ");
		str_cat(&b->fld, host);
		str_cat(&b->fld, "\r\nX-Forwarded-Proto: ");
		str_cat(&b->fld, proto);
		str_cat(&b->fld, "\r\n");
		if ((known & PEER_LOCAL) && peer_str(&loc, lhost, sizeof lhost,
		    lport, sizeof lport) != -1) {
			str_cat(&b->fld, "X-Forwarded-Port: ");
			str_cat(&b->fld, lport);
			str_cat(&b->fld, "\r\n");
		}
	}
	return 0;
}

/* Everything but the final hand-over to v. */
static int
build(struct build *b)
{
	const struct values_cfg *cfg = b->cfg;
	const char *verify = getenv("SSL_CLIENT_VERIFY");
	struct cert_fields f;
	struct cert c;
	int have, verified, r;

	memset(&f, 0, sizeof f);
	if ((r = load_cert(b, &c, &have)) != 0)
		return r;
	verified = verify == NULL || strcmp(verify, "SUCCESS") == 0;
	if (have && !verified && !cfg->allow_unverified) {
		log_notef(b->cfg->log, 1,
		    "certificate not forwarded: SSL_CLIENT_VERIFY=%s", verify);
		cert_free(&c);
		have = 0;
	}
	if (have && cfg->fields)
		r = cert_fields(b, &c, &f);
	if (r == 0 && have && !cfg->no_cookie)
		r = add_cert_cookie(b, &c);
	if (r == 0)
		r = add_fields(b, &f, have, verify, verified);
	if (r == 0 && have && cfg->header)
		r = add_cert_header(b, &c);
	if (r == 0 && (cfg->forwarded || cfg->x_forwarded))
		r = add_forwarded(b);
	if (have)
		cert_free(&c);
	cert_fields_free(&f);
	return r;
}

int
values_build(const struct values_cfg *cfg, struct values *v)
{
	struct build b;
	char *p;
	int r;

	memset(v, 0, sizeof *v);
	memset(&b, 0, sizeof b);
	b.cfg = cfg;
	b.v = v;
	r = build(&b);
	if (r == 0 && (b.add.failed || b.fld.failed)) {
		errno = ENOMEM;
		r = fail(&b, VALUES_ENOMEM, "realloc");
	}
	if (r != 0) {
		free(b.add.s);
		free(b.fld.s);
		errno = b.err;
		return r;
	}
	v->add = b.add.s;
	v->add_len = b.add.len;
	v->fields = b.fld.s;
	v->fields_len = b.fld.len;
	for (p = b.fld.s; p && (p = strstr(p, "\r\n")) != NULL; p += 2)
		v->fields_count++;
	log_notef(cfg->log, 3, "cookie: %s", v->add ? v->add : "(none)");
	return 0;
}

void
values_free(struct values *v)
{
	free(v->add);
	free(v->fields);
	v->add = v->fields = NULL;
	v->add_len = v->fields_len = v->fields_count = 0;
}
