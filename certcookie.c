/* certcookie: placeholder until the real program lands. */
#include <stdio.h>

int
main(void)
{
	fputs("certcookie: under construction\n", stderr);
	return 70;
}
