/* Running a command. */
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
