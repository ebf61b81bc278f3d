/* The relay between a TLS session and a plaintext socket. */
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "net.h"
#include "tls.h"

/* Four TLS records each way: fewer system calls for bulk transfers. */
#define RELAY_BUF	(4 * 16384)

enum { POLL_NET, POLL_APP };

/* One buffer per direction, static: no allocation per connection. */
static _Alignas(4096) unsigned char n2a[RELAY_BUF]; /* client to COMMAND */
static _Alignas(4096) unsigned char a2n[RELAY_BUF]; /* COMMAND to client */

/*
 * GnuTLS reads a record in two system calls, its header and then its
 * body, and learns that the socket is empty from a third that fails
 * with EAGAIN.  Our pull function reads whatever the socket holds into
 * raw (one recv for several records), and a short read tells that the
 * socket was empty then, so the next attempt waits for poll(2).
 */
static struct {
	_Alignas(4096) unsigned char buf[RELAY_BUF];
	size_t		 r, w;
	int		 fd;
	int		 drained;	/* the last recv was short */
} raw;

static ssize_t
raw_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	ssize_t n;

	(void)p;
	if (raw.r == raw.w) {
		raw.r = raw.w = 0;
		if (raw.drained) {
			errno = EAGAIN;
			return -1;
		}
		n = recv(raw.fd, raw.buf, sizeof raw.buf, 0);
		if (n <= 0) {
			if (n == -1 && errno == EAGAIN)
				raw.drained = 1;
			return n;
		}
		raw.w = n;
		raw.drained = (size_t)n < sizeof raw.buf;
	}
	if (len > raw.w - raw.r)
		len = raw.w - raw.r;
	memcpy(data, raw.buf + raw.r, len);
	raw.r += len;
	return len;
}

/*
 * The state of one relay.  n2a is filled by net_pull() and drained by
 * app_push(); a2n is filled by app_pull() and drained by net_push().
 * Each end of stream is set by the step that meets it: net_eof by
 * net_pull(), app_eof by app_pull(), app_shut by app_push(), bye_done
 * by net_bye().  app_gone and app_ready also follow what poll(2) saw
 * (relay_wait()); last and trimmed are the idle clock.
 */
struct relay {
	struct tls_conn	*c;
	int		 appfd;
	size_t		 n2a_r, n2a_w;	/* n2a: sent to COMMAND, filled */
	size_t		 a2n_r, a2n_w;	/* a2n: sent to the client, filled */
	size_t		 send_len;	/* of a send that returned AGAIN */
	int		 net_eof;	/* nothing more comes from the client */
	int		 app_eof;	/* nothing more comes from COMMAND */
	int		 app_shut;	/* COMMAND has been given end of file */
	int		 app_gone;	/* COMMAND closed its end entirely */
	int		 bye_done;	/* close_notify sent */
	int		 recv_wants_write; /* GnuTLS's recv must write */
	int		 app_ready;	/* a read from COMMAND may find data */
	int		 progress;	/* this round moved bytes or state */
	int		 trimmed;	/* memory given back since then */
	long long	 last;		/* when the last progress was made */
};

/* Whether gnutls_record_recv() may return data without waiting. */
static int
net_readable(const struct relay *rl)
{
	return !rl->net_eof && rl->n2a_w < RELAY_BUF && (!raw.drained ||
	    raw.r < raw.w || gnutls_record_check_pending(rl->c->s) > 0);
}

/* Whether a read from COMMAND may return data without waiting. */
static int
app_readable(const struct relay *rl)
{
	return !rl->app_eof && rl->app_ready && rl->a2n_w < sizeof a2n;
}

static int
relay_fail(struct tls_conn *c, const char *what, int gerr)
{
	if (gerr != 0)
		snprintf(c->err, sizeof c->err, "%s: %s", what,
		    gnutls_strerror(gerr));
	else
		snprintf(c->err, sizeof c->err, "%s: %s", what,
		    strerror(errno));
	return -1;
}

/* Client to buffer, also draining GnuTLS's own buffer. */
static int
net_pull(struct relay *rl)
{
	struct tls_conn *c = rl->c;
	int r;

	rl->recv_wants_write = 0;
	while (net_readable(rl)) {
		r = gnutls_record_recv(c->s, n2a + rl->n2a_w,
		    sizeof n2a - rl->n2a_w);
		if (r > 0) {
			rl->n2a_w += r;
			c->bytes_in += r;
			rl->progress = 1;
		} else if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
			/* close_notify, or a plain TCP close. */
			rl->net_eof = 1;
			rl->progress = 1;
		} else if (r == GNUTLS_E_AGAIN) {
			rl->recv_wants_write =
			    gnutls_record_get_direction(c->s) == 1;
			break;
		} else if (r == GNUTLS_E_INTERRUPTED ||
		    !gnutls_error_is_fatal(r)) {
			continue;
		} else {
			return relay_fail(c, "receive", r);
		}
	}
	return 0;
}

/*
 * Buffer to COMMAND; once it is gone, input is dropped.  Then the
 * half-close: close_notify or EOF from the client, once all of it is
 * delivered, becomes EOF to COMMAND.
 */
static int
app_push(struct relay *rl)
{
	ssize_t n;

	while (rl->n2a_r < rl->n2a_w && !rl->app_gone) {
		n = send(rl->appfd, n2a + rl->n2a_r, rl->n2a_w - rl->n2a_r,
		    MSG_NOSIGNAL);
		if (n > 0) {
			rl->n2a_r += n;
			rl->progress = 1;
		} else if (n == -1 && errno == EINTR) {
			continue;
		} else if (n == -1 && errno == EAGAIN) {
			break;
		} else if (n == -1 && (errno == EPIPE ||
		    errno == ECONNRESET)) {
			rl->app_gone = 1;
		} else {
			return relay_fail(rl->c, "write to command", 0);
		}
	}
	if (rl->n2a_r == rl->n2a_w || rl->app_gone)
		rl->n2a_r = rl->n2a_w = 0;
	if (rl->net_eof && rl->n2a_w == 0 && !rl->app_shut) {
		if (!rl->app_gone)
			shutdown(rl->appfd, SHUT_WR);
		rl->app_shut = 1;
	}
	return 0;
}

/* COMMAND to buffer; a short read found the socket empty. */
static int
app_pull(struct relay *rl)
{
	ssize_t n;

	while (app_readable(rl)) {
		n = read(rl->appfd, a2n + rl->a2n_w, sizeof a2n - rl->a2n_w);
		if (n > 0) {
			rl->app_ready = (size_t)n == sizeof a2n - rl->a2n_w;
			rl->a2n_w += n;
			rl->progress = 1;
		} else if (n == 0) {
			rl->app_eof = 1;
			rl->progress = 1;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN) {
			rl->app_ready = 0;
			break;
		} else if (errno == ECONNRESET) {
			rl->app_eof = rl->app_gone = 1;
		} else {
			return relay_fail(rl->c, "read from command", 0);
		}
	}
	return 0;
}

/* Buffer to the client, a record at a time. */
static int
net_push(struct relay *rl)
{
	struct tls_conn *c = rl->c;
	int r;

	while (rl->a2n_r < rl->a2n_w) {
		/* After AGAIN, GnuTLS wants the same call again. */
		if (rl->send_len > 0)
			r = gnutls_record_send(c->s, NULL, 0);
		else
			r = gnutls_record_send(c->s, a2n + rl->a2n_r,
			    rl->a2n_w - rl->a2n_r);
		if (r > 0) {
			rl->send_len = 0;
			rl->a2n_r += r;
			c->bytes_out += r;
			rl->progress = 1;
		} else if (r == GNUTLS_E_AGAIN) {
			if (rl->send_len == 0)
				rl->send_len = rl->a2n_w - rl->a2n_r;
			break;
		} else if (r == GNUTLS_E_INTERRUPTED) {
			continue;
		} else {
			return relay_fail(c, "send", r);
		}
	}
	if (rl->a2n_r == rl->a2n_w)
		rl->a2n_r = rl->a2n_w = 0;
	return 0;
}

/* EOF from COMMAND, all sent: close_notify to the client. */
static void
net_bye(struct relay *rl)
{
	int r;

	if (!rl->app_eof || rl->a2n_w != 0 || rl->bye_done)
		return;
	r = gnutls_bye(rl->c->s, GNUTLS_SHUT_WR);
	if (r == 0 || (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)) {
		rl->bye_done = 1;
		shutdown(rl->c->fd, SHUT_WR);
		rl->progress = 1;
	}
}

/* Whether the connection is over. */
static int
relay_over(const struct relay *rl)
{
	/* Both directions closed. */
	if (rl->bye_done && rl->app_shut)
		return 1;
	/* COMMAND is gone and has had all it will ever read. */
	return rl->bye_done && rl->app_gone;
}

/*
 * What to wait for, into pfd.  Returns 0 to poll, 1 to go round again
 * without polling, or -1 with c->err set when nothing could ever
 * happen.
 */
static int
poll_setup(struct relay *rl, struct pollfd pfd[2])
{
	struct tls_conn *c = rl->c;

	pfd[POLL_NET].fd = c->fd;
	pfd[POLL_NET].events = 0;
	if (!rl->net_eof && rl->n2a_w < sizeof n2a &&
	    gnutls_record_check_pending(c->s) == 0 && raw.r == raw.w)
		pfd[POLL_NET].events |= rl->recv_wants_write ? POLLOUT :
		    POLLIN;
	if (rl->a2n_w > 0 || (rl->app_eof && !rl->bye_done))
		pfd[POLL_NET].events |= POLLOUT;
	pfd[POLL_APP].fd = rl->appfd;
	pfd[POLL_APP].events = 0;
	if (!rl->app_eof && rl->a2n_w < sizeof a2n && !rl->app_ready)
		pfd[POLL_APP].events |= POLLIN;
	if (rl->n2a_w > 0 && !rl->app_gone)
		pfd[POLL_APP].events |= POLLOUT;
	/*
	 * A closed fd would report POLLHUP forever: leave it out.
	 * Except COMMAND's end after its EOF: POLLHUP there says
	 * COMMAND has closed it entirely (exited), so nobody is
	 * left to read what the client may still send.
	 */
	if (pfd[POLL_NET].events == 0)
		pfd[POLL_NET].fd = -1;
	if (pfd[POLL_APP].events == 0 && !(rl->app_eof && !rl->app_gone))
		pfd[POLL_APP].fd = -1;
	if (pfd[POLL_NET].fd == -1 && pfd[POLL_APP].fd == -1) {
		/* Data pending inside GnuTLS or raw: go round again. */
		if (gnutls_record_check_pending(c->s) > 0 || raw.r < raw.w)
			return 1;
		if (app_readable(rl))
			return 1;
		snprintf(c->err, sizeof c->err, "relay stalled");
		return -1;
	}
	return 0;
}

/*
 * Poll pfd until the idle timeout, giving memory back when the
 * connection waits idle, then note what poll found.  Returns 0, or -1
 * with c->err set.
 */
static int
relay_wait(struct relay *rl, struct pollfd pfd[2], unsigned idle_ms)
{
	struct tls_conn *c = rl->c;
	long long left;
	int idle, r;

	left = rl->last + idle_ms - tls_now_ms();
	if (left <= 0) {
		snprintf(c->err, sizeof c->err, "idle timeout");
		return -1;
	}
	/* Bytes left in raw (GnuTLS said AGAIN): do not sleep. */
	if (!rl->net_eof && rl->n2a_w < sizeof n2a && raw.r < raw.w)
		left = 0;
	idle = !rl->trimmed && rl->n2a_w == 0 && rl->a2n_w == 0 &&
	    raw.r == raw.w;
	if (idle && left > TLS_IDLE_TRIM_MS)
		left = TLS_IDLE_TRIM_MS;
	r = poll(pfd, 2, left > 1000000 ? 1000000 : (int)left);
	if (r == -1 && errno != EINTR)
		return relay_fail(c, "poll", 0);
	if (r == 0 && idle) {
		tls_relay_release();
		rl->trimmed = 1;
	}
	if (r <= 0)
		return 0;
	if (pfd[POLL_NET].fd != -1 && (pfd[POLL_NET].revents & POLLNVAL)) {
		snprintf(c->err, sizeof c->err, "socket closed");
		return -1;
	}
	if (pfd[POLL_APP].fd != -1 && rl->app_eof &&
	    (pfd[POLL_APP].revents & POLLHUP))
		rl->app_gone = 1;
	/* Whatever poll found readable, a read will now tell. */
	if (pfd[POLL_NET].revents & (POLLIN | POLLHUP | POLLERR) ||
	    (rl->recv_wants_write && (pfd[POLL_NET].revents & POLLOUT)))
		raw.drained = 0;
	if (pfd[POLL_APP].revents & (POLLIN | POLLHUP | POLLERR))
		rl->app_ready = 1;
	return 0;
}

int
tls_relay(struct tls_conn *c, int appfd, unsigned idle_ms)
{
	struct pollfd pfd[2];
	struct relay rl;
	int r;

	c->err[0] = '\0';
	if (net_nonblock(c->fd) == -1 || net_nonblock(appfd) == -1)
		return relay_fail(c, "fcntl", 0);
	raw.r = raw.w = 0;
	raw.fd = c->fd;
	raw.drained = 0;
	gnutls_transport_set_pull_function(c->s, raw_pull);
	memset(&rl, 0, sizeof rl);
	rl.c = c;
	rl.appfd = appfd;
	rl.app_ready = 1;
	rl.last = tls_now_ms();

	for (;;) {
		rl.progress = 0;
		if (net_pull(&rl) == -1 || app_push(&rl) == -1 ||
		    app_pull(&rl) == -1 || net_push(&rl) == -1)
			return -1;
		net_bye(&rl);
		if (relay_over(&rl))
			return 0;
		if (rl.progress) {
			rl.last = tls_now_ms();
			rl.trimmed = 0;
			/* Go round again only if a read may still find data. */
			if (net_readable(&rl) || app_readable(&rl))
				continue;
		}
		if ((r = poll_setup(&rl, pfd)) == 1)
			continue;
		if (r == -1 || relay_wait(&rl, pfd, idle_ms) == -1)
			return -1;
	}
}

void
tls_relay_release(void)
{
	/* The buffers are page-aligned: whole pages go back. */
	madvise(n2a, sizeof n2a, MADV_DONTNEED);
	madvise(a2n, sizeof a2n, MADV_DONTNEED);
	madvise(raw.buf, sizeof raw.buf, MADV_DONTNEED);
	malloc_trim(0);
}
