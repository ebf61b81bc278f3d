/* Running a command. */
#ifndef SPAWN_H
#define SPAWN_H

#include <sys/types.h>

/*
 * Run argv[0], found in PATH, with envp, in a child made with vfork(2):
 * no copy of our page tables.  Every signal stays blocked in the child
 * until setup(arg) has run there (it puts the child's fds in place and
 * resets what exec would keep, such as ignored signals; it must only
 * make system calls).  Returns the pid; or 0 when setup or the exec
 * failed, with errno (the child is reaped); or -1 when vfork failed.
 */
pid_t	spawn_run(char *const argv[], char *const envp[],
	    int (*setup)(void *), void *arg);

/*
 * Run argv[0] with envp on a socketpair, its end as its stdin and
 * stdout, SIGPIPE at its default.  Returns our end (close-on-exec);
 * *status gets 0, or 126 or 127 with errno when the exec failed.
 * Returns -1 with errno and *what naming the call ("socketpair",
 * "vfork") when no socketpair or no process could be had.
 */
int	spawn_socket(char *const argv[], char *const envp[], int *status,
	    const char **what);

/* The exit status for an exec that failed with err: 127 or 126. */
int	spawn_status(int err);

#endif
