/* One direction of a connection: buffer, iovec queue, splice pipe. */
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cookie.h"
#include "flow.h"

#define SPLICE_MAX	(1 << 20)

int
flow_init(struct flow *f, size_t cap, size_t maxiov)
{
	memset(f, 0, sizeof *f);
	f->pp[0] = f->pp[1] = -1;
	f->cap = cap;
	f->maxiov = maxiov;
	if ((f->buf = malloc(cap)) == NULL ||
	    (f->iov = calloc(maxiov, sizeof *f->iov)) == NULL)
		return -1;
	flow_reset(f);
	return 0;
}

void
flow_free(struct flow *f)
{
	if (f->pp[0] != -1) {
		close(f->pp[0]);
		close(f->pp[1]);
		f->pp[0] = f->pp[1] = -1;
	}
	free(f->buf);
	free(f->iov);
	f->buf = NULL;
	f->iov = NULL;
}

void
flow_reset(struct flow *f)
{
	if (f->inpipe > 0 && f->pp[0] != -1) {
		close(f->pp[0]);
		close(f->pp[1]);
		f->pp[0] = f->pp[1] = -1;
	}
	f->in = f->out = -1;
	f->r = f->w = 0;
	f->eof = f->shut = 0;
	f->iov_first = f->niov = 0;
	f->bytes = 0;
	f->pipe_ok = 0;
	f->inpipe = 0;
}

int
flow_room(const struct flow *f)
{
	return f->niov + 8 < f->maxiov;
}

void
flow_queue(struct flow *f, const void *base, size_t n)
{
	cookie_iov_append(f->iov, &f->niov, base, n);
}

void
flow_pass(struct flow *f, size_t n)
{
	flow_queue(f, f->buf + f->r, n);
	f->r += n;
}

int
flow_pending(const struct flow *f)
{
	return f->iov_first < f->niov || f->inpipe > 0;
}

int
flow_have(const struct flow *f, size_t n)
{
	return f->w - f->r >= n;
}

void
flow_drop(struct flow *f)
{
	f->iov_first = f->niov = 0;
	f->inpipe = 0;
}

int
flow_flush(struct flow *f)
{
	while (f->iov_first < f->niov) {
		size_t cnt = f->niov - f->iov_first;
		ssize_t n;

		n = writev(f->out, f->iov + f->iov_first,
		    cnt > IOV_MAX ? IOV_MAX : (int)cnt);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;
			return -1;
		}
		while (n > 0) {
			struct iovec *v = &f->iov[f->iov_first];

			if ((size_t)n >= v->iov_len) {
				n -= v->iov_len;
				f->iov_first++;
			} else {
				v->iov_base = (char *)v->iov_base + n;
				v->iov_len -= n;
				n = 0;
			}
		}
	}
	f->iov_first = f->niov = 0;
	return 0;
}

/* Drain the pipe into f->out: 0 done, 1 would block, -1 error. */
static int
splice_out(struct flow *f)
{
	ssize_t n;

	while (f->inpipe > 0) {
		n = splice(f->pp[0], NULL, f->out, NULL, f->inpipe,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 1;
		if (n <= 0)
			return -1;
		f->inpipe -= n;
	}
	return 0;
}

int
flow_send(struct flow *f)
{
	int r = flow_flush(f);

	if (r == 0 && f->inpipe)
		r = splice_out(f);
	return r;
}

void
flow_compact(struct flow *f)
{
	if (f->r == 0)
		return;
	memmove(f->buf, f->buf + f->r, f->w - f->r);
	f->w -= f->r;
	f->r = 0;
}

ssize_t
flow_fill(struct flow *f)
{
	ssize_t n;

	do
		n = read(f->in, f->buf + f->w, f->cap - f->w);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		f->w += n;
		f->bytes += n;
	}
	return n;
}

static int
gone(int err)
{
	return err == EPIPE || err == ECONNRESET;
}

static ssize_t
fill_nb(struct flow *f)
{
	ssize_t n = flow_fill(f);

	if (n == -1 && errno == EAGAIN)
		return -2;
	if (n == -1 && gone(errno))
		n = 0;
	return n;
}

/* Move up to want bytes from f->in into the pipe.  As fill_nb(). */
static ssize_t
splice_in(struct flow *f, uint64_t want)
{
	ssize_t n;

	if (want > SPLICE_MAX)
		want = SPLICE_MAX;
	n = splice(f->in, NULL, f->pp[1], NULL, (size_t)want,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1 && errno == EAGAIN)
		return -2;
	if (n == -1 && gone(errno))
		n = 0;
	if (n > 0) {
		f->inpipe += n;
		f->bytes += n;
	}
	return n;
}

/*
 * The pipe, made when bytes first can go without a look: a small
 * request never needs one.
 */
static int
make_pipe(struct flow *f)
{
	if (pipe2(f->pp, O_CLOEXEC | O_NONBLOCK) == -1) {
		f->pp[0] = f->pp[1] = -1;
		return -1;
	}
	(void)fcntl(f->pp[1], F_SETPIPE_SZ, SPLICE_MAX);
	return 0;
}

ssize_t
flow_take(struct flow *f, uint64_t raw, uint64_t *spliced)
{
	ssize_t n;

	*spliced = 0;
	if (raw && (f->pp[0] != -1 || make_pipe(f) == 0)) {
		n = splice_in(f, raw);
		if (n > 0)
			*spliced = n;
		if (n != -1 || errno != EINVAL)
			return n;
		/* This pair of fds cannot splice. */
		close(f->pp[0]);
		close(f->pp[1]);
		f->pp[0] = f->pp[1] = -1;
	}
	/* No pipe, or no splice: buffer from now on. */
	if (raw)
		f->pipe_ok = 0;
	return fill_nb(f);
}

/* Wait until in has bytes, or its end, and out has room. */
static int
splice_ready(int in, int out)
{
	struct pollfd pfd[2] = {
		{ .fd = in, .events = POLLIN },
		{ .fd = out, .events = POLLOUT },
	};

	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd[0].revents && pfd[1].revents)
			return 0;
		/* Wait for the other one alone. */
		if (pfd[0].revents)
			pfd[0].fd = -1;
		if (pfd[1].revents)
			pfd[1].fd = -1;
		if (pfd[0].fd == -1 && pfd[1].fd == -1)
			return 0;
	}
}

ssize_t
flow_splice_through(struct flow *f, size_t want)
{
	ssize_t n;

	if (want > SPLICE_MAX)
		want = SPLICE_MAX;
	/*
	 * A blocking splice(2) from a socket into a pipe waits for data
	 * with the pipe locked, and then even a non-blocking reader of
	 * our output hangs in read(2).  Wait in poll(2), which holds no
	 * lock, and splice only what can move now.
	 */
	if (splice_ready(f->in, f->out) == -1)
		return -1;
	n = splice(f->in, NULL, f->out, NULL, want,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0)
		f->bytes += n;
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return -2;
	return n;
}
