/* cmd_discovery.c: the printer of `chorusctl addrbook` (cmd_discovery.h);
 * --json prints the service's result as it is. */
#include <inttypes.h>
#include <string.h>

#include "cmd_discovery.h"

/* fnum: unsigned field key of m (0 if absent). */
static uint64_t fnum(const msgpack_object *m, const char *key)
{
	uint64_t v = 0;

	if (m != NULL && m->type == MSGPACK_OBJECT_MAP)
		ch_mp_get_u64(m, key, &v);
	return v;
}

/* fstr: string field key of m into buf ("" if absent). */
static const char *fstr(const msgpack_object *m, const char *key, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (m != NULL && m->type == MSGPACK_OBJECT_MAP)
		ch_mp_get_strz(m, key, buf, cap);
	return buf;
}

/* array: the array under key, or NULL. */
static const msgpack_object *array(const msgpack_object *m, const char *key)
{
	const msgpack_object *a;

	if (ch_mp_map_get(m, key, &a) != 0 || a->type != MSGPACK_OBJECT_ARRAY)
		return NULL;
	return a;
}

/* ctl_print_addrbook: a summary line per subject, then the tables. */
void ctl_print_addrbook(FILE *out, const msgpack_object *res, const ctl_done_t *done)
{
	const msgpack_object *groups, *anchors, *dials;
	char a[96], b[96], c[32];

	if (res == NULL || res->type != MSGPACK_OBJECT_MAP ||
	    (groups = array(res, "groups")) == NULL) {
		ctl_print_generic(out, res, done);
		return;
	}
	fprintf(out,
	        "book       %" PRIu64 " new, %" PRIu64 " tried, %" PRIu64 " collisions, %" PRIu64
	        " groups\n",
	        fnum(res, "new"), fnum(res, "tried"), fnum(res, "collisions"),
	        fnum(res, "groups_total"));
	fprintf(out,
	        "outbound   %" PRIu64 " of %" PRIu64 " (+%" PRIu64 " block-relay), %" PRIu64
	        " dialing\n",
	        fnum(res, "outbound"), fnum(res, "target"), fnum(res, "block_relay"),
	        fnum(res, "dialing"));
	fprintf(out,
	        "dht        %" PRIu64 " rounds, %" PRIu64 " members found last, next in %" PRIu64
	        " ms\n",
	        fnum(res, "dht_rounds"), fnum(res, "dht_last_found"), fnum(res, "dht_next_ms"));
	anchors = array(res, "anchors");
	for (uint32_t i = 0; anchors != NULL && i < anchors->via.array.size; i++)
		fprintf(out, "anchor     %s %.16s...\n",
		        fstr(&anchors->via.array.ptr[i], "addr", a, sizeof(a)),
		        fstr(&anchors->via.array.ptr[i], "pubkey", b, sizeof(b)));
	fprintf(out, "\n%-24s %6s %6s\n", "GROUP", "NEW", "TRIED");
	for (uint32_t i = 0; i < groups->via.array.size; i++) {
		const msgpack_object *g = &groups->via.array.ptr[i];

		fprintf(out, "%-24s %6" PRIu64 " %6" PRIu64 "\n", fstr(g, "group", a, sizeof(a)),
		        fnum(g, "new"), fnum(g, "tried"));
	}
	if (fnum(res, "groups_total") > groups->via.array.size)
		fprintf(out, "(%" PRIu64 " smaller groups not shown)\n",
		        fnum(res, "groups_total") - groups->via.array.size);
	dials = array(res, "dials");
	if (dials != NULL && dials->via.array.size > 0) {
		fprintf(out, "\n%-28s %-12s %-8s %10s\n", "RECENT DIAL", "KIND", "RESULT",
		        "AGO_MS");
		for (uint32_t i = 0; i < dials->via.array.size; i++) {
			const msgpack_object *d = &dials->via.array.ptr[i];

			fprintf(out, "%-28s %-12s %-8s %10" PRIu64 "\n",
			        fstr(d, "addr", a, sizeof(a)), fstr(d, "kind", b, sizeof(b)),
			        fstr(d, "result", c, sizeof(c)), fnum(d, "ago_ms"));
		}
	}
}
