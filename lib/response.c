/*
 * The response stream: heads parsed leniently, as far as the framing
 * goes, to notice a protocol switch and to place our error response
 * between two responses.  A fault here only makes the rest pass as it
 * comes, until the backend closes.
 */
#include <string.h>

#include "engine.h"
#include "exits.h"

static void
note(const struct engine *e, int level, const char *msg)
{
	if (e->cfg->log)
		e->cfg->log(level, msg);
}

/*
 * Is the error response owed now?  Once the responses before it are
 * through, or once the backend has ended between two responses.
 */
static int
error_due(const struct engine *e)
{
	const struct flow *f = &e->rs;

	if (e->rss != RS_HEAD || !e->x.err_status || e->x.err_sent)
		return 0;
	return exchange_error_due(&e->x) || (f->eof && f->r == f->w &&
	    !f->inpipe);
}

/* A 101: a tunnel if an Upgrade asked for it, else the end. */
static int
switched(struct engine *e, unsigned flags)
{
	exchange_answered(&e->x);
	if (!(flags & EXCHANGE_UPGRADE)) {
		note(e, 1, "101 without an Upgrade request: closing");
		e->status = EX_UNAVAILABLE;
		e->rss = RS_CLOSE;
		exchange_halt(&e->x);
		e->rs.eof = 1;
		return 0;
	}
	note(e, 3, "protocol switched");
	e->rss = RS_TUNNEL;
	exchange_tunnel(&e->x);
	return 1;
}

/* Returns 1 to go on, 0 when more input is needed or the stream ends. */
static int
head(struct engine *e)
{
	struct flow *f = &e->rs;
	struct http1_resp resp;
	unsigned flags;
	int n;

	if (f->r == f->w)
		return 0;
	if (!exchange_awaiting(&e->x, &flags)) {
		/* Nothing asked for this: pass it all. */
		e->rss = RS_CLOSE;
		return 1;
	}
	n = http1_parse_response(f->buf + f->r, f->w - f->r, f->cap,
	    flags & EXCHANGE_HEAD, &resp);
	if (n == HTTP1_INCOMPLETE)
		return 0;
	if (n < 0) {
		note(e, 1, "unframeable response: relaying until the "
		    "backend closes");
		e->rss = RS_CLOSE;
		return 1;
	}
	flow_pass(f, n);
	if (resp.status == 101)
		return switched(e, flags);
	if (resp.status < 200)
		return 1;	/* interim */
	exchange_answered(&e->x);
	if ((flags & EXCHANGE_CONNECT) && resp.status < 300) {
		e->rss = RS_TUNNEL;
		exchange_tunnel(&e->x);
		return 1;
	}
	body_start(&e->rsb, resp.body, resp.content_length);
	if (resp.body == HTTP1_BODY_CLOSE)
		e->rss = RS_CLOSE;
	else if (e->rsb.st != BODY_IDLE)
		e->rss = RS_BODY;
	return 1;
}

/* Trailer lines up to the empty one, leniently. */
static int
trailers(struct engine *e)
{
	struct flow *f = &e->rs;
	const char *b = f->buf + f->r, *lf;
	size_t avail = f->w - f->r, off = 0, n;

	for (;;) {
		lf = memchr(b + off, '\n', avail - off);
		if (lf == NULL) {
			if (avail >= f->cap)
				e->rss = RS_CLOSE;
			return 0;
		}
		n = lf - (b + off);
		off = lf + 1 - b;
		if (n == 0 || (n == 1 && lf[-1] == '\r'))
			break;
	}
	flow_pass(f, off);
	body_end(&e->rsb);
	e->rss = RS_HEAD;
	return 1;
}

static int
body(struct engine *e)
{
	const char *why;

	switch (body_follow(&e->rsb, &e->rs, &why)) {
	case BODY_MOVED:
		return 1;
	case BODY_MORE:
		return 0;
	case BODY_END:
		e->rss = RS_HEAD;
		return 1;
	case BODY_AT_TRAILERS:
		return trailers(e);
	default:
		e->rss = RS_CLOSE;
		return 1;
	}
}

static int
step(struct engine *e)
{
	struct flow *f = &e->rs;

	if (!flow_room(f))
		return 0;
	if (error_due(e)) {
		flow_queue(f, e->errmsg, engine_error_text(e->errmsg,
		    sizeof e->errmsg, e->x.err_status));
		exchange_error_sent(&e->x);
		return 0;
	}
	if (e->x.err_sent)
		return 0;
	switch (e->rss) {
	case RS_HEAD:
		return head(e);
	case RS_BODY:
		return body(e);
	case RS_CLOSE:
	case RS_TUNNEL:
		flow_pass(f, f->w - f->r);
		break;
	}
	return 0;
}

int
engine_responses(struct engine *e)
{
	struct flow *f = &e->rs;
	enum rs_state st = e->rss;
	enum body_state bst = e->rsb.st;
	size_t r = f->r, niov = f->niov;

	/* Bytes in the pipe come before anything parsed after them. */
	if (f->inpipe == 0)
		while (step(e))
			;
	return st != e->rss || bst != e->rsb.st || r != f->r ||
	    niov != f->niov ? ENGINE_MOVED : 0;
}
