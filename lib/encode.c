/*
 * Encoders for cookie and header values: base64, hex, percent.  Not
 * nettle's base64: see lib/sha256.c for what loading it would cost.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "encode.h"

static const char b64_std[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char hex_upper[16] = "0123456789ABCDEF";
static const char hex_lower[16] = "0123456789abcdef";

/* Bytes that RFC 3986 calls unreserved: A-Z a-z 0-9 - . _ ~ */
static const uint8_t unreserved[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
};

size_t
encode_base64(char *dst, const void *src, size_t n, enum encode_b64 kind)
{
	const unsigned char *s = src;
	const char *tab = kind == ENCODE_B64_URL ? b64_url : b64_std;
	char *d = dst;
	uint32_t v;

	/* Whole groups of three bytes make four characters. */
	for (; n >= 3; n -= 3, s += 3) {
		v = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
		d[0] = tab[v >> 18];
		d[1] = tab[v >> 12 & 0x3f];
		d[2] = tab[v >> 6 & 0x3f];
		d[3] = tab[v & 0x3f];
		d += 4;
	}
	/* One or two bytes left: two or three characters, then padding. */
	if (n > 0) {
		v = (uint32_t)s[0] << 16;
		if (n == 2)
			v |= (uint32_t)s[1] << 8;
		*d++ = tab[v >> 18];
		*d++ = tab[v >> 12 & 0x3f];
		if (n == 2)
			*d++ = tab[v >> 6 & 0x3f];
		if (kind == ENCODE_B64_STD) {
			if (n == 1)
				*d++ = '=';
			*d++ = '=';
		}
	}
	*d = '\0';
	return (size_t)(d - dst);
}

size_t
encode_percent(char *dst, const void *src, size_t n)
{
	const unsigned char *s = src, *end = s + n;
	char *d = dst;

	for (; s < end; s++) {
		if (unreserved[*s]) {
			*d++ = (char)*s;
		} else {
			d[0] = '%';
			d[1] = hex_upper[*s >> 4];
			d[2] = hex_upper[*s & 0xf];
			d += 3;
		}
	}
	*d = '\0';
	return (size_t)(d - dst);
}

size_t
encode_hex(char *dst, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = hex_lower[s[i] >> 4];
		dst[2 * i + 1] = hex_lower[s[i] & 0xf];
	}
	dst[2 * n] = '\0';
	return 2 * n;
}

/* The value of hex digit c, or -1. */
static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Not strftime() nor gmtime_r(): %b follows the locale, and glibc's
 * gmtime_r() reads the time zone file on its first call.  The civil
 * date from the day count is H. Hinnant's days_from_civil inverse.
 */
ssize_t
encode_time(char *dst, time_t t)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	long long days, secs, era, y;
	unsigned doe, yoe, doy, mp, d, m;

	/* Years 0 to 9999, as X.509 has them; (time_t)-1 is an error. */
	if (t == (time_t)-1 || t < -62167219200LL || t > 253402300799LL) {
		errno = EINVAL;
		return -1;
	}
	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	days += 719468;			/* from 0000-03-01 */
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (long long)yoe + era * 400 + (m <= 2);
	return snprintf(dst, ENCODE_TIME_LEN + 1,
	    "%s %2u %02lld:%02lld:%02lld %lld GMT", months[m - 1], d,
	    secs / 3600, secs / 60 % 60, secs % 60, y);
}

size_t
decode_percent(char *dst, const char *src, size_t n)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (src[i] == '%' && n - i >= 3 &&
		    (hi = hexval((unsigned char)src[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)src[i + 2])) >= 0) {
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			dst[o++] = src[i];
	}
	return o;
}

/* Value of a standard base64 digit, or -1. */
static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t
decode_base64(unsigned char *dst, const char *src, size_t n)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, pad = 0, v;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64val(c)) < 0)
			return -1;	/* data after padding, or junk */
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits must be zero padding of a whole quantum. */
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0 || pad > 2)
		return -1;
	return (ssize_t)o;
}
