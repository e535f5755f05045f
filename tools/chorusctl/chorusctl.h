/* chorusctl.h: the pieces of chorusctl shared by its files.
 *
 * chorusctl.c holds main, global flags, the request runner and the shell;
 * commands.c holds the command table with each command's argument parser
 * and printer.  Adding a command is one entry in ctl_cmds[] (commands.c):
 *
 *   {.name = "mempool info", .target = "mempool", .cmd = "info",
 *    .help = "pool size and fee floor"},
 *   {.name = "connect", .args = "HOST:PORT", .target = "transport",
 *    .help = "dial a peer", .build = build_connect, .print = print_connect},
 *
 * name is what the user types (one or more words; the longest match wins);
 * target the process whose command socket gets the request; cmd the wire
 * "cmd" (default: name); build turns the remaining words into the request
 * map (NULL: {"cmd": cmd} and no arguments allowed); print shows the
 * result (NULL: one "key: value" line per field); local runs the command
 * inside chorusctl instead of sending a request (help, shell). */
#ifndef CHORUSCTL_H
#define CHORUSCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl.h"
#include "mp.h"

/* Exit statuses of docs/control.md. */
enum ctl_exit {
	CTL_EXIT_OK = 0,       /* success */
	CTL_EXIT_ERROR = 1,    /* an error reply (or a malformed one) */
	CTL_EXIT_NOANSWER = 2, /* the process did not answer */
	CTL_EXIT_USAGE = 64,   /* bad flags, arguments or unknown command */
};

/* Longest process name ("discovery"), NUL included, with room to spare. */
#define CTL_TARGET_MAX 32

/* Global settings: the flags before (or after) the command. */
typedef struct {
	char datadir[CH_CTL_PATH_MAX];
	bool json;
	int64_t timeout_ms;
	bool help;
} ctl_settings_t;

/* What one command line runs with: settings, the resolved datadir, the
 * process-wide ZeroMQ context, and whether it runs inside the shell. */
typedef struct {
	ctl_settings_t set;
	char datadir[CH_CTL_PATH_MAX]; /* absolute, from set.datadir */
	void *zctx;
	bool in_shell;
} ctl_ctx_t;

/* A request being built by a command's parser. */
typedef struct {
	ch_mpw_t w;                  /* the whole request map */
	char target[CTL_TARGET_MAX]; /* process to ask; preset from the entry */
	char err[256];               /* why the arguments were refused */
} ctl_req_t;

/* A finished call, for printers that show where and how fast. */
typedef struct {
	const char *target;
	const char *endpoint;
	double rtt_ms;
} ctl_done_t;

typedef struct ctl_cmd ctl_cmd_t;

/* One command of the table (see the top of this file). */
struct ctl_cmd {
	const char *name;   /* words as typed: "status", "tx submit" */
	const char *args;   /* argument synopsis for usage: "[SERVICE]", "" */
	const char *help;   /* one line */
	const char *target; /* chorusd, transport, discovery, relay, mempool */
	const char *cmd;    /* wire "cmd"; NULL means name */
	/* fills req->w from argv (the words after the name); returns 0 or
	 * CH_EINVAL with req->err set (a usage error, exit 64) */
	int (*build)(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
	/* prints a successful result (may be NULL) to out */
	void (*print)(FILE *out, const msgpack_object *result, const ctl_done_t *done);
	/* runs the command locally; returns an exit status */
	int (*local)(ctl_ctx_t *cx, const ctl_cmd_t *c, int argc, char **argv);
};

/* The table and its size (commands.c). */
extern const ctl_cmd_t ctl_cmds[];
extern const size_t ctl_ncmds;

/* ctl_cmd_find: the entry whose words are the longest prefix of argv;
 * *words gets how many argv items its name used.  NULL if none. */
const ctl_cmd_t *ctl_cmd_find(int argc, char **argv, int *words);

/* ctl_cmd_wire: the wire "cmd" of an entry. */
const char *ctl_cmd_wire(const ctl_cmd_t *c);

/* ctl_list_commands: prints one "  name args  help" line per command. */
void ctl_list_commands(FILE *out);

/* ctl_is_process: true if name is one of the five process names. */
bool ctl_is_process(const char *name);

/* ctl_req_begin: starts the request map with n argument pairs after "cmd"
 * (the builder then writes exactly n pairs).  Returns the writer's error. */
int ctl_req_begin(ctl_req_t *req, const ctl_cmd_t *c, size_t n);

/* ctl_print_json: prints o as one JSON line; returns 0 or a CH_E* code. */
int ctl_print_json(FILE *out, const msgpack_object *o);

/* ctl_print_generic: the fallback printer (one "key: value" line per field
 * of a map, list items indented; anything else on one line). */
void ctl_print_generic(FILE *out, const msgpack_object *result, const ctl_done_t *done);

/* ctl_send: sends a built request to req->target and prints the outcome
 * per the settings (--json or c->print); returns an exit status
 * (chorusctl.c). */
int ctl_send(ctl_ctx_t *cx, const ctl_cmd_t *c, ctl_req_t *req);

/* ctl_shell: the "shell" command: runs stdin line by line (chorusctl.c). */
int ctl_shell(ctl_ctx_t *cx, const ctl_cmd_t *c, int argc, char **argv);

#endif
