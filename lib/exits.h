/* Exit statuses shared by certcookie and tlsfront (sysexits, plus exec). */
#ifndef EXITS_H
#define EXITS_H

#include <sysexits.h>

/*
 * 0 ok, 64 usage, 65 bad HTTP from the client, 66 certificate unreadable,
 * 69 backend unavailable, 70 internal, 71 pipe/fork/socket, 74 I/O error,
 * 76 TLS failure, 77 client certificate missing or rejected, 78 bad key,
 * certificate, CA or CRL, 126 cannot exec, 127 not found.
 */
#define EX_TLS		76	/* TLS failure */
#define EX_CERT		77	/* client certificate missing or rejected */
#define EX_NOEXEC	126
#define EX_NOTFOUND	127

#endif
