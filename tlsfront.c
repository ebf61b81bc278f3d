/*
 * tlsfront: a GnuTLS server for inetd, systemd socket units and its own
 * listener.  After the handshake COMMAND runs on a socketpair, with the
 * client certificate in the environment under mod_ssl's names: under
 * inetd and systemd Accept=yes the TLS relay runs in a process of its
 * own and this process execs COMMAND; the accept loop hands each connection to
 * a worker, forked once and reused, which spawns COMMAND and runs the
 * relay itself.
 */
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certenv.h"
#include "exits.h"
#include "handoff.h"
#include "log.h"
#include "net.h"
#include "proxyproto.h"
#include "num.h"
#include "spawn.h"
#include "tls.h"

#define LISTEN_MAX	16
#define PROXY_FROM_MAX	64
#define SD_FDS_START	3

extern char **environ;

#define DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
	"+AES-128-CCM:+AES-256-CCM:-MAC-ALL:+AEAD:" \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:%SERVER_PRECEDENCE"

struct config {
	struct tls_config tls;
	const char	*listen[LISTEN_MAX];
	size_t		 nlisten;
	const char	*new_ticket_key;
	const char	*user;
	unsigned	 idle_ms;
	unsigned	 max_conns;
	unsigned	 max_per_ip;	/* 0: no limit */
	int		 verify_set;
	int		 handoff;	/* workers keep COMMAND running */
	int		 proxy;		/* a PROXY header opens each connection */
	struct net_cidr	 proxy_from[PROXY_FROM_MAX];
	size_t		 nproxy_from;	/* 0: from any peer */
	int		 verbosity;
	int		 use_syslog;
	size_t		 nkeys;
	char		**child;
};

const char *argp_program_version = "tlsfront 0.1";
const char *argp_program_bug_address = NULL;

enum {
	OPT_CA = 256, OPT_CRL, OPT_VERIFY, OPT_PRIORITY, OPT_ALPN,
	OPT_TICKET_KEY, OPT_NEW_TICKET_KEY, OPT_HS_TIMEOUT, OPT_IDLE_TIMEOUT,
	OPT_MAX_CONNS, OPT_MAX_PER_IP, OPT_SYSLOG, OPT_NO_SYSLOG, OPT_HANDOFF,
	OPT_PROXY, OPT_PROXY_FROM,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Certificates and keys:", 1 },
	{ "cert", 'c', "FILE", 0,
	    "Server certificate chain (PEM); repeat for several names, "
	    "chosen by SNI (the first is the default)", 1 },
	{ "key", 'k', "FILE|URL", 0,
	    "Private key of the matching --cert: a PEM file or a pkcs11: "
	    "URL (default: the --cert file itself)", 1 },
	{ "ticket-key", OPT_TICKET_KEY, "FILE", 0,
	    "Session-ticket key shared by processes and hosts (default: "
	    "random, per process)", 1 },
	{ "new-ticket-key", OPT_NEW_TICKET_KEY, "FILE", 0,
	    "Write a new random ticket key to FILE (mode 0600) and exit", 1 },
	{ NULL, 0, NULL, 0, "Client certificates:", 2 },
	{ "ca", OPT_CA, "FILE", 0,
	    "CAs that client certificates must chain to (PEM); asks "
	    "clients for a certificate", 2 },
	{ "crl", OPT_CRL, "FILE", 0, "Revocation list(s) for --ca (PEM)", 2 },
	{ "verify", OPT_VERIFY, "MODE", 0,
	    "require, optional, optional-no-ca or none (default: require "
	    "with --ca, else none)", 2 },
	{ NULL, 0, NULL, 0, "TLS:", 3 },
	{ "priority", OPT_PRIORITY, "STRING", 0,
	    "GnuTLS priority string (default: TLS 1.2 and 1.3, AEAD "
	    "ciphers, forward secrecy)", 3 },
	{ "alpn", OPT_ALPN, "LIST", 0,
	    "Comma-separated ALPN protocols; a client offering only others "
	    "is refused; \"\" for none (default: http/1.1)", 3 },
	{ "handshake-timeout", OPT_HS_TIMEOUT, "SECONDS", 0,
	    "Give up a handshake after SECONDS (default: 10)", 3 },
	{ "idle-timeout", OPT_IDLE_TIMEOUT, "SECONDS", 0,
	    "Close a connection idle for SECONDS (default: 300)", 3 },
	{ "proxy-protocol", OPT_PROXY, NULL, 0,
	    "Every connection opens with a PROXY protocol header (v1 or v2), "
	    "whose addresses are the client's", 3 },
	{ "proxy-from", OPT_PROXY_FROM, "CIDR[,CIDR...]", 0,
	    "With --proxy-protocol: only these peers may connect; "
	    "repeatable", 3 },
	{ NULL, 0, NULL, 0,
	    "Own listener (when neither systemd nor inetd passed a "
	    "socket):", 4 },
	{ "listen", 'l', "ADDR:PORT", 0,
	    "Listen on ADDR:PORT, [IPv6]:PORT or *:PORT; repeatable", 4 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0,
	    "At most N connections at once (default: 256)", 4 },
	{ "max-conns-per-ip", OPT_MAX_PER_IP, "N", 0,
	    "At most N of them from one IPv4 address or IPv6 /64; more "
	    "are closed at once (default: 0, no limit)", 4 },
	{ "handoff", OPT_HANDOFF, NULL, 0,
	    "Start COMMAND once per worker and pass it each connection "
	    "(HANDOFF_FD, see the manual) instead of running it for each",
	    4 },
	{ "user", 'u', "USER", 0,
	    "Switch to USER after binding and loading keys", 4 },
	{ NULL, 0, NULL, 0, "Logging:", 5 },
	{ "verbose", 'v', NULL, 0,
	    "One line per connection; twice: debug", 5 },
	{ "quiet", 'q', NULL, 0, "Only fatal errors", 5 },
	{ "syslog", OPT_SYSLOG, NULL, 0,
	    "Log to syslog (automatic when fd 2 is the client socket)", 5 },
	{ "no-syslog", OPT_NO_SYSLOG, NULL, 0, "Log to stderr", 5 },
	{ NULL, 0, NULL, 0, "Informational:", -1 },
	{ NULL, 0, NULL, 0, NULL, 0 },
};

/* num_parse() into an unsigned long. */
static int
parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long long v;

	if (num_parse(s, min, max, &v) == -1)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

/* --proxy-from CIDR[,CIDR...], added to those before. */
static void
parse_proxy_from(struct argp_state *state, struct config *cfg, char *arg)
{
	char *p, *save = NULL;

	for (p = strtok_r(arg, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		if (cfg->nproxy_from == PROXY_FROM_MAX)
			argp_error(state, "--proxy-from: at most %d prefixes",
			    PROXY_FROM_MAX);
		if (net_cidr_parse(p, &cfg->proxy_from[cfg->nproxy_from++]) ==
		    -1)
			argp_error(state, "--proxy-from: want ADDR or "
			    "ADDR/BITS, not \"%s\"", p);
	}
}

/*
 * parse_opt() by the groups of --help: each takes the keys of its
 * group and returns ARGP_ERR_UNKNOWN for the others.
 */
static error_t
opt_keys(int key, char *arg, struct argp_state *state)
{
	struct config *cfg = state->input;

	switch (key) {
	case 'c':
		if (cfg->tls.npairs == TLS_PAIRS_MAX)
			argp_error(state, "at most %d --cert", TLS_PAIRS_MAX);
		cfg->tls.cert[cfg->tls.npairs++] = arg;
		break;
	case 'k':
		if (cfg->nkeys == cfg->tls.npairs)
			argp_error(state, "--key %s follows no --cert of its "
			    "own", arg);
		cfg->tls.key[cfg->nkeys++] = arg;
		break;
	case OPT_TICKET_KEY:
		cfg->tls.ticket_key = arg;
		break;
	case OPT_NEW_TICKET_KEY:
		cfg->new_ticket_key = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t
opt_client(int key, char *arg, struct argp_state *state)
{
	struct config *cfg = state->input;

	switch (key) {
	case OPT_CA:
		cfg->tls.ca = arg;
		break;
	case OPT_CRL:
		cfg->tls.crl = arg;
		break;
	case OPT_VERIFY:
		cfg->verify_set = 1;
		if (strcmp(arg, "require") == 0)
			cfg->tls.verify = TLS_VERIFY_REQUIRE;
		else if (strcmp(arg, "optional") == 0)
			cfg->tls.verify = TLS_VERIFY_OPTIONAL;
		else if (strcmp(arg, "optional-no-ca") == 0)
			cfg->tls.verify = TLS_VERIFY_OPTIONAL_NO_CA;
		else if (strcmp(arg, "none") == 0)
			cfg->tls.verify = TLS_VERIFY_NONE;
		else
			argp_error(state, "--verify: want require, optional, "
			    "optional-no-ca or none, not \"%s\"", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t
opt_tls(int key, char *arg, struct argp_state *state)
{
	struct config *cfg = state->input;
	unsigned long v = 0;

	switch (key) {
	case OPT_PRIORITY:
		cfg->tls.priority = arg;
		break;
	case OPT_ALPN:
		cfg->tls.alpn = arg;
		break;
	case OPT_HS_TIMEOUT:
		if (parse_uint(arg, 1, 3600, &v) == -1)
			argp_error(state, "--handshake-timeout: want 1 to "
			    "3600 seconds, not \"%s\"", arg);
		cfg->tls.handshake_ms = v * 1000;
		break;
	case OPT_IDLE_TIMEOUT:
		if (parse_uint(arg, 1, 86400, &v) == -1)
			argp_error(state, "--idle-timeout: want 1 to 86400 "
			    "seconds, not \"%s\"", arg);
		cfg->idle_ms = v * 1000;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t
opt_listener(int key, char *arg, struct argp_state *state)
{
	struct config *cfg = state->input;
	unsigned long v = 0;

	switch (key) {
	case 'l':
		if (cfg->nlisten == LISTEN_MAX)
			argp_error(state, "at most %d --listen", LISTEN_MAX);
		cfg->listen[cfg->nlisten++] = arg;
		break;
	case OPT_MAX_CONNS:
		if (parse_uint(arg, 1, 1000000, &v) == -1)
			argp_error(state, "--max-conns: want 1 to 1000000, "
			    "not \"%s\"", arg);
		cfg->max_conns = v;
		break;
	case OPT_MAX_PER_IP:
		if (parse_uint(arg, 0, 1000000, &v) == -1)
			argp_error(state, "--max-conns-per-ip: want 0 to "
			    "1000000, not \"%s\"", arg);
		cfg->max_per_ip = v;
		break;
	case OPT_HANDOFF:
		cfg->handoff = 1;
		break;
	case OPT_PROXY:
		cfg->proxy = 1;
		break;
	case OPT_PROXY_FROM:
		parse_proxy_from(state, cfg, arg);
		break;
	case 'u':
		cfg->user = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t
opt_logging(int key, char *arg, struct argp_state *state)
{
	struct config *cfg = state->input;

	(void)arg;
	switch (key) {
	case 'v':
		cfg->verbosity++;
		break;
	case 'q':
		cfg->verbosity = 0;
		break;
	case OPT_SYSLOG:
		cfg->use_syslog = 1;
		break;
	case OPT_NO_SYSLOG:
		cfg->use_syslog = 0;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static error_t
parse_opt(int key, char *arg, struct argp_state *state)
{
	static error_t (*const groups[])(int, char *,
	    struct argp_state *) = {
		opt_keys, opt_client, opt_tls, opt_listener, opt_logging,
	};
	struct config *cfg = state->input;
	error_t e;
	size_t i;

	for (i = 0; i < sizeof groups / sizeof groups[0]; i++)
		if ((e = groups[i](key, arg, state)) != ARGP_ERR_UNKNOWN)
			return e;
	if (key != ARGP_KEY_NO_ARGS)
		return ARGP_ERR_UNKNOWN;
	if (cfg->new_ticket_key == NULL)
		argp_error(state, "no COMMAND to run");
	return 0;
}

/* A usage error found after argp_parse(), worded as argp does. */
static _Noreturn void
usage_error(const char *msg)
{
	fprintf(stderr, "%s: %s\nTry `%s --help' for more information.\n",
	    program_invocation_short_name, msg,
	    program_invocation_short_name);
	exit(EX_USAGE);
}

static void
check_config(struct config *cfg)
{
	if (cfg->tls.npairs == 0)
		usage_error("no --cert");
	if (!cfg->verify_set)
		cfg->tls.verify = cfg->tls.ca ? TLS_VERIFY_REQUIRE :
		    TLS_VERIFY_NONE;
	if ((cfg->tls.verify == TLS_VERIFY_REQUIRE ||
	    cfg->tls.verify == TLS_VERIFY_OPTIONAL) && cfg->tls.ca == NULL)
		usage_error("--verify require and optional need --ca");
	if (cfg->tls.crl != NULL && cfg->tls.ca == NULL)
		usage_error("--crl needs --ca");
	if (cfg->nproxy_from > 0 && !cfg->proxy)
		usage_error("--proxy-from needs --proxy-protocol");
}

static const struct argp argp = {
	options, parse_opt, "-- COMMAND [ARG...]",
	"Serve TLS on a socket from systemd (LISTEN_FDS), inetd (fd 0) or "
	"--listen, verify the client certificate, and run COMMAND on a "
	"socketpair with the certificate in SSL_CLIENT_* variables.",
	NULL, NULL, NULL,
};

/*
 * The connection source.
 */

static int
is_listening(int fd)
{
	int v = 0;
	socklen_t len = sizeof v;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 &&
	    v != 0;
}

static int
is_connected_socket(int fd)
{
	struct stat st;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return 0;
	return getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
}

/*
 * systemd's LISTEN_FDS, for this very process (LISTEN_PID).  Returns
 * the number of fds from SD_FDS_START on, or 0.
 */
static int
sd_fds(void)
{
	const char *s = getenv("LISTEN_FDS"), *p = getenv("LISTEN_PID");
	unsigned long n, pid;
	int i;

	if (s == NULL)
		return 0;
	if (parse_uint(s, 1, LISTEN_MAX, &n) == -1)
		fatalx(EX_USAGE, "LISTEN_FDS=%s: want 1 to %d", s,
		    LISTEN_MAX);
	if (p != NULL && (parse_uint(p, 1, (unsigned long)-1, &pid) == -1 ||
	    pid != (unsigned long)getpid()))
		return 0;
	for (i = 0; i < (int)n; i++)
		if (fcntl(SD_FDS_START + i, F_SETFD, FD_CLOEXEC) == -1)
			fatal(EX_OSERR, "LISTEN_FDS fd %d", SD_FDS_START + i);
	return (int)n;
}

/*
 * A listening socket on spec.  A connection reaches accept(2) only once
 * its first bytes have arrived, or defer seconds after it was made
 * (TCP_DEFER_ACCEPT): a client that connects and sends nothing holds no
 * worker meanwhile, and the accept loop closes it when the kernel hands
 * it over silent (loop_accept()).
 */
static int
listen_on(const char *spec, int defer)
{
	struct addrinfo hints, *res, *ai;
	char host[256];
	const char *port;
	int fd = -1, one = 1, zero = 0, e, wild;

	if (net_hostport(spec, host, sizeof host, &port) == -1)
		fatalx(EX_USAGE, errno == EINVAL ? "--listen %s: want "
		    "ADDR:PORT" : "--listen %s: address too long", spec);
	/* "*" or nothing: "::" taking IPv4 too, else 0.0.0.0. */
	wild = host[0] == '\0' || strcmp(host, "*") == 0;
	if (wild)
		strcpy(host, "::");
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0)
		fatalx(EX_USAGE, "--listen %s: %s", spec, gai_strerror(e));
	if (wild && (e = getaddrinfo("0.0.0.0", port, &hints,
	    &res->ai_next)) != 0)
		fatalx(EX_USAGE, "--listen %s: %s", spec, gai_strerror(e));
	/* The first address that binds. */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (wild && ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			    sizeof zero);
		if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer,
		    sizeof defer) == -1)
			log_warn("--listen %s: TCP_DEFER_ACCEPT", spec);
		/*
		 * A backlog as long as the kernel allows (somaxconn):
		 * connections that wait for their first bytes count
		 * against it.
		 */
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		fatal(EX_OSERR, "listen on %s", spec);
	return fd;
}

static void
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL)
		return;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		fatalx(EX_USAGE, "unknown user %s", user);
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1)
		fatal(EX_OSERR, "switch to user %s", user);
	if (setuid(0) != -1 && pw->pw_uid != 0)
		fatalx(EX_OSERR, "could regain root after switching to %s",
		    user);
}

/*
 * One connection.
 */

static void
log_conn(const struct tls_conn *c, int up, const char *peer,
    const char *subject, const struct timespec *t0, const char *result)
{
	struct timespec t1;
	double secs;
	char sni[4 * sizeof c->sni], sub[1024];

	if (log_verbosity < 2)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	/* The client chose both, the subject even when it failed. */
	log_escape(sni, sizeof sni, c->sni);
	log_escape(sub, sizeof sub, subject);
	log_info("%s sni=%s %s %s %s verify=%s subject=\"%s\" in=%llu "
	    "out=%llu time=%.3fs %s", peer, c->sni[0] ? sni : "-",
	    up ? tls_protocol(c) : "-", up ? tls_cipher(c) : "-",
	    !up ? "-" : gnutls_session_is_resumed(c->s) ? "resumed" : "new",
	    c->verify, sub, (unsigned long long)c->bytes_in,
	    (unsigned long long)c->bytes_out, secs, result);
}

static int
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * In the process about to exec COMMAND: SIGPIPE and SIGHUP, ignored
 * here, back to their defaults (an ignored signal stays ignored across
 * exec); stdin and stdout on appfd, and stderr too when fd 2 was the
 * client socket (inetd), so that COMMAND logs the way we do.  Returns 0,
 * or -1 and errno.
 */
static int
command_fds(int appfd, int err_is_sock)
{
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (dup2(appfd, 0) == -1 || dup2(appfd, 1) == -1 ||
	    (err_is_sock && dup2(appfd, 2) == -1))
		return -1;
	return 0;
}

/*
 * A worker runs COMMAND with vfork semantics, no copy of our page
 * tables, as posix_spawn(3) would.  glibc's posix_spawn sets or queries
 * the disposition of every signal in the child, a system call for each,
 * in case a handler could run there.  A worker has no handler, see
 * worker_new(): with all signals blocked until the child has reset
 * SIGPIPE and SIGHUP (command_fds()), nothing of ours can run in the
 * child.  Returns COMMAND's pid, or -1 and errno.
 */
struct command_io {
	int	 appfd;
	int	 err_is_sock;
};

static int
command_setup(void *arg)
{
	const struct command_io *io = arg;

	return command_fds(io->appfd, io->err_is_sock);
}

static pid_t
spawn_command(const struct config *cfg, int appfd, int err_is_sock,
    char **envp)
{
	struct command_io io = { appfd, err_is_sock };
	pid_t pid;

	pid = spawn_run(cfg->child, envp, command_setup, &io);
	return pid == 0 ? -1 : pid;
}

/*
 * --proxy-protocol.
 */

/* Wait until fd is readable or the monotonic time end (ms).  1, or 0. */
static int
readable_by(int fd, uint64_t end)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	uint64_t now;
	int r;

	do {
		if ((now = net_now_ms()) >= end)
			return 0;
		r = poll(&pfd, 1, (int)(end - now));
	} while (r == -1 && errno == EINTR);
	return r > 0;
}

/*
 * How many more bytes of b[0..n) surely belong to the PROXY header
 * that starts it: never one of the TLS stream behind it.  Any header is
 * 15 bytes at least ("PROXY UNKNOWN\r\n"); a v2 one says its length in
 * its 16 bytes; a v1 line ends at its LF, found by peeking (0 here).
 */
static size_t
header_want(const unsigned char *b, size_t n)
{
	if (n < 15)
		return 15;
	if (b[0] != '\r')
		return 0;
	return n < 16 ? 16 : 16 + ((size_t)b[14] << 8 | b[15]);
}

/* Read the rest of a PROXY header into b[0..*n).  0, or -1 with *why. */
static int
proxy_read(int fd, unsigned char *b, size_t *n, struct proxy_hdr *h,
    uint64_t end, const char **why)
{
	unsigned char *lf;
	size_t want;
	ssize_t k;
	int r;

	while ((r = proxy_parse(b, *n, h)) == PROXY_NEED_MORE) {
		if (!readable_by(fd, end)) {
			*why = "no PROXY header in time";
			return -1;
		}
		if ((want = header_want(b, *n)) == 0) {
			k = recv(fd, b + *n, PROXY_V1_MAX - *n,
			    MSG_PEEK | MSG_DONTWAIT);
			if (k > 0 && (lf = memchr(b + *n, '\n', (size_t)k)))
				k = lf - (b + *n) + 1;
		} else {
			k = (ssize_t)(want - *n);
		}
		if (k > 0)
			k = recv(fd, b + *n, (size_t)k, MSG_DONTWAIT);
		if (k == 0) {
			*why = "end of file inside the PROXY header";
			return -1;
		}
		if (k == -1 && errno != EAGAIN && errno != EINTR) {
			*why = strerror(errno);
			return -1;
		}
		if (k > 0)
			*n += (size_t)k;
	}
	if (r < 0) {
		*why = r == PROXY_NOT_PROXY ? "no PROXY header" :
		    r == PROXY_TOO_LONG ? "PROXY header too long" :
		    "malformed PROXY header";
		return -1;
	}
	return 0;
}

/*
 * The PROXY header that opens fd, read within --handshake-timeout and
 * not a byte further, from a peer of --proxy-from.  Its addresses, of a
 * PROXY command for TCP over IPv4 or IPv6, replace the socket's in the
 * environment and in peer; a LOCAL command or another family keeps the
 * socket's.  Returns 0; 1, with *why, for a LOCAL header followed by
 * end of file or a reset, or a peer gone before anything was read (a
 * balancer's health check); -1 with *why set.
 */
static int
proxy_accept(int fd, const struct config *cfg, char *peer, size_t peerlen,
    const char **why)
{
	unsigned char b[PROXY_V2_MAX];
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct proxy_hdr h;
	uint64_t end = net_now_ms() + cfg->tls.handshake_ms;
	size_t n = 0;
	ssize_t k;
	char c;

	if (cfg->nproxy_from > 0 && getpeername(fd, (struct sockaddr *)&ss,
	    &len) == -1) {
		/* Reset already: a health check that did not wait. */
		*why = "gone before its PROXY header was read";
		return 1;
	}
	if (cfg->nproxy_from > 0 && !net_cidr_match(cfg->proxy_from,
	    cfg->nproxy_from, (struct sockaddr *)&ss)) {
		*why = "not a --proxy-from peer";
		return -1;
	}
	if (proxy_read(fd, b, &n, &h, end, why) == -1)
		return -1;
	if (h.command == PROXY_CMD_LOCAL) {
		if (!readable_by(fd, end))
			return 0;
		k = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		*why = "PROXY LOCAL, then end of file: a health check";
		return k == 0 || (k == -1 && errno == ECONNRESET) ? 1 : 0;
	}
	if (!h.has_addr)
		return 0;
	certenv_reset();
	if (certenv_addrs_of(&h.src, &h.dst, peer, peerlen) == -1)
		fatal(EX_OSERR, "environment");
	return 0;
}

/*
 * Handshake on fd, then COMMAND's environment.  Returns 0, or the exit
 * status the connection ends with: under inetd and systemd Accept=yes
 * (keep_going 0) after saying why and exiting; in an accept loop's
 * worker, which goes on to its next connection, after logging why.
 */
static int
handshake(int fd, struct tls_conn *c, const struct config *cfg,
    const struct tls_ctx *ctx, int keep_going, char *peer, size_t peerlen,
    char *subject, size_t sublen, const struct timespec *t0)
{
	const gnutls_datum_t *certs;
	unsigned n = 0;
	int r, st;
	const char *what;

	certenv_reset();
	if (certenv_addrs(fd, peer, peerlen) == -1)
		fatal(EX_OSERR, "environment");
	if (cfg->proxy && (r = proxy_accept(fd, cfg, peer, peerlen,
	    &what)) != 0) {
		/* A balancer's health check: nothing to say. */
		if (r == 1 && !keep_going)
			exit(0);
		if (r == 1) {
			log_debug("%s: %s", peer, what);
			return EX_TLS;
		}
		if (!keep_going)
			fatalx(EX_TLS, "%s: %s: refused", peer, what);
		log_warnx("%s: %s: refused", peer, what);
		return EX_TLS;
	}
	r = tls_accept(c, ctx, fd);
	/* Only the per-connection log line needs it: -v. */
	if (log_verbosity >= 2 && c->have_cert &&
	    (certs = gnutls_certificate_get_peers(c->s, &n)) != NULL && n > 0)
		certenv_subject(&certs[0], subject, sublen);
	if (r != TLS_OK) {
		log_conn(c, 0, peer, subject, t0, "handshake failed");
		switch (r) {
		case TLS_ERR_CERT:
			st = EX_CERT;
			what = "client certificate";
			break;
		case TLS_ERR_SYS:
			if (!keep_going)
				fatal(EX_OSERR, "%s: TLS session", peer);
			log_warn("%s: TLS session", peer);
			return EX_OSERR;
		default:
			st = EX_TLS;
			what = "handshake";
			break;
		}
		if (!keep_going)
			fatalx(st, "%s: %s: %s", peer, what, tls_conn_error(c));
		log_warnx("%s: %s: %s", peer, what, tls_conn_error(c));
		return st;
	}
	log_debug("%s: handshake done: %s %s verify=%s%s", peer,
	    tls_protocol(c), tls_cipher(c), c->verify,
	    c->verify_cached ? " (verified before)" : "");
	if (tls_export_env(c) == -1)
		fatal(EX_OSERR, "environment");
	return 0;
}

/*
 * Wait for a COMMAND whose connection is over (after says how): killed
 * at once when kill_now, else when still running COMMAND_STOP_MS later,
 * so that no worker waits for ever.  The pidfd wakes us when it ends;
 * without one, we look every 10 ms.
 */
#define COMMAND_STOP_MS	5000

static void
command_reap(pid_t pid, int kill_now, const char *after)
{
	struct pollfd pfd = { pidfd_open(pid, 0), POLLIN, 0 };
	struct timespec t0, t1;
	int left;

	if (kill_now)
		kill(pid, SIGKILL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = COMMAND_STOP_MS - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 && !kill_now) {
			log_warnx("COMMAND (pid %ld) still running %d s after "
			    "%s: killed", (long)pid, COMMAND_STOP_MS / 1000,
			    after);
			kill(pid, SIGKILL);
			kill_now = 1;
		}
		poll(&pfd, 1, pfd.fd == -1 || left <= 0 ? 10 : left);
	}
	if (pfd.fd != -1)
		close(pfd.fd);
}

/*
 * A worker of the accept loop runs COMMAND (spawn_command()) and the
 * relay itself, then waits for COMMAND.  The accept loop is the
 * supervisor here, so which pid runs COMMAND is ours to choose.
 */
static void
run_command(struct tls_conn *c, int sp[2], const struct config *cfg,
    const char *peer, const char *subject, const struct timespec *t0)
{
	char **envp;
	pid_t pid;
	int r;

	if ((envp = certenv_envp()) == NULL)
		fatal(EX_OSERR, "environment");
	pid = spawn_command(cfg, sp[0], same_file(2, c->fd), envp);
	close(sp[0]);
	if (pid == -1)
		log_warn("exec %s", cfg->child[0]);

	/* Without COMMAND the relay sees end of file at once. */
	r = tls_relay(c, sp[1], cfg->idle_ms);
	if (r == -1)
		log_debug("%s: %s", peer, c->err);
	log_conn(c, 1, peer, subject, t0, r == 0 ? "ok" : c->err);
	close(sp[1]);
	close(c->fd);
	if (pid != -1)
		command_reap(pid, 0, "its connection ended");
}

/*
 * --handoff: the worker's COMMAND, started once and passed connection
 * after connection on a SOCK_SEQPACKET socket (lib/handoff.h), its fd 3.
 * pid -1: not running; it starts again for the next connection.
 */
#define HANDOFF_FD_NUM	3

static struct {
	pid_t			 pid;
	int			 sock;		/* our end */
	struct handoff_msg	 msg;		/* each message, built here */
	char			**envp;		/* environ, HANDOFF_FD=3 */
} res = { -1, -1, { NULL, 0, NULL, 0 }, NULL };

struct resident_io {
	int	 sock;
	int	 null;
};

/* In the child, as command_fds(): fd 3 the socket, 0 and 1 /dev/null. */
static int
resident_setup(void *arg)
{
	const struct resident_io *io = arg;
	int s = io->sock, n = io->null;

	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/* Out of the way of the fds they go to, and closed by the exec. */
	if ((s <= HANDOFF_FD_NUM &&
	    (s = fcntl(s, F_DUPFD_CLOEXEC, HANDOFF_FD_NUM + 1)) == -1) ||
	    (n <= HANDOFF_FD_NUM &&
	    (n = fcntl(n, F_DUPFD_CLOEXEC, HANDOFF_FD_NUM + 1)) == -1))
		return -1;
	if (dup2(n, 0) == -1 || dup2(n, 1) == -1 ||
	    dup2(s, HANDOFF_FD_NUM) == -1)
		return -1;
	return 0;
}

static int
resident_start(const struct config *cfg)
{
	static char handoff_var[] = HANDOFF_ENV "=3";
	struct resident_io io;
	int sv[2], size = HANDOFF_MAX + 4096, e;
	size_t n = 0;
	pid_t pid;

	if (res.envp == NULL) {
		while (environ != NULL && environ[n] != NULL)
			n++;
		if ((res.envp = calloc(n + 2, sizeof *res.envp)) == NULL)
			return -1;
		if (n > 0)
			memcpy(res.envp, environ, n * sizeof *environ);
		res.envp[n] = handoff_var;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	/* A message must fit the buffer whole. */
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	io.sock = sv[0];
	if ((io.null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		e = errno;
		close(sv[0]);
		close(sv[1]);
		errno = e;
		return -1;
	}
	pid = spawn_run(cfg->child, res.envp, resident_setup, &io);
	e = errno;
	close(sv[0]);
	close(io.null);
	if (pid <= 0) {
		close(sv[1]);
		errno = e;
		return -1;
	}
	res.pid = pid;
	res.sock = sv[1];
	return 0;
}

/*
 * Stop the resident COMMAND: end of file on its socket, which tells it
 * to exit once done; SIGKILL at once when kill_now, or after
 * COMMAND_STOP_MS.
 */
static void
resident_stop(int kill_now)
{
	if (res.pid == -1)
		return;
	close(res.sock);
	res.sock = -1;
	command_reap(res.pid, kill_now, "its end of file");
	res.pid = -1;
}

/* Whether the resident COMMAND has gone since its last connection. */
static int
resident_gone(void)
{
	struct pollfd pfd = { res.sock, POLLIN, 0 };

	return poll(&pfd, 1, 0) != 0;
}

/*
 * run_command() for --handoff: the connection goes to the resident
 * COMMAND, started first if need be.  When the handoff fails, or
 * COMMAND ends without saying it is done, that one connection is
 * closed and COMMAND starts again for the next.
 */
static void
run_resident(struct tls_conn *c, const struct config *cfg, const char *peer,
    const char *subject, const struct timespec *t0)
{
	char **envp;
	int sp[2], r, st;

	if ((envp = certenv_envp()) == NULL)
		fatal(EX_OSERR, "environment");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair");
		close(c->fd);
		return;
	}
	if (res.pid != -1 && resident_gone())
		resident_stop(1);
	if (res.pid == -1 && resident_start(cfg) == -1) {
		log_warn("exec %s", cfg->child[0]);
	} else if (handoff_send(res.sock, sp[0], envp, &res.msg) == -1) {
		log_warn("%s: handoff to %s", peer, cfg->child[0]);
		resident_stop(1);
	}
	close(sp[0]);

	/* Without COMMAND the relay sees end of file at once. */
	r = tls_relay(c, sp[1], cfg->idle_ms);
	if (r == -1)
		log_debug("%s: %s", peer, c->err);
	log_conn(c, 1, peer, subject, t0, r == 0 ? "ok" : c->err);
	close(sp[1]);
	close(c->fd);
	if (res.pid == -1)
		return;
	/* Its status is due as soon as its end of the connection closed. */
	if ((st = handoff_wait(res.sock, COMMAND_STOP_MS)) == -1) {
		if (errno == ETIMEDOUT)
			log_warnx("%s: %s sent no status %d s after the "
			    "connection ended: started again", peer,
			    cfg->child[0], COMMAND_STOP_MS / 1000);
		else
			log_warnx("%s: %s ended the connection without a "
			    "status: started again", peer, cfg->child[0]);
		resident_stop(1);
	} else if (st != 0) {
		log_debug("%s: %s: status %d", peer, cfg->child[0], st);
	}
}

/* The next connection from the accept loop, or -1 when told to stop. */
static int
recv_fd(int ctl)
{
	char b;
	int fd;

	return fd_recv(ctl, &b, 1, &fd) == 1 ? fd : -1;
}

static int
send_fd(int ctl, int fd)
{
	return fd_send(ctl, fd, "c", 1);
}

/*
 * A worker: connection after connection, each passed by the accept
 * loop on ctl, a byte back when it is over.  The credentials were
 * loaded once, before the fork; a connection costs no fork of ours,
 * only COMMAND's vfork.  End of file on ctl: exit.  _exit:
 * GnuTLS's destructor would free its ASN.1 trees, writing to heap
 * pages shared with the accept loop, each a copy.
 *
 * The connections run in a second thread, for its malloc arena.  The
 * main thread's arena is the heap inherited from the accept loop,
 * whose free holes lie among pages shared copy-on-write with the loop
 * and every other worker: a handshake's allocations land there and
 * copy them, more with each connection a reused worker serves.  A
 * second thread's arena is in pages of its own, which only the
 * connection touches.  Its top is trimmed only on
 * free(), not by malloc_trim(), and only beyond the trim threshold
 * plus the top pad (128 KiB each by default): both lowered here, so
 * that an idle worker keeps no freed pages.
 */
#define WORKER_TRIM	(32 * 1024)

static struct {
	int			 ctl;
	const struct config	*cfg;
	const struct tls_ctx	*ctx;
} wk;

static void *
worker_conns(void *arg)
{
	static struct tls_conn c;
	struct timespec t0;
	struct pollfd pfd;
	char peer[128], subject[512];
	int fd, sp[2];

	(void)arg;
	for (;;) {
		/* Idle for a moment: hold no more than a worker needs. */
		pfd.fd = wk.ctl;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, TLS_IDLE_TRIM_MS) == 0)
			tls_relay_release();
		if ((fd = recv_fd(wk.ctl)) == -1)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		subject[0] = '\0';
		if (handshake(fd, &c, wk.cfg, wk.ctx, 1, peer, sizeof peer, subject,
		    sizeof subject, &t0) != 0)
			close(fd);
		else if (wk.cfg->handoff)
			run_resident(&c, wk.cfg, peer, subject, &t0);
		else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sp) == -1) {
			log_warn("socketpair");
			close(fd);
		} else {
			/* Closes fd once the relay is over. */
			run_command(&c, sp, wk.cfg, peer, subject, &t0);
		}
		tls_conn_free(&c);
		if (write(wk.ctl, "", 1) != 1)
			break;
	}
	return NULL;
}

static _Noreturn void
worker(int ctl, const struct config *cfg, const struct tls_ctx *ctx)
{
	pthread_t t;
	int e;

	signal(SIGPIPE, SIG_IGN);
	mallopt(M_TOP_PAD, 0);
	mallopt(M_TRIM_THRESHOLD, WORKER_TRIM);
	wk.ctl = ctl;
	wk.cfg = cfg;
	wk.ctx = ctx;
	/* Without a thread, the connections run here all the same. */
	if ((e = pthread_create(&t, NULL, worker_conns, NULL)) != 0) {
		errno = e;
		log_warn("pthread_create");
		worker_conns(NULL);
	} else {
		pthread_join(t, NULL);
	}
	resident_stop(0);
	_exit(0);
}

/*
 * serve()'s relay, under inetd and systemd Accept=yes: what it needs,
 * set before relay_start() and never changed after.
 */
#define RELAY_STACK	(256 * 1024)

static struct {
	struct tls_conn		*c;
	const struct config	*cfg;
	const char		*peer;		/* in serve()'s frame */
	const char		*subject;	/* likewise */
	struct timespec		 t0;
	int			 appfd;		/* our end of the socketpair */
	int			 cmdfd;		/* COMMAND's end */
	int			 gate[2];	/* see relay_main() */
} relay;

/*
 * The relay process, on its own stack in serve()'s memory.  Until that
 * process has exec'd COMMAND (or exited), this one must touch nothing
 * that process may use: glibc takes us for it (we share its thread
 * pointer, hence its errno and its malloc state), and it takes itself
 * for single-threaded.  So first only system calls, and errno only
 * after one has failed: wait for end of file on gate[0], whose last
 * writer is serve()'s process (the write end is close-on-exec, and
 * exec(2) closes those only after leaving its old memory behind).
 * From then on the memory is ours alone, with COMMAND in a fresh one.
 * Not instrumented by ASan: on a stack that is not the one of the
 * thread ASan knows, its no-return hook before _exit() would write a
 * warning to fd 2, the client socket under inetd.
 */
#if defined(__SANITIZE_ADDRESS__)
__attribute__((no_sanitize_address))
#endif
static int
relay_main(void *arg)
{
	ssize_t n;
	char b;
	int r;

	(void)arg;
	close(relay.gate[1]);
	while ((n = read(relay.gate[0], &b, 1)) == -1 && errno == EINTR)
		;
	if (n != 0)
		_exit(EX_OSERR);
	close(relay.gate[0]);
	close(relay.cmdfd);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* An idle connection gives its free heap pages back: tls_relay(). */
	r = tls_relay(relay.c, relay.appfd, relay.cfg->idle_ms);
	if (r == -1)
		log_debug("%s: %s", relay.peer, relay.c->err);
	log_conn(relay.c, 1, relay.peer, relay.subject, &relay.t0,
	    r == 0 ? "ok" : relay.c->err);
	_exit(r == 0 ? 0 : EX_IOERR);
}

/*
 * Start relay_main() in a process that shares our memory and is not our
 * child but an orphan, adopted by init (or the nearest subreaper):
 * COMMAND, exec'd in this process, never sees a child it did not make,
 * and the supervisor (inetd, systemd) sees COMMAND's pid and status.
 * Returns the relay's pid, or -1 with errno set.  Until our exec (or
 * exit), we may only make system calls: see relay_main().  Should the
 * exec fail, kill the relay before exit() runs GnuTLS's destructor in
 * its memory.
 *
 * Cheap: a fork() would copy our page tables, then each page either
 * process writes, and the exec would tear our copy down; here the
 * memory passes to the relay as it is, and is torn down once, when the
 * relay exits.  The middle process that makes the relay and exits, so
 * that the relay is orphaned, is a vfork(): it borrows our memory while
 * we wait, it costs no copy either.  clone(CLONE_PARENT) would need no
 * middle process, but the relay would then be the supervisor's child:
 * ucspi-tcp's tcpserver counts every child it reaps against its
 * connection limit, and xinetd logs a child it does not know.
 */
static pid_t
relay_start(void)
{
	static volatile pid_t child;
	static volatile int child_errno;
	long pg = sysconf(_SC_PAGESIZE);
	char *stk;
	pid_t mid;
	int st, w;

	if (pipe2(relay.gate, O_CLOEXEC) == -1)
		return -1;
	/* Its write end must outlive serve()'s dup2() onto 0, 1 and 2. */
	if (relay.gate[1] <= 2) {
		if ((w = fcntl(relay.gate[1], F_DUPFD_CLOEXEC, 3)) == -1)
			return -1;
		close(relay.gate[1]);
		relay.gate[1] = w;
	}
	/* With a guard page: an overflow faults, it overwrites nothing. */
	stk = mmap(NULL, RELAY_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (stk == MAP_FAILED || mprotect(stk, pg, PROT_NONE) == -1)
		return -1;
	child = -1;
	child_errno = 0;
	if ((mid = vfork()) == -1)
		return -1;
	if (mid == 0) {
		/* The middle process, in our memory while we wait. */
		child = clone(relay_main, stk + RELAY_STACK, CLONE_VM |
		    SIGCHLD, NULL);
		child_errno = errno;
		_exit(0);
	}
	while (waitpid(mid, &st, 0) == -1 && errno == EINTR)
		;
	close(relay.gate[0]);
	if (child == -1) {
		errno = child_errno;
		return -1;
	}
	return child;
}

/*
 * Under inetd and systemd Accept=yes: handshake on fd, then the relay
 * runs in a process of its own (relay_start()) and this process execs
 * COMMAND, so the supervisor sees COMMAND's pid and status.  Never
 * returns.
 */
static _Noreturn void
serve(int fd, const struct config *cfg, const struct tls_ctx *ctx)
{
	static struct tls_conn c;
	struct timespec t0;
	char peer[128], subject[512] = "";
	char **envp;
	int sp[2], r;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	handshake(fd, &c, cfg, ctx, 0, peer, sizeof peer, subject,
	    sizeof subject, &t0);
	if ((envp = certenv_envp()) == NULL)
		fatal(EX_OSERR, "environment");

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal(EX_OSERR, "socketpair");
	/* The relay: not a child of COMMAND, see relay_start(). */
	relay.c = &c;
	relay.cfg = cfg;
	relay.peer = peer;
	relay.subject = subject;
	relay.t0 = t0;
	relay.appfd = sp[1];
	relay.cmdfd = sp[0];
	if ((pid = relay_start()) == -1)
		fatal(EX_OSERR, "relay");
	close(sp[1]);
	if (command_fds(sp[0], same_file(2, fd)) == -1) {
		r = errno;
		kill(pid, SIGKILL);
		errno = r;
		fatal(EX_OSERR, "dup2");
	}
	if (sp[0] > 2)
		close(sp[0]);
	if (fd > 2)
		close(fd);
	execvpe(cfg->child[0], cfg->child, envp);
	r = errno;
	kill(pid, SIGKILL);
	errno = r;
	fatal(spawn_status(r), "exec %s",
	    cfg->child[0]);
}

/*
 * The accept loop, for --listen and systemd Accept=no.
 */

static volatile sig_atomic_t got_term, got_hup, got_chld;

static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
}

/*
 * Workers: forked on demand, then reused.  At most WORKER_SPARE idle
 * ones are kept (the rest exit when done), and each serves at most
 * WORKER_CONNS connections, so that nothing one connection left in a
 * worker's heap outlives a bounded number of others.
 */
#define WORKER_SPARE	16
#define WORKER_CONNS	1000

/*
 * Where a connection comes from, for --max-conns-per-ip: an IPv4
 * address (IPv4-mapped IPv6 included), or the /64 of an IPv6 address,
 * since one host commonly has a whole /64 to itself.  family 0: from a
 * UNIX socket or the like, which no limit applies to.
 */
struct source {
	int		 family;
	unsigned char	 a[8];
};

struct worker {
	pid_t		 pid;
	int		 ctl;		/* our end; -1: slot free */
	int		 busy;
	unsigned	 served;
	unsigned	 gen;		/* of the credentials forked with */
	struct source	 src;		/* of the connection, when busy */
};

static void
source_of(const struct sockaddr_storage *ss, struct source *src)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	memset(src, 0, sizeof *src);
	if (ss->ss_family == AF_INET) {
		src->family = AF_INET;
		memcpy(src->a, &sin->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		src->family = AF_INET;
		memcpy(src->a, s6->sin6_addr.s6_addr + 12, 4);
	} else if (ss->ss_family == AF_INET6) {
		src->family = AF_INET6;
		memcpy(src->a, s6->sin6_addr.s6_addr, 8);
	}
}

/* The numeric address of ss, escaped for the log. */
static const char *
addr_esc(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char host[NI_MAXHOST];

	if (getnameinfo((const struct sockaddr *)ss, sizeof *ss, host,
	    sizeof host, NULL, 0, NI_NUMERICHOST) != 0)
		strcpy(host, "?");
	return log_escape(buf, size, host);
}

/*
 * Whether a connection from src would be one too many: it is closed at
 * once, and logged, at most once a second with a count of the others,
 * so that a flood of them cannot flood the log.
 */
static int
over_limit(const struct worker *ws, unsigned nw, unsigned max,
    const struct sockaddr_storage *ss, const struct source *src)
{
	static long long last;
	static unsigned long quiet;
	char esc[4 * NI_MAXHOST];
	unsigned k, n = 0;
	long long now;

	if (max == 0 || src->family == 0)
		return 0;
	for (k = 0; k < nw && n < max; k++)
		if (ws[k].ctl != -1 && ws[k].busy &&
		    ws[k].src.family == src->family &&
		    memcmp(ws[k].src.a, src->a, sizeof src->a) == 0)
			n++;
	if (n < max)
		return 0;
	now = tls_now_ms();
	if (last != 0 && now - last < 1000) {
		quiet++;
		return 1;
	}
	addr_esc(ss, esc, sizeof esc);
	if (quiet > 0)
		log_warnx("%s: over --max-conns-per-ip %u: refused (and %lu "
		    "more from any address since the last such line)", esc,
		    max, quiet);
	else
		log_warnx("%s: over --max-conns-per-ip %u: refused", esc,
		    max);
	last = now;
	quiet = 0;
	return 1;
}

/*
 * The accept loop's own arrays, rewritten on every turn of the loop.
 * In the heap, each write after a fork would leave the worker holding
 * the old copy of the page, its own private memory from then on; a
 * worker unmaps them instead, once it has closed the fds they name.
 */
static struct {
	void	*base;
	size_t	 len;
} loop_mem;

static void
worker_retire(struct worker *w)
{
	close(w->ctl);
	w->ctl = -1;
	w->busy = 0;
}

/*
 * The accept loop's state.  The arrays it points to are in loop_mem;
 * the rest is accept_loop()'s own, each field changed by one step:
 * busy by loop_reap(), loop_done() and loop_dispatch(), gen by
 * loop_reload(), full and np by loop_poll_setup().
 */
struct loop {
	const int		*lfd;		/* listening sockets */
	int			 nl;
	int			 defer[LISTEN_MAX]; /* their TCP_DEFER_ACCEPT */
	const struct config	*cfg;
	struct tls_ctx		*ctx;
	struct worker		*ws;		/* nw slots */
	unsigned		 nw;
	struct pollfd		*pfd;		/* nl listeners, then workers */
	struct worker		**pw;		/* the worker of pfd[nl + k] */
	unsigned		 np;		/* fds in pfd this turn */
	unsigned		 busy;		/* workers with a connection */
	unsigned		 gen;		/* of the credentials */
	int			 full;		/* not accepting: --max-conns */
	sigset_t		 orig;		/* the mask before the loop's */
};

/*
 * A new worker in a free slot of l->ws, or NULL.  conn is the
 * connection the loop holds, about to be passed to a worker: the new
 * worker gets it by send_fd() like any other, and must not keep the
 * copy the fork gave it, or the client would never see the connection
 * closed.
 */
static struct worker *
worker_new(const struct loop *l, int conn)
{
	struct worker *w = NULL;
	unsigned k;
	int sv[2], i;
	pid_t pid;

	for (k = 0; k < l->nw && w == NULL; k++)
		if (l->ws[k].ctl == -1)
			w = &l->ws[k];
	if (w == NULL)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		return NULL;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		/* No handler is left: spawn_command() relies on it. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		/* A reload of the server is not for us. */
		signal(SIGHUP, SIG_IGN);
		sigprocmask(SIG_SETMASK, &l->orig, NULL);
		/*
		 * Every fd the loop owns: the others' ends, whose end of
		 * file must reach them, and the connection, whose close
		 * must reach the client.
		 */
		for (i = 0; i < l->nl; i++)
			close(l->lfd[i]);
		close(conn);
		for (k = 0; k < l->nw; k++)
			if (l->ws[k].ctl != -1)
				close(l->ws[k].ctl);
		close(sv[0]);
		munmap(loop_mem.base, loop_mem.len);
		worker(sv[1], l->cfg, l->ctx);
	}
	close(sv[1]);
	w->pid = pid;
	w->ctl = sv[0];
	w->busy = 0;
	w->served = 0;
	w->gen = l->gen;
	return w;
}

/* The arrays, and what happens to COMMAND's orphans. */
static void
loop_init(struct loop *l)
{
	unsigned k;

	/* Busy workers are at most --max-conns; idle ones, WORKER_SPARE. */
	l->nw = l->cfg->max_conns + WORKER_SPARE;
	/* In pages of their own, which a new worker unmaps: see loop_mem. */
	loop_mem.len = l->nw * sizeof *l->pw + l->nw * sizeof *l->ws +
	    (l->nw + LISTEN_MAX) * sizeof *l->pfd;
	if ((loop_mem.base = mmap(NULL, loop_mem.len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		fatal(EX_OSERR, "mmap");
	l->pw = loop_mem.base;
	l->ws = (struct worker *)(l->pw + l->nw);
	l->pfd = (struct pollfd *)(l->ws + l->nw);
	for (k = 0; k < l->nw; k++)
		l->ws[k].ctl = -1;
	/*
	 * Whatever COMMAND leaves behind comes back to us, so that SIGTERM
	 * waits for it too and nothing is left unreaped.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		log_warn("prctl PR_SET_CHILD_SUBREAPER");
}

/*
 * The signals the loop handles stay blocked but in ppoll(), so that
 * none is missed between a check of its flag and the wait.
 */
static void
loop_signals(struct loop *l)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &block, &l->orig) == -1)
		fatal(EX_OSERR, "sigprocmask");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void
loop_listeners(struct loop *l)
{
	socklen_t len;
	int i, r;

	for (i = 0; i < l->nl; i++) {
		r = fcntl(l->lfd[i], F_GETFL);
		if (r == -1 || fcntl(l->lfd[i], F_SETFL, r | O_NONBLOCK) == -1)
			fatal(EX_OSERR, "listening socket");
		/* Ours (listen_on()), or systemd's DeferAcceptSec=. */
		len = sizeof l->defer[i];
		if (getsockopt(l->lfd[i], IPPROTO_TCP, TCP_DEFER_ACCEPT,
		    &l->defer[i], &len) == -1)
			l->defer[i] = 0;
	}
}

/* Workers that exited, and COMMAND's orphans. */
static void
loop_reap(struct loop *l)
{
	unsigned k;
	pid_t pid;

	got_chld = 0;
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		for (k = 0; k < l->nw; k++)
			if (l->ws[k].ctl != -1 && l->ws[k].pid == pid) {
				if (l->ws[k].busy)
					l->busy--;
				worker_retire(&l->ws[k]);
			}
}

/* SIGHUP: new credentials, for new workers. */
static void
loop_reload(struct loop *l)
{
	struct tls_ctx fresh;
	gnutls_datum_t t;
	unsigned k;

	got_hup = 0;
	if (tls_ctx_load(&fresh, &l->cfg->tls) == -1) {
		log_warnx("reload failed, keeping the old credentials: %s",
		    fresh.err);
		return;
	}
	/* A random ticket key outlives reloads. */
	if (l->cfg->tls.ticket_key == NULL) {
		t = fresh.ticket;
		fresh.ticket = l->ctx->ticket;
		l->ctx->ticket = t;
	}
	tls_ctx_free(l->ctx);
	*l->ctx = fresh;
	l->gen++;
	/* Busy workers go when done. */
	for (k = 0; k < l->nw; k++)
		if (l->ws[k].ctl != -1 && !l->ws[k].busy)
			worker_retire(&l->ws[k]);
	log_info("reloaded certificates, keys, CA and CRL");
}

/* The listeners, unless at --max-conns, then every worker's end. */
static void
loop_poll_setup(struct loop *l)
{
	unsigned k;
	int i;

	if (l->busy >= l->cfg->max_conns && !l->full) {
		log_info("%u connections: not accepting more", l->busy);
		l->full = 1;
	} else if (l->busy < l->cfg->max_conns) {
		l->full = 0;
	}
	l->np = 0;
	for (i = 0; i < l->nl; i++) {
		l->pfd[l->np].fd = l->full ? -1 : l->lfd[i];
		l->pfd[l->np].events = POLLIN;
		l->pfd[l->np++].revents = 0;
	}
	for (k = 0; k < l->nw; k++) {
		if (l->ws[k].ctl == -1)
			continue;
		l->pw[l->np - l->nl] = &l->ws[k];
		l->pfd[l->np].fd = l->ws[k].ctl;
		l->pfd[l->np].events = POLLIN;
		l->pfd[l->np++].revents = 0;
	}
}

/* Workers done with a connection, or gone. */
static void
loop_done(struct loop *l)
{
	struct worker *w;
	unsigned idle = 0, k;
	char b;

	for (k = 0; k < l->nw; k++)
		if (l->ws[k].ctl != -1 && !l->ws[k].busy)
			idle++;
	for (k = l->nl; k < l->np; k++) {
		if (l->pfd[k].revents == 0)
			continue;
		w = l->pw[k - l->nl];
		if (w->ctl == -1)
			continue;
		if ((l->pfd[k].revents & POLLIN) &&
		    read(w->ctl, &b, 1) == 1 && w->busy) {
			w->busy = 0;
			l->busy--;
			if (w->gen == l->gen && w->served < WORKER_CONNS &&
			    idle < WORKER_SPARE) {
				idle++;
				continue;
			}
		} else if (w->busy) {
			l->busy--;
		}
		worker_retire(w);
	}
}

/*
 * Hand fd, from src, to the most recently used idle worker, else to a
 * new one.  The loop's copy of fd is closed either way.
 */
static void
loop_dispatch(struct loop *l, int fd, const struct source *src)
{
	struct worker *w;
	unsigned k;

	for (;;) {
		w = NULL;
		for (k = 0; k < l->nw; k++)
			if (l->ws[k].ctl != -1 && !l->ws[k].busy &&
			    (w == NULL || l->ws[k].served > w->served))
				w = &l->ws[k];
		if (w == NULL && (w = worker_new(l, fd)) == NULL)
			break;
		if (send_fd(w->ctl, fd) == 0)
			break;
		worker_retire(w);
	}
	close(fd);
	if (w != NULL) {
		w->busy = 1;
		w->served++;
		w->src = *src;
		l->busy++;
	}
}

/* A connection from listener i, if one is there and may be served. */
static void
loop_accept(struct loop *l, int i)
{
	struct sockaddr_storage ss;
	struct source src;
	socklen_t sslen = sizeof ss;
	char esc[4 * NI_MAXHOST], b;
	int fd, r;

	fd = accept4(l->lfd[i], (struct sockaddr *)&ss, &sslen,
	    SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	/*
	 * Under TCP_DEFER_ACCEPT, a connection without a byte to read
	 * was handed over because its deferral ran out: silent for as
	 * long as the handshake may take, it gets no worker.  One that
	 * has ended already (end of file, reset) gets none either.
	 */
	if (l->defer[i] > 0 && (r = (int)recv(fd, &b, 1,
	    MSG_PEEK | MSG_DONTWAIT)) <= 0) {
		if (r == -1 && errno == EAGAIN)
			log_info("%s: nothing sent in %d s: closed",
			    addr_esc(&ss, esc, sizeof esc), l->defer[i]);
		close(fd);
		return;
	}
	source_of(&ss, &src);
	if (over_limit(l->ws, l->nw, l->cfg->max_per_ip, &ss, &src)) {
		close(fd);
		return;
	}
	loop_dispatch(l, fd, &src);
}

/*
 * SIGTERM: stop accepting; idle workers see end of file and exit,
 * busy ones after their connection.
 */
static _Noreturn void
loop_stop(struct loop *l)
{
	unsigned k;
	int i;

	for (i = 0; i < l->nl; i++)
		close(l->lfd[i]);
	log_info("stopping: waiting for %u connection(s)", l->busy);
	for (k = 0; k < l->nw; k++)
		if (l->ws[k].ctl != -1)
			worker_retire(&l->ws[k]);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	exit(0);
}

static _Noreturn void
accept_loop(const int *lfd, int nl, const struct config *cfg,
    struct tls_ctx *ctx)
{
	struct loop l;
	int i;

	memset(&l, 0, sizeof l);
	l.lfd = lfd;
	l.nl = nl;
	l.cfg = cfg;
	l.ctx = ctx;
	loop_init(&l);
	loop_signals(&l);
	loop_listeners(&l);
	log_debug("accepting connections on %d socket(s)", nl);

	while (!got_term) {
		loop_reap(&l);
		if (got_hup)
			loop_reload(&l);
		loop_poll_setup(&l);
		if (ppoll(l.pfd, l.np, NULL, &l.orig) == -1) {
			if (errno == EINTR)
				continue;
			fatal(EX_OSERR, "poll");
		}
		loop_done(&l);
		for (i = 0; i < nl && l.busy < cfg->max_conns; i++)
			if (l.pfd[i].revents & POLLIN)
				loop_accept(&l, i);
	}
	loop_stop(&l);
}

int
main(int argc, char *argv[])
{
	static struct config cfg;
	static struct tls_ctx ctx;
	int lfd[LISTEN_MAX];
	int idx, nsd, i, nl = 0, conn = -1;
	size_t k;

	cfg.verbosity = 1;
	cfg.idle_ms = 300 * 1000;
	cfg.max_conns = 256;
	cfg.tls.priority = DEFAULT_PRIORITY;
	cfg.tls.alpn = "http/1.1";
	cfg.tls.handshake_ms = 10 * 1000;
	log_init(argv[0], 1, 0);
	argp_parse(&argp, argc, argv, ARGP_NO_ARGS, &idx, &cfg);
	cfg.child = argv + idx;
	log_init(argv[0], cfg.verbosity, cfg.use_syslog);

	if (cfg.new_ticket_key != NULL) {
		if (tls_ticket_key_new(cfg.new_ticket_key) == -1)
			fatal(EX_CANTCREAT, "%s", cfg.new_ticket_key);
		if (cfg.child[0] == NULL)
			exit(0);
	}
	check_config(&cfg);
	for (k = cfg.nkeys; k < cfg.tls.npairs; k++)
		cfg.tls.key[k] = cfg.tls.cert[k];
	if (tls_priority_check(&ctx, cfg.tls.priority) == -1)
		fatalx(EX_USAGE, "--priority: %s", ctx.err);

	/* Where the connection comes from: systemd, inetd, --listen. */
	if ((nsd = sd_fds()) > 0) {
		for (i = 0; i < nsd; i++) {
			if (is_listening(SD_FDS_START + i))
				lfd[nl++] = SD_FDS_START + i;
			else if (conn == -1)
				conn = SD_FDS_START + i;
			else
				fatalx(EX_USAGE, "LISTEN_FDS: more than one "
				    "connected socket");
		}
		if (conn != -1 && nl > 0)
			fatalx(EX_USAGE, "LISTEN_FDS: both connected and "
			    "listening sockets");
	} else if (is_connected_socket(0)) {
		conn = 0;
	} else if (cfg.nlisten > 0) {
		for (k = 0; k < cfg.nlisten; k++)
			lfd[nl++] = listen_on(cfg.listen[k],
			    (int)(cfg.tls.handshake_ms + 999) / 1000);
	} else {
		fatalx(EX_USAGE, "no connection: fd 0 is not a connected "
		    "socket, LISTEN_FDS is unset and there is no --listen");
	}
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	certenv_clear();

	if (tls_ctx_load(&ctx, &cfg.tls) == -1)
		fatalx(EX_CONFIG, "%s", ctx.err);
	drop_privileges(cfg.user);
	if (conn != -1)
		serve(conn, &cfg, &ctx);
	accept_loop(lfd, nl, &cfg, &ctx);
}
