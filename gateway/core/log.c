#include "gateway/core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int crgw_log_level_current = CRGW_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int crgw_log_set_level(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            crgw_log_level_current = i;
            return 0;
        }
    }
    return -1;
}

/* Ring of the last warnings and errors (crgw_log_recent). */
static char recent[CRGW_LOG_RECENT_MAX][CRGW_LOG_RECENT_LEN];
static size_t recent_next, recent_count;
static pthread_mutex_t recent_mu = PTHREAD_MUTEX_INITIALIZER;

static void recent_keep(const char *line, size_t len)
{
    if (len >= CRGW_LOG_RECENT_LEN)
        len = CRGW_LOG_RECENT_LEN - 1;
    pthread_mutex_lock(&recent_mu);
    memcpy(recent[recent_next], line, len);
    recent[recent_next][len] = 0;
    recent_next = (recent_next + 1) % CRGW_LOG_RECENT_MAX;
    if (recent_count < CRGW_LOG_RECENT_MAX)
        recent_count++;
    pthread_mutex_unlock(&recent_mu);
}

size_t crgw_log_recent(char (*out)[CRGW_LOG_RECENT_LEN], size_t max)
{
    pthread_mutex_lock(&recent_mu);
    size_t n = recent_count < max ? recent_count : max;
    for (size_t i = 0; i < n; i++) {
        size_t k = (recent_next + CRGW_LOG_RECENT_MAX - 1 - i) % CRGW_LOG_RECENT_MAX;
        memcpy(out[i], recent[k], CRGW_LOG_RECENT_LEN);
    }
    pthread_mutex_unlock(&recent_mu);
    return n;
}

void crgw_log_write(crgw_log_level lvl, uint64_t conn, int32_t stream, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s c=%llu s=%d ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(tv.tv_usec / 1000), level_names[lvl], (unsigned long long)conn,
                     (int)stream);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    /* one event, one line: fold embedded newlines */
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    if (lvl <= CRGW_LOG_WARN)
        recent_keep(line, len);
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}
