/* Unit tests of lib/encode.c: RFC 4648 vectors, every byte, round trips, mod_ssl dates. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "encode.h"
#include "unit.h"

/* A reference base64 decoder for either alphabet; -1 on a bad byte. */
static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static long
b64_decode(unsigned char *dst, const char *src, size_t n)
{
	uint32_t acc = 0;
	int bits = 0, v;
	size_t i, o = 0;

	while (n > 0 && src[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		if ((v = b64val((unsigned char)src[i])) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)o;
}

static void
test_rfc4648(void)
{
	static const struct {
		const char *in, *std, *url;
	} v[] = {
		{ "", "", "" },
		{ "f", "Zg==", "Zg" },
		{ "fo", "Zm8=", "Zm8" },
		{ "foo", "Zm9v", "Zm9v" },
		{ "foob", "Zm9vYg==", "Zm9vYg" },
		{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
	};
	char out[64];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(out, 'X', sizeof(out));
		n = encode_base64(out, v[i].in, strlen(v[i].in),
		    ENCODE_B64_STD);
		CHECK(n == strlen(v[i].std) && strcmp(out, v[i].std) == 0,
		    "std \"%s\" gave \"%s\"", v[i].in, out);
		memset(out, 'X', sizeof(out));
		n = encode_base64(out, v[i].in, strlen(v[i].in),
		    ENCODE_B64_URL);
		CHECK(n == strlen(v[i].url) && strcmp(out, v[i].url) == 0,
		    "url \"%s\" gave \"%s\"", v[i].in, out);
	}
	/* Bytes that need the 62nd and 63rd characters. */
	n = encode_base64(out, "\xfb\xff\xbf", 3, ENCODE_B64_STD);
	CHECK(n == 4 && strcmp(out, "+/+/") == 0, "std 62/63: %s", out);
	n = encode_base64(out, "\xfb\xff\xbf", 3, ENCODE_B64_URL);
	CHECK(n == 4 && strcmp(out, "-_-_") == 0, "url 62/63: %s", out);
	n = encode_base64(out, "\xff", 1, ENCODE_B64_URL);
	CHECK(n == 2 && strcmp(out, "_w") == 0, "url ff: %s", out);
	n = encode_base64(out, "\xff\xff", 2, ENCODE_B64_STD);
	CHECK(n == 4 && strcmp(out, "//8=") == 0, "std ffff: %s", out);
}

/*
 * Every length up to 300 over bytes cycling through all 256 values: the
 * output fits ENCODE_B64_LEN(n) + 1 exactly (it ends at a guard page),
 * uses only its alphabet, and decodes back to the input.
 */
static void
test_b64_roundtrip(void)
{
	unsigned char in[300], back[300];
	size_t n, i, len, want;
	void *map;
	size_t maplen;
	char *out;
	long dn;
	int kind;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 151 + 7);
	for (kind = 0; kind < 2; kind++) {
		for (n = 0; n <= sizeof(in); n++) {
			char zero[ENCODE_B64_LEN(300) + 1] = { 0 };
			int ok = 1;

			out = guard_copy(zero, ENCODE_B64_LEN(n) + 1, &map,
			    &maplen);
			len = encode_base64(out, in, n, kind);
			want = kind == ENCODE_B64_STD ? ENCODE_B64_LEN(n) :
			    (n * 4 + 2) / 3;
			CHECK(len == want && out[len] == '\0',
			    "kind %d n %zu: length %zu, want %zu", kind, n,
			    len, want);
			for (i = 0; i < len; i++) {
				int c = (unsigned char)out[i];

				if (kind == ENCODE_B64_URL ?
				    (c == '+' || c == '/' || c == '=') :
				    (c == '-' || c == '_'))
					ok = 0;
			}
			CHECK(ok, "kind %d n %zu: wrong alphabet: %s", kind,
			    n, out);
			dn = b64_decode(back, out, len);
			CHECK(dn == (long)n && memcmp(back, in, n) == 0,
			    "kind %d n %zu: round trip failed", kind, n);
			guard_free(map, maplen);
		}
	}
}

/* Every byte value alone, at both alphabets: the right two characters. */
static void
test_b64_every_byte(void)
{
	static const char std[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char b;
	char out[8], want[8];
	int i;

	for (i = 0; i < 256; i++) {
		b = (unsigned char)i;
		encode_base64(out, &b, 1, ENCODE_B64_STD);
		snprintf(want, sizeof(want), "%c%c==", std[i >> 2],
		    std[(i & 3) << 4]);
		CHECK(strcmp(out, want) == 0, "std byte %d: %s", i, out);
		encode_base64(out, &b, 1, ENCODE_B64_URL);
		snprintf(want, sizeof(want), "%c%c", url[i >> 2],
		    url[(i & 3) << 4]);
		CHECK(strcmp(out, want) == 0, "url byte %d: %s", i, out);
	}
}

static int
is_unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static void
test_percent(void)
{
	unsigned char all[256];
	char out[ENCODE_PCT_LEN(256) + 1], back[ENCODE_PCT_LEN(256)];
	char want[8];
	size_t n, len, o;
	void *map;
	size_t maplen;
	char *g;
	int i, ok;

	/* Every byte alone: unreserved kept, the rest %XX upper-case. */
	for (i = 0; i < 256; i++) {
		unsigned char b = (unsigned char)i;

		n = encode_percent(out, &b, 1);
		if (is_unreserved(i))
			snprintf(want, sizeof(want), "%c", i);
		else
			snprintf(want, sizeof(want), "%%%02X", i);
		CHECK(n == strlen(want) && strcmp(out, want) == 0,
		    "byte %d: \"%s\", want \"%s\"", i, out, want);
	}

	/* All 256 bytes at once, into exactly ENCODE_PCT_LEN(256) + 1. */
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	memset(out, 0, sizeof(out));
	g = guard_copy(out, sizeof(out), &map, &maplen);
	len = encode_percent(g, all, 256);
	CHECK(len == 66 + 190 * 3 && g[len] == '\0', "length %zu", len);
	ok = 1;
	for (o = 0; o < len; o++)
		if (strchr("\r\n;, \"\\+/:=", g[o]) != NULL)
			ok = 0;
	CHECK(ok, "a separator survived percent-encoding");
	n = decode_percent(back, g, len);
	CHECK(n == 256 && memcmp(back, all, 256) == 0,
	    "round trip of all bytes failed (%zu)", n);
	guard_free(map, maplen);

	/* The PEM header as nginx escapes it. */
	n = encode_percent(out, "-----BEGIN CERTIFICATE-----\n", 28);
	CHECK(strcmp(out, "-----BEGIN%20CERTIFICATE-----%0A") == 0 && n == 32,
	    "PEM line: %s", out);
	n = encode_percent(out, "a+b/c=d~e", 9);
	CHECK(strcmp(out, "a%2Bb%2Fc%3Dd~e") == 0 && n == 15, "mixed: %s",
	    out);
	n = encode_percent(out, "", 0);
	CHECK(n == 0 && out[0] == '\0', "empty");
}

static void
test_decode_percent(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "%41", "A" },
		{ "%2f%2F", "//" },
		{ "%%41", "%A" },
		{ "%", "%" },
		{ "a%", "a%" },
		{ "%4", "%4" },
		{ "a%4", "a%4" },
		{ "%4g", "%4g" },
		{ "%g4", "%g4" },
		{ "%%", "%%" },
		{ "%2541", "%41" },
		{ "+", "+" },
		{ "%00x", "\0x" },
	};
	char out[32];
	void *map;
	size_t maplen, i, n, want;
	char *g;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		/* The input ends at a guard page: no reading past it. */
		g = guard_copy(v[i].in, strlen(v[i].in), &map, &maplen);
		n = decode_percent(out, g, strlen(v[i].in));
		want = strcmp(v[i].in, "%00x") == 0 ? 2 : strlen(v[i].out);
		CHECK(n == want && memcmp(out, v[i].out, want) == 0,
		    "\"%s\" gave \"%.*s\"", v[i].in, (int)n, out);
		guard_free(map, maplen);
	}
}

static void
test_hex(void)
{
	unsigned char all[256];
	char out[ENCODE_HEX_LEN(256) + 1], want[3];
	size_t n;
	int i, ok = 1;

	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	n = encode_hex(out, all, 256);
	CHECK(n == 512 && out[512] == '\0', "length %zu", n);
	for (i = 0; i < 256; i++) {
		snprintf(want, sizeof(want), "%02x", i);
		if (memcmp(out + 2 * i, want, 2) != 0)
			ok = 0;
	}
	CHECK(ok, "hex of every byte");
	n = encode_hex(out, "\x01\xab", 2);
	CHECK(n == 4 && strcmp(out, "01ab") == 0, "%s", out);
	n = encode_hex(out, "", 0);
	CHECK(n == 0 && out[0] == '\0', "empty");
}

static void
test_time(void)
{
	static const struct {
		time_t		 t;
		const char	*want;
	} v[] = {
		{ 0, "Jan  1 00:00:00 1970 GMT" },
		{ 1794021845, "Nov  7 03:24:05 2026 GMT" },
		{ 1798761599, "Dec 31 23:59:59 2026 GMT" },
		{ 253402300799, "Dec 31 23:59:59 9999 GMT" },
		{ 4102444800, "Jan  1 00:00:00 2100 GMT" },
	};
	char out[ENCODE_TIME_LEN + 1];
	ssize_t n;
	size_t i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		n = encode_time(out, v[i].t);
		CHECK(n == (ssize_t)strlen(v[i].want) &&
		    strcmp(out, v[i].want) == 0, "%lld gave \"%s\"",
		    (long long)v[i].t, out);
	}
	errno = 0;
	CHECK(encode_time(out, (time_t)-1) == -1 && errno == EINVAL,
	    "(time_t)-1 refused");
	/* Before 1970 (UTCTime reaches back to 1950), and the ends. */
	CHECK(encode_time(out, -631152000) == 24 &&
	    strcmp(out, "Jan  1 00:00:00 1950 GMT") == 0, "%s", out);
	CHECK(encode_time(out, -2) == 24 &&
	    strcmp(out, "Dec 31 23:59:58 1969 GMT") == 0, "%s", out);
	CHECK(encode_time(out, (time_t)951782400) == 24 &&
	    strcmp(out, "Feb 29 00:00:00 2000 GMT") == 0, "%s", out);
	CHECK(encode_time(out, (time_t)-62167219200LL) == 21 &&
	    strcmp(out, "Jan  1 00:00:00 0 GMT") == 0, "%s", out);
	errno = 0;
	CHECK(encode_time(out, (time_t)253402300800LL) == -1 &&
	    errno == EINVAL, "year 10000 refused");
	/* Against gmtime_r(), a date about every three years to 9999. */
	{
		struct tm tm;
		char want[64];
		time_t t;
		int bad = 0;

		for (t = -62167219200LL + 12345; t <= 253402300799LL;
		    t += 31556926LL * 3 + 86399) {
			gmtime_r(&t, &tm);
			strftime(want, sizeof want, "%b %e %H:%M:%S ", &tm);
			snprintf(want + strlen(want), sizeof want - strlen(want),
			    "%d GMT", tm.tm_year + 1900);
			if (encode_time(out, t) < 0 || strcmp(out, want) != 0)
				bad++;
		}
		CHECK(bad == 0, "%d dates differ from gmtime_r()", bad);
	}
}

int
main(void)
{
	test_rfc4648();
	test_b64_every_byte();
	test_b64_roundtrip();
	test_percent();
	test_decode_percent();
	test_hex();
	test_time();
	return unit_done("encode");
}
