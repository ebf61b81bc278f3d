/* sha256(): FIPS 180-4 vectors, every length against GnuTLS. */
#include <gnutls/crypto.h>

#include "sha256.h"
#include "unit.h"

static int
eq_hex(const unsigned char *d, const char *hex)
{
	char buf[2 * SHA256_LEN + 1];
	int i;

	for (i = 0; i < SHA256_LEN; i++)
		snprintf(buf + 2 * i, 3, "%02x", d[i]);
	return strcmp(buf, hex) == 0;
}

int
main(void)
{
	static unsigned char big[1000000];
	unsigned char d[SHA256_LEN], want[SHA256_LEN], src[300];
	void *map;
	size_t maplen, n;
	char *g;

	sha256("", 0, d);
	CHECK(eq_hex(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "empty");
	sha256("abc", 3, d);
	CHECK(eq_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "abc");
	sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
	CHECK(eq_hex(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "448 bits");
	memset(big, 'a', sizeof big);
	sha256(big, sizeof big, d);
	CHECK(eq_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "a million a");
	for (n = 0; n < sizeof src; n++)
		src[n] = (unsigned char)(n * 13 + 1);
	for (n = 0; n <= sizeof src; n++) {
		g = guard_copy(src, n, &map, &maplen);
		sha256(g, n, d);
		gnutls_hash_fast(GNUTLS_DIG_SHA256, src, n, want);
		CHECK(memcmp(d, want, sizeof d) == 0, "length %zu", n);
		guard_free(map, maplen);
	}
	return unit_done("sha256");
}
