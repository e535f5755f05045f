/* chorus-relay: the relay service (docs/relay.md): what to announce,
 * request and forward to whom, with duplicate filtering.  Everything but
 * this table lives in the service library (svc.c, core.c, cblock.c,
 * inflight.c, filter.c, rwire.c, block.c), so unit tests link it. */
#include "service.h"
#include "svc.h"

/* main: one call into the service frame (common/service.h). */
int main(int argc, char **argv)
{
	ch_svc_ops_t ops = {
	    .name = "relay",
	    .cmds = rl_svc_cmds,
	    .ncmds = rl_svc_ncmds,
	    .init = rl_svc_init,
	    .work = rl_svc_work,
	    .status = rl_svc_status,
	    .metrics = rl_svc_status,
	    .drain = rl_svc_drain,
	    .fini = rl_svc_fini,
	};
	return ch_svc_main(&ops, argc, argv);
}
