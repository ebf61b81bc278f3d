/*
 * What the request and response streams of a connection share: the
 * requests sent and answered with each one's flags, the error response
 * owed to the client, and whether the connection became a tunnel or
 * takes no more requests.  Changed only through these functions.
 */
#ifndef EXCHANGE_H
#define EXCHANGE_H

#include <stdint.h>

#define EXCHANGE_MAX	256	/* requests awaiting their response */

/* Request flags. */
#define EXCHANGE_HEAD		0x01	/* its response has no body */
#define EXCHANGE_CONNECT	0x02	/* a 2xx makes a tunnel */
#define EXCHANGE_UPGRADE	0x04	/* a 101 makes a tunnel */

struct exchange {
	unsigned char	 flags[EXCHANGE_MAX];	/* of each request awaiting */
	uint64_t	 sent, answered;
	int		 err_status;	/* error response owed, or 0 */
	uint64_t	 err_at;	/* due once this many are answered */
	int		 err_sent;
	int		 tunnel;	/* bytes pass unparsed both ways */
	int		 halted;	/* no more requests are forwarded */
};

void	exchange_reset(struct exchange *x);

/* Are EXCHANGE_MAX requests awaiting their response? */
int	exchange_full(const struct exchange *x);

/* A request with flags went to the backend. */
void	exchange_sent(struct exchange *x, unsigned flags);

/* The flags of the request sent last. */
unsigned exchange_last(const struct exchange *x);

/*
 * Does a request await its response?  Then *flags (unless NULL) gets
 * the flags of the oldest.
 */
int	exchange_awaiting(const struct exchange *x, unsigned *flags);

/* The oldest request awaiting is answered. */
void	exchange_answered(struct exchange *x);

/*
 * The client is owed status once the first at requests are answered;
 * nothing more is forwarded.
 */
void	exchange_owe(struct exchange *x, int status, uint64_t at);

/* Is the error response owed now? */
int	exchange_error_due(const struct exchange *x);

/* The error response is on its way: the client gets nothing after it. */
void	exchange_error_sent(struct exchange *x);

/* A 101 or a 2xx to CONNECT: the bytes pass unparsed from now on. */
void	exchange_tunnel(struct exchange *x);

/* No more requests go to the backend (a response nobody asked for). */
void	exchange_halt(struct exchange *x);

#endif
