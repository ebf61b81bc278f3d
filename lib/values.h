/*
 * What every request gets, worked out once per process: the CERT cookie
 * list and the --header field lines, from the client certificate and the
 * environment (SSL_CLIENT_CERT, SSL_CLIENT_CERT_CHAIN_n,
 * SSL_CLIENT_VERIFY and the mod_ssl field names).
 */
#ifndef VALUES_H
#define VALUES_H

#include <stddef.h>

#include "cert.h"

/* What the options say. */
struct values_cfg {
	const char	*name;		/* cookie name, "CERT" */
	enum cert_encoding enc;
	const char	*cert_env;	/* PEM in this variable, ... */
	const char	*cert_file;	/* ... or in this file (PEM or DER) */
	int		 chain;		/* NAME_CHAIN, FIELD-Chain */
	int		 fields;	/* NAME_S_DN ... NAME_VERIFY */
	const char	*header;	/* RFC 9440 field name, or NULL */
	const char	*header_chain;	/* its -Chain name */
	int		 no_cookie;	/* the header field alone */
	int		 allow_unverified;
	size_t		 max_value;	/* larger values: NAME_SHA256 */
	int		 forwarded;	/* Forwarded: for="ADDR:PORT";proto= */
	int		 x_forwarded;	/* X-Forwarded-For, -Proto, -Port */
	int		 client_fd;	/* addresses when the environment has
					   none (getpeername()), or -1 */
	/*
	 * Notes on what is left out (level 1) and the cookie (level 3,
	 * it holds the certificate), or NULL.
	 */
	void		(*log)(int level, const char *msg);
};

/* The result: malloc'd, NUL-terminated, NULL when empty. */
struct values {
	char	*add;		/* "CERT=...; CERT_CHAIN=..." */
	size_t	 add_len;
	char	*fields;	/* "Client-Cert: :...:\r\n..." */
	size_t	 fields_len;
	size_t	 fields_count;	/* lines in fields */
	char	 err[2048];	/* on failure: what failed, for fatal() */
};

/* values_build() failures; errno tells why. */
#define VALUES_ECERT	(-1)	/* a certificate or its fields unreadable */
#define VALUES_ENOMEM	(-2)	/* out of memory */
#define VALUES_EENCODE	(-3)	/* cert_encode() failed: a bug */

/*
 * Build v from cfg and the environment.  A certificate whose
 * SSL_CLIENT_VERIFY is set and not SUCCESS is left out unless
 * cfg->allow_unverified.  Returns 0, or a VALUES_E* code with v->err
 * set and errno kept; v then holds nothing.
 */
int	values_build(const struct values_cfg *cfg, struct values *v);

void	values_free(struct values *v);

#endif
