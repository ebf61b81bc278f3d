/*
 * Unit tests of lib/tls.c's verify cache: tls_accept() on one end of a
 * socketpair, a GnuTLS client in a child on the other, all in one
 * process as a worker serving connection after connection would be.
 * The wall clock is ours: time() is defined here (lib/tls.c's calls
 * bind to it) and given to GnuTLS, so certificates and CRLs can expire
 * without waiting.  gnutls_certificate_verify_peers() is defined here
 * too, counting calls before it calls GnuTLS's own: a cache hit is a
 * connection that did not call it.
 * The PKI is tests/pki.sh's in $UNIT_PKI (default tests/unit/pki),
 * plus a CA that expires before the certificate it signed and a CRL
 * whose nextUpdate is a day away.
 *
 *	tests/unit/verify		the tests
 *	tests/unit/verify bench N	CPU per resumed handshake, hit or not
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls.h"
#include "unit.h"

static const char *pki;
static time_t fake_now;		/* 0: the real clock */
static int verify_calls;
static int last_resumed;	/* whether conn()'s session was resumed */
static const char *client_prio;	/* NULL: GnuTLS's default */
static int last_version;	/* conn()'s protocol */

time_t
time(time_t *t)
{
	struct timespec ts;
	time_t now;

	if ((now = fake_now) == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now = ts.tv_sec;
	}
	if (t != NULL)
		*t = now;
	return now;
}

int
gnutls_certificate_verify_peers(gnutls_session_t s,
    gnutls_typed_vdata_st *data, unsigned int n, unsigned int *status)
{
	static int (*real)(gnutls_session_t, gnutls_typed_vdata_st *,
	    unsigned int, unsigned int *);

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT,
		    "gnutls_certificate_verify_peers");
	if (real == NULL) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		exit(1);
	}
	verify_calls++;
	return real(s, data, n, status);
}

static void
make_pki(void)
{
	unit_pki(pki,
	    "{ [ -s shortca.pem ] || { "
	    "certtool --generate-privkey --key-type=ecdsa "
	    "--outfile shortca.key 2>/dev/null && "
	    "printf '%s\\n' 'cn = \"Short CA\"' ca cert_signing_key "
	    "'expiration_days = 2' 'serial = 1' > shortca.tmpl && "
	    "certtool --generate-self-signed --load-privkey shortca.key "
	    "--template shortca.tmpl --outfile shortca.pem 2>/dev/null; }; } && "
	    "{ [ -s carol.pem ] || { "
	    "printf '%s\\n' 'cn = \"carol\"' tls_www_client signing_key "
	    "'expiration_days = 10' 'serial = 7' > carol.tmpl && "
	    "certtool --generate-certificate --load-privkey client.key "
	    "--load-ca-certificate shortca.pem --load-ca-privkey shortca.key "
	    "--template carol.tmpl --outfile carol.pem 2>/dev/null; }; } && "
	    "{ [ -s crlday.pem ] || { "
	    "printf '%s\\n' 'crl_next_update = 1' 'crl_number = 2' "
	    "> crlday.tmpl && "
	    "certtool --generate-crl --load-ca-privkey ca.key "
	    "--load-ca-certificate ca.pem --load-certificate revoked.pem "
	    "--template crlday.tmpl "
	    "--outfile crlday.pem 2>/dev/null; }; }");
}

/* A file of the PKI, in a static buffer of its own. */
static const char *
P(const char *name)
{
	static char path[8][4096];
	static unsigned i;
	char *p = path[i++ % 8];

	snprintf(p, sizeof path[0], "%s/%s", pki, name);
	return p;
}

/* notBefore or notAfter of a certificate of the PKI. */
static time_t
crt_time(const char *name, int after)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	time_t t;

	if (gnutls_load_file(P(name), &d) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0) {
		fprintf(stderr, "cannot read %s\n", name);
		exit(1);
	}
	t = after ? gnutls_x509_crt_get_expiration_time(crt) :
	    gnutls_x509_crt_get_activation_time(crt);
	gnutls_x509_crt_deinit(crt);
	gnutls_free(d.data);
	return t;
}

static time_t
crl_next(const char *name)
{
	gnutls_x509_crl_t crl;
	gnutls_datum_t d;
	time_t t;

	if (gnutls_load_file(P(name), &d) < 0 ||
	    gnutls_x509_crl_init(&crl) < 0 ||
	    gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM) < 0) {
		fprintf(stderr, "cannot read %s\n", name);
		exit(1);
	}
	t = gnutls_x509_crl_get_next_update(crl);
	gnutls_x509_crl_deinit(crl);
	gnutls_free(d.data);
	return t;
}

static void
load(struct tls_ctx *ctx, const char *ca, const char *crl,
    enum tls_verify v)
{
	struct tls_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.cert[0] = P("server.pem");
	cfg.key[0] = P("server.key");
	cfg.npairs = 1;
	cfg.ca = ca != NULL ? P(ca) : NULL;
	cfg.crl = crl != NULL ? P(crl) : NULL;
	cfg.priority = "NORMAL";
	cfg.alpn = "";
	cfg.verify = v;
	cfg.handshake_ms = 10000;
	if (tls_ctx_load(ctx, &cfg) == -1) {
		fprintf(stderr, "tls_ctx_load: %s\n", ctx->err);
		exit(1);
	}
}

/* A reload as tlsfront's accept loop does it on SIGHUP. */
static void
reload(struct tls_ctx *ctx, const char *ca, const char *crl,
    enum tls_verify v)
{
	struct tls_ctx fresh;

	load(&fresh, ca, crl, v);
	tls_ctx_free(ctx);
	*ctx = fresh;
}

/* The client of one connection, in the child: exits 0 on a handshake. */
static void
client(int fd, const char *name, const gnutls_datum_t *sess, int sessfd)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	gnutls_datum_t d;
	char buf[64], crt[64], key[64];
	int r;

	snprintf(crt, sizeof crt, "%s.pem", name);
	snprintf(key, sizeof key, "%s.key", name);
	if (strcmp(name, "alice") == 0 || strcmp(name, "carol") == 0)
		snprintf(key, sizeof key, "client.key");
	if (strcmp(name, "alice") == 0)
		snprintf(crt, sizeof crt, "client.pem");
	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(cred, P(crt), P(key),
	    GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT) < 0 ||
	    (client_prio == NULL ? gnutls_set_default_priority(s) :
	    gnutls_priority_set_direct(s, client_prio, NULL)) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		_exit(2);
	if (sess != NULL && sess->size > 0)
		gnutls_session_set_data(s, sess->data, sess->size);
	gnutls_transport_set_int(s, fd);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		_exit(1);
	/* Up to the server's close: the tickets come on the way. */
	do
		r = gnutls_record_recv(s, buf, sizeof buf);
	while (r > 0 || r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
	if (r < 0 && r != GNUTLS_E_PREMATURE_TERMINATION)
		_exit(1);
	if (gnutls_session_get_data2(s, &d) == 0) {
		if (write(sessfd, d.data, d.size) != (ssize_t)d.size)
			_exit(2);
		gnutls_free(d.data);
	}
	_exit(0);
}

static unsigned char sess_buf[16384];
static gnutls_datum_t sess = { sess_buf, 0 };

/*
 * One connection from name (resumed with the last session when asked);
 * the server's result, and its struct tls_conn in *c for inspection
 * (freed by the next call).  The CPU time of tls_accept() is added to
 * *cpu_us when cpu_us is not NULL.
 */
static int
conn(const struct tls_ctx *ctx, const char *name, int resume,
    struct tls_conn *c, long long *cpu_us)
{
	struct rusage r0, r1;
	unsigned char buf[sizeof sess_buf];
	int sv[2], p[2], st, r;
	ssize_t n;
	size_t len = 0;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 || pipe(p) == -1) {
		perror("socketpair");
		exit(1);
	}
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		close(sv[0]);
		close(p[0]);
		client(sv[1], name, resume ? &sess : NULL, p[1]);
	}
	close(sv[1]);
	close(p[1]);
	getrusage(RUSAGE_SELF, &r0);
	r = tls_accept(c, ctx, sv[0]);
	getrusage(RUSAGE_SELF, &r1);
	if (cpu_us != NULL)
		*cpu_us += (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec +
		    r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000LL +
		    r1.ru_utime.tv_usec - r0.ru_utime.tv_usec +
		    r1.ru_stime.tv_usec - r0.ru_stime.tv_usec;
	last_resumed = gnutls_session_is_resumed(c->s) != 0;
	last_version = gnutls_protocol_get_version(c->s);
	if (r == TLS_OK) {
		gnutls_record_send(c->s, "x", 1);
		gnutls_bye(c->s, GNUTLS_SHUT_WR);
	}
	tls_conn_free(c);
	close(sv[0]);
	while ((n = read(p[0], buf + len, sizeof buf - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	if (len > 0) {
		memcpy(sess_buf, buf, len);
		sess.size = (unsigned)len;
	}
	waitpid(pid, &st, 0);
	return r;
}

/* Expect a verified connection; hit: whether the cache answered. */
#define OK(ctx, name, resume, hit) do {					\
	struct tls_conn c_;						\
	int calls_ = verify_calls, r_;					\
									\
	r_ = conn((ctx), (name), (resume), &c_, NULL);			\
	CHECK(r_ == TLS_OK && strcmp(c_.verify, "SUCCESS") == 0 &&	\
	    c_.verify_cached == (hit) && last_resumed == (resume) &&	\
	    verify_calls == calls_ + !(hit), "%s: r=%d verify=%s "	\
	    "cached=%d resumed=%d calls=%d", (name), r_, c_.verify,	\
	    c_.verify_cached, last_resumed, verify_calls - calls_);	\
} while (0)

/* Expect a refusal, verified again, with why as the reason. */
#define REFUSED(ctx, name, why) do {					\
	struct tls_conn c_;						\
	int calls_ = verify_calls, r_;					\
									\
	r_ = conn((ctx), (name), 0, &c_, NULL);				\
	CHECK(r_ == TLS_ERR_CERT && c_.rejected &&			\
	    strcmp(c_.verify, (why)) == 0 && !c_.verify_cached &&	\
	    verify_calls == calls_ + 1, "%s: r=%d verify=%s calls=%d",	\
	    (name), r_, c_.verify, verify_calls - calls_);		\
} while (0)

/* A process's first chain is not kept: most processes have no other. */
static void
test_first(void)
{
	struct tls_ctx ctx;

	fake_now = 0;
	load(&ctx, "ca.pem", NULL, TLS_VERIFY_REQUIRE);
	OK(&ctx, "alice", 0, 0);
	OK(&ctx, "alice", 0, 0);
	OK(&ctx, "alice", 0, 1);
	tls_ctx_free(&ctx);
}

static void
test_hits(void)
{
	struct tls_ctx ctx;
	struct tls_conn c;
	int calls, i;

	fake_now = 0;
	load(&ctx, "ca.pem", "crl.pem", TLS_VERIFY_REQUIRE);
	OK(&ctx, "alice", 0, 0);
	OK(&ctx, "alice", 0, 1);
	CHECK(last_version == GNUTLS_TLS1_3, "TLS 1.3: %d", last_version);
	/* A resumed session: the chain of the ticket, found in the cache. */
	OK(&ctx, "alice", 1, 1);
	OK(&ctx, "bob", 0, 0);
	OK(&ctx, "bob", 1, 1);
	OK(&ctx, "alice", 0, 1);
	/* TLS 1.2, its session ticket holding the chain likewise. */
	client_prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
	OK(&ctx, "alice", 0, 1);
	OK(&ctx, "alice", 1, 1);
	CHECK(last_version == GNUTLS_TLS1_2, "TLS 1.2: %d", last_version);
	client_prio = NULL;
	/* Failures are never kept: each one verifies and refuses. */
	REFUSED(&ctx, "fakeclient", "FAILED:unable to get local issuer "
	    "certificate");
	REFUSED(&ctx, "fakeclient", "FAILED:unable to get local issuer "
	    "certificate");
	REFUSED(&ctx, "revoked", "FAILED:certificate revoked");
	REFUSED(&ctx, "revoked", "FAILED:certificate revoked");
	REFUSED(&ctx, "expired", "FAILED:certificate has expired");
	REFUSED(&ctx, "future", "FAILED:certificate is not yet valid");
	tls_ctx_free(&ctx);

	/* optional-no-ca: a failure goes on to COMMAND, still not kept. */
	load(&ctx, "ca.pem", NULL, TLS_VERIFY_OPTIONAL_NO_CA);
	for (i = 0; i < 2; i++) {
		calls = verify_calls;
		CHECK(conn(&ctx, "fakeclient", 0, &c, NULL) == TLS_OK &&
		    strcmp(c.verify, "FAILED:unable to get local issuer "
		    "certificate") == 0 && !c.verify_cached &&
		    verify_calls == calls + 1, "optional-no-ca: %s", c.verify);
	}
	OK(&ctx, "alice", 0, 0);
	OK(&ctx, "alice", 0, 1);
	tls_ctx_free(&ctx);
}

/* The oldest entry makes room: 65 contexts, one chain verified in each. */
static void
test_evict(void)
{
	static struct tls_ctx ctx[65];
	int i;

	fake_now = 0;
	for (i = 0; i < 65; i++) {
		load(&ctx[i], "ca.pem", NULL, TLS_VERIFY_REQUIRE);
		OK(&ctx[i], "alice", 0, 0);
	}
	OK(&ctx[64], "alice", 0, 1);
	OK(&ctx[1], "alice", 0, 1);
	OK(&ctx[0], "alice", 0, 0);	/* ctx[1]'s went for it */
	OK(&ctx[2], "alice", 0, 1);
	OK(&ctx[1], "alice", 0, 0);
	for (i = 0; i < 65; i++)
		tls_ctx_free(&ctx[i]);
}

/* A reload makes a new context: nothing verified under the old counts. */
static void
test_reload(void)
{
	struct tls_ctx ctx;

	fake_now = 0;
	load(&ctx, "ca.pem", NULL, TLS_VERIFY_REQUIRE);
	OK(&ctx, "revoked", 0, 0);
	OK(&ctx, "revoked", 0, 1);
	OK(&ctx, "alice", 0, 0);
	OK(&ctx, "alice", 0, 1);
	/* The CRL that revokes mallory arrives by SIGHUP. */
	reload(&ctx, "ca.pem", "crl.pem", TLS_VERIFY_REQUIRE);
	REFUSED(&ctx, "revoked", "FAILED:certificate revoked");
	REFUSED(&ctx, "revoked", "FAILED:certificate revoked");
	OK(&ctx, "alice", 0, 0);
	OK(&ctx, "alice", 0, 1);
	/* Another CA file: alice's CA is no longer trusted. */
	reload(&ctx, "fakeca.pem", NULL, TLS_VERIFY_REQUIRE);
	REFUSED(&ctx, "alice", "FAILED:unable to get local issuer "
	    "certificate");
	tls_ctx_free(&ctx);
}

/* Each bound of an entry's life, on our clock. */
static void
test_expiry(void)
{
	struct tls_ctx ctx;
	time_t t0, end;

	load(&ctx, "ca.pem", "crl.pem", TLS_VERIFY_REQUIRE);
	/* The fixed lifetime: 60 s. */
	t0 = fake_now = time(NULL) + 100;
	OK(&ctx, "alice", 0, 0);
	fake_now = t0 + 59;
	OK(&ctx, "alice", 0, 1);
	fake_now = t0 + 60;
	OK(&ctx, "alice", 0, 0);
	/* A clock stepped back before the entry was made. */
	fake_now = t0 + 10;
	OK(&ctx, "alice", 0, 0);
	OK(&ctx, "alice", 0, 1);

	/* alice's notAfter: expired since, refused as without a cache. */
	/*
	 * The entry ends with the earliest notAfter on the path: the CA's
	 * when tests/pki.sh made it a second before alice's.
	 */
	end = crt_time("client.pem", 1);
	if (crt_time("ca.pem", 1) < end)
		end = crt_time("ca.pem", 1);
	fake_now = end - 30;
	OK(&ctx, "alice", 0, 0);
	fake_now = end - 1;
	OK(&ctx, "alice", 0, 1);
	fake_now = end + 1;
	REFUSED(&ctx, "alice", "FAILED:certificate has expired");
	REFUSED(&ctx, "alice", "FAILED:certificate has expired");
	tls_ctx_free(&ctx);

	/* The trust anchor expires before carol, who is in no chain sent. */
	load(&ctx, "shortca.pem", NULL, TLS_VERIFY_REQUIRE);
	end = crt_time("shortca.pem", 1);
	CHECK(end < crt_time("carol.pem", 1), "carol outlives her CA");
	fake_now = end - 30;
	OK(&ctx, "carol", 0, 0);
	fake_now = end - 1;
	OK(&ctx, "carol", 0, 1);
	fake_now = end + 1;
	REFUSED(&ctx, "carol", "FAILED:certificate has expired");
	/*
	 * notBefore: the latest start on the path bounds the entry from
	 * below, carol's when she was signed a second after her CA.
	 */
	fake_now = crt_time("shortca.pem", 0);
	if (crt_time("carol.pem", 0) > fake_now)
		fake_now = crt_time("carol.pem", 0);
	OK(&ctx, "carol", 0, 0);
	OK(&ctx, "carol", 0, 1);
	tls_ctx_free(&ctx);

	/*
	 * The CRL's nextUpdate ends the entry too.  (GnuTLS itself goes on
	 * accepting with a CRL past its nextUpdate: verified again, the
	 * answer is GnuTLS's as before.)
	 */
	load(&ctx, "ca.pem", "crlday.pem", TLS_VERIFY_REQUIRE);
	end = crl_next("crlday.pem");
	fake_now = end - 30;
	OK(&ctx, "alice", 0, 0);
	fake_now = end - 1;
	OK(&ctx, "alice", 0, 1);
	fake_now = end;
	{
		struct tls_conn c;
		int calls = verify_calls;

		conn(&ctx, "alice", 0, &c, NULL);
		CHECK(!c.verify_cached && verify_calls == calls + 1,
		    "after nextUpdate: cached=%d", c.verify_cached);
	}
	REFUSED(&ctx, "revoked", "FAILED:certificate revoked");
	tls_ctx_free(&ctx);
	fake_now = 0;
}

/*
 * CPU of tls_accept() per resumed connection, the cache hit each time
 * or (the clock moved a minute on each time) never.
 */
static void
bench(int n)
{
	struct tls_ctx ctx;
	struct tls_conn c;
	long long hit = 0, miss = 0;
	time_t t0;
	int i, calls;

	load(&ctx, "ca.pem", "crl.pem", TLS_VERIFY_REQUIRE);
	t0 = fake_now = time(NULL);
	conn(&ctx, "alice", 0, &c, NULL);
	for (i = 0; i < n; i++) {
		/* A minute on: the entry has ended, verified again. */
		fake_now = t0 + 61 * (i + 1);
		calls = verify_calls;
		conn(&ctx, "alice", 1, &c, &miss);
		if (c.verify_cached || verify_calls != calls + 1 ||
		    !last_resumed) {
			fprintf(stderr, "bench: no verified resumption\n");
			exit(1);
		}
		conn(&ctx, "alice", 1, &c, &hit);
		if (!c.verify_cached || verify_calls != calls + 1 ||
		    !last_resumed) {
			fprintf(stderr, "bench: no cached resumption\n");
			exit(1);
		}
	}
	printf("tls_accept CPU per resumed connection, %d each: "
	    "verified %.1f us, cache hit %.1f us, saved %.1f us\n", n,
	    (double)miss / n, (double)hit / n, (double)(miss - hit) / n);
	tls_ctx_free(&ctx);
	fake_now = 0;
}

int
main(int argc, char **argv)
{
	if ((pki = getenv("UNIT_PKI")) == NULL || *pki == '\0')
		pki = "tests/unit/pki";
	make_pki();
	gnutls_global_set_time_function(time);
	if (argc == 3 && strcmp(argv[1], "bench") == 0) {
		bench(atoi(argv[2]));
		return 0;
	}
	test_first();
	test_hits();
	test_evict();
	test_reload();
	test_expiry();
	return unit_done("verify");
}
