/* fuzz_ctl: a control request as the command socket of every process
 * reads it (common/ctlsock.c: parse, "cmd", dispatch, reply), with a
 * dispatcher reading arguments the way the services' commands do
 * (common/mp.c getters) and rendering the request as JSON and text
 * (common/mpjson.c, as chorusctl prints); the reply built is then read
 * back by the client's decoder (common/ctl.c), and so is the input itself
 * taken as a reply. */
#include "../common/ctlsock.c"
#include "ctl.h"
#include "fuzz.h"
#include "mpjson.h"

static ch_ctlsock_t s;
static ch_mpr_t rd;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	ch_mpr_init(&s.req, 0);
	ch_mpw_init(&s.out);
	ch_mpw_init(&s.reply);
	ch_mpr_init(&rd, 0);
	return 0;
}

static int dispatch(void *arg, const char *cmd, const msgpack_object *req, ch_mpw_t *out, char *err,
                    size_t errcap)
{
	uint64_t u;
	int64_t i;
	bool b;
	const char *str;
	size_t len;
	const void *bin;
	char z[64];
	uint8_t key[32];
	ch_mp_get_u64(req, "peer", &u);
	ch_mp_get_i64(req, "count", &i);
	ch_mp_get_bool(req, "once", &b);
	ch_mp_get_str(req, "addr", &str, &len);
	ch_mp_get_bin(req, "data", &bin, &len);
	ch_mp_get_strz(req, "host", z, sizeof(z));
	ch_mp_get_bin_exact(req, "key", key, sizeof(key));
	static char json[8192], text[8192];
	int rj = ch_mp_to_json(req, json, sizeof(json));
	int rt = ch_mp_to_text(req, text, sizeof(text));
	FUZZ_CHECK(memchr(json, 0, sizeof(json)) && memchr(text, 0, sizeof(text)));
	char small[16];
	ch_mp_to_json(req, small, sizeof(small));
	FUZZ_CHECK(memchr(small, 0, sizeof(small)) != NULL);
	if (strcmp(cmd, "fail") == 0) {
		snprintf(err, errcap, "asked to fail: %s", z);
		return CH_EINVAL;
	}
	ch_mpw_map(out, 2);
	ch_mpw_kv_str(out, "json", rj == 0 ? json : "");
	ch_mpw_kv_str(out, "text", rt == 0 ? text : "");
	return 0;
}

static void read_reply(const void *buf, size_t len)
{
	if (ch_mpr_parse(&rd, buf, len) != 0)
		return;
	ch_ctl_reply_t r;
	if (ch_ctl_reply_get(&rd, &r) == 0 && !r.ok) {
		FUZZ_CHECK(memchr(r.error, 0, sizeof(r.error)) != NULL);
		FUZZ_CHECK(memchr(r.message, 0, sizeof(r.message)) != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	handle(&s, data, size, dispatch, NULL);
	/* every request gets a reply, and the client can read it */
	FUZZ_CHECK(ch_mpw_size(&s.reply) > 0);
	FUZZ_CHECK(ch_mpr_parse(&rd, ch_mpw_data(&s.reply), ch_mpw_size(&s.reply)) == 0);
	ch_ctl_reply_t r;
	FUZZ_CHECK(ch_ctl_reply_get(&rd, &r) == 0);
	read_reply(data, size);
	return 0;
}
