/*
 * bench/spawn.c: what one posix_spawn() + wait of a program costs, for
 * several programs measured in turn (A B C A B C ...), N times each.
 *
 *	spawn N INPUT -- PROG ARG... [-- PROG ARG...]...
 *
 * Every run reads INPUT (opened afresh; /dev/null for none) and writes
 * to /dev/null; a run that does not exit 0 stops the measurement.  One
 * line per program: the median, 10th and 90th percentile of the wall
 * time from posix_spawn() to the end of wait4(), then the median of the
 * child's user + system CPU time (from wait4's rusage), all in
 * microseconds.  glibc's posix_spawn() is clone(CLONE_VM | CLONE_VFORK)
 * + exec, the cheapest way a supervisor has to start a program.
 */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The p-th percentile (0-100) of v[0..n), which it sorts. */
static double
pct(double *v, size_t n, int p)
{
	qsort(v, n, sizeof *v, cmp_double);
	return v[(n - 1) * (size_t)p / 100];
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
main(int argc, char *argv[])
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	char **prog[64];
	double *wall[64], *cpu[64], t0;
	const char *input;
	size_t n, i;
	int k = 0, j, a, st;
	pid_t pid;

	if (argc < 5 || strcmp(argv[3], "--") != 0 ||
	    (n = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: spawn N INPUT -- PROG ARG... "
		    "[-- PROG ARG...]...\n");
		return 64;
	}
	input = argv[2];
	for (a = 3; a < argc; a++) {
		if (strcmp(argv[a], "--") != 0)
			continue;
		argv[a] = NULL;
		if (a + 1 >= argc || strcmp(argv[a + 1], "--") == 0 || k == 64)
			goto usage;
		prog[k++] = argv + a + 1;
	}
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
	    0) != 0)
		return 71;
	for (j = 0; j < k; j++)
		if ((wall[j] = calloc(n, sizeof(double))) == NULL ||
		    (cpu[j] = calloc(n, sizeof(double))) == NULL)
			return 71;
	for (i = 0; i < n; i++) {
		for (j = 0; j < k; j++) {
			t0 = now_us();
			if ((errno = posix_spawn(&pid, prog[j][0], &fa, NULL,
			    prog[j], environ)) != 0) {
				perror(prog[j][0]);
				return 71;
			}
			if (wait4(pid, &st, 0, &ru) != pid) {
				perror("wait4");
				return 71;
			}
			wall[j][i] = now_us() - t0;
			cpu[j][i] = ru.ru_utime.tv_sec * 1e6 +
			    ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
			    ru.ru_stime.tv_usec;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				fprintf(stderr, "spawn: %s: status %d\n",
				    prog[j][0], st);
				return 1;
			}
		}
	}
	for (j = 0; j < k; j++) {
		double m = pct(wall[j], n, 50), lo = pct(wall[j], n, 10),
		    hi = pct(wall[j], n, 90);

		printf("%.1f %.1f %.1f %.1f\n", m, lo, hi, pct(cpu[j], n, 50));
	}
	return 0;
usage:
	fprintf(stderr, "spawn: a program after each --\n");
	return 64;
}
