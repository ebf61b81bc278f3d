/* The client certificate and the connection as mod_ssl/CGI variables. */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "cert.h"
#include "certenv.h"

extern char **environ;

static const char *const cgi_names[] = {
	"REMOTE_ADDR", "REMOTE_PORT", "SERVER_ADDR", "SERVER_PORT",
};

static int
is_ours(const char *entry, size_t namelen)
{
	size_t i;

	if (namelen >= 4 && memcmp(entry, "SSL_", 4) == 0)
		return 1;
	for (i = 0; i < sizeof cgi_names / sizeof cgi_names[0]; i++)
		if (strlen(cgi_names[i]) == namelen &&
		    memcmp(entry, cgi_names[i], namelen) == 0)
			return 1;
	return 0;
}

int
certenv_clear(void)
{
	char name[256];
	char **e;
	const char *eq;
	size_t n;
	int again = 1;

	/* unsetenv() reshuffles environ: start over after each removal. */
	while (again) {
		again = 0;
		for (e = environ; e != NULL && *e != NULL; e++) {
			eq = strchr(*e, '=');
			n = eq ? (size_t)(eq - *e) : strlen(*e);
			if (!is_ours(*e, n))
				continue;
			if (n >= sizeof name) {
				/* Too long to copy: drop the entry itself. */
				char **d;

				for (d = e; *d != NULL; d++)
					d[0] = d[1];
				again = 1;
				break;
			}
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			again = 1;
			break;
		}
	}
	return 0;
}

/* The connection's variables: "NAME=VALUE\0" strings, one after another. */
static struct {
	char	*buf;
	size_t	 used, size;
	size_t	 n;		/* how many strings in buf */
	char	**vec;
	size_t	 veccap;
} env;

void
certenv_reset(void)
{
	env.used = 0;
	env.n = 0;
}

int
certenv_set(const char *name, const char *value, size_t len)
{
	size_t nlen = strlen(name), need = nlen + 1 + len + 1, size;
	char *b;

	if (memchr(value, '\0', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (env.size - env.used < need) {
		for (size = env.size ? env.size : 4096;
		    size - env.used < need; size *= 2)
			;
		if ((b = realloc(env.buf, size)) == NULL)
			return -1;
		env.buf = b;
		env.size = size;
	}
	b = env.buf + env.used;
	memcpy(b, name, nlen);
	b[nlen] = '=';
	memcpy(b + nlen + 1, value, len);
	b[nlen + 1 + len] = '\0';
	env.used += need;
	env.n++;
	return 0;
}

char **
certenv_envp(void)
{
	size_t ne = 0, i, k;
	char **v, *p;

	while (environ != NULL && environ[ne] != NULL)
		ne++;
	if (env.veccap < ne + env.n + 1) {
		k = ne + env.n + 1;
		if ((v = realloc(env.vec, k * sizeof *v)) == NULL)
			return NULL;
		env.vec = v;
		env.veccap = k;
	}
	for (i = 0; i < ne; i++)
		env.vec[i] = environ[i];
	for (p = env.buf, k = 0; k < env.n; k++, p += strlen(p) + 1)
		env.vec[i++] = p;
	env.vec[i] = NULL;
	return env.vec;
}

int
certenv_setstr(const char *name, const char *value)
{
	return certenv_set(name, value, strlen(value));
}

/* Up to a NUL inside, as setenv(3) would have cut it. */
static int
setenv_datum(const char *name, const gnutls_datum_t *d)
{
	return certenv_set(name, (const char *)d->data,
	    strnlen((const char *)d->data, d->size));
}

static int
setenv_pem(const char *name, const gnutls_datum_t *der)
{
	gnutls_datum_t pem;
	int r;

	if (gnutls_pem_base64_encode2("CERTIFICATE", der, &pem) < 0) {
		errno = EINVAL;
		return -1;
	}
	/* GnuTLS ends the PEM with a newline; mod_ssl does too. */
	r = setenv_datum(name, &pem);
	gnutls_free(pem.data);
	return r;
}

static int
setenv_sans(gnutls_x509_crt_t crt)
{
	char val[1024], name[64];
	size_t len;
	unsigned i, ndns = 0, nmail = 0;
	int type;

	for (i = 0;; i++) {
		len = sizeof val - 1;
		type = gnutls_x509_crt_get_subject_alt_name(crt, i, val, &len,
		    NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (type < 0)
			break;
		val[len] = '\0';
		/* A name with a NUL inside cannot be exported faithfully. */
		if (strlen(val) != len)
			continue;
		if (type == GNUTLS_SAN_DNSNAME)
			snprintf(name, sizeof name, "SSL_CLIENT_SAN_DNS_%u",
			    ndns++);
		else if (type == GNUTLS_SAN_RFC822NAME)
			snprintf(name, sizeof name, "SSL_CLIENT_SAN_Email_%u",
			    nmail++);
		else
			continue;
		if (certenv_setstr(name, val) == -1)
			return -1;
	}
	return 0;
}

int
certenv_client(const gnutls_datum_t *chain, unsigned n)
{
	gnutls_x509_crt_t crt = NULL;
	struct cert c;
	struct cert_fields f;
	char name[64];
	unsigned i;
	int r = -1;

	if (n == 0)
		return 0;
	/* The fields as certcookie --fields computes them. */
	c.der = chain[0].data;
	c.der_len = chain[0].size;
	if (cert_fields_get(&c, &f) == -1)
		return -1;
	if (gnutls_x509_crt_init(&crt) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) < 0) {
		errno = EINVAL;
		goto fail;
	}
	if (setenv_pem("SSL_CLIENT_CERT", &chain[0]) == -1)
		goto fail;
	for (i = 1; i < n; i++) {
		snprintf(name, sizeof name, "SSL_CLIENT_CERT_CHAIN_%u", i - 1);
		if (setenv_pem(name, &chain[i]) == -1)
			goto fail;
	}
	if (certenv_setstr("SSL_CLIENT_S_DN", f.s_dn) == -1 ||
	    certenv_setstr("SSL_CLIENT_I_DN", f.i_dn) == -1 ||
	    certenv_setstr("SSL_CLIENT_M_SERIAL", f.serial) == -1 ||
	    certenv_setstr("SSL_CLIENT_V_START", f.v_start) == -1 ||
	    certenv_setstr("SSL_CLIENT_V_END", f.v_end) == -1 ||
	    setenv_sans(crt) == -1)
		goto fail;
	r = 0;
fail:
	cert_fields_free(&f);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return r;
}

int
certenv_subject(const gnutls_datum_t *der, char *buf, size_t len)
{
	struct cert c;
	struct cert_fields f;

	c.der = der->data;
	c.der_len = der->size;
	if (len == 0 || cert_fields_get(&c, &f) == -1)
		return -1;
	snprintf(buf, len, "%s", f.s_dn);
	cert_fields_free(&f);
	return 0;
}

/* Numeric host and port of sa; IPv4-mapped IPv6 shown as IPv4. */
static int
addr_str(const struct sockaddr_storage *ss, socklen_t len, char *host,
    size_t hostlen, char *port, size_t portlen)
{
	struct sockaddr_in sin;
	const struct sockaddr_in6 *s6;
	const struct sockaddr *sa = (const struct sockaddr *)ss;

	if (ss->ss_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memset(&sin, 0, sizeof sin);
			sin.sin_family = AF_INET;
			sin.sin_port = s6->sin6_port;
			memcpy(&sin.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
			sa = (const struct sockaddr *)&sin;
			len = sizeof sin;
		}
	} else if (ss->ss_family != AF_INET) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (getnameinfo(sa, len, host, hostlen, port, portlen,
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		errno = EINVAL;
		return -1;
	}
	return sa->sa_family;
}

int
certenv_addrs(int fd, char *peer, size_t peerlen)
{
	struct sockaddr_storage rem, loc;
	socklen_t rlen = sizeof rem, llen = sizeof loc;

	if (getpeername(fd, (struct sockaddr *)&rem, &rlen) == -1)
		rem.ss_family = AF_UNSPEC;
	if (getsockname(fd, (struct sockaddr *)&loc, &llen) == -1)
		loc.ss_family = AF_UNSPEC;
	return certenv_addrs_of(&rem, &loc, peer, peerlen);
}

int
certenv_addrs_of(const struct sockaddr_storage *rem,
    const struct sockaddr_storage *loc, char *peer, size_t peerlen)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];
	int af;

	snprintf(peer, peerlen, "-");
	if ((af = addr_str(rem, sizeof *rem, host, sizeof host, port,
	    sizeof port)) != -1) {
		if (certenv_setstr("REMOTE_ADDR", host) == -1 ||
		    certenv_setstr("REMOTE_PORT", port) == -1)
			return -1;
		snprintf(peer, peerlen, af == AF_INET6 ? "[%s]:%s" : "%s:%s",
		    host, port);
	}
	if (addr_str(loc, sizeof *loc, host, sizeof host, port,
	    sizeof port) != -1) {
		if (certenv_setstr("SERVER_ADDR", host) == -1 ||
		    certenv_setstr("SERVER_PORT", port) == -1)
			return -1;
	}
	return 0;
}
