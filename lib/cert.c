/* The client certificate: loading, encoding and descriptive fields. */
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "cert.h"
#include "encode.h"
#include "sha256.h"

/* No certificate file is this large; refuse to read more. */
#define CERT_FILE_MAX	(1024 * 1024)

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

/*
 * GnuTLS, loaded on first use: reading and encoding a certificate needs
 * no X.509 library, and a process that only does that (certcookie
 * without --fields, exec'd once per connection) should not pay for
 * loading and initialising one.  A program linked with GnuTLS (tlsfront,
 * dynamically or statically) gets the copy it already has through these
 * weak references, which stay NULL in a program linked without it.
 */
#define GNUTLS_SONAME	"libgnutls.so.30"

#pragma weak gnutls_x509_crt_init
#pragma weak gnutls_x509_crt_deinit
#pragma weak gnutls_x509_crt_import
#pragma weak gnutls_x509_crt_get_dn3
#pragma weak gnutls_x509_crt_get_issuer_dn3
#pragma weak gnutls_x509_crt_get_serial
#pragma weak gnutls_x509_crt_get_activation_time
#pragma weak gnutls_x509_crt_get_expiration_time
#pragma weak gnutls_free

static struct {
	__typeof__(gnutls_x509_crt_init)		*crt_init;
	__typeof__(gnutls_x509_crt_deinit)		*crt_deinit;
	__typeof__(gnutls_x509_crt_import)		*crt_import;
	__typeof__(gnutls_x509_crt_get_dn3)		*get_dn3;
	__typeof__(gnutls_x509_crt_get_issuer_dn3)	*get_issuer_dn3;
	__typeof__(gnutls_x509_crt_get_serial)		*get_serial;
	__typeof__(gnutls_x509_crt_get_activation_time)	*get_activation;
	__typeof__(gnutls_x509_crt_get_expiration_time)	*get_expiration;
	void	(**free)(void *);
} g;

static int
cert_init(void)
{
	static int state;	/* 0 not tried, 1 loaded, -1 failed */
	void *h;

	if (state)
		return state == 1 ? 0 : (errno = ENOSYS, -1);
	state = -1;
	if (gnutls_x509_crt_init && gnutls_x509_crt_deinit &&
	    gnutls_x509_crt_import && gnutls_x509_crt_get_dn3 &&
	    gnutls_x509_crt_get_issuer_dn3 && gnutls_x509_crt_get_serial &&
	    gnutls_x509_crt_get_activation_time &&
	    gnutls_x509_crt_get_expiration_time && &gnutls_free != NULL) {
		g.crt_init = gnutls_x509_crt_init;
		g.crt_deinit = gnutls_x509_crt_deinit;
		g.crt_import = gnutls_x509_crt_import;
		g.get_dn3 = gnutls_x509_crt_get_dn3;
		g.get_issuer_dn3 = gnutls_x509_crt_get_issuer_dn3;
		g.get_serial = gnutls_x509_crt_get_serial;
		g.get_activation = gnutls_x509_crt_get_activation_time;
		g.get_expiration = gnutls_x509_crt_get_expiration_time;
		g.free = &gnutls_free;
		state = 1;
		return 0;
	}
	if ((h = dlopen(GNUTLS_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		errno = ENOSYS;
		return -1;
	}
#define SYM(f, name) \
	if ((*(void **)&g.f = dlsym(h, name)) == NULL) { \
		errno = ENOSYS; \
		return -1; \
	}
	SYM(crt_init, "gnutls_x509_crt_init");
	SYM(crt_deinit, "gnutls_x509_crt_deinit");
	SYM(crt_import, "gnutls_x509_crt_import");
	SYM(get_dn3, "gnutls_x509_crt_get_dn3");
	SYM(get_issuer_dn3, "gnutls_x509_crt_get_issuer_dn3");
	SYM(get_serial, "gnutls_x509_crt_get_serial");
	SYM(get_activation, "gnutls_x509_crt_get_activation_time");
	SYM(get_expiration, "gnutls_x509_crt_get_expiration_time");
	SYM(free, "gnutls_free");
#undef SYM
	state = 1;
	return 0;
}

/* The errno for a GnuTLS error code. */
static int
cert_errno(int ret)
{
	return ret == GNUTLS_E_MEMORY_ERROR ? ENOMEM : EINVAL;
}

/* Parse DER into a new crt; returns 0 or -1 with errno set. */
static int
cert_parse(gnutls_x509_crt_t *crt, const unsigned char *der, size_t len)
{
	gnutls_datum_t d;
	int ret;

	if (cert_init() == -1)
		return -1;
	if (len == 0 || len > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((ret = g.crt_init(crt)) < 0) {
		errno = cert_errno(ret);
		return -1;
	}
	d.data = (unsigned char *)der;
	d.size = (unsigned int)len;
	if ((ret = g.crt_import(*crt, &d, GNUTLS_X509_FMT_DER)) < 0) {
		g.crt_deinit(*crt);
		errno = cert_errno(ret);
		return -1;
	}
	return 0;
}

/*
 * The DER element at p[0..n): its tag, header and total length.  Returns
 * the total, or 0 when it is malformed or does not fit.
 */
static size_t
der_element(const unsigned char *p, size_t n, unsigned char *tag,
    size_t *hdrlen)
{
	size_t len, hdr, i, k;

	if (n < 2 || (p[0] & 0x1f) == 0x1f)
		return 0;
	*tag = p[0];
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else {
		k = p[1] & 0x7f;
		/* Definite, minimal, at most 4 length bytes. */
		if (k == 0 || k > 4 || n < 2 + k || p[2] == 0)
			return 0;
		for (len = 0, i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		if (len < 0x80)
			return 0;
		hdr = 2 + k;
	}
	if (len > n - hdr)
		return 0;
	*hdrlen = hdr;
	return hdr + len;
}

/*
 * Does der[0..*len) start with a certificate's shape, SEQUENCE {
 * SEQUENCE tbsCertificate, SEQUENCE signatureAlgorithm, BIT STRING
 * signature }?  *len is cut to that element.
 */
static int
der_is_cert(const unsigned char *der, size_t *len)
{
	static const unsigned char want[3] = { 0x30, 0x30, 0x03 };
	size_t total, off, i, n, hdr;
	unsigned char tag;

	if ((total = der_element(der, *len, &tag, &off)) == 0 || tag != 0x30)
		return 0;
	for (i = 0; i < 3; i++) {
		n = der_element(der + off, total - off, &tag, &hdr);
		if (n == 0 || tag != want[i])
			return 0;
		off += n;
	}
	if (off != total)
		return 0;
	*len = total;
	return 1;
}

int
cert_load_mem(struct cert *c, const void *data, size_t len)
{
	const char *begin, *end, *s = data;
	unsigned char *der;
	ssize_t n;

	c->der = NULL;
	c->der_len = 0;
	begin = memmem(s, len, pem_begin, sizeof(pem_begin) - 1);
	if (begin != NULL) {
		/* PEM: decode the first CERTIFICATE block, skip any text. */
		begin += sizeof(pem_begin) - 1;
		end = memmem(begin, len - (size_t)(begin - s), pem_end,
		    sizeof(pem_end) - 1);
		if (end == NULL) {
			errno = EINVAL;
			return -1;
		}
		if ((der = malloc((size_t)(end - begin) / 4 * 3 + 3)) == NULL)
			return -1;
		if ((n = decode_base64(der, begin, (size_t)(end - begin))) <
		    0) {
			free(der);
			errno = EINVAL;
			return -1;
		}
		len = (size_t)n;
	} else {
		if ((der = malloc(len ? len : 1)) == NULL)
			return -1;
		memcpy(der, data, len);
	}
	if (!der_is_cert(der, &len)) {
		free(der);
		errno = EINVAL;
		return -1;
	}
	c->der = der;
	c->der_len = len;
	return 0;
}

int
cert_load_file(struct cert *c, const char *path)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;
	int fd, ret, saved;

	c->der = NULL;
	c->der_len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	/* Read to EOF: the size of a pipe or /dev/stdin is unknown. */
	cap = S_ISREG(st.st_mode) && st.st_size > 0 &&
	    st.st_size < CERT_FILE_MAX ? (size_t)st.st_size + 1 : 4096;
	for (;;) {
		if (len == cap) {
			unsigned char *p;

			if (cap >= CERT_FILE_MAX) {
				errno = EFBIG;
				goto fail;
			}
			cap *= 2;
			if ((p = realloc(buf, cap)) == NULL)
				goto fail;
			buf = p;
		} else if (buf == NULL && (buf = malloc(cap)) == NULL)
			goto fail;
		r = read(fd, buf + len, cap - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	ret = cert_load_mem(c, buf, len);
	saved = errno;
	free(buf);
	errno = saved;
	return ret;
fail:
	saved = errno;
	close(fd);
	free(buf);
	errno = saved;
	return -1;
}

void
cert_free(struct cert *c)
{
	free(c->der);
	c->der = NULL;
	c->der_len = 0;
}

/*
 * The PEM form of der, as OpenSSL writes it (and nginx passes on): the
 * BEGIN line, base64 in lines of 64 columns, the END line, each line
 * ending in LF.  Returns a malloc'd string or NULL (errno).
 */
static char *
cert_pem(const unsigned char *der, size_t n, size_t *len)
{
	size_t b64len = ENCODE_B64_LEN(n), lines = (b64len + 63) / 64;
	size_t cap, i;
	char *b64, *pem, *p;

	if ((b64 = malloc(b64len + 1)) == NULL)
		return NULL;
	encode_base64(b64, der, n, ENCODE_B64_STD);
	cap = sizeof(pem_begin) + b64len + lines + sizeof(pem_end) + 1;
	if ((pem = malloc(cap)) == NULL) {
		free(b64);
		return NULL;
	}
	p = pem;
	memcpy(p, pem_begin, sizeof(pem_begin) - 1);
	p += sizeof(pem_begin) - 1;
	*p++ = '\n';
	for (i = 0; i < b64len; i += 64) {
		size_t k = b64len - i < 64 ? b64len - i : 64;

		memcpy(p, b64 + i, k);
		p += k;
		*p++ = '\n';
	}
	memcpy(p, pem_end, sizeof(pem_end) - 1);
	p += sizeof(pem_end) - 1;
	*p++ = '\n';
	*p = '\0';
	free(b64);
	*len = (size_t)(p - pem);
	return pem;
}

char *
cert_encode(const struct cert *c, enum cert_encoding enc, size_t *len)
{
	char *out, *pem;
	size_t n, pemlen;

	if (c->der == NULL || c->der_len == 0) {
		errno = EINVAL;
		return NULL;
	}
	switch (enc) {
	case CERT_ENC_BASE64URL:
	case CERT_ENC_BASE64:
		if ((out = malloc(ENCODE_B64_LEN(c->der_len) + 1)) == NULL)
			return NULL;
		n = encode_base64(out, c->der, c->der_len,
		    enc == CERT_ENC_BASE64URL ? ENCODE_B64_URL :
		    ENCODE_B64_STD);
		break;
	case CERT_ENC_RFC9440:
		if ((out = malloc(ENCODE_B64_LEN(c->der_len) + 3)) == NULL)
			return NULL;
		out[0] = ':';
		n = 1 + encode_base64(out + 1, c->der, c->der_len,
		    ENCODE_B64_STD);
		out[n++] = ':';
		out[n] = '\0';
		break;
	case CERT_ENC_PEM_URL:
		if ((pem = cert_pem(c->der, c->der_len, &pemlen)) == NULL)
			return NULL;
		if ((out = malloc(ENCODE_PCT_LEN(pemlen) + 1)) == NULL) {
			free(pem);
			return NULL;
		}
		n = encode_percent(out, pem, pemlen);
		free(pem);
		break;
	default:
		errno = EINVAL;
		return NULL;
	}
	if (len != NULL)
		*len = n;
	return out;
}

/* A malloc'd copy of a GnuTLS datum as a string; frees the datum. */
static char *
cert_datum_str(gnutls_datum_t *d)
{
	char *s;

	if ((s = malloc(d->size + 1)) != NULL) {
		memcpy(s, d->data, d->size);
		s[d->size] = '\0';
	}
	(*g.free)(d->data);
	d->data = NULL;
	return s;
}

/* t as mod_ssl prints it: "Nov  7 03:04:05 2026 GMT".  NULL (errno). */
static char *
cert_time_str(time_t t)
{
	char buf[ENCODE_TIME_LEN + 1];

	if (encode_time(buf, t) == -1)
		return NULL;
	return strdup(buf);
}

/*
 * The serial's DER content bytes (two's complement, big-endian) as
 * mod_ssl's SSL_CLIENT_M_SERIAL, which is OpenSSL's i2a_ASN1_INTEGER()
 * (also "openssl x509 -serial"): "-" when negative, then the magnitude
 * in upper-case hex, two digits a byte, without leading zero bytes,
 * "00" for zero.  0x00 -> "00", 0x0A -> "0A", 0x00 0x80 -> "80",
 * 0xFB -> "-05".  A malloc'd string, or NULL (errno).
 */
static char *
cert_serial_str(const unsigned char *b, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char m[64];
	size_t i, o = 0;
	int neg = n > 0 && (b[0] & 0x80), carry = 1;
	char *s;

	if (n > sizeof m) {
		errno = EINVAL;
		return NULL;
	}
	/* The magnitude of a negative number: invert, add one. */
	for (i = n; i-- > 0;) {
		m[i] = neg ? (unsigned char)(~b[i] + carry) : b[i];
		if (neg)
			carry = carry && m[i] == 0;
	}
	for (i = 0; i + 1 < n && m[i] == 0; i++)
		continue;
	if ((s = malloc(1 + 2 * (n - i) + 2 + 1)) == NULL)
		return NULL;
	if (neg)
		s[o++] = '-';
	if (i == n) {
		s[o++] = '0';
		s[o++] = '0';
	}
	for (; i < n; i++) {
		s[o++] = hex[m[i] >> 4];
		s[o++] = hex[m[i] & 15];
	}
	s[o] = '\0';
	return s;
}

int
cert_fields_get(const struct cert *c, struct cert_fields *f)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	unsigned char serial[64];
	size_t slen = sizeof(serial);
	int ret, saved;

	memset(f, 0, sizeof(*f));
	if (c->der == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (cert_parse(&crt, c->der, c->der_len) == -1)
		return -1;

	if ((ret = g.get_dn3(crt, &d, 0)) < 0)
		goto gfail;
	if ((f->s_dn = cert_datum_str(&d)) == NULL)
		goto fail;
	if ((ret = g.get_issuer_dn3(crt, &d, 0)) < 0)
		goto gfail;
	if ((f->i_dn = cert_datum_str(&d)) == NULL)
		goto fail;

	if ((ret = g.get_serial(crt, serial, &slen)) < 0)
		goto gfail;
	if ((f->serial = cert_serial_str(serial, slen)) == NULL)
		goto fail;

	if ((f->v_start = cert_time_str(
	    g.get_activation(crt))) == NULL)
		goto fail;
	if ((f->v_end = cert_time_str(
	    g.get_expiration(crt))) == NULL)
		goto fail;

	if ((f->sha256 = malloc(ENCODE_HEX_LEN(SHA256_LEN) + 1)) == NULL)
		goto fail;
	cert_sha256_hex(c, f->sha256);

	g.crt_deinit(crt);
	return 0;
gfail:
	errno = cert_errno(ret);
fail:
	saved = errno;
	g.crt_deinit(crt);
	cert_fields_free(f);
	errno = saved;
	return -1;
}

void
cert_sha256_hex(const struct cert *c, char *out)
{
	unsigned char d[SHA256_LEN];

	sha256(c->der, c->der_len, d);
	encode_hex(out, d, sizeof d);
}

/* Set *dst to a copy of the first of the variables that is set. */
static int
cert_env(char **dst, const char *name, const char *alt)
{
	const char *v;

	if (*dst != NULL)
		return 0;
	if ((v = getenv(name)) == NULL && alt != NULL)
		v = getenv(alt);
	if (v == NULL)
		return 0;
	if ((*dst = strdup(v)) == NULL)
		return -1;
	return 0;
}

int
cert_fields_from_env(struct cert_fields *f)
{
	/* mod_ssl names; stunnel sets SSL_CLIENT_DN for the subject. */
	if (cert_env(&f->s_dn, "SSL_CLIENT_S_DN", "SSL_CLIENT_DN") == -1 ||
	    cert_env(&f->i_dn, "SSL_CLIENT_I_DN", NULL) == -1 ||
	    cert_env(&f->serial, "SSL_CLIENT_M_SERIAL", NULL) == -1 ||
	    cert_env(&f->v_start, "SSL_CLIENT_V_START", NULL) == -1 ||
	    cert_env(&f->v_end, "SSL_CLIENT_V_END", NULL) == -1) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
cert_fields_free(struct cert_fields *f)
{
	free(f->s_dn);
	free(f->i_dn);
	free(f->serial);
	free(f->v_start);
	free(f->v_end);
	free(f->sha256);
	memset(f, 0, sizeof(*f));
}
