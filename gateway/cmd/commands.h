/*
 * commands: the entry points of `crgw <command>`. Each returns the process exit status.
 */
#ifndef CRGW_COMMANDS_H
#define CRGW_COMMANDS_H

int crgw_cmd_serve(int argc, char **argv);        /* gateway/server/server.c */
int crgw_cmd_check_config(int argc, char **argv); /* gateway/cmd/cmd_check.c */
int crgw_cmd_translate(int argc, char **argv);    /* gateway/cmd/cmd_translate.c */
int crgw_cmd_verify(int argc, char **argv);       /* gateway/cmd/cmd_verify.c */
int crgw_cmd_sign(int argc, char **argv);         /* gateway/cmd/cmd_verify.c */

#endif
