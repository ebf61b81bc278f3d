/* Logging to stderr or syslog. */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

int log_verbosity = 1;
static const char *log_prog = "?";
static int log_syslog;

/* Is fd 2 the very socket that fd 0 is? */
static int
stderr_is_client(void)
{
	struct stat s0, s2;

	if (fstat(0, &s0) == -1 || fstat(2, &s2) == -1)
		return 0;
	return S_ISSOCK(s0.st_mode) && s0.st_dev == s2.st_dev &&
	    s0.st_ino == s2.st_ino;
}

void
log_init(const char *prog, int verbosity, int use_syslog)
{
	const char *p = strrchr(prog, '/');

	log_prog = p ? p + 1 : prog;
	log_verbosity = verbosity;
	log_syslog = use_syslog || stderr_is_client();
	if (log_syslog)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int pri, const char *tag, int err, const char *fmt, va_list ap)
{
	char msg[1024];
	int n;

	n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		return;
	if (err && (size_t)n < sizeof msg)
		snprintf(msg + n, sizeof msg - n, ": %s", strerror(err));
	if (log_syslog)
		syslog(pri, "%s%s", tag, msg);
	else
		dprintf(2, "%s: %s%s\n", log_prog, tag, msg);
}

void
log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_WARNING, "", err, fmt, ap);
	va_end(ap);
	errno = err;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_WARNING, "", 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 2)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, "", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 3)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, "debug: ", 0, fmt, ap);
	va_end(ap);
}

void
fatal(int status, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "fatal: ", err, fmt, ap);
	va_end(ap);
	exit(status);
}

void
fatalx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(status);
}
