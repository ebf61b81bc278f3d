/* The client certificate: loading, encoding and descriptive fields. */
#ifndef CERT_H
#define CERT_H

#include <stddef.h>

enum cert_encoding {
	CERT_ENC_BASE64URL,	/* DER, base64url without padding (default) */
	CERT_ENC_BASE64,	/* DER, standard base64 with padding */
	CERT_ENC_PEM_URL,	/* PEM, percent-encoded (nginx escaped cert) */
	CERT_ENC_RFC9440,	/* ":" base64 ":", an RFC 8941 byte sequence */
};

/* A certificate as DER bytes the struct owns (malloc'd). */
struct cert {
	unsigned char	*der;
	size_t		 der_len;
};

/*
 * Fields describing a certificate, as NUL-terminated strings the struct
 * owns (malloc'd); NULL when unknown.  Formats are mod_ssl's:
 * s_dn, i_dn  RFC 4514 distinguished names ("CN=alice,O=Example")
 * serial      upper-case hex of the magnitude, two digits a byte, no
 *             leading zero byte, "-" first when negative ("0A1B",
 *             "00", "-05"): OpenSSL's i2a_ASN1_INTEGER()
 * v_start, v_end  "Mmm dd hh:mm:ss yyyy GMT" ("Nov  7 03:04:05 2026 GMT")
 * sha256      lower-case hex of SHA-256 over the DER
 */
struct cert_fields {
	char	*s_dn;
	char	*i_dn;
	char	*serial;
	char	*v_start;
	char	*v_end;
	char	*sha256;
};

/*
 * Parse a certificate from PEM (the first CERTIFICATE block; text before
 * it is ignored) or DER into c.  Returns 0, or -1 with errno set
 * (EINVAL when the bytes are not a certificate, ENOMEM).
 */
int	cert_load_mem(struct cert *c, const void *data, size_t len);

/* Read FILE and cert_load_mem() it. */
int	cert_load_file(struct cert *c, const char *path);

void	cert_free(struct cert *c);

/*
 * Encode the DER of c as enc into a malloc'd NUL-terminated string;
 * *len gets its length.  The result never holds CR, LF, ";", ",",
 * space, '"' or backslash.  Returns NULL with errno set on failure.
 */
char	*cert_encode(const struct cert *c, enum cert_encoding enc,
	    size_t *len);

/*
 * Fill f from the certificate with GnuTLS: the one computation of these
 * fields, for certcookie --fields and tlsfront's SSL_CLIENT_* alike.
 * Returns 0 or -1 (errno).  f is zeroed first; on failure it holds
 * nothing.
 */
int	cert_fields_get(const struct cert *c, struct cert_fields *f);

/* Fill f's NULL members from the environment (mod_ssl and stunnel
 * names); returns 0 or -1 (ENOMEM). */
int	cert_fields_from_env(struct cert_fields *f);

void	cert_fields_free(struct cert_fields *f);

/* Lower-case hex SHA-256 of the DER into out (65 bytes), no GnuTLS. */
void	cert_sha256_hex(const struct cert *c, char *out);

#endif
