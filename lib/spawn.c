/* Running a command. */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "exits.h"
#include "spawn.h"

pid_t
spawn_run(char *const argv[], char *const envp[], int (*setup)(void *),
    void *arg)
{
	static volatile int exec_errno;
	sigset_t all, old;
	pid_t pid;
	int st;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	exec_errno = 0;
	if ((pid = vfork()) == 0) {
		if (setup(arg) == 0 &&
		    sigprocmask(SIG_SETMASK, &old, NULL) == 0)
			execvpe(argv[0], argv, envp);
		exec_errno = errno;
		_exit(EX_NOTFOUND);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1)
		return -1;
	if (exec_errno != 0) {
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		errno = exec_errno;
		return 0;
	}
	return pid;
}

int
spawn_status(int err)
{
	return err == ENOENT ? EX_NOTFOUND : EX_NOEXEC;
}

/* In the child: its socket as stdin and stdout. */
static int
socket_fds(void *arg)
{
	int fd = *(int *)arg;

	signal(SIGPIPE, SIG_DFL);
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
		return -1;
	return 0;
}

int
spawn_socket(char *const argv[], char *const envp[], int *status,
    const char **what)
{
	int sv[2], e;
	pid_t pid;

	*status = 0;
	*what = "socketpair";
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	*what = "vfork";
	pid = spawn_run(argv, envp, socket_fds, &sv[1]);
	e = errno;
	close(sv[1]);
	if (pid == -1) {
		close(sv[0]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		*status = spawn_status(e);
		errno = e;
	}
	return sv[0];
}
