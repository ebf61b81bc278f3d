/*
 * Following a message body's framing (RFC 9112 section 6) over a flow:
 * counted bytes, chunks and their trailer section pass unchanged.  The
 * same follower serves requests and responses; each side decides what a
 * fault means and how the trailer section is read.
 */
#ifndef BODY_H
#define BODY_H

#include <stdint.h>

#include "flow.h"
#include "http1.h"

enum body_state {
	BODY_IDLE,		/* no body: the next head comes */
	BODY_LENGTH,		/* left bytes of a counted body */
	BODY_CHUNK_LINE,
	BODY_CHUNK_DATA,	/* left bytes of a chunk */
	BODY_CHUNK_CRLF,
	BODY_TRAILERS,
};

struct body {
	enum body_state	 st;
	uint64_t	 left;
};

/* body_follow() results. */
#define BODY_MOVED	0	/* a step was made: call again */
#define BODY_MORE	1	/* more input is needed */
#define BODY_END	2	/* the body is over: st is BODY_IDLE */
#define BODY_AT_TRAILERS 3	/* the caller reads the trailer section */
#define BODY_BAD	(-1)	/* malformed chunk framing: see *why */

/* Begin the body framed by kind (length bytes for HTTP1_BODY_LENGTH). */
void	body_start(struct body *b, enum http1_body kind, uint64_t length);

/* Are the next bytes counted ones, which need no look? */
int	body_counted(const struct body *b);

/* Take n counted bytes that went around the buffer (splice). */
void	body_took(struct body *b, uint64_t n);

/*
 * One step over f's buffered bytes, queueing what passes.  The caller
 * checks flow_room() before each call.
 */
int	body_follow(struct body *b, struct flow *f, const char **why);

/* The trailer section is passed: the body is over. */
void	body_end(struct body *b);

#endif
