/*
 * The connection engine of certcookie, without file descriptors of its
 * own: client-to-backend bytes are parsed as requests and rewritten;
 * backend-to-client bytes are followed as responses only to notice a
 * protocol switch and to place our error responses.
 *
 *	flow.h		one direction: buffer, iovec queue, splice pipe
 *	body.h		body framing, shared by requests and responses
 *	exchange.h	what both directions share
 *	engine.c	init and reset, process, timeouts, the verdict
 *	request.c	the request-stream feeder
 *	response.c	the response-stream feeder
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <sys/types.h>

#include <stdint.h>

#include "body.h"
#include "cookie.h"
#include "exchange.h"
#include "flow.h"
#include "http1.h"

struct engine_cfg {
	const struct cookie_cfg *ck;
	size_t		 max_head;	/* --max-header-bytes */
	int		 allow_connect;
	int		 proxy;		/* responses come back through us */
	unsigned	 head_timeout;	/* seconds */
	unsigned	 body_timeout;
	unsigned	 response_timeout;
	/* Where the engine's notes go (level 1 warning, 2 info, 3 debug). */
	void		(*log)(int level, const char *msg);
};

/* The request stream. */
enum rq_state {
	RQ_HEAD,	/* a request head comes next */
	RQ_BODY,	/* rqb follows its body */
	RQ_WAIT,	/* an Upgrade or CONNECT awaits its answer */
	RQ_TUNNEL,	/* bytes pass unparsed */
	RQ_STOP,	/* nothing more is forwarded */
};

/* The response stream. */
enum rs_state {
	RS_HEAD,	/* a response head comes next */
	RS_BODY,	/* rsb follows its body */
	RS_CLOSE,	/* bytes pass until the backend closes */
	RS_TUNNEL,	/* bytes pass unparsed */
};

struct engine {
	const struct engine_cfg *cfg;
	struct flow	 rq, rs;	/* client to backend, and back */
	struct exchange	 x;
	int		 status;	/* exit status so far */
	const char	*fault;		/* an internal error, for the log */

	enum rq_state	 rqs;
	struct body	 rqb;
	size_t		 last_len;	/* of an incomplete head */
	struct http1_req req;
	struct cookie_out out;		/* the rewrite, into rq's queue */
	int		 starved;	/* the request feeder wants input */

	enum rs_state	 rss;
	struct body	 rsb;
	char		 errmsg[256];	/* our error response */

	/* Monotonic ms when each wait began, 0 when not waiting. */
	uint64_t	 head_t0;	/* first byte of a request head */
	uint64_t	 body_t0;	/* last client bytes inside a body */
	uint64_t	 resp_t0;	/* last backend bytes, or sent */
};

/* Feeder results, as bits. */
#define ENGINE_MOVED	0x01	/* something changed */
#define ENGINE_HUNGRY	0x02	/* more input is needed */

/*
 * Allocate the buffers once, sized by cfg (kept, not copied), and reset.
 * Returns 0, or -1 (errno).
 */
int	engine_init(struct engine *e, const struct engine_cfg *cfg);

/* Release what engine_init() allocated. */
void	engine_free(struct engine *e);

/*
 * Forget the connection: every per-connection field is cleared, the
 * buffers stay.  The fds are set with engine_attach().
 */
void	engine_reset(struct engine *e);

/*
 * Give the engine its fds: requests from client_in go to backend (or to
 * client_out in filter mode, backend -1), responses from backend to
 * client_out.
 */
void	engine_attach(struct engine *e, int client_in, int client_out,
	    int backend);

/*
 * The feeders: turn buffered bytes of one stream into queued output as
 * far as they go.  Return ENGINE_* bits, or -1 on an internal fault
 * (e->fault).
 */
int	engine_requests(struct engine *e);
int	engine_responses(struct engine *e);

/*
 * Feed both streams until nothing moves: one stream's change (a refused
 * upgrade, a body done) can let the other go on.  Returns whether
 * anything moved, or -1 (e->fault).
 */
int	engine_process(struct engine *e);

/*
 * Refuse the current request: nothing of it is forwarded, the backend
 * gets EOF after the earlier requests, and the client gets status once
 * the earlier responses are through.  abort: part of the request
 * already went to the backend (a chunked body turned bad).
 */
void	engine_refuse(struct engine *e, int status, const char *why,
	    int abort);

/*
 * Filter mode, blocking: requests from the fd engine_attach() gave as
 * the client's input to its output, bodies by splice(2) when an end is
 * a pipe, until the input ends.  Returns the exit status (0, or
 * EX_DATAERR after a bad or truncated request), ENGINE_EFAULT (e->fault
 * says what) or ENGINE_EIO (e->fault names the call, errno why).
 */
#define ENGINE_EFAULT	(-1)
#define ENGINE_EIO	(-2)
int	engine_filter(struct engine *e, int splice_ok);

/* The request's output is written: the rewrite's scratch is free. */
void	engine_requests_written(struct engine *e);

/*
 * How many bytes may go from a stream's input to its output without a
 * look (body data, a tunnel): 0 when the next bytes must be parsed.
 */
uint64_t engine_raw_requests(const struct engine *e);
uint64_t engine_raw_responses(const struct engine *e);

/*
 * Read from the client or the backend (raw as above), at monotonic
 * time now (ms).  Returns as flow_take(); the end of input is noted.
 */
ssize_t	engine_read_client(struct engine *e, uint64_t raw, uint64_t now);
ssize_t	engine_read_backend(struct engine *e, uint64_t raw, uint64_t now);

/*
 * Start or stop the clocks of the waits that are on at now.  Returns
 * the poll(2) timeout until the first of them ends, in ms, or -1.
 */
int	engine_wait_ms(struct engine *e, uint64_t now);

/*
 * Act on the waits that are over at now: a slow head gets 408 after the
 * earlier responses, a stalled body is cut as a bad chunk would be, a
 * silent backend gets the client a 504.  Returns 1 when the backend
 * is to be cut off (both directions), else 0.
 */
int	engine_expire(struct engine *e, uint64_t now);

/* The backend no longer reads: stop forwarding. */
void	engine_backend_gone(struct engine *e);

enum engine_verdict {
	ENGINE_AGAIN,		/* a state changed: process again */
	ENGINE_POLL,		/* wait for the fds */
	ENGINE_END,		/* shut the client's side, end with status */
	ENGINE_UNANSWERED,	/* the backend closed without a byte: 502 */
};

/*
 * Proxy mode, once nothing moves: where do the streams stand?
 * *shut_backend is set when the backend is to get EOF now.
 */
enum engine_verdict engine_verdict(struct engine *e, int *shut_backend);

/* Write our complete error response for status into buf.  Its length. */
size_t	engine_error_text(char *buf, size_t cap, int status);

/*
 * Answer status to the client on fd at once, outside the engine (the
 * backend could not be reached: 502, or not in time: 504), then shut
 * down writing.  Best effort: the client may be gone.
 */
void	engine_answer_now(int fd, int status);

#endif
