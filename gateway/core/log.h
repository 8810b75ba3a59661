/*
 * log: one line per event, level-filtered before formatting, prefixed with connection and
 * stream ids (0 when not applicable).
 */
#ifndef CRGW_LOG_H
#define CRGW_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CRGW_LOG_ERROR = 0,
    CRGW_LOG_WARN = 1,
    CRGW_LOG_INFO = 2,
    CRGW_LOG_DEBUG = 3,
} crgw_log_level;

extern int crgw_log_level_current;

/* Returns 0, or -1 for an unknown name ("error", "warn", "info", "debug"). */
int crgw_log_set_level(const char *name);
void crgw_log_write(crgw_log_level lvl, uint64_t conn, int32_t stream, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Longest line kept by the recent-problems ring (longer ones are cut). */
#define CRGW_LOG_RECENT_LEN 400
/*
 * The last warnings and errors of this process (the ring holds CRGW_LOG_RECENT_MAX lines, each
 * one as logged, without the newline), newest first, into out (max lines). Returns how many.
 * Thread-safe. For operators' screens (/v1/federation/status).
 */
#define CRGW_LOG_RECENT_MAX 32
size_t crgw_log_recent(char (*out)[CRGW_LOG_RECENT_LEN], size_t max);

#define CRGW_LOG(lvl, conn, stream, ...)                                                           \
    do {                                                                                           \
        if ((int)(lvl) <= crgw_log_level_current)                                                  \
            crgw_log_write((lvl), (conn), (stream), __VA_ARGS__);                                  \
    } while (0)

#define log_error(...) CRGW_LOG(CRGW_LOG_ERROR, 0, 0, __VA_ARGS__)
#define log_warn(...) CRGW_LOG(CRGW_LOG_WARN, 0, 0, __VA_ARGS__)
#define log_info(...) CRGW_LOG(CRGW_LOG_INFO, 0, 0, __VA_ARGS__)
#define log_debug(...) CRGW_LOG(CRGW_LOG_DEBUG, 0, 0, __VA_ARGS__)

#endif
