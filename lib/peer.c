/* The client's and the server's address, as certcookie learns them. */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "peer.h"
#include "proxyproto.h"

/* An IPv4-mapped IPv6 address as the IPv4 one; other families: -1. */
static int
plain(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	if (ss->ss_family == AF_INET)
		return 0;
	if (ss->ss_family != AF_INET6)
		return -1;
	memcpy(&s6, ss, sizeof s6);
	if (!IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
		return 0;
	memset(ss, 0, sizeof *ss);
	sin->sin_family = AF_INET;
	sin->sin_port = s6.sin6_port;
	memcpy(&sin->sin_addr, s6.sin6_addr.s6_addr + 12, 4);
	return 0;
}

/* ADDR and PORT from the variables a and p.  0, or -1 when unusable. */
static int
from_env(const char *a, const char *p, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	const char *av = getenv(a), *pv = getenv(p);
	unsigned long long port;

	if (av == NULL || pv == NULL || num_parse(pv, 0, 65535, &port) == -1)
		return -1;
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, av, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
	} else if (inet_pton(AF_INET6, av, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
	} else {
		return -1;
	}
	return plain(ss);
}

int
peer_addrs(int fd, struct sockaddr_storage *rem, struct sockaddr_storage *loc)
{
	socklen_t len;
	int known = 0;

	if (from_env("REMOTE_ADDR", "REMOTE_PORT", rem) == 0)
		known |= PEER_REMOTE;
	else if (len = sizeof *rem, fd != -1 &&
	    getpeername(fd, (struct sockaddr *)rem, &len) == 0 &&
	    plain(rem) == 0)
		known |= PEER_REMOTE;
	if (from_env("SERVER_ADDR", "SERVER_PORT", loc) == 0)
		known |= PEER_LOCAL;
	else if (len = sizeof *loc, fd != -1 &&
	    getsockname(fd, (struct sockaddr *)loc, &len) == 0 &&
	    plain(loc) == 0)
		known |= PEER_LOCAL;
	return known;
}

int
peer_str(const struct sockaddr_storage *ss, char *host, size_t hostlen,
    char *port, size_t portlen)
{
	if ((ss->ss_family != AF_INET && ss->ss_family != AF_INET6) ||
	    getnameinfo((const struct sockaddr *)ss, sizeof *ss, host,
	    (socklen_t)hostlen, port, (socklen_t)portlen,
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return -1;
	return ss->ss_family;
}

/* The first CN of an RFC 4514 DN, escapes kept, into cn[0..size). */
static const char *
dn_cn(const char *dn, char *cn, size_t size)
{
	const char *p;
	size_t n = 0;

	if (dn == NULL)
		return NULL;
	for (p = dn; *p != '\0'; p++) {
		if ((p == dn || p[-1] == ',') && strncmp(p, "CN=", 3) == 0)
			break;
		if (*p == '\\' && p[1] != '\0')
			p++;
	}
	if (*p == '\0')
		return NULL;
	for (p += 3; *p != '\0' && *p != ',' && n + 2 < size; p++) {
		if (*p == '\\' && p[1] != '\0')
			cn[n++] = *p++;
		cn[n++] = *p;
	}
	cn[n] = '\0';
	return cn;
}

static struct proxy_str
env_str(const char *name)
{
	struct proxy_str v = { getenv(name), 0 };

	if (v.s != NULL)
		v.len = strlen(v.s);
	return v;
}

int
peer_proxy_header(int version, int fd, void *buf, size_t size)
{
	struct sockaddr_storage rem, loc;
	const struct sockaddr *src = NULL, *dst = NULL;
	const char *verify = getenv("SSL_CLIENT_VERIFY"), *cert;
	const char *resumed = getenv("SSL_SESSION_RESUMED");
	struct proxy_ssl ssl;
	char cn[256];
	int r;

	if (peer_addrs(fd, &rem, &loc) == (PEER_REMOTE | PEER_LOCAL)) {
		src = (const struct sockaddr *)&rem;
		dst = (const struct sockaddr *)&loc;
	}
	if (version == 1)
		r = proxy_v1_build(buf, size, src, dst);
	else {
		memset(&ssl, 0, sizeof ssl);
		ssl.version = env_str("SSL_PROTOCOL");
		ssl.cipher = env_str("SSL_CIPHER");
		if (ssl.version.s != NULL)
			ssl.client |= PP2_CLIENT_SSL;
		cert = getenv("SSL_CLIENT_CERT");
		if (cert != NULL && *cert != '\0') {
			/* A resumed session's came with its first handshake. */
			ssl.client |= PP2_CLIENT_CERT_SESS;
			if (resumed == NULL || strcmp(resumed, "Resumed") != 0)
				ssl.client |= PP2_CLIENT_CERT_CONN;
			ssl.cn.s = dn_cn(getenv("SSL_CLIENT_S_DN"), cn,
			    sizeof cn);
			ssl.cn.len = ssl.cn.s ? strlen(cn) : 0;
		}
		ssl.verify = verify != NULL && strcmp(verify, "SUCCESS") == 0 &&
		    (ssl.client & PP2_CLIENT_CERT_SESS) ? 0 : 1;
		r = proxy_v2_build(buf, size, src, dst,
		    ssl.client ? &ssl : NULL);
	}
	return r < 0 ? -1 : r;
}
