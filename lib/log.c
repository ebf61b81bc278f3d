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

const char *
log_escape(char *buf, size_t size, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char e[5];
	size_t n = 0, mark = 0, el;

	if (size == 0)
		return buf;
	for (; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			el = snprintf(e, sizeof e, "\\%c", *p);
		else if (*p == '\n')
			el = snprintf(e, sizeof e, "\\n");
		else if (*p == '\r')
			el = snprintf(e, sizeof e, "\\r");
		else if (*p == '\t')
			el = snprintf(e, sizeof e, "\\t");
		else if (*p < 0x20 || *p >= 0x7f)
			el = snprintf(e, sizeof e, "\\%03o", *p);
		else
			el = snprintf(e, sizeof e, "%c", *p);
		/* The last whole escape after which "..." would fit. */
		if (n + 3 < size)
			mark = n;
		if (n + el >= size) {
			n = mark;
			if (n + 3 < size) {
				memcpy(buf + n, "...", 3);
				n += 3;
			}
			break;
		}
		memcpy(buf + n, e, el);
		n += el;
	}
	buf[n] = '\0';
	return buf;
}

static void
vlog(int pri, const char *tag, int err, const char *fmt, va_list ap)
{
	char msg[2048];
	size_t i;
	int n;

	n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		return;
	if (err && (size_t)n < sizeof msg)
		snprintf(msg + n, sizeof msg - n, ": %s", strerror(err));
	/*
	 * One message, one line, whatever a caller passed unescaped: a
	 * control character left is shown as '?' (log_escape() is the
	 * way to show it).
	 */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
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
log_note(int level, const char *msg)
{
	if (level <= 1)
		log_warnx("%s", msg);
	else if (level == 2)
		log_info("%s", msg);
	else
		log_debug("%s", msg);
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

void
log_notef(void (*log)(int, const char *), int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log(level, msg);
}
