/*
 * Run a libFuzzer target over every file of a directory, without
 * libFuzzer: "make replay" runs the seed corpus on every build.  Also
 * feeds each file's prefixes, so truncated inputs are covered too.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
run_file(const char *path)
{
	FILE *fp;
	uint8_t *buf, *copy;
	long len;
	size_t n, i, step;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1) {
		perror(path);
		fclose(fp);
		return -1;
	}
	n = (size_t)len;
	buf = malloc(n + 1);
	if (buf == NULL || fread(buf, 1, n, fp) != n) {
		perror(path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, n);
	/* Prefixes, each in a buffer of its own size for ASan. */
	step = n / 64 + 1;
	for (i = 0; i < n; i += step) {
		if ((copy = malloc(i + 1)) == NULL) {
			perror("malloc");
			free(buf);
			return -1;
		}
		memcpy(copy, buf, i);
		LLVMFuzzerTestOneInput(copy, i);
		free(copy);
	}
	free(buf);
	return 0;
}

int
main(int argc, char *argv[])
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	char path[4096];
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 64;
	}
	if ((d = opendir(argv[1])) == NULL) {
		perror(argv[1]);
		return 66;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(path) == -1) {
			closedir(d);
			return 1;
		}
		n++;
	}
	closedir(d);
	printf("%s: %d inputs replayed\n", argv[1], n);
	/* An empty or missing corpus is a broken test, not a pass. */
	return n > 0 ? 0 : 1;
}
