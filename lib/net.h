/* Sockets: addresses, connecting, non-blocking fds. */
#ifndef NET_H
#define NET_H

#include <stddef.h>
#include <stdint.h>

/* Set O_NONBLOCK on fd.  Returns 0, or -1 (errno). */
int	net_nonblock(int fd);

/*
 * Shut down writing to fd (the peer reads its end), or close it when it
 * is not a socket (a pipe).
 */
void	net_shut(int fd);

/* Monotonic time in ms. */
uint64_t net_now_ms(void);

/*
 * Split HOST:PORT or [V6]:PORT at its last colon: host (without the
 * brackets, possibly empty) into host[0..cap) with a NUL, *port to the
 * text after the colon (possibly empty).  Returns 0, or -1 with errno
 * EINVAL (no colon) or ENAMETOOLONG.
 */
int	net_hostport(const char *spec, char *host, size_t cap,
	    const char **port);

/*
 * Connect to HOST:PORT, [V6]:PORT or unix:PATH by the monotonic time
 * end (ms), with TCP_NODELAY.  Returns a non-blocking fd, or -1 with
 * errno (ETIMEDOUT when the time ran out, EINVAL for a spec without a
 * port, EHOSTUNREACH when the name did not resolve: *why then says why).
 */
int	net_connect(const char *spec, uint64_t end, const char **why);

/*
 * Write buf[0..n) to the non-blocking fd by the monotonic time end
 * (ms).  Returns 0, or -1 with errno (ETIMEDOUT when the time ran out).
 */
int	net_write_all(int fd, const void *buf, size_t n, uint64_t end);

/* An address prefix: ADDR/BITS, IPv4 or IPv6. */
struct net_cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	unsigned	 bits;
};

/*
 * Parse "ADDR[/BITS]" (no BITS: the whole address) into *c.  Returns 0,
 * or -1 with errno EINVAL.
 */
int	net_cidr_parse(const char *s, struct net_cidr *c);

/*
 * Whether the address of sa (AF_INET or AF_INET6; an IPv4-mapped IPv6
 * address counts as IPv4) lies in one of c[0..n).
 */
struct sockaddr;
int	net_cidr_match(const struct net_cidr *c, size_t n,
	    const struct sockaddr *sa);

#endif
