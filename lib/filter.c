/* Filter mode: requests from one fd to another, blocking. */
#include <errno.h>
#include <stdint.h>

#include "engine.h"
#include "exits.h"
#include "log.h"

/*
 * A body's bytes straight from input to output.  Returns 1 to go on, 0
 * to read instead (the input ended, or cannot splice), -1 on an error.
 */
static int
filter_splice(struct engine *e, int *splice_ok)
{
	ssize_t n;

	n = flow_splice_through(&e->rq, e->rqb.left > SIZE_MAX ? SIZE_MAX :
	    (size_t)e->rqb.left);
	if (n > 0)
		body_took(&e->rqb, n);
	if (n > 0 || n == -2)
		return 1;
	if (n == -1 && errno != EINVAL)
		return -1;
	if (n == -1)
		*splice_ok = 0;
	return 0;
}

int
engine_filter(struct engine *e, int splice_ok)
{
	struct flow *s = &e->rq;
	ssize_t n;
	int r;

	for (;;) {
		size_t r0 = s->r;
		int progress;

		if (engine_requests(e) == -1)
			return ENGINE_EFAULT;
		/*
		 * The feeder also stops when the iovec queue is full, with
		 * whole requests still buffered: read only once it has
		 * nothing left to do, or their end would look like a
		 * truncated request.
		 */
		progress = s->r != r0 || s->niov > 0;
		if (flow_flush(s) == -1)
			return e->fault = "write", ENGINE_EIO;
		engine_requests_written(e);
		if (e->rqs == RQ_STOP)
			return EX_DATAERR;
		flow_compact(s);
		if (progress)
			continue;
		if (s->r == s->w && e->rqs == RQ_BODY && e->rqb.left > 0 &&
		    body_counted(&e->rqb) && splice_ok &&
		    (r = filter_splice(e, &splice_ok)) != 0) {
			if (r == -1)
				return e->fault = "splice", ENGINE_EIO;
			continue;
		}
		if (s->w == s->cap) {
			/* Only a head can fill the buffer. */
			engine_refuse(e, 431, "request head too large", 0);
			continue;
		}
		if ((n = flow_fill(s)) == -1)
			return e->fault = "read", ENGINE_EIO;
		if (n == 0) {
			if (e->rqs == RQ_HEAD && s->r == s->w)
				return 0;
			log_notef(e->cfg->log, 1,
			    "end of input inside a request");
			return EX_DATAERR;
		}
	}
}
