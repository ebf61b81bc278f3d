/*
 * The PROXY protocol, versions 1 and 2, as HAProxy's
 * doc/proxy-protocol.txt specifies it: a parser for the receiving side
 * and builders for the sending side.  Pure: no allocation, no globals,
 * and parsed strings are (pointer, length) slices into the caller's
 * buffer, never NUL-terminated.
 */
#ifndef PROXYPROTO_H
#define PROXYPROTO_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* Results of proxy_parse() and of the builders. */
#define PROXY_NEED_MORE	0	/* a strict prefix of a header so far */
#define PROXY_NOT_PROXY	(-1)	/* neither signature: not a PROXY header */
#define PROXY_BAD	(-2)	/* malformed */
#define PROXY_TOO_LONG	(-3)	/* v1 line or v2 header over its limit */
#define PROXY_NO_SPACE	(-4)	/* builders: does not fit in size bytes */

/*
 * The longest v1 line, CRLF included (spec 2.1), and the longest v2
 * header this module reads or writes, its 16 fixed bytes included.  The
 * spec sets no bound on v2 TLVs; 4096 holds the 216 bytes of AF_UNIX
 * addresses and an SSL TLV with a DER client certificate
 * (PP2_SUBTYPE_SSL_CLIENT_CERT) of up to about 3.5 KB.
 */
#define PROXY_V1_MAX	107
#define PROXY_V2_MAX	4096

/* Commands; a v1 line is always PROXY (UNKNOWN: no address). */
#define PROXY_CMD_LOCAL	0
#define PROXY_CMD_PROXY	1

/* TLV types and SSL sub-types, spec 2.2. */
#define PP2_TYPE_ALPN			0x01
#define PP2_TYPE_AUTHORITY		0x02
#define PP2_TYPE_CRC32C			0x03
#define PP2_TYPE_NOOP			0x04
#define PP2_TYPE_UNIQUE_ID		0x05
#define PP2_TYPE_SSL			0x20
#define PP2_SUBTYPE_SSL_VERSION		0x21
#define PP2_SUBTYPE_SSL_CN		0x22
#define PP2_SUBTYPE_SSL_CIPHER		0x23
#define PP2_SUBTYPE_SSL_SIG_ALG		0x24
#define PP2_SUBTYPE_SSL_KEY_ALG		0x25
#define PP2_TYPE_NETNS			0x30

/* The client field of PP2_TYPE_SSL. */
#define PP2_CLIENT_SSL		0x01
#define PP2_CLIENT_CERT_CONN	0x02
#define PP2_CLIENT_CERT_SESS	0x04

/* A string slice; s == NULL: absent. */
struct proxy_str {
	const char	*s;
	size_t		 len;
};

/*
 * The PP2_TYPE_SSL TLV: given to proxy_v2_build(), and filled in by
 * proxy_parse() with slices into the parsed buffer.
 */
struct proxy_ssl {
	uint8_t		 client;	/* PP2_CLIENT_* bits */
	uint32_t	 verify;	/* 0: the client certificate verified */
	struct proxy_str version;	/* PP2_SUBTYPE_SSL_VERSION */
	struct proxy_str cn;		/* PP2_SUBTYPE_SSL_CN */
	struct proxy_str cipher;	/* PP2_SUBTYPE_SSL_CIPHER */
	struct proxy_str sig_alg;	/* PP2_SUBTYPE_SSL_SIG_ALG */
	struct proxy_str key_alg;	/* PP2_SUBTYPE_SSL_KEY_ALG */
};

struct proxy_hdr {
	int		 version;	/* 1 or 2 */
	int		 command;	/* PROXY_CMD_* */
	int		 family;	/* AF_INET, _INET6, _UNIX, _UNSPEC */
	int		 socktype;	/* SOCK_STREAM, SOCK_DGRAM, or 0 */
	int		 has_addr;	/* src and dst are set */
	struct sockaddr_storage src;	/* AF_INET or AF_INET6, with ports */
	struct sockaddr_storage dst;
	const uint8_t	*tlv;		/* v2: the TLVs after the addresses */
	size_t		 tlv_len;
	int		 has_ssl;	/* ssl holds a PP2_TYPE_SSL TLV */
	struct proxy_ssl ssl;
	struct proxy_str authority;	/* PP2_TYPE_AUTHORITY: SNI */
	struct proxy_str alpn;		/* PP2_TYPE_ALPN */
};

/*
 * Parse the PROXY header at the start of buf[0..len) into *h.  Returns
 * the length of the header (> 0; the bytes after it are the stream's),
 * PROXY_NEED_MORE when buf holds only the start of a header,
 * PROXY_NOT_PROXY when it starts with neither signature, PROXY_BAD or
 * PROXY_TOO_LONG.  The version comes from the signature.
 *
 * Version 1 is read strictly: single spaces, CRLF, addresses of the
 * announced family in the form inet_pton(3) reads (dotted quads without
 * leading zeros), decimal ports 0-65535 without leading zeros.  After
 * "UNKNOWN", any bytes but CR and LF may come before the CRLF.
 *
 * Version 2: has_addr is set only for AF_INET and AF_INET6 with STREAM
 * or DGRAM.  A LOCAL header's family is ignored (spec 2.2) and reported
 * as AF_UNSPEC.  The TLVs are walked with bounds checked whenever the
 * size of the address block is known (a TLV running past the header is
 * PROXY_BAD), so is a PP2_TYPE_SSL TLV and its sub-TLVs, and a
 * PP2_TYPE_CRC32C checksum is verified (a mismatch is PROXY_BAD).  The
 * slices in *h point into buf.  *h is undefined unless the result is
 * positive.
 */
int	proxy_parse(const void *buf, size_t len, struct proxy_hdr *h);

/*
 * Write a v1 line for src and dst into buf[0..size), without a NUL.
 * Both AF_INET: "TCP4"; both AF_INET6, or one of each (the IPv4 one
 * then IPv4-mapped): "TCP6"; anything else, NULL included: "UNKNOWN".
 * A sockaddr must be as large as its family's (struct sockaddr_storage
 * is).  Returns the length written, or PROXY_NO_SPACE.
 */
int	proxy_v1_build(char *buf, size_t size, const struct sockaddr *src,
	    const struct sockaddr *dst);

/*
 * Write a v2 PROXY header for a TCP connection from src to dst into
 * buf[0..size): families as in proxy_v1_build(), "UNKNOWN" becoming
 * AF_UNSPEC without addresses.  With ssl not NULL, a PP2_TYPE_SSL TLV
 * follows, holding each of its strings that is not NULL.  Returns the
 * length written, or PROXY_NO_SPACE (also when the header would exceed
 * PROXY_V2_MAX).
 */
int	proxy_v2_build(uint8_t *buf, size_t size, const struct sockaddr *src,
	    const struct sockaddr *dst, const struct proxy_ssl *ssl);

/*
 * Write a v2 LOCAL header, for a connection without a known address:
 * 16 bytes, AF_UNSPEC, no TLV.  Returns 16, or PROXY_NO_SPACE.
 */
int	proxy_v2_build_local(uint8_t *buf, size_t size);

#endif
