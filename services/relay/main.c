/* chorus-relay: the relay service.  Its own logic arrives with its issue; until
 * then it runs in the common service frame (common/service.h): joins its
 * rings, answers ping/status/help, heartbeats, publishes metrics, and stops
 * in order on SIGTERM. */
#include "service.h"

static const ch_svc_ops_t relay_ops = {
    .name = "relay",
};

int main(int argc, char **argv)
{
	return ch_svc_main(&relay_ops, argc, argv);
}
