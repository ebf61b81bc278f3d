/* The client's and the server's address, as certcookie learns them. */
#ifndef PEER_H
#define PEER_H

#include <sys/socket.h>

#define PEER_REMOTE	0x01	/* rem is known */
#define PEER_LOCAL	0x02	/* loc is known */

/*
 * The client's address into rem, from REMOTE_ADDR and REMOTE_PORT (set
 * by tlsfront, mod_ssl-style hosts and stunnel), else from
 * getpeername(fd) when fd is a TCP socket; the address it connected to
 * into loc, from SERVER_ADDR and SERVER_PORT, else getsockname(fd).
 * Only AF_INET and AF_INET6 (IPv4-mapped addresses become AF_INET);
 * a variable that is not a numeric address or a port counts as unset.
 * Returns the PEER_* bits of what is known.
 */
int	peer_addrs(int fd, struct sockaddr_storage *rem,
	    struct sockaddr_storage *loc);

/*
 * The numeric address of ss into host[0..hostlen) and its port into
 * port[0..portlen).  Returns AF_INET or AF_INET6, or -1.
 */
int	peer_str(const struct sockaddr_storage *ss, char *host, size_t hostlen,
	    char *port, size_t portlen);

/*
 * The PROXY protocol header (version 1 or 2) that tells a backend about
 * the connection on fd (peer_addrs()), into buf[0..size); version 2
 * with the SSL TLV from the environment: SSL_PROTOCOL, SSL_CIPHER, the
 * CN of SSL_CLIENT_S_DN, whether SSL_CLIENT_CERT came on this
 * connection or with the session it resumed (SSL_SESSION_RESUMED), and
 * verify 0 when SSL_CLIENT_VERIFY is SUCCESS.  Addresses not known: UNKNOWN (v1),
 * AF_UNSPEC (v2).  Returns the length, or -1 when it does not fit.
 */
int	peer_proxy_header(int version, int fd, void *buf, size_t size);

#endif
