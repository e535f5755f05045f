/* api.h: chorus-mempool inside the service frame: the frame's hooks and
 * the ZeroMQ commands (docs/mempool.md lists requests and replies).
 *
 * Commands: submit, get, top, info, remove_block.  Events on PUB:
 * event.mempool.accepted / rejected / removed / block. */
#ifndef CH_MEMPOOL_API_H
#define CH_MEMPOOL_API_H

#include "service.h"

extern const ch_svc_cmd_t mp_api_cmds[];
extern const size_t mp_api_ncmds;

/* The frame hooks (service.h). */
int mp_api_init(ch_svc_t *svc, void **user);
int mp_api_work(ch_svc_t *svc, void *user, uint64_t now_ns);
int mp_api_status(ch_svc_t *svc, void *user, ch_mpw_t *w);
int mp_api_drain(ch_svc_t *svc, void *user);
void mp_api_fini(ch_svc_t *svc, void *user);

#endif
