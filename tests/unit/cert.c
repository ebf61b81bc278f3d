/*
 * Unit tests of lib/cert.c on the certificates of tests/pki.sh, checked
 * against what certtool and openssl say about the same files.
 * The PKI goes to $UNIT_PKI, by default tests/unit/pki (run from the top).
 */
#include <errno.h>
#include <stdarg.h>

#include "cert.h"
#include "certenv.h"
#include "encode.h"
#include "unit.h"

static const char *pki;

/* A string for printing that may be NULL. */
#define S(s)	((s) != NULL ? (s) : "(null)")

/* The whole of a file, malloc'd; exits if it cannot be read. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *buf;
	long n;

	if ((fp = fopen(path, "rb")) == NULL || fseek(fp, 0, SEEK_END) == -1 ||
	    (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) == -1) {
		perror(path);
		exit(1);
	}
	if ((buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		perror(path);
		exit(1);
	}
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* A file of the PKI directory. */
static char *
pki_file(const char *name, size_t *len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	return slurp(path, len);
}

/* The output of a shell command, malloc'd; exits if it fails. */
static char *run(const char *, ...) __attribute__((format(printf, 1, 2)));

static char *
run(const char *fmt, ...)
{
	char cmd[8192], *buf;
	size_t len = 0, r;
	va_list ap;
	FILE *fp;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if ((fp = popen(cmd, "r")) == NULL || (buf = malloc(65536)) == NULL) {
		perror(cmd);
		exit(1);
	}
	while ((r = fread(buf + len, 1, 65535 - len, fp)) > 0)
		len += r;
	buf[len] = '\0';
	if (pclose(fp) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(1);
	}
	return buf;
}

/* The rest of the line after the first occurrence of key in text. */
static char *
line_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	size_t n;
	char *s;

	if (p == NULL)
		return strdup("(missing)");
	p += strlen(key);
	n = strcspn(p, "\n");
	s = malloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/*
 * Serials: NAME and the openssl -set_serial argument of serial-NAME.pem.
 * certtool refuses 0 and a 20-byte serial with the top bit set; it
 * writes "serial = 0x80" as the one DER byte 0x80, a negative number
 * (serial-raw80.pem).
 */
static const char *const serials[][2] = {
	{ "zero", "0" },
	{ "ten", "10" },
	{ "top", "0x80" },
	{ "twenty", "0x8102030405060708090a0b0c0d0e0f1011121314" },
	{ "twenty7f", "0x7f02030405060708090a0b0c0d0e0f1011121314" },
	{ "neg", "-5" },
	{ "neg256", "-256" },
};

/*
 * tests/pki.sh, plus odd.pem: serial 128 (a DER sign byte), a one-digit
 * day and a comma in the subject, signed by the same CA; and the
 * serial-*.pem certificates of serials[] and serial-raw80.pem.
 */
static void
make_pki(void)
{
	char cmd[4096];
	size_t i, n;

	n = (size_t)snprintf(cmd, sizeof(cmd),
	    "{ [ -s odd.pem ] || { printf '%%s\\n' 'cn = \"bob\"' "
	    "'organization = \"Example, Inc.\"' 'serial = 128' "
	    "'activation_date = \"2026-11-07 03:04:05\"' "
	    "'expiration_date = \"2030-01-02 23:59:59\"' > odd.tmpl && "
	    "certtool --generate-certificate --load-privkey client.key "
	    "--load-ca-certificate ca.pem --load-ca-privkey ca.key "
	    "--template odd.tmpl --outfile odd.pem 2>/dev/null; }; } && "
	    "{ [ -s serial-raw80.pem ] || { printf '%%s\\n' 'cn = \"raw\"' "
	    "'serial = 0x80' 'expiration_days = 3650' > raw80.tmpl && "
	    "certtool --generate-certificate --load-privkey client.key "
	    "--load-ca-certificate ca.pem --load-ca-privkey ca.key "
	    "--template raw80.tmpl --outfile serial-raw80.pem "
	    "2>/dev/null; }; }");
	for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n,
		    " && { [ -s serial-%s.pem ] || openssl req -x509 -new "
		    "-key ca.key -subj /CN=serial-%s -days 3650 -set_serial %s "
		    "-out serial-%s.pem 2>/dev/null; }", serials[i][0],
		    serials[i][0], serials[i][1], serials[i][0]);
	unit_pki(pki, cmd);
}

static void
test_load(void)
{
	struct cert c;
	char *der, *pem, *ca, *buf, *g;
	size_t derlen, pemlen, calen, n;
	void *map;
	size_t maplen;
	char path[4096];

	/* client.der is certtool --certificate-info --outder of client.pem. */
	der = pki_file("client.der", &derlen);
	pem = pki_file("client.pem", &pemlen);

	CHECK(cert_load_mem(&c, pem, pemlen) == 0, "PEM: %s",
	    strerror(errno));
	CHECK(c.der_len == derlen && memcmp(c.der, der, derlen) == 0,
	    "PEM gave other DER bytes (%zu, want %zu)", c.der_len, derlen);
	cert_free(&c);
	CHECK(c.der == NULL && c.der_len == 0, "cert_free clears");

	g = guard_copy(der, derlen, &map, &maplen);
	CHECK(cert_load_mem(&c, g, derlen) == 0, "DER: %s", strerror(errno));
	CHECK(c.der_len == derlen && memcmp(c.der, der, derlen) == 0,
	    "DER gave other DER bytes");
	cert_free(&c);
	guard_free(map, maplen);

	g = guard_copy(pem, pemlen, &map, &maplen);
	CHECK(cert_load_mem(&c, g, pemlen) == 0, "guarded PEM");
	CHECK(c.der_len == derlen && memcmp(c.der, der, derlen) == 0,
	    "guarded PEM gave other DER bytes");
	cert_free(&c);
	guard_free(map, maplen);

	/*
	 * Text before the block (certtool -i, openssl x509 -text), and a
	 * second certificate after it: the first one counts.
	 */
	ca = pki_file("ca.pem", &calen);
	buf = malloc(pemlen + calen + 200);
	n = (size_t)sprintf(buf, "Subject: CN=mallory\n-----BEGIN NOTHING"
	    "-----\n\tjunk ; , \"\n");
	memcpy(buf + n, pem, pemlen);
	n += pemlen;
	memcpy(buf + n, ca, calen);
	n += calen;
	CHECK(cert_load_mem(&c, buf, n) == 0, "PEM after junk: %s",
	    strerror(errno));
	CHECK(c.der_len == derlen && memcmp(c.der, der, derlen) == 0,
	    "PEM after junk gave other DER bytes");
	cert_free(&c);

	/* Only the PEM block, without its final newline. */
	CHECK(cert_load_mem(&c, pem, pemlen - 1) == 0, "PEM without LF");
	CHECK(c.der_len == derlen && memcmp(c.der, der, derlen) == 0,
	    "PEM without LF gave other DER bytes");
	cert_free(&c);

	/* Files, and /dev/stdin-like reading through cert_load_file. */
	snprintf(path, sizeof(path), "%s/client.pem", pki);
	CHECK(cert_load_file(&c, path) == 0, "file %s: %s", path,
	    strerror(errno));
	CHECK(c.der_len == derlen && memcmp(c.der, der, derlen) == 0,
	    "file gave other DER bytes");
	cert_free(&c);
	snprintf(path, sizeof(path), "%s/client.der", pki);
	CHECK(cert_load_file(&c, path) == 0, "file %s: %s", path,
	    strerror(errno));
	CHECK(c.der_len == derlen && memcmp(c.der, der, derlen) == 0,
	    "DER file gave other DER bytes");
	cert_free(&c);
	/*
	 * A pipe has no size: read to EOF, through 20 KB of text before the
	 * block (the pipe buffer holds it all).
	 */
	{
		int fds[2];
		char *junk = malloc(20000);

		memset(junk, 'x', 20000);
		if (pipe(fds) == -1 || write(fds[1], junk, 20000) != 20000 ||
		    write(fds[1], pem, pemlen) != (ssize_t)pemlen) {
			perror("pipe");
			exit(1);
		}
		close(fds[1]);
		snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
		CHECK(cert_load_file(&c, path) == 0, "pipe: %s",
		    strerror(errno));
		CHECK(c.der_len == derlen && memcmp(c.der, der, derlen) == 0,
		    "pipe gave other DER bytes");
		cert_free(&c);
		close(fds[0]);
		free(junk);
	}
	snprintf(path, sizeof(path), "%s/no-such-file.pem", pki);
	errno = 0;
	CHECK(cert_load_file(&c, path) == -1 && errno == ENOENT,
	    "missing file: errno %d", errno);
	snprintf(path, sizeof(path), "%s/client.key", pki);
	errno = 0;
	CHECK(cert_load_file(&c, path) == -1 && errno == EINVAL,
	    "a key is no certificate: errno %d", errno);

	/* Garbage of all sorts is EINVAL and leaves c empty. */
	{
		static const char *bad[] = {
			"",
			"hello",
			"-----BEGIN CERTIFICATE-----\n",
			"-----BEGIN CERTIFICATE-----\nMIIB!!!!\n"
			    "-----END CERTIFICATE-----\n",
			"-----BEGIN CERTIFICATE-----\naGVsbG8=\n"
			    "-----END CERTIFICATE-----\n",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			g = guard_copy(bad[i], strlen(bad[i]), &map, &maplen);
			errno = 0;
			CHECK(cert_load_mem(&c, g, strlen(bad[i])) == -1 &&
			    errno == EINVAL && c.der == NULL,
			    "garbage %zu: errno %d", i, errno);
			guard_free(map, maplen);
		}
	}
	/* Truncated DER, and DER with one byte changed in the header. */
	errno = 0;
	CHECK(cert_load_mem(&c, der, derlen - 1) == -1 && errno == EINVAL,
	    "truncated DER: errno %d", errno);
	der[1] ^= 0x01;
	errno = 0;
	CHECK(cert_load_mem(&c, der, derlen) == -1 && errno == EINVAL,
	    "bad DER length: errno %d", errno);

	free(buf);
	free(ca);
	free(pem);
	free(der);
}

/* No encoding ever holds a byte that ends a cookie or a header. */
static int
clean(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (strchr("\r\n;, \"\\", s[i]) != NULL)
			return 0;
	return 1;
}

static void
test_encode(void)
{
	struct cert c;
	char *der, *pem, *s, *want, *back;
	size_t derlen, pemlen, n, i;

	der = pki_file("client.der", &derlen);
	pem = pki_file("client.pem", &pemlen);
	if (cert_load_mem(&c, der, derlen) == -1) {
		CHECK(0, "load: %s", strerror(errno));
		return;
	}

	/* base64url: the base64 of coreutils, with the URL alphabet. */
	want = run("base64 -w0 '%s/client.der' | tr '+/' '-_' | tr -d =",
	    pki);
	s = cert_encode(&c, CERT_ENC_BASE64URL, &n);
	CHECK(s != NULL && strcmp(s, want) == 0 && clean(s, n),
	    "base64url: %s", S(s));
	free(s);
	free(want);

	want = run("base64 -w0 '%s/client.der'", pki);
	s = cert_encode(&c, CERT_ENC_BASE64, &n);
	CHECK(s != NULL && strcmp(s, want) == 0 && clean(s, n),
	    "base64: %s", S(s));
	free(s);

	/* RFC 9440: the same base64 between colons. */
	s = cert_encode(&c, CERT_ENC_RFC9440, &n);
	CHECK(s != NULL && n == strlen(want) + 2 && s[0] == ':' &&
	    s[n - 1] == ':' && strncmp(s + 1, want, n - 2) == 0 &&
	    clean(s, n), "rfc9440: %s", S(s));
	free(s);
	free(want);

	/*
	 * pem-url decodes to the PEM that certtool and openssl write,
	 * newline at the end included (nginx passes OpenSSL's PEM on).
	 */
	s = cert_encode(&c, CERT_ENC_PEM_URL, &n);
	CHECK(s != NULL && clean(s, n), "pem-url unclean: %s", S(s));
	CHECK(s != NULL && strncmp(s, "-----BEGIN%20CERTIFICATE-----%0AMII",
	    35) == 0 && n > 40 &&
	    strcmp(s + n - 30, "-----END%20CERTIFICATE-----%0A") == 0,
	    "pem-url: %s", S(s));
	back = malloc(n + 1);
	i = decode_percent(back, s, n);
	CHECK(i == pemlen && memcmp(back, pem, pemlen) == 0,
	    "pem-url is not certtool's PEM");
	free(back);
	free(s);
	want = run("openssl x509 -inform der -in '%s/client.der'", pki);
	s = cert_encode(&c, CERT_ENC_PEM_URL, &n);
	back = malloc(n + 1);
	i = decode_percent(back, s, n);
	CHECK(i == strlen(want) && memcmp(back, want, i) == 0,
	    "pem-url is not openssl's PEM");
	free(back);
	free(s);
	free(want);

	errno = 0;
	CHECK(cert_encode(&c, (enum cert_encoding)99, &n) == NULL &&
	    errno == EINVAL, "unknown encoding");
	cert_free(&c);
	errno = 0;
	CHECK(cert_encode(&c, CERT_ENC_BASE64URL, &n) == NULL &&
	    errno == EINVAL, "empty cert");
	free(pem);
	free(der);
}

/* The value of NAME in certenv_envp(), the last one; NULL if none. */
static const char *
certenv_get(const char *name)
{
	char **e = certenv_envp();
	size_t n = strlen(name), i, last = 0;
	int found = 0;

	for (i = 0; e != NULL && e[i] != NULL; i++)
		if (strncmp(e[i], name, n) == 0 && e[i][n] == '=') {
			last = i;
			found = 1;
		}
	return found ? e[last] + n + 1 : NULL;
}

/*
 * Fields of NAME.pem against certtool -i and openssl x509, from
 * cert_fields_get() (certcookie --fields) and certenv_client()
 * (tlsfront's SSL_CLIENT_*).
 */
static void
check_fields(const char *name)
{
	struct cert c;
	struct cert_fields f;
	gnutls_datum_t d;
	const char *v;
	char path[4096], *ct, *os, *want;

	snprintf(path, sizeof(path), "%s/%s.pem", pki, name);
	if (cert_load_file(&c, path) == -1) {
		CHECK(0, "load %s: %s", path, strerror(errno));
		return;
	}
	CHECK(cert_fields_get(&c, &f) == 0, "%s: %s", name, strerror(errno));
	ct = run("certtool -i --infile '%s'", path);
	os = run("openssl x509 -in '%s' -noout -subject -issuer -serial "
	    "-startdate -enddate -fingerprint -sha256 -nameopt RFC2253", path);

	want = line_after(ct, "\tSubject: ");
	CHECK(f.s_dn && strcmp(f.s_dn, want) == 0, "%s s_dn %s, certtool %s",
	    name, S(f.s_dn), want);
	free(want);
	want = line_after(os, "subject=");
	CHECK(f.s_dn && strcmp(f.s_dn, want) == 0, "%s s_dn %s, openssl %s",
	    name, S(f.s_dn), want);
	free(want);
	want = line_after(ct, "\tIssuer: ");
	CHECK(f.i_dn && strcmp(f.i_dn, want) == 0, "%s i_dn %s, certtool %s",
	    name, S(f.i_dn), want);
	free(want);
	/* mod_ssl prints the serial as OpenSSL does. */
	want = line_after(os, "serial=");
	CHECK(f.serial && strcmp(f.serial, want) == 0,
	    "%s serial %s, openssl %s", name, S(f.serial), want);
	certenv_reset();
	d.data = c.der;
	d.size = (unsigned)c.der_len;
	CHECK(certenv_client(&d, 1) == 0, "%s: certenv_client: %s", name,
	    strerror(errno));
	v = certenv_get("SSL_CLIENT_M_SERIAL");
	CHECK(v && strcmp(v, want) == 0, "%s SSL_CLIENT_M_SERIAL %s, "
	    "openssl %s", name, S(v), want);
	free(want);
	v = certenv_get("SSL_CLIENT_S_DN");
	CHECK(v && f.s_dn && strcmp(v, f.s_dn) == 0, "%s SSL_CLIENT_S_DN %s",
	    name, S(v));
	v = certenv_get("SSL_CLIENT_I_DN");
	CHECK(v && f.i_dn && strcmp(v, f.i_dn) == 0, "%s SSL_CLIENT_I_DN %s",
	    name, S(v));
	v = certenv_get("SSL_CLIENT_V_START");
	CHECK(v && f.v_start && strcmp(v, f.v_start) == 0,
	    "%s SSL_CLIENT_V_START %s", name, S(v));
	v = certenv_get("SSL_CLIENT_V_END");
	CHECK(v && f.v_end && strcmp(v, f.v_end) == 0,
	    "%s SSL_CLIENT_V_END %s", name, S(v));
	certenv_reset();
	want = line_after(os, "notBefore=");
	CHECK(f.v_start && strcmp(f.v_start, want) == 0,
	    "%s v_start \"%s\", openssl \"%s\"", name, S(f.v_start), want);
	free(want);
	want = line_after(os, "notAfter=");
	CHECK(f.v_end && strcmp(f.v_end, want) == 0,
	    "%s v_end \"%s\", openssl \"%s\"", name, S(f.v_end), want);
	free(want);
	want = line_after(ct, "sha256:");
	CHECK(f.sha256 && strcmp(f.sha256, want) == 0,
	    "%s sha256 %s, certtool %s", name, S(f.sha256), want);
	free(want);

	cert_fields_free(&f);
	CHECK(f.s_dn == NULL && f.sha256 == NULL, "cert_fields_free clears");
	free(os);
	free(ct);
	cert_free(&c);
}

/*
 * Serial 10 DER-encoded with a needless zero byte (02 02 00 0A, not
 * DER, which OpenSSL refuses to read but GnuTLS reads): no leading zero
 * byte is printed, from cert_fields_get() and certenv_client() alike.
 */
static void
test_serial_padded(void)
{
	static const unsigned char head[] = { 0xa0, 0x03, 0x02, 0x01, 0x02,
	    0x02, 0x01, 0x0a };
	struct cert c, p;
	struct cert_fields f;
	gnutls_datum_t d;
	const char *v;
	char path[4096];
	size_t n;

	snprintf(path, sizeof(path), "%s/serial-ten.pem", pki);
	if (cert_load_file(&c, path) == -1) {
		CHECK(0, "load %s: %s", path, strerror(errno));
		return;
	}
	/* SEQUENCE { SEQUENCE { [0] version, INTEGER serial, ... */
	n = c.der_len;
	if (n < 16 || c.der[0] != 0x30 || c.der[1] != 0x82 ||
	    c.der[4] != 0x30 || c.der[5] != 0x82 ||
	    memcmp(c.der + 8, head, sizeof(head)) != 0) {
		CHECK(0, "serial-ten.pem: unexpected DER");
		cert_free(&c);
		return;
	}
	p.der_len = n + 1;
	p.der = malloc(p.der_len);
	memcpy(p.der, c.der, 14);
	p.der[14] = 0x02;
	p.der[15] = 0x00;
	memcpy(p.der + 16, c.der + 15, n - 15);
	p.der[2] = (unsigned char)((((c.der[2] << 8) | c.der[3]) + 1) >> 8);
	p.der[3] = (unsigned char)(((c.der[2] << 8) | c.der[3]) + 1);
	p.der[6] = (unsigned char)((((c.der[6] << 8) | c.der[7]) + 1) >> 8);
	p.der[7] = (unsigned char)(((c.der[6] << 8) | c.der[7]) + 1);
	CHECK(cert_fields_get(&p, &f) == 0 && strcmp(f.serial, "0A") == 0,
	    "padded serial: %s", f.serial ? f.serial : strerror(errno));
	cert_fields_free(&f);
	certenv_reset();
	d.data = p.der;
	d.size = (unsigned)p.der_len;
	CHECK(certenv_client(&d, 1) == 0, "padded serial: certenv_client");
	v = certenv_get("SSL_CLIENT_M_SERIAL");
	CHECK(v && strcmp(v, "0A") == 0, "padded SSL_CLIENT_M_SERIAL %s",
	    S(v));
	certenv_reset();
	free(p.der);
	cert_free(&c);
}

static void
test_fields(void)
{
	static const char *const want[][2] = {
		{ "zero", "00" },
		{ "ten", "0A" },
		{ "top", "80" },
		{ "twenty", "8102030405060708090A0B0C0D0E0F1011121314" },
		{ "twenty7f", "7F02030405060708090A0B0C0D0E0F1011121314" },
		{ "neg", "-05" },
		{ "neg256", "-0100" },
		{ "raw80", "-80" },
	};
	struct cert c;
	struct cert_fields f;
	size_t len, i;
	char *pem, name[64];

	check_fields("client");
	check_fields("odd");
	for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
		snprintf(name, sizeof(name), "serial-%s", serials[i][0]);
		check_fields(name);
	}
	check_fields("serial-raw80");
	test_serial_padded();
	/* What openssl x509 -serial prints, spelled out. */
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(name, sizeof(name), "serial-%s.pem", want[i][0]);
		pem = pki_file(name, &len);
		if (cert_load_mem(&c, pem, len) == 0 &&
		    cert_fields_get(&c, &f) == 0) {
			CHECK(strcmp(f.serial, want[i][1]) == 0, "%s: %s, "
			    "want %s", name, f.serial, want[i][1]);
			cert_fields_free(&f);
			cert_free(&c);
		} else
			CHECK(0, "%s: %s", name, strerror(errno));
		free(pem);
	}

	/* The values the tests elsewhere rely on, spelled out. */
	pem = pki_file("client.pem", &len);
	if (cert_load_mem(&c, pem, len) == 0 && cert_fields_get(&c, &f) == 0) {
		CHECK(strcmp(f.s_dn, "CN=alice,O=Example") == 0, "%s", f.s_dn);
		CHECK(strcmp(f.i_dn, "CN=Test CA,O=certcookie tests") == 0,
		    "%s", f.i_dn);
		CHECK(strcmp(f.serial, "1234") == 0, "%s", f.serial);
		CHECK(strlen(f.v_end) == 24 && strcmp(f.v_end + 21, "GMT") == 0,
		    "%s", f.v_end);
		CHECK(strlen(f.sha256) == 64, "%s", f.sha256);
		cert_fields_free(&f);
		cert_free(&c);
	} else
		CHECK(0, "client.pem: %s", strerror(errno));
	free(pem);
	pem = pki_file("odd.pem", &len);
	if (cert_load_mem(&c, pem, len) == 0 && cert_fields_get(&c, &f) == 0) {
		CHECK(strcmp(f.v_start, "Nov  7 03:04:05 2026 GMT") == 0,
		    "%s", f.v_start);
		CHECK(strcmp(f.v_end, "Jan  2 23:59:59 2030 GMT") == 0,
		    "%s", f.v_end);
		CHECK(strcmp(f.serial, "80") == 0, "%s", f.serial);
		CHECK(strcmp(f.s_dn, "CN=bob,O=Example\\, Inc.") == 0, "%s",
		    f.s_dn);
		cert_fields_free(&f);
		cert_free(&c);
	} else
		CHECK(0, "odd.pem: %s", strerror(errno));
	free(pem);

	/* Bad DER: an error, and nothing left in f. */
	c.der = (unsigned char *)strdup("not a certificate");
	c.der_len = strlen((char *)c.der);
	memset(&f, 0xff, sizeof(f));
	errno = 0;
	CHECK(cert_fields_get(&c, &f) == -1 && errno == EINVAL &&
	    f.s_dn == NULL && f.sha256 == NULL, "bad DER: errno %d", errno);
	cert_free(&c);
}

static void
test_env(void)
{
	struct cert_fields f;

	memset(&f, 0, sizeof(f));
	unsetenv("SSL_CLIENT_S_DN");
	unsetenv("SSL_CLIENT_DN");
	unsetenv("SSL_CLIENT_I_DN");
	unsetenv("SSL_CLIENT_M_SERIAL");
	unsetenv("SSL_CLIENT_V_START");
	unsetenv("SSL_CLIENT_V_END");
	CHECK(cert_fields_from_env(&f) == 0 && f.s_dn == NULL &&
	    f.i_dn == NULL && f.serial == NULL && f.v_end == NULL,
	    "empty environment");

	/* stunnel's name for the subject. */
	setenv("SSL_CLIENT_DN", "CN=stunnel", 1);
	setenv("SSL_CLIENT_I_DN", "CN=Issuer", 1);
	CHECK(cert_fields_from_env(&f) == 0 && f.s_dn != NULL &&
	    strcmp(f.s_dn, "CN=stunnel") == 0 && f.i_dn != NULL &&
	    strcmp(f.i_dn, "CN=Issuer") == 0 && f.serial == NULL,
	    "stunnel: %s", f.s_dn);
	cert_fields_free(&f);

	/* mod_ssl's name wins over stunnel's. */
	setenv("SSL_CLIENT_S_DN", "CN=mod_ssl", 1);
	setenv("SSL_CLIENT_M_SERIAL", "0A1B", 1);
	setenv("SSL_CLIENT_V_START", "Nov  7 03:04:05 2026 GMT", 1);
	setenv("SSL_CLIENT_V_END", "Nov  7 03:04:05 2036 GMT", 1);
	CHECK(cert_fields_from_env(&f) == 0 && f.s_dn != NULL &&
	    strcmp(f.s_dn, "CN=mod_ssl") == 0 && f.serial != NULL &&
	    strcmp(f.serial, "0A1B") == 0 && f.v_start != NULL &&
	    strcmp(f.v_start, "Nov  7 03:04:05 2026 GMT") == 0 &&
	    f.v_end != NULL && strcmp(f.v_end, "Nov  7 03:04:05 2036 GMT") == 0
	    && f.sha256 == NULL, "mod_ssl: %s", f.s_dn);
	cert_fields_free(&f);

	/* Members already set, from the certificate, are kept. */
	f.s_dn = strdup("CN=from-cert");
	f.sha256 = strdup("ab");
	CHECK(cert_fields_from_env(&f) == 0 &&
	    strcmp(f.s_dn, "CN=from-cert") == 0 &&
	    strcmp(f.sha256, "ab") == 0 && f.i_dn != NULL &&
	    strcmp(f.i_dn, "CN=Issuer") == 0, "kept: %s", f.s_dn);
	cert_fields_free(&f);
}

int
main(void)
{
	if ((pki = getenv("UNIT_PKI")) == NULL || *pki == '\0')
		pki = "tests/unit/pki";
	make_pki();
	test_load();
	test_encode();
	test_fields();
	test_env();
	return unit_done("cert");
}
