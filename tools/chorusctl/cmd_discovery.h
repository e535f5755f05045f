/* cmd_discovery.h: chorusctl's address book command (cmd_discovery.c),
 * for the table in commands.c: `addrbook` asks the discovery service's
 * `addrbook` (docs/discovery.md). */
#ifndef CHORUSCTL_CMD_DISCOVERY_H
#define CHORUSCTL_CMD_DISCOVERY_H

#include "chorusctl.h"

/* addrbook: prints the counts per table and per group, the outbound
 * connections against the target, the anchors and the recent dials. */
void ctl_print_addrbook(FILE *out, const msgpack_object *result, const ctl_done_t *done);

#endif
