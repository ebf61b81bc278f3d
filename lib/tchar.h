/*
 * Character classes of HTTP, RFC 9110 and 9112, as one const table
 * shared by the request parser and the cookie rewrite.
 */
#ifndef TCHAR_H
#define TCHAR_H

#define TCHAR_TOKEN	0x01	/* tchar: ALPHA DIGIT !#$%&'*+-.^_`|~ */
#define TCHAR_VALUE	0x02	/* field-vchar, SP, HTAB, obs-text */
#define TCHAR_TARGET	0x04	/* request-target: VCHAR */
#define TCHAR_HEX	0x08	/* HEXDIG, either case */

extern const unsigned char tchar_class[256];

/* Is byte c in any of the classes k? */
static inline int
tchar_is(int c, unsigned k)
{
	return tchar_class[(unsigned char)c] & k;
}

/* Is byte c a tchar, one that may appear in a token? */
static inline int
tchar_token(int c)
{
	return tchar_is(c, TCHAR_TOKEN);
}

#endif
