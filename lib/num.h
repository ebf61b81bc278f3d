/* Numbers in options. */
#ifndef NUM_H
#define NUM_H

/*
 * Parse s, decimal digits only, as a number from min to max into *out.
 * Returns 0, or -1 (empty, a sign, white space, trailing bytes, out of
 * range).
 */
int	num_parse(const char *s, unsigned long long min,
	    unsigned long long max, unsigned long long *out);

#endif
