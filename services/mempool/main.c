/* chorus-mempool: the mempool service (docs/mempool.md).  Validates
 * transactions, keeps them ordered by fee rate within fixed bounds,
 * journals them so that an accepted one survives any crash, answers the
 * application's commands and relay's ring records.  Everything but this
 * table lives in the service library (api.c, core.c, pool.c, journal.c,
 * tx.c), so unit tests link it. */
#include "api.h"
#include "service.h"

static const ch_svc_ops_t mempool_ops = {
    .name = "mempool",
    .cmds = mp_api_cmds,
    .init = mp_api_init,
    .work = mp_api_work,
    .status = mp_api_status,
    .metrics = mp_api_status,
    .drain = mp_api_drain,
    .fini = mp_api_fini,
};

/* main: one call into the service frame (common/service.h). */
int main(int argc, char **argv)
{
	/* ncmds is not a constant expression for the initialiser above */
	ch_svc_ops_t ops = mempool_ops;
	ops.ncmds = mp_api_ncmds;
	return ch_svc_main(&ops, argc, argv);
}
