/*
 * libFuzzer target: parse the input as a PROXY header.  A result is an
 * error code or a length within the input; a header's strict prefixes
 * need more bytes; its slices lie inside it; its addresses and SSL TLV,
 * written again by the builders, parse back the same.  Anything else
 * aborts.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define REQUIRE(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz/proxyproto: %s:%d: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

/* s is absent, or a slice of data[0..n). */
static void
inside(struct proxy_str s, const uint8_t *data, size_t n)
{
	const uint8_t *p = (const uint8_t *)s.s;

	if (p == NULL)
		return;
	REQUIRE(p >= data && p <= data + n && s.len <= (size_t)(data + n - p));
}

static int
same_str(struct proxy_str a, struct proxy_str b)
{
	if (a.s == NULL || b.s == NULL)
		return a.s == b.s;
	return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

/* The address and port of a and b are the same. */
static int
same_sa(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    memcmp(&a4->sin_addr, &b4->sin_addr, 4) == 0;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
}

static void
rebuild(const struct proxy_hdr *h)
{
	static uint8_t out[PROXY_V2_MAX];
	struct proxy_hdr h2;
	int n;

	n = proxy_v1_build((char *)out, sizeof(out),
	    (const struct sockaddr *)&h->src,
	    (const struct sockaddr *)&h->dst);
	REQUIRE(n > 0 && n <= PROXY_V1_MAX);
	REQUIRE(proxy_parse(out, (size_t)n, &h2) == n);
	REQUIRE(h2.has_addr && h2.family == h->family);
	REQUIRE(same_sa(&h2.src, &h->src) && same_sa(&h2.dst, &h->dst));

	n = proxy_v2_build(out, sizeof(out), (const struct sockaddr *)&h->src,
	    (const struct sockaddr *)&h->dst, h->has_ssl ? &h->ssl : NULL);
	if (n == PROXY_NO_SPACE)
		return;		/* the SSL TLV with the addresses is too long */
	REQUIRE(n > 0);
	REQUIRE(proxy_parse(out, (size_t)n, &h2) == n);
	REQUIRE(h2.has_addr && h2.family == h->family);
	REQUIRE(same_sa(&h2.src, &h->src) && same_sa(&h2.dst, &h->dst));
	REQUIRE(h2.has_ssl == h->has_ssl);
	if (h->has_ssl) {
		REQUIRE(h2.ssl.client == h->ssl.client);
		REQUIRE(h2.ssl.verify == h->ssl.verify);
		REQUIRE(same_str(h2.ssl.version, h->ssl.version));
		REQUIRE(same_str(h2.ssl.cn, h->ssl.cn));
		REQUIRE(same_str(h2.ssl.cipher, h->ssl.cipher));
		REQUIRE(same_str(h2.ssl.sig_alg, h->ssl.sig_alg));
		REQUIRE(same_str(h2.ssl.key_alg, h->ssl.key_alg));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr h, t;
	size_t n, i;
	int r;

	r = proxy_parse(data, size, &h);
	REQUIRE(r >= PROXY_TOO_LONG);
	if (r <= 0)
		return 0;
	n = (size_t)r;
	REQUIRE(n <= size);
	REQUIRE(h.version == 1 || h.version == 2);
	REQUIRE(n <= (h.version == 1 ? PROXY_V1_MAX : PROXY_V2_MAX));
	REQUIRE(h.command == PROXY_CMD_LOCAL || h.command == PROXY_CMD_PROXY);
	/* The header is the same with anything behind it or nothing. */
	REQUIRE(proxy_parse(data, n, &t) == r);
	/* Every strict prefix needs more: the last bytes, a few others. */
	for (i = n > 8 ? n - 8 : 0; i < n; i++)
		REQUIRE(proxy_parse(data, i, &t) == PROXY_NEED_MORE);
	for (i = 0; i < n; i += n / 16 + 1)
		REQUIRE(proxy_parse(data, i, &t) == PROXY_NEED_MORE);
	if (h.tlv != NULL)
		REQUIRE(h.tlv >= data && h.tlv + h.tlv_len == data + n);
	inside(h.authority, data, n);
	inside(h.alpn, data, n);
	inside(h.ssl.version, data, n);
	inside(h.ssl.cn, data, n);
	inside(h.ssl.cipher, data, n);
	inside(h.ssl.sig_alg, data, n);
	inside(h.ssl.key_alg, data, n);
	if (h.has_addr) {
		REQUIRE(h.family == AF_INET || h.family == AF_INET6);
		REQUIRE(h.src.ss_family == h.family &&
		    h.dst.ss_family == h.family);
		rebuild(&h);
	}
	return 0;
}
