/* A tiny unit-test harness: CHECK() counts, guard_copy() fences input. */
#ifndef UNIT_H
#define UNIT_H

#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int unit_failed, unit_run;

#define CHECK(cond, ...) do {						\
	unit_run++;							\
	if (!(cond)) {							\
		unit_failed++;						\
		fprintf(stderr, "%s:%d: check failed: %s: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

/*
 * Copy src[0..n) so that it ends exactly at an inaccessible page: any
 * read past the end faults.  Release with guard_free().
 */
static inline char *
guard_copy(const void *src, size_t n, void **map, size_t *maplen)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (n + pg - 1) / pg * pg + pg;
	char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	if (mprotect(p + len - pg, pg, PROT_NONE) == -1) {
		perror("mprotect");
		exit(1);
	}
	*map = p;
	*maplen = len;
	p += len - pg - n;
	memcpy(p, src, n);
	return p;
}

static inline void
guard_free(void *map, size_t maplen)
{
	munmap(map, maplen);
}

/* "N passed, N failed" closes the output; the exit status follows. */
/*
 * The certificates of tests/pki.sh in dir, then the suite's own: extra,
 * a shell command run in dir.  Exits when either fails.
 */
static inline void
unit_pki(const char *dir, const char *extra)
{
	char cmd[8192];

	snprintf(cmd, sizeof cmd,
	    "sh tests/pki.sh '%s' >/dev/null && cd '%s' && %s", dir, dir,
	    extra);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make the PKI in %s\n", dir);
		exit(1);
	}
}

static inline int
unit_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, unit_run - unit_failed,
	    unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
