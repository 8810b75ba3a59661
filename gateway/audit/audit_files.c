/*
 * audit_files: the audit writer's file names and small file operations (audit_files.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/audit/audit_files.h"
#include "gateway/core/util.h"

/* mkdir -p; 0 or -1 (errno set). */
int audit_mkdir_p(const char *path)
{
    char *p = xstrdup(path);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0750) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *c = '/';
    }
    int rc = mkdir(p, 0750);
    free(p);
    if (rc != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* audit-YYYYMMDD-NNNN.jsonl: 1 with *day and *n, else 0. */
int audit_parse_name(const char *name, int *day, int *n)
{
    int d = 0, k = 0;
    if (strlen(name) != strlen("audit-YYYYMMDD-NNNN.jsonl") || strncmp(name, "audit-", 6) != 0 ||
        name[14] != '-' || strcmp(name + 19, ".jsonl") != 0)
        return 0;
    for (int i = 6; i < 14; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        d = d * 10 + (name[i] - '0');
    }
    for (int i = 15; i < 19; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        k = k * 10 + (name[i] - '0');
    }
    *day = d;
    *n = k;
    return 1;
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The log's file names in order (heap strings, *n of them). */
char **audit_list_files(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **v = NULL;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int day, k;
        if (!audit_parse_name(de->d_name, &day, &k))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            v = xrealloc(v, cap * sizeof(*v));
        }
        v[(*n)++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (*n)
        qsort(v, *n, sizeof(*v), cmp_names);
    return v;
}

void audit_free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Reads [off, off+len) of fd into buf. 0 or -1. */
int audit_read_at(int fd, off_t off, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}
