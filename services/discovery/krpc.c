/* krpc.c: KRPC message parsing and encoding (see krpc.h). */
#include "krpc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const method_names[KRPC_M_COUNT] = {
    [KRPC_M_UNKNOWN] = "unknown",
    [KRPC_M_PING] = "ping",
    [KRPC_M_FIND_NODE] = "find_node",
    [KRPC_M_GET_PEERS] = "get_peers",
    [KRPC_M_ANNOUNCE_PEER] = "announce_peer",
    [KRPC_M_GET] = "get",
    [KRPC_M_PUT] = "put",
};

/* krpc_method_name: the wire name of a method ("find_node"); "unknown". */
const char *krpc_method_name(krpc_method_t q)
{
	return (unsigned)q < KRPC_M_COUNT ? method_names[q] : "unknown";
}

/* krpc_err_name: a short name of a parse failure reason. */
const char *krpc_err_name(krpc_err_t e)
{
	static const char *const names[KRPC_ERR_NREASONS] = {
	    [KRPC_OK] = "ok",
	    [KRPC_ERR_BENCODE] = "bencode",
	    [KRPC_ERR_NOT_DICT] = "not_dict",
	    [KRPC_ERR_TID] = "tid",
	    [KRPC_ERR_Y] = "y",
	    [KRPC_ERR_BODY] = "body",
	    [KRPC_ERR_ID] = "id",
	    [KRPC_ERR_ARG] = "arg",
	};
	return (unsigned)e < KRPC_ERR_NREASONS ? names[e] : "unknown";
}

/* method_of: the method named by s[0..n). */
static krpc_method_t method_of(const uint8_t *s, size_t n)
{
	for (int i = 1; i < KRPC_M_COUNT; i++)
		if (strlen(method_names[i]) == n && memcmp(method_names[i], s, n) == 0)
			return (krpc_method_t)i;
	return KRPC_M_UNKNOWN;
}

/* get_fixed: copies string key of dict d into out when it is exactly n
 * bytes.  Returns 1 present, 0 absent, -1 wrong type or length. */
static int get_fixed(const ben_doc_t *doc, uint32_t d, const char *key, uint8_t *out, size_t n)
{
	const uint8_t *p;
	size_t len;
	int rc = ben_get_str(doc, d, key, &p, &len);

	if (rc == -1)
		return 0;
	if (rc != 0 || len != n)
		return -1;
	memcpy(out, p, n);
	return 1;
}

/* get_span: string key of dict d as a span of at most max bytes.  Returns 1
 * present, 0 absent, -1 wrong type or too long. */
static int get_span(const ben_doc_t *doc, uint32_t d, const char *key, krpc_span_t *s, size_t max)
{
	const uint8_t *p;
	size_t len;
	int rc = ben_get_str(doc, d, key, &p, &len);

	if (rc == -1)
		return 0;
	if (rc != 0 || len > max)
		return -1;
	s->p = p;
	s->n = len;
	return 1;
}

/* get_int: integer key of dict d.  1 present, 0 absent, -1 wrong type. */
static int get_int(const ben_doc_t *doc, uint32_t d, const char *key, int64_t *out)
{
	int rc = ben_get_int(doc, d, key, out);

	return rc == 0 ? 1 : rc == -1 ? 0 : -1;
}

/* parse_body: the arguments of a query or the values of a response, from
 * dict b.  Only shapes are checked. */
static krpc_err_t parse_body(const ben_doc_t *doc, uint32_t b, krpc_msg_t *m)
{
	int32_t vi;
	int64_t ip = 0;
	int rc;

	rc = get_fixed(doc, b, "id", m->id, KRPC_ID_LEN);
	if (rc != 1)
		return KRPC_ERR_ID;
	m->has_id = true;
	if ((rc = get_fixed(doc, b, "target", m->target, KRPC_ID_LEN)) < 0)
		return KRPC_ERR_ARG;
	m->has_target = rc == 1;
	if ((rc = get_fixed(doc, b, "info_hash", m->info_hash, KRPC_ID_LEN)) < 0)
		return KRPC_ERR_ARG;
	m->has_info_hash = rc == 1;
	if (get_span(doc, b, "token", &m->token, KRPC_TOKEN_MAX) < 0)
		return KRPC_ERR_ARG;
	if ((rc = get_int(doc, b, "port", &m->port)) < 0)
		return KRPC_ERR_ARG;
	m->has_port = rc == 1;
	if (get_int(doc, b, "implied_port", &ip) < 0)
		return KRPC_ERR_ARG;
	m->implied_port = ip != 0;
	/* k and sig are fixed-size; salt may be long so that put can answer
	 * 207; it still fits a datagram. */
	if (get_span(doc, b, "k", &m->k, 32) < 0 || (m->k.p != NULL && m->k.n != 32))
		return KRPC_ERR_ARG;
	if (get_span(doc, b, "sig", &m->sig, 64) < 0 || (m->sig.p != NULL && m->sig.n != 64))
		return KRPC_ERR_ARG;
	if (get_span(doc, b, "salt", &m->salt, BEN_PKT_MAX_INPUT) < 0)
		return KRPC_ERR_ARG;
	if ((rc = get_int(doc, b, "seq", &m->seq)) < 0)
		return KRPC_ERR_ARG;
	m->has_seq = rc == 1;
	if ((rc = get_int(doc, b, "cas", &m->cas)) < 0)
		return KRPC_ERR_ARG;
	m->has_cas = rc == 1;
	vi = ben_dict_get(doc, b, "v");
	if (vi >= 0) {
		m->v.p = doc->buf + doc->toks[vi].start;
		m->v.n = doc->toks[vi].end - doc->toks[vi].start;
	}
	if (get_span(doc, b, "nodes", &m->nodes, BEN_PKT_MAX_INPUT) < 0 ||
	    m->nodes.n % KRPC_NODE_LEN != 0)
		return KRPC_ERR_ARG;
	if (get_span(doc, b, "nodes6", &m->nodes6, BEN_PKT_MAX_INPUT) < 0 || m->nodes6.n % 38 != 0)
		return KRPC_ERR_ARG;
	vi = ben_dict_get(doc, b, "values");
	if (vi >= 0) {
		uint32_t i = (uint32_t)vi + 1;

		if (doc->toks[vi].type != BEN_LIST)
			return KRPC_ERR_ARG;
		m->has_values = true;
		while (i < doc->toks[vi].next) {
			/* peers of another length (IPv6: 18) are skipped */
			if (doc->toks[i].type == BEN_STR && doc->toks[i].slen == KRPC_PEER_LEN &&
			    m->nvalues < KRPC_MAX_VALUES)
				m->values[m->nvalues++] = ben_str(doc, i);
			i = doc->toks[i].next;
		}
	}
	return KRPC_OK;
}

/* krpc_parse: decodes the datagram pkt[0..len) into m (zeroed first). */
krpc_err_t krpc_parse(const uint8_t *pkt, size_t len, krpc_msg_t *m, ben_stats_t *bst)
{
	static const ben_limits_t lim = {
	    .max_input = BEN_PKT_MAX_INPUT,
	    .max_depth = BEN_PKT_MAX_DEPTH,
	    .max_tokens = BEN_PKT_MAX_TOKENS,
	    .max_str = BEN_PKT_MAX_INPUT,
	};
	ben_tok_t toks[BEN_PKT_MAX_TOKENS];
	ben_doc_t doc;
	const uint8_t *y;
	size_t ylen;
	int32_t bi;
	int64_t ro = 0;

	memset(m, 0, sizeof(*m));
	if (ben_decode(&doc, pkt, len, toks, BEN_PKT_MAX_TOKENS, &lim, bst) != BEN_OK)
		return KRPC_ERR_BENCODE;
	if (toks[0].type != BEN_DICT)
		return KRPC_ERR_NOT_DICT;
	if (get_span(&doc, 0, "t", &m->t, KRPC_TID_MAX) != 1 || m->t.n == 0)
		return KRPC_ERR_TID;
	if (ben_get_str(&doc, 0, "y", &y, &ylen) != 0 || ylen != 1)
		return KRPC_ERR_Y;
	switch (y[0]) {
	case 'q':
		m->y = KRPC_QUERY;
		break;
	case 'r':
		m->y = KRPC_RESPONSE;
		break;
	case 'e':
		m->y = KRPC_ERROR;
		break;
	default:
		return KRPC_ERR_Y;
	}
	if (get_span(&doc, 0, "v", &m->cv, 16) < 0)
		m->cv = (krpc_span_t){0}; /* a strange client version is not fatal */
	if (get_span(&doc, 0, "ip", &m->ip, 18) < 0)
		m->ip = (krpc_span_t){0};
	if (get_int(&doc, 0, "ro", &ro) == 1)
		m->ro = ro != 0;

	if (m->y == KRPC_ERROR) {
		int32_t e = ben_dict_get(&doc, 0, "e");
		uint32_t c;

		if (e < 0 || toks[e].type != BEN_LIST || toks[e].count < 2)
			return KRPC_ERR_BODY;
		c = (uint32_t)e + 1;
		if (toks[c].type != BEN_INT || toks[toks[c].next].type != BEN_STR)
			return KRPC_ERR_BODY;
		m->ecode = toks[c].ival;
		m->emsg.p = ben_str(&doc, toks[c].next);
		m->emsg.n = toks[toks[c].next].slen;
		return KRPC_OK;
	}
	if (m->y == KRPC_QUERY) {
		if (get_span(&doc, 0, "q", &m->qstr, 64) != 1)
			return KRPC_ERR_BODY;
		m->q = method_of(m->qstr.p, m->qstr.n);
		bi = ben_dict_get(&doc, 0, "a");
	} else {
		bi = ben_dict_get(&doc, 0, "r");
	}
	if (bi < 0 || toks[bi].type != BEN_DICT)
		return KRPC_ERR_BODY;
	return parse_body(&doc, (uint32_t)bi, m);
}

/* put_span: key and string value, if the span is present. */
static void put_span(ben_w_t *w, const char *key, krpc_span_t s)
{
	if (s.p == NULL)
		return;
	ben_w_cstr(w, key);
	ben_w_str(w, s.p, s.n);
}

/* encode_body: the fields of "a" or "r" that are present, in key order:
 * cas id implied_port info_hash k nodes nodes6 port salt seq sig target
 * token v values. */
static void encode_body(ben_w_t *w, const krpc_msg_t *m)
{
	ben_w_dict(w);
	if (m->has_cas) {
		ben_w_cstr(w, "cas");
		ben_w_int(w, m->cas);
	}
	if (m->has_id) {
		ben_w_cstr(w, "id");
		ben_w_str(w, m->id, KRPC_ID_LEN);
	}
	if (m->implied_port) {
		ben_w_cstr(w, "implied_port");
		ben_w_int(w, 1);
	}
	if (m->has_info_hash) {
		ben_w_cstr(w, "info_hash");
		ben_w_str(w, m->info_hash, KRPC_ID_LEN);
	}
	put_span(w, "k", m->k);
	put_span(w, "nodes", m->nodes);
	put_span(w, "nodes6", m->nodes6);
	if (m->has_port) {
		ben_w_cstr(w, "port");
		ben_w_int(w, m->port);
	}
	if (m->salt.p != NULL && m->salt.n > 0)
		put_span(w, "salt", m->salt);
	if (m->has_seq) {
		ben_w_cstr(w, "seq");
		ben_w_int(w, m->seq);
	}
	put_span(w, "sig", m->sig);
	if (m->has_target) {
		ben_w_cstr(w, "target");
		ben_w_str(w, m->target, KRPC_ID_LEN);
	}
	put_span(w, "token", m->token);
	if (m->v.p != NULL) {
		ben_w_cstr(w, "v");
		ben_w_raw(w, m->v.p, m->v.n);
	}
	if (m->has_values) {
		ben_w_cstr(w, "values");
		ben_w_list(w);
		for (uint32_t i = 0; i < m->nvalues; i++)
			ben_w_str(w, m->values[i], KRPC_PEER_LEN);
		ben_w_end(w);
	}
	ben_w_end(w);
}

/* krpc_encode: writes m as a bencoded datagram into buf[0..cap); *out_len gets its length. */
int krpc_encode(const krpc_msg_t *m, uint8_t *buf, size_t cap, size_t *out_len)
{
	ben_w_t w;

	ben_w_init(&w, buf, cap);
	ben_w_dict(&w);
	if (m->y == KRPC_QUERY) {
		ben_w_cstr(&w, "a");
		encode_body(&w, m);
	}
	if (m->y == KRPC_ERROR) {
		ben_w_cstr(&w, "e");
		ben_w_list(&w);
		ben_w_int(&w, m->ecode);
		ben_w_str(&w, m->emsg.p, m->emsg.n);
		ben_w_end(&w);
	}
	put_span(&w, "ip", m->ip);
	if (m->y == KRPC_QUERY) {
		ben_w_cstr(&w, "q");
		if (m->q == KRPC_M_UNKNOWN && m->qstr.p != NULL)
			ben_w_str(&w, m->qstr.p, m->qstr.n);
		else
			ben_w_cstr(&w, krpc_method_name(m->q));
	}
	if (m->y == KRPC_RESPONSE) {
		ben_w_cstr(&w, "r");
		encode_body(&w, m);
	}
	if (m->ro) {
		ben_w_cstr(&w, "ro");
		ben_w_int(&w, 1);
	}
	put_span(&w, "t", m->t);
	put_span(&w, "v", m->cv);
	ben_w_cstr(&w, "y");
	ben_w_cstr(&w, m->y == KRPC_QUERY ? "q" : m->y == KRPC_RESPONSE ? "r" : "e");
	ben_w_end(&w);
	if (w.overflow)
		return -1;
	*out_len = w.len;
	return 0;
}

/* krpc_sig_buf: writes the buffer BEP 44 signs for a mutable item: ["4:salt" len ":" salt]
 * "3:seqi" seq "e1:v" raw-v, the salt part only when salt is non-empty. */
size_t krpc_sig_buf(uint8_t *buf, size_t cap, const uint8_t *salt, size_t saltlen, int64_t seq,
                    const uint8_t *v, size_t vlen)
{
	ben_w_t w;

	ben_w_init(&w, buf, cap);
	if (saltlen > 0) {
		ben_w_cstr(&w, "salt");
		ben_w_str(&w, salt, saltlen);
	}
	ben_w_cstr(&w, "seq");
	ben_w_int(&w, seq);
	ben_w_cstr(&w, "v");
	ben_w_raw(&w, v, vlen);
	return w.overflow ? 0 : w.len;
}
