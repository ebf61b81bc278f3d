/* Sockets: addresses, connecting, non-blocking fds. */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "num.h"

int
net_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void
net_shut(int fd)
{
	if (shutdown(fd, SHUT_WR) == -1 && errno == ENOTSOCK)
		close(fd);
}

uint64_t
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
net_hostport(const char *spec, char *host, size_t cap, const char **port)
{
	const char *colon, *h = spec;
	size_t hl;

	if ((colon = strrchr(spec, ':')) == NULL) {
		errno = EINVAL;
		return -1;
	}
	*port = colon + 1;
	hl = colon - spec;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
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
		now = net_now_ms();
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

/* A socket of family, connected to sa by end.  fd, or -1 (errno). */
static int
connect_one(int family, int type, int proto, const struct sockaddr *sa,
    socklen_t len, uint64_t end)
{
	int fd, err;

	fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	if (fd == -1)
		return -1;
	if (connect_wait(fd, sa, len, end) == -1) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int
connect_unix(const char *path, uint64_t end)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	return connect_one(AF_UNIX, SOCK_STREAM, 0, (struct sockaddr *)&sun,
	    sizeof sun, end);
}

int
net_connect(const char *spec, uint64_t end, const char **why)
{
	struct addrinfo hints, *res, *ai;
	const char *port;
	char host[256];
	int fd = -1, err, one = 1;

	*why = NULL;
	if (strncmp(spec, "unix:", 5) == 0)
		return connect_unix(spec + 5, end);
	if (net_hostport(spec, host, sizeof host, &port) == -1)
		return -1;
	if (*port == '\0') {
		errno = EINVAL;
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0) {
		*why = gai_strerror(err);
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol, ai->ai_addr, ai->ai_addrlen, end);
		if (fd != -1) {
			/* Requests leave whole: no Nagle delay. */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof one);
			break;
		}
	}
	err = errno;
	freeaddrinfo(res);
	errno = err;
	return fd;
}

int
net_cidr_parse(const char *s, struct net_cidr *c)
{
	char a[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long long bits;

	memset(c, 0, sizeof *c);
	if (n == 0 || n >= sizeof a)
		goto bad;
	memcpy(a, s, n);
	a[n] = '\0';
	if (inet_pton(AF_INET, a, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, a, c->addr) == 1)
		c->family = AF_INET6;
	else
		goto bad;
	c->bits = c->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (num_parse(slash + 1, 0, c->bits, &bits) == -1)
			goto bad;
		c->bits = (unsigned)bits;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* Whether the first bits bits of a and b are the same. */
static int
prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	return rest == 0 ||
	    ((a[whole] ^ b[whole]) & (0xff00 >> rest) & 0xff) == 0;
}

int
net_cidr_match(const struct net_cidr *c, size_t n, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const unsigned char *a;
	int family;
	size_t i;

	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const unsigned char *)&sin->sin_addr;
	} else if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		family = AF_INET;
		a = s6->sin6_addr.s6_addr + 12;
	} else if (sa->sa_family == AF_INET6) {
		family = AF_INET6;
		a = s6->sin6_addr.s6_addr;
	} else {
		return 0;
	}
	for (i = 0; i < n; i++)
		if (c[i].family == family && prefix_eq(c[i].addr, a, c[i].bits))
			return 1;
	return 0;
}

int
net_write_all(int fd, const void *buf, size_t n, uint64_t end)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	const char *p = buf;
	uint64_t now;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		if ((now = net_now_ms()) >= end) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&pfd, 1, (int)(end - now)) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}
