/*
 * The connection engine: both streams, their waits, and where the
 * connection stands.
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "net.h"
#include "exits.h"

int
engine_init(struct engine *e, const struct engine_cfg *cfg)
{
	size_t rs_cap = cfg->max_head > 65536 ? cfg->max_head : 65536;
	size_t nf = cfg->ck->max_fields;
	/* A rewrite takes up to two iovecs a field, six more, and room. */
	size_t rq_iov = FLOW_MAXIOV > 2 * nf + 16 ? FLOW_MAXIOV : 2 * nf + 16;

	memset(e, 0, sizeof *e);
	e->cfg = cfg;
	if (flow_init(&e->rq, cfg->max_head + 64, rq_iov) == -1 ||
	    flow_init(&e->rs, rs_cap, FLOW_MAXIOV) == -1)
		return -1;
	if ((e->req.fields = calloc(nf, sizeof *e->req.fields)) == NULL)
		return -1;
	e->req.max_fields = nf;
	/* A rewritten head: at most the head's size twice, plus ours. */
	e->out.cap = cfg->max_head * 2 + 1024;
	if ((e->out.scratch = malloc(e->out.cap)) == NULL)
		return -1;
	engine_reset(e);
	return 0;
}

void
engine_free(struct engine *e)
{
	flow_free(&e->rq);
	flow_free(&e->rs);
	free(e->req.fields);
	free(e->out.scratch);
	e->req.fields = NULL;
	e->out.scratch = NULL;
}

void
engine_reset(struct engine *e)
{
	struct http1_field *fields;
	size_t nf;

	flow_reset(&e->rq);
	flow_reset(&e->rs);
	exchange_reset(&e->x);
	e->status = 0;
	e->fault = NULL;
	e->rqs = RQ_HEAD;
	body_end(&e->rqb);
	e->last_len = 0;
	/* The request's slices point into the last connection's bytes. */
	fields = e->req.fields;
	nf = e->req.max_fields;
	memset(&e->req, 0, sizeof e->req);
	e->req.fields = fields;
	e->req.max_fields = nf;
	e->out.iov = e->rq.iov;
	e->out.niov = 0;
	e->out.maxiov = e->rq.maxiov;
	e->out.used = 0;
	e->starved = 0;
	e->rss = RS_HEAD;
	body_end(&e->rsb);
	memset(e->errmsg, 0, sizeof e->errmsg);
	e->head_t0 = e->body_t0 = e->resp_t0 = 0;
}

void
engine_attach(struct engine *e, int client_in, int client_out, int backend)
{
	e->rq.in = client_in;
	if (backend == -1) {
		e->rq.out = client_out;
		return;
	}
	e->rq.out = backend;
	e->rs.in = backend;
	e->rs.out = client_out;
	e->rq.pipe_ok = e->rs.pipe_ok = 1;
}

int
engine_process(struct engine *e)
{
	int moved = 0, q, p;

	for (;;) {
		if ((q = engine_requests(e)) == -1)
			return -1;
		p = e->cfg->proxy ? engine_responses(e) : 0;
		if (!(q & ENGINE_MOVED) && !(p & ENGINE_MOVED))
			return moved;
		moved = 1;
	}
}

void
engine_refuse(struct engine *e, int status, const char *why, int abort)
{
	log_notef(e->cfg->log, 1, "request %llu: %d %s",
	    (unsigned long long)e->x.sent + 1 - abort, status, why);
	e->rqs = RQ_STOP;
	exchange_owe(&e->x, status, e->x.sent - (abort ? 1 : 0));
	if (e->status == 0)
		e->status = EX_DATAERR;
}

void
engine_requests_written(struct engine *e)
{
	e->out.used = 0;
}

/*
 * How many bytes may go from f->in to f->out without being looked at.
 * 0 when the next bytes must be parsed, or some are buffered already.
 */
static uint64_t
raw_bytes(const struct flow *f, const struct body *b, int counted,
    int unlimited)
{
	if (!f->pipe_ok || f->r != f->w || f->iov_first < f->niov)
		return 0;
	if (unlimited)
		return UINT64_MAX;
	return counted && body_counted(b) ? b->left : 0;
}

uint64_t
engine_raw_requests(const struct engine *e)
{
	return raw_bytes(&e->rq, &e->rqb, e->rqs == RQ_BODY,
	    e->rqs == RQ_TUNNEL);
}

uint64_t
engine_raw_responses(const struct engine *e)
{
	if (e->x.err_sent || (e->x.err_status && e->rss != RS_TUNNEL &&
	    e->rss != RS_CLOSE))
		return 0;
	return raw_bytes(&e->rs, &e->rsb, e->rss == RS_BODY,
	    e->rss == RS_CLOSE || e->rss == RS_TUNNEL);
}

ssize_t
engine_read_client(struct engine *e, uint64_t raw, uint64_t now)
{
	uint64_t spliced;
	ssize_t n;

	n = flow_take(&e->rq, raw, &spliced);
	if (spliced && e->rqs == RQ_BODY)
		body_took(&e->rqb, spliced);
	if (n == 0)
		e->rq.eof = 1;
	e->body_t0 = now;
	return n;
}

ssize_t
engine_read_backend(struct engine *e, uint64_t raw, uint64_t now)
{
	uint64_t spliced;
	ssize_t n;

	n = flow_take(&e->rs, raw, &spliced);
	if (spliced && e->rss == RS_BODY)
		body_took(&e->rsb, spliced);
	if (n == 0)
		e->rs.eof = 1;
	e->resp_t0 = now;
	return n;
}

/*
 * Is the client inside a request, between its first byte and its end,
 * with the parser waiting for more?
 */
static int
inside_request(const struct engine *e)
{
	if (!e->starved || e->rq.inpipe > 0)
		return 0;
	return e->rqs != RQ_HEAD || e->rq.r < e->rq.w;
}

/*
 * Is a response owed with every request before it sent whole?  Then
 * the backend, not the client, is the one keeping the connection.
 */
static int
awaiting_response(const struct engine *e)
{
	if (!exchange_awaiting(&e->x, NULL) || e->rs.eof || e->x.err_sent)
		return 0;
	if (e->rss == RS_CLOSE || e->rss == RS_TUNNEL)
		return 0;
	return !inside_request(e) && !flow_pending(&e->rq);
}

static uint64_t
ms(unsigned secs)
{
	return secs * 1000ull;
}

int
engine_wait_ms(struct engine *e, uint64_t now)
{
	const struct engine_cfg *c = e->cfg;
	uint64_t end = UINT64_MAX;
	int in = !e->rq.eof && inside_request(e);

	if (in && e->rqs == RQ_HEAD) {
		if (e->head_t0 == 0)
			e->head_t0 = now;
		end = e->head_t0 + ms(c->head_timeout);
	} else
		e->head_t0 = 0;
	if (in && e->rqs != RQ_HEAD) {
		if (e->body_t0 == 0)
			e->body_t0 = now;
		if (e->body_t0 + ms(c->body_timeout) < end)
			end = e->body_t0 + ms(c->body_timeout);
	}
	if (awaiting_response(e)) {
		if (e->resp_t0 == 0)
			e->resp_t0 = now;
		if (e->resp_t0 + ms(c->response_timeout) < end)
			end = e->resp_t0 + ms(c->response_timeout);
	} else
		e->resp_t0 = 0;
	if (end == UINT64_MAX)
		return -1;
	return end <= now ? 0 : end - now > INT_MAX ? INT_MAX :
	    (int)(end - now);
}

void
engine_backend_gone(struct engine *e)
{
	flow_drop(&e->rq);
	e->rq.shut = 1;
	e->rqs = RQ_STOP;
	exchange_halt(&e->x);
}

int
engine_expire(struct engine *e, uint64_t now)
{
	const struct engine_cfg *c = e->cfg;

	if (e->head_t0 && e->rqs == RQ_HEAD && !e->rq.eof &&
	    now >= e->head_t0 + ms(c->head_timeout)) {
		engine_refuse(e, 408, "request head timeout", 0);
		e->head_t0 = 0;
	}
	if (e->body_t0 && e->rqs != RQ_HEAD && !e->rq.eof &&
	    inside_request(e) && now >= e->body_t0 + ms(c->body_timeout)) {
		engine_refuse(e, 408, "request body timeout", 1);
		e->body_t0 = 0;
	}
	if (!e->resp_t0 || !awaiting_response(e) ||
	    now < e->resp_t0 + ms(c->response_timeout))
		return 0;
	log_notef(e->cfg->log, 1, "request %llu: backend response timeout",
	    (unsigned long long)e->x.answered + 1);
	e->status = EX_UNAVAILABLE;
	engine_backend_gone(e);
	e->rs.eof = 1;
	if (e->rss == RS_HEAD) {
		/* A part of a head: not for the client. */
		e->rs.r = e->rs.w;
		exchange_owe(&e->x, 504, e->x.answered);
	}
	e->resp_t0 = 0;
	return 1;
}

/* The backend ended inside a response: the rest passes as it came. */
static enum engine_verdict
cut_short(struct engine *e, const char *what)
{
	log_notef(e->cfg->log, 1, "the backend ended inside %s", what);
	e->rss = RS_CLOSE;
	if (e->status == 0)
		e->status = EX_UNAVAILABLE;
	return ENGINE_AGAIN;
}

enum engine_verdict
engine_verdict(struct engine *e, int *shut_backend)
{
	struct flow *q = &e->rq, *p = &e->rs;
	char what[64];

	*shut_backend = 0;
	/*
	 * The client's EOF, or a refused request, becomes the backend's
	 * EOF once everything before it is through.
	 */
	if (q->eof && inside_request(e)) {
		engine_refuse(e, 400, "end of input inside a request",
		    e->rqs != RQ_HEAD);
		return ENGINE_AGAIN;	/* the 400 may be due at once */
	}
	if (!q->shut && !flow_pending(q) && (e->rqs == RQ_STOP ||
	    (q->eof && q->r == q->w)))
		*shut_backend = q->shut = 1;
	/* Our error response is out: the connection is over. */
	if (e->x.err_sent && !flow_pending(p))
		return ENGINE_END;
	/*
	 * The client has ended and every request is answered: a backend
	 * that keeps its end open holds nothing of ours.
	 */
	if (q->shut && e->rqs != RQ_TUNNEL && !e->x.err_status &&
	    !exchange_awaiting(&e->x, NULL) && e->rss == RS_HEAD &&
	    p->r == p->w && !flow_pending(p))
		return ENGINE_END;
	if (!p->eof || flow_pending(p))
		return ENGINE_POLL;
	/* The client gets what came, as it came, and then the end. */
	if (e->rss == RS_BODY) {
		snprintf(what, sizeof what, "response %llu",
		    (unsigned long long)e->x.answered + 1);
		return cut_short(e, what);
	}
	if (e->rss == RS_HEAD && p->r < p->w)
		return cut_short(e, "a response head");
	if (p->r < p->w)
		return ENGINE_POLL;
	/* The backend is done: so is the client's side. */
	if (e->rss == RS_HEAD && exchange_awaiting(&e->x, NULL) &&
	    p->bytes == 0) {
		log_notef(e->cfg->log, 1, "backend closed without answering");
		return ENGINE_UNANSWERED;
	}
	return ENGINE_END;
}

static const char *
reason(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

size_t
engine_error_text(char *buf, size_t cap, int status)
{
	int n;

	n = snprintf(buf, cap, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s\n", status, reason(status),
	    strlen(reason(status)) + 1, reason(status));
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void
engine_answer_now(int fd, int status)
{
	char msg[256];
	size_t len = engine_error_text(msg, sizeof msg, status);
	ssize_t n;

	do
		n = write(fd, msg, len);
	while (n == -1 && errno == EINTR);
	net_shut(fd);
}
