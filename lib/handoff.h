/*
 * The handoff: connections passed to a COMMAND that stays running.
 *
 * COMMAND starts with HANDOFF_FD=N in its environment: fd N is one end
 * of a UNIX SOCK_SEQPACKET socket.  For each connection it receives one
 * message: as data, that connection's whole environment, NAME=VALUE
 * strings each ended by a NUL, exactly what an exec would have given;
 * as SCM_RIGHTS, one fd, the plaintext end of the connection (a UNIX
 * stream socket).  COMMAND serves that fd as it would serve its stdin
 * and stdout, closes it, then sends a message of one byte: the exit
 * status it would have exited with.  End of file on fd N: exit 0.
 */
#ifndef HANDOFF_H
#define HANDOFF_H

#include <sys/types.h>

#include <stddef.h>

#define HANDOFF_ENV	"HANDOFF_FD"

/*
 * The largest environment one message may carry: within the socket
 * buffer an unprivileged process may ask for (net.core.wmem_max is
 * 208 KiB by default), and as large as one variable of an exec.
 */
#define HANDOFF_MAX	(128 * 1024)

/* The receiving side's buffers, grown when a message needs more. */
struct handoff_msg {
	char		*buf;
	size_t		 cap;
	char		**env;		/* NULL-ended, into buf */
	size_t		 envcap;
};

/*
 * One message of len bytes of data with fd as SCM_RIGHTS on sock.
 * Returns 0, or -1 with errno.
 */
int	fd_send(int sock, int fd, const void *data, size_t len);

/*
 * One message with one fd (close-on-exec, into *fd) and at most cap bytes
 * of data into buf.  Returns the data's length, 0 at end of file, or -1
 * with errno (EBADMSG: not exactly one fd, or more data than cap; the
 * fds that came are closed).
 */
ssize_t	fd_recv(int sock, void *buf, size_t cap, int *fd);

/*
 * The fd named by HANDOFF_FD, once checked to be a SOCK_SEQPACKET
 * socket; the variable is removed from the environment.  Returns the
 * fd, -1 when HANDOFF_FD is unset, or -2 when it is set but names no
 * such socket.
 */
int	handoff_fd(void);

/*
 * Send conn and envp (NULL-ended) on sock, the message built in m->buf.
 * Returns 0, or -1 with errno (E2BIG: the environment is over
 * HANDOFF_MAX).
 */
int	handoff_send(int sock, int conn, char *const envp[],
	    struct handoff_msg *m);

/*
 * The next connection on sock: its fd (close-on-exec) into *conn, its
 * environment into m->env.  Returns 1, 0 at end of file, or -1 with
 * errno (EBADMSG: a message without exactly one fd, or whose data is
 * not NUL-ended strings).
 */
int	handoff_recv(int sock, int *conn, struct handoff_msg *m);
void	handoff_msg_free(struct handoff_msg *m);

/*
 * The receiving side's loop: for each connection from hfd, the
 * environment becomes its own (environ points into m), fds 0 and 1 the
 * connection, and serve(arg) runs, returning the connection's status;
 * then 0 and 1 go back to null (an fd of /dev/null), which closes the
 * connection, and the status goes back.  A message without one fd and
 * NUL-ended strings gets status EX_SOFTWARE (70) and *bad counts it.
 * Returns 0 at end of file, or -1 with errno.
 */
int	handoff_serve(int hfd, int null, struct handoff_msg *m,
	    int (*serve)(void *), void *arg, unsigned long *bad);

/* Say that the connection is over, with status (0-255). */
int	handoff_done(int sock, int status);

/*
 * Wait up to timeout_ms (-1: no limit) for the status of the
 * connection sent last.  Returns it (0-255), or -1: end of file, an
 * error or the time ran out (errno ETIMEDOUT).
 */
int	handoff_wait(int sock, int timeout_ms);

#endif
