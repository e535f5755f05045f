/* node_config.h: the node's settings (DESIGN.md section 2), shared by
 * chorusd and the four services.
 *
 * chorusd passes its own command line through to every service, with the
 * datadir and config file made absolute, so all five processes parse the
 * same file and flags with the same schema and agree on every value.
 * Every flag is also a config-file key; flags win over the file. */
#ifndef CH_NODE_CONFIG_H
#define CH_NODE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "netgroup.h"

/* Exit status of a process that must not be restarted (bad configuration,
 * unusable datadir): chorusd shuts the node down with a message instead.
 * 78 is EX_CONFIG from sysexits.h. */
#define CH_EXIT_FATAL 78

#define CH_NETWORK_MAX 32
#define CH_PATH_MAX    256
/* Most keys the node schema may have (the size of the from[] record). */
#define CH_NODE_CONFIG_KEYS_MAX 96

typedef struct ch_node_config {
	char config[CH_PATH_MAX];
	char datadir[CH_PATH_MAX];
	ch_hostport_t listen;
	int64_t dht_port; /* 0 in the file means: the listen port */
	ch_cfg_hostports_t seeds;
	char network[CH_NETWORK_MAX];
	int64_t max_peers;
	int log_level;
	char log_file[CH_PATH_MAX];
	bool foreground;
	ch_hostport_t metrics_listen; /* port 0: no metrics endpoint */
	/* supervision */
	uint64_t heartbeat_timeout_ms;
	uint64_t restart_backoff_max_ms;
	uint64_t restart_stable_ms;
	uint64_t stop_timeout_ms;
	/* transport */
	int64_t max_outbound;
	int64_t io_threads;
	uint64_t ban_time_ms;
	uint64_t handshake_timeout_ms;
	uint64_t idle_timeout_ms;
	uint64_t send_timeout_ms;
	uint64_t ping_timeout_ms;
	int64_t max_per_group;
	char netgroup[16];                /* auto, prefix or address */
	ch_netgroup_mode_t netgroup_mode; /* derived from netgroup */
	int64_t max_handshakes;
	int64_t peer_msg_rate;
	uint64_t peer_byte_rate;
	char cipher[24];
	/* mempool */
	int64_t mempool_max_count;
	uint64_t mempool_max_bytes;
	int64_t mempool_per_sender;
	int64_t mempool_replace_bump;
	uint64_t mempool_expiry_ms;
	int64_t mempool_min_fee_rate;
	uint64_t mempool_fee_halflife_ms;
	/* relay: the validator set (public keys, 64 hex digits, checked);
	 * DATADIR/producers wins once written (docs/relay.md) */
	ch_cfg_strs_t producers;
	/* rings */
	uint64_t ring_size;
	uint64_t ring_max_msg;
	int64_t ring_spin_us;
	/* command-line only */
	bool help;
	bool version;
	bool print_config;
	/* where each value came from (ch_cfg_from_t), by schema position */
	uint8_t from[CH_NODE_CONFIG_KEYS_MAX];
} ch_node_config_t;

/* ch_node_config_load: defaults, then the file named by --config (if any),
 * then the flags of argv.  Fills in derived values (datadir ~/.chorus,
 * dht-port = listen port, netgroup mode, max-outbound lowered to fit a
 * small max-peers when it was not set) and checks values against each
 * other.  *argi_out
 * gets the index of the first argument that is not a flag.  Returns 0, or
 * CH_EINVAL/CH_ENOENT/CH_ERANGE with a one-line message naming the key. */
int ch_node_config_load(ch_node_config_t *c, int argc, char **argv, int *argi_out, char *err,
                        size_t errcap);

/* ch_node_config_usage: prints every key with its default and help. */
void ch_node_config_usage(FILE *out);

/* ch_node_config_print: the effective configuration in config-file syntax,
 * each line saying where its value came from (default, file, flag,
 * derived). */
void ch_node_config_print(const ch_node_config_t *c, FILE *out);

#endif
