/* tlsfront: placeholder until the real program lands. */
#include <stdio.h>

int
main(void)
{
	fputs("tlsfront: under construction\n", stderr);
	return 70;
}
