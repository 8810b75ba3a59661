/*
 * sdnotify: systemd's readiness protocol without libsystemd (sd_notify(3)). A service of
 * Type=notify is told the socket in $NOTIFY_SOCKET (a path, or "@name" for the abstract
 * namespace); it sends one datagram of newline-separated assignments: "READY=1" once it serves,
 * "RELOADING=1" while a SIGHUP reload runs, "STOPPING=1" when the drain starts, "STATUS=..." for
 * `systemctl status`. Without $NOTIFY_SOCKET nothing is sent (a manual start, the tests).
 */
#ifndef CRGW_SDNOTIFY_H
#define CRGW_SDNOTIFY_H

/*
 * Sends state (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET. Returns 1 when sent, 0 when
 * $NOTIFY_SOCKET is unset or empty, -1 (errno set) when it is malformed or the send fails; never
 * blocks (MSG_DONTWAIT).
 */
int crgw_sd_notify(const char *state);

/* crgw_sd_notify with printf formatting (the text is cut at 1,024 bytes). */
int crgw_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
