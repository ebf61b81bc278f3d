/* SHA-256 (FIPS 180-4), for certificate fingerprints without GnuTLS. */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>

#define SHA256_LEN	32

/* The digest of p[0..n) into out. */
void	sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);

#endif
