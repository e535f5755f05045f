/* cmd_dht.h: chorusctl's DHT commands (cmd_dht.c), for the table in
 * commands.c: dht put, dht get, dht lookup, dht status, dht bootstrap,
 * dht announce, dht peers.  The wire commands are the discovery
 * service's dht_* (docs/dht.md). */
#ifndef CHORUSCTL_CMD_DHT_H
#define CHORUSCTL_CMD_DHT_H

#include "chorusctl.h"

/* dht put [--name NAME] VALUE: {"value", "name"?}; prints the key. */
int ctl_build_dht_put(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
void ctl_print_dht_put(FILE *out, const msgpack_object *result, const ctl_done_t *done);

/* dht get KEY|PUBKEY/NAME: {"key"}; prints the value alone on a line. */
int ctl_build_dht_get(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
void ctl_print_dht_get(FILE *out, const msgpack_object *result, const ctl_done_t *done);

/* dht lookup ID: {"id"}; prints the closest nodes and the hop count. */
int ctl_build_dht_lookup(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
void ctl_print_dht_lookup(FILE *out, const msgpack_object *result, const ctl_done_t *done);

/* dht status: prints the table per bucket, storage, own items, counters. */
void ctl_print_dht_status(FILE *out, const msgpack_object *result, const ctl_done_t *done);

/* dht bootstrap HOST:PORT: {"addr"}. */
int ctl_build_dht_bootstrap(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);

/* dht announce INFOHASH [PORT]: {"info_hash", "port"} (no PORT: implied). */
int ctl_build_dht_announce(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);

/* dht peers INFOHASH: {"info_hash"}; prints one HOST:PORT per line. */
int ctl_build_dht_peers(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req);
void ctl_print_dht_peers(FILE *out, const msgpack_object *result, const ctl_done_t *done);

#endif
