/*
 * One direction of a connection: bytes read from an fd into a fixed
 * buffer, output queued as iovecs over that buffer (and over the
 * request rewrite's scratch area), written with writev(2); bytes that
 * need no look may go through a pipe with splice(2) instead.
 */
#ifndef FLOW_H
#define FLOW_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#define FLOW_MAXIOV	1024	/* iovecs of a flow, unless more are asked */

struct flow {
	int		 in, out;	/* fds, -1 when none */
	char		*buf;		/* input bytes in buf[r..w) */
	size_t		 cap, r, w;
	int		 eof;		/* input ended */
	int		 shut;		/* output shut down */
	struct iovec	*iov;		/* queued output */
	size_t		 iov_first, niov, maxiov;
	uint64_t	 bytes;		/* bytes read */
	int		 pp[2];		/* pipe for splice(2), or -1 */
	int		 pipe_ok;	/* one may be made and used */
	size_t		 inpipe;	/* bytes in it, not yet written */
};

/*
 * Allocate a flow's buffer of cap bytes and its maxiov iovecs.  Returns
 * 0, or -1 (errno).
 */
int	flow_init(struct flow *f, size_t cap, size_t maxiov);

/* Release what flow_init() allocated, and the splice pipe. */
void	flow_free(struct flow *f);

/*
 * Forget everything of a connection: bytes, queue, fds, end flags.  The
 * buffer stays; so does an empty splice pipe, a pipe with bytes left in
 * it is closed.
 */
void	flow_reset(struct flow *f);

/* Room for a few more iovecs?  Else output must drain first. */
int	flow_room(const struct flow *f);

/* Queue n bytes at base for output. */
void	flow_queue(struct flow *f, const void *base, size_t n);

/* Queue n buffered input bytes for output, unchanged, and consume them. */
void	flow_pass(struct flow *f, size_t n);

/* Is output queued or in the pipe? */
int	flow_pending(const struct flow *f);

/* Are n input bytes buffered? */
int	flow_have(const struct flow *f, size_t n);

/* Drop all queued output (the reader is gone). */
void	flow_drop(struct flow *f);

/*
 * Write queued iovecs.  Returns 0 when all are written, 1 when the fd
 * would block, -1 on error (errno).
 */
int	flow_flush(struct flow *f);

/* flow_flush(), then the pipe's bytes.  The same returns. */
int	flow_send(struct flow *f);

/* Once nothing refers to the buffer any more, move unread bytes down. */
void	flow_compact(struct flow *f);

/* Read into the buffer.  Returns bytes, 0 at EOF, -1 (errno). */
ssize_t	flow_fill(struct flow *f);

/*
 * Read from f->in without blocking: splice up to raw bytes into the
 * pipe when raw is not 0 and splice works (*spliced gets how many),
 * else buffer.  Returns bytes, 0 at EOF (or when the peer is gone), -2
 * when it would block, -1 (errno).
 */
ssize_t	flow_take(struct flow *f, uint64_t raw, uint64_t *spliced);

/*
 * Blocking mode: move up to want bytes straight from f->in to f->out
 * once both are ready.  Returns bytes, -2 to try again, -1 (errno;
 * EINVAL when these fds cannot splice).
 */
ssize_t	flow_splice_through(struct flow *f, size_t want);

#endif
