/* cmd_mempool.h: chorusctl's transaction and mempool commands
 * (cmd_mempool.c), for the table in commands.c. */
#ifndef CHORUSCTL_CMD_MEMPOOL_H
#define CHORUSCTL_CMD_MEMPOOL_H

#include "chorusctl.h"

/* tx submit HEX | --random [--fee N] [--count N]: runs locally; exit 0 if
 * every transaction was accepted, 1 if one was rejected. */
int ctl_local_tx_submit(ctl_ctx_t *cx, const ctl_cmd_t *c, int argc, char **argv);

/* tx get ID: {"id": 32 bytes}. */
int ctl_build_tx_get(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);

/* mempool list [--top N]: {"n": N}, and its table printer. */
int ctl_build_mempool_list(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
void ctl_print_mempool_list(FILE *out, const msgpack_object *result, const ctl_done_t *done);

#endif
