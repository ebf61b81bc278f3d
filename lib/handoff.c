/* The handoff: connections passed to a COMMAND that stays running. */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exits.h"
#include "handoff.h"
#include "num.h"

int
handoff_fd(void)
{
	const char *v = getenv(HANDOFF_ENV);
	unsigned long long n;
	socklen_t len;
	int type, fd;

	if (v == NULL)
		return -1;
	fd = num_parse(v, 0, 1024 * 1024, &n) == 0 ? (int)n : -1;
	unsetenv(HANDOFF_ENV);
	len = sizeof type;
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_SEQPACKET)
		return -2;
	return fd;
}

/* Make room for need bytes in m->buf. */
static int
grow(struct handoff_msg *m, size_t need)
{
	size_t cap;
	char *b;

	if (m->cap >= need)
		return 0;
	for (cap = m->cap ? m->cap : 4096; cap < need; cap *= 2)
		;
	if ((b = realloc(m->buf, cap)) == NULL)
		return -1;
	m->buf = b;
	m->cap = cap;
	return 0;
}

int
fd_send(int sock, int fd, const void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	ssize_t w;

	iov.iov_base = (void *)data;
	iov.iov_len = len;
	memset(&mh, 0, sizeof mh);
	memset(cbuf, 0, sizeof cbuf);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	while ((w = sendmsg(sock, &mh, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	return w == (ssize_t)len ? 0 : -1;
}

int
handoff_send(int sock, int conn, char *const envp[], struct handoff_msg *m)
{
	size_t len = 0, n;

	for (; *envp != NULL; envp++) {
		n = strlen(*envp) + 1;
		if (n > HANDOFF_MAX - len) {
			errno = E2BIG;
			return -1;
		}
		if (grow(m, len + n) == -1)
			return -1;
		memcpy(m->buf + len, *envp, n);
		len += n;
	}
	/* An empty environment still makes a message of one byte. */
	if (len == 0) {
		if (grow(m, 1) == -1)
			return -1;
		m->buf[len++] = '\0';
	}
	return fd_send(sock, conn, m->buf, len);
}

/* Split m->buf[0..len) into m->env.  Returns 0, or -1 with errno. */
static int
split(struct handoff_msg *m, size_t len)
{
	size_t n = 0, i, k;
	char **v;

	if (len == 0 || m->buf[len - 1] != '\0') {
		errno = EBADMSG;
		return -1;
	}
	for (i = 0; i < len; i++)
		if (m->buf[i] == '\0')
			n++;
	if (m->envcap < n + 1) {
		if ((v = reallocarray(m->env, n + 1, sizeof *v)) == NULL)
			return -1;
		m->env = v;
		m->envcap = n + 1;
	}
	/* An empty string is no variable: the empty environment. */
	for (i = 0, k = 0; i < len; i += strlen(m->buf + i) + 1)
		if (m->buf[i] != '\0')
			m->env[k++] = m->buf + i;
	m->env[k] = NULL;
	return 0;
}

/* Close every fd that came with a message we refuse. */
static void
close_fds(struct msghdr *mh)
{
	struct cmsghdr *cm;
	size_t i, n;
	int fd;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
			close(fd);
		}
	}
}

ssize_t
fd_recv(int sock, void *buf, size_t cap, int *fd)
{
	/* Room for a few fds: a sender's extra ones get closed. */
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct cmsghdr *cm;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;

	iov.iov_base = buf;
	iov.iov_len = cap;
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0)
		return n;
	cm = CMSG_FIRSTHDR(&mh);
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || cm == NULL ||
	    CMSG_NXTHDR(&mh, cm) != NULL || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int))) {
		close_fds(&mh);
		errno = EBADMSG;
		return -1;
	}
	memcpy(fd, CMSG_DATA(cm), sizeof *fd);
	return n;
}

int
handoff_recv(int sock, int *conn, struct handoff_msg *m)
{
	ssize_t n;
	int e;

	/* The whole message's length, without taking it. */
	while ((n = recv(sock, NULL, 0, MSG_PEEK | MSG_TRUNC)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0)
		return (int)n;
	if ((size_t)n > HANDOFF_MAX)
		n = HANDOFF_MAX;
	if (grow(m, (size_t)n) == -1)
		return -1;
	if ((n = fd_recv(sock, m->buf, m->cap, conn)) <= 0)
		return (int)n;
	if (split(m, (size_t)n) == -1) {
		e = errno;
		close(*conn);
		errno = e;
		return -1;
	}
	return 1;
}

void
handoff_msg_free(struct handoff_msg *m)
{
	free(m->buf);
	free(m->env);
	memset(m, 0, sizeof *m);
}

int
handoff_done(int sock, int status)
{
	unsigned char b = (unsigned char)status;
	ssize_t n;

	while ((n = send(sock, &b, 1, MSG_NOSIGNAL)) == -1 && errno == EINTR)
		;
	return n == 1 ? 0 : -1;
}

int
handoff_wait(int sock, int timeout_ms)
{
	struct pollfd pfd = { sock, POLLIN, 0 };
	unsigned char b;
	ssize_t n;
	int r;

	while ((r = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		return -1;
	while ((n = recv(sock, &b, 1, MSG_DONTWAIT)) == -1 && errno == EINTR)
		;
	return n == 1 ? b : -1;
}

int
handoff_serve(int hfd, int null, struct handoff_msg *m, int (*serve)(void *),
    void *arg, unsigned long *bad)
{
	extern char **environ;
	int fd, r, status;

	for (;;) {
		if ((r = handoff_recv(hfd, &fd, m)) == 0)
			return 0;
		if (r == -1 && errno != EBADMSG)
			return -1;
		if (r == -1) {
			(*bad)++;
			status = EX_SOFTWARE;
		} else {
			environ = m->env;
			if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
				return -1;
			close(fd);
			status = serve(arg);
			/* The connection's last reference: closed now. */
			if (dup2(null, 0) == -1 || dup2(null, 1) == -1)
				return -1;
		}
		if (handoff_done(hfd, status) == -1)
			return -1;
	}
}
