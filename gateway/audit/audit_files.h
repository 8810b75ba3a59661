/*
 * audit_files: the file names and small file operations of the audit writer
 * (gateway/audit/audit_module.c), private to gateway/audit/.
 */
#ifndef CRGW_AUDIT_FILES_H
#define CRGW_AUDIT_FILES_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with mode 0750; 0 or -1 (errno set). */
int audit_mkdir_p(const char *path);

/* audit-YYYYMMDD-NNNN.jsonl: 1 with *day and *n, else 0. */
int audit_parse_name(const char *name, int *day, int *n);

/* The log's file names in dir, in order (heap strings, *n of them; NULL when none). */
char **audit_list_files(const char *dir, size_t *n);
void audit_free_names(char **v, size_t n);

/* Reads [off, off+len) of fd into buf. 0 or -1. */
int audit_read_at(int fd, off_t off, char *buf, size_t len);

#endif
