/* chorus-discovery: the discovery service: the BitTorrent-compatible DHT
 * (BEP 5, BEP 44) of svc.h, run in the common service frame
 * (common/service.h). */
#include "svc.h"

/* main: the discovery service in the common frame. */
int main(int argc, char **argv)
{
	return ch_svc_main(&disc_ops, argc, argv);
}
