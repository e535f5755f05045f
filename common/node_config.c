/* node_config.c: the node's settings schema and its checks (see the header). */
#include "node_config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "ring.h"

typedef ch_node_config_t C;

static const ch_cfg_opt_t node_opts[] = {
    {.key = "config",
     .type = CH_CFG_STR,
     .flags = CH_CFG_ARGONLY,
     .help = "read settings from this file (flags win over it)",
     CH_CFG_AT(C, config)},
    {.key = "datadir",
     .type = CH_CFG_STR,
     .def = "",
     .help = "node data folder (default ~/.chorus)",
     CH_CFG_AT(C, datadir)},
    {.key = "listen",
     .type = CH_CFG_HOSTPORT,
     .def = ":7433",
     .help = "TCP address for peers, HOST:PORT or :PORT",
     CH_CFG_AT(C, listen)},
    {.key = "dht-port",
     .type = CH_CFG_INT,
     .def = "0",
     .min = 0,
     .max = 65535,
     .help = "UDP port of the DHT (0: the listen port)",
     CH_CFG_AT(C, dht_port)},
    {.key = "seed",
     .type = CH_CFG_HOSTPORT,
     .flags = CH_CFG_MULTI,
     .help = "seed peer HOST:PORT (repeatable)",
     CH_CFG_AT(C, seeds)},
    {.key = "network",
     .type = CH_CFG_STR,
     .def = "main",
     .help = "network name; peers of other networks are refused",
     CH_CFG_AT(C, network)},
    {.key = "max-peers",
     .type = CH_CFG_INT,
     .def = "125",
     .min = 1,
     .max = 4096,
     .help = "most connected peers",
     CH_CFG_AT(C, max_peers)},
    {.key = "log-level",
     .type = CH_CFG_LOGLEVEL,
     .def = "info",
     .help = "error, warn, info or debug",
     CH_CFG_AT(C, log_level)},
    {.key = "log-file",
     .type = CH_CFG_STR,
     .def = "",
     .help = "log to this file (default: stderr; datadir/chorus.log in the background)",
     CH_CFG_AT(C, log_file)},
    {.key = "foreground",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE,
     .help = "stay in the foreground instead of detaching",
     CH_CFG_AT(C, foreground)},
    {.key = "metrics-listen",
     .type = CH_CFG_HOSTPORT,
     .help = "serve Prometheus metrics at http://HOST:PORT/metrics (off when unset)",
     CH_CFG_AT(C, metrics_listen)},
    {.key = "heartbeat-timeout",
     .type = CH_CFG_DURATION,
     .def = "5s",
     .min = 200,
     .max = 3600000,
     .help = "restart a service silent for this long",
     CH_CFG_AT(C, heartbeat_timeout_ms)},
    {.key = "restart-backoff-max",
     .type = CH_CFG_DURATION,
     .def = "30s",
     .min = 10,
     .max = 3600000,
     .help = "longest wait before restarting a crash-looping service",
     CH_CFG_AT(C, restart_backoff_max_ms)},
    {.key = "restart-stable",
     .type = CH_CFG_DURATION,
     .def = "10s",
     .min = 100,
     .max = 3600000,
     .help = "uptime after which a service's crash count resets",
     CH_CFG_AT(C, restart_stable_ms)},
    {.key = "stop-timeout",
     .type = CH_CFG_DURATION,
     .def = "10s",
     .min = 100,
     .max = 600000,
     .help = "orderly shutdown time before SIGKILL",
     CH_CFG_AT(C, stop_timeout_ms)},
    {.key = "max-outbound",
     .type = CH_CFG_INT,
     .def = "8",
     .min = 0,
     .max = 1024,
     .help = "outbound connections to keep (part of max-peers)",
     CH_CFG_AT(C, max_outbound)},
    {.key = "io-threads",
     .type = CH_CFG_INT,
     .def = "0",
     .min = 0,
     .max = 16,
     .help = "transport I/O threads (0: one per core)",
     CH_CFG_AT(C, io_threads)},
    {.key = "ban-time",
     .type = CH_CFG_DURATION,
     .def = "24h",
     .min = 1000,
     .max = 31536000000LL,
     .help = "how long a misbehaving address stays banned",
     CH_CFG_AT(C, ban_time_ms)},
    {.key = "handshake-timeout",
     .type = CH_CFG_DURATION,
     .def = "5s",
     .min = 100,
     .max = 600000,
     .help = "time a new connection has to finish its handshake",
     CH_CFG_AT(C, handshake_timeout_ms)},
    {.key = "idle-timeout",
     .type = CH_CFG_DURATION,
     .def = "90s",
     .min = 1000,
     .max = 86400000,
     .help = "close a peer silent for this long (pings every 15 s)",
     CH_CFG_AT(C, idle_timeout_ms)},
    {.key = "send-timeout",
     .type = CH_CFG_DURATION,
     .def = "30s",
     .min = 100,
     .max = 86400000,
     .help = "close (and score) a peer whose socket takes none of our bytes for this long",
     CH_CFG_AT(C, send_timeout_ms)},
    {.key = "ping-timeout",
     .type = CH_CFG_DURATION,
     .def = "30s",
     .min = 100,
     .max = 86400000,
     .help = "close a peer that leaves our PING unanswered this long",
     CH_CFG_AT(C, ping_timeout_ms)},
    {.key = "max-per-group",
     .type = CH_CFG_INT,
     .def = "8",
     .min = 1,
     .max = 4096,
     .help = "inbound peers per address group (see netgroup)",
     CH_CFG_AT(C, max_per_group)},
    {.key = "netgroup",
     .type = CH_CFG_STR,
     .def = "auto",
     .help = "address groups: auto (public /16 or /32; a private address alone; loopback "
             "address and port), prefix (/16 or /32 always) or address",
     CH_CFG_AT(C, netgroup)},
    {.key = "max-handshakes",
     .type = CH_CFG_INT,
     .def = "64",
     .min = 1,
     .max = 4096,
     .help = "connections in their handshake at once",
     CH_CFG_AT(C, max_handshakes)},
    {.key = "peer-msg-rate",
     .type = CH_CFG_INT,
     .def = "200000",
     .min = 1,
     .max = 100000000,
     .help = "messages per second a peer may send (burst: twice that)",
     CH_CFG_AT(C, peer_msg_rate)},
    {.key = "peer-byte-rate",
     .type = CH_CFG_SIZE,
     .def = "256m",
     .min = 1024,
     .max = 1099511627776LL,
     .help = "bytes per second a peer may send (burst: twice that)",
     CH_CFG_AT(C, peer_byte_rate)},
    {.key = "cipher",
     .type = CH_CFG_STR,
     .def = "auto",
     .help = "auto (AES-256-GCM with AES-NI, else ChaCha20-Poly1305) or chacha20-poly1305",
     CH_CFG_AT(C, cipher)},
    {.key = "mempool-max-count",
     .type = CH_CFG_INT,
     .def = "50000",
     .min = 1,
     .max = 10000000,
     .help = "most transactions in the pool",
     CH_CFG_AT(C, mempool_max_count)},
    {.key = "mempool-max-bytes",
     .type = CH_CFG_SIZE,
     .def = "16m",
     .min = 64 * 1024,
     .max = 16LL << 30,
     .help = "most bytes of transactions in the pool",
     CH_CFG_AT(C, mempool_max_bytes)},
    {.key = "mempool-per-sender",
     .type = CH_CFG_INT,
     .def = "100",
     .min = 1,
     .max = 1000000,
     .help = "most pooled transactions from one key",
     CH_CFG_AT(C, mempool_per_sender)},
    {.key = "mempool-replace-bump",
     .type = CH_CFG_INT,
     .def = "10",
     .min = 1,
     .max = 1000,
     .help = "percent more fee a replacement of (from, nonce) must pay",
     CH_CFG_AT(C, mempool_replace_bump)},
    {.key = "mempool-expiry",
     .type = CH_CFG_DURATION,
     .def = "24h",
     .min = 1000,
     .max = 31536000000LL,
     .help = "age at which a pooled transaction expires",
     CH_CFG_AT(C, mempool_expiry_ms)},
    {.key = "mempool-min-fee-rate",
     .type = CH_CFG_INT,
     .def = "1",
     .min = 0,
     .max = 1000000000,
     .help = "lowest fee per encoded byte accepted (before evictions raise it)",
     CH_CFG_AT(C, mempool_min_fee_rate)},
    {.key = "mempool-fee-halflife",
     .type = CH_CFG_DURATION,
     .def = "10m",
     .min = 1000,
     .max = 86400000,
     .help = "time in which a raised minimum fee rate halves back",
     CH_CFG_AT(C, mempool_fee_halflife_ms)},
    {.key = "producer",
     .type = CH_CFG_STR,
     .flags = CH_CFG_MULTI,
     .help = "public key (64 hex digits) allowed to produce blocks (none: any key, with a "
             "warning; DATADIR/producers wins once chorusctl producers wrote it)",
     CH_CFG_AT(C, producers)},
    {.key = "ring-size",
     .type = CH_CFG_SIZE,
     .def = "4m",
     .min = 256 * 1024,
     .max = 1024L * 1024 * 1024,
     .help = "bytes of each shared-memory ring (a power of two)",
     CH_CFG_AT(C, ring_size)},
    {.key = "ring-max-msg",
     .type = CH_CFG_SIZE,
     .def = "0",
     .min = 0,
     .max = 64L * 1024 * 1024,
     .help = "largest message through a ring (0: a quarter of ring-size, 64k to 1m)",
     CH_CFG_AT(C, ring_max_msg)},
    {.key = "ring-spin-us",
     .type = CH_CFG_INT,
     .def = "0",
     .min = 0,
     .max = 1000000,
     .help = "microseconds a service spins on its rings before sleeping (0: sleep at once; 50-200 "
             "with cores to spare)",
     CH_CFG_AT(C, ring_spin_us)},
    {.key = "help",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE | CH_CFG_ARGONLY,
     .help = "print this help",
     CH_CFG_AT(C, help)},
    {.key = "version",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE | CH_CFG_ARGONLY,
     .help = "print the version",
     CH_CFG_AT(C, version)},
    {.key = "print-config",
     .type = CH_CFG_BOOL,
     .flags = CH_CFG_NOVALUE | CH_CFG_ARGONLY,
     .help = "print the effective configuration, each value with where it came from, and exit",
     CH_CFG_AT(C, print_config)},
};

#define NOPTS (sizeof(node_opts) / sizeof(node_opts[0]))
_Static_assert(NOPTS <= CH_NODE_CONFIG_KEYS_MAX, "raise CH_NODE_CONFIG_KEYS_MAX");

/* opt_index: the schema position of key (it must exist). */
static size_t opt_index(const char *key)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(node_opts[i].key, key) == 0)
			return i;
	return 0;
}

/* derived: marks key as computed from other values. */
static void derived(ch_node_config_t *c, const char *key)
{
	c->from[opt_index(key)] = CH_CFG_FROM_DERIVED;
}

void ch_node_config_print(const ch_node_config_t *c, FILE *out)
{
	ch_cfg_print(node_opts, NOPTS, c, c->from, out);
}

void ch_node_config_usage(FILE *out)
{
	ch_cfg_usage(node_opts, NOPTS, out);
}

/* network_ok: network names go into the wire magic and the DHT info-hash,
 * so keep them to a portable alphabet. */
static bool network_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

int ch_node_config_load(ch_node_config_t *c, int argc, char **argv, int *argi_out, char *err,
                        size_t errcap)
{
	memset(c, 0, sizeof(*c));
	int rc = ch_cfg_defaults(node_opts, NOPTS, c, err, errcap);
	if (rc)
		return rc;
	const char *path = NULL;
	if (ch_cfg_find_arg(node_opts, NOPTS, argc, argv, "config", &path) == 0) {
		rc = ch_cfg_parse_file_from(node_opts, NOPTS, c, path, c->from, err, errcap);
		if (rc)
			return rc;
	}
	rc =
	    ch_cfg_parse_args_from(node_opts, NOPTS, c, argc, argv, argi_out, c->from, err, errcap);
	if (rc)
		return rc;
	if (c->help || c->version)
		return 0;
	if (!c->datadir[0]) {
		const char *home = getenv("HOME");
		if (!home || !*home) {
			snprintf(err, errcap, "datadir: not set and $HOME is empty");
			return CH_EINVAL;
		}
		if ((size_t)snprintf(c->datadir, sizeof(c->datadir), "%s/.chorus", home) >=
		    sizeof(c->datadir)) {
			snprintf(err, errcap, "datadir: $HOME/.chorus is too long");
			return CH_EINVAL;
		}
		derived(c, "datadir");
	}
	if (c->dht_port == 0) {
		c->dht_port = c->listen.port;
		derived(c, "dht-port");
	}
	if (!network_ok(c->network)) {
		snprintf(err, errcap, "network: \"%s\" must be lowercase letters, digits and '-'",
		         c->network);
		return CH_EINVAL;
	}
	if (strcmp(c->cipher, "auto") != 0 && strcmp(c->cipher, "chacha20-poly1305") != 0) {
		snprintf(err, errcap, "cipher: \"%s\" is not auto or chacha20-poly1305", c->cipher);
		return CH_EINVAL;
	}
	if (ch_netgroup_mode_parse(c->netgroup, &c->netgroup_mode) != 0) {
		snprintf(err, errcap, "netgroup: \"%s\" is not auto, prefix or address",
		         c->netgroup);
		return CH_EINVAL;
	}
	if (c->max_outbound >= c->max_peers) {
		/* A user who lowered max-peers alone gets the outbound share that
		 * fits, leaving one slot for inbound; both set by hand is a
		 * contradiction to point out. */
		if (c->from[opt_index("max-outbound")] != CH_CFG_FROM_DEFAULT) {
			snprintf(
			    err, errcap,
			    "max-outbound %lld must be below max-peers %lld: lower max-outbound "
			    "or raise max-peers",
			    (long long)c->max_outbound, (long long)c->max_peers);
			return CH_EINVAL;
		}
		c->max_outbound = c->max_peers - 1;
		derived(c, "max-outbound");
	}
	for (size_t i = 0; i < c->producers.n; i++) {
		const char *k = c->producers.v[i];
		size_t len = strlen(k), j = 0;
		while (j < len && isxdigit((unsigned char)k[j]))
			j++;
		if (len != 64 || j != len) {
			snprintf(err, errcap,
			         "producer: \"%s\" is not a public key (64 hex digits)", k);
			return CH_EINVAL;
		}
	}
	if ((c->ring_size & (c->ring_size - 1)) != 0) {
		snprintf(err, errcap, "ring-size: %llu is not a power of two",
		         (unsigned long long)c->ring_size);
		return CH_EINVAL;
	}
	if (c->ring_max_msg == 0) { /* auto: a quarter of the ring, 64 KiB .. 1 MiB */
		uint64_t q = c->ring_size / 4;
		c->ring_max_msg = q < 65536 ? 65536 : q > (1u << 20) ? (1u << 20) : q;
		derived(c, "ring-max-msg");
	} else if (c->ring_max_msg < 65536) {
		snprintf(err, errcap, "ring-max-msg: %llu is below the minimum 64k",
		         (unsigned long long)c->ring_max_msg);
		return CH_EINVAL;
	}
	if (shm_ring_footprint(c->ring_size, c->ring_max_msg) == 0) {
		snprintf(err, errcap,
		         "ring-max-msg: %llu does not fit twice in ring-size %llu (with headers)",
		         (unsigned long long)c->ring_max_msg, (unsigned long long)c->ring_size);
		return CH_EINVAL;
	}
	return 0;
}
