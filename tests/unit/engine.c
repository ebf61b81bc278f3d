/*
 * Unit tests of the connection engine (lib/engine.h) without a file
 * descriptor: bytes go straight into its buffers, output is taken from
 * its iovec queues.  Every scenario runs with its bytes split in every
 * way from one byte at a time to all at once, and must give the same
 * output and the same end state each time.
 */
#include <stdarg.h>

#include "engine.h"
#include "unit.h"

#define ADD	"CERT=abc"

struct event {
	char		 dir;	/* 'q' client bytes, 's' backend bytes */
	const char	*bytes;
};

/* What a scenario must leave behind. */
struct expect {
	const char	*backend;	/* bytes the backend got */
	const char	*client;	/* bytes the client got */
	enum rq_state	 rqs;
	enum rs_state	 rss;
	uint64_t	 sent, answered;
	int		 err_status, err_sent, status;
};

struct scenario {
	const char	*name;
	int		 proxy;
	struct event	 ev[8];
	struct expect	 want;
};

#define REQ(extra)	"GET / HTTP/1.1\r\nHost: a\r\n" extra "\r\n"
#define OUTREQ(extra)	"GET / HTTP/1.1\r\nHost: a\r\n" extra \
			    "Cookie: " ADD "\r\n\r\n"
#define ERR400	"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n" \
		"Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n"

static const struct scenario scenarios[] = {
	{ "content-length body, pipelined", 0, {
	    { 'q', "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
		"hello" REQ("") } },
	    { "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
		"Cookie: " ADD "\r\n\r\nhello" OUTREQ(""), "",
		RQ_HEAD, RS_HEAD, 2, 0, 0, 0, 0 } },
	{ "chunked body with trailers", 0, {
	    { 'q', "POST / HTTP/1.1\r\nHost: a\r\n"
		"Transfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n"
		"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n" REQ("") } },
	    { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		"Cookie: " ADD "\r\n\r\n5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\n"
		"X-T: 1\r\n\r\n" OUTREQ(""), "",
		RQ_HEAD, RS_HEAD, 2, 0, 0, 0, 0 } },
	{ "refused head: the error after the earlier responses", 1, {
	    { 'q', REQ("") "GET / HTTP/1.1\r\nHost: a\r\nBad Field: x\r\n\r\n"
		REQ("") },
	    { 's', "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" } },
	    { OUTREQ(""), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		ERR400, RQ_STOP, RS_HEAD, 1, 1, 400, 1, 65 } },
	{ "bad chunk: abort, the error at once", 1, {
	    { 'q', "POST / HTTP/1.1\r\nHost: a\r\n"
		"Transfer-Encoding: chunked\r\n\r\n2\r\nabXY" } },
	    { "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		"Cookie: " ADD "\r\n\r\n2\r\nab", ERR400,
		RQ_STOP, RS_HEAD, 1, 0, 400, 1, 65 } },
	{ "responses by length, chunked, to HEAD, after 1xx", 1, {
	    { 'q', REQ("") "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n" REQ("")
		REQ("") },
	    { 's', "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
		"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
		"HTTP/1.1 100 Continue\r\n\r\n"
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3\r\nabc\r\n0\r\nT: 1\r\n\r\n"
		"HTTP/1.1 204 No Content\r\n\r\n" } },
	    { OUTREQ("") "HEAD / HTTP/1.1\r\nHost: a\r\nCookie: " ADD
		"\r\n\r\n" OUTREQ("") OUTREQ(""),
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
		"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
		"HTTP/1.1 100 Continue\r\n\r\n"
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3\r\nabc\r\n0\r\nT: 1\r\n\r\n"
		"HTTP/1.1 204 No Content\r\n\r\n",
		RQ_HEAD, RS_HEAD, 4, 4, 0, 0, 0 } },
	{ "close-delimited response", 1, {
	    { 'q', REQ("") },
	    { 's', "HTTP/1.1 200 OK\r\n\r\nall of it HTTP/1.1 200 OK\r\n" } },
	    { OUTREQ(""), "HTTP/1.1 200 OK\r\n\r\nall of it HTTP/1.1 200 OK"
		"\r\n", RQ_HEAD, RS_CLOSE, 1, 1, 0, 0, 0 } },
	{ "101: both ways a tunnel, nothing parsed", 1, {
	    { 'q', REQ("Connection: upgrade\r\nUpgrade: websocket\r\n")
		"GET /held HTTP/1.1\r\nHost: a\r\n\r\n" },
	    { 's', "HTTP/1.1 101 Switching Protocols\r\n\r\nxyz" },
	    { 'q', "\x81\x00 not HTTP" } },
	    { OUTREQ("Connection: upgrade\r\nUpgrade: websocket\r\n")
		"GET /held HTTP/1.1\r\nHost: a\r\n\r\n\x81\x00 not HTTP",
		"HTTP/1.1 101 Switching Protocols\r\n\r\nxyz",
		RQ_TUNNEL, RS_TUNNEL, 1, 1, 0, 0, 0 } },
	{ "upgrade refused: requests go on", 1, {
	    { 'q', REQ("Connection: upgrade\r\nUpgrade: websocket\r\n")
		REQ("") },
	    { 's', "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" } },
	    { OUTREQ("Connection: upgrade\r\nUpgrade: websocket\r\n")
		OUTREQ(""), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		RQ_HEAD, RS_HEAD, 2, 1, 0, 0, 0 } },
	{ "CONNECT 2xx: a tunnel", 1, {
	    { 'q', "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nhidden" },
	    { 's', "HTTP/1.1 200 OK\r\n\r\nback" } },
	    { "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nCookie: " ADD
		"\r\n\r\nhidden", "HTTP/1.1 200 OK\r\n\r\nback",
		RQ_TUNNEL, RS_TUNNEL, 1, 1, 0, 0, 0 } },
	{ "101 nobody asked for: the end", 1, {
	    { 'q', REQ("") },
	    { 's', "HTTP/1.1 101 Switching Protocols\r\n\r\n" } },
	    { OUTREQ(""), "HTTP/1.1 101 Switching Protocols\r\n\r\n",
		RQ_STOP, RS_CLOSE, 1, 1, 0, 0, 69 } },
};

/* A growing byte string. */
struct bytes {
	char	 b[8192];
	size_t	 len;
};

static void
take(struct flow *f, struct bytes *out)
{
	size_t i;

	for (i = f->iov_first; i < f->niov; i++) {
		if (out->len + f->iov[i].iov_len > sizeof out->b)
			abort();
		memcpy(out->b + out->len, f->iov[i].iov_base,
		    f->iov[i].iov_len);
		out->len += f->iov[i].iov_len;
	}
	f->iov_first = f->niov = 0;
}

/* Write what both flows queued, as a writer that never blocks. */
static void
drain(struct engine *e, struct bytes *backend, struct bytes *client)
{
	take(&e->rq, backend);
	engine_requests_written(e);
	flow_compact(&e->rq);
	take(&e->rs, client);
	flow_compact(&e->rs);
}

static void
feed(struct engine *e, struct flow *f, const char *p, size_t n,
    struct bytes *backend, struct bytes *client)
{
	if (f->w + n > f->cap)
		abort();
	memcpy(f->buf + f->w, p, n);
	f->w += n;
	if (engine_process(e) == -1)
		abort();
	drain(e, backend, client);
}

/* Run s with its events cut into pieces of split bytes. */
static void
run(struct engine *e, const struct scenario *s, size_t split,
    struct bytes *backend, struct bytes *client)
{
	const struct event *ev;
	size_t n, off;

	backend->len = client->len = 0;
	for (ev = s->ev; ev < s->ev + 8 && ev->bytes; ev++) {
		n = strlen(ev->bytes);
		for (off = 0; off < n; off += split)
			feed(e, ev->dir == 'q' ? &e->rq : &e->rs,
			    ev->bytes + off, n - off < split ? n - off : split,
			    backend, client);
	}
}

static int
same(const struct bytes *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->b, s, b->len) == 0;
}

static void
check_scenario(struct engine *e, const struct scenario *s, size_t split)
{
	const struct expect *w = &s->want;
	struct bytes backend, client;

	engine_reset(e);
	run(e, s, split, &backend, &client);
	CHECK(same(&backend, w->backend), "%s, split %zu: backend got "
	    "[%.*s]", s->name, split, (int)backend.len, backend.b);
	CHECK(same(&client, w->client), "%s, split %zu: client got [%.*s]",
	    s->name, split, (int)client.len, client.b);
	CHECK(e->rqs == w->rqs && e->rss == w->rss, "%s, split %zu: "
	    "states %d/%d", s->name, split, e->rqs, e->rss);
	CHECK(e->x.sent == w->sent && e->x.answered == w->answered,
	    "%s, split %zu: %llu sent, %llu answered", s->name, split,
	    (unsigned long long)e->x.sent,
	    (unsigned long long)e->x.answered);
	CHECK(e->x.err_status == w->err_status &&
	    e->x.err_sent == w->err_sent && e->status == w->status,
	    "%s, split %zu: error %d sent %d, status %d", s->name, split,
	    e->x.err_status, e->x.err_sent, e->status);
}

static struct cookie_cfg ck;
static struct engine_cfg cfg_filter, cfg_proxy;

static void
scenarios_all(struct engine *filter, struct engine *proxy)
{
	size_t i, split, max;

	for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
		const struct scenario *s = &scenarios[i];
		struct engine *e = s->proxy ? proxy : filter;

		max = 0;
		for (split = 0; split < 8 && s->ev[split].bytes; split++)
			if (strlen(s->ev[split].bytes) > max)
				max = strlen(s->ev[split].bytes);
		for (split = 1; split <= max; split++)
			check_scenario(e, s, split);
	}
}

/* A head that stops coming gets 408; a silent backend, 504. */
static void
timeouts(struct engine *e)
{
	static const char part[] = "GET / HT";
	struct bytes backend, client;

	engine_reset(e);
	backend.len = client.len = 0;
	feed(e, &e->rq, part, sizeof part - 1, &backend, &client);
	CHECK(engine_wait_ms(e, 1000) == 60000, "head clock");
	CHECK(engine_expire(e, 60999) == 0 && e->rqs == RQ_HEAD,
	    "not yet");
	CHECK(engine_expire(e, 61000) == 0 && e->rqs == RQ_STOP &&
	    e->x.err_status == 408, "408 at the end of --head-timeout");

	engine_reset(e);
	feed(e, &e->rq, REQ(""), sizeof REQ("") - 1, &backend, &client);
	CHECK(engine_wait_ms(e, 5) == 60000, "response clock");
	CHECK(engine_expire(e, 60005) == 1 && e->x.err_status == 504 &&
	    e->status == 69, "504, and the backend is cut off");
	if (engine_process(e) == -1)
		abort();
	client.len = 0;
	drain(e, &backend, &client);
	CHECK(client.len > 12 && memcmp(client.b, "HTTP/1.1 504 ", 12) == 0,
	    "the client gets 504");
}

/* A reset leaves nothing of the connection before. */
static void
reset_clean(struct engine *e)
{
	static const struct scenario *s = &scenarios[2];
	struct bytes backend, client;
	struct engine fresh;

	engine_reset(e);
	run(e, s, 3, &backend, &client);
	e->head_t0 = e->body_t0 = e->resp_t0 = 7;
	engine_reset(e);
	CHECK(e->x.sent == 0 && e->x.answered == 0 && e->x.err_status == 0 &&
	    e->x.err_sent == 0 && !e->x.tunnel && !e->x.halted,
	    "exchange cleared");
	CHECK(e->rqs == RQ_HEAD && e->rss == RS_HEAD && e->status == 0 &&
	    e->rqb.st == BODY_IDLE && e->rsb.st == BODY_IDLE &&
	    e->last_len == 0 && e->starved == 0, "states cleared");
	CHECK(e->rq.r == 0 && e->rq.w == 0 && e->rs.r == 0 && e->rs.w == 0 &&
	    e->rq.niov == 0 && e->rs.niov == 0 && e->rq.bytes == 0 &&
	    e->rs.bytes == 0 && !e->rq.eof && !e->rs.eof && !e->rq.shut,
	    "flows cleared");
	CHECK(e->out.used == 0 && e->req.nfields == 0 && e->req.line == NULL,
	    "no request or rewrite left");
	CHECK(e->head_t0 == 0 && e->body_t0 == 0 && e->resp_t0 == 0,
	    "clocks stopped");
	CHECK(e->errmsg[0] == '\0', "no error text left");
	/* The same as a new engine: */
	if (engine_init(&fresh, &cfg_proxy) == -1)
		abort();
	CHECK(memcmp(&fresh.x, &e->x, sizeof e->x) == 0, "exchange as new");
	engine_free(&fresh);
	check_scenario(e, &scenarios[4], 1);
}

int
main(void)
{
	static struct engine filter, proxy;
	struct engine_cfg base = {
		.ck = &ck, .max_head = 4096, .allow_connect = 1,
		.head_timeout = 60, .body_timeout = 60,
		.response_timeout = 60,
	};

	if (cookie_cfg_init(&ck, "CERT", NULL) == -1)
		abort();
	ck.add = ADD;
	ck.add_len = strlen(ADD);
	ck.upgrade = "websocket";
	cfg_filter = cfg_proxy = base;
	cfg_proxy.proxy = 1;
	if (engine_init(&filter, &cfg_filter) == -1 ||
	    engine_init(&proxy, &cfg_proxy) == -1)
		abort();
	scenarios_all(&filter, &proxy);
	timeouts(&proxy);
	reset_clean(&proxy);
	engine_free(&filter);
	engine_free(&proxy);
	return unit_done("engine");
}
