/* cmd_relay.h: chorusctl's relay commands (cmd_relay.c), for the table in
 * commands.c. */
#ifndef CHORUSCTL_CMD_RELAY_H
#define CHORUSCTL_CMD_RELAY_H

#include "chorusctl.h"

/* block submit [--top N | ID...] [--height H] [--prev HEX]: the
 * block_submit request; and its printer. */
int ctl_build_block_submit(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
void ctl_print_block_submit(FILE *out, const msgpack_object *result, const ctl_done_t *done);

/* relay peers: a table of the relay's per-peer counters. */
void ctl_print_relay_peers(FILE *out, const msgpack_object *result, const ctl_done_t *done);

/* producers set|add|remove KEY...: the request; producers *: the printer. */
int ctl_build_producers(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
void ctl_print_producers(FILE *out, const msgpack_object *result, const ctl_done_t *done);

#endif
