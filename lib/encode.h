/* Encoders for cookie and header values. */
#ifndef ENCODE_H
#define ENCODE_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

/* Output sizes, without the terminating NUL that every encoder adds. */
#define ENCODE_B64_LEN(n)	(((n) + 2) / 3 * 4)
#define ENCODE_PCT_LEN(n)	((n) * 3)
#define ENCODE_HEX_LEN(n)	((n) * 2)
#define ENCODE_TIME_LEN		24	/* "Nov  7 03:04:05 2026 GMT" */

enum encode_b64 {
	ENCODE_B64_STD,		/* A-Z a-z 0-9 + /, padded with = */
	ENCODE_B64_URL,		/* A-Z a-z 0-9 - _, no padding (RFC 4648 5) */
};

/*
 * Encode src[0..n) as base64 into dst, which holds at least
 * ENCODE_B64_LEN(n) + 1 bytes.  Returns the length written.
 */
size_t	encode_base64(char *dst, const void *src, size_t n, enum encode_b64);

/*
 * Percent-encode every byte outside RFC 3986 unreserved (A-Z a-z 0-9
 * - . _ ~), as %XX with upper-case hex, into dst, which holds at least
 * ENCODE_PCT_LEN(n) + 1 bytes.  Returns the length written.
 */
size_t	encode_percent(char *dst, const void *src, size_t n);

/* Lower-case hex of src into dst (ENCODE_HEX_LEN(n) + 1 bytes). */
size_t	encode_hex(char *dst, const void *src, size_t n);

/*
 * t as OpenSSL's ASN1_TIME_print writes it and mod_ssl exports it,
 * "Nov  7 03:04:05 2026 GMT", in English whatever the locale, into dst
 * (ENCODE_TIME_LEN + 1 bytes).  Returns the length, or -1 (EINVAL) for
 * (time_t)-1 or a year outside 0-9999.
 */
ssize_t	encode_time(char *dst, time_t t);

/*
 * Decode %XX escapes of src[0..n) into dst (n bytes suffice); a "%"
 * not followed by two hex digits is kept as is.  Returns the length.
 */
size_t	decode_percent(char *dst, const char *src, size_t n);

/*
 * Decode standard base64 of src[0..n) into dst (3 * n / 4 bytes
 * suffice), skipping white space and line ends.  Returns the length, or
 * -1 for a character outside the alphabet or a malformed end.
 */
ssize_t	decode_base64(unsigned char *dst, const char *src, size_t n);

#endif
