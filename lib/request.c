/*
 * The request stream: heads parsed strictly and rewritten, bodies
 * followed, every fault a refusal.
 */
#include <string.h>

#include "engine.h"

/* What one step of the feeder leaves to do. */
enum step {
	STEP_ON,	/* go on */
	STEP_HUNGRY,	/* more input is needed */
	STEP_BLOCKED,	/* output must drain, a response must come first,
			   or the requests stop */
	STEP_FAULT,	/* internal error: e->fault */
};

/* After a request: wait for the answer to an Upgrade or CONNECT. */
static enum rq_state
next_request(const struct engine *e)
{
	if (e->cfg->proxy && (exchange_last(&e->x) &
	    (EXCHANGE_UPGRADE | EXCHANGE_CONNECT)))
		return RQ_WAIT;
	return RQ_HEAD;
}

/* Rewrite and queue the parsed head of n bytes. */
static enum step
forward_head(struct engine *e, int n)
{
	struct flow *f = &e->rq;
	struct http1_req *req = &e->req;
	unsigned flags;
	int r, up;

	/* The rewrite appends to the request stream's own queue. */
	e->out.iov = f->iov;
	e->out.niov = f->niov;
	e->out.maxiov = f->maxiov;
	r = cookie_rewrite(e->cfg->ck, req, &e->out, &up);
	if (r == COOKIE_FULL) {
		if (f->niov > 0)
			return STEP_BLOCKED;	/* flush, then try again */
		e->fault = "rewrite space";
		return STEP_FAULT;
	}
	if (r == COOKIE_SPOOF) {
		engine_refuse(e, 400, "client sent our cookie or header", 0);
		return STEP_BLOCKED;
	}
	if (r == COOKIE_TOO_MANY) {
		engine_refuse(e, 431, "too many fields with ours", 0);
		return STEP_BLOCKED;
	}
	f->r += n;
	f->niov = e->out.niov;
	flags = (req->flags & HTTP1_HEAD ? EXCHANGE_HEAD : 0) |
	    (req->flags & HTTP1_CONNECT ? EXCHANGE_CONNECT : 0) |
	    (up ? EXCHANGE_UPGRADE : 0);
	exchange_sent(&e->x, flags);
	body_start(&e->rqb, req->body, req->content_length);
	e->rqs = e->rqb.st == BODY_IDLE ? next_request(e) : RQ_BODY;
	return STEP_ON;
}

static enum step
head(struct engine *e)
{
	struct flow *f = &e->rq;
	struct http1_req *req = &e->req;
	int n;

	if (f->r == f->w)
		return STEP_HUNGRY;
	if (e->cfg->proxy && exchange_full(&e->x))
		return STEP_BLOCKED;
	n = http1_parse_request(f->buf + f->r, f->w - f->r, e->last_len,
	    e->cfg->max_head, req);
	if (n == HTTP1_INCOMPLETE) {
		e->last_len = f->w - f->r;
		return STEP_HUNGRY;
	}
	e->last_len = 0;
	if (n < 0) {
		engine_refuse(e, req->status, req->why, 0);
		return STEP_BLOCKED;
	}
	if ((req->flags & HTTP1_CONNECT) && !e->cfg->allow_connect) {
		engine_refuse(e, 405, "CONNECT refused", 0);
		return STEP_BLOCKED;
	}
	return forward_head(e, n);
}

/*
 * A trailer field a backend that merges trailers into the header would
 * take from the client: ours, or one that frames or routes the request.
 */
static const char *
trailer_forbidden(const struct engine *e, const struct http1_field *f)
{
	if (cookie_field_forbidden(e->cfg->ck, f))
		return "Cookie or certificate field in the trailers";
	switch (f->kind) {
	case HTTP1_F_CONTENT_LENGTH:
	case HTTP1_F_TRANSFER_ENCODING:
	case HTTP1_F_HOST:
	case HTTP1_F_CONNECTION:
	case HTTP1_F_UPGRADE:
	case HTTP1_F_HTTP2_SETTINGS:
		return "framing or routing field in the trailers";
	default:
		return NULL;
	}
}

static enum step
trailers(struct engine *e)
{
	struct flow *f = &e->rq;
	const char *why;
	size_t nf;
	int n;

	n = http1_parse_trailers(f->buf + f->r, f->w - f->r,
	    e->cfg->max_head, e->req.fields, e->req.max_fields, &nf, &why);
	if (n == HTTP1_INCOMPLETE)
		return STEP_HUNGRY;
	if (n < 0) {
		engine_refuse(e, 400, why, 1);
		return STEP_BLOCKED;
	}
	while (nf-- > 0)
		if ((why = trailer_forbidden(e, &e->req.fields[nf])) != NULL) {
			engine_refuse(e, 400, why, 1);
			return STEP_BLOCKED;
		}
	flow_pass(f, n);
	body_end(&e->rqb);
	e->rqs = next_request(e);
	return STEP_ON;
}

static enum step
body(struct engine *e)
{
	const char *why = NULL;

	switch (body_follow(&e->rqb, &e->rq, &why)) {
	case BODY_MOVED:
		return STEP_ON;
	case BODY_MORE:
		return STEP_HUNGRY;
	case BODY_END:
		e->rqs = next_request(e);
		return STEP_ON;
	case BODY_AT_TRAILERS:
		return trailers(e);
	default:
		engine_refuse(e, 400, why, 1);
		return STEP_BLOCKED;
	}
}

/* One step in the current state. */
static enum step
step(struct engine *e)
{
	struct flow *f = &e->rq;

	if (!flow_room(f))
		return STEP_BLOCKED;
	switch (e->rqs) {
	case RQ_HEAD:
		return head(e);
	case RQ_BODY:
		return body(e);
	case RQ_TUNNEL:
		flow_pass(f, f->w - f->r);
		return STEP_BLOCKED;
	case RQ_WAIT:
	case RQ_STOP:
		break;
	}
	return STEP_BLOCKED;
}

/* What the response stream decided for the request stream. */
static void
sync(struct engine *e)
{
	if (e->x.halted)
		e->rqs = RQ_STOP;
	else if (e->x.tunnel)
		e->rqs = RQ_TUNNEL;
	else if (e->rqs == RQ_WAIT && !exchange_awaiting(&e->x, NULL))
		e->rqs = RQ_HEAD;	/* not switched */
}

int
engine_requests(struct engine *e)
{
	struct flow *f = &e->rq;
	enum rq_state st = e->rqs;
	enum body_state bst = e->rqb.st;
	size_t r = f->r, niov = f->niov;
	enum step s = STEP_BLOCKED;

	sync(e);
	/* Bytes in the pipe come before anything parsed after them. */
	if (f->inpipe == 0) {
		while ((s = step(e)) == STEP_ON)
			;
		if (s == STEP_FAULT)
			return -1;
		e->starved = s == STEP_HUNGRY;
	}
	return (st != e->rqs || bst != e->rqb.st || r != f->r ||
	    niov != f->niov ? ENGINE_MOVED : 0) |
	    (e->starved ? ENGINE_HUNGRY : 0);
}
