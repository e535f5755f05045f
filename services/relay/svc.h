/* svc.h: chorus-relay inside the service frame (common/service.h): the
 * frame's hooks and the relay's commands (docs/relay.md).
 *
 * Commands besides ping/status/help: peers, block_submit, mode.  Events on
 * PUB: event.relay.block_received, event.relay.block_submitted,
 * event.relay.tx_relayed (at most every 100 ms). */
#ifndef CH_RELAY_SVC_H
#define CH_RELAY_SVC_H

#include "service.h"

extern const ch_svc_cmd_t rl_svc_cmds[];
extern const size_t rl_svc_ncmds;

int rl_svc_init(ch_svc_t *svc, void **user);
int rl_svc_work(ch_svc_t *svc, void *user, uint64_t now);
int rl_svc_status(ch_svc_t *svc, void *user, ch_mpw_t *w);
int rl_svc_drain(ch_svc_t *svc, void *user);
void rl_svc_fini(ch_svc_t *svc, void *user);

#endif
