/*
 * certcookie: put the TLS client certificate into the Cookie header of
 * every HTTP/1.x request on a connection, after removing every client
 * copy of it.  A stdin-to-stdout filter, or a proxy that runs COMMAND
 * (or connects to --connect) and relays both directions.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <argp.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cert.h"
#include "cookie.h"
#include "engine.h"
#include "exits.h"
#include "handoff.h"
#include "http1.h"
#include "log.h"
#include "net.h"
#include "num.h"
#include "peer.h"
#include "proxyproto.h"
#include "spawn.h"
#include "values.h"

#ifndef VERSION
#define VERSION "0.1"
#endif

struct config {
	struct values_cfg v;	/* the certificate and what is sent */
	int		 reject_spoof;
	size_t		 max_head;
	size_t		 max_fields;
	const char	*upgrade;
	int		 allow_connect;
	const char	*connect;
	int		 send_proxy;	/* 0, or the PROXY version */
	size_t		 head_timeout;	/* seconds */
	size_t		 body_timeout;
	size_t		 connect_timeout;
	size_t		 response_timeout;
	int		 verbose;
	char		**cmd;
};

static struct config cfg = {
	.v.name = "CERT",
	.v.enc = CERT_ENC_BASE64URL,
	.v.cert_env = "SSL_CLIENT_CERT",
	.v.max_value = 6144,
	.max_head = 65536,
	.max_fields = HTTP1_MAX_FIELDS,
	.upgrade = "websocket",
	.head_timeout = 60,
	.body_timeout = 60,
	.connect_timeout = 10,
	.response_timeout = 60,
	.verbose = 1,
};

static struct cookie_cfg ck;

/* Options. */
enum {
	O_NAME = 'n', O_ENCODING = 'e', O_VERBOSE = 'v', O_CERT_FILE = 'f',
	O_CONNECT = 'c', O_CERT_ENV = 256, O_CHAIN, O_NO_CHAIN, O_FIELDS,
	O_NO_FIELDS, O_HEADER, O_NO_COOKIE, O_REJECT_SPOOF, O_NO_REJECT_SPOOF,
	O_MAX_HEADER, O_MAX_VALUE, O_ALLOW_UNVERIFIED, O_NO_ALLOW_UNVERIFIED,
	O_UPGRADE, O_ALLOW_CONNECT, O_NO_ALLOW_CONNECT, O_QUIET,
	O_HEAD_TIMEOUT, O_BODY_TIMEOUT, O_CONNECT_TIMEOUT, O_RESPONSE_TIMEOUT,
	O_MAX_FIELDS, O_FORWARDED, O_X_FORWARDED, O_SEND_PROXY, O_SEND_PROXY_V2,
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
	{ "forwarded", O_FORWARDED, NULL, 0,
	    "Also send the client's address as Forwarded: for=...;proto=... "
	    "(RFC 7239)", 2 },
	{ "x-forwarded", O_X_FORWARDED, NULL, 0,
	    "Also send X-Forwarded-For, X-Forwarded-Proto and "
	    "X-Forwarded-Port", 2 },
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
	{ "send-proxy", O_SEND_PROXY, NULL, 0,
	    "Open the backend connection with a PROXY protocol v1 header", 4 },
	{ "send-proxy-v2", O_SEND_PROXY_V2, NULL, 0,
	    "... v2, with the TLS version, cipher, client CN and verify "
	    "result", 4 },
	{ "response-timeout", O_RESPONSE_TIMEOUT, "SECS", 0,
	    "Answer 504 when the backend sends nothing of a response for "
	    "SECS (default 60)", 4 },
	{ NULL, 0, NULL, 0, "Logging:", 5 },
	{ "verbose", O_VERBOSE, NULL, 0,
	    "Log more (repeat for debug)", 5 },
	{ "quiet", O_QUIET, NULL, 0, "Log nothing but fatal errors", 5 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

/* The options that take a number: the range, and the size_t it sets. */
static const struct number {
	int		 key;
	const char	*opt;
	size_t		 min, max;
	size_t		 off;	/* in struct config */
} numbers[] = {
	{ O_MAX_HEADER, "--max-header-bytes", 256, 16 << 20,
	    offsetof(struct config, max_head) },
	{ O_MAX_FIELDS, "--max-fields", 1, HTTP1_MAX_FIELDS_LIMIT,
	    offsetof(struct config, max_fields) },
	{ O_MAX_VALUE, "--max-value-bytes", 0, 1 << 20,
	    offsetof(struct config, v.max_value) },
	{ O_HEAD_TIMEOUT, "--head-timeout", 1, 86400,
	    offsetof(struct config, head_timeout) },
	{ O_BODY_TIMEOUT, "--body-timeout", 1, 86400,
	    offsetof(struct config, body_timeout) },
	{ O_CONNECT_TIMEOUT, "--connect-timeout", 1, 86400,
	    offsetof(struct config, connect_timeout) },
	{ O_RESPONSE_TIMEOUT, "--response-timeout", 1, 86400,
	    offsetof(struct config, response_timeout) },
};

static error_t
parse_number(int key, char *arg, struct argp_state *state)
{
	const struct number *n;
	unsigned long long v;

	for (n = numbers; n < numbers + sizeof numbers / sizeof *n; n++) {
		if (n->key != key)
			continue;
		if (num_parse(arg, n->min, n->max, &v) == -1)
			argp_error(state, "%s: %s: must be a number from %zu "
			    "to %zu", n->opt, arg, n->min, n->max);
		*(size_t *)((char *)state->input + n->off) = (size_t)v;
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

/* The options that set a flag or a string of struct config. */
static const struct setting {
	int		 key;
	int		 value;		/* for a flag; -1: a string */
	size_t		 off;
} settings[] = {
	{ O_CHAIN, 1, offsetof(struct config, v.chain) },
	{ O_NO_CHAIN, 0, offsetof(struct config, v.chain) },
	{ O_FIELDS, 1, offsetof(struct config, v.fields) },
	{ O_NO_FIELDS, 0, offsetof(struct config, v.fields) },
	{ O_NO_COOKIE, 1, offsetof(struct config, v.no_cookie) },
	{ O_REJECT_SPOOF, 1, offsetof(struct config, reject_spoof) },
	{ O_NO_REJECT_SPOOF, 0, offsetof(struct config, reject_spoof) },
	{ O_ALLOW_UNVERIFIED, 1, offsetof(struct config, v.allow_unverified) },
	{ O_NO_ALLOW_UNVERIFIED, 0,
	    offsetof(struct config, v.allow_unverified) },
	{ O_ALLOW_CONNECT, 1, offsetof(struct config, allow_connect) },
	{ O_NO_ALLOW_CONNECT, 0, offsetof(struct config, allow_connect) },
	{ O_FORWARDED, 1, offsetof(struct config, v.forwarded) },
	{ O_X_FORWARDED, 1, offsetof(struct config, v.x_forwarded) },
	{ O_SEND_PROXY, 1, offsetof(struct config, send_proxy) },
	{ O_SEND_PROXY_V2, 2, offsetof(struct config, send_proxy) },
	{ O_QUIET, 0, offsetof(struct config, verbose) },
	{ O_NAME, -1, offsetof(struct config, v.name) },
	{ O_CERT_ENV, -1, offsetof(struct config, v.cert_env) },
	{ O_CERT_FILE, -1, offsetof(struct config, v.cert_file) },
	{ O_HEADER, -1, offsetof(struct config, v.header) },
	{ O_UPGRADE, -1, offsetof(struct config, upgrade) },
	{ O_CONNECT, -1, offsetof(struct config, connect) },
};

static error_t
parse_opt(int key, char *arg, struct argp_state *state)
{
	static const char *const enc[] = { "base64url", "base64", "pem-url",
	    "rfc9440" };
	static const enum cert_encoding encv[] = { CERT_ENC_BASE64URL,
	    CERT_ENC_BASE64, CERT_ENC_PEM_URL, CERT_ENC_RFC9440 };
	struct config *c = state->input;
	const struct setting *t;
	size_t i;

	for (t = settings; t < settings + sizeof settings / sizeof *t; t++) {
		if (t->key != key)
			continue;
		if (t->value == -1)
			*(const char **)((char *)c + t->off) = arg;
		else
			*(int *)((char *)c + t->off) = t->value;
		return 0;
	}
	switch (key) {
	case O_ENCODING:
		for (i = 0; i < 4 && strcmp(arg, enc[i]) != 0; i++)
			;
		if (i == 4)
			argp_error(state, "--encoding: %s: unknown encoding "
			    "(base64url, base64, pem-url, rfc9440)", arg);
		c->v.enc = encv[i];
		break;
	case O_VERBOSE:
		c->verbose++;
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

/*
 * What every request gets: the cookie list and the header fields, once
 * per connection; whatever an earlier connection set is forgotten.
 */
static void
setup_values(void)
{
	static struct values v;	/* static: reachable until exit */
	int r;

	values_free(&v);
	cfg.v.header_chain = ck.header_chain;
	cfg.v.log = log_note;
	if ((r = values_build(&cfg.v, &v)) != 0)
		fatal(r == VALUES_ECERT ? EX_NOINPUT : r == VALUES_ENOMEM ?
		    EX_OSERR : EX_SOFTWARE, "%s", v.err);
	ck.add = v.add;
	ck.add_len = v.add_len;
	ck.fields = v.fields;
	ck.fields_len = v.fields_len;
	ck.fields_count = v.fields_count;
}

static int
gone(int err)
{
	return err == EPIPE || err == ECONNRESET;
}

/* Answer 502 or 504 at once, outside the engine: EX_UNAVAILABLE. */
static int
answer_now(int fd, int status)
{
	engine_answer_now(fd, status);
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
	if (net_nonblock(0) == -1 || net_nonblock(1) == -1 ||
	    net_nonblock(bfd) == -1)
		fatal(EX_OSERR, "fcntl");
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
			net_shut(bfd);
		switch (verdict) {
		case ENGINE_AGAIN:
			continue;
		case ENGINE_END:
			net_shut(1);
			return e->status;
		case ENGINE_UNANSWERED:
			return e->status = answer_now(1, 502);
		case ENGINE_POLL:
			break;
		}
		proxy_wait(e, bfd);
	}
}
/*
 * Run COMMAND on a socketpair.  Returns our end; *status gets 126 or 127
 * when COMMAND could not be run.
 */
static int
spawn(char **argv, int *status)
{
	const char *what;
	int fd;

	if ((fd = spawn_socket(argv, environ, status, &what)) == -1)
		fatal(EX_OSERR, "%s", what);
	if (*status != 0)
		log_warn("unable to run %s", argv[0]);
	return fd;
}

/*
 * Connect to --connect within --connect-timeout.  Returns the fd, or -1
 * (errno ETIMEDOUT when the time ran out).
 */
static int
connect_backend(const char *spec)
{
	const char *why;
	unsigned char hdr[PROXY_V2_MAX];
	uint64_t end = net_now_ms() + cfg.connect_timeout * 1000ull;
	int fd, n;

	fd = net_connect(spec, end, &why);
	if (fd == -1 && why != NULL)
		log_warnx("%s: %s", spec, why);
	if (fd == -1 || !cfg.send_proxy)
		return fd;
	/* --send-proxy: the header first, within the same time. */
	if ((n = peer_proxy_header(cfg.send_proxy, 0, hdr, sizeof hdr)) == -1)
		fatalx(EX_SOFTWARE, "PROXY header too large");
	if (net_write_all(fd, hdr, (size_t)n, end) == -1) {
		log_warn("%s: PROXY header", spec);
		close(fd);
		return -1;
	}
	return fd;
}

static int	serve(struct engine *);

/* One connection under HANDOFF_FD: its own values and engine state. */
static int
serve_next(void *arg)
{
	struct engine *e = arg;

	engine_reset(e);
	setup_values();
	return serve(e);
}

/*
 * Under tlsfront --handoff: connection after connection from hfd (see
 * lib/handoff.h).  A connection whose handling exits the process (a
 * fatal error) ends it, and tlsfront starts us again.
 */
static int
serve_handoff(int hfd, struct engine *e)
{
	static struct handoff_msg m;	/* static: reachable until exit */
	unsigned long bad = 0;
	int null;

	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		fatal(EX_OSERR, "/dev/null");
	(void)fcntl(hfd, F_SETFD, FD_CLOEXEC);
	/* A connector COMMAND per connection, reaped by the kernel. */
	signal(SIGCHLD, SIG_IGN);
	if (handoff_serve(hfd, null, &m, serve_next, e, &bad) == -1)
		fatal(EX_OSERR, "%s", HANDOFF_ENV);
	if (bad > 0)
		log_warnx("%s: %lu message(s) without one connection and its "
		    "environment", HANDOFF_ENV, bad);
	return 0;
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
	/* Here, not at ARGP_KEY_END, which "-- COMMAND" skips. */
	if (cfg.cmd && cfg.connect)
		fatalx(EX_USAGE, "--connect and COMMAND exclude each other");
	if (cfg.v.no_cookie && cfg.v.header == NULL)
		fatalx(EX_USAGE, "--no-cookie needs --header");
	if (cfg.send_proxy && cfg.connect == NULL)
		fatalx(EX_USAGE, "--send-proxy and --send-proxy-v2 need "
		    "--connect");
	if (cfg.connect && strncmp(cfg.connect, "unix:", 5) != 0 &&
	    (net_hostport(cfg.connect, host, sizeof host, &port) == -1 ||
	    *port == '\0'))
		fatalx(EX_USAGE, "--connect: %s: want HOST:PORT or unix:PATH",
		    cfg.connect);
	log_init(argv[0], cfg.verbose, 0);

	if (cookie_upgrade_check(cfg.upgrade) == -1)
		fatalx(EX_USAGE, "--upgrade: h2c can never be allowed: "
		    "its requests could not be rewritten");
	if (cookie_cfg_init(&ck, cfg.v.name, cfg.v.header) == -1)
		fatalx(EX_USAGE, "--name %s or --header %s: not a valid token",
		    cfg.v.name, cfg.v.header ? cfg.v.header : "");
	ck.upgrade = cfg.upgrade;
	ck.reject_spoof = cfg.reject_spoof;
	ck.max_fields = cfg.max_fields;
	cfg.v.client_fd = 0;
	/* A client must not choose its own address. */
	if (cfg.v.forwarded)
		ck.strip[ck.nstrip++] = "Forwarded";
	if (cfg.v.x_forwarded) {
		ck.strip[ck.nstrip++] = "X-Forwarded-For";
		ck.strip[ck.nstrip++] = "X-Forwarded-Proto";
		ck.strip[ck.nstrip++] = "X-Forwarded-Port";
	}

	/* All memory the connection needs, allocated once. */
	memset(&ecfg, 0, sizeof ecfg);
	ecfg.ck = &ck;
	ecfg.max_head = cfg.max_head;
	ecfg.allow_connect = cfg.allow_connect;
	ecfg.proxy = cfg.cmd != NULL || cfg.connect != NULL;
	ecfg.head_timeout = cfg.head_timeout;
	ecfg.body_timeout = cfg.body_timeout;
	ecfg.response_timeout = cfg.response_timeout;
	ecfg.log = log_note;
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
		if ((status = engine_filter(e, splice_ok)) == ENGINE_EFAULT)
			fatalx(EX_SOFTWARE, "%s", e->fault);
		if (status == ENGINE_EIO)
			fatal(EX_IOERR, "%s", e->fault);
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
