/* The client certificate and the connection as mod_ssl/CGI variables. */
#ifndef CERTENV_H
#define CERTENV_H

#include <stddef.h>

#include <gnutls/gnutls.h>

/*
 * Remove from the environment every SSL_* variable and REMOTE_ADDR,
 * REMOTE_PORT, SERVER_ADDR, SERVER_PORT, so that nobody upstream can
 * pre-seed what tlsfront exports.  Once, at start.  Returns 0.
 */
int	certenv_clear(void);

/*
 * COMMAND's environment is built per connection beside environ, never
 * with setenv(3): glibc keeps every value setenv() ever made, which a
 * process serving connection after connection cannot afford.  One
 * buffer, grown only when a connection needs more than any before it.
 * certenv_reset() forgets the previous connection's variables;
 * certenv_set() adds NAME=VALUE (len bytes of value, no NUL among
 * them) and returns 0 or -1 with errno set; certenv_envp() returns
 * environ followed by the variables set, for execve(2), valid until
 * the next certenv_reset() or certenv_set(), or NULL with errno set.
 */
void	certenv_reset(void);
int	certenv_set(const char *name, const char *value, size_t len);
int	certenv_setstr(const char *name, const char *value);	/* NUL-ended */
char  **certenv_envp(void);

/*
 * Export chain[0], the client's own certificate, as SSL_CLIENT_CERT
 * (PEM), SSL_CLIENT_S_DN, SSL_CLIENT_I_DN (RFC 4514), SSL_CLIENT_M_SERIAL
 * (upper-case hex), SSL_CLIENT_V_START, SSL_CLIENT_V_END ("Mmm dd
 * hh:mm:ss yyyy GMT"), SSL_CLIENT_SAN_DNS_n and SSL_CLIENT_SAN_Email_n,
 * and chain[1..n-1] as SSL_CLIENT_CERT_CHAIN_0... (PEM).  Returns 0 or
 * -1 with errno set (EINVAL when chain[0] does not parse).
 */
int	certenv_client(const gnutls_datum_t *chain, unsigned n);

/*
 * The subject DN of the DER certificate into buf (RFC 4514), for logs.
 * Returns 0 or -1.
 */
int	certenv_subject(const gnutls_datum_t *der, char *buf, size_t len);

/*
 * Export REMOTE_ADDR, REMOTE_PORT, SERVER_ADDR and SERVER_PORT for the
 * connected socket fd (IPv4-mapped IPv6 addresses as IPv4).  peer gets
 * "ADDR:PORT" (or "[ADDR]:PORT") for logs, or "-" when fd has no
 * inet peer.  Returns 0 or -1 with errno set.
 */
int	certenv_addrs(int fd, char *peer, size_t peerlen);

/*
 * The same for a client rem and a local address loc given (from a
 * PROXY protocol header, say); a family other than AF_INET and
 * AF_INET6 exports nothing.
 */
struct sockaddr_storage;
int	certenv_addrs_of(const struct sockaddr_storage *rem,
	    const struct sockaddr_storage *loc, char *peer, size_t peerlen);

#endif
