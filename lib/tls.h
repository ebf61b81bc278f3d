/* GnuTLS server side: credentials, handshake, client verification, relay. */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

enum tls_verify {
	TLS_VERIFY_NONE,		/* no certificate asked for */
	TLS_VERIFY_OPTIONAL,		/* asked for; if sent, it must verify */
	TLS_VERIFY_OPTIONAL_NO_CA,	/* asked for; any one is accepted */
	TLS_VERIFY_REQUIRE,		/* asked for and must verify */
};

#define TLS_ALPN_MAX	8
#define TLS_PAIRS_MAX	16

/* What the options ask for; strings are the caller's. */
struct tls_config {
	const char	*cert[TLS_PAIRS_MAX];
	const char	*key[TLS_PAIRS_MAX];	/* file or pkcs11: URL */
	size_t		 npairs;
	const char	*ca;
	const char	*crl;
	const char	*priority;
	const char	*alpn;		/* comma-separated, "" for none */
	const char	*ticket_key;	/* NULL: a random key per process */
	enum tls_verify	 verify;
	unsigned	 handshake_ms;
};

/* Everything loaded before the first connection; shared across forks. */
struct tls_ctx {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t	 prio;
	gnutls_datum_t		 ticket;
	gnutls_datum_t		 alpn[TLS_ALPN_MAX];
	unsigned		 nalpn;
	char			 alpn_buf[256];
	enum tls_verify		 verify;
	unsigned		 handshake_ms;
	unsigned long		 gen;		/* which load, for the verify cache */
	char			 err[512];	/* what failed, for messages */
};

/* One connection. */
struct tls_conn {
	gnutls_session_t	 s;
	int			 fd;
	const struct tls_ctx	*ctx;
	int			 gerr;		/* last GnuTLS error */
	int			 verified;	/* verify_peer has run */
	int			 have_cert;	/* a client cert is in play */
	int			 rejected;	/* refused by verify policy */
	int			 verify_cached;	/* SUCCESS without verifying again */
	char			 verify[96];	/* SUCCESS, NONE, FAILED:... */
	char			 sni[256];
	char			 err[256];	/* why the relay ended badly */
	uint64_t		 bytes_in;	/* from the client */
	uint64_t		 bytes_out;	/* to the client */
};

/* Handshake results. */
#define TLS_OK		0
#define TLS_ERR_HANDSHAKE (-1)	/* protocol failure, timeout, EOF */
#define TLS_ERR_CERT	(-2)	/* certificate missing or rejected */
#define TLS_ERR_SYS	(-3)	/* memory or the like; errno set */

/*
 * Check a priority string.  Returns 0, or -1 with ctx->err naming the
 * offending part.
 */
int	tls_priority_check(struct tls_ctx *ctx, const char *prio);

/*
 * Load credentials, CA, CRL, priorities, ticket key and ALPN list into
 * ctx.  Returns 0, or -1 with errno set and ctx->err saying what is
 * unusable; ctx then holds nothing.
 */
int	tls_ctx_load(struct tls_ctx *ctx, const struct tls_config *cfg);
void	tls_ctx_free(struct tls_ctx *ctx);

/*
 * Write a new random session-ticket key to path (created, mode 0600,
 * never overwritten).  Returns 0 or -1 with errno set.
 */
int	tls_ticket_key_new(const char *path);

/*
 * Run the server handshake on the connected socket fd, within
 * ctx->handshake_ms, and verify the client certificate under
 * ctx->verify.  Returns TLS_OK or a TLS_ERR_* value; c->gerr and
 * tls_conn_error() say why.  The session stays in c either way.
 */
int	tls_accept(struct tls_conn *c, const struct tls_ctx *ctx, int fd);
const char *tls_conn_error(const struct tls_conn *c);

/*
 * Export SSL_PROTOCOL, SSL_CIPHER, SSL_TLS_SNI, SSL_SESSION_RESUMED,
 * SSL_CLIENT_VERIFY and the SSL_CLIENT_* certificate fields with
 * certenv_set().  Returns 0 or -1 with errno set.
 */
int	tls_export_env(const struct tls_conn *c);

/* "TLSv1.3", mod_ssl's protocol name; the IANA cipher suite name. */
const char *tls_protocol(const struct tls_conn *c);
const char *tls_cipher(const struct tls_conn *c);

/*
 * Relay between the TLS session and appfd (a socket) until both
 * directions are closed: close_notify from the client becomes
 * shutdown(SHUT_WR) on appfd, end of file on appfd becomes
 * close_notify.  Gives up after idle_ms without traffic.  Both fds
 * are made non-blocking.  Returns 0, or -1 with c->err set.
 */
int	tls_relay(struct tls_conn *c, int appfd, unsigned idle_ms);

/*
 * A connection or process idle this long gives its memory back: the
 * relay buffers' pages and the free pages of the heap.  Idle keep-alive
 * connections and idle workers then cost little, while a stream of
 * requests or connections never pays for it.
 */
#define TLS_IDLE_TRIM_MS	250

/*
 * Give the relay's buffers and the heap's free pages back to the
 * kernel, for a connection or a process that waits idle.
 */
void	tls_relay_release(void);

void	tls_conn_free(struct tls_conn *c);

/* Milliseconds of CLOCK_MONOTONIC, for deadlines. */
long long	tls_now_ms(void);

#endif
