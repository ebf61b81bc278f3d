/* Following a message body's framing over a flow. */
#include <string.h>

#include "body.h"

void
body_start(struct body *b, enum http1_body kind, uint64_t length)
{
	b->left = 0;
	switch (kind) {
	case HTTP1_BODY_LENGTH:
		b->st = BODY_LENGTH;
		b->left = length;
		break;
	case HTTP1_BODY_CHUNKED:
		b->st = BODY_CHUNK_LINE;
		break;
	default:
		b->st = BODY_IDLE;
		break;
	}
}

int
body_counted(const struct body *b)
{
	return b->st == BODY_LENGTH || b->st == BODY_CHUNK_DATA;
}

void
body_took(struct body *b, uint64_t n)
{
	b->left -= n;
}

void
body_end(struct body *b)
{
	b->st = BODY_IDLE;
	b->left = 0;
}

/* Pass the buffered part of the counted bytes. */
static int
counted(struct body *b, struct flow *f)
{
	size_t n;

	if (b->left > 0) {
		if (f->r == f->w)
			return BODY_MORE;
		n = f->w - f->r;
		if (n > b->left)
			n = (size_t)b->left;
		flow_pass(f, n);
		b->left -= n;
		if (b->left > 0)
			return BODY_MORE;
	}
	if (b->st == BODY_CHUNK_DATA) {
		b->st = BODY_CHUNK_CRLF;
		return BODY_MOVED;
	}
	b->st = BODY_IDLE;
	return BODY_END;
}

static int
chunk_line(struct body *b, struct flow *f, const char **why)
{
	uint64_t size;
	int n;

	n = http1_parse_chunk_line(f->buf + f->r, f->w - f->r, &size);
	/* A line that long is no line. */
	if (n == HTTP1_INCOMPLETE && f->w - f->r > HTTP1_MAX_CHUNK_EXT + 32)
		n = HTTP1_BAD;
	if (n == HTTP1_INCOMPLETE)
		return BODY_MORE;
	if (n < 0) {
		*why = "malformed chunk size line";
		return BODY_BAD;
	}
	flow_pass(f, n);
	b->left = size;
	b->st = size ? BODY_CHUNK_DATA : BODY_TRAILERS;
	return BODY_MOVED;
}

int
body_follow(struct body *b, struct flow *f, const char **why)
{
	switch (b->st) {
	case BODY_IDLE:
		return BODY_END;
	case BODY_LENGTH:
	case BODY_CHUNK_DATA:
		return counted(b, f);
	case BODY_CHUNK_LINE:
		return chunk_line(b, f, why);
	case BODY_CHUNK_CRLF:
		if (!flow_have(f, 2))
			return BODY_MORE;
		if (memcmp(f->buf + f->r, "\r\n", 2) != 0) {
			*why = "chunk data not followed by CRLF";
			return BODY_BAD;
		}
		flow_pass(f, 2);
		b->st = BODY_CHUNK_LINE;
		return BODY_MOVED;
	case BODY_TRAILERS:
		return BODY_AT_TRAILERS;
	}
	return BODY_BAD;
}
