/* Logging to stderr or syslog; fatal() ends the process. */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>

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

/*
 * msg at level 1 (log_warnx), 2 (log_info) or 3 (log_debug): the
 * callback for the notes of lib/ (engine_cfg and values_cfg .log).
 */
void	log_note(int level, const char *msg);

/*
 * Format a note of lib/ (at most 2 KiB) and hand it to log, a callback
 * such as log_note(); nothing when log is NULL.
 */
void	log_notef(void (*log)(int, const char *), int level,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * s, a NUL-ended string the client had a say in (a DN, the SNI name),
 * escaped for a log line into buf (size bytes, NUL included) in the
 * manner of vis(3): printable ASCII stays, except backslash and double
 * quote, which get a backslash before them; newline, carriage return
 * and tab become \n, \r and \t; every other byte (controls, DEL,
 * non-ASCII) becomes \ooo, three octal digits (ESC is \033).  The
 * result holds no control character and ends no quoted field: one
 * event stays one line.  An escape is never cut: when buf is too small,
 * the result ends with "..." after the last whole one.  Returns buf.
 */
const char *log_escape(char *buf, size_t size, const char *s);

/* "prog: fatal: MSG: strerror(errno)", then exit(status). */
_Noreturn void fatal(int status, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* The same without errno. */
_Noreturn void fatalx(int status, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
