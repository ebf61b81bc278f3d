/* What the request and response streams of a connection share. */
#include <string.h>

#include "exchange.h"

void
exchange_reset(struct exchange *x)
{
	memset(x, 0, sizeof *x);
}

int
exchange_full(const struct exchange *x)
{
	return x->sent - x->answered >= EXCHANGE_MAX;
}

void
exchange_sent(struct exchange *x, unsigned flags)
{
	x->flags[x->sent % EXCHANGE_MAX] = flags;
	x->sent++;
}

unsigned
exchange_last(const struct exchange *x)
{
	return x->sent ? x->flags[(x->sent - 1) % EXCHANGE_MAX] : 0;
}

int
exchange_awaiting(const struct exchange *x, unsigned *flags)
{
	if (x->answered >= x->sent)
		return 0;
	if (flags != NULL)
		*flags = x->flags[x->answered % EXCHANGE_MAX];
	return 1;
}

void
exchange_answered(struct exchange *x)
{
	x->answered++;
}

void
exchange_owe(struct exchange *x, int status, uint64_t at)
{
	x->err_status = status;
	x->err_at = at;
	x->halted = 1;
}

int
exchange_error_due(const struct exchange *x)
{
	return x->err_status && !x->err_sent && x->answered >= x->err_at;
}

void
exchange_error_sent(struct exchange *x)
{
	x->err_sent = 1;
}

void
exchange_tunnel(struct exchange *x)
{
	x->tunnel = 1;
}

void
exchange_halt(struct exchange *x)
{
	x->halted = 1;
}
