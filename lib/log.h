/* Logging to stderr or syslog; fatal() ends the process. */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

/* 0 quiet, 1 default (warnings), 2 one line per connection, 3 debug. */
extern int log_verbosity;

/*
 * Set the program name and verbosity.  Messages go to syslog when
 * use_syslog is set, or when fd 2 is the same socket as fd 0 (inetd,
 * systemd Accept=yes without StandardError=), so that nothing is ever
 * written to the client; else to stderr.
 */
void	log_init(const char *prog, int verbosity, int use_syslog);

/* Like log_warnx(), with ": " and strerror(errno) appended. */
void	log_warn(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
/* At verbosity 2 or more. */
void	log_info(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
/* At verbosity 3. */
void	log_debug(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

/* "prog: fatal: MSG: strerror(errno)", then exit(status). */
_Noreturn void fatal(int status, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* The same without errno. */
_Noreturn void fatalx(int status, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
