/* GnuTLS server side: credentials, handshake, client verification. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "certenv.h"
#include "tls.h"

int
tls_priority_check(struct tls_ctx *ctx, const char *prio)
{
	gnutls_priority_t p;
	const char *pos = NULL;
	int r;

	if ((r = gnutls_priority_init(&p, prio, &pos)) < 0) {
		snprintf(ctx->err, sizeof ctx->err,
		    "bad priority string at \"%s\": %s", pos ? pos : prio,
		    gnutls_strerror(r));
		errno = EINVAL;
		return -1;
	}
	gnutls_priority_deinit(p);
	return 0;
}

/* The size of the keys GnuTLS makes itself; a key file must match. */
static unsigned
ticket_key_size(void)
{
	gnutls_datum_t k;
	unsigned n;

	if (gnutls_session_ticket_key_generate(&k) < 0)
		return 0;
	n = k.size;
	gnutls_memset(k.data, 0, k.size);
	gnutls_free(k.data);
	return n;
}

static int
ticket_key_read(struct tls_ctx *ctx, const char *path)
{
	struct stat st;
	unsigned want = ticket_key_size();
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(ctx->err, sizeof ctx->err, "%s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || want == 0 || st.st_size != (off_t)want) {
		snprintf(ctx->err, sizeof ctx->err,
		    "%s: not a ticket key (want %u bytes, made by "
		    "--new-ticket-key)", path, want);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((ctx->ticket.data = gnutls_malloc(want)) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	n = read(fd, ctx->ticket.data, want);
	close(fd);
	if (n != (ssize_t)want) {
		snprintf(ctx->err, sizeof ctx->err, "%s: short read", path);
		errno = EIO;
		return -1;
	}
	ctx->ticket.size = want;
	return 0;
}

int
tls_ticket_key_new(const char *path)
{
	gnutls_datum_t k;
	ssize_t n;
	int fd, e;

	if (gnutls_session_ticket_key_generate(&k) < 0) {
		errno = ENOMEM;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		e = errno;
		gnutls_free(k.data);
		errno = e;
		return -1;
	}
	n = write(fd, k.data, k.size);
	e = errno;
	gnutls_memset(k.data, 0, k.size);
	if (n != (ssize_t)k.size || close(fd) == -1) {
		gnutls_free(k.data);
		unlink(path);
		errno = n == -1 ? e : EIO;
		return -1;
	}
	gnutls_free(k.data);
	return 0;
}

static int
alpn_parse(struct tls_ctx *ctx, const char *list)
{
	char *p, *q;

	ctx->nalpn = 0;
	if (list == NULL || *list == '\0')
		return 0;
	if (strlen(list) >= sizeof ctx->alpn_buf) {
		snprintf(ctx->err, sizeof ctx->err, "ALPN list too long");
		errno = EINVAL;
		return -1;
	}
	strcpy(ctx->alpn_buf, list);
	for (p = ctx->alpn_buf; p != NULL; p = q) {
		if ((q = strchr(p, ',')) != NULL)
			*q++ = '\0';
		if (*p == '\0' || ctx->nalpn == TLS_ALPN_MAX) {
			snprintf(ctx->err, sizeof ctx->err,
			    "bad ALPN list \"%s\"", list);
			errno = EINVAL;
			return -1;
		}
		ctx->alpn[ctx->nalpn].data = (unsigned char *)p;
		ctx->alpn[ctx->nalpn].size = strlen(p);
		ctx->nalpn++;
	}
	return 0;
}

static int verify_cb(gnutls_session_t);

/*
 * GnuTLS applies the handshake timeout to each read, so a client
 * sending one byte at a time would never time out.  This pull_timeout
 * function holds the whole handshake to one deadline.  A process runs
 * one handshake at a time, hence one static deadline (0: none).
 */
static long long hs_deadline;

long long
tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct pollfd pfd;
	long long left;

	pfd.fd = (int)(intptr_t)p;	/* as gnutls_transport_set_int() */
	pfd.events = POLLIN;
	if (hs_deadline != 0) {
		if ((left = hs_deadline - tls_now_ms()) <= 0)
			return 0;
		if (ms == GNUTLS_INDEFINITE_TIMEOUT || ms > left)
			ms = left;
	}
	return poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

/*
 * Whether the key of the pair at index i in cred has the public key of
 * the pair's certificate, by their key IDs.  Returns 1, or 0 when that
 * could not be shown.
 */
static int
key_matches(gnutls_certificate_credentials_t cred, int i)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t der;
	unsigned char a[64], b[64];
	size_t alen = sizeof a, blen = sizeof b;
	int ok = 0;

	if (i < 0 || gnutls_certificate_get_crt_raw(cred, i, 0, &der) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0)
		return 0;
	if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b,
	    &blen) >= 0 &&
	    gnutls_certificate_get_x509_key(cred, i, &key) >= 0 &&
	    gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, a,
	    &alen) >= 0)
		ok = alen == blen && memcmp(a, b, alen) == 0;
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	gnutls_x509_crt_deinit(crt);
	return ok;
}

/*
 * The certificate and key pairs of cfg into ctx->cred.  Several pairs
 * in one credentials structure: GnuTLS picks the one whose names match
 * the client's SNI, else the first.  Returns 0, -1 with ctx->err set,
 * or 1 when the pairs must be loaded again with strict set.
 *
 * GnuTLS proves that a key fits its certificate with a test signature,
 * a sign and a verify: most of the cost of loading, paid at every
 * start under inetd.  For a key in a file, comparing key IDs shows the
 * same; a pkcs11: key, whose parameters may be out of reach, gets
 * GnuTLS's test, and so does every key once the IDs of one pair
 * disagree (an RSA key under an RSA-PSS certificate), so that the
 * verdict stays GnuTLS's.
 */
static int
load_pairs(struct tls_ctx *ctx, const struct tls_config *cfg, int strict)
{
	size_t i;
	int quick, r;

	for (i = 0; i < cfg->npairs; i++) {
		quick = !strict && strncmp(cfg->key[i], "pkcs11:", 7) != 0;
		gnutls_certificate_set_flags(ctx->cred, quick ?
		    GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH : 0);
		r = gnutls_certificate_set_x509_key_file2(ctx->cred,
		    cfg->cert[i], cfg->key[i], GNUTLS_X509_FMT_PEM, NULL, 0);
		if (r < 0) {
			snprintf(ctx->err, sizeof ctx->err,
			    "certificate %s with key %s: %s", cfg->cert[i],
			    cfg->key[i], gnutls_strerror(r));
			return -1;
		}
		if (quick && !key_matches(ctx->cred, (int)i))
			return 1;
	}
	gnutls_certificate_set_flags(ctx->cred, 0);
	return 0;
}

/* The CA and CRL of cfg, and our verify callback, into ctx->cred. */
static int
load_trust(struct tls_ctx *ctx, const struct tls_config *cfg)
{
	int r;

	if (cfg->ca != NULL) {
		r = gnutls_certificate_set_x509_trust_file(ctx->cred, cfg->ca,
		    GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			snprintf(ctx->err, sizeof ctx->err, "CA file %s: %s",
			    cfg->ca, r < 0 ? gnutls_strerror(r) :
			    "no certificate in it");
			return -1;
		}
	}
	if (cfg->crl != NULL) {
		r = gnutls_certificate_set_x509_crl_file(ctx->cred, cfg->crl,
		    GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			snprintf(ctx->err, sizeof ctx->err, "CRL file %s: %s",
			    cfg->crl, r < 0 ? gnutls_strerror(r) :
			    "no CRL in it");
			return -1;
		}
	}
	gnutls_certificate_set_verify_function(ctx->cred, verify_cb);
	return 0;
}

/* Priorities, ticket key and ALPN list of cfg into ctx. */
static int
load_session(struct tls_ctx *ctx, const struct tls_config *cfg)
{
	const char *pos = NULL;
	int r;

	if ((r = gnutls_priority_init(&ctx->prio, cfg->priority, &pos)) < 0) {
		snprintf(ctx->err, sizeof ctx->err,
		    "bad priority string at \"%s\": %s", pos ? pos : "",
		    gnutls_strerror(r));
		ctx->prio = NULL;
		return -1;
	}
	if (cfg->ticket_key != NULL) {
		if (ticket_key_read(ctx, cfg->ticket_key) == -1)
			return -1;
	} else if (gnutls_session_ticket_key_generate(&ctx->ticket) < 0) {
		snprintf(ctx->err, sizeof ctx->err,
		    "cannot make a ticket key");
		return -1;
	}
	return alpn_parse(ctx, cfg->alpn);
}

/* tls_ctx_load(); strict: GnuTLS's own key test for every pair. */
static int
ctx_load(struct tls_ctx *ctx, const struct tls_config *cfg, int strict)
{
	static unsigned long loads;	/* names each load for the cache */
	int r;

	memset(ctx, 0, sizeof *ctx);
	ctx->gen = ++loads;
	ctx->verify = cfg->verify;
	ctx->handshake_ms = cfg->handshake_ms;
	if (gnutls_certificate_allocate_credentials(&ctx->cred) < 0) {
		snprintf(ctx->err, sizeof ctx->err, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	if ((r = load_pairs(ctx, cfg, strict)) == 1) {
		tls_ctx_free(ctx);
		return ctx_load(ctx, cfg, 1);
	}
	if (r == -1 || load_trust(ctx, cfg) == -1 ||
	    load_session(ctx, cfg) == -1) {
		tls_ctx_free(ctx);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
tls_ctx_load(struct tls_ctx *ctx, const struct tls_config *cfg)
{
	return ctx_load(ctx, cfg, 0);
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx->cred != NULL)
		gnutls_certificate_free_credentials(ctx->cred);
	if (ctx->prio != NULL)
		gnutls_priority_deinit(ctx->prio);
	if (ctx->ticket.data != NULL) {
		gnutls_memset(ctx->ticket.data, 0, ctx->ticket.size);
		gnutls_free(ctx->ticket.data);
	}
	ctx->cred = NULL;
	ctx->prio = NULL;
	ctx->ticket.data = NULL;
	ctx->ticket.size = 0;
}

/*
 * The reason mod_ssl would give, in OpenSSL's words, for the most
 * telling bit of a GnuTLS verification status.
 */
static const char *
verify_reason(unsigned st)
{
	static const struct {
		unsigned	 bit;
		const char	*why;
	} map[] = {
		{ GNUTLS_CERT_REVOKED, "certificate revoked" },
		{ GNUTLS_CERT_EXPIRED, "certificate has expired" },
		{ GNUTLS_CERT_NOT_ACTIVATED, "certificate is not yet valid" },
		{ GNUTLS_CERT_SIGNER_NOT_FOUND,
		    "unable to get local issuer certificate" },
		{ GNUTLS_CERT_SIGNER_NOT_CA, "invalid CA certificate" },
		{ GNUTLS_CERT_PURPOSE_MISMATCH,
		    "unsupported certificate purpose" },
		{ GNUTLS_CERT_INSECURE_ALGORITHM,
		    "insecure signature algorithm" },
		{ GNUTLS_CERT_SIGNATURE_FAILURE,
		    "certificate signature failure" },
		{ GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE,
		    "signer constraints failure" },
		{ GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED,
		    "CRL has expired" },
		{ GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE,
		    "CRL is not yet valid" },
	};
	size_t i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (st & map[i].bit)
			return map[i].why;
	return "certificate verify failed";
}

/*
 * The verify cache: the client chains this process verified with
 * success lately, so that a process serving connection after
 * connection does not verify the same chain again for each one (a
 * resumed session brings back the chain of its first handshake, and
 * verifying it costs an ASN.1 import and a signature check per
 * certificate).  Only successes are kept: a chain that failed is
 * verified again each time, and refused or reported exactly as before.
 *
 * An entry names what its success depended on, and nothing it does
 * not name can differ:
 *   - the chain: SHA-256 over the key purpose asked for and, for each
 *     certificate in the order sent, its length and its SHA-256, so
 *     that no two chains share a key by concatenation;
 *   - the context (tls_ctx.gen): CA, CRL, priorities (their %VERIFY_*
 *     flags); a reload by SIGHUP makes a new one, so the entries of the
 *     old one never match again;
 *   - the time: verification is a function of the wall clock, so the
 *     entry holds the interval in which the same answer was certain:
 *     from the latest notBefore (and CRL thisUpdate) to the earliest
 *     notAfter of every certificate GnuTLS checked on the way to the
 *     trust anchor, the anchor and the CA file's intermediates
 *     included, and to the earliest nextUpdate of the CRLs it
 *     consulted (GnuTLS 3.7 itself refuses nothing once a loaded CRL is
 *     past its nextUpdate: the cache is the stricter one there).
 *     GnuTLS reports these to the verify output function as it goes,
 *     already parsed, so reading them costs no import of our own.
 * On top of that, an entry lives VCACHE_LIFE seconds at most: a bound
 * that does not depend on the reasoning above being complete (a
 * verification input no one thought of, a future GnuTLS checking one
 * more thing), short enough that such a gap would close within a
 * minute, and still long enough that a worker taking connections
 * from the same clients verifies each chain about once a minute
 * instead of once per connection.  A wall clock stepping back before
 * the entry was made also ends it.
 *
 * A fixed array, the oldest entry replaced: no allocation per
 * connection, and a process runs one handshake at a time (as the
 * deadline above), so one set of static state suffices.
 *
 * The first chain a process sees is neither looked up nor kept: under
 * inetd and systemd Accept=yes that is the only one, and the cache
 * would die with the process.  Such a process so pays nothing: no
 * hashing, no page of the array touched.  A worker of the accept loop,
 * serving connection after connection, verifies its first chain once
 * more, on the second connection.
 */
#define VCACHE_SIZE	64
#define VCACHE_LIFE	60	/* seconds */
#define VCACHE_DEPTH	16	/* longer chains are not cached */
#define VCACHE_PURPOSE	GNUTLS_KP_TLS_WWW_CLIENT
#define SHA256_LEN	32

struct vcache_entry {
	unsigned char	 key[SHA256_LEN];
	unsigned long	 gen;		/* tls_ctx.gen; 0: unused */
	time_t		 since;		/* valid from (wall clock) */
	time_t		 until;		/* valid before */
};

static struct vcache_entry vcache[VCACHE_SIZE];
static unsigned vcache_next;	/* the oldest entry, replaced next */
static unsigned long vcache_seen;	/* chains verify_peer() had */

/* What the verification in progress depended on; see vcache_note(). */
static struct {
	time_t	 since;
	time_t	 until;
	int	 pairs;		/* certificate and issuer pairs reported */
	int	 unknown;	/* a certificate time that could not be read */
} vbound;

/*
 * The cache key of a chain, or -1 for a chain too long to cache (or
 * a hash that failed).
 */
static int
vcache_key(const gnutls_datum_t *certs, unsigned n,
    unsigned char key[SHA256_LEN])
{
	unsigned char buf[sizeof VCACHE_PURPOSE + 4 +
	    VCACHE_DEPTH * (4 + SHA256_LEN)], *p;
	unsigned i;

	if (n > VCACHE_DEPTH)
		return -1;
	memcpy(buf, VCACHE_PURPOSE, sizeof VCACHE_PURPOSE);
	p = buf + sizeof VCACHE_PURPOSE;
	*p++ = (unsigned char)n;
	*p++ = 0;
	*p++ = 0;
	*p++ = 0;
	for (i = 0; i < n; i++) {
		*p++ = (unsigned char)(certs[i].size >> 24);
		*p++ = (unsigned char)(certs[i].size >> 16);
		*p++ = (unsigned char)(certs[i].size >> 8);
		*p++ = (unsigned char)certs[i].size;
		if (gnutls_hash_fast(GNUTLS_DIG_SHA256, certs[i].data,
		    certs[i].size, p) < 0)
			return -1;
		p += SHA256_LEN;
	}
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, (size_t)(p - buf),
	    key) < 0)
		return -1;
	return 0;
}

/* The entry of key under ctx, valid or not, or NULL. */
static struct vcache_entry *
vcache_find(const struct tls_ctx *ctx, const unsigned char *key)
{
	unsigned i;

	for (i = 0; i < VCACHE_SIZE; i++)
		if (vcache[i].gen == ctx->gen && vcache[i].gen != 0 &&
		    memcmp(vcache[i].key, key, SHA256_LEN) == 0)
			return &vcache[i];
	return NULL;
}

/* Whether key verified under ctx and still would, by the cache. */
static int
vcache_hit(const struct tls_ctx *ctx, const unsigned char *key)
{
	const struct vcache_entry *e;
	time_t now;

	if ((e = vcache_find(ctx, key)) == NULL)
		return 0;
	now = time(NULL);
	return now >= e->since && now < e->until;
}

static void
vbound_since(time_t t)
{
	if (t > vbound.since)
		vbound.since = t;
}

static void
vbound_until(time_t t)
{
	if (t < vbound.until)
		vbound.until = t;
}

static void
vbound_crt(gnutls_x509_crt_t crt)
{
	time_t a, b;

	a = gnutls_x509_crt_get_activation_time(crt);
	b = gnutls_x509_crt_get_expiration_time(crt);
	if (a == (time_t)-1 || b == (time_t)-1) {
		vbound.unknown = 1;
		return;
	}
	vbound_since(a);
	vbound_until(b);
}

/*
 * GnuTLS's verify output function: called for each certificate of the
 * path with its issuer, up to and including the trust anchor, and for
 * each CRL consulted.  Notes the times that bound the result.
 */
static int
vcache_note(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer,
    gnutls_x509_crl_t crl, unsigned status)
{
	time_t t;

	(void)status;	/* the overall status decides */
	if (crt != NULL)
		vbound_crt(crt);
	if (issuer != NULL) {
		vbound_crt(issuer);
		vbound.pairs++;
	}
	if (crl != NULL) {
		/* -1: no nextUpdate, which bounds nothing. */
		if ((t = gnutls_x509_crl_get_this_update(crl)) != (time_t)-1)
			vbound_since(t);
		if ((t = gnutls_x509_crl_get_next_update(crl)) != (time_t)-1)
			vbound_until(t);
	}
	return 0;
}

/* Start noting, for a verification that begins at now. */
static void
vcache_begin(time_t now)
{
	vbound.since = now;
	vbound.until = now + VCACHE_LIFE;
	vbound.pairs = 0;
	vbound.unknown = 0;
}

/* Keep the success of key under ctx, for what vcache_note() saw. */
static void
vcache_put(const struct tls_ctx *ctx, const unsigned char *key)
{
	struct vcache_entry *e;

	/* Nothing reported: nothing known to bound it by. */
	if (vbound.pairs == 0 || vbound.unknown ||
	    vbound.since >= vbound.until)
		return;
	if ((e = vcache_find(ctx, key)) == NULL) {
		e = &vcache[vcache_next];
		vcache_next = (vcache_next + 1) % VCACHE_SIZE;
	}
	memcpy(e->key, key, SHA256_LEN);
	e->gen = ctx->gen;
	e->since = vbound.since;
	e->until = vbound.until;
}

/*
 * Verify the client certificate GnuTLS holds for the session, new or
 * resumed, and record the result; a success the verify cache holds
 * for the same chain and context is not verified again.  Returns 0
 * when the policy lets the connection go on, -1 when it refuses it.
 */
static int
verify_peer(struct tls_conn *c)
{
	gnutls_typed_vdata_st purpose = {
		GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)VCACHE_PURPOSE, 0
	};
	const gnutls_datum_t *certs;
	unsigned char key[SHA256_LEN];
	unsigned n = 0, st = 0;
	int r, keyed;

	c->verified = 1;
	c->have_cert = 0;
	c->verify_cached = 0;
	certs = gnutls_certificate_get_peers(c->s, &n);
	if (c->ctx->verify == TLS_VERIFY_NONE || certs == NULL || n == 0) {
		snprintf(c->verify, sizeof c->verify, "NONE");
		if (c->ctx->verify == TLS_VERIFY_REQUIRE) {
			c->rejected = 1;
			return -1;
		}
		return 0;
	}
	c->have_cert = 1;
	/* Not for a process's first chain, see above. */
	keyed = vcache_seen++ > 0 && vcache_key(certs, n, key) == 0;
	if (keyed && vcache_hit(c->ctx, key)) {
		c->verify_cached = 1;
		snprintf(c->verify, sizeof c->verify, "SUCCESS");
		return 0;
	}
	if (keyed) {
		vcache_begin(time(NULL));
		gnutls_session_set_verify_output_function(c->s, vcache_note);
	}
	r = gnutls_certificate_verify_peers(c->s, &purpose, 1, &st);
	if (keyed)
		gnutls_session_set_verify_output_function(c->s, NULL);
	if (r < 0) {
		/* No trust list at all (optional-no-ca without --ca). */
		st = GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND;
	}
	if (st == 0) {
		if (keyed)
			vcache_put(c->ctx, key);
		snprintf(c->verify, sizeof c->verify, "SUCCESS");
		return 0;
	}
	snprintf(c->verify, sizeof c->verify, "FAILED:%s", verify_reason(st));
	if (c->ctx->verify == TLS_VERIFY_OPTIONAL_NO_CA)
		return 0;
	c->rejected = 1;
	return -1;
}

static int
verify_cb(gnutls_session_t s)
{
	struct tls_conn *c = gnutls_session_get_ptr(s);

	if (c == NULL)
		return -1;
	return verify_peer(c) == 0 ? 0 : -1;
}

/* A server session on fd for c, set up from ctx. */
static int
session_new(struct tls_conn *c, const struct tls_ctx *ctx, int fd)
{
	unsigned req;
	int r;

	if ((r = gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL)) < 0) {
		c->s = NULL;
		c->gerr = r;
		errno = ENOMEM;
		return TLS_ERR_SYS;
	}
	gnutls_session_set_ptr(c->s, c);
	if ((r = gnutls_priority_set(c->s, ctx->prio)) < 0 ||
	    (r = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE,
	    ctx->cred)) < 0 ||
	    (r = gnutls_session_ticket_enable_server(c->s,
	    &ctx->ticket)) < 0 ||
	    (ctx->nalpn > 0 && (r = gnutls_alpn_set_protocols(c->s,
	    ctx->alpn, ctx->nalpn,
	    GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE)) < 0)) {
		c->gerr = r;
		errno = EINVAL;
		return TLS_ERR_SYS;
	}
	switch (ctx->verify) {
	case TLS_VERIFY_NONE:
		req = GNUTLS_CERT_IGNORE;
		break;
	case TLS_VERIFY_REQUIRE:
		req = GNUTLS_CERT_REQUIRE;
		break;
	default:
		req = GNUTLS_CERT_REQUEST;
		break;
	}
	gnutls_certificate_server_set_request(c->s, req);
	/*
	 * Under optional-no-ca, any certificate is welcome: do not name
	 * the CAs, or a client would withhold one from another CA.
	 */
	if (ctx->verify == TLS_VERIFY_OPTIONAL_NO_CA)
		gnutls_certificate_send_x509_rdn_sequence(c->s, 1);
	gnutls_transport_set_int(c->s, fd);
	gnutls_transport_set_pull_timeout_function(c->s, pull_timeout);
	gnutls_handshake_set_timeout(c->s, ctx->handshake_ms);
	return TLS_OK;
}

/*
 * The handshake, within ctx->handshake_ms in all (see hs_deadline).
 * Returns what gnutls_handshake() last did, GNUTLS_E_TIMEDOUT for a
 * handshake still going at the deadline.
 */
static int
handshake_run(struct tls_conn *c, const struct tls_ctx *ctx)
{
	int r;

	hs_deadline = tls_now_ms() + ctx->handshake_ms;
	do {
		r = gnutls_handshake(c->s);
	} while (r < 0 && gnutls_error_is_fatal(r) == 0 &&
	    tls_now_ms() < hs_deadline);
	hs_deadline = 0;
	if (r < 0 && gnutls_error_is_fatal(r) == 0)
		r = GNUTLS_E_TIMEDOUT;
	return r;
}

/* The DNS name the client asked for, if any, into c->sni. */
static void
sni_get(struct tls_conn *c)
{
	size_t len = sizeof c->sni - 1;
	unsigned type;

	if (gnutls_server_name_get(c->s, c->sni, &len, &type, 0) == 0 &&
	    type == GNUTLS_NAME_DNS)
		c->sni[len] = '\0';
	else
		c->sni[0] = '\0';
}

/* The handshake failed with r: tell the client, when it can hear. */
static int
handshake_failed(struct tls_conn *c, int r)
{
	c->gerr = r;
	if (r != GNUTLS_E_TIMEDOUT && r != GNUTLS_E_PREMATURE_TERMINATION &&
	    r != GNUTLS_E_PUSH_ERROR && r != GNUTLS_E_PULL_ERROR)
		gnutls_alert_send_appropriate(c->s, r);
	if (c->rejected || r == GNUTLS_E_NO_CERTIFICATE_FOUND ||
	    r == GNUTLS_E_CERTIFICATE_REQUIRED) {
		c->rejected = 1;
		return TLS_ERR_CERT;
	}
	return TLS_ERR_HANDSHAKE;
}

int
tls_accept(struct tls_conn *c, const struct tls_ctx *ctx, int fd)
{
	int r;

	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->ctx = ctx;
	snprintf(c->verify, sizeof c->verify, "NONE");
	if ((r = session_new(c, ctx, fd)) != TLS_OK)
		return r;
	r = handshake_run(c, ctx);
	sni_get(c);
	if (r < 0)
		return handshake_failed(c, r);
	/*
	 * A resumed session skips the verify callback; GnuTLS keeps the
	 * client's certificates in the ticket, so check them again now.
	 */
	if (gnutls_session_is_resumed(c->s) || !c->verified) {
		if (verify_peer(c) == -1) {
			c->gerr = GNUTLS_E_CERTIFICATE_ERROR;
			gnutls_alert_send(c->s, GNUTLS_AL_FATAL,
			    c->have_cert ? GNUTLS_A_BAD_CERTIFICATE :
			    GNUTLS_A_CERTIFICATE_REQUIRED);
			return TLS_ERR_CERT;
		}
	}
	return TLS_OK;
}

const char *
tls_conn_error(const struct tls_conn *c)
{
	if (c->rejected && c->have_cert)
		return c->verify;
	if (c->rejected)
		return "no client certificate";
	if (c->gerr == 0)
		return "success";
	return gnutls_strerror(c->gerr);
}

const char *
tls_protocol(const struct tls_conn *c)
{
	switch (gnutls_protocol_get_version(c->s)) {
	case GNUTLS_TLS1_0:
		return "TLSv1";
	case GNUTLS_TLS1_1:
		return "TLSv1.1";
	case GNUTLS_TLS1_2:
		return "TLSv1.2";
	case GNUTLS_TLS1_3:
		return "TLSv1.3";
	default:
		return gnutls_protocol_get_name(
		    gnutls_protocol_get_version(c->s));
	}
}

const char *
tls_cipher(const struct tls_conn *c)
{
	const char *n = gnutls_ciphersuite_get(c->s);

	return n ? n : "-";
}

int
tls_export_env(const struct tls_conn *c)
{
	const gnutls_datum_t *certs;
	const char *resumed;
	unsigned n = 0;

	resumed = gnutls_session_is_resumed(c->s) ? "Resumed" : "Initial";
	if (certenv_setstr("SSL_PROTOCOL", tls_protocol(c)) == -1 ||
	    certenv_setstr("SSL_CIPHER", tls_cipher(c)) == -1 ||
	    certenv_setstr("SSL_SESSION_RESUMED", resumed) == -1 ||
	    certenv_setstr("SSL_CLIENT_VERIFY", c->verify) == -1)
		return -1;
	if (c->sni[0] != '\0' && certenv_setstr("SSL_TLS_SNI", c->sni) == -1)
		return -1;
	if (!c->have_cert)
		return 0;
	certs = gnutls_certificate_get_peers(c->s, &n);
	if (certs == NULL || n == 0)
		return 0;
	return certenv_client(certs, n);
}

void
tls_conn_free(struct tls_conn *c)
{
	if (c->s != NULL)
		gnutls_deinit(c->s);
	c->s = NULL;
}
