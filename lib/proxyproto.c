/*
 * The PROXY protocol, versions 1 and 2 (HAProxy's doc/proxy-protocol.txt).
 * The v1 parser reads the line as far as it has come, so that a
 * malformed line fails as soon as it is seen and only a true prefix of
 * a valid line asks for more bytes.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "proxyproto.h"

#define V1_SIG		"PROXY"
#define V1_SIGLEN	5
#define V2_SIGLEN	12
#define V2_HDRLEN	16
#define V2_VERSION	0x20

static const uint8_t v2_sig[V2_SIGLEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* The state of one v1 field: still growing, complete, or wrong. */
#define F_NEED	0
#define F_OK	1
#define F_BAD	2

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * A dotted quad, or with final == 0 the start of one: four numbers
 * 0-255 without leading zeros, separated by single dots.
 */
static int
v1_ipv4(const char *s, size_t n, int final)
{
	size_t i, digits = 0, dots = 0;
	unsigned v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (digits == 0 || ++dots > 3)
				return F_BAD;
			digits = 0;
			v = 0;
		} else if (is_digit(s[i])) {
			if (digits == 1 && v == 0)
				return F_BAD;	/* a leading zero */
			v = v * 10 + (unsigned)(s[i] - '0');
			if (++digits > 3 || v > 255)
				return F_BAD;
		} else
			return F_BAD;
	}
	if (!final)
		return F_NEED;
	return dots == 3 && digits > 0 ? F_OK : F_BAD;
}

/*
 * An IPv6 address as inet_pton(3) reads it, in at most the 39 bytes
 * the spec allows; with final == 0, bytes that may start one.
 */
static int
v1_ipv6(const char *s, size_t n, int final)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t i;

	if (n > 39)
		return F_BAD;
	for (i = 0; i < n; i++)
		if (!is_hex(s[i]) && s[i] != ':' && s[i] != '.')
			return F_BAD;
	if (!final)
		return F_NEED;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1 ? F_OK : F_BAD;
}

/* A port: 0-65535 in decimal, no leading zero. */
static int
v1_port(const char *s, size_t n, int final, unsigned *port)
{
	size_t i;
	unsigned v = 0;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]) || (i == 1 && v == 0))
			return F_BAD;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > 65535)
			return F_BAD;
	}
	if (!final)
		return F_NEED;
	if (n == 0)
		return F_BAD;
	*port = v;
	return F_OK;
}

/* Is s[0..n) the start of lit (whole, with final)? */
static int
v1_word(const char *s, size_t n, int final, const char *lit)
{
	size_t l = strlen(lit);

	if (n > l || memcmp(s, lit, n) != 0)
		return F_BAD;
	if (n < l)
		return final ? F_BAD : F_NEED;
	return F_OK;
}

static void
set_sa(struct sockaddr_storage *ss, int family, const char *s, size_t n,
    unsigned port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char tmp[INET6_ADDRSTRLEN];

	memset(ss, 0, sizeof(*ss));
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		(void)inet_pton(AF_INET, tmp, &sin->sin_addr);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		(void)inet_pton(AF_INET6, tmp, &sin6->sin6_addr);
	}
}

/*
 * The fields of the line s[0..n) after "PROXY"; final: the line ended
 * there (a CR followed), else more bytes may come.
 */
static int
v1_fields(const char *s, size_t n, int final, struct proxy_hdr *h)
{
	const char *tok[6];
	size_t len[6], i = 0, nf = 0, start;
	unsigned sport = 0, dport = 0;
	int family, r, last;

	/* Split at single spaces: " PROTO SRC DST SPORT DPORT". */
	if (n == 0)
		return final ? F_BAD : F_NEED;
	if (s[0] != ' ')
		return F_BAD;
	for (i = 1;; i++) {
		start = i;
		while (i < n && s[i] != ' ')
			i++;
		tok[nf] = s + start;
		len[nf] = i - start;
		nf++;
		last = i == n;
		/* After "UNKNOWN ", anything up to the CRLF. */
		if (nf == 1 && !last &&
		    v1_word(tok[0], len[0], 1, "UNKNOWN") == F_OK)
			break;
		if (last || nf == 6)
			break;
	}
	if (nf == 6)
		return F_BAD;		/* a space after the last port */

	/* Check each field, the last one perhaps unfinished. */
	family = AF_UNSPEC;
	for (i = 0; i < nf; i++) {
		/* Complete: followed by a space or the end of the line. */
		int fin = final || i + 1 < nf || !last;

		switch (i) {
		case 0:
			if ((r = v1_word(tok[0], len[0], fin, "TCP4")) != F_BAD)
				family = AF_INET;
			else if ((r = v1_word(tok[0], len[0], fin, "TCP6")) !=
			    F_BAD)
				family = AF_INET6;
			else
				r = v1_word(tok[0], len[0], fin, "UNKNOWN");
			/* "T", "TCP": either of two words. */
			if (r == F_NEED)
				return F_NEED;
			if (r == F_BAD)
				return F_BAD;
			if (family == AF_UNSPEC)
				return final ? F_OK : F_NEED;
			break;
		case 1:
		case 2:
			r = family == AF_INET ? v1_ipv4(tok[i], len[i], fin) :
			    v1_ipv6(tok[i], len[i], fin);
			break;
		case 3:
			r = v1_port(tok[i], len[i], fin, &sport);
			break;
		default:
			r = v1_port(tok[i], len[i], fin, &dport);
			break;
		}
		if (r != F_OK)
			return r;
	}
	if (nf < 5)
		return final ? F_BAD : F_NEED;
	if (!final)
		return F_NEED;
	h->family = family;
	h->socktype = SOCK_STREAM;
	h->has_addr = 1;
	set_sa(&h->src, family, tok[1], len[1], sport);
	set_sa(&h->dst, family, tok[2], len[2], dport);
	return F_OK;
}

static int
v1_parse(const char *p, size_t len, struct proxy_hdr *h)
{
	size_t i;
	int cr, r;

	if (memcmp(p, V1_SIG, len < V1_SIGLEN ? len : V1_SIGLEN) != 0)
		return PROXY_NOT_PROXY;
	/* The line ends at the first CR; a lone LF is never an end. */
	for (i = 0; i < len && i < PROXY_V1_MAX; i++) {
		if (p[i] == '\n')
			return PROXY_BAD;
		if (p[i] == '\r')
			break;
	}
	cr = i < len && i < PROXY_V1_MAX;
	if (i < V1_SIGLEN)
		return cr ? PROXY_BAD : PROXY_NEED_MORE;
	h->version = 1;
	h->command = PROXY_CMD_PROXY;
	r = v1_fields(p + V1_SIGLEN, i - V1_SIGLEN, cr, h);
	if (r == F_BAD)
		return PROXY_BAD;
	if (r == F_NEED)
		return i >= PROXY_V1_MAX ? PROXY_TOO_LONG : PROXY_NEED_MORE;
	if (i + 2 > PROXY_V1_MAX)
		return PROXY_TOO_LONG;
	if (i + 1 == len)
		return PROXY_NEED_MORE;
	if (p[i + 1] != '\n')
		return PROXY_BAD;
	return (int)(i + 2);
}

static unsigned
be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * CRC-32C (Castagnoli, RFC 4960 appendix B) of p[0..n), with the four
 * bytes at zero[0..4) read as zeros, as the spec computes it.
 */
static uint32_t
crc32c(const uint8_t *p, size_t n, const uint8_t *zero)
{
	uint32_t crc = 0xffffffff;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p + i >= zero && p + i < zero + 4 ? 0 : p[i];
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82f63b78 & (0 - (crc & 1)));
	}
	return ~crc;
}

static void
set_str(struct proxy_str *str, const uint8_t *v, size_t n)
{
	str->s = (const char *)v;
	str->len = n;
}

/* The value of a PP2_TYPE_SSL TLV, v[0..n). */
static int
v2_ssl(const uint8_t *v, size_t n, struct proxy_ssl *ssl)
{
	size_t off, l;

	if (n < 5)
		return -1;
	memset(ssl, 0, sizeof(*ssl));
	ssl->client = v[0];
	ssl->verify = be32(v + 1);
	for (off = 5; off < n; off += 3 + l) {
		if (n - off < 3 || (l = be16(v + off + 1)) > n - off - 3)
			return -1;
		switch (v[off]) {
		case PP2_SUBTYPE_SSL_VERSION:
			set_str(&ssl->version, v + off + 3, l);
			break;
		case PP2_SUBTYPE_SSL_CN:
			set_str(&ssl->cn, v + off + 3, l);
			break;
		case PP2_SUBTYPE_SSL_CIPHER:
			set_str(&ssl->cipher, v + off + 3, l);
			break;
		case PP2_SUBTYPE_SSL_SIG_ALG:
			set_str(&ssl->sig_alg, v + off + 3, l);
			break;
		case PP2_SUBTYPE_SSL_KEY_ALG:
			set_str(&ssl->key_alg, v + off + 3, l);
			break;
		}
	}
	return 0;
}

/* The TLVs of the header p[0..total), from off on. */
static int
v2_tlvs(const uint8_t *p, size_t off, size_t total, struct proxy_hdr *h)
{
	const uint8_t *v;
	size_t l;

	h->tlv = p + off;
	h->tlv_len = total - off;
	for (; off < total; off += 3 + l) {
		if (total - off < 3 ||
		    (l = be16(p + off + 1)) > total - off - 3)
			return PROXY_BAD;
		v = p + off + 3;
		switch (p[off]) {
		case PP2_TYPE_SSL:
			if (v2_ssl(v, l, &h->ssl) == -1)
				return PROXY_BAD;
			h->has_ssl = 1;
			break;
		case PP2_TYPE_AUTHORITY:
			set_str(&h->authority, v, l);
			break;
		case PP2_TYPE_ALPN:
			set_str(&h->alpn, v, l);
			break;
		case PP2_TYPE_CRC32C:
			if (l != 4 || crc32c(p, total, v) != be32(v))
				return PROXY_BAD;
			break;
		}
	}
	return 0;
}

static int
v2_parse(const uint8_t *p, size_t len, struct proxy_hdr *h)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&h->src;
	struct sockaddr_in *d4 = (struct sockaddr_in *)&h->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h->src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&h->dst;
	size_t total, alen;
	int cmd, fam, proto, ok;

	if (memcmp(p, v2_sig, len < V2_SIGLEN ? len : V2_SIGLEN) != 0)
		return PROXY_NOT_PROXY;
	if (len <= V2_SIGLEN)
		return PROXY_NEED_MORE;
	/* Version 2 only; commands LOCAL and PROXY only. */
	if ((p[12] & 0xf0) != V2_VERSION || (cmd = p[12] & 0x0f) > 1)
		return PROXY_BAD;
	if (len <= 13)
		return PROXY_NEED_MORE;
	/* A LOCAL header's family is ignored, whatever it is. */
	fam = p[13] >> 4;
	proto = p[13] & 0x0f;
	if (cmd == PROXY_CMD_PROXY && (fam > 3 || proto > 2))
		return PROXY_BAD;
	if (len < V2_HDRLEN)
		return PROXY_NEED_MORE;
	total = V2_HDRLEN + be16(p + 14);
	if (total > PROXY_V2_MAX)
		return PROXY_TOO_LONG;
	if (len < total)
		return PROXY_NEED_MORE;

	h->version = 2;
	h->command = cmd;
	h->family = AF_UNSPEC;
	h->socktype = 0;
	/* The size of the address block, when it is known. */
	ok = 1;
	switch (p[13]) {
	case 0x00:
		alen = 0;
		break;
	case 0x11:
	case 0x12:
		alen = 12;
		break;
	case 0x21:
	case 0x22:
		alen = 36;
		break;
	case 0x31:
	case 0x32:
		alen = 216;
		break;
	default:
		/* Unspecified protocol: an address block of unknown size. */
		ok = 0;
		alen = 0;
		break;
	}
	if (total - V2_HDRLEN < alen)
		return PROXY_BAD;
	if (cmd == PROXY_CMD_PROXY && ok && p[13] != 0x00) {
		h->family = fam == 1 ? AF_INET : fam == 2 ? AF_INET6 : AF_UNIX;
		h->socktype = proto == 1 ? SOCK_STREAM : SOCK_DGRAM;
	}
	if (h->family == AF_INET) {
		h->has_addr = 1;
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, p + 16, 4);
		memcpy(&d4->sin_addr, p + 20, 4);
		s4->sin_port = htons((uint16_t)be16(p + 24));
		d4->sin_port = htons((uint16_t)be16(p + 26));
	} else if (h->family == AF_INET6) {
		h->has_addr = 1;
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p + 16, 16);
		memcpy(&d6->sin6_addr, p + 32, 16);
		s6->sin6_port = htons((uint16_t)be16(p + 48));
		d6->sin6_port = htons((uint16_t)be16(p + 50));
	}
	if (ok && v2_tlvs(p, V2_HDRLEN + alen, total, h) != 0)
		return PROXY_BAD;
	return (int)total;
}

int
proxy_parse(const void *buf, size_t len, struct proxy_hdr *h)
{
	const uint8_t *p = buf;

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return PROXY_NEED_MORE;
	if (p[0] == 'P')
		return v1_parse(buf, len, h);
	if (p[0] == v2_sig[0])
		return v2_parse(p, len, h);
	return PROXY_NOT_PROXY;
}

/*
 * An IPv6 address as RFC 5952 writes it, hexadecimal groups only (the
 * form spec 2.1 names, never a dotted quad at the end): lowercase, no
 * leading zeros, the longest run of two or more zero groups, the first
 * of equals, as "::".
 */
static size_t
fmt6(char *out, const uint8_t *a)
{
	unsigned g[8];
	int i, best = -1, bestn = 1, run;
	size_t n = 0;

	for (i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8; i += run ? run : 1) {
		for (run = 0; i + run < 8 && g[i + run] == 0; run++)
			continue;
		if (run > bestn) {
			best = i;
			bestn = run;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			out[n++] = ':';
			if (i == 0)
				out[n++] = ':';
			i += bestn - 1;
			continue;
		}
		n += (size_t)sprintf(out + n, "%x", g[i]);
		if (i < 7)
			out[n++] = ':';
	}
	out[n] = '\0';
	return n;
}

/*
 * The family both src and dst can be given in (AF_INET, AF_INET6 or
 * AF_UNSPEC), with their addresses (IPv4-mapped when the other one is
 * IPv6) and ports in network order.
 */
static int
pair(const struct sockaddr *src, const struct sockaddr *dst,
    uint8_t sa[16], uint8_t da[16], uint16_t *sp, uint16_t *dp)
{
	const struct sockaddr *sock[2] = { src, dst };
	uint8_t *addr[2] = { sa, da };
	uint16_t *port[2] = { sp, dp };
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	int i, n4 = 0;

	for (i = 0; i < 2; i++) {
		if (sock[i] == NULL)
			return AF_UNSPEC;
		if (sock[i]->sa_family == AF_INET)
			n4++;
		else if (sock[i]->sa_family != AF_INET6)
			return AF_UNSPEC;
	}
	for (i = 0; i < 2; i++) {
		memset(addr[i], 0, 16);
		if (sock[i]->sa_family == AF_INET) {
			sin = (const struct sockaddr_in *)sock[i];
			if (n4 == 2)
				memcpy(addr[i], &sin->sin_addr, 4);
			else {
				addr[i][10] = addr[i][11] = 0xff;
				memcpy(addr[i] + 12, &sin->sin_addr, 4);
			}
			memcpy(port[i], &sin->sin_port, 2);
		} else {
			sin6 = (const struct sockaddr_in6 *)sock[i];
			memcpy(addr[i], &sin6->sin6_addr, 16);
			memcpy(port[i], &sin6->sin6_port, 2);
		}
	}
	return n4 == 2 ? AF_INET : AF_INET6;
}

int
proxy_v1_build(char *buf, size_t size, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	char line[PROXY_V1_MAX + 1], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	uint8_t sa[16], da[16];
	uint16_t sp, dp;
	int family, n;

	family = pair(src, dst, sa, da, &sp, &dp);
	if (family == AF_INET) {
		(void)inet_ntop(AF_INET, sa, s, sizeof(s));
		(void)inet_ntop(AF_INET, da, d, sizeof(d));
	} else if (family == AF_INET6) {
		fmt6(s, sa);
		fmt6(d, da);
	}
	if (family == AF_UNSPEC)
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	else
		n = snprintf(line, sizeof(line), "PROXY TCP%c %s %s %u %u\r\n",
		    family == AF_INET ? '4' : '6', s, d, (unsigned)ntohs(sp),
		    (unsigned)ntohs(dp));
	if (n < 0 || (size_t)n > size)
		return PROXY_NO_SPACE;
	memcpy(buf, line, (size_t)n);
	return n;
}

/* Append the TLV type, s[0..n) at *off, if s is given. */
static void
put_tlv(uint8_t *buf, size_t *off, int type, const char *s, size_t n)
{
	if (s == NULL)
		return;
	buf[*off] = (uint8_t)type;
	buf[*off + 1] = (uint8_t)(n >> 8);
	buf[*off + 2] = (uint8_t)n;
	memcpy(buf + *off + 3, s, n);
	*off += 3 + n;
}

static size_t
tlv_size(const struct proxy_str *str)
{
	/* Over PROXY_V2_MAX already: the total refuses it. */
	if (str->s == NULL)
		return 0;
	return str->len > PROXY_V2_MAX ? PROXY_V2_MAX + 1 : 3 + str->len;
}

int
proxy_v2_build(uint8_t *buf, size_t size, const struct sockaddr *src,
    const struct sockaddr *dst, const struct proxy_ssl *ssl)
{
	uint8_t sa[16], da[16];
	uint16_t sp, dp;
	size_t total, sslen = 0, off;
	int family;

	family = pair(src, dst, sa, da, &sp, &dp);
	total = V2_HDRLEN + (family == AF_INET ? 12 :
	    family == AF_INET6 ? 36 : 0);
	if (ssl != NULL) {
		sslen = 5 + tlv_size(&ssl->version) + tlv_size(&ssl->cn) +
		    tlv_size(&ssl->cipher) + tlv_size(&ssl->sig_alg) +
		    tlv_size(&ssl->key_alg);
		total += 3 + sslen;
	}
	if (total > PROXY_V2_MAX || total > size)
		return PROXY_NO_SPACE;

	memcpy(buf, v2_sig, V2_SIGLEN);
	buf[12] = V2_VERSION | PROXY_CMD_PROXY;
	buf[13] = family == AF_INET ? 0x11 : family == AF_INET6 ? 0x21 : 0x00;
	buf[14] = (uint8_t)((total - V2_HDRLEN) >> 8);
	buf[15] = (uint8_t)(total - V2_HDRLEN);
	off = V2_HDRLEN;
	if (family == AF_INET) {
		memcpy(buf + 16, sa, 4);
		memcpy(buf + 20, da, 4);
		memcpy(buf + 24, &sp, 2);
		memcpy(buf + 26, &dp, 2);
		off += 12;
	} else if (family == AF_INET6) {
		memcpy(buf + 16, sa, 16);
		memcpy(buf + 32, da, 16);
		memcpy(buf + 48, &sp, 2);
		memcpy(buf + 50, &dp, 2);
		off += 36;
	}
	if (ssl != NULL) {
		buf[off] = PP2_TYPE_SSL;
		buf[off + 1] = (uint8_t)(sslen >> 8);
		buf[off + 2] = (uint8_t)sslen;
		buf[off + 3] = ssl->client;
		buf[off + 4] = (uint8_t)(ssl->verify >> 24);
		buf[off + 5] = (uint8_t)(ssl->verify >> 16);
		buf[off + 6] = (uint8_t)(ssl->verify >> 8);
		buf[off + 7] = (uint8_t)ssl->verify;
		off += 8;
		put_tlv(buf, &off, PP2_SUBTYPE_SSL_VERSION, ssl->version.s,
		    ssl->version.len);
		put_tlv(buf, &off, PP2_SUBTYPE_SSL_CN, ssl->cn.s, ssl->cn.len);
		put_tlv(buf, &off, PP2_SUBTYPE_SSL_CIPHER, ssl->cipher.s,
		    ssl->cipher.len);
		put_tlv(buf, &off, PP2_SUBTYPE_SSL_SIG_ALG, ssl->sig_alg.s,
		    ssl->sig_alg.len);
		put_tlv(buf, &off, PP2_SUBTYPE_SSL_KEY_ALG, ssl->key_alg.s,
		    ssl->key_alg.len);
	}
	return (int)total;
}

int
proxy_v2_build_local(uint8_t *buf, size_t size)
{
	if (size < V2_HDRLEN)
		return PROXY_NO_SPACE;
	memcpy(buf, v2_sig, V2_SIGLEN);
	buf[12] = V2_VERSION | PROXY_CMD_LOCAL;
	buf[13] = 0x00;
	buf[14] = buf[15] = 0;
	return V2_HDRLEN;
}
