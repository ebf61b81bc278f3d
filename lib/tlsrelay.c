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

/* Whether gnutls_record_recv() may return data without waiting. */
static int
net_readable(struct tls_conn *c, int net_eof, size_t n2a_w)
{
	return !net_eof && n2a_w < RELAY_BUF && (!raw.drained ||
	    raw.r < raw.w || gnutls_record_check_pending(c->s) > 0);
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

int
tls_relay(struct tls_conn *c, int appfd, unsigned idle_ms)
{
	struct pollfd pfd[2];
	size_t n2a_r = 0, n2a_w = 0, a2n_r = 0, a2n_w = 0;
	size_t send_len = 0;	/* bytes of a send that returned AGAIN */
	int net_eof = 0;	/* nothing more comes from the client */
	int app_eof = 0;	/* nothing more comes from COMMAND */
	int app_shut = 0;	/* COMMAND has been given end of file */
	int app_gone = 0;	/* COMMAND closed its end entirely */
	int bye_done = 0;	/* close_notify sent */
	int recv_wants_write = 0;
	int app_ready = 1;	/* a read from COMMAND may find data */
	long long last = tls_now_ms(), left;
	ssize_t n;
	int progress, r;
	int trimmed = 0;	/* memory given back since the last progress */
	int idle;

	c->err[0] = '\0';
	if (net_nonblock(c->fd) == -1 || net_nonblock(appfd) == -1)
		return relay_fail(c, "fcntl", 0);
	raw.r = raw.w = 0;
	raw.fd = c->fd;
	raw.drained = 0;
	gnutls_transport_set_pull_function(c->s, raw_pull);

	for (;;) {
		progress = 0;

		/* Client to buffer, also draining GnuTLS's own buffer. */
		recv_wants_write = 0;
		while (net_readable(c, net_eof, n2a_w)) {
			r = gnutls_record_recv(c->s, n2a + n2a_w,
			    sizeof n2a - n2a_w);
			if (r > 0) {
				n2a_w += r;
				c->bytes_in += r;
				progress = 1;
			} else if (r == 0 ||
			    r == GNUTLS_E_PREMATURE_TERMINATION) {
				/* close_notify, or a plain TCP close. */
				net_eof = 1;
				progress = 1;
			} else if (r == GNUTLS_E_AGAIN) {
				recv_wants_write =
				    gnutls_record_get_direction(c->s) == 1;
				break;
			} else if (r == GNUTLS_E_INTERRUPTED ||
			    !gnutls_error_is_fatal(r)) {
				continue;
			} else {
				return relay_fail(c, "receive", r);
			}
		}

		/* Buffer to COMMAND; once it is gone, input is dropped. */
		while (n2a_r < n2a_w && !app_gone) {
			n = send(appfd, n2a + n2a_r, n2a_w - n2a_r,
			    MSG_NOSIGNAL);
			if (n > 0) {
				n2a_r += n;
				progress = 1;
			} else if (n == -1 && errno == EINTR) {
				continue;
			} else if (n == -1 && errno == EAGAIN) {
				break;
			} else if (n == -1 && (errno == EPIPE ||
			    errno == ECONNRESET)) {
				app_gone = 1;
			} else {
				return relay_fail(c, "write to command", 0);
			}
		}
		if (n2a_r == n2a_w || app_gone)
			n2a_r = n2a_w = 0;
		/* close_notify or EOF from the client: EOF to COMMAND. */
		if (net_eof && n2a_w == 0 && !app_shut) {
			if (!app_gone)
				shutdown(appfd, SHUT_WR);
			app_shut = 1;
		}

		/* COMMAND to buffer; a short read found the socket empty. */
		while (!app_eof && app_ready && a2n_w < sizeof a2n) {
			n = read(appfd, a2n + a2n_w, sizeof a2n - a2n_w);
			if (n > 0) {
				app_ready = (size_t)n == sizeof a2n - a2n_w;
				a2n_w += n;
				progress = 1;
			} else if (n == 0) {
				app_eof = 1;
				progress = 1;
			} else if (errno == EINTR) {
				continue;
			} else if (errno == EAGAIN) {
				app_ready = 0;
				break;
			} else if (errno == ECONNRESET) {
				app_eof = app_gone = 1;
			} else {
				return relay_fail(c, "read from command", 0);
			}
		}

		/* Buffer to the client, a record at a time. */
		while (a2n_r < a2n_w) {
			/* After AGAIN, GnuTLS wants the same call again. */
			if (send_len > 0)
				r = gnutls_record_send(c->s, NULL, 0);
			else
				r = gnutls_record_send(c->s, a2n + a2n_r,
				    a2n_w - a2n_r);
			if (r > 0) {
				send_len = 0;
				a2n_r += r;
				c->bytes_out += r;
				progress = 1;
			} else if (r == GNUTLS_E_AGAIN) {
				if (send_len == 0)
					send_len = a2n_w - a2n_r;
				break;
			} else if (r == GNUTLS_E_INTERRUPTED) {
				continue;
			} else {
				return relay_fail(c, "send", r);
			}
		}
		if (a2n_r == a2n_w)
			a2n_r = a2n_w = 0;

		/* EOF from COMMAND, all sent: close_notify to the client. */
		if (app_eof && a2n_w == 0 && !bye_done) {
			r = gnutls_bye(c->s, GNUTLS_SHUT_WR);
			if (r == 0 || (r != GNUTLS_E_AGAIN &&
			    r != GNUTLS_E_INTERRUPTED)) {
				bye_done = 1;
				shutdown(c->fd, SHUT_WR);
				progress = 1;
			}
		}

		/* Both directions closed: the connection is over. */
		if (bye_done && app_shut)
			return 0;
		/* COMMAND is gone and has had all it will ever read. */
		if (bye_done && app_gone)
			return 0;

		if (progress) {
			last = tls_now_ms();
			trimmed = 0;
			/* Go round again only if a read may still find data. */
			if (net_readable(c, net_eof, n2a_w) ||
			    (!app_eof && app_ready && a2n_w < sizeof a2n))
				continue;
		}

		pfd[POLL_NET].fd = c->fd;
		pfd[POLL_NET].events = 0;
		if (!net_eof && n2a_w < sizeof n2a &&
		    gnutls_record_check_pending(c->s) == 0 && raw.r == raw.w)
			pfd[POLL_NET].events |= recv_wants_write ? POLLOUT :
			    POLLIN;
		if (a2n_w > 0 || (app_eof && !bye_done))
			pfd[POLL_NET].events |= POLLOUT;
		pfd[POLL_APP].fd = appfd;
		pfd[POLL_APP].events = 0;
		if (!app_eof && a2n_w < sizeof a2n && !app_ready)
			pfd[POLL_APP].events |= POLLIN;
		if (n2a_w > 0 && !app_gone)
			pfd[POLL_APP].events |= POLLOUT;
		/*
		 * A closed fd would report POLLHUP forever: leave it out.
		 * Except COMMAND's end after its EOF: POLLHUP there says
		 * COMMAND has closed it entirely (exited), so nobody is
		 * left to read what the client may still send.
		 */
		if (pfd[POLL_NET].events == 0)
			pfd[POLL_NET].fd = -1;
		if (pfd[POLL_APP].events == 0 && !(app_eof && !app_gone))
			pfd[POLL_APP].fd = -1;
		if (pfd[POLL_NET].fd == -1 && pfd[POLL_APP].fd == -1) {
			/* Data pending inside GnuTLS or raw: go round again. */
			if (gnutls_record_check_pending(c->s) > 0 ||
			    raw.r < raw.w)
				continue;
			if (!app_eof && app_ready && a2n_w < sizeof a2n)
				continue;
			snprintf(c->err, sizeof c->err, "relay stalled");
			return -1;
		}

		left = last + idle_ms - tls_now_ms();
		if (left <= 0) {
			snprintf(c->err, sizeof c->err, "idle timeout");
			return -1;
		}
		/* Bytes left in raw (GnuTLS said AGAIN): do not sleep. */
		if (!net_eof && n2a_w < sizeof n2a && raw.r < raw.w)
			left = 0;
		idle = !trimmed && n2a_w == 0 && a2n_w == 0 &&
		    raw.r == raw.w;
		if (idle && left > TLS_IDLE_TRIM_MS)
			left = TLS_IDLE_TRIM_MS;
		r = poll(pfd, 2, left > 1000000 ? 1000000 : (int)left);
		if (r == -1 && errno != EINTR)
			return relay_fail(c, "poll", 0);
		if (r == 0 && idle) {
			tls_relay_release();
			trimmed = 1;
		}
		if (r > 0 && pfd[POLL_NET].fd != -1 &&
		    (pfd[POLL_NET].revents & POLLNVAL)) {
			snprintf(c->err, sizeof c->err, "socket closed");
			return -1;
		}
		if (r > 0 && pfd[POLL_APP].fd != -1 && app_eof &&
		    (pfd[POLL_APP].revents & POLLHUP))
			app_gone = 1;
		/* Whatever poll found readable, a read will now tell. */
		if (r > 0 && (pfd[POLL_NET].revents & (POLLIN | POLLHUP |
		    POLLERR) || (recv_wants_write &&
		    (pfd[POLL_NET].revents & POLLOUT))))
			raw.drained = 0;
		if (r > 0 && (pfd[POLL_APP].revents & (POLLIN | POLLHUP |
		    POLLERR)))
			app_ready = 1;
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
