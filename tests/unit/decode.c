/* decode_base64(): RFC 4648 vectors, round trips, junk refused. */
#include <stdint.h>

#include "encode.h"
#include "unit.h"

static void
vector(const char *in, const char *want)
{
	unsigned char out[64];
	void *map;
	size_t maplen;
	char *g = guard_copy(in, strlen(in), &map, &maplen);
	ssize_t n = decode_base64(out, g, strlen(in));

	CHECK(n == (ssize_t)strlen(want) && memcmp(out, want, n) == 0,
	    "decode(\"%s\") = %zd", in, n);
	guard_free(map, maplen);
}

static void
refused(const char *in)
{
	unsigned char out[64];

	CHECK(decode_base64(out, in, strlen(in)) == -1, "\"%s\" accepted", in);
}

int
main(void)
{
	unsigned char src[300], back[300];
	char enc[ENCODE_B64_LEN(300) + 1];
	size_t n, i;
	ssize_t m;

	vector("", "");
	vector("Zg==", "f");
	vector("Zm8=", "fo");
	vector("Zm9v", "foo");
	vector("Zm9vYg==", "foob");
	vector("Zm9vYmE=", "fooba");
	vector("Zm9vYmFy", "foobar");
	vector("Zm9v\r\nYmFy\n", "foobar");
	vector(" Zm 9v\tYg= =", "foob");
	refused("Zm9v!");
	refused("Zm9v-_");		/* the URL alphabet is not PEM's */
	refused("Zg==Zg==");		/* data after padding */
	refused("Zh==");		/* non-zero padding bits */
	refused("Z");			/* a lone digit */
	for (i = 0; i < sizeof src; i++)
		src[i] = (unsigned char)(i * 7 + 3);
	for (n = 0; n <= sizeof src; n++) {
		encode_base64(enc, src, n, ENCODE_B64_STD);
		m = decode_base64(back, enc, strlen(enc));
		CHECK(m == (ssize_t)n && memcmp(back, src, n) == 0,
		    "round trip of %zu bytes", n);
	}
	return unit_done("decode");
}
