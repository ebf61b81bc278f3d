/* The client certificate: loading, encoding and descriptive fields. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "cert.h"
#include "encode.h"

/* No certificate file is this large; refuse to read more. */
#define CERT_FILE_MAX	(1024 * 1024)

static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

/*
 * GnuTLS 3.3 and later initialise themselves when loaded; older ones
 * need gnutls_global_init() before the first call.
 */
static int
cert_init(void)
{
#if GNUTLS_VERSION_NUMBER < 0x030300
	static int done;

	if (!done) {
		if (gnutls_global_init() < 0) {
			errno = ENOMEM;
			return -1;
		}
		done = 1;
	}
#endif
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
	if ((ret = gnutls_x509_crt_init(crt)) < 0) {
		errno = cert_errno(ret);
		return -1;
	}
	d.data = (unsigned char *)der;
	d.size = (unsigned int)len;
	if ((ret = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_DER)) < 0) {
		gnutls_x509_crt_deinit(*crt);
		errno = cert_errno(ret);
		return -1;
	}
	return 0;
}

int
cert_load_mem(struct cert *c, const void *data, size_t len)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t in, pem = { NULL, 0 }, der = { NULL, 0 };
	const char *begin;
	int ret;

	c->der = NULL;
	c->der_len = 0;
	if (len > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	begin = memmem(data, len, pem_begin, sizeof(pem_begin) - 1);
	if (begin != NULL) {
		/* PEM: decode the first CERTIFICATE block, skip any text. */
		if (cert_init() == -1)
			return -1;
		in.data = (unsigned char *)begin;
		in.size = (unsigned int)(len - (size_t)(begin -
		    (const char *)data));
		ret = gnutls_pem_base64_decode2("CERTIFICATE", &in, &pem);
		if (ret < 0) {
			errno = cert_errno(ret);
			return -1;
		}
		data = pem.data;
		len = pem.size;
	}
	ret = cert_parse(&crt, data, len);
	gnutls_free(pem.data);
	if (ret == -1)
		return -1;
	/* The certificate's own DER, without anything that followed it. */
	ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
	gnutls_x509_crt_deinit(crt);
	if (ret < 0) {
		errno = cert_errno(ret);
		return -1;
	}
	/* Own the bytes with malloc(), as cert_free() expects. */
	if ((c->der = malloc(der.size)) == NULL) {
		gnutls_free(der.data);
		errno = ENOMEM;
		return -1;
	}
	memcpy(c->der, der.data, der.size);
	c->der_len = der.size;
	gnutls_free(der.data);
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
	gnutls_free(d->data);
	d->data = NULL;
	return s;
}

/* t as mod_ssl prints it: "Nov  7 03:04:05 2026 GMT".  NULL (errno). */
static char *
cert_time_str(time_t t)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	char buf[64], *s;

	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL) {
		errno = EINVAL;
		return NULL;
	}
	/* Not strftime(): %b would follow the locale. */
	snprintf(buf, sizeof(buf), "%s %2d %02d:%02d:%02d %lld GMT",
	    months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (long long)tm.tm_year + 1900);
	if ((s = strdup(buf)) == NULL)
		return NULL;
	return s;
}

int
cert_fields_get(const struct cert *c, struct cert_fields *f)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	unsigned char serial[64], digest[32];
	size_t slen = sizeof(serial), i;
	char *p;
	int ret, saved;

	memset(f, 0, sizeof(*f));
	if (c->der == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (cert_parse(&crt, c->der, c->der_len) == -1)
		return -1;

	if ((ret = gnutls_x509_crt_get_dn3(crt, &d, 0)) < 0)
		goto gfail;
	if ((f->s_dn = cert_datum_str(&d)) == NULL)
		goto fail;
	if ((ret = gnutls_x509_crt_get_issuer_dn3(crt, &d, 0)) < 0)
		goto gfail;
	if ((f->i_dn = cert_datum_str(&d)) == NULL)
		goto fail;

	if ((ret = gnutls_x509_crt_get_serial(crt, serial, &slen)) < 0)
		goto gfail;
	/*
	 * The DER bytes of the serial, less the zero byte that only keeps
	 * a positive number positive: mod_ssl prints 0x80 as "80".
	 */
	i = 0;
	if (slen > 1 && serial[0] == 0 && serial[1] >= 0x80)
		i = 1;
	if ((f->serial = malloc(ENCODE_HEX_LEN(slen - i) + 1)) == NULL)
		goto fail;
	encode_hex(f->serial, serial + i, slen - i);
	for (p = f->serial; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');

	if ((f->v_start = cert_time_str(
	    gnutls_x509_crt_get_activation_time(crt))) == NULL)
		goto fail;
	if ((f->v_end = cert_time_str(
	    gnutls_x509_crt_get_expiration_time(crt))) == NULL)
		goto fail;

	if ((ret = gnutls_hash_fast(GNUTLS_DIG_SHA256, c->der, c->der_len,
	    digest)) < 0)
		goto gfail;
	if ((f->sha256 = malloc(ENCODE_HEX_LEN(sizeof(digest)) + 1)) == NULL)
		goto fail;
	encode_hex(f->sha256, digest, sizeof(digest));

	gnutls_x509_crt_deinit(crt);
	return 0;
gfail:
	errno = cert_errno(ret);
fail:
	saved = errno;
	gnutls_x509_crt_deinit(crt);
	cert_fields_free(f);
	errno = saved;
	return -1;
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
