/* cmd_mempool.c: chorusctl's transaction and mempool commands
 * (docs/mempool.md):
 *
 *   tx submit HEX                                 one encoded transaction
 *   tx submit --random [--fee N] [--count N]      signed with throwaway keys
 *   tx get ID
 *   mempool info
 *   mempool list [--top N]
 *
 * tx submit runs locally (it may send several requests and its exit status
 * says whether every transaction was accepted); the others are ordinary
 * table entries with a builder and a printer. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chorusctl.h"
#include "err.h"
#include "hash.h"
#include "mpjson.h"
#include "tx.h"

/* Transactions per submit request of --random (the service takes 4096). */
#define RANDOM_BATCH 500
/* Transactions signed by one throwaway key: below the per-sender limit. */
#define RANDOM_PER_KEY 50
/* Most transactions one --random run makes. */
#define RANDOM_MAX 1000000
/* Largest transaction size --random makes (for its default fee). */
#define RANDOM_SIZE_MAX (149 + 64)

/* parse_u64: a decimal number within [min, max]. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return CH_EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return CH_EINVAL;
	*out = v;
	return 0;
}

/* field_hex: a bin field of a map as hex into buf ("-" if absent). */
static const char *field_hex(const msgpack_object *m, const char *key, char *buf, size_t cap)
{
	const void *p;
	size_t n;
	snprintf(buf, cap, "-");
	if (m && m->type == MSGPACK_OBJECT_MAP && ch_mp_get_bin(m, key, &p, &n) == 0 &&
	    ch_hex_encode(buf, cap, p, n) != 0)
		snprintf(buf, cap, "?");
	return buf;
}

/* field_num: a numeric field as a double (NAN if absent). */
static double field_num(const msgpack_object *m, const char *key)
{
	const msgpack_object *v;
	if (!m || m->type != MSGPACK_OBJECT_MAP || ch_mp_map_get(m, key, &v) != 0)
		return NAN;
	if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32)
		return v->via.f64;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (double)v->via.u64;
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return (double)v->via.i64;
	return NAN;
}

/* field_str: a string field copied into buf ("" if absent). */
static const char *field_str(const msgpack_object *m, const char *key, char *buf, size_t cap)
{
	const char *s;
	size_t n;
	buf[0] = 0;
	if (m && m->type == MSGPACK_OBJECT_MAP && ch_mp_get_str(m, key, &s, &n) == 0) {
		if (n >= cap)
			n = cap - 1;
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
		buf[n] = 0;
	}
	return buf;
}

/* ---------------------------------------------------------------- submit */

/* One submit request on its way. */
typedef struct sub_batch {
	ch_mpw_t w;
	uint32_t n;
} sub_batch_t;

/* call_mempool: sends one request to the mempool and hands back the
 * result; returns an exit status (printing the failure). */
static int call_mempool(ctl_ctx_t *cx, const ch_mpw_t *w, ch_mpr_t *reply,
                        const msgpack_object **result)
{
	char ep[CH_CTL_ENDPOINT_MAX];
	struct stat st;
	ch_ctl_reply_t rep;
	if (ch_ctl_endpoint(cx->datadir, "mempool", "cmd", ep, sizeof(ep)) != 0) {
		fprintf(stderr, "chorusctl: tx submit: datadir %s is too long for a socket path\n",
		        cx->datadir);
		return CTL_EXIT_USAGE;
	}
	if (stat(ep + strlen("ipc://"), &st) != 0 && errno == ENOENT) {
		fprintf(stderr, "chorusctl: no answer from mempool at %s (is the node running?)\n",
		        ep);
		return CTL_EXIT_NOANSWER;
	}
	int rc = ch_ctl_call(cx->zctx, ep, ch_mpw_data(w), ch_mpw_size(w), reply,
	                     (int)cx->set.timeout_ms);
	if (rc == CH_ETIMEDOUT || rc == CH_ECLOSED || rc == CH_EIO) {
		fprintf(stderr, "chorusctl: no answer from mempool at %s (is the node running?)\n",
		        ep);
		return CTL_EXIT_NOANSWER;
	}
	if (rc == 0)
		rc = ch_ctl_reply_get(reply, &rep);
	if (rc != 0) {
		fprintf(stderr, "chorusctl: tx submit: %s\n", ch_strerror(rc));
		return CTL_EXIT_ERROR;
	}
	if (!rep.ok) {
		const msgpack_object *root;
		if (cx->set.json && ch_mpr_root(reply, &root) == 0)
			ctl_print_json(stdout, root);
		fprintf(stderr, "chorusctl: tx submit: %s\n", rep.message);
		return CTL_EXIT_ERROR;
	}
	*result = rep.result;
	return CTL_EXIT_OK;
}

/* print_verdict: one submit result, as JSON or as one line; returns
 * whether it was accepted. */
static bool print_verdict(const ctl_ctx_t *cx, const msgpack_object *r)
{
	bool acc = false;
	char id[2 * CH_TXID_LEN + 1], name[32], msg[256];
	if (r && r->type == MSGPACK_OBJECT_MAP)
		ch_mp_get_bool(r, "accepted", &acc);
	if (cx->set.json) {
		ctl_print_json(stdout, r);
		return acc;
	}
	field_hex(r, "id", id, sizeof(id));
	if (acc)
		printf("accepted %s fee_rate %.3f\n", id, field_num(r, "fee_rate"));
	else
		printf("rejected %s %s: %s\n", id, field_str(r, "reason_name", name, sizeof(name)),
		       field_str(r, "message", msg, sizeof(msg)));
	return acc;
}

/* send_batch: submits a batch of txs and prints each result; *rejected
 * counts the refused ones.  Returns an exit status. */
static int send_batch(ctl_ctx_t *cx, sub_batch_t *b, uint32_t *rejected)
{
	ch_mpr_t reply;
	const msgpack_object *res = NULL, *list;
	ch_mpr_init(&reply, 0);
	int st = call_mempool(cx, &b->w, &reply, &res);
	if (st == CTL_EXIT_OK) {
		if (!res || res->type != MSGPACK_OBJECT_MAP ||
		    ch_mp_map_get(res, "results", &list) || list->type != MSGPACK_OBJECT_ARRAY ||
		    list->via.array.size != b->n) {
			fprintf(stderr, "chorusctl: tx submit: malformed reply\n");
			st = CTL_EXIT_ERROR;
		} else {
			for (uint32_t i = 0; i < list->via.array.size; i++)
				if (!print_verdict(cx, &list->via.array.ptr[i]))
					(*rejected)++;
		}
	}
	ch_mpr_free(&reply);
	return st;
}

/* submit_hex: tx submit HEX. */
static int submit_hex(ctl_ctx_t *cx, const char *hex)
{
	size_t hl = strlen(hex), len;
	if (hl > 2 * MP_TX_MAX_SIZE) {
		fprintf(stderr, "chorusctl: tx submit: more than %d bytes of hex\n",
		        MP_TX_MAX_SIZE);
		return CTL_EXIT_USAGE;
	}
	uint8_t *tx = malloc(hl / 2 + 1);
	if (!tx)
		return CTL_EXIT_ERROR;
	if (ch_hex_decode(tx, hl / 2 + 1, hex, &len) != 0 || len == 0) {
		free(tx);
		fprintf(stderr,
		        "chorusctl: tx submit: HEX must be an even number of hex digits "
		        "(usage: chorusctl tx submit HEX|--random [--fee N] [--count N])\n");
		return CTL_EXIT_USAGE;
	}
	ch_mpw_t w;
	ch_mpw_init(&w);
	ch_mpw_map(&w, 2);
	ch_mpw_kv_str(&w, "cmd", "submit");
	ch_mpw_kv_bin(&w, "tx", tx, len);
	free(tx);
	ch_mpr_t reply;
	const msgpack_object *res = NULL;
	ch_mpr_init(&reply, 0);
	int st = call_mempool(cx, &w, &reply, &res);
	if (st == CTL_EXIT_OK && !print_verdict(cx, res))
		st = CTL_EXIT_ERROR;
	ch_mpr_free(&reply);
	ch_mpw_free(&w);
	return st;
}

/* submit_random: tx submit --random: count transactions with random data,
 * signed by throwaway keys (a new one every RANDOM_PER_KEY), random
 * nonces, and fee N (default: a random rate of 2-100 per byte).  Sent in
 * batches of RANDOM_BATCH; each result is printed. */
static int submit_random(ctl_ctx_t *cx, bool have_fee, uint64_t fee, uint64_t count)
{
	ch_seckey_t sk;
	ch_pubkey_t pk;
	uint8_t enc[RANDOM_SIZE_MAX + 16], data[64];
	uint32_t rejected = 0;
	int status = CTL_EXIT_OK;
	sub_batch_t b;
	if (ch_crypto_init() != 0) {
		fprintf(stderr, "chorusctl: tx submit: libsodium cannot start\n");
		return CTL_EXIT_ERROR;
	}
	uint64_t nonce;
	randombytes_buf(&nonce, sizeof(nonce));
	nonce >>= 1; /* room to count up */
	ch_mpw_init(&b.w);
	for (uint64_t i = 0; i < count && status == CTL_EXIT_OK; i += b.n) {
		uint32_t n = count - i < RANDOM_BATCH ? (uint32_t)(count - i) : RANDOM_BATCH;
		ch_mpw_reset(&b.w);
		ch_mpw_map(&b.w, 2);
		ch_mpw_kv_str(&b.w, "cmd", "submit");
		ch_mpw_key(&b.w, "txs");
		ch_mpw_array(&b.w, n);
		b.n = n;
		for (uint32_t k = 0; k < n && status == CTL_EXIT_OK; k++) {
			size_t dlen = 16 + randombytes_uniform(49), len;
			if ((i + k) % RANDOM_PER_KEY == 0 && ch_ed25519_keypair(&pk, &sk) != 0)
				status = CTL_EXIT_ERROR;
			randombytes_buf(data, dlen);
			uint64_t f =
			    have_fee ? fee : (2 + randombytes_uniform(99)) * RANDOM_SIZE_MAX;
			if (status == CTL_EXIT_OK &&
			    mp_tx_encode(enc, sizeof(enc), &sk, nonce++, f, data, dlen, &len, NULL))
				status = CTL_EXIT_ERROR;
			if (status == CTL_EXIT_OK) {
				msgpack_pack_bin(&b.w.pk, len);
				msgpack_pack_bin_body(&b.w.pk, enc, len);
			}
		}
		if (status != CTL_EXIT_OK) {
			fprintf(stderr,
			        "chorusctl: tx submit: cannot make or sign a transaction\n");
			break;
		}
		status = send_batch(cx, &b, &rejected);
	}
	ch_seckey_wipe(&sk);
	ch_mpw_free(&b.w);
	if (!cx->set.json && count > 1 && status == CTL_EXIT_OK)
		printf("%" PRIu64 " submitted: %" PRIu64 " accepted, %u rejected\n", count,
		       count - rejected, rejected);
	return status == CTL_EXIT_OK && rejected ? CTL_EXIT_ERROR : status;
}

/* local_tx_submit: tx submit HEX | --random [--fee N] [--count N]. */
int ctl_local_tx_submit(ctl_ctx_t *cx, const ctl_cmd_t *c, int argc, char **argv)
{
	bool random = false, have_fee = false;
	uint64_t fee = 0, count = 1;
	const char *hex = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--random") == 0) {
			random = true;
		} else if (strcmp(argv[i], "--fee") == 0 && i + 1 < argc &&
		           parse_u64(argv[i + 1], 0, UINT64_MAX, &fee) == 0) {
			have_fee = true;
			i++;
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc &&
		           parse_u64(argv[i + 1], 1, RANDOM_MAX, &count) == 0) {
			i++;
		} else if (argv[i][0] != '-' && !hex) {
			hex = argv[i];
		} else {
			fprintf(
			    stderr,
			    "chorusctl: tx submit: bad argument '%s' (usage: chorusctl tx submit "
			    "%s)\n",
			    argv[i], c->args);
			return CTL_EXIT_USAGE;
		}
	}
	if (random == (hex != NULL) || (!random && (have_fee || count != 1))) {
		fprintf(stderr,
		        "chorusctl: tx submit: give HEX or --random (usage: chorusctl tx "
		        "submit %s)\n",
		        c->args);
		return CTL_EXIT_USAGE;
	}
	return random ? submit_random(cx, have_fee, fee, count) : submit_hex(cx, hex);
}

/* ---------------------------------------------------------------- get */

/* tx get ID: the id as 64 hex digits, sent as binary. */
int ctl_build_tx_get(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	uint8_t id[CH_TXID_LEN];
	size_t n;
	if (argc != 1 || strlen(argv[0]) != 2 * CH_TXID_LEN ||
	    ch_hex_decode(id, sizeof(id), argv[0], &n) != 0) {
		snprintf(req->err, sizeof(req->err), "ID must be 64 hex digits");
		return CH_EINVAL;
	}
	ctl_req_begin(req, c, 1);
	ch_mpw_kv_bin(&req->w, "id", id, sizeof(id));
	return ch_mpw_error(&req->w);
}

/* ---------------------------------------------------------------- list */

/* mempool list [--top N]: asks for the N best (default 20). */
int ctl_build_mempool_list(const ctl_cmd_t *c, int argc, char **argv, ctl_req_t *req)
{
	uint64_t n = 20;
	if (argc == 2 && strcmp(argv[0], "--top") == 0) {
		if (parse_u64(argv[1], 0, 1000, &n) != 0) {
			snprintf(req->err, sizeof(req->err), "--top takes a number from 0 to 1000");
			return CH_EINVAL;
		}
	} else if (argc != 0) {
		snprintf(req->err, sizeof(req->err), "unexpected argument '%s'", argv[0]);
		return CH_EINVAL;
	}
	ctl_req_begin(req, c, 1);
	ch_mpw_kv_u64(&req->w, "n", n);
	return ch_mpw_error(&req->w);
}

/* print_mempool_list: one line per transaction, best first. */
void ctl_print_mempool_list(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	const msgpack_object *txs;
	char id[2 * CH_TXID_LEN + 1];
	if (!res || res->type != MSGPACK_OBJECT_MAP || ch_mp_map_get(res, "txs", &txs) != 0 ||
	    txs->type != MSGPACK_OBJECT_ARRAY) {
		ctl_print_generic(out, res, done);
		return;
	}
	if (txs->via.array.size == 0) {
		fprintf(out, "the pool is empty\n");
		return;
	}
	fprintf(out, "%-64s %12s %14s %6s %10s\n", "ID", "FEE_RATE", "FEE", "SIZE", "AGE_MS");
	for (uint32_t i = 0; i < txs->via.array.size; i++) {
		const msgpack_object *t = &txs->via.array.ptr[i];
		fprintf(out, "%-64s %12.3f %14.0f %6.0f %10.0f\n",
		        field_hex(t, "id", id, sizeof(id)), field_num(t, "fee_rate"),
		        field_num(t, "fee"), field_num(t, "size"), field_num(t, "age_ms"));
	}
}
