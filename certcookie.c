/*
 * certcookie: put the TLS client certificate into the Cookie header of
 * every HTTP/1.x request on a connection, after removing every client
 * copy of it.  A stdin-to-stdout filter, or a proxy that runs COMMAND
 * (or connects to --connect) and relays both directions.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "cookie.h"
#include "encode.h"
#include "engine.h"
#include "exits.h"
#include "handoff.h"
#include "http1.h"
#include "log.h"
#include "net.h"
#include "num.h"
#include "spawn.h"

#ifndef VERSION
#define VERSION "0.1"
#endif

struct config {
	const char	*name;
	enum cert_encoding enc;
	const char	*cert_env;
	const char	*cert_file;
	int		 chain;
	int		 fields;
	const char	*header;
	int		 no_cookie;
	int		 reject_spoof;
	size_t		 max_head;
	size_t		 max_fields;
	size_t		 max_value;
	int		 allow_unverified;
	const char	*upgrade;
	int		 allow_connect;
	const char	*connect;
	unsigned	 head_timeout;	/* seconds */
	unsigned	 body_timeout;
	unsigned	 connect_timeout;
	unsigned	 response_timeout;
	int		 verbose;
	char		**cmd;
};

static struct config cfg = {
	.name = "CERT",
	.enc = CERT_ENC_BASE64URL,
	.cert_env = "SSL_CLIENT_CERT",
	.max_head = 65536,
	.max_fields = HTTP1_MAX_FIELDS,
	.max_value = 6144,
	.upgrade = "websocket",
	.head_timeout = 60,
	.body_timeout = 60,
	.connect_timeout = 10,
	.response_timeout = 60,
	.verbose = 1,
};

static struct cookie_cfg ck;

/* Growable string, used only while setting up. */
struct str {
	char	*s;
	size_t	 len, cap;
};

static void
str_add(struct str *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->s = realloc(b->s, b->cap)) == NULL)
			fatal(EX_OSERR, "realloc");
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

/* Options. */
enum {
	O_NAME = 'n', O_ENCODING = 'e', O_VERBOSE = 'v', O_CERT_FILE = 'f',
	O_CONNECT = 'c', O_CERT_ENV = 256, O_CHAIN, O_NO_CHAIN, O_FIELDS,
	O_NO_FIELDS, O_HEADER, O_NO_COOKIE, O_REJECT_SPOOF, O_NO_REJECT_SPOOF,
	O_MAX_HEADER, O_MAX_VALUE, O_ALLOW_UNVERIFIED, O_NO_ALLOW_UNVERIFIED,
	O_UPGRADE, O_ALLOW_CONNECT, O_NO_ALLOW_CONNECT, O_QUIET,
	O_HEAD_TIMEOUT, O_BODY_TIMEOUT, O_CONNECT_TIMEOUT, O_RESPONSE_TIMEOUT,
	O_MAX_FIELDS,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "The certificate:", 1 },
	{ "cert-env", O_CERT_ENV, "VAR", 0,
	    "Read the PEM certificate from VAR (default SSL_CLIENT_CERT)", 1 },
	{ "cert-file", O_CERT_FILE, "FILE", 0,
	    "Read the certificate from FILE (PEM or DER)", 1 },
	{ "allow-unverified", O_ALLOW_UNVERIFIED, NULL, 0,
	    "Forward a certificate whose SSL_CLIENT_VERIFY is not SUCCESS, "
	    "with a NAME_VERIFY cookie", 1 },
	{ "no-allow-unverified", O_NO_ALLOW_UNVERIFIED, NULL, 0,
	    "Forward only verified certificates (default)", 1 },
	{ NULL, 0, NULL, 0, "What is sent:", 2 },
	{ "name", O_NAME, "NAME", 0, "Cookie name (default CERT)", 2 },
	{ "encoding", O_ENCODING, "ENC", 0,
	    "base64url (default, no padding), base64, pem-url or rfc9440",
	    2 },
	{ "chain", O_CHAIN, NULL, 0,
	    "Also send NAME_CHAIN from SSL_CLIENT_CERT_CHAIN_n", 2 },
	{ "no-chain", O_NO_CHAIN, NULL, 0, "Do not send the chain (default)",
	    2 },
	{ "fields", O_FIELDS, NULL, 0,
	    "Also send NAME_S_DN, NAME_I_DN, NAME_SERIAL, NAME_V_START, "
	    "NAME_V_END, NAME_SHA256 and NAME_VERIFY", 2 },
	{ "no-fields", O_NO_FIELDS, NULL, 0, "Do not send fields (default)",
	    2 },
	{ "header", O_HEADER, "FIELD", 0,
	    "Also send the RFC 9440 header FIELD (e.g. Client-Cert), and "
	    "FIELD-Chain with --chain", 2 },
	{ "no-cookie", O_NO_COOKIE, NULL, 0,
	    "Send no cookie, only the --header field", 2 },
	{ "max-value-bytes", O_MAX_VALUE, "N", 0,
	    "Send a NAME_SHA256 fingerprint instead of a larger value "
	    "(default 6144)", 2 },
	{ NULL, 0, NULL, 0, "Requests:", 3 },
	{ "reject-spoof", O_REJECT_SPOOF, NULL, 0,
	    "Answer 400 to a request carrying a client copy of our cookie "
	    "or header, instead of removing it", 3 },
	{ "no-reject-spoof", O_NO_REJECT_SPOOF, NULL, 0,
	    "Remove client copies silently (default)", 3 },
	{ "max-header-bytes", O_MAX_HEADER, "N", 0,
	    "Largest request head or trailer section (default 65536)", 3 },
	{ "max-fields", O_MAX_FIELDS, "N", 0,
	    "Most fields in a request head as forwarded, ours counted, or in "
	    "a trailer section (default 100)", 3 },
	{ "upgrade", O_UPGRADE, "LIST", 0,
	    "Upgrade tokens forwarded, comma-separated (default websocket; "
	    "never h2c)", 3 },
	{ "allow-connect", O_ALLOW_CONNECT, NULL, 0,
	    "Forward CONNECT instead of answering 405", 3 },
	{ "no-allow-connect", O_NO_ALLOW_CONNECT, NULL, 0,
	    "Answer CONNECT with 405 (default)", 3 },
	{ "head-timeout", O_HEAD_TIMEOUT, "SECS", 0,
	    "Answer 408 to a request head not complete SECS after its "
	    "first byte (default 60)", 3 },
	{ "body-timeout", O_BODY_TIMEOUT, "SECS", 0,
	    "End a request whose body sends nothing for SECS (default 60)",
	    3 },
	{ NULL, 0, NULL, 0, "The backend:", 4 },
	{ "connect", O_CONNECT, "HOST:PORT", 0,
	    "Connect to HOST:PORT or unix:PATH instead of running COMMAND", 4 },
	{ "connect-timeout", O_CONNECT_TIMEOUT, "SECS", 0,
	    "Answer 504 when --connect takes longer (default 10)", 4 },
	{ "response-timeout", O_RESPONSE_TIMEOUT, "SECS", 0,
	    "Answer 504 when the backend sends nothing of a response for "
	    "SECS (default 60)", 4 },
	{ NULL, 0, NULL, 0, "Logging:", 5 },
	{ "verbose", O_VERBOSE, NULL, 0,
	    "Log more (repeat for debug)", 5 },
	{ "quiet", O_QUIET, NULL, 0, "Log nothing but fatal errors", 5 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

static size_t
parse_size(struct argp_state *state, const char *opt, const char *arg,
    size_t min, size_t max)
{
	unsigned long long v;

	if (num_parse(arg, min, max, &v) == -1)
		argp_error(state, "%s: %s: must be a number from %zu to %zu",
		    opt, arg, min, max);
	return (size_t)v;
}

/* The options that take a number. */
static error_t
parse_number(int key, char *arg, struct argp_state *state)
{
	struct config *c = state->input;

	switch (key) {
	case O_MAX_HEADER:
		c->max_head = parse_size(state, "--max-header-bytes", arg, 256,
		    16 << 20);
		break;
	case O_MAX_FIELDS:
		c->max_fields = parse_size(state, "--max-fields", arg, 1,
		    HTTP1_MAX_FIELDS_LIMIT);
		break;
	case O_MAX_VALUE:
		c->max_value = parse_size(state, "--max-value-bytes", arg, 0,
		    1 << 20);
		break;
	case O_HEAD_TIMEOUT:
		c->head_timeout = parse_size(state, "--head-timeout", arg, 1,
		    86400);
		break;
	case O_BODY_TIMEOUT:
		c->body_timeout = parse_size(state, "--body-timeout", arg, 1,
		    86400);
		break;
	case O_CONNECT_TIMEOUT:
		c->connect_timeout = parse_size(state, "--connect-timeout",
		    arg, 1, 86400);
		break;
	case O_RESPONSE_TIMEOUT:
		c->response_timeout = parse_size(state, "--response-timeout",
		    arg, 1, 86400);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t
parse_opt(int key, char *arg, struct argp_state *state)
{
	struct config *c = state->input;

	switch (key) {
	case O_NAME:
		c->name = arg;
		break;
	case O_ENCODING:
		if (strcmp(arg, "base64url") == 0)
			c->enc = CERT_ENC_BASE64URL;
		else if (strcmp(arg, "base64") == 0)
			c->enc = CERT_ENC_BASE64;
		else if (strcmp(arg, "pem-url") == 0)
			c->enc = CERT_ENC_PEM_URL;
		else if (strcmp(arg, "rfc9440") == 0)
			c->enc = CERT_ENC_RFC9440;
		else
			argp_error(state, "--encoding: %s: unknown encoding "
			    "(base64url, base64, pem-url, rfc9440)", arg);
		break;
	case O_CERT_ENV:
		c->cert_env = arg;
		break;
	case O_CERT_FILE:
		c->cert_file = arg;
		break;
	case O_CHAIN:
	case O_NO_CHAIN:
		c->chain = key == O_CHAIN;
		break;
	case O_FIELDS:
	case O_NO_FIELDS:
		c->fields = key == O_FIELDS;
		break;
	case O_HEADER:
		c->header = arg;
		break;
	case O_NO_COOKIE:
		c->no_cookie = 1;
		break;
	case O_REJECT_SPOOF:
	case O_NO_REJECT_SPOOF:
		c->reject_spoof = key == O_REJECT_SPOOF;
		break;
	case O_ALLOW_UNVERIFIED:
	case O_NO_ALLOW_UNVERIFIED:
		c->allow_unverified = key == O_ALLOW_UNVERIFIED;
		break;
	case O_UPGRADE:
		c->upgrade = arg;
		break;
	case O_ALLOW_CONNECT:
	case O_NO_ALLOW_CONNECT:
		c->allow_connect = key == O_ALLOW_CONNECT;
		break;
	case O_CONNECT:
		c->connect = arg;
		break;
	case O_VERBOSE:
		c->verbose++;
		break;
	case O_QUIET:
		c->verbose = 0;
		break;
	case ARGP_KEY_END:
		if (c->no_cookie && c->header == NULL)
			argp_error(state, "--no-cookie needs --header");
		break;
	default:
		return parse_number(key, arg, state);
	}
	return 0;
}

const char *argp_program_version = "certcookie " VERSION;
const char *argp_program_bug_address = NULL;

static const struct argp argp = {
	options, parse_opt, "[-- COMMAND [ARG...]]",
	"Insert the TLS client certificate into the Cookie header of every "
	"HTTP/1.x request.\v"
	"Without COMMAND or --connect, certcookie filters requests from "
	"standard input to standard output.  With one, it relays both "
	"directions between standard input/output (the client) and the "
	"backend.  Exit status: 0 clean end, 64 usage, 65 bad request, 66 "
	"certificate unreadable, 69 backend unreachable or faulty, 70 "
	"internal, 71 fork or exec, 74 I/O error, 126/127 COMMAND not "
	"executable/found.",
	NULL, NULL, NULL,
};

/* Add "NAME_SUFFIX=pct(value)" to a cookie list. */
static void
add_field(struct str *b, const char *suffix, const char *value)
{
	char *enc;

	if (value == NULL)
		return;
	if ((enc = malloc(ENCODE_PCT_LEN(strlen(value)) + 1)) == NULL)
		fatal(EX_OSERR, "malloc");
	encode_percent(enc, value, strlen(value));
	if (b->len)
		str_cat(b, "; ");
	str_cat(b, cfg.name);
	str_cat(b, suffix);
	str_cat(b, "=");
	str_cat(b, enc);
	free(enc);
}

/* Load the certificate named by the configuration; 0 if there is none. */
static int
load_cert(struct cert *c)
{
	const char *pem;

	if (cfg.cert_file) {
		if (cert_load_file(c, cfg.cert_file) == -1)
			fatal(EX_NOINPUT, "unable to read certificate %s",
			    cfg.cert_file);
		return 1;
	}
	pem = getenv(cfg.cert_env);
	if (pem == NULL || *pem == '\0')
		return 0;
	if (cert_load_mem(c, pem, strlen(pem)) == -1)
		fatal(EX_NOINPUT, "unable to read the certificate in %s",
		    cfg.cert_env);
	return 1;
}

/*
 * Encode the chain from SSL_CLIENT_CERT_CHAIN_0.. as sep-separated
 * values of enc.  Returns NULL when there is none.
 */
static char *
chain_value(enum cert_encoding enc, const char *sep)
{
	struct str b = { NULL, 0, 0 };
	char var[64], *v;
	const char *pem;
	struct cert c;
	size_t len;
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(var, sizeof var, "SSL_CLIENT_CERT_CHAIN_%d", i);
		if ((pem = getenv(var)) == NULL || *pem == '\0')
			break;
		if (cert_load_mem(&c, pem, strlen(pem)) == -1)
			fatal(EX_NOINPUT, "unable to read the certificate in %s",
			    var);
		if ((v = cert_encode(&c, enc, &len)) == NULL)
			fatal(EX_SOFTWARE, "cert_encode");
		if (b.len)
			str_cat(&b, sep);
		str_add(&b, v, len);
		free(v);
		cert_free(&c);
	}
	return b.s;
}

/*
 * The fields of a certificate that came with its description in the
 * environment (tlsfront, mod_ssl): no X.509 parsing, so no GnuTLS to
 * load.  Returns -1 when the certificate did not come from there or the
 * description is incomplete.
 */
static int
fields_from_tlsfront(const struct cert *c, struct cert_fields *f)
{
	static const char *const need[] = { "SSL_CLIENT_S_DN",
	    "SSL_CLIENT_I_DN", "SSL_CLIENT_M_SERIAL", "SSL_CLIENT_V_START",
	    "SSL_CLIENT_V_END" };
	size_t i;

	if (cfg.cert_file || strcmp(cfg.cert_env, "SSL_CLIENT_CERT") != 0)
		return -1;
	for (i = 0; i < sizeof need / sizeof need[0]; i++)
		if (getenv(need[i]) == NULL)
			return -1;
	memset(f, 0, sizeof *f);
	if (cert_fields_from_env(f) == -1 ||
	    (f->sha256 = malloc(ENCODE_HEX_LEN(32) + 1)) == NULL)
		fatal(EX_OSERR, "malloc");
	cert_sha256_hex(c, f->sha256);
	return 0;
}

/* NAME=cert, and NAME_CHAIN with --chain, to the cookie list. */
static void
add_cert_cookie(struct str *add, const struct cert *c)
{
	char *v, *chain;
	size_t len;

	if ((v = cert_encode(c, cfg.enc, &len)) == NULL)
		fatal(EX_SOFTWARE, "cert_encode");
	if (len > cfg.max_value) {
		char hex[ENCODE_HEX_LEN(32) + 1];

		log_warnx("certificate is %zu bytes encoded, over "
		    "--max-value-bytes %zu: sending %s_SHA256 instead",
		    len, cfg.max_value, cfg.name);
		cert_sha256_hex(c, hex);
		if (!cfg.fields)
			add_field(add, "_SHA256", hex);
	} else {
		str_cat(add, cfg.name);
		str_cat(add, "=");
		str_add(add, v, len);
	}
	free(v);
	if (cfg.chain && (chain = chain_value(cfg.enc, ".")) != NULL) {
		if (strlen(chain) + 1 > cfg.max_value)
			log_warnx("chain over --max-value-bytes: not "
			    "sent");
		else {
			str_cat(add, "; ");
			str_cat(add, cfg.name);
			str_cat(add, "_CHAIN=");
			str_cat(add, chain);
		}
		free(chain);
	}
}

/* The --header field, and its -Chain with --chain. */
static void
add_cert_header(struct str *fld, const struct cert *c)
{
	char *v, *chain;
	size_t len;

	if ((v = cert_encode(c, CERT_ENC_RFC9440, &len)) == NULL)
		fatal(EX_SOFTWARE, "cert_encode");
	str_cat(fld, cfg.header);
	str_cat(fld, ": ");
	str_add(fld, v, len);
	str_cat(fld, "\r\n");
	free(v);
	if (cfg.chain &&
	    (chain = chain_value(CERT_ENC_RFC9440, ", ")) != NULL) {
		str_cat(fld, ck.header_chain);
		str_cat(fld, ": ");
		str_cat(fld, chain);
		str_cat(fld, "\r\n");
		free(chain);
	}
}

/*
 * Work out, once per connection, what every request gets: the cookie
 * list (ck.add) and the header fields (ck.fields).  Whatever an earlier
 * connection set is forgotten first.
 */
static void
setup_values(void)
{
	static struct str add, fld;
	struct cert_fields f;
	struct cert c;
	const char *verify = getenv("SSL_CLIENT_VERIFY");
	int have, verified;
	char *v;

	add.len = fld.len = 0;
	ck.fields_count = 0;
	memset(&f, 0, sizeof f);
	have = load_cert(&c);
	verified = verify == NULL || strcmp(verify, "SUCCESS") == 0;
	if (have && !verified && !cfg.allow_unverified) {
		log_warnx("certificate not forwarded: SSL_CLIENT_VERIFY=%s",
		    verify);
		cert_free(&c);
		have = 0;
	}
	if (have && cfg.fields && fields_from_tlsfront(&c, &f) == -1 &&
	    cert_fields_get(&c, &f) == -1)
		fatal(EX_NOINPUT, "unable to read the certificate's fields");
	if (have && !cfg.no_cookie)
		add_cert_cookie(&add, &c);
	if (cfg.fields && (have || verify == NULL || verified)) {
		if (cert_fields_from_env(&f) == -1)
			fatal(EX_OSERR, "cert_fields_from_env");
		if (!cfg.no_cookie) {
			add_field(&add, "_S_DN", f.s_dn);
			add_field(&add, "_I_DN", f.i_dn);
			add_field(&add, "_SERIAL", f.serial);
			add_field(&add, "_V_START", f.v_start);
			add_field(&add, "_V_END", f.v_end);
			add_field(&add, "_SHA256", f.sha256);
		}
	}
	if (!cfg.no_cookie && verify && ((have && !verified) ||
	    (cfg.fields && (have || verified))))
		add_field(&add, "_VERIFY", verify);
	if (have && cfg.header)
		add_cert_header(&fld, &c);
	if (have)
		cert_free(&c);
	cert_fields_free(&f);
	ck.add = add.s;
	ck.add_len = add.len;
	ck.fields = fld.s;
	ck.fields_len = fld.len;
	for (v = fld.s; v && (v = strstr(v, "\r\n")) != NULL; v += 2)
		ck.fields_count++;
	log_debug("cookie: %s", add.s ? add.s : "(none)");
}
/* The engine's notes. */
static void
engine_log(int level, const char *msg)
{
	if (level <= 1)
		log_warnx("%s", msg);
	else if (level == 2)
		log_info("%s", msg);
	else
		log_debug("%s", msg);
}

/*
 * Filter mode: a body's bytes straight from stdin to stdout.  Returns 1
 * to go on, 0 to read instead (the input ended, or cannot splice).
 */
static int
filter_splice(struct engine *e, int *splice_ok)
{
	ssize_t n;

	n = flow_splice_through(&e->rq, e->rqb.left > SIZE_MAX ? SIZE_MAX :
	    (size_t)e->rqb.left);
	if (n > 0)
		body_took(&e->rqb, n);
	if (n > 0 || n == -2)
		return 1;
	if (n == -1 && errno != EINVAL)
		fatal(EX_IOERR, "splice");
	if (n == -1)
		*splice_ok = 0;
	return 0;
}

/*
 * Filter mode: stdin to stdout, blocking.  Bodies move with splice(2)
 * when either end is a pipe.
 */
static int
run_filter(struct engine *e, int splice_ok)
{
	struct flow *s = &e->rq;
	ssize_t n;

	for (;;) {
		size_t r0 = s->r;
		int progress;

		if (engine_requests(e) == -1)
			fatalx(EX_SOFTWARE, "%s", e->fault);
		/*
		 * The feeder also stops when the iovec queue is full, with
		 * whole requests still buffered: read only once it has
		 * nothing left to do, or their end would look like a
		 * truncated request.
		 */
		progress = s->r != r0 || s->niov > 0;
		if (flow_flush(s) == -1)
			fatal(EX_IOERR, "write");
		engine_requests_written(e);
		if (e->rqs == RQ_STOP)
			return EX_DATAERR;
		flow_compact(s);
		if (progress)
			continue;
		if (s->r == s->w && e->rqs == RQ_BODY && e->rqb.left > 0 &&
		    body_counted(&e->rqb) && splice_ok &&
		    filter_splice(e, &splice_ok))
			continue;
		if (s->w == s->cap) {
			/* Only a head can fill the buffer. */
			engine_refuse(e, 431, "request head too large", 0);
			continue;
		}
		if ((n = flow_fill(s)) == -1)
			fatal(EX_IOERR, "read");
		if (n == 0) {
			if (e->rqs == RQ_HEAD && s->r == s->w)
				return 0;
			log_warnx("end of input inside a request");
			return EX_DATAERR;
		}
	}
}

static void
nonblock(int fd)
{
	if (net_nonblock(fd) == -1)
		fatal(EX_OSERR, "fcntl");
}

/* Shut down writing to fd, or close it when it is not a socket. */
static void
shut(int fd)
{
	if (shutdown(fd, SHUT_WR) == -1 && errno == ENOTSOCK)
		close(fd);
}

static int
gone(int err)
{
	return err == EPIPE || err == ECONNRESET;
}

/*
 * Answer the client at once, outside the engine: the backend could not
 * be reached (502), or not in time (504).  Returns EX_UNAVAILABLE.
 */
static int
answer_now(int fd, int status)
{
	static char msg[256];
	size_t len = engine_error_text(msg, sizeof msg, status);
	ssize_t n;

	do
		n = write(fd, msg, len);
	while (n == -1 && errno == EINTR);
	shut(fd);
	return EX_UNAVAILABLE;
}

/* The proxy's poll(2) slots. */
enum slot {
	CLIENT_IN,	/* requests from the client */
	BACKEND_OUT,	/* requests to the backend */
	BACKEND_IN,	/* responses from the backend */
	CLIENT_OUT,	/* responses to the client */
	NSLOTS,
};

/*
 * Write what both streams have queued.  Returns -1 when the client
 * went away, else 0.
 */
static int
proxy_send(struct engine *e)
{
	struct flow *q = &e->rq, *p = &e->rs;
	int r;

	if (flow_pending(q) && !q->shut) {
		r = flow_send(q);
		if (r == -1 && !gone(errno))
			fatal(EX_IOERR, "write to the backend");
		/* The backend stopped reading: so do we. */
		if (r == -1)
			engine_backend_gone(e);
	}
	if (q->iov_first == q->niov) {
		engine_requests_written(e);
		flow_compact(q);
	}
	if (flow_pending(p)) {
		r = flow_send(p);
		if (r == -1 && !gone(errno))
			fatal(EX_IOERR, "write to the client");
		if (r == -1) {
			log_info("client went away");
			return -1;
		}
	}
	if (p->iov_first == p->niov)
		flow_compact(p);
	return 0;
}

/* Fill the poll slots; *qraw and *praw get what may be spliced. */
static void
proxy_slots(struct engine *e, int bfd, struct pollfd *pfd, uint64_t *qraw,
    uint64_t *praw)
{
	struct flow *q = &e->rq, *p = &e->rs;
	int i;

	*qraw = q->eof || e->rqs == RQ_STOP ? 0 : engine_raw_requests(e);
	*praw = p->eof ? 0 : engine_raw_responses(e);
	memset(pfd, 0, NSLOTS * sizeof *pfd);
	for (i = 0; i < NSLOTS; i++)
		pfd[i].fd = -1;
	if (!q->eof && e->rqs != RQ_STOP &&
	    (*qraw ? q->inpipe == 0 : q->w < q->cap)) {
		pfd[CLIENT_IN].fd = 0;
		pfd[CLIENT_IN].events = POLLIN;
	}
	if (flow_pending(q) && !q->shut) {
		pfd[BACKEND_OUT].fd = bfd;
		pfd[BACKEND_OUT].events = POLLOUT;
	}
	if (!p->eof && !e->x.err_sent &&
	    (*praw ? p->inpipe == 0 : p->w < p->cap)) {
		pfd[BACKEND_IN].fd = bfd;
		pfd[BACKEND_IN].events = POLLIN;
	}
	if (flow_pending(p)) {
		pfd[CLIENT_OUT].fd = 1;
		pfd[CLIENT_OUT].events = POLLOUT;
	}
	for (i = 0; i < NSLOTS; i++)
		if (pfd[i].fd != -1)
			return;
	fatalx(EX_SOFTWARE, "relay stalled (state %d/%d)", e->rqs, e->rss);
}

/* Wait for the fds and the clocks, then read what came. */
static void
proxy_wait(struct engine *e, int bfd)
{
	struct pollfd pfd[NSLOTS];
	uint64_t qraw, praw;

	proxy_slots(e, bfd, pfd, &qraw, &praw);
	if (poll(pfd, NSLOTS, engine_wait_ms(e, net_now_ms())) == -1) {
		if (errno == EINTR)
			return;
		fatal(EX_OSERR, "poll");
	}
	if (pfd[CLIENT_IN].revents &&
	    engine_read_client(e, qraw, net_now_ms()) == -1)
		fatal(EX_IOERR, "read from the client");
	if (pfd[BACKEND_IN].revents &&
	    engine_read_backend(e, praw, net_now_ms()) == -1)
		fatal(EX_IOERR, "read from the backend");
	if (engine_expire(e, net_now_ms()))
		(void)shutdown(bfd, SHUT_RDWR);
}

/* Feed both streams.  Returns whether anything moved. */
static int
proxy_process(struct engine *e)
{
	int r = engine_process(e);

	if (r == -1)
		fatalx(EX_SOFTWARE, "%s", e->fault);
	return r;
}

/*
 * Proxy mode: relay client (fds 0 and 1) and backend (bfd) both ways
 * with one poll loop.
 */
static int
run_proxy(struct engine *e, int bfd)
{
	enum engine_verdict verdict;
	int shut_backend;

	engine_attach(e, 0, 1, bfd);
	nonblock(0);
	nonblock(1);
	nonblock(bfd);
	for (;;) {
		proxy_process(e);
		if (proxy_send(e) == -1)
			return e->status;
		/*
		 * A pipe drained or a state changed: parse again before
		 * judging where the streams stand, or polling.
		 */
		if (proxy_process(e))
			continue;
		verdict = engine_verdict(e, &shut_backend);
		if (shut_backend)
			shut(bfd);
		switch (verdict) {
		case ENGINE_AGAIN:
			continue;
		case ENGINE_END:
			shut(1);
			return e->status;
		case ENGINE_UNANSWERED:
			return e->status = answer_now(1, 502);
		case ENGINE_POLL:
			break;
		}
		proxy_wait(e, bfd);
	}
}
/* In COMMAND's process: its socket as stdin and stdout. */
static int
command_fds(void *arg)
{
	int fd = *(int *)arg;

	signal(SIGPIPE, SIG_DFL);
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
		return -1;
	return 0;
}

/*
 * Run COMMAND on a socketpair.  Returns our end; *status gets 126 or 127
 * when COMMAND could not be run.
 */
static int
spawn(char **argv, int *status)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal(EX_OSERR, "socketpair");
	if ((pid = spawn_run(argv, environ, command_fds, &sv[1])) == -1)
		fatal(EX_OSERR, "fork");
	close(sv[1]);
	*status = 0;
	if (pid == 0) {
		log_warn("unable to run %s", argv[0]);
		*status = spawn_status(errno);
	}
	return sv[0];
}

/*
 * Connect to --connect within --connect-timeout.  Returns the fd, or -1
 * (errno ETIMEDOUT when the time ran out).
 */
static int
connect_backend(const char *spec)
{
	const char *why;
	int fd;

	fd = net_connect(spec, net_now_ms() + cfg.connect_timeout * 1000ull,
	    &why);
	if (fd == -1 && why != NULL)
		log_warnx("%s: %s", spec, why);
	return fd;
}

static int	serve(struct engine *);

/*
 * Under tlsfront --handoff: connection after connection from hfd, each
 * with its own environment, which replaces the whole of ours, and its
 * own values and engine state; fds 0 and 1 are the connection while it
 * lasts, /dev/null between connections.  End of file on hfd: exit 0.
 * A connection whose handling exits the process (a fatal error) ends
 * it, and tlsfront starts us again.
 */
static int
serve_handoff(int hfd, struct engine *e)
{
	static struct handoff_msg m;	/* static: reachable until exit */
	int fd, null, status, r;

	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		fatal(EX_OSERR, "/dev/null");
	(void)fcntl(hfd, F_SETFD, FD_CLOEXEC);
	/* A connector COMMAND per connection, reaped by the kernel. */
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((r = handoff_recv(hfd, &fd, &m)) == 0)
			return 0;
		if (r == -1 && errno == EBADMSG) {
			log_warnx("%s: a message without one connection and "
			    "its environment: ignored", HANDOFF_ENV);
			status = EX_PROTOCOL;
		} else if (r == -1) {
			fatal(EX_OSERR, "%s", HANDOFF_ENV);
		} else {
			environ = m.env;
			if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
				fatal(EX_OSERR, "dup2");
			close(fd);
			engine_reset(e);
			setup_values();
			status = serve(e);
			/* The connection's last reference: closed now. */
			if (dup2(null, 0) == -1 || dup2(null, 1) == -1)
				fatal(EX_OSERR, "dup2");
		}
		if (handoff_done(hfd, status) == -1)
			fatal(EX_OSERR, "%s", HANDOFF_ENV);
	}
}

static char *
lower_dup(const char *s)
{
	char *d = strdup(s), *p;

	if (d == NULL)
		fatal(EX_OSERR, "strdup");
	for (p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return d;
}

int
main(int argc, char *argv[])
{
	struct engine_cfg ecfg;
	static struct engine conn;	/* static: reachable until exit */
	const char *port;
	char host[256];
	int idx, hfd;

	signal(SIGPIPE, SIG_IGN);
	log_init(argv[0], 1, 0);
	if (argp_parse(&argp, argc, argv, ARGP_NO_ARGS, &idx, &cfg) != 0)
		return EX_USAGE;
	if (idx < argc)
		cfg.cmd = argv + idx;
	if (cfg.cmd && cfg.connect)
		fatalx(EX_USAGE, "--connect and COMMAND exclude each other");
	if (cfg.connect && strncmp(cfg.connect, "unix:", 5) != 0 &&
	    (net_hostport(cfg.connect, host, sizeof host, &port) == -1 ||
	    *port == '\0'))
		fatalx(EX_USAGE, "--connect: %s: want HOST:PORT or unix:PATH",
		    cfg.connect);
	log_init(argv[0], cfg.verbose, 0);

	if (cookie_upgrade_check(cfg.upgrade) == -1)
		fatalx(EX_USAGE, "--upgrade: h2c can never be allowed: "
		    "its requests could not be rewritten");
	if (cookie_cfg_init(&ck, cfg.name, cfg.header) == -1)
		fatalx(EX_USAGE, "--name %s or --header %s: not a valid token",
		    cfg.name, cfg.header ? cfg.header : "");
	ck.upgrade = lower_dup(cfg.upgrade);
	ck.reject_spoof = cfg.reject_spoof;
	ck.max_fields = cfg.max_fields;

	/* All memory the connection needs, allocated once. */
	memset(&ecfg, 0, sizeof ecfg);
	ecfg.ck = &ck;
	ecfg.max_head = cfg.max_head;
	ecfg.allow_connect = cfg.allow_connect;
	ecfg.proxy = cfg.cmd != NULL || cfg.connect != NULL;
	ecfg.head_timeout = cfg.head_timeout;
	ecfg.body_timeout = cfg.body_timeout;
	ecfg.response_timeout = cfg.response_timeout;
	ecfg.log = engine_log;
	if (engine_init(&conn, &ecfg) == -1)
		fatal(EX_OSERR, "malloc");

	if ((hfd = handoff_fd()) == -2)
		fatalx(EX_USAGE, "%s: not a SOCK_SEQPACKET socket",
		    HANDOFF_ENV);
	if (hfd >= 0)
		return serve_handoff(hfd, &conn);
	setup_values();
	return serve(&conn);
}

/*
 * Serve one connection, on fds 0 and 1, with the values set up for it.
 * Returns the exit status.
 */
static int
serve(struct engine *e)
{
	int bfd, status, splice_ok;
	struct stat st;

	if (cfg.cmd == NULL && cfg.connect == NULL) {
		engine_attach(e, 0, 1, -1);
		splice_ok = fstat(0, &st) == 0 && fstat(1, &st) == 0;
		/* Larger pipes: fewer wake-ups of the reader and writer. */
		(void)fcntl(0, F_SETPIPE_SZ, 1 << 20);
		(void)fcntl(1, F_SETPIPE_SZ, 1 << 20);
		status = run_filter(e, splice_ok);
		log_info("%llu requests, %llu bytes in, exit %d",
		    (unsigned long long)e->x.sent,
		    (unsigned long long)e->rq.bytes, status);
		return status;
	}
	if (cfg.connect) {
		if ((bfd = connect_backend(cfg.connect)) == -1) {
			log_warn("unable to connect to %s", cfg.connect);
			return errno == ETIMEDOUT ? answer_now(1, 504) :
			    answer_now(1, 502);
		}
	} else {
		bfd = spawn(cfg.cmd, &status);
		if (status) {
			answer_now(1, 502);
			return status;
		}
	}
	status = run_proxy(e, bfd);
	log_info("%llu requests, %llu answered, %llu bytes from the client, "
	    "%llu from the backend, exit %d", (unsigned long long)e->x.sent,
	    (unsigned long long)e->x.answered,
	    (unsigned long long)e->rq.bytes,
	    (unsigned long long)e->rs.bytes, status);
	/*
	 * COMMAND sees the end of its socket now, and is left to end on
	 * its own: the client has had everything.
	 */
	close(bfd);
	return status;
}
