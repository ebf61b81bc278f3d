/*
 * Unit tests of lib/values.c: the cookie list and header lines built
 * from the certificate in the environment or a file, without one, and
 * the error returns.
 */
#include <errno.h>

#include "encode.h"
#include "values.h"
#include "unit.h"

#define PEM	"tests/data/cert.pem"

static char	*pem;		/* PEM's text */
static char	*b64url;	/* its DER, base64url: CERT's value */
static char	*sfv;		/* ":base64:", Client-Cert's value */
static char	 hex[ENCODE_HEX_LEN(32) + 1];
static char	 notes[4096];	/* what the log callback got */

static void
take_note(int level, const char *msg)
{
	size_t n = strlen(notes);

	snprintf(notes + n, sizeof notes - n, "%d %s\n", level, msg);
}

static void
load(void)
{
	struct cert c;
	size_t len;
	FILE *fp;

	if ((fp = fopen(PEM, "r")) == NULL) {
		perror(PEM);
		exit(1);
	}
	pem = calloc(1, 8192);
	if (pem == NULL || fread(pem, 1, 8191, fp) == 0) {
		perror(PEM);
		exit(1);
	}
	fclose(fp);
	if (cert_load_file(&c, PEM) == -1 ||
	    (b64url = cert_encode(&c, CERT_ENC_BASE64URL, &len)) == NULL ||
	    (sfv = cert_encode(&c, CERT_ENC_RFC9440, &len)) == NULL) {
		perror("cert");
		exit(1);
	}
	cert_sha256_hex(&c, hex);
	cert_free(&c);
}

/* The defaults of certcookie, with the log going to notes. */
static struct values_cfg
defaults(void)
{
	struct values_cfg cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.name = "CERT";
	cfg.enc = CERT_ENC_BASE64URL;
	cfg.cert_env = "SSL_CLIENT_CERT";
	cfg.header_chain = "Client-Cert-Chain";
	cfg.max_value = 6144;
	cfg.log = take_note;
	notes[0] = '\0';
	return cfg;
}

static void
clean_env(void)
{
	static const char *const vars[] = { "SSL_CLIENT_CERT",
	    "SSL_CLIENT_CERT_CHAIN_0", "SSL_CLIENT_VERIFY", "SSL_CLIENT_S_DN",
	    "SSL_CLIENT_I_DN", "SSL_CLIENT_M_SERIAL", "SSL_CLIENT_V_START",
	    "SSL_CLIENT_V_END" };
	size_t i;

	for (i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
}

static int
same(const char *got, const char *want)
{
	return got != NULL && strcmp(got, want) == 0;
}

static void
none_test(void)
{
	struct values_cfg cfg = defaults();
	struct values v;

	clean_env();
	cfg.header = "Client-Cert";
	CHECK(values_build(&cfg, &v) == 0, "none: %s", v.err);
	CHECK(v.add == NULL && v.add_len == 0, "none: add %s", v.add);
	CHECK(v.fields == NULL && v.fields_count == 0, "none: fields %s",
	    v.fields);
	CHECK(strstr(notes, "3 cookie: (none)") != NULL, "none: notes %s",
	    notes);
	values_free(&v);

	/* --fields with a failed verification and no certificate. */
	cfg.fields = 1;
	setenv("SSL_CLIENT_VERIFY", "NONE", 1);
	CHECK(values_build(&cfg, &v) == 0 && v.add == NULL,
	    "none, VERIFY=NONE: %s", v.add);
	values_free(&v);
}

static void
cert_test(void)
{
	struct values_cfg cfg = defaults();
	struct values v;
	char want[8192];

	clean_env();
	setenv("SSL_CLIENT_CERT", pem, 1);
	cfg.header = "Client-Cert";
	CHECK(values_build(&cfg, &v) == 0, "cert: %s", v.err);
	snprintf(want, sizeof want, "CERT=%s", b64url);
	CHECK(same(v.add, want) && v.add_len == strlen(want), "cert: add %s",
	    v.add);
	snprintf(want, sizeof want, "Client-Cert: %s\r\n", sfv);
	CHECK(same(v.fields, want) && v.fields_len == strlen(want) &&
	    v.fields_count == 1, "cert: fields %s", v.fields);
	values_free(&v);

	/* The chain, in both places. */
	setenv("SSL_CLIENT_CERT_CHAIN_0", pem, 1);
	cfg.chain = 1;
	CHECK(values_build(&cfg, &v) == 0, "chain: %s", v.err);
	snprintf(want, sizeof want, "CERT=%s; CERT_CHAIN=%s", b64url, b64url);
	CHECK(same(v.add, want), "chain: add %s", v.add);
	snprintf(want, sizeof want, "Client-Cert: %s\r\n"
	    "Client-Cert-Chain: %s\r\n", sfv, sfv);
	CHECK(same(v.fields, want) && v.fields_count == 2,
	    "chain: fields %s", v.fields);
	values_free(&v);

	/* --no-cookie: the header alone. */
	cfg.no_cookie = 1;
	CHECK(values_build(&cfg, &v) == 0 && v.add == NULL &&
	    v.fields_count == 2, "no-cookie: add %s", v.add);
	values_free(&v);
}

static void
big_test(void)
{
	struct values_cfg cfg = defaults();
	struct values v;
	char want[256];

	clean_env();
	setenv("SSL_CLIENT_CERT", pem, 1);
	cfg.max_value = 10;
	CHECK(values_build(&cfg, &v) == 0, "big: %s", v.err);
	snprintf(want, sizeof want, "CERT_SHA256=%s", hex);
	CHECK(same(v.add, want), "big: add %s", v.add);
	CHECK(strstr(notes, "1 certificate is ") != NULL &&
	    strstr(notes, "sending CERT_SHA256 instead") != NULL,
	    "big: notes %s", notes);
	values_free(&v);
}

static void
verify_test(void)
{
	struct values_cfg cfg = defaults();
	struct values v;
	char want[8192];

	clean_env();
	setenv("SSL_CLIENT_CERT", pem, 1);
	setenv("SSL_CLIENT_VERIFY", "FAILED:self signed", 1);
	CHECK(values_build(&cfg, &v) == 0 && v.add == NULL,
	    "unverified: add %s", v.add);
	CHECK(strstr(notes, "1 certificate not forwarded: "
	    "SSL_CLIENT_VERIFY=FAILED:self signed") != NULL,
	    "unverified: notes %s", notes);
	values_free(&v);

	cfg.allow_unverified = 1;
	CHECK(values_build(&cfg, &v) == 0, "allowed: %s", v.err);
	snprintf(want, sizeof want, "CERT=%s; CERT_VERIFY=FAILED%%3Aself%%20"
	    "signed", b64url);
	CHECK(same(v.add, want), "allowed: add %s", v.add);
	values_free(&v);

	/* --no-cookie: no CERT_VERIFY either. */
	cfg.no_cookie = 1;
	CHECK(values_build(&cfg, &v) == 0 && v.add == NULL,
	    "allowed, no-cookie: add %s", v.add);
	values_free(&v);
}

static void
fields_test(void)
{
	struct values_cfg cfg = defaults();
	struct values v;
	char want[8192];

	/* tlsfront's description is taken as it is. */
	clean_env();
	setenv("SSL_CLIENT_CERT", pem, 1);
	setenv("SSL_CLIENT_VERIFY", "SUCCESS", 1);
	setenv("SSL_CLIENT_S_DN", "CN=a b", 1);
	setenv("SSL_CLIENT_I_DN", "CN=ca", 1);
	setenv("SSL_CLIENT_M_SERIAL", "01", 1);
	setenv("SSL_CLIENT_V_START", "s", 1);
	setenv("SSL_CLIENT_V_END", "e", 1);
	cfg.fields = 1;
	CHECK(values_build(&cfg, &v) == 0, "fields: %s", v.err);
	snprintf(want, sizeof want, "CERT=%s; CERT_S_DN=CN%%3Da%%20b; "
	    "CERT_I_DN=CN%%3Dca; CERT_SERIAL=01; CERT_V_START=s; "
	    "CERT_V_END=e; CERT_SHA256=%s; CERT_VERIFY=SUCCESS", b64url, hex);
	CHECK(same(v.add, want), "fields: add %s", v.add);
	values_free(&v);

	/* From the certificate itself (GnuTLS) when one is missing. */
	unsetenv("SSL_CLIENT_V_END");
	CHECK(values_build(&cfg, &v) == 0, "fields, parsed: %s", v.err);
	CHECK(v.add && strstr(v.add, "; CERT_S_DN=CN%3Dcorpus; ") != NULL &&
	    strstr(v.add, "; CERT_V_END=Nov%20%203%2003%3A53%3A30%202126%20"
	    "GMT; ") != NULL, "fields, parsed: add %s", v.add);
	values_free(&v);
}

static void
error_test(void)
{
	struct values_cfg cfg = defaults();
	struct values v;
	int r;

	clean_env();
	setenv("SSL_CLIENT_CERT", "not a certificate", 1);
	r = values_build(&cfg, &v);
	CHECK(r == VALUES_ECERT && v.add == NULL && v.fields == NULL,
	    "bad env: %d", r);
	CHECK(strcmp(v.err, "unable to read the certificate in "
	    "SSL_CLIENT_CERT") == 0, "bad env: %s", v.err);

	cfg.cert_file = "tests/data/no-such.pem";
	errno = 0;
	r = values_build(&cfg, &v);
	CHECK(r == VALUES_ECERT && errno == ENOENT, "no file: %d, %s", r,
	    strerror(errno));
	CHECK(strcmp(v.err, "unable to read certificate "
	    "tests/data/no-such.pem") == 0, "no file: %s", v.err);

	/* A bad chain member fails after the certificate was encoded. */
	cfg.cert_file = NULL;
	cfg.chain = 1;
	setenv("SSL_CLIENT_CERT", pem, 1);
	setenv("SSL_CLIENT_CERT_CHAIN_0", "junk", 1);
	r = values_build(&cfg, &v);
	CHECK(r == VALUES_ECERT && v.add == NULL, "bad chain: %d", r);
	CHECK(strcmp(v.err, "unable to read the certificate in "
	    "SSL_CLIENT_CERT_CHAIN_0") == 0, "bad chain: %s", v.err);
}

int
main(void)
{
	load();
	none_test();
	cert_test();
	big_test();
	verify_test();
	fields_test();
	error_test();
	clean_env();
	free(pem);
	free(b64url);
	free(sfv);
	return unit_done("values");
}
