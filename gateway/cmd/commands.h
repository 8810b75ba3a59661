/*
 * commands: the entry points of `crgw <command>`, called by the composition root
 * (gateway/main.c) with its module list. Each returns the process exit status.
 */
#ifndef CRGW_COMMANDS_H
#define CRGW_COMMANDS_H

struct crgw_module;
struct crgw_config;

typedef const struct crgw_module *const *crgw_cmd_modules;

int crgw_cmd_serve(int argc, char **argv, crgw_cmd_modules mods);        /* cmd_check.c */
int crgw_cmd_check_config(int argc, char **argv, crgw_cmd_modules mods); /* cmd_check.c */
int crgw_cmd_translate(int argc, char **argv, crgw_cmd_modules mods);    /* cmd_translate.c */
int crgw_cmd_verify(int argc, char **argv, crgw_cmd_modules mods);       /* cmd_verify.c */
int crgw_cmd_sign(int argc, char **argv, crgw_cmd_modules mods);         /* cmd_verify.c */
int crgw_cmd_audit(int argc, char **argv, crgw_cmd_modules mods);        /* cmd_audit.c */
int crgw_cmd_routes(int argc, char **argv, crgw_cmd_modules mods);       /* cmd_routes.c */

/* Loads path with mods; prints every error ("file:line: message") to stderr. 0 or -1. */
int crgw_cmd_load_config(const char *path, crgw_cmd_modules mods, struct crgw_config **out);

#endif
