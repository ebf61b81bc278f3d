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
#include "exits.h"
#include "http1.h"
#include "log.h"

#ifndef VERSION
#define VERSION "0.1"
#endif

#define MAXIOV		1024
#define MAXPENDING	256	/* requests awaiting their response */

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
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min ||
	    v > max)
		argp_error(state, "%s: %s: must be a number from %zu to %zu",
		    opt, arg, min, max);
	return (size_t)v;
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
		return ARGP_ERR_UNKNOWN;
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

/* --upgrade may name anything but h2c. */
static void
check_upgrade(const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");

		if (n == 3 && strncasecmp(p, "h2c", 3) == 0)
			fatalx(EX_USAGE, "--upgrade: h2c can never be allowed: "
			    "its requests could not be rewritten");
		p += n;
		if (*p == ',')
			p++;
	}
}

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

/*
 * Work out, once per process, what every request gets: the cookie list
 * (ck.add) and the header fields (ck.fields).
 */
static void
setup_values(void)
{
	static struct str add, fld;
	struct cert_fields f;
	struct cert c;
	const char *verify = getenv("SSL_CLIENT_VERIFY");
	int have, verified;
	char *v, *chain;
	size_t len;

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
	if (have && !cfg.no_cookie) {
		if ((v = cert_encode(&c, cfg.enc, &len)) == NULL)
			fatal(EX_SOFTWARE, "cert_encode");
		if (len > cfg.max_value) {
			char hex[ENCODE_HEX_LEN(32) + 1];

			log_warnx("certificate is %zu bytes encoded, over "
			    "--max-value-bytes %zu: sending %s_SHA256 instead",
			    len, cfg.max_value, cfg.name);
			cert_sha256_hex(&c, hex);
			if (!cfg.fields)
				add_field(&add, "_SHA256", hex);
		} else {
			str_cat(&add, cfg.name);
			str_cat(&add, "=");
			str_add(&add, v, len);
		}
		free(v);
		if (cfg.chain && (chain = chain_value(cfg.enc, ".")) != NULL) {
			if (strlen(chain) + 1 > cfg.max_value)
				log_warnx("chain over --max-value-bytes: not "
				    "sent");
			else {
				str_cat(&add, "; ");
				str_cat(&add, cfg.name);
				str_cat(&add, "_CHAIN=");
				str_cat(&add, chain);
			}
			free(chain);
		}
	}
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
	if (have && cfg.header) {
		if ((v = cert_encode(&c, CERT_ENC_RFC9440, &len)) == NULL)
			fatal(EX_SOFTWARE, "cert_encode");
		str_cat(&fld, cfg.header);
		str_cat(&fld, ": ");
		str_add(&fld, v, len);
		str_cat(&fld, "\r\n");
		free(v);
		if (cfg.chain &&
		    (chain = chain_value(CERT_ENC_RFC9440, ", ")) != NULL) {
			str_cat(&fld, ck.header_chain);
			str_cat(&fld, ": ");
			str_cat(&fld, chain);
			str_cat(&fld, "\r\n");
			free(chain);
		}
	}
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

/*
 * The connection engine.  Client-to-backend bytes are parsed as requests
 * and rewritten; backend-to-client bytes are followed as responses only
 * to notice a protocol switch and to place our error responses.
 */
enum rq_state {
	RQ_HEAD, RQ_BODY, RQ_CHUNK_LINE, RQ_CHUNK_DATA, RQ_CHUNK_CRLF,
	RQ_TRAILERS, RQ_WAIT, RQ_TUNNEL, RQ_STOP,
};

enum rs_state {
	RS_HEAD, RS_BODY, RS_CHUNK_LINE, RS_CHUNK_DATA, RS_CHUNK_CRLF,
	RS_TRAILERS, RS_CLOSE, RS_TUNNEL,
};

/* One direction: input bytes in buf[r..w), output queued as iovecs. */
struct side {
	int		 in, out;
	char		*buf;
	size_t		 cap, r, w;
	int		 eof;		/* input ended */
	int		 shut;		/* output shut down */
	struct iovec	*iov;
	size_t		 iov_first, niov, maxiov;
	uint64_t	 left;		/* body or chunk bytes to pass */
	uint64_t	 bytes;		/* bytes read */
	int		 pp[2];		/* pipe for splice(2), or -1 */
	int		 pipe_ok;	/* one may be made and used */
	size_t		 inpipe;	/* bytes in it, not yet written */
};

#define P_HEAD		0x01
#define P_CONNECT	0x02
#define P_UPGRADE	0x04

static struct conn {
	struct side	 rq, rs;
	int		 proxy;
	enum rq_state	 rqs;
	enum rs_state	 rss;
	size_t		 last_len;	/* of an incomplete head */
	struct http1_req req;
	struct cookie_out out;
	unsigned char	 pending[MAXPENDING];	/* P_* of each request */
	uint64_t	 sent, answered;	/* requests forwarded, answered */
	int		 err_status;	/* error response owed to the client */
	const char	*err_why;
	uint64_t	 err_at;	/* send it once this many are answered */
	int		 err_sent;
	int		 status;	/* exit status */
	int		 splice_ok;
	pid_t		 child;
	/* Monotonic ms when each wait began, 0 when not waiting. */
	int		 starved;	/* rq_process() wants input */
	uint64_t	 head_t0;	/* first byte of a request head */
	uint64_t	 body_t0;	/* last client bytes inside a body */
	uint64_t	 resp_t0;	/* last backend bytes, or request sent */
} conn;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *
reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

/* Room for a few more iovecs?  Else the caller lets output drain. */
static int
room(const struct side *s)
{
	return s->niov + 8 < s->maxiov;
}

static void
queue(struct side *s, const void *base, size_t n)
{
	cookie_iov_append(s->iov, &s->niov, base, n);
}

static int
pending_output(const struct side *s)
{
	return s->iov_first < s->niov || s->inpipe > 0;
}

/*
 * Write queued iovecs.  Returns 0 when all are written, 1 when the fd
 * would block, -1 on error (errno).
 */
static int
flush(struct side *s)
{
	while (s->iov_first < s->niov) {
		size_t cnt = s->niov - s->iov_first;
		ssize_t n;

		n = writev(s->out, s->iov + s->iov_first,
		    cnt > IOV_MAX ? IOV_MAX : (int)cnt);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;
			return -1;
		}
		while (n > 0) {
			struct iovec *v = &s->iov[s->iov_first];

			if ((size_t)n >= v->iov_len) {
				n -= v->iov_len;
				s->iov_first++;
			} else {
				v->iov_base = (char *)v->iov_base + n;
				v->iov_len -= n;
				n = 0;
			}
		}
	}
	s->iov_first = s->niov = 0;
	return 0;
}

/* Once nothing refers to the buffer any more, move unread bytes down. */
static void
compact(struct side *s)
{
	if (s->r == 0)
		return;
	memmove(s->buf, s->buf + s->r, s->w - s->r);
	s->w -= s->r;
	s->r = 0;
}

/* Our complete error response for status, in buf.  Returns its length. */
static size_t
error_text(char *buf, size_t cap, int status)
{
	int n;

	n = snprintf(buf, cap, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s\n", status, reason(status),
	    strlen(reason(status)) + 1, reason(status));
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void
error_response(int status)
{
	static char msg[256];

	queue(&conn.rs, msg, error_text(msg, sizeof msg, status));
	conn.err_sent = 1;
}

/*
 * Refuse the current request: nothing of it is forwarded, the backend
 * gets EOF after the earlier requests, and the client gets the error
 * once the earlier responses are through.  abort: part of the request
 * already went to the backend (a chunked body turned bad).
 */
static void
refuse(int status, const char *why, int abort)
{
	log_warnx("request %llu: %d %s", (unsigned long long)conn.sent + 1 -
	    abort, status, why);
	conn.rqs = RQ_STOP;
	conn.err_status = status;
	conn.err_why = why;
	conn.err_at = conn.sent - (abort ? 1 : 0);
	if (conn.status == 0)
		conn.status = EX_DATAERR;
}

/* Are n bytes buffered? */
static int
have(const struct side *s, size_t n)
{
	return s->w - s->r >= n;
}

/* Pass the buffered part of the s->left bytes that need no look. */
static void
pass_counted(struct side *s)
{
	size_t n = s->w - s->r;

	if (n > s->left)
		n = (size_t)s->left;
	queue(s, s->buf + s->r, n);
	s->r += n;
	s->left -= n;
}

/*
 * A trailer field a backend that merges trailers into the header would
 * take from the client: ours, or one that frames or routes the request.
 */
static const char *
trailer_forbidden(const struct http1_field *f)
{
	if (cookie_field_forbidden(&ck, f))
		return "Cookie or certificate field in the trailers";
	switch (f->kind) {
	case HTTP1_F_CONTENT_LENGTH:
	case HTTP1_F_TRANSFER_ENCODING:
	case HTTP1_F_HOST:
	case HTTP1_F_CONNECTION:
	case HTTP1_F_UPGRADE:
	case HTTP1_F_HTTP2_SETTINGS:
		return "framing or routing field in the trailers";
	default:
		return NULL;
	}
}

/*
 * Turn buffered client bytes into queued output, as far as they go.
 * Returns 1 when more input is needed, 0 when output must drain first,
 * a response must come first, or the requests stop.
 */
static int
rq_process(void)
{
	struct side *s = &conn.rq;
	struct http1_req *req = &conn.req;
	uint64_t size;
	size_t nf;
	const char *why;
	int n, r, up;

	for (;;) {
		if (!room(s))
			return 0;
		switch (conn.rqs) {
		case RQ_HEAD:
			if (s->r == s->w)
				return 1;
			if (conn.sent - conn.answered >= MAXPENDING &&
			    conn.proxy)
				return 0;
			n = http1_parse_request(s->buf + s->r, s->w - s->r,
			    conn.last_len, cfg.max_head, req);
			if (n == HTTP1_INCOMPLETE) {
				conn.last_len = s->w - s->r;
				return 1;
			}
			conn.last_len = 0;
			if (n == HTTP1_BAD) {
				refuse(req->status, req->why, 0);
				return 0;
			}
			if ((req->flags & HTTP1_CONNECT) &&
			    !cfg.allow_connect) {
				refuse(405, "CONNECT refused", 0);
				return 0;
			}
			conn.out.niov = s->niov;
			r = cookie_rewrite(&ck, req, &conn.out, &up);
			if (r == COOKIE_FULL) {
				if (s->niov == 0)
					fatalx(EX_SOFTWARE, "rewrite space");
				return 0;	/* flush, then try again */
			}
			if (r == COOKIE_SPOOF) {
				refuse(400, "client sent our cookie or header",
				    0);
				return 0;
			}
			if (r == COOKIE_TOO_MANY) {
				refuse(431, "too many fields with ours", 0);
				return 0;
			}
			s->r += n;
			conn.pending[conn.sent % MAXPENDING] =
			    (req->flags & HTTP1_HEAD ? P_HEAD : 0) |
			    (req->flags & HTTP1_CONNECT ? P_CONNECT : 0) |
			    (up ? P_UPGRADE : 0);
			conn.sent++;
			s->niov = conn.out.niov;
			switch (req->body) {
			case HTTP1_BODY_LENGTH:
				s->left = req->content_length;
				conn.rqs = RQ_BODY;
				break;
			case HTTP1_BODY_CHUNKED:
				conn.rqs = RQ_CHUNK_LINE;
				break;
			default:
				conn.rqs = RQ_HEAD;
				break;
			}
			if (conn.rqs == RQ_HEAD && (up ||
			    (req->flags & HTTP1_CONNECT)) && conn.proxy)
				conn.rqs = RQ_WAIT;
			break;
		case RQ_BODY:
		case RQ_CHUNK_DATA:
			if (s->left > 0) {
				if (s->r == s->w)
					return 1;
				pass_counted(s);
				if (s->left > 0)
					return 1;
			}
			if (conn.rqs == RQ_CHUNK_DATA)
				conn.rqs = RQ_CHUNK_CRLF;
			else if (conn.proxy && (conn.pending[(conn.sent - 1) %
			    MAXPENDING] & (P_UPGRADE | P_CONNECT)))
				conn.rqs = RQ_WAIT;
			else
				conn.rqs = RQ_HEAD;
			break;
		case RQ_CHUNK_LINE:
			n = http1_parse_chunk_line(s->buf + s->r,
			    s->w - s->r, &size);
			if (n == HTTP1_INCOMPLETE &&
			    s->w - s->r > HTTP1_MAX_CHUNK_EXT + 32)
				n = HTTP1_BAD;
			if (n == HTTP1_INCOMPLETE)
				return 1;
			if (n == HTTP1_BAD) {
				refuse(400, "malformed chunk size line", 1);
				return 0;
			}
			queue(s, s->buf + s->r, n);
			s->r += n;
			s->left = size;
			conn.rqs = size ? RQ_CHUNK_DATA : RQ_TRAILERS;
			break;
		case RQ_CHUNK_CRLF:
			if (!have(s, 2))
				return 1;
			if (memcmp(s->buf + s->r, "\r\n", 2) != 0) {
				refuse(400, "chunk data not followed by CRLF",
				    1);
				return 0;
			}
			queue(s, s->buf + s->r, 2);
			s->r += 2;
			conn.rqs = RQ_CHUNK_LINE;
			break;
		case RQ_TRAILERS:
			n = http1_parse_trailers(s->buf + s->r, s->w - s->r,
			    cfg.max_head, req->fields, req->max_fields, &nf,
			    &why);
			if (n == HTTP1_INCOMPLETE)
				return 1;
			if (n == HTTP1_BAD) {
				refuse(400, why, 1);
				return 0;
			}
			while (nf-- > 0)
				if ((why = trailer_forbidden(&req->fields[nf]))
				    != NULL) {
					refuse(400, why, 1);
					return 0;
				}
			queue(s, s->buf + s->r, n);
			s->r += n;
			conn.rqs = conn.proxy && (conn.pending[(conn.sent -
			    1) % MAXPENDING] & (P_UPGRADE | P_CONNECT)) ?
			    RQ_WAIT : RQ_HEAD;
			break;
		case RQ_TUNNEL:
			queue(s, s->buf + s->r, s->w - s->r);
			s->r = s->w;
			return 0;
		case RQ_WAIT:
		case RQ_STOP:
			return 0;
		}
	}
}

/* Follow response framing over buffered backend bytes. */
static void
rs_process(void)
{
	struct side *s = &conn.rs;
	struct http1_resp resp;
	unsigned char p;
	uint64_t size;
	int n;

	for (;;) {
		if (!room(s))
			return;
		if (conn.rss == RS_HEAD && conn.err_status && !conn.err_sent &&
		    conn.answered >= conn.err_at) {
			error_response(conn.err_status);
			return;
		}
		if (conn.err_sent)
			return;
		switch (conn.rss) {
		case RS_HEAD:
			if (s->r == s->w)
				return;
			if (conn.answered == conn.sent) {
				/* Nothing asked for this: pass it all. */
				conn.rss = RS_CLOSE;
				break;
			}
			p = conn.pending[conn.answered % MAXPENDING];
			n = http1_parse_response(s->buf + s->r, s->w - s->r,
			    s->cap, p & P_HEAD, &resp);
			if (n == HTTP1_INCOMPLETE)
				return;
			if (n == HTTP1_BAD) {
				log_warnx("unframeable response: relaying "
				    "until the backend closes");
				conn.rss = RS_CLOSE;
				break;
			}
			queue(s, s->buf + s->r, n);
			s->r += n;
			if (resp.status == 101) {
				conn.answered++;
				if (!(p & P_UPGRADE)) {
					log_warnx("101 without an Upgrade "
					    "request: closing");
					conn.status = EX_UNAVAILABLE;
					conn.rss = RS_CLOSE;
					conn.rqs = RQ_STOP;
					s->eof = 1;
					return;
				}
				log_debug("protocol switched");
				conn.rss = RS_TUNNEL;
				conn.rqs = RQ_TUNNEL;
				break;
			}
			if (resp.status < 200)
				break;	/* interim */
			conn.answered++;
			if ((p & P_CONNECT) && resp.status < 300) {
				conn.rss = RS_TUNNEL;
				conn.rqs = RQ_TUNNEL;
				break;
			}
			if (conn.rqs == RQ_WAIT &&
			    conn.answered == conn.sent)
				conn.rqs = RQ_HEAD;	/* not switched */
			switch (resp.body) {
			case HTTP1_BODY_LENGTH:
				s->left = resp.content_length;
				conn.rss = RS_BODY;
				break;
			case HTTP1_BODY_CHUNKED:
				conn.rss = RS_CHUNK_LINE;
				break;
			case HTTP1_BODY_CLOSE:
				conn.rss = RS_CLOSE;
				break;
			default:
				break;
			}
			break;
		case RS_BODY:
		case RS_CHUNK_DATA:
			if (s->left > 0) {
				if (s->r == s->w)
					return;
				pass_counted(s);
				if (s->left > 0)
					return;
			}
			conn.rss = conn.rss == RS_BODY ? RS_HEAD :
			    RS_CHUNK_CRLF;
			break;
		case RS_CHUNK_LINE:
			n = http1_parse_chunk_line(s->buf + s->r, s->w - s->r,
			    &size);
			if (n == HTTP1_INCOMPLETE &&
			    s->w - s->r < HTTP1_MAX_CHUNK_EXT + 32)
				return;
			if (n < 0) {
				conn.rss = RS_CLOSE;
				break;
			}
			queue(s, s->buf + s->r, n);
			s->r += n;
			s->left = size;
			conn.rss = size ? RS_CHUNK_DATA : RS_TRAILERS;
			break;
		case RS_CHUNK_CRLF:
			if (!have(s, 2))
				return;
			if (memcmp(s->buf + s->r, "\r\n", 2) != 0) {
				conn.rss = RS_CLOSE;
				break;
			}
			queue(s, s->buf + s->r, 2);
			s->r += 2;
			conn.rss = RS_CHUNK_LINE;
			break;
		case RS_TRAILERS: {
			/* Lines up to the empty one, leniently. */
			const char *b = s->buf + s->r, *lf;
			size_t avail = s->w - s->r, off = 0;

			for (;;) {
				lf = memchr(b + off, '\n', avail - off);
				if (lf == NULL) {
					if (avail >= s->cap)
						conn.rss = RS_CLOSE;
					return;
				}
				n = (int)(lf - (b + off));
				off = lf + 1 - b;
				if (n == 0 || (n == 1 && lf[-1] == '\r'))
					break;
			}
			queue(s, b, off);
			s->r += off;
			conn.rss = RS_HEAD;
			break;
		}
		case RS_CLOSE:
		case RS_TUNNEL:
			queue(s, s->buf + s->r, s->w - s->r);
			s->r = s->w;
			return;
		}
	}
}

/* Read into a side's buffer.  Returns bytes, 0 at EOF, -1 (errno). */
static ssize_t
fill(struct side *s)
{
	ssize_t n;

	do
		n = read(s->in, s->buf + s->w, s->cap - s->w);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		s->w += n;
		s->bytes += n;
	}
	return n;
}

/* Wait until in has bytes, or its end, and out has room. */
static int
splice_ready(int in, int out)
{
	struct pollfd pfd[2] = {
		{ .fd = in, .events = POLLIN },
		{ .fd = out, .events = POLLOUT },
	};

	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[0].revents && pfd[1].revents)
			return 0;
		/* Wait for the other one alone. */
		if (pfd[0].revents)
			pfd[0].fd = -1;
		if (pfd[1].revents)
			pfd[1].fd = -1;
		if (pfd[0].fd == -1 && pfd[1].fd == -1)
			return 0;
	}
}

/*
 * Filter mode: stdin to stdout, blocking.  Bodies move with splice(2)
 * when either end is a pipe.
 */
static int
run_filter(void)
{
	struct side *s = &conn.rq;
	ssize_t n;

	for (;;) {
		size_t r0 = s->r;
		int progress;

		rq_process();
		/*
		 * rq_process() also stops when the iovec queue is full, with
		 * whole requests still buffered: read only once it has
		 * nothing left to do, or their end would look like a
		 * truncated request.
		 */
		progress = s->r != r0 || s->niov > 0;
		if (flush(s) == -1)
			fatal(EX_IOERR, "write");
		conn.out.used = 0;
		if (conn.rqs == RQ_STOP)
			return EX_DATAERR;
		compact(s);
		if (progress)
			continue;
		if (s->r == s->w && s->left > 0 && conn.splice_ok &&
		    (conn.rqs == RQ_BODY || conn.rqs == RQ_CHUNK_DATA)) {
			size_t want = s->left > (1 << 20) ? (1 << 20) :
			    (size_t)s->left;

			/*
			 * A blocking splice(2) from a socket into a pipe
			 * waits for data with the pipe locked, and then
			 * even a non-blocking reader of our output hangs
			 * in read(2).  Wait in poll(2), which holds no
			 * lock, and splice only what can move now.
			 */
			if (splice_ready(s->in, s->out) == -1)
				fatal(EX_IOERR, "poll");
			n = splice(s->in, NULL, s->out, NULL, want,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				s->left -= n;
				s->bytes += n;
				continue;
			}
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n == -1 && errno != EINVAL)
				fatal(EX_IOERR, "splice");
			if (n == -1)
				conn.splice_ok = 0;
		}
		if (s->w == s->cap) {
			/* Only a head can fill the buffer. */
			refuse(431, "request head too large", 0);
			continue;
		}
		n = fill(s);
		if (n == -1)
			fatal(EX_IOERR, "read");
		if (n == 0) {
			if (conn.rqs == RQ_HEAD && s->r == s->w)
				return 0;
			log_warnx("end of input inside a request");
			return EX_DATAERR;
		}
	}
}

static void
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
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
	size_t len = error_text(msg, sizeof msg, status);
	ssize_t n;

	do
		n = write(fd, msg, len);
	while (n == -1 && errno == EINTR);
	shut(fd);
	return EX_UNAVAILABLE;
}

static ssize_t
fill_nb(struct side *s)
{
	ssize_t n = fill(s);

	if (n == -1 && errno == EAGAIN)
		return -2;
	if (n == -1 && gone(errno))
		n = 0;
	return n;
}

/*
 * How many bytes may go from s->in to s->out without being looked at:
 * body or chunk data, a close-delimited response, a tunnel.  0 when
 * the next bytes must be parsed, or some are buffered already.
 */
static uint64_t
raw_bytes(const struct side *s, int counted, int unlimited)
{
	if (!s->pipe_ok || s->r != s->w || s->iov_first < s->niov)
		return 0;
	if (unlimited)
		return UINT64_MAX;
	return counted ? s->left : 0;
}

static uint64_t
rq_raw(void)
{
	return raw_bytes(&conn.rq, conn.rqs == RQ_BODY ||
	    conn.rqs == RQ_CHUNK_DATA, conn.rqs == RQ_TUNNEL);
}

static uint64_t
rs_raw(void)
{
	if (conn.err_sent || (conn.err_status && conn.rss != RS_TUNNEL &&
	    conn.rss != RS_CLOSE))
		return 0;
	return raw_bytes(&conn.rs, conn.rss == RS_BODY ||
	    conn.rss == RS_CHUNK_DATA, conn.rss == RS_CLOSE ||
	    conn.rss == RS_TUNNEL);
}

/* Move up to want bytes from s->in into the pipe.  As fill_nb(). */
static ssize_t
splice_in(struct side *s, uint64_t want, int counted)
{
	ssize_t n;

	if (want > 1 << 20)
		want = 1 << 20;
	n = splice(s->in, NULL, s->pp[1], NULL, (size_t)want,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1 && errno == EAGAIN)
		return -2;
	if (n == -1 && gone(errno))
		n = 0;
	if (n > 0) {
		s->inpipe += n;
		s->bytes += n;
		if (counted)
			s->left -= n;
	}
	return n;
}

/* Drain the pipe into s->out: 0 done, 1 would block, -1 error. */
static int
splice_out(struct side *s)
{
	ssize_t n;

	while (s->inpipe > 0) {
		n = splice(s->pp[0], NULL, s->out, NULL, s->inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 1;
		if (n <= 0)
			return -1;
		s->inpipe -= n;
	}
	return 0;
}

static int
send_side(struct side *s)
{
	int r = flush(s);

	if (r == 0 && s->inpipe)
		r = splice_out(s);
	return r;
}

/* The pipe, made when bytes first can go without a look. */
static int
make_pipe(struct side *s)
{
	if (pipe2(s->pp, O_CLOEXEC | O_NONBLOCK) == -1) {
		s->pp[0] = s->pp[1] = -1;
		return -1;
	}
	(void)fcntl(s->pp[1], F_SETPIPE_SZ, 1 << 20);
	return 0;
}

/* Read from s->in: splice when the bytes need no look, else buffer. */
static ssize_t
take(struct side *s, uint64_t raw, int counted)
{
	ssize_t n;

	if (raw && (s->pp[0] != -1 || make_pipe(s) == 0)) {
		n = splice_in(s, raw, counted);
		if (n != -1 || errno != EINVAL)
			return n;
		/* This pair of fds cannot splice. */
		close(s->pp[0]);
		close(s->pp[1]);
		s->pp[0] = s->pp[1] = -1;
	}
	/* No pipe, or no splice: buffer from now on. */
	if (raw)
		s->pipe_ok = 0;
	return fill_nb(s);
}

/*
 * Parse what both buffers hold until nothing moves: one side's state
 * change (a refused upgrade, a body done) can let the other go on.
 * Returns whether anything moved.
 */
static int
process(struct side *q, struct side *p)
{
	int moved = 0;

	for (;;) {
		unsigned st = conn.rqs * 100u + conn.rss;
		size_t qr = q->r, pr = p->r, qn = q->niov, pn = p->niov;

		if (q->inpipe == 0)
			conn.starved = rq_process();
		if (p->inpipe == 0)
			rs_process();
		if (st == conn.rqs * 100u + conn.rss && qr == q->r &&
		    pr == p->r && qn == q->niov && pn == p->niov)
			return moved;
		moved = 1;
	}
}

/*
 * Is the client inside a request, between its first byte and its end,
 * with the parser waiting for more?
 */
static int
inside_request(const struct side *q)
{
	if (!conn.starved || q->inpipe > 0)
		return 0;
	return conn.rqs != RQ_HEAD || q->r < q->w;
}

/*
 * Is a response owed with every request before it sent whole?  Then
 * the backend, not the client, is the one keeping the connection.
 */
static int
awaiting_response(const struct side *q, const struct side *p)
{
	if (conn.answered >= conn.sent || p->eof || conn.err_sent)
		return 0;
	if (conn.rss == RS_CLOSE || conn.rss == RS_TUNNEL)
		return 0;
	return !inside_request(q) && !pending_output(q);
}

/*
 * Start or stop the clocks of the waits that are on now.  Returns the
 * poll(2) timeout until the first of them ends, in ms.
 */
static int
wait_ms(const struct side *q, const struct side *p)
{
	uint64_t now = now_ms(), end = UINT64_MAX;

	if (!q->eof && conn.rqs == RQ_HEAD && inside_request(q)) {
		if (conn.head_t0 == 0)
			conn.head_t0 = now;
		end = conn.head_t0 + cfg.head_timeout * 1000ull;
	} else
		conn.head_t0 = 0;
	if (!q->eof && conn.rqs != RQ_HEAD && inside_request(q)) {
		if (conn.body_t0 == 0)
			conn.body_t0 = now;
		if (conn.body_t0 + cfg.body_timeout * 1000ull < end)
			end = conn.body_t0 + cfg.body_timeout * 1000ull;
	}
	if (awaiting_response(q, p)) {
		if (conn.resp_t0 == 0)
			conn.resp_t0 = now;
		if (conn.resp_t0 + cfg.response_timeout * 1000ull < end)
			end = conn.resp_t0 + cfg.response_timeout * 1000ull;
	} else
		conn.resp_t0 = 0;
	if (end == UINT64_MAX)
		return -1;
	return end <= now ? 0 : end - now > INT_MAX ? INT_MAX :
	    (int)(end - now);
}

/*
 * Act on the waits that are over: a slow head gets 408 after the
 * earlier responses, a stalled body is cut as a bad chunk would be, a
 * silent backend gets the client a 504 and the connection ends.
 */
static void
expire(struct side *q, struct side *p, int bfd)
{
	uint64_t now = now_ms();

	if (conn.head_t0 && conn.rqs == RQ_HEAD && !q->eof &&
	    now >= conn.head_t0 + cfg.head_timeout * 1000ull) {
		refuse(408, "request head timeout", 0);
		conn.head_t0 = 0;
	}
	if (conn.body_t0 && conn.rqs != RQ_HEAD && !q->eof &&
	    inside_request(q) &&
	    now >= conn.body_t0 + cfg.body_timeout * 1000ull) {
		refuse(408, "request body timeout", 1);
		conn.body_t0 = 0;
	}
	if (conn.resp_t0 && awaiting_response(q, p) &&
	    now >= conn.resp_t0 + cfg.response_timeout * 1000ull) {
		log_warnx("request %llu: backend response timeout",
		    (unsigned long long)conn.answered + 1);
		conn.status = EX_UNAVAILABLE;
		(void)shutdown(bfd, SHUT_RDWR);
		q->iov_first = q->niov = 0;
		q->inpipe = 0;
		q->shut = 1;
		conn.rqs = RQ_STOP;
		p->eof = 1;
		if (conn.rss == RS_HEAD) {
			p->r = p->w;	/* a part of a head: not for the client */
			conn.err_status = 504;
			conn.err_at = conn.answered;
		}
		conn.resp_t0 = 0;
	}
}

/*
 * Proxy mode: relay client (fds 0 and 1) and backend (bfd) both ways
 * with one poll loop.
 */
static int
run_proxy(int bfd)
{
	struct side *q = &conn.rq, *p = &conn.rs;
	struct pollfd pfd[4];
	uint64_t qraw, praw;
	ssize_t n;
	int r;

	q->in = 0, q->out = bfd;
	p->in = bfd, p->out = 1;
	nonblock(0);
	nonblock(1);
	nonblock(bfd);
	q->pipe_ok = p->pipe_ok = 1;
	conn.proxy = 1;
	for (;;) {
		/* Bytes in a pipe come before anything parsed after them. */
		process(q, p);

		/* Requests to the backend. */
		if (pending_output(q) && !q->shut) {
			r = send_side(q);
			if (r == -1 && !gone(errno))
				fatal(EX_IOERR, "write to the backend");
			if (r == -1) {
				/* The backend stopped reading: so do we. */
				q->iov_first = q->niov = 0;
				q->inpipe = 0;
				q->shut = 1;
				conn.rqs = RQ_STOP;
			}
		}
		if (q->iov_first == q->niov) {
			conn.out.used = 0;
			compact(q);
		}
		/* Responses to the client. */
		if (pending_output(p)) {
			r = send_side(p);
			if (r == -1 && !gone(errno))
				fatal(EX_IOERR, "write to the client");
			if (r == -1) {
				log_info("client went away");
				return conn.status;
			}
		}
		if (p->iov_first == p->niov)
			compact(p);

		/*
		 * A pipe drained or a state changed: parse again before
		 * judging where the streams stand, or polling.
		 */
		if (process(q, p))
			continue;

		/*
		 * The client's EOF, or a refused request, becomes the
		 * backend's EOF once everything before it is through.
		 */
		if (q->eof && inside_request(q)) {
			refuse(400, "end of input inside a request",
			    conn.rqs != RQ_HEAD);
			continue;	/* the 400 may be due at once */
		}
		if (!q->shut && !pending_output(q) && (conn.rqs == RQ_STOP ||
		    (q->eof && q->r == q->w))) {
			shut(bfd);
			q->shut = 1;
		}
		/* Our error response is out: the connection is over. */
		if (conn.err_sent && !pending_output(p)) {
			shut(1);
			return conn.status;
		}
		/*
		 * The client has ended and every request is answered: a
		 * backend that keeps its end open holds nothing of ours.
		 */
		if (q->shut && conn.rqs != RQ_TUNNEL && !conn.err_status &&
		    conn.answered >= conn.sent && conn.rss == RS_HEAD &&
		    p->r == p->w && !pending_output(p)) {
			shut(1);
			return conn.status;
		}
		/*
		 * The backend ended inside a response: the client gets
		 * what came, as it came, and then the end.
		 */
		if (p->eof && !pending_output(p) && conn.rss != RS_HEAD &&
		    conn.rss != RS_CLOSE && conn.rss != RS_TUNNEL) {
			log_warnx("the backend ended inside response %llu",
			    (unsigned long long)conn.answered + 1);
			conn.rss = RS_CLOSE;
			if (conn.status == 0)
				conn.status = EX_UNAVAILABLE;
			continue;
		}
		if (p->eof && p->r < p->w && !pending_output(p) &&
		    conn.rss == RS_HEAD) {
			log_warnx("the backend ended inside a response head");
			conn.rss = RS_CLOSE;
			if (conn.status == 0)
				conn.status = EX_UNAVAILABLE;
			continue;
		}
		/* The backend is done: so is the client's side. */
		if (p->eof && p->r == p->w && !pending_output(p)) {
			/*
			 * Our error response still fits only between two
			 * responses, not after a close-delimited body.
			 */
			if (conn.err_status && !conn.err_sent &&
			    conn.rss == RS_HEAD) {
				error_response(conn.err_status);
				continue;
			}
			if (conn.rss == RS_HEAD && conn.answered < conn.sent &&
			    p->bytes == 0) {
				log_warnx("backend closed without answering");
				conn.status = answer_now(1, 502);
				return conn.status;
			}
			shut(1);
			return conn.status;
		}

		qraw = q->eof || conn.rqs == RQ_STOP ? 0 : rq_raw();
		praw = p->eof ? 0 : rs_raw();
		memset(pfd, 0, sizeof pfd);
		pfd[0].fd = pfd[1].fd = pfd[2].fd = pfd[3].fd = -1;
		if (!q->eof && conn.rqs != RQ_STOP &&
		    (qraw ? q->inpipe == 0 : q->w < q->cap)) {
			pfd[0].fd = 0;
			pfd[0].events = POLLIN;
		}
		if (pending_output(q) && !q->shut) {
			pfd[1].fd = bfd;
			pfd[1].events = POLLOUT;
		}
		if (!p->eof && !conn.err_sent &&
		    (praw ? p->inpipe == 0 : p->w < p->cap)) {
			pfd[2].fd = bfd;
			pfd[2].events = POLLIN;
		}
		if (pending_output(p)) {
			pfd[3].fd = 1;
			pfd[3].events = POLLOUT;
		}
		if (pfd[0].fd == -1 && pfd[1].fd == -1 && pfd[2].fd == -1 &&
		    pfd[3].fd == -1)
			fatalx(EX_SOFTWARE, "relay stalled (state %d/%d)",
			    conn.rqs, conn.rss);
		if (poll(pfd, 4, wait_ms(q, p)) == -1) {
			if (errno == EINTR)
				continue;
			fatal(EX_OSERR, "poll");
		}
		if (pfd[0].revents) {
			n = take(q, qraw, conn.rqs != RQ_TUNNEL);
			if (n == -1)
				fatal(EX_IOERR, "read from the client");
			if (n == 0)
				q->eof = 1;
			conn.body_t0 = now_ms();
		}
		if (pfd[2].revents) {
			n = take(p, praw, conn.rss == RS_BODY ||
			    conn.rss == RS_CHUNK_DATA);
			if (n == -1)
				fatal(EX_IOERR, "read from the backend");
			if (n == 0)
				p->eof = 1;
			conn.resp_t0 = now_ms();
		}
		expire(q, p, bfd);
	}
}

/*
 * connect(2) on a non-blocking socket, waiting until the monotonic
 * time end (ms).  Returns 0, or -1 with errno (ETIMEDOUT at the end).
 */
static int
connect_wait(int fd, const struct sockaddr *sa, socklen_t len, uint64_t end)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	uint64_t now;
	int err, r;

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -1;
	for (;;) {
		now = now_ms();
		if (now >= end) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, end - now > INT_MAX ? INT_MAX :
		    (int)(end - now));
		if (r == 1)
			break;
		if (r == -1 && errno != EINTR)
			return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * Connect to HOST:PORT, [V6]:PORT or unix:PATH within --connect-timeout.
 * Returns fd or -1 (errno ETIMEDOUT when the time ran out).
 */
static int
connect_backend(const char *spec)
{
	struct addrinfo hints, *res, *ai;
	char host[256], *port;
	int fd = -1, err, one = 1;
	uint64_t end = now_ms() + cfg.connect_timeout * 1000ull;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		if (strlen(spec + 5) >= sizeof sun.sun_path) {
			errno = ENAMETOOLONG;
			return -1;
		}
		strcpy(sun.sun_path, spec + 5);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1)
			fatal(EX_OSERR, "socket");
		if (connect_wait(fd, (struct sockaddr *)&sun, sizeof sun,
		    end) == -1) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		return fd;
	}
	if (strlen(spec) >= sizeof host)
		fatalx(EX_USAGE, "--connect: %s: too long", spec);
	strcpy(host, spec);
	port = strrchr(host, ':');
	if (port == NULL || port[1] == '\0')
		fatalx(EX_USAGE, "--connect: %s: want HOST:PORT or unix:PATH",
		    spec);
	*port++ = '\0';
	if (host[0] == '[' && port[-2] == ']') {
		port[-2] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("%s: %s", spec, gai_strerror(err));
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect_wait(fd, ai->ai_addr, ai->ai_addrlen, end) == 0) {
			/* Requests leave whole: no Nagle delay. */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof one);
			break;
		}
		err = errno;
		close(fd);
		fd = -1;
		errno = err;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Run COMMAND on a socketpair.  Returns our end; an exec failure is
 * reported through a close-on-exec pipe, as 126 or 127.
 */
static int
spawn(char **argv, pid_t *pid, int *status)
{
	int sv[2], ep[2], err = 0;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal(EX_OSERR, "socketpair");
	if (pipe2(ep, O_CLOEXEC) == -1)
		fatal(EX_OSERR, "pipe");
	if ((*pid = fork()) == -1)
		fatal(EX_OSERR, "fork");
	if (*pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(sv[1], 0) == -1 || dup2(sv[1], 1) == -1)
			_exit(EX_OSERR);
		execvp(argv[0], argv);
		err = errno;
		n = write(ep[1], &err, sizeof err);
		(void)n;
		_exit(err == ENOENT ? EX_NOTFOUND : EX_NOEXEC);
	}
	close(sv[1]);
	close(ep[1]);
	do
		n = read(ep[0], &err, sizeof err);
	while (n == -1 && errno == EINTR);
	close(ep[0]);
	*status = 0;
	if (n == sizeof err) {
		errno = err;
		log_warn("unable to run %s", argv[0]);
		*status = err == ENOENT ? EX_NOTFOUND : EX_NOEXEC;
	}
	return sv[0];
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
	int idx, bfd, status;
	struct stat st;

	signal(SIGPIPE, SIG_IGN);
	log_init(argv[0], 1, 0);
	if (argp_parse(&argp, argc, argv, ARGP_NO_ARGS, &idx, &cfg) != 0)
		return EX_USAGE;
	if (idx < argc)
		cfg.cmd = argv + idx;
	if (cfg.cmd && cfg.connect)
		fatalx(EX_USAGE, "--connect and COMMAND exclude each other");
	log_init(argv[0], cfg.verbose, 0);

	check_upgrade(cfg.upgrade);
	if (cookie_cfg_init(&ck, cfg.name, cfg.header) == -1)
		fatalx(EX_USAGE, "--name %s or --header %s: not a valid token",
		    cfg.name, cfg.header ? cfg.header : "");
	ck.upgrade = lower_dup(cfg.upgrade);
	ck.reject_spoof = cfg.reject_spoof;
	ck.max_fields = cfg.max_fields;
	setup_values();

	/* All memory the connection needs, allocated once. */
	conn.rq.cap = cfg.max_head + 64;
	conn.rs.cap = cfg.max_head > 65536 ? cfg.max_head : 65536;
	conn.out.cap = cfg.max_head * 2 + 1024;
	conn.rq.buf = malloc(conn.rq.cap);
	conn.rs.buf = malloc(conn.rs.cap);
	conn.out.scratch = malloc(conn.out.cap);
	/* A rewrite takes up to two iovecs a field, six more, and room(). */
	conn.rq.maxiov = MAXIOV > 2 * cfg.max_fields + 16 ? MAXIOV :
	    2 * cfg.max_fields + 16;
	conn.rs.maxiov = MAXIOV;
	conn.rq.iov = calloc(conn.rq.maxiov, sizeof *conn.rq.iov);
	conn.rs.iov = calloc(conn.rs.maxiov, sizeof *conn.rs.iov);
	conn.req.max_fields = cfg.max_fields;
	conn.req.fields = calloc(cfg.max_fields, sizeof *conn.req.fields);
	if (!conn.rq.buf || !conn.rs.buf || !conn.out.scratch ||
	    !conn.rq.iov || !conn.rs.iov || !conn.req.fields)
		fatal(EX_OSERR, "malloc");
	conn.out.iov = conn.rq.iov;
	conn.out.maxiov = conn.rq.maxiov;
	conn.rq.pp[0] = conn.rq.pp[1] = conn.rs.pp[0] = conn.rs.pp[1] = -1;

	if (cfg.cmd == NULL && cfg.connect == NULL) {
		conn.rq.in = 0;
		conn.rq.out = 1;
		conn.splice_ok = fstat(0, &st) == 0 && fstat(1, &st) == 0;
		/* Larger pipes: fewer wake-ups of the reader and writer. */
		(void)fcntl(0, F_SETPIPE_SZ, 1 << 20);
		(void)fcntl(1, F_SETPIPE_SZ, 1 << 20);
		status = run_filter();
		log_info("%llu requests, %llu bytes in, exit %d",
		    (unsigned long long)conn.sent,
		    (unsigned long long)conn.rq.bytes, status);
		return status;
	}
	if (cfg.connect) {
		if ((bfd = connect_backend(cfg.connect)) == -1) {
			log_warn("unable to connect to %s", cfg.connect);
			return errno == ETIMEDOUT ? answer_now(1, 504) :
			    answer_now(1, 502);
		}
	} else {
		bfd = spawn(cfg.cmd, &conn.child, &status);
		if (status) {
			answer_now(1, 502);
			return status;
		}
	}
	status = run_proxy(bfd);
	log_info("%llu requests, %llu answered, %llu bytes from the client, "
	    "%llu from the backend, exit %d", (unsigned long long)conn.sent,
	    (unsigned long long)conn.answered,
	    (unsigned long long)conn.rq.bytes,
	    (unsigned long long)conn.rs.bytes, status);
	close(bfd);
	if (conn.child > 0)
		waitpid(conn.child, NULL, WNOHANG);
	return status;
}
